"""The shipped feature sets (taxi_tips, customer): Spark's transform and the runtime's agree to
the bit on rows with every edge case (null, NaN, +-inf, unseen and empty categories, values on
the fitted caps, timestamps far from the training range)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pyspark.sql import types as T

from features.persistence import load_for_inference
from tests.lakeprep.inference.differential import differences, fit_and_save

REPO = Path(__file__).resolve().parents[3]
INF, NAN = float("inf"), float("nan")


def pipeline_spec(name: str) -> dict:
    conf = yaml.safe_load((REPO / "conf/base/features.yaml").read_text())
    return conf["features"]["sets"][name]["pipeline"]


TAXI = T.StructType([T.StructField(name, kind) for name, kind in (
    ("pickup_datetime", T.TimestampType()), ("pickup_location_id", T.StringType()),
    ("dropoff_location_id", T.StringType()), ("trip_distance", T.DoubleType()),
    ("fare_amount", T.DoubleType()), ("passenger_count", T.LongType()))])


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


INT, LONG, DOUBLE = T.IntegerType(), T.LongType(), T.DoubleType()
CUSTOMER = T.StructType([T.StructField(name, kind) for name, kind in (
    ("customer_id", T.StringType()), ("country", T.StringType()), ("segment", T.StringType()),
    ("tenure_days", INT), ("age", INT), ("orders_count_30d", LONG), ("orders_count_90d", LONG),
    ("amount_sum_30d", DOUBLE), ("amount_mean_30d", DOUBLE), ("amount_max_30d", DOUBLE),
    ("amount_sum_90d", DOUBLE), ("amount_mean_90d", DOUBLE), ("amount_max_90d", DOUBLE),
    ("category_count_distinct_90d", LONG), ("days_since_last_order", INT),
    ("events_count_30d", LONG), ("days_since_last_event", INT), ("purchased_next_30d", INT))])
COUNTRIES = ["DE", "FR", "FR", "US", "US", "US", "ES", "IT", "NL", "PL"]


def customer_rows(n: int) -> list[tuple]:
    out = []
    for i in range(n):
        buys = i % 3 != 0
        mean30 = 10 + (i * 7.31) % 90 if buys else None
        out.append((f"c{i}", COUNTRIES[i % 10] if i % 17 else None,
                    ["a", "b", "c", None][i % 4], 30 + i * 3, 18 + i % 60 if i % 11 else None,
                    i % 5 if buys else 0, i % 9 if buys else 0, (i * 13.7) % 400 if buys else 0.0,
                    mean30, mean30 and mean30 * 1.5, (i * 31.3) % 2000 if buys else 0.0,
                    mean30, mean30 and mean30 * 2.5 + (i % 7) * 100, i % 4,
                    i % 40 if buys else None, i % 12, i % 20 if i % 5 else None, int(i % 4 == 1)))
    return out


def edge_customers(caps: list[float]) -> list[tuple]:
    """Rows with null, NaN, +-inf, unseen and empty categories, and values on the fitted caps."""
    base = customer_rows(1)[0]
    rows = [tuple([f"e{k}", *[None] * 16, 0]) for k in range(1)]
    # amount_sum_90d (slot a) is capped then log1p'd: -inf would be capped below -1 and fail
    specials = [(NAN, INF, -INF), (INF, -0.0, NAN), (0.0, NAN, INF), (5e-324, -5e-324, 1e308)]
    for k, (a, b, c) in enumerate(specials):
        row = list(base)
        row[0], row[1], row[2] = f"s{k}", ["", "unseen", "Missing", "DE"][k], ["", "zz", None,
                                                                                "a"][k]
        row[7:13] = [a, b, c, a, b, c]
        rows.append(tuple(row))
    for k, cap in enumerate(caps):
        row = list(base)
        row[0] = f"cap{k}"
        row[10] = cap if cap > -1 else row[10]  # amount_sum_90d (log1p'd next) on a cap
        row[12] = cap  # amount_max_90d exactly on a cap
        rows.append(tuple(row))
    return rows


def fitted_caps(model_dir: str) -> list[float]:
    from lakeprep.inference.model_folder import read_stages

    caps = []
    for stage in read_stages(model_dir):
        if stage.short_class == "WinsorizerModel":
            caps += [float(r[f]) for r in stage.rows("leftTailCaps") or []
                     for f in ("leftTailCap", "rightTailCap") if r[f] is not None]
    return caps


def test_customer_runtime_equals_spark(spark, tmp_path):
    train = spark.createDataFrame(customer_rows(300), CUSTOMER)
    model = fit_and_save(pipeline_spec("customer"), train, tmp_path / "customer")
    caps = fitted_caps(model)
    assert caps, "the customer pipeline caps spend: its fitted caps are part of the edge rows"
    rows = spark.createDataFrame(customer_rows(60)[20:] + edge_customers(caps), CUSTOMER)
    assert differences(model, rows) == []


def test_customer_invalid_log_fails_in_both(spark, tmp_path):
    """-inf spend is capped below -1, where log1p has no value: Spark's job fails, and the
    runtime refuses the record naming it and the column."""
    from lakeprep.errors import RecordError
    from lakeprep.inference import load

    train = spark.createDataFrame(customer_rows(300), CUSTOMER)
    model = fit_and_save(pipeline_spec("customer"), train, tmp_path / "customer")
    bad = list(customer_rows(3)[2])
    bad[10] = -INF
    rows = spark.createDataFrame([*customer_rows(2), tuple(bad)], CUSTOMER)
    with pytest.raises(Exception, match="amount_sum_90d_cap"):
        load_for_inference(model).transform(rows).collect()
    with pytest.raises(RecordError, match="record 2: column 'amount_sum_90d_cap'") as err:
        load(model).transform([r.asDict() for r in rows.collect()])
    assert (err.value.record, err.value.column) == (2, "amount_sum_90d_cap")
