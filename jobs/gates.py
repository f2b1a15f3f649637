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

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from lakeprep.config.suites import SuiteDeclaration
from lakeprep.errors import UsageError
from lakeprep.ingest.columns import PROBLEMS
from lakeprep.ingest.problems import ProblemSummary, summarize
from lakeprep.lake import LakeTable
from lakeprep.runtime import JobContext
from lakeprep.storage import read_files, write_files
from lakeprep.uris import join_uri
from quality.docs import INDEX, parse_validation_document, render_data_docs, validation_document
from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome, run_gate
from quality.gate import row_tags as quality_row_tags

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
          policy: str | None = None, tagged: bool = False, cached: bool = False
          ) -> GateOutcome | None:
    """Run the gate of ``table`` on ``df`` (about to be written). Raises ``GateFailed`` under
    policy ``fail``; the caller writes ``outcome.passed`` and quarantines
    ``outcome.quarantined``. The caller unpersists the outcome when done. ``suite`` and
    ``policy`` override the catalog's (the export gate reads a table it does not write).
    ``tagged``: ``df`` carries the tags of :func:`row_tags` already; ``cached``: ``df`` reads
    the caller's cache, so the gate keeps no cache of its own."""
    found = suite_for(ctx, table, suite)
    if found is None:
        return None
    declaration, source = found
    policy = policy or ctx.spec(table).gate
    outcome = run_gate(df, declaration, policy=policy, source=source, keep_cached=not cached,
                       tagged=tagged)
    _save(ctx, table, outcome)
    ctx.gates.append((table, outcome))
    log.info("gate %s (%s): %s", table, policy, outcome.verdict.value)
    if not outcome.may_write:
        outcome.unpersist()
    outcome.raise_if_failed()
    return outcome


def row_tags(ctx: JobContext, table: str, schema: StructType) -> Column | None:
    """The tags the `quarantine` gate of ``table`` gives a row of ``schema``, when they can be
    told row by row (see ``quality.gate.row_tags``); None without such a gate."""
    found = suite_for(ctx, table)
    if found is None or ctx.spec(table).gate != "quarantine":
        return None
    return quality_row_tags(found[0], schema, found[1])


def may_quarantine(ctx: JobContext, table: str) -> bool:
    """True when ``table`` has a gate that may set rows aside (a suite, policy `quarantine`)."""
    return suite_for(ctx, table) is not None and ctx.spec(table).gate == "quarantine"


def set_aside(ctx: JobContext, table: str, rows: DataFrame, keys: Sequence[str],
              counts: dict[str, int], inputs: list[dict[str, Any]] | None = None,
              partition_by: Sequence[str] = (), problems: ProblemSummary | None = None
              ) -> int | None:
    """Merge ``rows`` into ``<table>_quarantine`` (with :func:`resettle`, the one writer of a
    quarantine table: ingest's parse rejects, rows a `quarantine` gate split off); its new
    version. The commit's metadata holds ``problems``, the reasons of ``rows`` grouped.

    Idempotent: a row already there under ``keys`` is left alone, so a re-run of the same batch
    adds nothing; identical rows of one batch stay distinct (numbered by ``_occurrence``).
    """
    w = Window.partitionBy(*[F.col(f"`{k}`") for k in keys]).orderBy(F.lit(1))
    rows = rows.withColumn(OCCURRENCE, F.row_number().over(w))
    spec = ctx.spec(table)
    meta = ctx.commit_metadata(table=spec.quarantine_name, source_table=table, inputs=inputs,
                               counts=counts, **_problems(problems))
    return quarantine_table(ctx, table, partition_by).merge(
        rows, [*keys, OCCURRENCE], meta, when_matched="ignore", evolve=True).version


def resettle(ctx: JobContext, table: str, changed: DataFrame | None, gone: DataFrame | None,
             keys: Sequence[str], counts: dict[str, int],
             inputs: list[dict[str, Any]] | None = None,
             partition_by: Sequence[str] = (), problems: ProblemSummary | None = None
             ) -> int | None:
    """After a replay of ``<table>_quarantine``: the records still set aside take their new
    reasons (``changed``; a table from before reasons were data gains ``_problems``), the others
    leave it (``gone``: promoted, or duplicates); the quarantine table's new version, or None
    when nothing changed. ``problems``: the reasons of the records still set aside, grouped."""
    quarantine = quarantine_table(ctx, table, partition_by)
    meta = ctx.commit_metadata(table=ctx.spec(table).quarantine_name, source_table=table,
                               inputs=inputs, counts=counts, **_problems(problems))
    version = None
    if changed is not None and not changed.isEmpty():
        version = quarantine.merge(changed, list(keys), meta, when_matched="update",
                                   evolve=True).version
    if gone is not None:
        version = quarantine.delete(gone, list(keys), meta).version
    return version


def quarantine_table(ctx: JobContext, table: str, partition_by: Sequence[str] = ()
                     ) -> LakeTable:
    """The quarantine table of ``table`` (``TableSpec.quarantine_location``)."""
    return ctx.table_at(ctx.spec(table).quarantine_location, list(partition_by))


def set_aside_gate(ctx: JobContext, table: str, outcome: GateOutcome | None) -> int | None:
    """The rows a `quarantine` gate split off from what ``table`` writes, set aside whole, with
    why as data (``_problems``)."""
    if outcome is None or outcome.quarantined is None or not outcome.counts.get("quarantined"):
        return None
    keys = [c for c in outcome.quarantined.columns if c != FAILED_EXPECTATIONS_COLUMN]
    rows = outcome.quarantined
    if outcome.problems is not None:
        rows = rows.withColumn(PROBLEMS, outcome.problems)
    return set_aside(ctx, table, rows, keys, {"quarantined": outcome.counts["quarantined"]},
                     problems=summarize(outcome.problem_groups()))


def _problems(problems: ProblemSummary | None) -> dict[str, Any]:
    """What a quarantine commit's metadata says of the reasons of its rows."""
    return {"problems": problems.to_dict()} if problems else {}


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
