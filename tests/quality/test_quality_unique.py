"""Uniqueness without per-row windows: same counts, samples and tags as the window predicate."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from lakeprep.config.suites import SuiteDeclaration
from quality import FAILED_EXPECTATIONS_COLUMN, rowmetrics, run_gate
from tests.quality.conftest import local_frame

SCHEMA = "a string, b int, c string"
ROWS = [
    ("x", 1, "p"), ("x", 1, "q"), ("x", 2, None), ("y", None, None), ("y", None, None),
    (None, None, None), (None, None, None), (None, 3, "r"), (None, 3, "s"), ("z", 4, "t"),
]
SUITE = {"table": "t", "expectations": [
    {"expect_column_values_to_be_unique": {"column": "a", "mostly": 0.2}},
    {"expect_column_values_to_be_unique": {"column": "c"}},
    {"expect_compound_columns_to_be_unique": {"column_list": ["a", "b"]}},
    {"expect_compound_columns_to_be_unique": {"column_list": ["b", "a"]}},
    {"expect_compound_columns_to_be_unique": {"column_list": ["a", "b", "c"],
                                              "ignore_row_if": "never"}},
    {"expect_column_values_to_not_be_null": {"column": "b"}},
]}


@pytest.fixture(scope="module")
def frame(spark):
    return local_frame(spark, ROWS, SCHEMA)


def _window_tags(df, decl):
    """The reference: every expectation tagged by its row predicate (a window per key)."""
    names = rowmetrics.labels(decl)
    tagged = df.withColumn("t", rowmetrics.tag_column(decl, names))
    return sorted(((tuple(r[:3]), tuple(r["t"])) for r in tagged.collect()), key=repr)


def test_key_aggregation_counts_like_the_window(spark, frame):
    decl = SuiteDeclaration.from_mapping(SUITE, "t.yml")
    reference = _window_tags(frame, decl)
    names = rowmetrics.labels(decl)
    got = rowmetrics.compute(frame, decl, sample_size=3)
    for i, label in names.items():
        expected = sum(label in tags for _, tags in reference)
        assert got.unexpected[i] == expected, label
    assert got.unexpected[0] == 5 and got.unexpected[2] == 6 and got.unexpected[1] == 0
    assert got.samples[0] and set(got.samples[0]) <= {"x", "y"}


@pytest.mark.parametrize("limit", [0, 100_000])  # 0: every duplicated key keeps the window
def test_quarantine_tags_like_the_window(spark, frame, monkeypatch, limit):
    monkeypatch.setattr(rowmetrics, "BROADCAST_DUPLICATES", limit)
    decl = SuiteDeclaration.from_mapping(SUITE, "t.yml")
    outcome = run_gate(frame, SUITE, policy="quarantine", source="t.yml")
    fail = run_gate(frame, SUITE, policy="fail", source="t.yml")
    both = outcome.passed.withColumn(FAILED_EXPECTATIONS_COLUMN, F.array().cast(
        "array<string>")).unionByName(outcome.quarantined)
    got = sorted(((tuple(r[:3]), tuple(r[FAILED_EXPECTATIONS_COLUMN])) for r in both.collect()),
                 key=repr)
    assert got == _window_tags(frame, decl)
    assert outcome.counts == {"input": 10, "passed": 1, "quarantined": 9}
    for q, f in zip(outcome.report.outcomes, fail.report.outcomes, strict=True):
        assert (q.success, q.unexpected_count, q.unexpected_percent, q.element_count) == (
            f.success, f.unexpected_count, f.unexpected_percent, f.element_count)
        assert sorted(map(str, q.sample)) == sorted(map(str, f.sample))


def test_no_duplicates_tags_nothing(spark, frame):
    df = frame.filter(F.col("a") == "z")
    outcome = run_gate(df, SUITE, policy="quarantine", source="t.yml")
    assert outcome.counts == {"input": 1, "passed": 1, "quarantined": 0}


def test_hash_screen_treats_signed_zeros_as_grouping_does(spark):
    # Spark's grouping (and so the window predicate) calls -0.0 and 0.0 one value: the hash
    # screen must not clear that key.
    df = local_frame(spark, [(0.0,), (-0.0,), (1.0,)], "d double")
    suite = {"table": "t", "expectations": [
        {"expect_column_values_to_be_unique": {"column": "d"}}]}
    got = rowmetrics.compute(df, SuiteDeclaration.from_mapping(suite, "t.yml"), sample_size=3)
    assert got.unexpected[0] == 2 and got.samples[0] == [0.0]


def test_hash_collisions_are_counted_exactly(spark, frame, monkeypatch):
    # every key "collides": each is then counted over its values, with the same results
    decl = SuiteDeclaration.from_mapping(SUITE, "t.yml")
    want = rowmetrics.compute(frame, decl, sample_size=3)
    monkeypatch.setattr(rowmetrics, "_key_hash", lambda df, columns: F.lit(7).cast("long"))
    got = rowmetrics.compute(frame, decl, sample_size=3)
    assert got.unexpected == want.unexpected and got.unexpected[1] == 0
