"""Where the quality gates' evidence is kept: each gate run's validation result as one JSON
document under ``<system>/quality/results``, and the Great Expectations Data Docs site rendered
from them under ``<system>/quality/docs``, through the storage layer (a local folder or s3://).

The documents are made and the pages rendered by ``quality.docs`` (pure); the gates
(``jobs.gates``) save them here, and the run report and ``lakeprep quality docs`` read them back.

>>> import tempfile
>>> from lakeprep.config import load_settings
>>> with tempfile.TemporaryDirectory() as lake:
...     settings = load_settings("local", environ={"LAKEPREP_DATA": lake})
...     uri = save_result(settings, "20260501T101500Z__orders__r1.json",
...                       {"run_id": "r1", "table": "orders", "ge_result": {"success": True}})
...     [(d["table"], d["ge_result"]) for d in load_results(settings)]
[('orders', {'success': True})]
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from lakeprep.config import Settings
from lakeprep.errors import InputError
from lakeprep.storage import read_files, write_files
from lakeprep.uris import join_uri

log = logging.getLogger(__name__)


def results_folder(settings: Settings) -> str:
    """Where the validation results are kept: one JSON document per gate run."""
    return settings.system_table("quality/results")


def docs_folder(settings: Settings) -> str:
    """Where the Data Docs site is kept."""
    return settings.system_table("quality/docs")


def save_result(settings: Settings, name: str, document: Mapping[str, Any]) -> str:
    """Keep one validation result (``quality.docs.validation_document``) as ``name``; its URI."""
    folder = results_folder(settings)
    write_files(folder, {name: json.dumps(document, indent=2, default=str).encode()})
    uri = join_uri(folder, name)
    log.info("validation result: %s", uri)
    return uri


def load_results(settings: Settings) -> list[dict[str, Any]]:
    """Every validation result kept, oldest first (their names start with the UTC time)."""
    folder = results_folder(settings)
    return [parse_result(data, join_uri(folder, name))
            for name, data in read_files(folder, ".json").items()]


def parse_result(text: str | bytes, where: str) -> dict[str, Any]:
    """A validation result read back; ``where`` names its file in the error when it is not one."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"cannot read validation result {where}: {exc}") from None
    if not isinstance(document, dict) or "ge_result" not in document:
        raise InputError(f"{where} is not a lakeprep validation result (no 'ge_result' key)")
    return document


def save_docs(settings: Settings, pages: Mapping[str, bytes], index: str) -> str:
    """Keep the rendered Data Docs site (``{path under the docs folder: bytes}``); the URI of
    its page ``index``."""
    root = docs_folder(settings)
    write_files(root, pages)
    return join_uri(root, index)
