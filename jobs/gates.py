"""Quality gates at job boundaries: the table's suite from conf, its policy from the catalog.

A table is gated when a suite is declared for it (``conf/<env>/quality/<table>.yaml``, or the
catalog's ``quality_suite``). Each run's validation result is saved as JSON next to the lake
(``<system>/quality/results``); ``lakeprep quality docs`` renders them as Great Expectations Data
Docs (``<system>/quality/docs``), both kept by ``lakeprep.quality_store``, local or on S3.

Example::

    outcome = check(ctx, "orders", df)
    outcome.passed  # rows to write; outcome.quarantined: rows to set aside
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql.types import StructType

from lakeprep import quality_store
from lakeprep.errors import UsageError
from lakeprep.ingest.columns import PROBLEMS
from lakeprep.ingest.problems import summarize
from lakeprep.quarantine import set_aside
from lakeprep.runtime import JobContext
from lakeprep.sagemaker.checks import profile_channel
from quality.docs import INDEX, render_data_docs, validation_document
from quality.finite import VectorCounts, finite_gate
from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome, commit_summary, run_gate
from quality.gate import row_tags as quality_row_tags

log = logging.getLogger(f"lakeprep.{__name__}")


def check(ctx: JobContext, table: str, df: DataFrame, suite: str | None = None,
          policy: str | None = None, tagged: bool = False, cached: bool = False
          ) -> GateOutcome | None:
    """Run the gate of ``table`` on ``df`` (about to be written). Raises ``GateFailed`` under
    policy ``fail``; the caller writes ``outcome.passed`` and quarantines
    ``outcome.quarantined``. The caller unpersists the outcome when done. ``suite`` and
    ``policy`` override the catalog's (the export gate reads a table it does not write).
    ``tagged``: ``df`` carries the tags of :func:`row_tags` already; ``cached``: ``df`` reads
    the caller's cache, so the gate keeps no cache of its own."""
    found = ctx.settings.suite_for(table, suite)
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
    found = ctx.settings.suite_for(table)
    if found is None or ctx.spec(table).gate != "quarantine":
        return None
    return quality_row_tags(found[0], schema, found[1])


def check_finite(ctx: JobContext, table: str, df: DataFrame, column: str,
                 names: Sequence[str], policy: str, remedy: str = "") -> GateOutcome:
    """The gate on the assembled vector ``column`` of ``df`` (about to be written to ``table``):
    one Spark job counts, per slot, the rows holding NaN or +-inf (vectorised over Arrow
    batches, sparse vectors as they are); recorded like every gate (validation result,
    ``ctx.gates``, the commit's summary). Raises ``GateFailed`` under ``fail`` naming each slot
    by its feature name and rows, then ``remedy``; under ``quarantine`` the caller writes
    ``outcome.passed`` and sets ``outcome.quarantined`` aside."""
    profile = profile_channel(df, column, None)
    counts = VectorCounts(profile.rows, profile.nonfinite_rows, dict(profile.nonfinite))
    outcome = finite_gate(df, counts, column, names, table, policy, remedy=remedy)
    _save(ctx, table, outcome)
    ctx.gates.append((table, outcome))
    log.info("gate %s (non-finite features, %s): %s %s", table, policy, outcome.verdict.value,
             outcome.counts)
    outcome.raise_if_failed()
    return outcome


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


def _save(ctx: JobContext, table: str, outcome: GateOutcome) -> None:
    """Keep the validation result next to the lake (a local folder or s3://)."""
    name, document = validation_document(outcome.report, ctx.run_id, table,
                                         {"gate": commit_summary(outcome)})
    quality_store.save_result(ctx.settings, name, document)


def publish_docs(ctx: JobContext, reports: dict[str, str] | None = None) -> str:
    """Render the Data Docs of every saved validation result and keep them next to the lake;
    the index page's location."""
    documents = quality_store.load_results(ctx.settings)
    if not documents:
        raise UsageError(f"no validation results in {quality_store.results_folder(ctx.settings)}"
                         f": run a job with a gated table first (e.g. lakeprep run ingest)")
    pages = render_data_docs(documents, quality_store.docs_folder(ctx.settings), reports)
    return quality_store.save_docs(ctx.settings, pages, INDEX)
