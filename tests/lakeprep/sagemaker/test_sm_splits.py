"""Splits: sizes, stratification, entity isolation, time order and partition independence."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from pyspark.sql import functions as F

from lakeprep.errors import ConfigError, InputError
from lakeprep.sagemaker import SplitSpec, assign_splits, split_dataset


def _assignment(df, spec):
    return dict(assign_splits(df, spec).select("id", "split").collect())


def test_random_split_sizes_and_same_seed_across_partitionings(split_df):
    spec = SplitSpec(seed=7, key_cols=["id"])
    splits = split_dataset(split_df, spec)
    assert list(splits.rows) == ["train", "validation", "test"]
    assert sum(splits.rows.values()) == 3000
    assert abs(splits.rows["train"] - 2400) < 90 and abs(splits.rows["test"] - 300) < 60
    one = _assignment(split_df.repartition(1), spec)
    many = _assignment(split_df.repartition(7, "day"), spec)
    assert one == many
    other = _assignment(split_df, SplitSpec(seed=8, key_cols=["id"]))
    assert other != one


def test_stratified_split_keeps_class_fractions(split_df):
    spec = SplitSpec(method="stratified", label_col="label", seed=3)
    by = (assign_splits(split_df, spec).groupBy("label", "split").count().collect())
    counts = {(r["label"], r["split"]): r["count"] for r in by}
    # 300 positives and 2700 negatives, each cut 80/10/10 at exact rank quantiles
    assert counts[(1, "train")] == 240 and counts[(1, "validation")] == 30
    assert counts[(1, "test")] == 30
    assert counts[(0, "train")] == 2160 and counts[(0, "test")] == 270


def test_entity_never_lands_in_two_splits(split_df):
    for spec in (SplitSpec(entity_cols=["entity"], seed=1),
                 SplitSpec(method="stratified", label_col="label", entity_cols=["entity"])):
        per_entity = assign_splits(split_df, spec).groupBy("entity", "label").agg(
            F.countDistinct("split").alias("splits"), F.count(F.lit(1)).alias("rows"),
            F.min("split").alias("split"))
        stats = per_entity.groupBy().agg(F.max("splits"), F.sum("rows"), F.count("split"),
                                         F.collect_list(F.when(F.col("label") == 1,
                                                               F.col("split")))).first()
        assert stats[0] == 1 and stats[1] == 3000 and stats[2] == 300  # one split, no nulls
        if spec.method == "stratified":  # the 30 positive entities are cut 24/3/3
            assert Counter(stats[3]) == {"train": 24, "validation": 3, "test": 3}


def test_time_split_by_quantiles_orders_rows(split_df):
    splits = split_dataset(split_df, SplitSpec(method="time", time_col="day"))
    bounds = {name: df.agg(F.min("day"), F.max("day")).first() for name, df in
              splits.frames.items()}
    assert bounds["train"][1] < bounds["validation"][0]
    assert bounds["validation"][1] < bounds["test"][0]
    assert splits.rows == {"train": 2400, "validation": 300, "test": 300}


def test_time_split_by_dates_and_entities(split_df):
    spec = SplitSpec(method="time", time_col="day", entity_cols=["entity"],
                     cut_points=[date(2024, 3, 1), date(2024, 4, 1)])
    splits = split_dataset(split_df, spec)
    # an entity goes by its latest day, so no training row reaches the first cut
    assert splits["train"].agg(F.max("day")).first()[0] < date(2024, 3, 1)
    assert splits["validation"].agg(F.max("day")).first()[0] < date(2024, 4, 1)
    assert sum(splits.rows.values()) == 3000


def test_empty_split_is_an_input_error(spark):
    df = spark.createDataFrame([(i,) for i in range(3)], ["id"])
    with pytest.raises(InputError, match=r"got no rows of 3"):
        split_dataset(df, SplitSpec(fractions={"train": 0.98, "validation": 0.01,
                                               "test": 0.01}))


@pytest.mark.parametrize("data, match", [
    ({"fractions": {"train": 0.5, "test": 0.4}}, "sum to 1"),
    ({"method": "stratified"}, "needs label_col"),
    ({"method": "time", "time_col": "d", "cut_points": ["2024-01-01"]}, "need 2 cut points"),
    ({"methd": "random"}, "methd"),
])
def test_bad_spec_is_a_config_error(data, match):
    with pytest.raises(ConfigError, match=match):
        SplitSpec.from_config(data, where="conf/base/export.yaml:split")


def test_missing_columns_are_named(split_df):
    with pytest.raises(InputError, match=r"entity column\(s\) \['user'\] not found"):
        assign_splits(split_df, SplitSpec(entity_cols=["user"]))
    with pytest.raises(InputError, match="must be a date, timestamp or number"):
        assign_splits(split_df, SplitSpec(method="time", time_col="entity"))
