"""Benchmark: drop_correlated's pairwise correlations, new (one pass of d x d sums) vs old (F.corr).

    python bench/bench_correlated.py --rows 1000000 --cols 50 [--old]

Generates ROWS x COLS doubles with Spark (5% nulls, groups of correlated columns), caches and
materialises them (not measured), then times ``DropCorrelatedFeatures.fit``: one aggregation
for the column ranges and ONE pass that sums, per partition, the pairwise counts, sums, squares
and cross-products as d x d matrices (numpy over Arrow batches). ``--old`` also times the
previous implementation, one ``agg`` of COLS*(COLS-1)/2 ``F.corr`` expressions, and checks both
give the same correlations. Prints wall time, Spark jobs and the driver's peak RSS.
"""

from __future__ import annotations

import argparse
import logging
import math
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from features.selection import DropCorrelatedFeatures  # noqa: E402
from features.selection.drop_correlated import pairwise_correlations  # noqa: E402
from lakeprep.spark import get_spark  # noqa: E402


def generate(spark: SparkSession, rows: int, cols: int) -> DataFrame:
    """ROWS x COLS doubles: every 5th column drives the next four (r ~ 0.7..0.99), 5% nulls."""
    groups = range(0, cols, 5)
    # the group drivers are materialised columns first, so every member reads the same values
    base = spark.range(rows, numPartitions=8).select(
        *[F.rand(seed=g).alias(f"d{g}") for g in groups])
    exprs = []
    for j in range(cols):
        driver = F.col(f"d{j - j % 5}")
        noise = F.rand(seed=1000 + j)
        value = driver if j % 5 == 0 else driver + noise * (0.02 * (j % 5) ** 2)
        exprs.append(F.when(F.rand(seed=5000 + j) < 0.05, None).otherwise(value * 100)
                     .alias(f"c{j}"))
    df = base.select(*exprs).cache()
    df.count()
    return df


def old_correlations(df: DataFrame, cols: list[str]) -> dict[tuple[str, str], float]:
    """The previous implementation: one agg of F.corr per pair."""
    pairs = [(i, j) for i in range(len(cols)) for j in range(i + 1, len(cols))]
    row = df.agg(*[F.corr(cols[i], cols[j]).alias(f"r{i}_{j}") for i, j in pairs]).first()
    return {(cols[i], cols[j]): (math.nan if row[f"r{i}_{j}"] is None else row[f"r{i}_{j}"])
            for i, j in pairs}


def timed(spark: SparkSession, label: str, fn):
    sc = spark.sparkContext
    sc.setJobGroup(label, label)
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    jobs = len(sc.statusTracker().getJobIdsForGroup(label))
    print(f"{label:>12}: {seconds:8.2f} s, {jobs} Spark job(s)")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--old", action="store_true", help="also time the F.corr implementation")
    parser.add_argument("--driver-memory", default="3g",
                        help="local driver heap (the cached data lives there too)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    spark = get_spark("bench_correlated", conf={"spark.driver.memory": args.driver_memory})
    spark.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter()
    df = generate(spark, args.rows, args.cols)
    cols = list(df.columns)
    print(f"data: {args.rows:,} rows x {args.cols} columns, generated and cached in "
          f"{time.perf_counter() - start:.1f} s; {len(cols) * (len(cols) - 1) // 2} pairs")
    model = timed(spark, "fit (new)", lambda: DropCorrelatedFeatures(
        inputCols=cols, threshold=args.threshold).fit(df))
    print(f"  dropped {len(model.features_to_drop_)} of {len(cols)}: {model.features_to_drop_}")
    if args.old:
        new = pairwise_correlations(df, cols)[1]
        old = timed(spark, "F.corr (old)", lambda: old_correlations(df, cols))
        worst = max(abs(new[k] - old[k]) for k in old)
        print(f"  max |r_new - r_old| over all pairs: {worst:.2e}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"driver peak RSS: {peak:.0f} MiB")
    spark.stop()


if __name__ == "__main__":
    main()
