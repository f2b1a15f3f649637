"""Quality gates: run a suite on a batch and decide whether (and what) the caller may write.

Policies:

- ``fail``: any failed expectation gives verdict ``fail``; the caller must not write and calls
  :meth:`GateOutcome.raise_if_failed`, which raises ``lakeprep.errors.GateFailed``.
- ``quarantine``: rows failing any row-level expectation go to ``outcome.quarantined`` with an
  array column (``_failed_expectations``) naming every expectation each row failed; the rest are
  ``outcome.passed``. ``counts`` reconcile: ``input == passed + quarantined``. A failed
  table-level expectation (row count, column set, column types) cannot be fixed by removing rows,
  so it still gives verdict ``fail``, as does a quarantined share above
  ``max_quarantined_fraction``.
- ``warn``: the result is recorded and logged; the verdict is ``warn`` and everything goes on.

``mostly`` and quarantine: ``mostly`` only decides whether GE calls an expectation a success
(and so the suite's ``success`` and the ``fail``/``warn`` verdicts). Under ``quarantine`` every row
that breaks a row-level expectation is split off, whatever its ``mostly``: ``mostly: 0.99`` with
0.5% bad rows passes in GE's result and still quarantines those 0.5%. Rows that reach the target
table therefore meet every row-level expectation.

Cost: the input is persisted for the gate and released after it. GE bundles aggregate metrics into
few jobs over the cached data; the quarantine tags come from one extra select evaluated with all
predicates together, whose per-expectation counts come from one aggregation.

>>> outcome = run_gate(df, suite, policy="quarantine", source="conf/base/quality/orders.yml")
... # doctest: +SKIP
>>> outcome.raise_if_failed()  # doctest: +SKIP
>>> outcome.counts  # doctest: +SKIP
{'input': 1000, 'passed': 990, 'quarantined': 10}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakeprep.errors import GateFailed
from quality.compile import compile_suite, is_row_level, require_predicates
from quality.declaration import SuiteDeclaration
from quality.errors import SuiteConfigError
from quality.predicates import row_predicate
from quality.result import ValidationReport
from quality.validate import validate

log = logging.getLogger(__name__)

FAILED_EXPECTATIONS_COLUMN = "_failed_expectations"


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

    def unpersist(self) -> None:
        """Release the data the gate kept cached (only with ``keep_cached=True``)."""
        if self._cached is not None:
            self._cached.unpersist()
            self._cached = None

    def __enter__(self) -> GateOutcome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.unpersist()


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


def _labels(decl: SuiteDeclaration) -> dict[int, str]:
    """Unique tag names for the row-level expectations, keyed by position in the suite."""
    labels: dict[int, str] = {}
    for i, item in enumerate(decl.expectations):
        if is_row_level(item.type):
            label = item.label()
            labels[i] = label if label not in labels.values() else f"{label}#{i}"
    return labels


def _input_rows(report: ValidationReport) -> int | None:
    for o in report.outcomes:
        if o.element_count is not None:
            return o.element_count
        if o.expectation.startswith("expect_table_row_count") and isinstance(o.observed_value,
                                                                              int):
            return o.observed_value
    return None


def run_gate(df: DataFrame, suite: SuiteDeclaration | dict, policy: str | Policy = "fail",
             source: str = "<suite>", sample_size: int = 5,
             max_quarantined_fraction: float | None = None, keep_cached: bool = False,
             failed_column: str = FAILED_EXPECTATIONS_COLUMN) -> GateOutcome:
    """Validate ``df`` with ``suite`` under ``policy`` and return a :class:`GateOutcome`.

    Declaration errors (unknown policy or expectation, bad parameters, missing columns, a
    row-level expectation quarantine cannot tag) raise ``SuiteConfigError`` before any Spark job.
    By default the input is persisted for the gate and released before returning, so the
    returned frames are recomputed from the source when written. ``keep_cached=True`` keeps the
    data (under ``quarantine``: the tagged data) cached so that writing ``passed`` and
    ``quarantined`` does not recompute it; release it with ``outcome.unpersist()`` or ``with``.
    """
    policy = _parse_policy(policy, source)
    decl = SuiteDeclaration.from_mapping(suite, source)
    compile_suite(decl, schema=df.schema, source=source)
    if policy is Policy.QUARANTINE:
        require_predicates(decl, source)
        if failed_column in df.columns:
            raise SuiteConfigError(
                f"{source}: the quarantine column {failed_column!r} already exists in table "
                f"{decl.table!r}; drop it or pass another failed_column"
            )
    already_cached = df.is_cached
    cached = df if already_cached else df.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        report = validate(cached, decl, source=source, sample_size=sample_size)
        outcome = _decide(cached, decl, report, policy, max_quarantined_fraction,
                          keep_cached and not already_cached, failed_column)
    except BaseException:
        if not already_cached:
            cached.unpersist()
        raise
    if not already_cached and outcome._cached is not cached:
        cached.unpersist()
    level = logging.WARNING if outcome.verdict in (Verdict.FAIL, Verdict.WARN) else logging.INFO
    log.log(level, "gate %s on %s: verdict %s %s %s", policy.value, decl.table,
            outcome.verdict.value, outcome.counts, "; ".join(outcome.reasons))
    return outcome


def _decide(cached: DataFrame, decl: SuiteDeclaration, report: ValidationReport, policy: Policy,
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
    return _quarantine(cached, decl, report, max_fraction, keep_cached, failed_column, failures)


def _quarantine(cached: DataFrame, decl: SuiteDeclaration, report: ValidationReport,
                max_fraction: float | None, keep_cached: bool, failed_column: str,
                failures: list[str]) -> GateOutcome:
    labels = _labels(decl)
    tags = [F.when(~row_predicate(decl.expectations[i]), F.lit(label))
            for i, label in labels.items()]
    failed = F.array_compact(F.array(*tags)) if tags else F.array().cast("array<string>")
    tagged = cached.withColumn(failed_column, failed)
    if keep_cached:
        tagged = tagged.persist(StorageLevel.MEMORY_AND_DISK)
    n_failed = F.size(F.col(failed_column))
    per_expectation = [
        F.sum(F.array_contains(F.col(failed_column), label).cast("long")).alias(f"e{i}")
        for i, label in labels.items()
    ]
    stats = tagged.agg(
        F.count(F.lit(1)).alias("input"),
        F.sum((n_failed == 0).cast("long")).alias("passed"),
        F.sum((n_failed > 0).cast("long")).alias("quarantined"),
        *per_expectation,
    ).first()
    counts = {k: int(stats[k] or 0) for k in ("input", "passed", "quarantined")}
    if counts["input"] != counts["passed"] + counts["quarantined"]:
        raise AssertionError(f"quarantine counts do not reconcile: {counts}")
    by_expectation = {label: int(stats[f"e{i}"] or 0) for i, label in labels.items()}
    _compare_with_ge(report, labels, by_expectation)
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
        counts=counts, quarantined_by_expectation=by_expectation, reasons=reasons,
        _cached=tagged if keep_cached else None,
    )


def _compare_with_ge(report: ValidationReport, labels: dict[int, str],
                     ours: dict[str, int]) -> None:
    # The predicates restate GE's conditions; a difference means they disagree on some rows,
    # which a reviewer must see (the quarantine may then be too strict or too lenient).
    for i, label in labels.items():
        ge_count = report.outcomes[i].unexpected_count
        if ge_count is not None and ge_count != ours[label]:
            log.warning("gate on %s: %s flags %d rows, GE counted %d unexpected", report.table,
                        label, ours[label], ge_count)
