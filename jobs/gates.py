"""Quality gates at job boundaries: the table's suite from conf, its policy from the catalog.

A table is gated when a suite is declared for it (``conf/<env>/quality/<table>.yaml``, or the
catalog's ``quality_suite``). Each run's validation result is saved as JSON next to the lake
(``<system>/quality/results``); ``lakeprep quality docs`` renders them as Great Expectations Data
Docs (``<system>/quality/docs``), both through the storage layer, local or on S3.

Example::

    outcome = check(ctx, "orders", df)
    outcome.passed  # rows to write; outcome.quarantined: rows to set aside
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakeprep.config.suites import SuiteDeclaration
from lakeprep.errors import UsageError
from lakeprep.lake import LakeTable
from lakeprep.runtime import JobContext
from lakeprep.storage import read_files, write_files
from lakeprep.uris import join_uri
from quality.docs import INDEX, parse_validation_document, render_data_docs, validation_document
from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome, run_gate

log = logging.getLogger(f"lakeprep.{__name__}")
OCCURRENCE = "_occurrence"


def results_folder(ctx: JobContext) -> str:
    return ctx.settings.system_table("quality/results")


def docs_folder(ctx: JobContext) -> str:
    return ctx.settings.system_table("quality/docs")


def suite_for(ctx: JobContext, table: str, suite: str | None = None
              ) -> tuple[SuiteDeclaration, str] | None:
    """The declared suite of ``table`` (or the one named ``suite``) and the file it came from,
    or None (no gate)."""
    name = suite or ctx.spec(table).quality_suite or table
    declared = ctx.settings.suites.get(name)
    if declared is None:
        return None
    return declared, ctx.settings.suite_files.get(name, f"<suite {name}>")


def check(ctx: JobContext, table: str, df: DataFrame, suite: str | None = None,
          policy: str | None = None) -> GateOutcome | None:
    """Run the gate of ``table`` on ``df`` (about to be written). Raises ``GateFailed`` under
    policy ``fail``; the caller writes ``outcome.passed`` and quarantines
    ``outcome.quarantined``. The caller unpersists the outcome when done. ``suite`` and
    ``policy`` override the catalog's (the export gate reads a table it does not write)."""
    found = suite_for(ctx, table, suite)
    if found is None:
        return None
    declaration, source = found
    policy = policy or ctx.spec(table).gate
    outcome = run_gate(df, declaration, policy=policy, source=source, keep_cached=True)
    _save(ctx, table, outcome)
    ctx.gates.append((table, outcome))
    log.info("gate %s (%s): %s", table, policy, outcome.verdict.value)
    if not outcome.may_write:
        outcome.unpersist()
    outcome.raise_if_failed()
    return outcome


def set_aside(ctx: JobContext, table: str, rows: DataFrame, keys: Sequence[str],
              counts: dict[str, int], inputs: list[dict[str, Any]] | None = None,
              partition_by: Sequence[str] = ()) -> int | None:
    """Merge ``rows`` into ``<table>_quarantine`` (with :func:`resettle`, the one writer of a
    quarantine table: ingest's parse rejects, rows a `quarantine` gate split off); its new
    version.

    Idempotent: a row already there under ``keys`` is left alone, so a re-run of the same batch
    adds nothing; identical rows of one batch stay distinct (numbered by ``_occurrence``).
    """
    w = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(F.lit(1))
    rows = rows.withColumn(OCCURRENCE, F.row_number().over(w))
    spec = ctx.spec(table)
    meta = ctx.commit_metadata(table=spec.quarantine_name, source_table=table, inputs=inputs,
                               counts=counts)
    return quarantine_table(ctx, table, partition_by).merge(
        rows, [*keys, OCCURRENCE], meta, when_matched="ignore", evolve=True).version


def resettle(ctx: JobContext, table: str, changed: DataFrame | None, gone: DataFrame | None,
             keys: Sequence[str], counts: dict[str, int],
             inputs: list[dict[str, Any]] | None = None,
             partition_by: Sequence[str] = ()) -> int | None:
    """After a replay of ``<table>_quarantine``: the records still set aside take their new
    reasons (``changed``), the others leave it (``gone``: promoted, or duplicates); the
    quarantine table's new version, or None when nothing changed."""
    quarantine = quarantine_table(ctx, table, partition_by)
    meta = ctx.commit_metadata(table=ctx.spec(table).quarantine_name, source_table=table,
                               inputs=inputs, counts=counts)
    version = None
    if changed is not None and not changed.isEmpty():
        version = quarantine.merge(changed, list(keys), meta, when_matched="update").version
    if gone is not None:
        version = quarantine.delete(gone, list(keys), meta).version
    return version


def quarantine_table(ctx: JobContext, table: str, partition_by: Sequence[str] = ()
                     ) -> LakeTable:
    """The quarantine table of ``table`` (``TableSpec.quarantine_location``)."""
    return ctx.table_at(ctx.spec(table).quarantine_location, list(partition_by))


def set_aside_gate(ctx: JobContext, table: str, outcome: GateOutcome | None) -> int | None:
    """The rows a `quarantine` gate split off from what ``table`` writes, set aside whole."""
    if outcome is None or outcome.quarantined is None or not outcome.counts.get("quarantined"):
        return None
    rows = outcome.quarantined
    keys = [c for c in rows.columns if c != FAILED_EXPECTATIONS_COLUMN]
    return set_aside(ctx, table, rows, keys, {"quarantined": outcome.counts["quarantined"]})


def summary(outcome: GateOutcome | None) -> dict[str, Any] | None:
    """What a commit records of the gate that let it through."""
    if outcome is None:
        return None
    report = outcome.report
    return {
        "suite": report.suite_name,
        "policy": outcome.policy.value,
        "verdict": outcome.verdict.value,
        "statistics": dict(report.statistics),
        "counts": dict(outcome.counts),
        "assertions": [{"assertion": o.expectation, "success": bool(o.success),
                        "column": ", ".join(o.columns) if o.columns else None}
                       for o in report.outcomes],
    }


def _save(ctx: JobContext, table: str, outcome: GateOutcome) -> None:
    """Keep the validation result next to the lake (a local folder or s3://)."""
    name, document = validation_document(outcome.report, ctx.run_id, table,
                                         {"gate": summary(outcome)})
    folder = results_folder(ctx)
    write_files(folder, {name: json.dumps(document, indent=2, default=str).encode()})
    log.info("validation result: %s", join_uri(folder, name))


def load_results(folder: str) -> list[dict[str, Any]]:
    """Every validation result saved under ``folder``, oldest first."""
    return [parse_validation_document(data, join_uri(folder, name))
            for name, data in read_files(folder, ".json").items()]


def publish_docs(ctx: JobContext, reports: dict[str, str] | None = None) -> str:
    """Render the Data Docs of every saved validation result and keep them next to the lake;
    the index page's location."""
    documents = load_results(results_folder(ctx))
    if not documents:
        raise UsageError(f"no validation results in {results_folder(ctx)}: run a job with a "
                         f"gated table first (e.g. lakeprep run ingest)")
    root = docs_folder(ctx)
    write_files(root, render_data_docs(documents, root, reports))
    return join_uri(root, INDEX)
