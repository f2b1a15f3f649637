"""The gate on an assembled feature vector: no NaN and no +-inf in any slot.

A null a pipeline did not impute becomes NaN in the vector (``VectorAssembler(handleInvalid=
"keep")``), a ``log`` of 0 becomes -inf: a table whose vectors hold them trains nothing on most
estimators. This gate judges the counts of one pass over the vector (rows, rows with a
non-finite entry, and rows per slot; the caller makes that pass) under a policy:

- ``fail``: any non-finite entry gives verdict ``fail``, naming each slot by its feature name and
  its number of rows; the caller writes nothing (:meth:`GateOutcome.raise_if_failed`).
- ``quarantine``: rows with a non-finite entry go to ``outcome.quarantined`` with the array
  column ``_failed_expectations`` naming the features that are not finite in that row; the rest
  are ``outcome.passed``; ``input == passed + quarantined``.
- ``warn``: recorded only.

The report is a Great Expectations result like every other gate's (saved as JSON, rendered in
Data Docs): one ``unexpected_rows_expectation`` over the whole vector, plus one per slot that
failed, each with the Spark SQL query that finds those rows in the feature table as written
(``features`` stored as ``array<double>``), so the check can be rerun on the table with GE.

>>> names = ["hour_sin", "hour_cos", "dow_sin", "dow_cos", "distance", "fare", "passenger_count"]
>>> counts = VectorCounts(rows=40000, nonfinite_rows=13, by_slot={6: 13})
>>> outcome = finite_gate(None, counts, "features", names, "taxi_tips_features")
>>> outcome.verdict.value, outcome.reasons
('fail', ['`features`[6] passenger_count: NaN or +-inf in 13 of 40,000 rows'])
>>> [(o.columns, o.unexpected_count) for o in outcome.report.outcomes]
[(['features'], 13), (['passenger_count'], 13)]
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.validator.validation_statistics import calc_validation_statistics
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome, Policy, Verdict
from quality.result import ExpectationOutcome, ValidationReport

EXPECTATION = "unexpected_rows_expectation"
_INF = float("inf")


@dataclass(frozen=True)
class VectorCounts:
    """What one pass over a vector column found: its rows, the rows holding a NaN or +-inf
    entry, and per slot (index in the vector) the rows where that slot is not finite."""

    rows: int
    nonfinite_rows: int
    by_slot: Mapping[int, int] = field(default_factory=dict)


def nonfinite_rows(column: str) -> Column:
    """True for a row whose vector ``column`` holds NaN or +-inf (Spark orders NaN above every
    number, so the array's max and min tell it, code-generated: no per-element lambda)."""
    values = vector_to_array(F.col(f"`{column}`"))
    top, bottom = F.array_max(values), F.array_min(values)
    return F.coalesce(F.isnan(top) | (top == _INF) | (bottom == -_INF), F.lit(False))


def _nonfinite_names(column: str, names: Sequence[str]) -> Column:
    """The names of the slots of ``column`` that are not finite in a row (quarantined rows
    only, so the per-element lambda runs on few rows)."""
    labels = F.array(*[F.lit(_label(n)) for n in names])
    values = vector_to_array(F.col(f"`{column}`"))
    flagged = F.transform(values, lambda x, i: F.when(F.isnan(x) | (F.abs(x) == _INF),
                                                      F.element_at(labels, i + 1)))
    return F.filter(flagged, lambda name: name.isNotNull())


def _label(name: str) -> str:
    return f"{EXPECTATION}({name})"


def _query(condition: str) -> str:
    return f"SELECT * FROM {{batch}} WHERE {condition}"


def _slot_condition(column: str, slot: int) -> str:
    entry = f"`{column}`[{slot}]"
    return f"isnan({entry}) OR abs({entry}) = double('Infinity')"


def _vector_condition(column: str) -> str:
    c = f"`{column}`"
    return (f"isnan(array_max({c})) OR array_max({c}) = double('Infinity') "
            f"OR array_min({c}) = double('-Infinity')")


def _result(expectation: Any, unexpected: int) -> ExpectationValidationResult:
    expectation.id = str(uuid.uuid4())
    return ExpectationValidationResult(
        success=unexpected == 0, expectation_config=expectation.configuration,
        result={"observed_value": unexpected},
        exception_info={"raised_exception": False, "exception_traceback": None,
                        "exception_message": None},
        meta={"computed_by": "lakeprep one-pass vector profile"})


def finite_report(counts: VectorCounts, column: str, names: Sequence[str], table: str
                  ) -> ValidationReport:
    """The GE validation result of the counts: the whole vector, then each failing slot."""
    rows = counts.rows

    def share(n: int) -> float:
        return 100.0 * n / rows if rows else 0.0

    expectations = [(gx.expectations.UnexpectedRowsExpectation(
        unexpected_rows_query=_query(_vector_condition(column)),
        description=f"every entry of `{column}` is finite (no NaN, no +-inf)"),
        column, counts.nonfinite_rows)]
    for slot, n in sorted(counts.by_slot.items()):
        name = _name(names, slot)
        expectations.append((gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query=_query(_slot_condition(column, slot)),
            description=f"`{column}`[{slot}] ({name}) is finite"), name, n))
    results = [_result(e, n) for e, _, n in expectations]
    stats = calc_validation_statistics(results)
    suite = f"{table}_finite"
    ge = ExpectationSuiteValidationResult(
        success=stats.success, results=results, suite_name=suite,
        statistics={"evaluated_expectations": stats.evaluated_expectations,
                    "successful_expectations": stats.successful_expectations,
                    "unsuccessful_expectations": stats.unsuccessful_expectations,
                    "success_percent": stats.success_percent},
        meta={"active_batch_definition": {"datasource_name": "lakeprep_spark",
                                          "data_asset_name": table}})
    document = ge.to_json_dict()
    outcomes = [ExpectationOutcome(
        expectation=EXPECTATION, columns=[name], success=n == 0, row_level=True,
        kwargs={"unexpected_rows_query": e.unexpected_rows_query}, observed_value=n,
        element_count=rows, unexpected_count=n, unexpected_percent=share(n))
        for e, name, n in expectations]
    return ValidationReport(suite_name=suite, table=table, success=bool(document["success"]),
                            statistics=dict(document["statistics"]), outcomes=outcomes,
                            ge_result=document)


