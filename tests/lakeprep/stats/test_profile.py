"""Column profiles: Spark aggregations checked against plain Python on the same rows."""

from __future__ import annotations

import math

import pytest

from lakeprep.stats.profile import correlations, missing_shares, numeric_histograms, top_values

ROWS = [(1, 2.0, "a"), (2, 4.0, "b"), (3, 6.5, "a"), (4, None, "a"), (10, 20.0, None)]


@pytest.fixture(scope="module")
def df(spark):
    return spark.createDataFrame(ROWS, "n int, x double, c string")


def test_histograms_are_spark_aggregates_equal_to_counting_by_hand(df):
    hist = numeric_histograms(df, ["n", "x"], bins=3)
    edges, counts = hist["n"]
    assert edges == pytest.approx([1, 4, 7, 10])
    assert counts == [3, 1, 1]  # 1,2,3 | 4 | 10 (the maximum goes in the last bin)
    edges, counts = hist["x"]
    assert edges[0] == 2.0 and edges[-1] == 20.0
    assert sum(counts) == 4  # the null is not binned


def test_top_values_missing_shares_and_correlations(df):
    assert top_values(df, ["c"], 2, missing="(null)") == {"c": [("a", 3), ("(null)", 1)]}
    assert top_values(df, ["c"], 2) == {"c": [("a", 3), ("b", 1)]}
    missing = missing_shares(df, ["n", "x", "c"])
    assert missing == {"n": 0.0, "x": 0.2, "c": 0.2}
    matrix = correlations(df, ["n", "x"])
    pairs = [(n, x) for n, x, _ in ROWS if x is not None]
    mn, mx = (sum(p[i] for p in pairs) / len(pairs) for i in (0, 1))
    cov = sum((n - mn) * (x - mx) for n, x in pairs)
    expected = cov / math.sqrt(sum((n - mn) ** 2 for n, _ in pairs)
                               * sum((x - mx) ** 2 for _, x in pairs))
    assert matrix[0][0] == 1.0 and matrix[0][1] == pytest.approx(expected)
    assert matrix[1][0] == matrix[0][1]


def test_correlations_are_pairwise_complete_and_stable_far_from_zero(spark):
    import numpy as np

    rng = np.random.default_rng(7)
    a = rng.normal(size=400)
    b = 0.6 * a + rng.normal(size=400)
    rows = [(float(1e9 + x) if i % 7 else None, float(y) if i % 5 else float("nan"), 3.0)
            for i, (x, y) in enumerate(zip(a, b, strict=True))]
    df = spark.createDataFrame(rows, "a double, b double, k double").repartition(3)
    got = correlations(df, ["a", "b", "k"], center={"a": 1e9})
    both = [(x, y) for x, y, _ in rows if x is not None and y == y]
    expected = np.corrcoef(np.array(both).T)[0, 1]
    assert got[0][1] == pytest.approx(expected, rel=1e-9) and got[1][0] == got[0][1]
    assert got[0][2] is None and got[1][2] is None  # a constant column has no correlation
    assert [got[i][i] for i in range(3)] == [1.0, 1.0, 1.0]


