"""Quality gates: run a suite on a batch and decide whether (and what) the caller may write.

Policies:

- ``fail``: any failed expectation gives verdict ``fail``; the caller must not write and calls
  :meth:`GateOutcome.raise_if_failed`, which raises ``lakeprep.errors.GateFailed``.
- ``quarantine``: rows failing any row-level expectation go to ``outcome.quarantined`` with an
  array column (``_failed_expectations``) naming every expectation each row failed (and
  ``outcome.problems``, a column over them: the same as data, code ``expectation:<type>``, the
  column and the row's value); the rest are ``outcome.passed``. ``counts`` reconcile:
  ``input == passed + quarantined``. A failed table-level expectation (row count, column set,
  column types) cannot be fixed by removing rows, so it still gives verdict ``fail``, as does a
  quarantined share above ``max_quarantined_fraction``.
- ``warn``: the result is recorded and logged; the verdict is ``warn`` and everything goes on.

``mostly`` and quarantine: ``mostly`` only decides whether GE calls an expectation a success
(and so the suite's ``success`` and the ``fail``/``warn`` verdicts). Under ``quarantine`` every row
that breaks a row-level expectation is split off, whatever its ``mostly``: ``mostly: 0.99`` with
0.5% bad rows passes in GE's result and still quarantines those 0.5%. Rows that reach the target
table therefore meet every row-level expectation.

Cost: the input is persisted only with ``keep_cached=True``. Every row-level expectation
is evaluated in ONE aggregation (``quality.rowmetrics``) over the rows tagged with the failed
expectations: its unexpected count and GE's denominator, plus (under ``quarantine``) the
passed/quarantined counts, and the table-level metrics GE
would compute (``quality.tablemetrics``), which GE's own ``metrics_validate`` then judges. GE
runs only what that aggregation cannot serve (schema checks, distinct values, quantiles, and
row-level expectations without a predicate under ``fail``/``warn``); the counts fill GE's result
so Data Docs show them. Uniqueness checks share one aggregation of their keys' hashes;
a bounded sample of failing values takes one more job, only when something failed. The Spark
job count therefore does not grow with the number of row-level expectations.

>>> df = spark.createDataFrame([(1, 12.5), (2, -3.0), (3, 8.0)], "order_id int, amount double")
>>> suite = {"table": "orders", "name": "orders", "expectations": [
...     {"expect_column_values_to_be_between": {"column": "amount", "min_value": 0}}]}
>>> outcome = run_gate(df, suite, policy="quarantine", source="conf/base/quality/orders.yml")
>>> outcome.raise_if_failed()  # the failing rows are set aside: nothing to raise
>>> outcome.verdict.value, outcome.counts
('quarantine', {'input': 3, 'passed': 2, 'quarantined': 1})
>>> [(r.order_id, r._failed_expectations) for r in outcome.quarantined.collect()]
[(2, ['expect_column_values_to_be_between(amount)'])]
>>> outcome.unpersist()
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

import quality.rowmetrics as rowmetrics
from lakeprep.config.suites import SuiteDeclaration
from lakeprep.errors import GateFailed
from lakeprep.frames import cache
from lakeprep.ingest.columns import FAILED_EXPECTATIONS as FAILED_EXPECTATIONS_COLUMN
from lakeprep.ingest.problems import EXPECTATION, Group
from quality.compile import compile_suite, require_predicates
from quality.errors import SuiteConfigError
from quality.result import ValidationReport
from quality.validate import measure, run_validation

log = logging.getLogger(f"lakeprep.{__name__}")



class Policy(StrEnum):
    """What a gate does when expectations fail."""

    FAIL = "fail"
    QUARANTINE = "quarantine"
    WARN = "warn"


class Verdict(StrEnum):
    """What the caller does next: write (pass, warn, quarantine) or stop (fail)."""

    PASS = "pass"
    WARN = "warn"
    QUARANTINE = "quarantine"
    FAIL = "fail"


@dataclass
class GateOutcome:
    """A gate's verdict, the validation report, and the rows to write (and to quarantine).

    ``passed`` is what the caller may write when ``verdict`` is not ``fail`` (the input itself
    under ``fail``/``warn``); ``quarantined`` is set under ``quarantine`` only. Use it as a
    context manager (or call :meth:`unpersist`) when ``run_gate(keep_cached=True)``.
    """

    policy: Policy
    verdict: Verdict
    report: ValidationReport
    passed: DataFrame | None
    quarantined: DataFrame | None = None
    # over ``quarantined``: why each row is there, as data (``lakeprep.ingest.problems``)
    problems: Column | None = field(default=None, repr=False)
    counts: dict[str, int] = field(default_factory=dict)
    quarantined_by_expectation: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    _cached: DataFrame | None = field(default=None, repr=False)

    @property
    def may_write(self) -> bool:
        """False when the caller must not write the target table."""
        return self.verdict is not Verdict.FAIL

    def raise_if_failed(self) -> None:
        """Raise ``GateFailed`` naming the table, suite and failures when the verdict is fail."""
        if self.may_write:
            return
        raise GateFailed(
            f"quality gate on table {self.report.table!r} (suite {self.report.suite_name!r}, "
            f"policy {self.policy.value}) failed: {'; '.join(self.reasons)}. "
            "The target table was not written."
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary: policy, verdict, reasons, counts and the report."""
        return {
            "policy": self.policy.value,
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
            "counts": dict(self.counts),
            "quarantined_by_expectation": dict(self.quarantined_by_expectation),
            "report": self.report.to_dict(),
        }

    def problem_groups(self) -> list[Group]:
        """The rows set aside under ``quarantine`` grouped as :mod:`lakeprep.ingest.problems`
        groups them (one group per failed row-level expectation, its failing values as
        examples), from the gate's own counts: no Spark job."""
        if self.quarantined is None:
            return []
        return [("gate", ", ".join(o.columns) or None, EXPECTATION + o.expectation,
                 o.unexpected_count, [_as_text(v) for v in o.sample or []])
                for o in self.report.outcomes if o.row_level and o.unexpected_count]

    def unpersist(self) -> None:
        """Release the data the gate kept cached (only with ``keep_cached=True``)."""
        if self._cached is not None:
            self._cached.unpersist()
            self._cached = None

    def __enter__(self) -> GateOutcome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unpersist()


