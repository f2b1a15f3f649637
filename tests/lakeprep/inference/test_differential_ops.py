"""Every op the runtime supports, chained in one spec, against Spark on rows with every edge case
(null, NaN, +-inf, -0.0, unseen and empty categories, values exactly on bucket edges, timestamps
from year 1 to 9999): the runtime's columns equal Spark's to the bit (sin/cos within 1 ulp)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pyspark.sql import types as T

from lakeprep.inference.model_folder import read_stages
from tests.lakeprep.inference.differential import differences, fit_and_save

INF, NAN = float("inf"), float("nan")
PARTS = ["month", "quarter", "semester", "year", "week", "day_of_week", "day_of_month",
         "day_of_year", "weekend", "month_start", "month_end", "quarter_start", "quarter_end",
         "year_start", "year_end", "leap_year", "days_in_month", "hour", "minute", "second"]
SCHEMA = T.StructType([
    T.StructField("key", T.StringType()), T.StructField("ts", T.TimestampType()),
    T.StructField("cat", T.StringType()), T.StructField("cat2", T.StringType()),
    T.StructField("n", T.IntegerType()), T.StructField("x", T.DoubleType()),
    T.StructField("y", T.DoubleType()), T.StructField("flag", T.BooleanType()),
    T.StructField("label", T.IntegerType()),
])
SPEC = {"steps": [
    {"name": "na", "op": "add_missing_indicator", "params": {"inputCols": ["x", "n"]}},
    {"name": "parts", "op": "datetime_features", "params": {"inputCols": ["ts"],
                                                            "features": PARTS}},
    {"name": "cycles", "op": "cyclical_features",
     "params": {"inputCols": ["ts_hour", "ts_month"], "maxValues": {"ts_hour": 24}}},
    {"name": "mean", "op": "impute", "params": {"inputCols": ["n", "y"],
                                                "outputCols": ["n_imp", "y_imp"]}},
    {"name": "arbitrary", "op": "impute_arbitrary",
     "params": {"inputCols": ["x", "n"], "outputCols": ["x_arb", "n_arb"], "value": 2.5}},
    {"name": "frequent", "op": "impute_categorical",
     "params": {"inputCols": ["cat"], "outputCols": ["cat_f"], "strategy": "frequent"}},
    {"name": "cap", "op": "winsorize", "params": {"inputCols": ["x"], "outputCols": ["x_cap"],
                                                  "cappingMethod": "iqr", "tail": "both",
                                                  "fold": 1.5}},
    {"name": "log10", "op": "log", "params": {"inputCols": ["y"], "outputCols": ["y_log"],
                                              "base": "10", "offset": 0.5,
                                              "handleOutOfDomain": "null"}},
    {"name": "log1p", "op": "log1p", "params": {"inputCols": ["x_cap"],
                                                "outputCols": ["x_l1p"],
                                                "handleOutOfDomain": "null"}},
    {"name": "buckets", "op": "bucketize",
     "params": {"inputCol": "y", "outputCol": "y_bkt", "splits": [-INF, 0.0, 1.0, 10.0, INF],
                "handleInvalid": "keep"}},
    {"name": "quartiles", "op": "equal_frequency_discretise",
     "params": {"inputCol": "x_arb", "outputCol": "x_q", "numBuckets": 4,
                "handleInvalid": "keep"}},
    {"name": "rare", "op": "group_rare_labels",
     "params": {"inputCols": ["cat_f"], "outputCols": ["cat_r"], "tol": 0.1,
                "handleUnseen": "keep"}},
    {"name": "target", "op": "target_encode",
     "params": {"inputCols": ["cat_r", "cat2"], "outputCols": ["cat_te", "cat2_te"],
                "labelCol": "label", "smoothing": 5.0, "rowKeyCol": "key",
                "handleUnseen": "keep"}},
    {"name": "index", "op": "string_index",
     "params": {"inputCols": ["cat_r", "cat2"], "outputCols": ["cat_idx", "cat2_idx"],
                "handleInvalid": "keep"}},
    {"name": "onehot", "op": "one_hot_vector_encode",
     "params": {"inputCols": ["cat_idx", "cat2_idx"], "outputCols": ["cat_ohe", "cat2_ohe"],
                "handleInvalid": "keep", "dropLast": False}},
    {"name": "assemble", "op": "vector_assembler",
     "params": {"outputCol": "features", "handleInvalid": "keep",
                "inputCols": ["x_na", "n_na", "ts_hour_sin", "ts_month_cos", "n_imp", "y_imp",
                              "x_arb", "n_arb", "x_cap", "y_log", "x_l1p", "y_bkt", "x_q",
                              "cat_te", "cat2_te", "cat_ohe", "cat2_ohe", "flag", "ts_year"]}},
]}


def rows(n: int) -> list[tuple]:
    start = datetime(2023, 12, 25, 7, 30)
    return [(f"k{i}", start + timedelta(hours=37 * i, seconds=i), "abcdefg"[i % 7] * (i % 3 + 1),
             ["p", "q", "r"][i % 3], i % 13 - 4, (i * 2.71) % 50 - 5, (i * 0.77) % 12 - 1,
             i % 2 == 0, int(i % 5 == 0)) for i in range(n)]


EDGES = [
    ("e0", None, None, None, None, None, None, None, 0),
    ("e1", datetime(1, 1, 2), "", "", 0, NAN, NAN, True, 1),
    ("e2", datetime(9999, 12, 31, 23, 59, 59), "zzz", "unseen", -2 ** 31, INF, 0.0, False, 0),
    ("e3", datetime(1969, 12, 31, 23, 59, 59, 999999), "a", "p", 2 ** 31 - 1, -INF, 1.0, True, 1),
    ("e4", datetime(2024, 2, 29), "gg", "q", 7, -0.0, 10.0, None, 0),
    ("e5", datetime(2020, 12, 31, 12), "ccc", "r", -1, 5e-324, -INF, False, 1),
    ("e6", datetime(2021, 1, 3, 23), "b", "p", 3, 1e308, INF, True, 0),
    ("e7", datetime(1582, 10, 10), "dd", None, None, -1.0, -0.5, False, 1),
]


def test_every_supported_op_equals_spark(spark, tmp_path):
    train = spark.createDataFrame(rows(240), SCHEMA)
    model = fit_and_save(SPEC, train, tmp_path / "ops")
    test = spark.createDataFrame(rows(300)[240:] + EDGES, SCHEMA)
    assert differences(model, test, ulps={"ts_hour_sin": 1, "ts_hour_cos": 1,
                                          "ts_month_sin": 1, "ts_month_cos": 1}) == []


SCALERS = {"steps": [
    {"name": "mean", "op": "impute", "params": {"inputCols": ["n"], "outputCols": ["n_imp"]}},
    {"name": "index", "op": "string_index", "params": {"inputCols": ["cat2"],
                                                       "outputCols": ["c2"],
                                                       "handleInvalid": "keep"}},
    {"name": "onehot", "op": "one_hot_vector_encode", "params": {"inputCols": ["c2"],
                                                                 "outputCols": ["c2_ohe"]}},
    {"name": "assemble", "op": "vector_assembler",
     "params": {"inputCols": ["n_imp", "c2", "flag", "c2_ohe"], "outputCol": "v",
                "handleInvalid": "skip"}},
    {"name": "std", "op": "standard_scale", "params": {"inputCol": "v", "outputCol": "v_std"}},
    {"name": "std_mean", "op": "standard_scale", "params": {"inputCol": "v",
                                                            "outputCol": "v_std_mean",
                                                            "withMean": True}},
    {"name": "min_max", "op": "min_max_scale", "params": {"inputCol": "v", "outputCol": "v_mm",
                                                          "min": -1.0, "max": 3.0}},
    {"name": "max_abs", "op": "max_abs_scale", "params": {"inputCol": "v", "outputCol": "v_ma"}},
    {"name": "robust", "op": "robust_scale", "params": {"inputCol": "v", "outputCol": "v_rb",
                                                        "withCentering": True}},
]}


def test_vector_scalers_equal_spark(spark, tmp_path):
    """The MLlib scalers on vectors with sparse and dense rows, a constant slot and rows the
    assembler skips (null flag): the same rows, the same sparsity, the same bits."""
    train = spark.createDataFrame(rows(240), SCHEMA)
    model = fit_and_save(SCALERS, train, tmp_path / "scalers")
    test = spark.createDataFrame(rows(300)[240:] + EDGES, SCHEMA)
    assert differences(model, test) == []


SELECTORS = {"steps": [
    {"name": "na", "op": "add_missing_indicator", "params": {"inputCols": ["key", "x", "y"]}},
    {"name": "arb", "op": "impute_arbitrary", "params": {"inputCols": ["y"],
                                                         "outputCols": ["y2"], "value": 0.0}},
    {"name": "constant", "op": "drop_constant", "params": {"inputCols": ["key_na", "n"]}},
    {"name": "duplicates", "op": "drop_duplicates", "params": {"inputCols": ["x_na", "y_na"]}},
    {"name": "correlated", "op": "drop_correlated", "params": {"inputCols": ["y", "y2"]}},
    {"name": "variance", "op": "drop_low_variance", "params": {"inputCols": ["n", "x_na"],
                                                               "threshold": 0.5}},
    {"name": "univariate", "op": "select_univariate", "params": {"inputCols": ["x", "n"],
                                                                 "k": 1, "labelCol": "label"}},
]}


def test_selectors_drop_the_columns_spark_drops(spark, tmp_path):
    train = spark.createDataFrame(rows(240), SCHEMA)
    model = fit_and_save(SELECTORS, train, tmp_path / "selectors")
    dropped = {r["column"] for s in read_stages(model) if s.cls.startswith("features.selection")
               for r in s.rows("dropped") or [] if r["dropRank"] is not None}
    assert {"key_na", "y_na", "y2", "x_na"} <= dropped  # each selector dropped something
    test = spark.createDataFrame(rows(300)[240:] + EDGES, SCHEMA)
    assert differences(model, test) == []
