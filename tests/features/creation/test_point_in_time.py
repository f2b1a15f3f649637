"""Point-in-time features: nothing at or after the cutoff may reach any feature."""

from datetime import datetime

import pandas as pd
import pytest
from pyspark.sql import functions as F

from features.creation import PointInTimeAggregates, point_in_time_aggregates, window_label
from features.errors import FeatureSpecError

CUTOFF = "2024-03-01"
HUGE = 1e9
SCHEMA = "customer_id string, order_ts timestamp, amount double, category string"


def ts(s):
    return datetime.fromisoformat(s)


# Real events before the cutoff, then poison: huge amounts and a LEAK category exactly at the
# cutoff and after it. A feature that read any of them would show 1e9, 'LEAK' or a recency <= 0.
PAST = [
    ("a", ts("2024-02-29 23:59:59"), 10.0, "books"),
    ("a", ts("2024-02-10 12:00:00"), 20.0, "toys"),
    ("a", ts("2023-12-15 08:00:00"), 5.0, "books"),   # only in the 90-day window
    ("a", ts("2023-10-01 08:00:00"), 7.0, "garden"),  # outside both windows, for recency no
    ("b", ts("2024-01-20 00:00:00"), 30.0, "books"),
    ("b", ts("2024-01-21 00:00:00"), None, "toys"),   # null amount: skipped by sum/mean/max
    ("d", ts("2023-06-01 00:00:00"), 3.0, "toys"),    # nothing in any window
]
POISON = [
    ("a", ts("2024-03-01 00:00:00"), HUGE, "LEAK"),
    ("a", ts("2024-03-05 00:00:00"), HUGE, "LEAK"),
    ("b", ts("2024-03-01 00:00:00"), HUGE, "LEAK"),
    ("c", ts("2024-03-02 00:00:00"), HUGE, "LEAK"),   # c has events only after the cutoff
    ("c", ts("2024-04-15 00:00:00"), HUGE, "LEAK"),   # after the 30-day label horizon
]


@pytest.fixture(scope="module")
def events(spark):
    return spark.createDataFrame(PAST + POISON, SCHEMA).repartition(3).cache()


@pytest.fixture(scope="module")
def features(events):
    stage = PointInTimeAggregates(
        entityCol="customer_id", timestampCol="order_ts", cutoff=CUTOFF, windows=[30, 90],
        aggregations={"amount": ["sum", "mean", "max", "min", "count"],
                      "category": ["count_distinct"]},
        countPrefix="orders_", recencyCol="days_since_last_order")
    return stage.transform(events).toPandas().set_index("customer_id").sort_index()


def test_no_feature_reads_an_event_at_or_after_the_cutoff(features):
    values = features.to_numpy().ravel().tolist()
    assert all(v is None or pd.isna(v) or v < HUGE for v in values)
    assert "c" not in features.index  # only future events: no row at all
    assert (features["days_since_last_order"] >= 1).all()
    # 'LEAK' would make a third distinct category for a and a second one for b in 30 days.
    assert features.loc["a", "category_count_distinct_90d"] == 2
    assert features.loc["b", "category_count_distinct_30d"] == 0


def test_windowed_values_match_a_pandas_reference(features):
    pdf = pd.DataFrame(PAST, columns=["customer_id", "order_ts", "amount", "category"])
    cutoff = pd.Timestamp(CUTOFF)
    for n in (30, 90):
        win = pdf[pdf.order_ts >= cutoff - pd.Timedelta(days=n)]
        g = win.groupby("customer_id")
        for cid in ("a", "b", "d"):
            row = features.loc[cid]
            in_win = win[win.customer_id == cid]
            assert row[f"orders_count_{n}d"] == len(in_win)
            assert row[f"amount_sum_{n}d"] == pytest.approx(in_win.amount.sum())
            assert row[f"amount_count_{n}d"] == in_win.amount.count()
            if in_win.amount.count():
                assert row[f"amount_mean_{n}d"] == pytest.approx(g.amount.mean()[cid])
                assert row[f"amount_max_{n}d"] == g.amount.max()[cid]
                assert row[f"amount_min_{n}d"] == g.amount.min()[cid]
            else:
                assert pd.isna(row[f"amount_mean_{n}d"]) and pd.isna(row[f"amount_max_{n}d"])
    last = pdf.groupby("customer_id").order_ts.max()
    expected = (cutoff.normalize() - last.dt.normalize()).dt.days
    assert features["days_since_last_order"].to_dict() == expected.to_dict()
    assert features.loc["a", "days_since_last_order"] == 1  # 23:59:59 the day before


