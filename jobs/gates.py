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

from pyspark.sql import DataFrame

from lakeprep.config.suites import SuiteDeclaration
from lakeprep.errors import UsageError
from lakeprep.ingest.columns import PROBLEMS
from lakeprep.ingest.problems import summarize
from lakeprep.quarantine import set_aside
from lakeprep.runtime import JobContext
from lakeprep.sagemaker.checks import profile_channel
from lakeprep.storage import read_files, write_files
from lakeprep.uris import join_uri
from quality.docs import INDEX, parse_validation_document, render_data_docs, validation_document
from quality.finite import VectorCounts, finite_gate
from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome, commit_summary, run_gate

log = logging.getLogger(f"lakeprep.{__name__}")


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
