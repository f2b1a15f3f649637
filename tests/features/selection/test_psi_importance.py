import math

import numpy as np
import pytest

from features.selection import DropUnstableFeatures, SelectByImportance
from features.selection.psi import psi


def _hand_psi(expected_counts, actual_counts):
    e = np.maximum(np.array(expected_counts) / sum(expected_counts), 1e-4)
    a = np.maximum(np.array(actual_counts) / sum(actual_counts), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def test_psi_formula():
    assert psi({"b0": 0.5, "b1": 0.5}, {"b0": 0.5, "b1": 0.5}) == 0.0
    assert psi({"b0": 0.5, "b1": 0.5}, {"b0": 0.9, "b1": 0.1}) == pytest.approx(
        0.4 * math.log(1.8) - 0.4 * math.log(0.2))


def test_psi_numeric_categorical_missing_and_unseen(spark):
    ref = spark.createDataFrame([(float(i), "a" if i % 2 else "b") for i in range(100)],
                                "x double, c string")
    cur_rows = [(float(i), "a") for i in range(50, 100)] + [(None, "z")] * 10
    cur = spark.createDataFrame(cur_rows, "x double, c string").repartition(7)
    model = DropUnstableFeatures(bins=4, threshold=0.5).fit(ref)
    # percentile_approx returns data values: the smallest with rank >= p * n
    assert model.getOrDefault("edges")["x"] == [24.0, 49.0, 74.0]
    out = model.transform(cur)
    # x: reference 24/25/25/26, current 0/0/24/26 + 10 missing; c: a 50/50 b, now a 50 + unseen 10
    assert model.psi_["x"] == pytest.approx(_hand_psi([24, 25, 25, 26, 0], [0, 0, 24, 26, 10]))
    assert model.psi_["c"] == pytest.approx(_hand_psi([50, 50, 0], [50, 0, 10]))
    assert {d["column"] for d in model.dropped_} == {"x", "c"}
    assert out.columns == []
    same = model.psi(ref)
    assert same == {"x": pytest.approx(0.0), "c": pytest.approx(0.0)}


def test_psi_persists(spark, tmp_path):
    ref = spark.createDataFrame([(float(i),) for i in range(20)], "x double")
    model = DropUnstableFeatures(bins=3).fit(ref)
    model.save(str(tmp_path / "psi"))
    loaded = type(model).load(str(tmp_path / "psi"))
    assert loaded.psi(ref) == model.psi(ref)


def test_importance_keeps_informative_columns(retail_df):
    cols = ["orders_count_90d", "amount_sum_90d", "tenure_days", "flag"]
    model = SelectByImportance(inputCols=cols, labelCol="purchased_next_30d", k=1,
                               numTrees=5, maxDepth=2).fit(retail_df)
    assert model.selected_features_ == ["amount_sum_90d"]
    assert sum(model.importances_.values()) == pytest.approx(1.0)
    assert [d["column"] for d in model.dropped_] == sorted(
        (c for c in cols if c != "amount_sum_90d"), key=lambda c: -model.importances_[c])
    again = SelectByImportance(inputCols=cols, labelCol="purchased_next_30d", k=1,
                               numTrees=5, maxDepth=2).fit(retail_df)
    assert again.importances_ == model.importances_
