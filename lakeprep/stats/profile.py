"""Column profiles as Spark aggregations, of which only the small results reach the driver:
equal-width histograms, the most frequent values, missing shares, correlations. The run report
draws them; the drift baseline and PSI selection bucket with them.

>>> df = spark.createDataFrame([("a",), ("a",), (None,)], "c string")
>>> top_values(df, ["c"], 1)
{'c': [('a', 2)]}
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakeprep.frames import column, one_row
from lakeprep.stats.types import is_missing


def numeric_histograms(df: DataFrame, columns: Sequence[str], bins: int = 20
                       ) -> dict[str, tuple[list[float], list[int]]]:
    """Equal-width histograms of ``columns``: two aggregations in all (range, then bin counts
    in long form), whatever the number of columns.

    >>> numeric_histograms(spark.range(10).toDF("x"), ["x"], bins=2)
    {'x': ([0.0, 4.5, 9.0], [5, 5])}
    """
    if not columns:
        return {}
    aggs = []
    for i, c in enumerate(columns):
        col = column(c).cast("double")
        aggs += [F.min(col).alias(f"lo{i}"), F.max(col).alias(f"hi{i}")]
    ranges = one_row(df.agg(*aggs))
    entries = []
    edges: dict[str, list[float]] = {}
    for i, c in enumerate(columns):
        lo, hi = ranges[f"lo{i}"], ranges[f"hi{i}"]
        if lo is None:
            continue
        width = (hi - lo) / bins if hi > lo else 1.0
        edges[c] = [lo + k * width for k in range(bins + 1)]
        value = column(c).cast("double")
        # least() skips nulls: a null value would land in the last bin without the when()
        b = F.when(value.isNotNull() & ~F.isnan(value),
                   F.least(F.floor((value - F.lit(lo)) / F.lit(width)), F.lit(bins - 1))
                   ).cast("int")
        entries.append(F.struct(F.lit(c).alias("k"), b.alias("b")))
    if not entries:
        return {}
    counts = (df.select(F.explode(F.array(*entries)).alias("x")).where(F.col("x.b").isNotNull())
              .groupBy("x.k", "x.b").count().collect())
    out = {c: (e, [0] * bins) for c, e in edges.items()}
    for r in counts:
        out[r["k"]][1][r["b"]] = int(r["count"])
    return out


def missing_shares(df: DataFrame, columns: Sequence[str]) -> dict[str, float]:
    """Share of rows where each column is missing (null, or NaN in a floating column), in one
    aggregation."""
    aggs = [F.count(F.lit(1)).alias("__n")]
    for i, c in enumerate(columns):
        aggs.append(F.sum(is_missing(c, df.schema[c].dataType).cast("int")).alias(f"m{i}"))
    r = one_row(df.agg(*aggs))
    rows = r["__n"] or 1
    return {c: (r[f"m{i}"] or 0) / rows for i, c in enumerate(columns)}


def correlations(df: DataFrame, columns: Sequence[str],
                 center: Mapping[str, float] | None = None) -> list[list[float | None]]:
    """The Pearson correlation matrix of ``columns`` over pairwise-complete rows, in one pass.

    Each Arrow batch adds its co-moment matrices (pairwise counts, sums, sums of squares,
    cross products) with numpy; the driver sums one set per partition. (One Spark ``corr``
    aggregate per pair instead generates code for n(n-1)/2 aggregates: minutes for 20 columns.)
    ``center`` (e.g. each column's mid-range) is subtracted first, against cancellation.
    """
    n = len(columns)
    if n < 2:
        return [[1.0]] * n
    shift = np.array([float((center or {}).get(c, 0.0)) for c in columns])

    def moments(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        acc = np.zeros((4, n, n))
        for batch in batches:
            # nulls arrive as NaN; NaN values count as missing too
            x = np.column_stack([batch.column(i).to_numpy(zero_copy_only=False)
                                 for i in range(n)]).astype(np.float64) - shift
            present = ~np.isnan(x)
            x0, m = np.where(present, x, 0.0), present.astype(np.float64)
            acc += np.stack([m.T @ m, x0.T @ m, (x0 * x0).T @ m, x0.T @ x0])
        yield pa.RecordBatch.from_pydict({"m": [acc.ravel().tolist()]})

    cols = [column(c).cast("double").alias(f"c{i}") for i, c in enumerate(columns)]
    parts = df.select(*cols).mapInArrow(moments, "m array<double>").collect()
    count, sums, squares, cross = sum((np.array(r["m"]).reshape(4, n, n) for r in parts),
                                      np.zeros((4, n, n)))
    # for the rows where both a and b are present: sums[a, b] is the sum of a, squares[a, b]
    # the sum of a squared
    cov = count * cross - sums * sums.T
    var = count * squares - sums * sums
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.sqrt(var * var.T)
    matrix: list[list[float | None]] = [[1.0 if i == j else None for j in range(n)]
                                        for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            v = float(np.clip(corr[i, j], -1.0, 1.0))
            ok = count[i, j] >= 2 and var[i, j] > 0 and var[j, i] > 0 and v == v
            matrix[i][j] = matrix[j][i] = v if ok else None
    return matrix


def top_values(df: DataFrame, columns: Sequence[str], limit: int,
               missing: str | None = None) -> dict[str, list[tuple[str, int]]]:
    """The ``limit`` most frequent values of each column (as strings) with their counts, most
    frequent first (ties by value), in ONE job. Missing values (null, NaN) are left out, or
    counted as the value ``missing`` when it is given."""
    if not columns:
        return {}
    pairs = []
    for c in columns:
        value = F.when(~is_missing(c, df.schema[c].dataType), column(c).cast("string"))
        if missing is not None:
            value = F.coalesce(value, F.lit(missing))
        pairs.append(F.struct(F.lit(c).alias("feature"), value.alias("value")))
    grouped = (df.select(F.explode(F.array(*pairs)).alias("p"))
               .select("p.feature", "p.value").where(F.col("value").isNotNull())
               .groupBy("feature", "value").count())
    ranked = grouped.withColumn(
        "rank", F.row_number().over(Window.partitionBy("feature")
                                    .orderBy(F.desc("count"), F.asc("value"))))
    out: dict[str, list[tuple[str, int]]] = {c: [] for c in columns}
    for row in ranked.where(F.col("rank") <= limit).orderBy("feature", "rank").collect():
        out[row["feature"]].append((row["value"], int(row["count"])))
    return out
