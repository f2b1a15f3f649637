"""The gate on an assembled vector: per-slot counts from one profile pass, the verdict under each
policy, the rows it sets aside, and a Great Expectations result Data Docs can load."""

from __future__ import annotations

import math

import pytest
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResultSchema,
)
from pyspark.ml.linalg import Vectors

from lakeprep.errors import GateFailed
from lakeprep.sagemaker.checks import profile_channel
from quality.finite import VectorCounts, finite_gate, nonfinite_rows
from quality.gate import FAILED_EXPECTATIONS_COLUMN
from quality.gate import commit_summary as summary

NAMES = ["distance", "passengers", "fare"]
NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def vectors(spark):
    rows = [(1, Vectors.dense([1.0, 2.0, 3.0])),
            (2, Vectors.dense([1.0, NAN, 3.0])),
            (3, Vectors.sparse(3, {2: INF})),
            (4, Vectors.dense([-INF, NAN, 0.0])),
            (5, Vectors.sparse(3, {0: 4.0})),
            (6, Vectors.sparse(3, {}))]
    return spark.createDataFrame(rows, ["id", "features"])


def _counts(df) -> VectorCounts:
    profile = profile_channel(df, "features", None)
    return VectorCounts(profile.rows, profile.nonfinite_rows, dict(profile.nonfinite))


def test_one_profile_pass_counts_rows_per_slot(vectors):
    counts = _counts(vectors)
    assert counts == VectorCounts(rows=6, nonfinite_rows=3, by_slot={0: 1, 1: 2, 2: 1})
    flagged = {r.id for r in vectors.where(nonfinite_rows("features")).collect()}
    assert flagged == {2, 3, 4}


def test_fail_names_each_slot_by_feature_and_rows(vectors):
    outcome = finite_gate(vectors, _counts(vectors), "features", NAMES, "trips_features",
                          remedy="impute them")
    assert outcome.verdict.value == "fail" and not outcome.may_write
    assert outcome.reasons == ["`features`[0] distance: NaN or +-inf in 1 of 6 rows",
                               "`features`[1] passengers: NaN or +-inf in 2 of 6 rows",
                               "`features`[2] fare: NaN or +-inf in 1 of 6 rows",
                               "impute them"]
    with pytest.raises(GateFailed, match=r"suite 'trips_features_finite', policy fail\) failed: "
                                         r"`features`\[0\] distance: .*impute them\. The target "
                                         r"table was not written"):
        outcome.raise_if_failed()
    report = outcome.report
    assert [(o.columns, o.unexpected_count, o.element_count, o.success) for o in report.outcomes
            ] == [(["features"], 3, 6, False), (["distance"], 1, 6, False),
                  (["passengers"], 2, 6, False), (["fare"], 1, 6, False)]
    # a GE result like every gate's: Data Docs load it
    loaded = ExpectationSuiteValidationResultSchema().load(report.ge_result)
    assert loaded.suite_name == "trips_features_finite" and not loaded.success
    assert [r.result["observed_value"] for r in loaded.results] == [3, 1, 2, 1]


def test_the_recorded_queries_find_the_rows_of_the_stored_table(spark, vectors):
    from pyspark.ml.functions import vector_to_array

    stored = vectors.withColumn("features", vector_to_array("features"))  # as Delta keeps it
    stored.createOrReplaceTempView("stored_vectors")
    report = finite_gate(vectors, _counts(vectors), "features", NAMES, "t").report
    found = []
    for o in report.outcomes:
        query = o.kwargs["unexpected_rows_query"].format(batch="stored_vectors")
        found.append(sorted(r.id for r in spark.sql(query).collect()))
    assert found == [[2, 3, 4], [4], [2, 4], [3]]


def test_quarantine_splits_the_rows_and_names_the_features(vectors):
    outcome = finite_gate(vectors, _counts(vectors), "features", NAMES, "t", "quarantine")
    assert outcome.verdict.value == "quarantine" and outcome.may_write
    assert outcome.counts == {"input": 6, "passed": 3, "quarantined": 3}
    assert sorted(r.id for r in outcome.passed.collect()) == [1, 5, 6]
    aside = {r.id: list(r[FAILED_EXPECTATIONS_COLUMN]) for r in outcome.quarantined.collect()}
    assert aside == {2: ["unexpected_rows_expectation(passengers)"],
                     3: ["unexpected_rows_expectation(fare)"],
                     4: ["unexpected_rows_expectation(distance)",
                         "unexpected_rows_expectation(passengers)"]}


def test_a_finite_vector_passes_and_one_summary_holds_both_gates(vectors):
    clean = vectors.where("id IN (1, 5, 6)")
    outcome = finite_gate(clean, _counts(clean), "features", NAMES, "t", "quarantine")
    assert (outcome.verdict.value, outcome.passed, outcome.quarantined) == ("pass", clean, None)
    assert [o.success for o in outcome.report.outcomes] == [True]
    bad = finite_gate(vectors, _counts(vectors), "features", NAMES, "t", "quarantine")
    both = summary(outcome, bad)
    assert both["verdict"] == "quarantine" and both["suite"] == "t_finite, t_finite"
    assert both["counts"] == {"input": 3, "passed": 3, "quarantined": 3}
    assert len(both["assertions"]) == 1 + 4 and len(both["gates"]) == 2
    assert summary(None, outcome) == summary(outcome)
    assert math.isclose(both["statistics"]["success_percent"], 100 * 1 / 5)
