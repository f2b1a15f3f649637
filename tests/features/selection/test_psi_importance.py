import math

import numpy as np
import pytest

from features.selection import DropUnstableFeatures, SelectByImportance
from lakeprep.stats.psi import psi


def _hand_psi(expected_counts, actual_counts):
    e = np.maximum(np.array(expected_counts) / sum(expected_counts), 1e-4)
    a = np.maximum(np.array(actual_counts) / sum(actual_counts), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def test_psi_formula():
    assert psi({"0": 0.5, "1": 0.5}, {"0": 0.5, "1": 0.5}) == 0.0
    assert psi({"0": 0.5, "1": 0.5}, {"0": 0.9, "1": 0.1}) == pytest.approx(
        0.4 * math.log(1.8) - 0.4 * math.log(0.2))


@pytest.fixture(scope="module")
def split_df(spark):
    """Rows 0-99 are the reference (t <= 99), rows 100-159 the later part."""
    ref = [(i, float(i), "a" if i % 2 else "b") for i in range(100)]
    later = [(100 + i, float(50 + i), "a") for i in range(50)]
    later += [(150 + i, None, "z") for i in range(10)]
    return spark.createDataFrame(ref + later, "t long, x double, c string").repartition(7)


def test_psi_decided_at_fit_numeric_categorical_missing_and_unseen(split_df):
    model = DropUnstableFeatures(splitCol="t", cutOff="99", bins=4, threshold=0.5) \
        .fit(split_df)
    # approxQuantile returns data values: the smallest with rank >= p * n
    assert model.bin_edges_ == {"x": [24.0, 49.0, 74.0]}
    # x: reference 24/25/25/26, later 0/0/24/26 + 10 missing; c: a 50/50 b, later a 50 + z 10
    assert model.psi_["x"] == pytest.approx(_hand_psi([24, 25, 25, 26, 0], [0, 0, 24, 26, 10]))
    assert model.psi_["c"] == pytest.approx(_hand_psi([50, 50, 0, 0], [50, 0, 10, 0]))
    assert {d["column"] for d in model.dropped_} == {"x", "c"}
    # the output schema is decided at fit: the same columns go, whatever the batch
    reference = split_df.where("t <= 99")
    assert model.transform(reference).columns == ["t"]
    assert model.transform(split_df).columns == ["t"]
    assert model.psi(reference) == {"x": pytest.approx(0.0), "c": pytest.approx(0.0)}


def test_psi_split_by_fraction_keeps_stable_columns(split_df):
    model = DropUnstableFeatures(splitCol="t", inputCols=["c"], splitFrac=0.3, bins=4,
                                 threshold=10.0).fit(split_df)
    assert model.dropped_ == [] and set(model.psi_) == {"c"}
    assert model.transform(split_df).columns == ["t", "x", "c"]


def test_psi_persists(spark, tmp_path, split_df):
    model = DropUnstableFeatures(splitCol="t", cutOff="99", bins=3).fit(split_df)
    model.save(str(tmp_path / "psi"))
    loaded = type(model).load(str(tmp_path / "psi"))
    assert loaded.psi(split_df) == model.psi(split_df)
    assert loaded.features_to_drop_ == model.features_to_drop_


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
