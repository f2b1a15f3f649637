"""Row-wise creation stages compared with feature-engine / pandas on the same data."""

import math

import numpy as np
import pandas as pd
import pytest
from feature_engine.creation import CyclicalFeatures as FeCyclical
from feature_engine.creation import MathFeatures as FeMath
from feature_engine.creation import RelativeFeatures as FeRelative
from feature_engine.datetime import DatetimeFeatures as FeDatetime
from pyspark.ml import Pipeline, PipelineModel

from features.creation import (
    CategoricalCross,
    CyclicalFeatures,
    DatetimeFeatures,
    LagFeatures,
    MathFeatures,
    RelativeFeatures,
)
from features.creation.datetime_features import SUPPORTED
from features.errors import FeatureInputError, FeatureSpecError

TIMES = pd.to_datetime([
    "2024-01-01 00:00:00", "2024-02-29 23:59:58", "2024-03-31 12:30:15", "2023-12-31 06:07:08",
    "2024-06-30 18:00:00", "2024-07-01 01:02:03", "2021-01-03 09:09:09", "2024-09-30 10:00:00",
])


@pytest.fixture(scope="module")
def pdf():
    return pd.DataFrame({
        "id": range(8), "ts": TIMES,
        "x": [1.0, 2.0, 0.5, 4.0, 3.0, 0.0, 6.0, 2.5],
        "y": [2.0, 0.0, 1.5, 1.0, 3.0, 2.0, 0.5, 4.0],
        "z": [1.0, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0],
        "hour": [0, 23, 12, 6, 18, 1, 9, 10],
    })


@pytest.fixture(scope="module")
def df(spark, pdf):
    return spark.createDataFrame(pdf).cache()


def test_datetime_features_match_feature_engine(df, pdf):
    out = DatetimeFeatures(inputCols=["ts"], features=SUPPORTED).transform(df)
    got = out.orderBy("id").toPandas()
    expected = FeDatetime(variables=["ts"], features_to_extract=SUPPORTED).fit_transform(pdf)
    for f in SUPPORTED:
        assert got[f"ts_{f}"].tolist() == expected[f"ts_{f}"].astype(int).tolist(), f


def test_datetime_features_null_and_unknown(spark):
    df = spark.createDataFrame([(None,), ("2024-05-04",)], "d string")
    rows = DatetimeFeatures(inputCols=["d"], features=["year", "weekend"]).transform(df) \
        .collect()
    assert (rows[0]["d_year"], rows[0]["d_weekend"]) == (None, None)
    assert (rows[1]["d_year"], rows[1]["d_weekend"]) == (2024, 1)  # a Saturday
    with pytest.raises(FeatureSpecError, match=r"features must be one of .*got 'fortnight'"):
        DatetimeFeatures(inputCols=["d"], features=["fortnight"]).transform(df)


def test_cyclical_and_math_and_relative_match_feature_engine(df, pdf):
    stages = [
        CyclicalFeatures(inputCols=["hour", "z"], maxValues={"hour": 24}),
        MathFeatures(inputCols=["x", "y", "z"], funcs=["sum", "prod", "mean", "min", "max",
                                                       "std"]),
        RelativeFeatures(inputCols=["x", "z"], referenceCols=["y"],
                         funcs=["add", "sub", "mul", "div"]),
    ]
    got = Pipeline(stages=stages).fit(df).transform(df).orderBy("id").toPandas()
    cyc = FeCyclical(variables=["hour", "z"], max_values={"hour": 24, "z": 21.0}) \
        .fit_transform(pdf)
    math_ = FeMath(variables=["x", "y", "z"],
                   func=["sum", "prod", "mean", "min", "max", "std"]).fit_transform(pdf)
    rel = FeRelative(variables=["x", "z"], reference=["y"],
                     func=["add", "sub", "mul", "div"], fill_value=-999.0).fit_transform(pdf)
    for name in [c for c in cyc.columns if c.endswith(("_sin", "_cos"))]:
        np.testing.assert_allclose(got[name], cyc[name], atol=1e-12)
    for name in [c for c in math_.columns if c not in pdf.columns]:
        np.testing.assert_allclose(got[name], math_[name], rtol=1e-12)
    for name in [c for c in rel.columns if c not in pdf.columns]:
        expected = rel[name].replace(-999.0, np.nan)  # feature-engine's fill for x / 0
        np.testing.assert_allclose(got[name].astype(float), expected, rtol=1e-12)
    assert got.loc[1, "x_div_y"] is None or math.isnan(got.loc[1, "x_div_y"])  # safe division


def test_math_features_skip_nulls(spark):
    df = spark.createDataFrame([(1.0, None), (None, None), (2.0, 4.0)], "a double, b double")
    rows = MathFeatures(inputCols=["a", "b"], funcs=["sum", "mean", "std"],
                        outputCols=["s", "m", "sd"]).transform(df).collect()
    assert [(r.s, r.m, r.sd) for r in rows] == [
        (1.0, 1.0, None), (None, None, None), (6.0, 3.0, pytest.approx(math.sqrt(2)))]


def test_categorical_cross_and_lags(spark):
    df = spark.createDataFrame(
        [("c1", 1, "DE", "gold", 10.0), ("c1", 2, "DE", None, 20.0), ("c1", 3, "FR", "x", 30.0),
         ("c2", 1, "US", "gold", 5.0), ("c2", 2, "US", "gold", 6.0)],
        "cid string, t int, country string, segment string, amount double").repartition(2)
    out = LagFeatures(inputCols=["amount"], entityCol="cid", orderCol="t", lags=[1, 2]) \
        .transform(CategoricalCross(inputCols=["country", "segment"]).transform(df))
    got = out.orderBy("cid", "t").toPandas()
    assert got["country_x_segment"].tolist() == ["DE_x_gold", None, "FR_x_x", "US_x_gold",
                                                 "US_x_gold"]
    pdf = df.toPandas().sort_values(["cid", "t"])
    for k in (1, 2):
        expected = pdf.groupby("cid")["amount"].shift(k).tolist()
        assert [None if pd.isna(v) else v for v in got[f"amount_lag_{k}"]] == \
            [None if pd.isna(v) else v for v in expected]
    with pytest.raises(FeatureInputError, match="already exist"):
        CategoricalCross(inputCols=["country", "segment"], outputCol="amount").transform(df)


def test_creation_pipeline_save_load_reproduces_output(df, tmp_path):
    pipeline = Pipeline(stages=[
        DatetimeFeatures(inputCols=["ts"], features=["year", "day_of_week", "hour"]),
        CyclicalFeatures(inputCols=["ts_hour"]),
        MathFeatures(inputCols=["x", "y"], funcs=["sum"]),
        RelativeFeatures(inputCols=["x"], referenceCols=["y"]),
        LagFeatures(inputCols=["x"], orderCol="ts", lags=[1]),
    ])
    model = pipeline.fit(df)
    model.write().overwrite().save(str(tmp_path / "m"))
    loaded = PipelineModel.load(str(tmp_path / "m"))
    assert loaded.stages[1].max_values_ == model.stages[1].max_values_ == {"ts_hour": 23.0}
    a = model.transform(df).orderBy("id").toPandas()
    b = loaded.transform(df).orderBy("id").toPandas()
    pd.testing.assert_frame_equal(a, b)