def test_entities_without_events_get_zero_counts(spark, events):
    entities = spark.createDataFrame([("a",), ("c",), ("z",)], "customer_id string")
    out = point_in_time_aggregates(events, "customer_id", "order_ts", CUTOFF, [30],
                                   {"amount": ["sum", "max"]}, entities=entities)
    rows = {r["customer_id"]: r for r in out.collect()}
    assert sorted(rows) == ["a", "c", "z"]
    assert rows["z"]["count_30d"] == 0 and rows["z"]["amount_sum_30d"] == 0.0
    assert rows["c"]["amount_max_30d"] is None and rows["c"]["days_since_last"] is None
    assert rows["a"]["amount_sum_30d"] == 30.0


def test_label_covers_only_cutoff_to_horizon(spark, events):
    entities = spark.createDataFrame([("a",), ("b",), ("c",), ("d",)], "customer_id string")
    labels = window_label(events, entities, "customer_id", "order_ts", CUTOFF, 30,
                          "purchased_next_30d")
    got = {r["customer_id"]: r["purchased_next_30d"] for r in labels.collect()}
    # a and b buy exactly at the cutoff (inside), c on day 2; d never buys after the cutoff.
    assert got == {"a": 1, "b": 1, "c": 1, "d": 0}
    short = window_label(events, entities, "customer_id", "order_ts", "2024-03-03", 1)
    assert {r["customer_id"]: r["label"] for r in short.collect()} == {
        "a": 0, "b": 0, "c": 0, "d": 0}


def test_bad_cutoff_and_function_are_config_errors(events):
    with pytest.raises(FeatureSpecError, match="cutoff must be an ISO date"):
        point_in_time_aggregates(events, "customer_id", "order_ts", "03/01/2024", [30])
    with pytest.raises(FeatureSpecError, match=r"aggregations\['amount'\] must be one of"):
        point_in_time_aggregates(events, "customer_id", "order_ts", CUTOFF, [30],
                                 {"amount": ["median"]})


def test_floating_sums_are_the_same_bits_whatever_the_partitioning(spark):
    """Amounts whose sum rounds differently by addition order (the twin found 451.27 on one
    layout, 451.2699999999999 on another): every partitioning and row order gives the same
    bits, the sum of the values in ascending order."""
    amounts = [60.07, 123.23, 0.1, 45.6, 88.88, 33.49, 100.0, 0.01, 1e-3, 7.7] * 3
    rows = [("a", ts("2024-02-01 00:00:00"), a) for a in amounts]
    # the sums in Python's order of addition are not all equal: the order matters
    assert len({sum(amounts[i:] + amounts[:i]) for i in range(len(amounts))}) > 1
    df = spark.createDataFrame(rows, "customer_id string, order_ts timestamp, amount double")
    got = set()
    for parts, seed in [(1, 0), (3, 1), (7, 2), (30, 3)]:
        shuffled = df.repartition(parts).orderBy(F.rand(seed))
        row = point_in_time_aggregates(shuffled.repartition(parts), "customer_id", "order_ts",
                                       CUTOFF, [90], {"amount": ["sum", "mean"]}).first()
        got.add((row.amount_sum_90d, row.amount_mean_90d))
    expected = 0.0
    for a in sorted(amounts):
        expected += a
    assert got == {(expected, expected / len(amounts))}


def test_a_float_column_sums_like_a_double_and_an_empty_window_is_zero(spark):
    df = spark.createDataFrame([("a", ts("2024-02-25 00:00:00"), 1.5),
                                ("a", ts("2023-12-01 00:00:00"), 2.25)],
                               "customer_id string, order_ts timestamp, amount float")
    row = point_in_time_aggregates(df, "customer_id", "order_ts", CUTOFF, [30, 120],
                                   {"amount": ["sum", "mean"]}).first()
    assert (row.amount_sum_30d, row.amount_mean_30d) == (1.5, 1.5)
    assert (row.amount_sum_120d, row.amount_mean_120d) == (3.75, 1.875)
    empty = point_in_time_aggregates(df.where("order_ts < '2024-01-01'"), "customer_id",
                                     "order_ts", CUTOFF, [30], {"amount": ["sum", "mean"]})
    assert [tuple(r) for r in empty.select("amount_sum_30d", "amount_mean_30d").collect()] == \
        [(0.0, None)]
