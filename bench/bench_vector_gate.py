"""Wall time of the vector gate (NaN / +-inf per slot of an assembled feature vector) against the
write of the same feature rows, and against a pure Spark SQL count of the same thing.

The data is shaped like the taxi set's vector: 7 numeric columns (one with 0.1 % nulls, NaN in
the vector), and two one-hot encoded location ids of 260 levels each (527 slots, sparse rows),
assembled from uncached Parquet with ``VectorAssembler(handleInvalid="keep")``. Each variant
reads and assembles the same input:

- the write a build makes anyway: ``vector_to_array`` + Parquet;
- the gate build-features runs (``jobs.gates.check_finite``'s count: one ``mapInArrow`` job,
  numpy over the vectors' Arrow buffers, sparse rows as they are);
- for comparison, the same per-slot counts in Spark SQL (``posexplode`` of the dense array of
  the rows whose array max/min is not finite).

    PYTHONPATH=. .venv/bin/python bench/bench_vector_gate.py --rows 1000000
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from benchlib import machine, print_breakdown, table, timed
from pyspark.ml import Pipeline
from pyspark.ml.feature import OneHotEncoder, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.sagemaker.checks import profile_channel
from lakeprep.spark import get_spark
from quality.finite import nonfinite_rows

NUMERIC = ["hour_sin", "hour_cos", "dow_sin", "dow_cos", "distance", "fare", "passengers"]
INF = float("inf")


def make_data(spark: SparkSession, rows: int, path: Path) -> None:
    spark.range(rows).select(
        *[F.rand(i).alias(c) for i, c in enumerate(NUMERIC[:-1])],
        F.when(F.rand(7) < 0.001, F.lit(None)).otherwise((F.rand(8) * 4).cast("int"))
        .alias("passengers"),
        (F.rand(9) * 260).cast("int").cast("double").alias("pickup"),
        (F.rand(10) * 260).cast("int").cast("double").alias("dropoff"),
    ).write.mode("overwrite").parquet(str(path))


def assembled(spark: SparkSession, path: Path) -> DataFrame:
    df = spark.read.parquet(str(path))
    stages = [OneHotEncoder(inputCols=["pickup", "dropoff"], outputCols=["pu", "do"]),
              VectorAssembler(inputCols=[*NUMERIC, "pu", "do"], outputCol="features",
                              handleInvalid="keep")]
    return Pipeline(stages=stages).fit(df).transform(df).select(*NUMERIC, "features")


def sql_counts(df: DataFrame) -> dict[int, int]:
    values = df.select(vector_to_array("features").alias("a"), F.col("features"))
    bad = values.where(nonfinite_rows("features")).select(
        F.posexplode(F.concat(F.array(F.lit(float("nan"))), F.col("a"))))
    rows = bad.where(F.isnan("col") | (F.abs("col") == INF)).groupBy("pos").count().collect()
    return {r.pos - 1: r["count"] for r in rows}  # -1: the marker, one per row with any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6)
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows = int(args.rows)
    spark = get_spark("bench_vector_gate", master=args.master)
    with tempfile.TemporaryDirectory() as tmp:
        path, out = Path(tmp) / "inputs", Path(tmp) / "features"
        make_data(spark, rows, path)
        profile_channel(assembled(spark, path), "features", None)  # warm-up: Python workers, JIT

        def write() -> str:
            assembled(spark, path).withColumn("features", vector_to_array("features")) \
                .write.mode("overwrite").parquet(str(out))
            return ""

        def gate() -> str:
            p = profile_channel(assembled(spark, path), "features", None)
            return f"{p.nonfinite_rows:,} rows; per slot {dict(p.nonfinite)}"

        def sql() -> str:
            counts = sql_counts(assembled(spark, path))
            return f"{counts.pop(-1, 0):,} rows; per slot {counts}"

        base, base_jobs, _ = timed(spark, "write", write)
        results = [("write the feature rows (vector_to_array + Parquet)", f"{base:.2f}",
                    base_jobs, "1.00x", "")]
        for label, fn in (("vector gate (Arrow + numpy, one job)", gate),
                          ("same counts in Spark SQL (posexplode)", sql)):
            wall, jobs, found = timed(spark, label, fn)
            results.append((label, f"{wall:.2f}", jobs, f"{wall / base:.2f}x", found))
    print(f"Vector gate on {rows:,} rows of 527 slots (7 numeric + 2 x 260 one-hot), from "
          f"uncached Parquet. {machine(spark)}")
    print()
    print(table(["what", "seconds", "Spark jobs", "x the write", "found"], results))
    for label in ("write", "vector gate (Arrow + numpy, one job)",
                  "same counts in Spark SQL (posexplode)"):
        print_breakdown(spark, label, label)


if __name__ == "__main__":
    main()
