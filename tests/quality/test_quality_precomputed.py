"""The gate's one-aggregation results equal Great Expectations' own, expectation by expectation."""

from __future__ import annotations

import importlib

import pytest

from lakeprep.config.suites import SuiteDeclaration
from quality import run_gate, tablemetrics, validate
from quality.compile import compile_suite

# The module (``quality.validate`` the attribute is the function of the same name).
validate_module = importlib.import_module("quality.validate")

# Every expectation type the shipped suites use, plus every table-level one the aggregation
# serves; parameters chosen so that some pass and some fail on the orders fixture.
SUITE = {
    "table": "orders",
    "expectations": [
        {"expect_table_row_count_to_be_between": {"min_value": 1, "max_value": 5}},
        {"expect_table_row_count_to_equal": {"value": 9}},
        {"expect_table_columns_to_match_set": {"column_set": ["order_id", "amount"],
                                               "exact_match": False}},
        {"expect_table_column_count_to_be_between": {"min_value": 7}},
        {"expect_column_min_to_be_between": {"column": "amount", "min_value": 0}},
        {"expect_column_max_to_be_between": {"column": "pickup", "max_value": 8}},
        {"expect_column_mean_to_be_between": {"column": "amount", "min_value": 1,
                                              "max_value": 10}},
        {"expect_column_sum_to_be_between": {"column": "pickup", "max_value": 30}},
        {"expect_column_stdev_to_be_between": {"column": "dropoff", "min_value": 1}},
        {"expect_column_proportion_of_non_null_values_to_be_between": {
            "column": "amount", "min_value": 0.95}},
        {"expect_column_values_to_not_be_null": {"column": "amount"}},
        {"expect_column_values_to_be_between": {"column": "amount", "min_value": 0,
                                                "mostly": 0.8}},
        {"expect_column_values_to_be_in_set": {"column": "category",
                                               "value_set": ["books", "toys"]}},
        {"expect_column_values_to_match_regex": {"column": "order_id", "regex": "^O[0-9]+$"}},
        {"expect_compound_columns_to_be_unique": {"column_list": ["customer_id", "order_id"]}},
        {"expect_column_values_to_be_unique": {"column": "order_id"}},
        {"expect_column_pair_values_a_to_be_greater_than_b": {
            "column_A": "dropoff", "column_B": "pickup", "or_equal": True}},
    ],
}
SAMPLE = 20  # above any failing count here, so both sides list every failing value


@pytest.fixture(scope="module")
def both(orders_df):
    ours = validate(orders_df, SUITE, sample_size=SAMPLE)
    with pytest.MonkeyPatch.context() as mp:
        # Nothing precomputed: GE computes every metric itself.
        mp.setattr(validate_module, "computed_here", lambda item: False)
        mp.setattr(tablemetrics, "_COLUMN_AGGREGATES", {})
        mp.setattr(tablemetrics, "_TABLE_METRICS", set())
        theirs = validate(orders_df, SUITE, sample_size=SAMPLE)
    return ours, theirs


def test_every_table_level_expectation_here_is_precomputed(orders_df):
    decl = SuiteDeclaration.from_mapping(SUITE)
    plan = tablemetrics.plan_for(decl, compile_suite(decl, orders_df.schema).expectations,
                                 orders_df.schema)
    assert sorted(plan.needs) == list(range(10))


@pytest.mark.parametrize("i", range(len(SUITE["expectations"])))
def test_precomputed_result_equals_ge(both, i):
    ours, theirs = both
    mine, ge = ours.ge_result["results"][i], theirs.ge_result["results"][i]
    assert mine["expectation_config"]["type"] == ge["expectation_config"]["type"]
    assert mine["success"] == ge["success"]
    assert not ge["exception_info"].get("raised_exception"), ge["exception_info"]
    got, want = dict(mine["result"]), dict(ge["result"])
    # GE lists failing values in scan order with repeats; the aggregation lists distinct ones.
    sample_got = got.pop("partial_unexpected_list", None)
    sample_want = want.pop("partial_unexpected_list", None)
    assert got == pytest.approx(want) if "observed_value" in want and isinstance(
        want["observed_value"], float) else got == want
    if sample_want is not None:
        assert sorted(map(repr, sample_got)) == sorted({repr(v) for v in sample_want})


def test_suite_verdicts_agree(both):
    ours, theirs = both
    assert ours.success is theirs.success is False
    assert ours.statistics == theirs.statistics


def _gate_jobs(spark, df, suite, group):
    sc = spark.sparkContext
    sc.setJobGroup(group, "gate job count")
    try:
        outcome = run_gate(df, suite, policy="fail", source="orders.yml")
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    return outcome, len(sc.statusTracker().getJobIdsForGroup(group))


def test_passing_fail_gate_is_one_key_shuffle_with_the_metrics_observed(spark, good_orders_df,
                                                                       full_suite):
    outcome, jobs = _gate_jobs(spark, good_orders_df, full_suite, "precomputed-pass")
    assert outcome.verdict.value == "pass"
    # one aggregation of the uniqueness keys' hashes that clears both keys, with every row-
    # and table-level metric observed on the rows it reads: one job; no sample fetch, no job
    # of GE's
    assert jobs == 1


def test_failing_fail_gate_adds_the_exact_key_count_and_one_sample_fetch(spark, orders_df):
    outcome, jobs = _gate_jobs(spark, orders_df, SUITE, "precomputed-fail")
    assert outcome.verdict.value == "fail"
    # the one above, the exact count of the keys whose hashes repeat (order_id has a
    # duplicate), and one fetch of the failing values of the other failed expectations
    assert jobs == 3
