"""A validation report as rows for people: each expectation's finding in one cell (its error,
its failing rows of all, or its observed value as JSON) and a sample of the failing values."""

from __future__ import annotations

from quality.result import ExpectationOutcome, ValidationReport
from quality.summary import EXPECTATION_COLUMNS, expectation_rows


def test_each_expectation_is_one_row_saying_what_it_found():
    report = ValidationReport(
        suite_name="orders", table="orders", success=False, statistics={}, ge_result={},
        outcomes=[
            ExpectationOutcome("expect_column_values_to_be_between", ["amount"], False, True,
                               element_count=1200, unexpected_count=3,
                               unexpected_percent=0.25, sample=[-1.5, "x"]),
            ExpectationOutcome("expect_table_row_count_to_be_between", [], True, False,
                               observed_value={"rows": 1200}),
            ExpectationOutcome("expect_column_values_to_match_regex", ["email"], False, True,
                               exception="column email not found"),
        ])
    rows = expectation_rows(report)
    assert all(len(r) == len(EXPECTATION_COLUMNS) for r in rows)
    assert rows == [
        ["X", "expect_column_values_to_be_between", "amount", "3 of 1,200 (0.25%)",
         '[-1.5, "x"]'],
        ["ok", "expect_table_row_count_to_be_between", "", '{"rows": 1200}', ""],
        ["X", "expect_column_values_to_match_regex", "email", "error: column email not found",
         ""],
    ]
