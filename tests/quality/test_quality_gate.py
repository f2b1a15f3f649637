"""Suites run through GE on Spark; gates pass, fail, warn and quarantine with reconciled counts."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from lakeprep.errors import GateFailed
from quality import FAILED_EXPECTATIONS_COLUMN, Policy, Verdict, run_gate, summary_table, validate

SOURCE = "orders.yml"
SMALL_SUITE = {
    "table": "orders",
    "expectations": [
        {"expect_table_row_count_to_be_between": {"min_value": 1, "max_value": 100}},
        {"expect_column_values_to_be_in_set": {"column": "category",
                                               "value_set": ["books", "toys"]}},
    ],
}


@pytest.fixture(scope="module")
def quarantined(orders_df, full_suite):
    outcome = run_gate(orders_df, full_suite, policy="quarantine", source=SOURCE,
                       keep_cached=True)
    yield outcome
    outcome.unpersist()


def test_passing_suite_gives_ge_success(good_orders_df, full_suite):
    report = validate(good_orders_df, full_suite, source=SOURCE)
    assert report.success is True
    assert report.statistics["evaluated_expectations"] == 10
    assert report.statistics["successful_expectations"] == 10
    assert report.ge_result["success"] is True
    assert report.ge_result["suite_name"] == "orders"
    not_null = report.outcomes[3]
    assert (not_null.expectation, not_null.columns) == ("expect_column_values_to_not_be_null",
                                                        ["amount"])
    assert (not_null.element_count, not_null.unexpected_count, not_null.sample) == (5, 0, [])
    assert report.outcomes[0].observed_value == 5
    json.dumps(report.to_dict())  # JSON-serialisable as a whole


def test_failing_suite_rows_have_counts_and_samples(quarantined):
    report = quarantined.report
    assert report.success is False
    by_name = {o.label: o for o in report.outcomes}
    regex = by_name["expect_column_values_to_match_regex(order_id)"]
    assert (regex.success, regex.unexpected_count, regex.sample) == (False, 1, ["X7"])
    between = by_name["expect_column_values_to_be_between(amount)"]
    # one of 8 non-null amounts is negative: 12.5% unexpected, within mostly=0.8
    assert (between.success, between.unexpected_count, between.sample) == (True, 1, [-3.0])
    assert between.unexpected_percent == pytest.approx(12.5)
    unique = by_name["expect_column_values_to_be_unique(order_id)"]
    # samples hold distinct failing values: both duplicate rows carry "O1"
    assert (unique.success, unique.unexpected_count, unique.sample) == (False, 2, ["O1"])
    assert by_name["expect_table_row_count_to_be_between"].observed_value == 9
    failed = {o.label for o in report.failed}
    assert failed == {
        "expect_column_values_to_not_be_null(amount)",
        "expect_column_values_to_be_in_set(category)",
        "expect_column_values_to_match_regex(order_id)",
        "expect_column_values_to_be_unique(order_id)",
        "expect_column_pair_values_a_to_be_greater_than_b(dropoff, pickup)",
    }
    assert report.statistics["unsuccessful_expectations"] == 5


def test_quarantine_splits_rows_and_names_failed_expectations(quarantined, orders_df):
    assert quarantined.policy is Policy.QUARANTINE
    assert quarantined.verdict is Verdict.QUARANTINE
    assert quarantined.may_write is True
    assert quarantined.counts == {"input": 9, "passed": 4, "quarantined": 5}
    assert quarantined.passed.columns == orders_df.columns
    assert sorted(r.order_id for r in quarantined.passed.collect()) == ["O2", "O3", "O4", "O5"]
    tags = {(r.order_id, r.customer_id): sorted(r[FAILED_EXPECTATIONS_COLUMN])
            for r in quarantined.quarantined.collect()}
    assert tags == {
        # mostly=0.8 lets GE call the range expectation a success, yet the row is quarantined
        ("O6", "c5"): ["expect_column_values_to_be_between(amount)"],
        ("X7", "c6"): ["expect_column_values_to_be_in_set(category)",
                       "expect_column_values_to_match_regex(order_id)"],
        ("O8", "c7"): ["expect_column_pair_values_a_to_be_greater_than_b(dropoff, pickup)",
                       "expect_column_values_to_not_be_null(amount)"],
        ("O1", "c1"): ["expect_column_values_to_be_unique(order_id)"],
        ("O1", "c8"): ["expect_column_values_to_be_unique(order_id)"],
    }


def test_quarantine_counts_reconcile_with_ge(quarantined):
    counts = quarantined.counts
    assert counts["input"] == counts["passed"] + counts["quarantined"]
    assert counts["quarantined"] == quarantined.quarantined.count()
    assert counts["passed"] == quarantined.passed.count()
    for o in quarantined.report.outcomes:
        if o.row_level:
            assert quarantined.quarantined_by_expectation[o.label] == o.unexpected_count


def test_fail_policy_refuses_to_write(orders_df):
    outcome = run_gate(orders_df, SMALL_SUITE, policy="fail", source=SOURCE)
    assert outcome.verdict is Verdict.FAIL and outcome.may_write is False
    with pytest.raises(GateFailed) as err:
        outcome.raise_if_failed()
    message = str(err.value)
    assert "table 'orders'" in message and "policy fail" in message
    assert "expect_column_values_to_be_in_set(category): 1 of 9 rows unexpected" in message
    assert "['food']" in message and "not written" in message
    assert err.value.exit_code == 5
    assert orders_df.is_cached is False  # the gate released its cache


def test_warn_policy_records_and_goes_on(orders_df):
    with run_gate(orders_df, SMALL_SUITE, policy="warn", source=SOURCE,
                  keep_cached=True) as outcome:
        assert orders_df.is_cached is True  # kept for the caller's write
        _check_warn(outcome)
    assert orders_df.is_cached is False


def _check_warn(outcome):
    assert outcome.verdict is Verdict.WARN and outcome.may_write is True
    outcome.raise_if_failed()  # does not raise
    assert outcome.passed.count() == 9
    assert outcome.counts == {"input": 9}
    assert outcome.reasons == ["expect_column_values_to_be_in_set(category): 1 of 9 rows "
                               "unexpected (11.11%), e.g. ['food']"]
    assert json.loads(json.dumps(outcome.to_dict()))["verdict"] == "warn"


def test_quarantine_fails_on_table_level_and_on_share(orders_df):
    table_level = {"table": "orders", "expectations": [
        {"expect_table_row_count_to_be_between": {"min_value": 100}},
        {"expect_column_values_to_match_regex": {"column": "order_id", "regex": "^O"}},
    ]}
    outcome = run_gate(orders_df, table_level, policy="quarantine", source=SOURCE,
                       max_quarantined_fraction=0.05)
    assert outcome.verdict is Verdict.FAIL and outcome.passed is None
    assert "rows cannot be quarantined" in outcome.reasons[0]
    assert "expect_table_row_count_to_be_between: observed 9" in outcome.reasons[0]


def test_summary_table_renders_each_expectation(quarantined):
    console = Console(record=True, width=200)
    console.print(summary_table(quarantined.report))
    text = console.export_text()
    assert "orders on orders: FAILED" in text
    assert "5 of 10 expectations met" in text
    assert "1 of 9 (11.11%)" in text and "['X7']" in text


def _gate_jobs(spark, df, suite, policy, group):
    sc = spark.sparkContext
    sc.setJobGroup(group, f"lakeprep gate job count: {group}")
    try:
        outcome = run_gate(df, suite, policy=policy, source=SOURCE)
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        sc.setLocalProperty("spark.job.description", None)
    return outcome, len(sc.statusTracker().getJobIdsForGroup(group))


@pytest.mark.parametrize("policy", ["fail", "quarantine"])
def test_gate_job_count_does_not_grow_with_row_level_expectations(spark, orders_df, policy):
    base = [
        {"expect_table_row_count_to_be_between": {"min_value": 1}},
        {"expect_column_values_to_be_in_set": {"column": "category",
                                               "value_set": ["books", "toys"]}},
        {"expect_column_values_to_be_unique": {"column": "order_id"}},
    ]
    more = [
        {"expect_column_values_to_not_be_null": {"column": "amount"}},
        {"expect_column_values_to_be_between": {"column": "amount", "min_value": 0}},
        {"expect_column_values_to_match_regex": {"column": "order_id", "regex": "^O[0-9]+$"}},
        {"expect_column_values_to_not_be_null": {"column": "customer_id"}},
        {"expect_column_value_lengths_to_be_between": {"column": "order_id", "min_value": 2}},
        {"expect_column_values_to_be_between": {"column": "pickup", "min_value": 0}},
        {"expect_column_values_to_not_be_in_set": {"column": "category", "value_set": ["x"]}},
        {"expect_column_pair_values_a_to_be_greater_than_b": {
            "column_A": "dropoff", "column_B": "pickup", "or_equal": True}},
        {"expect_column_pair_values_to_be_equal": {"column_A": "dropoff", "column_B": "pickup"}},
        {"expect_column_values_to_match_regex": {"column": "customer_id", "regex": "^c"}},
    ]
    small, n_small = _gate_jobs(spark, orders_df, {"table": "orders", "expectations": base},
                                policy, f"q-small-{policy}")
    large, n_large = _gate_jobs(spark, orders_df,
                                {"table": "orders", "expectations": base + more},
                                policy, f"q-large-{policy}")
    # both runs did the real work: row-level failures were found and sampled
    assert small.report.outcomes[1].sample == ["food"]
    assert large.report.outcomes[5].sample == ["X7"]
    assert len(large.report.outcomes) == 13
    # 2 -> 12 row-level expectations, same Spark jobs: one aggregation (its window shuffle for
    # the uniqueness check), one sample fetch, GE's row count; not one or more per expectation
    assert 0 < n_large == n_small <= 8
