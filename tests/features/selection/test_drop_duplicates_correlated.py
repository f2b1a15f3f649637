import numpy as np
import pandas as pd
import pytest
from feature_engine.selection import DropCorrelatedFeatures as FeDropCorrelated
from feature_engine.selection import DropDuplicateFeatures as FeDropDuplicates

from features.selection import DropCorrelatedFeatures, DropDuplicateFeatures

NUMERIC = ["orders_count_90d", "orders_copy", "amount_sum_90d", "amount_mean_90d", "tenure_days",
           "flag"]


def test_duplicates_match_feature_engine(retail_df, retail_pdf):
    cols = [c for c in retail_pdf.columns if c != "purchased_next_30d"]
    ours = DropDuplicateFeatures(inputCols=cols).fit(retail_df)
    theirs = FeDropDuplicates(variables=cols).fit(retail_pdf[cols])
    assert ours.features_to_drop_ == sorted(theirs.features_to_drop_) == ["orders_copy"]
    assert ours.dropped_ == [{"column": "orders_copy", "reason": "duplicate",
                              "value": "orders_count_90d"}]


def test_duplicates_nulls_types_and_order(spark):
    df = spark.createDataFrame(
        [(1, 1.0, "1", None, None), (2, 2.0, "2", 3.0, 3.0), (None, float("nan"), None, 4.0, 4.0)],
        "i int, d double, s string, a double, b double").repartition(5)
    model = DropDuplicateFeatures().fit(df)
    # i and d are equal as numbers (null == NaN); s is text, so not a duplicate of i
    assert model.dropped_ == [{"column": "d", "reason": "duplicate", "value": "i"},
                              {"column": "b", "reason": "duplicate", "value": "a"}]
    assert model.transform(df).columns == ["i", "s", "a"]


def test_same_values_in_other_rows_are_not_duplicates(spark):
    df = spark.createDataFrame([(1.0, 2.0), (2.0, 1.0)], "a double, b double")
    assert DropDuplicateFeatures().fit(df).dropped_ == []


@pytest.mark.parametrize("threshold", [0.5, 0.8, 0.95])
def test_correlated_matches_feature_engine(retail_df, retail_pdf, threshold):
    cols = sorted(NUMERIC)  # feature-engine sorts by name before walking the columns
    ours = DropCorrelatedFeatures(inputCols=cols, threshold=threshold).fit(retail_df)
    theirs = FeDropCorrelated(variables=cols, threshold=threshold).fit(retail_pdf[cols])
    assert ours.features_to_drop_ == theirs.features_to_drop_
    expected_r = retail_pdf[cols].corr()
    for d in ours.dropped_:
        assert d["value"] == pytest.approx(expected_r.loc[d["with"], d["column"]], abs=1e-9)


def test_correlated_keeps_first_in_input_order(retail_df):
    first = DropCorrelatedFeatures(inputCols=["amount_mean_90d", "amount_sum_90d"],
                                   threshold=0.8).fit(retail_df)
    assert first.dropped_[0]["column"] == "amount_sum_90d"
    assert first.dropped_[0]["with"] == "amount_mean_90d"


def test_correlated_pairwise_nulls_and_constant(spark):
    pdf = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, np.nan], "b": [2.0, 4.1, 6.0, 8.2, 1.0],
                        "c": [5.0] * 5, "d": [np.nan] * 5})
    model = DropCorrelatedFeatures(threshold=0.9).fit(spark.createDataFrame(pdf))
    # a~b over the 4 rows both have (as pandas), constant and all-null columns are never dropped
    assert model.features_to_drop_ == ["b"]
    assert model.dropped_[0]["value"] == pytest.approx(pdf.corr().loc["a", "b"], abs=1e-12)
