"""The shipped feature sets (taxi_tips, customer): Spark's transform and the runtime's agree to
the bit on rows with every edge case (null, NaN, +-inf, unseen and empty categories, values on
the fitted caps, timestamps far from the training range)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import yaml
from pyspark.sql import types as T

from tests.lakeprep.inference.differential import differences, fit_and_save

REPO = Path(__file__).resolve().parents[3]
INF, NAN = float("inf"), float("nan")


def pipeline_spec(name: str) -> dict:
    conf = yaml.safe_load((REPO / "conf/base/features.yaml").read_text())
    return conf["features"]["sets"][name]["pipeline"]


TAXI = T.StructType([
    T.StructField("pickup_datetime", T.TimestampType()),
    T.StructField("pickup_location_id", T.StringType()),
    T.StructField("dropoff_location_id", T.StringType()),
    T.StructField("trip_distance", T.DoubleType()),
    T.StructField("fare_amount", T.DoubleType()),
    T.StructField("passenger_count", T.LongType()),
])


def taxi_rows(n: int) -> list[tuple]:
    start = datetime(2019, 1, 1)
    return [(start + timedelta(minutes=97 * i), str(i % 7 + 1), str(i % 5 + 100),
             (i * 0.37) % 12.5, 2.5 + (i * 1.91) % 40, i % 4 + 1) for i in range(n)]


TAXI_EDGES = [
    (None, None, None, None, None, None),
    (datetime(1, 1, 2, 3, 4, 5), "", "", NAN, INF, 0),
    (datetime(9999, 12, 31, 23, 59, 59, 999999), "unseen", "999", -INF, -0.0, -3),
    (datetime(1969, 12, 31, 23, 59, 59, 999999), "1", "100", 0.0, 5e-324, 2 ** 40),
    (datetime(2020, 2, 29, 12), "7", None, 1.7976931348623157e308, -1e-300, None),
]


def test_taxi_tips_runtime_equals_spark(spark, tmp_path):
    train = spark.createDataFrame(taxi_rows(300), TAXI)
    model = fit_and_save(pipeline_spec("taxi_tips"), train, tmp_path / "taxi")
    rows = spark.createDataFrame(taxi_rows(40) + TAXI_EDGES, TAXI)
    sin_cos = {f"pickup_datetime_{p}_{f}": 1 for p in ("hour", "day_of_week")
               for f in ("sin", "cos")}
    assert differences(model, rows, ulps=sin_cos) == []
