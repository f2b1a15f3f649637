"""Quality gates at job boundaries: the table's suite from conf, its policy from the catalog.

A table is gated when a suite is declared for it (``conf/<env>/quality/<table>.yaml``, or the
catalog's ``quality_suite``). Each run's validation result is saved as JSON; ``lakeprep quality
docs`` renders them as Great Expectations Data Docs.

>>> outcome = check(ctx, "orders", df)  # doctest: +SKIP
>>> outcome.passed  # rows to write; outcome.quarantined: rows to set aside  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark.sql import DataFrame

from jobs.runtime import JobContext
from quality.declaration import SuiteDeclaration
from quality.gate import GateOutcome, run_gate

log = logging.getLogger(__name__)


def results_folder(ctx: JobContext) -> str:
    return ctx.settings.system_table("quality/results")


def docs_folder(ctx: JobContext) -> str:
    return ctx.settings.system_table("quality/docs")


def suite_for(ctx: JobContext, table: str, suite: str | None = None
              ) -> tuple[SuiteDeclaration, str] | None:
    """The declared suite of ``table`` (or the one named ``suite``) and the file it came from,
    or None (no gate)."""
    name = suite or ctx.spec(table).quality_suite or table
    raw = ctx.settings.suites.get(name)
    if raw is None:
        return None
    source = ctx.settings.suite_files.get(name, f"<suite {name}>")
    return SuiteDeclaration.from_mapping(raw, source=source), source


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


def set_aside(ctx: JobContext, table: str, outcome: GateOutcome | None) -> int | None:
    """Append the rows a quarantine gate split off to ``<table>_quarantine``; its version."""
    if outcome is None or outcome.quarantined is None or not outcome.counts.get("quarantined"):
        return None
    q = ctx.table_at(ctx.spec(table).quarantine_location)
    meta = ctx.commit_metadata(table=f"{table}_quarantine", source_table=table,
                               counts={"quarantined": outcome.counts["quarantined"]})
    return q.append(outcome.quarantined, meta, evolve=True).version


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
    from jobs.quality_docs import save_validation_result

    folder = results_folder(ctx)
    if "://" in folder:
        log.warning("validation results are kept locally only; %s is remote", folder)
        return
    path = save_validation_result(outcome.report, folder, ctx.run_id, table=table,
                                  extra={"gate": summary(outcome)})
    log.info("validation result: %s", path)
