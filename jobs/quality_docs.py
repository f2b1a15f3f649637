"""Keep validation results as JSON files and render them as Great Expectations Data Docs.

One JSON file per run and table, named ``<UTC time>__<table>__<run id>.json``; Data Docs are
built by a file-backed GE context rooted in a folder the caller chooses.

>>> path = save_validation_result(report, "results/", run_id="r1")  # doctest: +SKIP
>>> index = build_data_docs("results/", "docs/")  # doctest: +SKIP
>>> index.name  # doctest: +SKIP
'index.html'
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResultSchema,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

from lakeprep.errors import InputError
from quality.result import ValidationReport

log = logging.getLogger(__name__)

RESULT_FORMAT_VERSION = 1
SITE_NAME = "local_site"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _UNSAFE.sub("-", text).strip("-") or "unnamed"


def save_validation_result(report: ValidationReport | Mapping[str, Any], folder: str | Path,
                           run_id: str, table: str | None = None,
                           extra: Mapping[str, Any] | None = None,
                           now: datetime | None = None) -> Path:
    """Write one validation result to ``folder`` as JSON and return its path.

    ``report`` is a ``ValidationReport`` or its ``to_dict()``; ``extra`` adds e.g. the gate's
    verdict and counts (``GateOutcome.to_dict()`` minus the report). The file holds ``run_id``,
    ``table``, ``saved_at``, ``report`` and ``ge_result`` (what :func:`build_data_docs` reads).
    """
    data = report.to_dict() if isinstance(report, ValidationReport) else dict(report)
    if "ge_result" not in data:
        raise InputError(f"save_validation_result: a report with a 'ge_result' key expected, "
                         f"found keys {sorted(data)}")
    table = table or data.get("table") or data["ge_result"].get("suite_name", "unknown")
    saved_at = (now or datetime.now(UTC)).astimezone(UTC)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{saved_at:%Y%m%dT%H%M%S%fZ}__{_safe(table)}__{_safe(run_id)}.json"
    path = folder / name
    document = {
        "format_version": RESULT_FORMAT_VERSION,
        "run_id": run_id,
        "table": table,
        "saved_at": saved_at.isoformat(),
        **({"extra": dict(extra)} if extra else {}),
        "report": {k: v for k, v in data.items() if k != "ge_result"},
        "ge_result": data["ge_result"],
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a file
    log.info("saved validation result of %s (run %s) to %s", table, run_id, path)
    return path


def load_validation_results(source: str | Path | Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read saved result files: a folder (every ``*.json`` in it, oldest first) or paths."""
    if isinstance(source, str | Path):
        folder = Path(source)
        if not folder.is_dir():
            raise InputError(f"validation results folder {folder} does not exist")
        paths = sorted(folder.glob("*.json"))
    else:
        paths = [Path(p) for p in source]
    documents = []
    for path in paths:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read validation result {path}: {exc}") from None
        if not isinstance(document, dict) or "ge_result" not in document:
            raise InputError(f"{path} is not a lakeprep validation result (no 'ge_result' key)")
        documents.append(document)
    if not documents:
        raise InputError(f"no validation result files (*.json) found in {source}")
    return documents


def _suite_from_result(ge_result: Mapping[str, Any]) -> gx.ExpectationSuite:
    """Rebuild the suite from the result's expectation configs (the run's exact expectations)."""
    configurations = []
    for r in ge_result.get("results", []):
        config = r["expectation_config"]
        kwargs = {k: v for k, v in config.get("kwargs", {}).items() if k != "batch_id"}
        configurations.append(ExpectationConfiguration(
            type=config["type"], kwargs=kwargs, meta=config.get("meta") or {},
            id=config.get("id")))
    suite = gx.ExpectationSuite(name=ge_result["suite_name"],
                                meta=dict(ge_result.get("meta", {}).get("suite_meta", {})))
    for config in configurations:
        suite.add_expectation_configuration(config)
    return suite


def build_data_docs(results: str | Path | Iterable[str | Path], docs_root: str | Path) -> Path:
    """Render saved validation results as GE Data Docs under ``docs_root``; return index.html.

    ``results`` is a folder of files written by :func:`save_validation_result` or a list of
    them. A file-backed GE context is created in ``docs_root`` (its ``gx/`` folder); each result
    and its suite go into the context's stores, then GE builds the static site.
    """
    documents = load_validation_results(results)
    docs_root = Path(docs_root)
    docs_root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(docs_root))
    context.enable_analytics(False)  # no usage events leave the machine from a batch job
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    schema = ExpectationSuiteValidationResultSchema()
    for document in documents:
        ge_result = document["ge_result"]
        suite = _suite_from_result(ge_result)
        context.suites.add_or_update(suite)
        result = schema.load(ge_result)
        meta_run = (ge_result.get("meta") or {}).get("run_id") or {}
        run_id = RunIdentifier(run_name=document.get("run_id") or meta_run.get("run_name"),
                               run_time=document.get("saved_at") or meta_run.get("run_time"))
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=_safe(str(document.get("table", "batch"))),
        )
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=[SITE_NAME])
    index = docs_root / "gx" / "uncommitted" / "data_docs" / SITE_NAME / "index.html"
    if not index.exists():
        raise InputError(f"GE did not write Data Docs to {index}; check the context in {docs_root}")
    log.info("built Data Docs for %d validation result(s): %s", len(documents), index)
    return index