def _as_text(value: Any) -> str | None:
    """A failing value as text, as ``_problems`` holds it (a pair or key: ``a, b``)."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(str(v) for v in value.values())
    return str(value)


def _describe_failure(o: Any) -> str:
    if o.exception:
        return f"{o.label} raised {o.exception}"
    if o.row_level and o.unexpected_count is not None:
        return (f"{o.label}: {o.unexpected_count} of {o.element_count} rows unexpected "
                f"({o.unexpected_percent:.2f}%), e.g. {o.sample}")
    return f"{o.label}: observed {o.observed_value!r}, expected {o.kwargs}"


def _parse_policy(policy: str | Policy, source: str) -> Policy:
    try:
        return Policy(policy)
    except ValueError:
        raise SuiteConfigError(
            f"{source}: unknown gate policy {policy!r}; valid choices: "
            f"{', '.join(p.value for p in Policy)}"
        ) from None


def _input_rows(report: ValidationReport) -> int | None:
    for o in report.outcomes:
        if o.element_count is not None:
            return o.element_count
        if o.expectation.startswith("expect_table_row_count") and isinstance(o.observed_value,
                                                                              int):
            return o.observed_value
    return None


def row_tags(suite: SuiteDeclaration | dict, schema: StructType, source: str = "<suite>"
             ) -> Column | None:
    """The tags a `quarantine` gate of ``suite`` gives a row of ``schema`` (the labels of the
    row-level expectations it fails, as ``run_gate`` puts them in ``failed_column``), when each
    row's tags can be told from the row alone; None when they cannot (a uniqueness expectation
    needs the whole batch) or the suite does not compile against ``schema``.

    A caller that reads and caches the rows anyway computes the tags on the way and passes the
    rows to :func:`run_gate` with ``tagged=True``: the gate then neither tags nor caches them
    again.
    """
    decl = SuiteDeclaration.from_mapping(suite, source)
    try:
        compile_suite(decl, schema=schema, source=source)
        require_predicates(decl, source)
    except SuiteConfigError:
        return None  # run_gate says what is wrong, with the rows it is given
    if any(rowmetrics.is_unique(item) for item in decl.expectations):
        return None
    return rowmetrics.tag_column(decl, rowmetrics.labels(decl))


def run_gate(df: DataFrame, suite: SuiteDeclaration | dict, policy: str | Policy = "fail",
             source: str = "<suite>", sample_size: int = 5,
             max_quarantined_fraction: float | None = None, keep_cached: bool = False,
             failed_column: str = FAILED_EXPECTATIONS_COLUMN, tagged: bool = False
             ) -> GateOutcome:
    """Validate ``df`` with ``suite`` under ``policy`` and return a :class:`GateOutcome`.

    Declaration errors (unknown policy or expectation, bad parameters, missing columns, a
    row-level expectation quarantine cannot tag) raise ``SuiteConfigError`` before any Spark job.
    The gate reads the input in a constant number of Spark jobs whatever the suite's length: one
    aggregation for every row-level expectation and every table-level metric that
    ``quality.tablemetrics`` serves (row count, column min/max/mean/sum/stdev, non-null share),
    one aggregation of the uniqueness keys' hashes (plus an exact count over the keys whose
    hashes repeat), one picking the failing values (only when some fail), and GE's jobs only
    for what the aggregation cannot serve (none for schema checks). By default nothing is
    cached, so the returned frames are recomputed from the source when written.
    ``keep_cached=True`` persists the data (under ``quarantine``: the tagged data) during the
    gate's first job, so the gate's later jobs and the writes of ``passed`` and
    ``quarantined`` read the cache; release it with ``outcome.unpersist()`` or ``with``.
    ``tagged=True`` (only under ``quarantine``): ``df`` already carries the tags of
    :func:`row_tags` in ``failed_column`` (e.g. computed while the caller cached it), so the
    gate neither tags nor caches it: one aggregation over it is the whole gate when it passes.
    """
    policy = _parse_policy(policy, source)
    decl = SuiteDeclaration.from_mapping(suite, source)
    if tagged:
        if policy is not Policy.QUARANTINE or failed_column not in df.columns:
            raise SuiteConfigError(f"{source}: tagged rows are gated under policy "
                                   f"'quarantine' only, with their tags in {failed_column!r}")
        return _run_tagged(df, decl, source, sample_size, max_quarantined_fraction,
                           failed_column)
    compile_suite(decl, schema=df.schema, source=source)
    if policy is Policy.QUARANTINE:
        require_predicates(decl, source)
        if failed_column in df.columns:
            raise SuiteConfigError(
                f"{source}: the quarantine column {failed_column!r} already exists in table "
                f"{decl.table!r}; drop it or pass another failed_column"
            )
    # A gate reads its input in one aggregation (plus a key-hash aggregation for uniqueness and
    # a sample fetch on failure), so caching pays only for the caller's writes: keep_cached.
    own_cache = keep_cached and not df.is_cached
    if policy is Policy.QUARANTINE:
        # Cache the tagged rows (not the input): the one aggregation fills the cache, the
        # sample fetch and the caller's writes of passed/quarantined read it.
        tagging = rowmetrics.tag_frame(df, decl, rowmetrics.labels(decl), failed_column)
        cached = cache(tagging) if own_cache else tagging
    else:
        cached = cache(df) if own_cache else df
    try:
        metrics = None
        if policy is Policy.QUARANTINE:
            # Uncached, GE's jobs (if any) read the input, not the tagging.
            data = cached.drop(failed_column) if own_cache else df
            metrics = measure(cached, decl, df.schema, sample_size,
                              failed_column=failed_column)
        else:
            data = cached
        report = run_validation(data, decl, source=source, sample_size=sample_size,
                                metrics=metrics)
        outcome = _decide(data, cached, decl, report, metrics, policy,
                          max_quarantined_fraction, keep_cached and own_cache, failed_column)
    except BaseException:
        if own_cache:
            cached.unpersist()
        raise
    if own_cache and outcome._cached is not cached:
        cached.unpersist()
    level = logging.WARNING if outcome.verdict in (Verdict.FAIL, Verdict.WARN) else logging.INFO
    log.log(level, "gate %s on %s: verdict %s %s %s", policy.value, decl.table,
            outcome.verdict.value, outcome.counts, "; ".join(outcome.reasons))
    return outcome


def _run_tagged(df: DataFrame, decl: SuiteDeclaration, source: str, sample_size: int,
                max_fraction: float | None, failed_column: str) -> GateOutcome:
    """:func:`run_gate` under ``quarantine`` on rows that carry their tags already."""
    data = df.drop(failed_column)
    compile_suite(decl, schema=data.schema, source=source)
    metrics = measure(df, decl, data.schema, sample_size, failed_column=failed_column)
    report = run_validation(data, decl, source=source, sample_size=sample_size,
                            metrics=metrics)
    outcome = _decide(data, df, decl, report, metrics, Policy.QUARANTINE, max_fraction, False,
                      failed_column)
    log.log(logging.WARNING if outcome.verdict is Verdict.FAIL else logging.INFO,
            "gate quarantine on %s (tagged rows): verdict %s %s %s", decl.table,
            outcome.verdict.value, outcome.counts, "; ".join(outcome.reasons))
    return outcome


def _decide(cached: DataFrame, tagged: DataFrame | None, decl: SuiteDeclaration,
            report: ValidationReport, metrics: rowmetrics.RowMetrics | None, policy: Policy,
            max_fraction: float | None, keep_cached: bool, failed_column: str) -> GateOutcome:
    failures = [_describe_failure(o) for o in report.failed]
    rows = _input_rows(report)
    counts = {"input": rows} if rows is not None else {}
    if policy is not Policy.QUARANTINE:
        if report.success:
            verdict = Verdict.PASS
        else:
            verdict = Verdict.FAIL if policy is Policy.FAIL else Verdict.WARN
        return GateOutcome(policy, verdict, report, passed=cached, counts=counts,
                           reasons=failures, _cached=cached if keep_cached else None)
    table_failures = [_describe_failure(o) for o in report.failed if not o.row_level]
    if table_failures:
        return GateOutcome(policy, Verdict.FAIL, report, passed=None, counts=counts,
                           reasons=[f"table-level expectation failed, rows cannot be quarantined "
                                    f"to fix it: {f}" for f in table_failures])
    assert tagged is not None and metrics is not None  # always set under `quarantine`
    return _quarantine(tagged, decl, metrics, report, max_fraction, keep_cached, failed_column,
                       failures)


def _quarantine(tagged: DataFrame, decl: SuiteDeclaration, metrics: rowmetrics.RowMetrics,
                report: ValidationReport, max_fraction: float | None, keep_cached: bool,
                failed_column: str, failures: list[str]) -> GateOutcome:
    # The counts come from the same aggregation that filled the report: no further job here.
    n_failed = F.size(F.col(failed_column))
    counts = {"input": metrics.rows, "passed": metrics.passed or 0,
              "quarantined": metrics.quarantined or 0}
    if counts["input"] != counts["passed"] + counts["quarantined"]:
        raise AssertionError(f"quarantine counts do not reconcile: {counts}")
    by_expectation = {label: metrics.unexpected[i]
                      for i, label in rowmetrics.labels(decl).items()}
    reasons = list(failures)
    verdict = Verdict.QUARANTINE if counts["quarantined"] else Verdict.PASS
    share = counts["quarantined"] / counts["input"] if counts["input"] else 0.0
    if max_fraction is not None and share > max_fraction:
        verdict = Verdict.FAIL
        reasons.insert(0, f"{counts['quarantined']} of {counts['input']} rows quarantined "
                          f"({share:.2%}), above max_quarantined_fraction {max_fraction:.2%}")
    return GateOutcome(
        Policy.QUARANTINE, verdict, report,
        passed=tagged.filter(n_failed == 0).drop(failed_column),
        quarantined=tagged.filter(n_failed > 0),
        problems=rowmetrics.problems_column(decl, rowmetrics.labels(decl), failed_column,
                                            tagged.schema),
        counts=counts, quarantined_by_expectation=by_expectation, reasons=reasons,
        _cached=tagged if keep_cached else None,
    )


# the verdict a commit shows when gates in sequence let it through: the most severe one
_SEVERITY = [Verdict.PASS, Verdict.WARN, Verdict.QUARANTINE, Verdict.FAIL]


def commit_summary(*outcomes: GateOutcome | None) -> dict[str, Any] | None:
    """What a commit records of the gates that let it through, in the order they ran (e.g. the
    table's suite on the rows, then the non-finite gate on the assembled vector): one gate's
    summary, or for several their assertions together under the most severe verdict, the first
    gate's input, the last one's passed rows and every gate's quarantined rows, with each
    gate's own summary under ``gates``."""
    ran = [_summary(o) for o in outcomes if o is not None]
    if len(ran) <= 1:
        return ran[0] if ran else None
    verdict = max((g["verdict"] for g in ran), key=lambda v: _SEVERITY.index(Verdict(v)))
    stats: dict[str, Any] = {}
    for g in ran:
        for k, v in g["statistics"].items():
            if k != "success_percent":
                stats[k] = stats.get(k, 0) + v
    if stats.get("evaluated_expectations"):
        stats["success_percent"] = (100.0 * stats.get("successful_expectations", 0)
                                    / stats["evaluated_expectations"])
    counts = {k: v for k, v in (("input", ran[0]["counts"].get("input")),
                                ("passed", ran[-1]["counts"].get("passed")),
                                ("quarantined", sum(g["counts"].get("quarantined", 0)
                                                    for g in ran)))
              if v is not None}
    return {"suite": ", ".join(g["suite"] for g in ran),
            "policy": ", ".join(g["policy"] for g in ran),
            "verdict": verdict, "statistics": stats, "counts": counts,
            "assertions": [a for g in ran for a in g["assertions"]], "gates": ran}


def _summary(outcome: GateOutcome) -> dict[str, Any]:
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
