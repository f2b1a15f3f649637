"""Population stability index: the one binning and PSI shared by feature selection and drift.

Pure Spark functions (no I/O): features' ``DropUnstableFeatures`` and quality's drift check both
bin with these, so a column's PSI is the same number wherever it is computed.

- Numeric columns: ``bins`` equal-frequency bins of the reference (approximate quantiles, ties
  merged); bucket ``"k"`` is [edges[k-1], edges[k]) with -inf/+inf outside; +-inf fall in the
  first/last bucket.
- Categorical columns (string, boolean): one bucket per reference category (cast to string),
  every other value in ``__other__`` (also the values never seen in the reference).
- Missing values (null, and NaN in a float column) have their own bucket ``__missing__``.
- PSI = sum over buckets of (a - e) * ln(a / e), both shares floored at ``epsilon`` (1e-4) so an
  empty bucket gives a large but finite term.

>>> round(psi({"0": 0.5, "1": 0.5}, {"0": 0.6, "1": 0.4}), 4)
0.0405
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.frames import column
from lakeprep.stats.profile import top_values
from lakeprep.stats.types import is_missing

MISSING_BUCKET = "__missing__"
OTHER_BUCKET = "__other__"
EPSILON = 1e-4


def quantile_edges(df: DataFrame, columns: Sequence[str], bins: int,
                   relative_error: float = 0.001) -> dict[str, list[float]]:
    """Distinct inner edges of ``bins`` equal-frequency bins of each column, in ONE job.

    Null and NaN are ignored; a column without values gets no edges (one bucket).
    """
    if not columns:
        return {}
    probabilities = [i / bins for i in range(1, bins)]
    cleaned = df.select(*[F.when(~is_missing(c, df.schema[c].dataType),
                                 column(c).cast("double")).alias(c) for c in columns])
    found = cleaned.approxQuantile(list(columns), probabilities, relative_error)
    # ties (a column that is mostly 0) repeat quantiles: keep distinct, finite edges
    return {c: sorted({float(q) for q in qs if math.isfinite(q)})
            for c, qs in zip(columns, found, strict=True)}


def numeric_bucket(name: str, edges: Sequence[float], data_type: T.DataType) -> Column:
    """Bucket label ``"0"..str(len(edges))`` (the number of edges <= the value), or missing."""
    value = column(name).cast("double")
    index = F.lit(0)
    for edge in edges:
        index = index + (value >= F.lit(float(edge))).cast("int")
    return F.when(is_missing(name, data_type), F.lit(MISSING_BUCKET)) \
        .otherwise(index.cast("string"))


def categorical_bucket(name: str, categories: Sequence[str],
                       data_type: T.DataType | None = None) -> Column:
    """Known categories keep their name; other values go to ``__other__``; missing to its own."""
    value = column(name).cast("string")
    known = value.isin(list(categories)) if categories else F.lit(False)
    missing = is_missing(name, data_type) if data_type is not None else value.isNull()
    return F.when(missing, F.lit(MISSING_BUCKET)).when(known, value) \
        .otherwise(F.lit(OTHER_BUCKET))


def bucket_counts(df: DataFrame, buckets: Mapping[str, Column]) -> dict[str, dict[str, int]]:
    """Rows per (feature, bucket) for every feature in ONE job; only the counts reach the driver.

    Callers pass bucket expressions of bounded cardinality (edges, capped categories).
    """
    if not buckets:
        return {}
    pairs = [F.struct(F.lit(name).alias("feature"), expr.alias("bucket"))
             for name, expr in buckets.items()]
    exploded = df.select(F.explode(F.array(*pairs)).alias("p")).select("p.feature", "p.bucket")
    counts: dict[str, dict[str, int]] = {name: {} for name in buckets}
    for row in exploded.groupBy("feature", "bucket").count().collect():
        counts[row["feature"]][row["bucket"]] = int(row["count"])
    return counts


def top_categories(df: DataFrame, columns: Sequence[str], limit: int) -> dict[str, list[Any]]:
    """The ``limit`` most frequent non-missing values of each column (as strings), in ONE job."""
    return {c: [v for v, _ in top] for c, top in top_values(df, columns, limit).items()}


def shares(counts: Mapping[str, int], buckets: Sequence[str], rows: int) -> dict[str, float]:
    """The share of ``rows`` in each of ``buckets`` (0.0 where a bucket has no row)."""
    return {b: (counts.get(b, 0) / rows if rows else 0.0) for b in buckets}


def psi(expected: Mapping[str, float], actual: Mapping[str, float],
        epsilon: float = EPSILON) -> float:
    """PSI of two bucket-share dicts; a bucket missing on one side counts as 0 before the floor.

    >>> round(psi({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}), 6)
    0.0
    """
    total = 0.0
    for bucket in set(expected) | set(actual):
        e = max(expected.get(bucket, 0.0), epsilon)
        a = max(actual.get(bucket, 0.0), epsilon)
        total += (a - e) * math.log(a / e)
    return total