def _name(names: Sequence[str], slot: int) -> str:
    return names[slot] if slot < len(names) else f"slot {slot}"


def finite_gate(df: DataFrame | None, counts: VectorCounts, column: str, names: Sequence[str],
                table: str, policy: str | Policy = "fail", remedy: str = "") -> GateOutcome:
    """The gate's verdict on ``df``'s vector ``column`` from ``counts`` (no Spark job here).

    ``names`` are the vector's feature names in slot order; ``remedy`` ends a failure's
    reasons (what to change, e.g. the conf key). Under ``quarantine`` ``passed`` and
    ``quarantined`` are lazy frames of ``df``, the latter with ``_failed_expectations``; under
    ``fail`` and ``warn`` ``passed`` is ``df`` itself (None allowed: a verdict only).
    """
    policy = Policy(policy)
    report = finite_report(counts, column, names, table)
    reasons = [f"`{column}`[{slot}] {_name(names, slot)}: NaN or +-inf in {n:,} of "
               f"{counts.rows:,} rows" for slot, n in sorted(counts.by_slot.items())]
    if counts.nonfinite_rows and not reasons:  # a profile bounded the slots it tracks
        reasons = [f"`{column}`: NaN or +-inf in {counts.nonfinite_rows:,} rows"]
    bad = counts.nonfinite_rows
    if policy is Policy.QUARANTINE:
        if df is None:
            raise ValueError("finite_gate: policy quarantine splits the rows of df; give it")
        flagged = nonfinite_rows(column)
        return GateOutcome(
            policy, Verdict.QUARANTINE if bad else Verdict.PASS, report,
            passed=df.where(~flagged) if bad else df,
            quarantined=(df.where(flagged).withColumn(FAILED_EXPECTATIONS_COLUMN,
                                                      _nonfinite_names(column, names))
                         if bad else None),
            counts={"input": counts.rows, "passed": counts.rows - bad, "quarantined": bad},
            quarantined_by_expectation={_label(_name(names, s)): n
                                        for s, n in counts.by_slot.items()},
            reasons=reasons)
    if not bad:
        verdict = Verdict.PASS
    else:
        verdict = Verdict.FAIL if policy is Policy.FAIL else Verdict.WARN
        if verdict is Verdict.FAIL and remedy:
            reasons.append(remedy)
    return GateOutcome(policy, verdict, report, passed=df, counts={"input": counts.rows},
                       reasons=reasons)
