"""Channel export speed: rows/s per format against a plain Spark Parquet write of the same rows.

    python bench/bench_export.py --rows 1000000 --width 30

Each format is written by `lakeprep.sagemaker.write_channel` (profile pass + write, Arrow
batches encoded with numpy); the baseline is `df.write.parquet` of (label, array<double>).
Prints one line per format: seconds, rows/s, and the ratio to the baseline (goal >= 0.8).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from pyspark.ml.functions import array_to_vector
from pyspark.sql import functions as F

from lakeprep.sagemaker import WriteOptions, write_channel
from lakeprep.sagemaker.checks import profile_channel
from lakeprep.spark import get_spark


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--width", type=int, default=30)
    ap.add_argument("--formats", default="csv,libsvm,recordio-protobuf,parquet")
    args = ap.parse_args()
    spark = get_spark("bench-export", conf={"spark.sql.shuffle.partitions": "8"})
    cols = [F.when(F.rand(i) < 0.2, 0.0).otherwise(F.randn(100 + i)) for i in range(args.width)]
    df = (spark.range(args.rows).repartition(8)
          .select((F.col("id") % 2).cast("double").alias("label"), F.array(*cols).alias("arr"))
          .withColumn("features", array_to_vector("arr")).cache())
    df.count()
    root = Path(tempfile.mkdtemp(prefix="lakeprep-bench-export-"))
    try:
        t0 = time.perf_counter()
        df.select("label", "arr").write.parquet(str(root / "baseline"))
        base = time.perf_counter() - t0
        print(f"{args.rows:,} rows x {args.width} features, {spark.sparkContext.defaultParallelism}"
              f" cores")
        print(f"plain Spark parquet write: {base:6.2f} s  {args.rows / base:>10,.0f} rows/s")
        t0 = time.perf_counter()
        profile = profile_channel(df)
        prof = time.perf_counter() - t0
        print(f"profile pass (shared by all formats): {prof:6.2f} s")
        for fmt in args.formats.split(","):
            t0 = time.perf_counter()
            write_channel(df, str(root / fmt), fmt, WriteOptions(), profile=profile)
            took = time.perf_counter() - t0
            print(f"{fmt:>18}: {took:6.2f} s  {args.rows / took:>10,.0f} rows/s  "
                  f"{base / took:5.2f}x the plain write (with the profile: "
                  f"{base / (took + prof):5.2f}x)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
