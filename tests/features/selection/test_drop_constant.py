import numpy as np
import pandas as pd
import pytest
from feature_engine.selection import DropConstantFeatures as FeDropConstant

from features.errors import FeatureInputError, FeatureSpecError
from features.selection import DropConstantFeatures

COLS = ["country", "segment", "channel", "orders_count_90d", "flag"]


@pytest.mark.parametrize("tol", [1.0, 0.95, 0.9])
def test_matches_feature_engine(retail_df, retail_pdf, tol):
    ours = DropConstantFeatures(inputCols=COLS, tol=tol).fit(retail_df)
    theirs = FeDropConstant(variables=COLS, tol=tol).fit(retail_pdf[COLS])
    assert ours.features_to_drop_ == theirs.features_to_drop_


def test_report_names_reason_and_share(retail_df):
    model = DropConstantFeatures(inputCols=COLS, tol=0.95).fit(retail_df)
    report = {d["column"]: d for d in model.dropped_}
    assert report["channel"] == {"column": "channel", "reason": "constant", "value": 1.0}
    assert report["country"]["reason"] == "quasi_constant"
    assert report["country"]["value"] == pytest.approx(57 / 60)
    out = model.transform(retail_df)
    assert "channel" not in out.columns and "segment" in out.columns


def test_nulls_nan_all_null_and_empty_partitions(spark):
    pdf = pd.DataFrame({
        "half_null": [1.0, np.nan, 1.0, np.nan],
        "all_null": [np.nan] * 4,
        "mixed": [1.0, 2.0, 3.0, 4.0],
        "text": ["x", None, "x", "x"],
    })
    # more partitions than rows: some are empty
    df = spark.createDataFrame(pdf).repartition(8)
    include = DropConstantFeatures(missingValues="include").fit(df)
    # null is a value: half_null has two values, text has 'x' 75% of the time
    assert include.features_to_drop_ == ["all_null"]
    ignore = DropConstantFeatures(missingValues="ignore").fit(df)
    assert sorted(ignore.features_to_drop_) == ["all_null", "half_null", "text"]
    assert {d["column"]: d["reason"] for d in ignore.dropped_}["all_null"] == "all_null"
    fe = FeDropConstant(missing_values="ignore").fit(pdf[["half_null", "mixed", "text"]])
    assert sorted(fe.features_to_drop_) == ["half_null", "text"]


def test_empty_frame_and_bad_params(spark):
    df = spark.createDataFrame([], "a double, b string")
    with pytest.raises(FeatureInputError, match="empty DataFrame"):
        DropConstantFeatures().fit(df)
    one = spark.createDataFrame([(1.0,)], "a double")
    with pytest.raises(FeatureSpecError, match=r"tol must be in \(0.0, 1.0\], got 0.0"):
        DropConstantFeatures(tol=0.0).fit(one)
    with pytest.raises(FeatureInputError, match="not found"):
        DropConstantFeatures(inputCols=["nope"]).fit(one)
