"""Bucket expressions shared by the baseline and the drift check, so both bin identically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

NULL_BUCKET = "__null__"
OTHER_BUCKET = "__other__"
NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType,
                 T.DecimalType)
CATEGORICAL_TYPES = (T.StringType, T.BooleanType)


def numeric_bucket(column: str, edges: Sequence[float], data_type: T.DataType) -> Column:
    """Bucket label ``"0".."len(edges)"``: the number of interior edges <= the value; nulls
    (and NaN) go to ``__null__``. Bin k is [edges[k-1], edges[k])."""
    c = F.col(f"`{column}`").cast("double")
    index = F.lit(0)
    for edge in edges:
        index = index + (c >= F.lit(float(edge))).cast("int")
    missing = c.isNull()
    if isinstance(data_type, T.FloatType | T.DoubleType):
        missing = missing | F.isnan(c)
    return F.when(missing, F.lit(NULL_BUCKET)).otherwise(index.cast("string"))


def categorical_value(column: str) -> Column:
    """The value as a string bucket, nulls as ``__null__``."""
    c = F.col(f"`{column}`").cast("string")
    return F.coalesce(c, F.lit(NULL_BUCKET))


def categorical_bucket(column: str, categories: Sequence[str]) -> Column:
    """Known categories keep their name; unseen ones go to ``__other__``; nulls to ``__null__``."""
    c = F.col(f"`{column}`").cast("string")
    known = c.isin(list(categories)) if categories else F.lit(False)
    return (F.when(c.isNull(), F.lit(NULL_BUCKET))
            .when(known, c).otherwise(F.lit(OTHER_BUCKET)))


def bucket_counts(df: DataFrame, buckets: Mapping[str, Column]) -> dict[str, dict[str, int]]:
    """Count rows per (feature, bucket) for all features in one job; returns nested dicts.

    The result has one row per feature and bucket, so callers pass bucket expressions with
    bounded cardinality (or cap it afterwards, as the baseline does for categories).
    """
    pairs = [F.struct(F.lit(name).alias("feature"), expr.alias("bucket"))
             for name, expr in buckets.items()]
    exploded = df.select(F.explode(F.array(*pairs)).alias("p")).select("p.feature", "p.bucket")
    counts: dict[str, dict[str, int]] = {name: {} for name in buckets}
    for row in exploded.groupBy("feature", "bucket").count().collect():
        counts[row["feature"]][row["bucket"]] = int(row["count"])
    return counts


def top_categories(df: DataFrame, columns: Sequence[str], limit: int) -> dict[str, list[Any]]:
    """The ``limit`` most frequent non-null values of each column, in one shuffle job.

    Only the top values reach the driver, however many distinct values a column has.
    """
    if not columns:
        return {}
    pairs = [F.struct(F.lit(c).alias("feature"), F.col(f"`{c}`").cast("string").alias("value"))
             for c in columns]
    grouped = (df.select(F.explode(F.array(*pairs)).alias("p"))
               .select("p.feature", "p.value").where(F.col("value").isNotNull())
               .groupBy("feature", "value").count())
    ranked = grouped.withColumn(
        "rank", F.row_number().over(Window.partitionBy("feature")
                                    .orderBy(F.desc("count"), F.asc("value"))))
    out: dict[str, list[Any]] = {c: [] for c in columns}
    for row in ranked.where(F.col("rank") <= limit).orderBy("feature", "rank").collect():
        out[row["feature"]].append(row["value"])
    return out
