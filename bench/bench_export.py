"""Channel export speed: rows/s per format against a plain Spark Parquet write of the same rows.

    PYTHONPATH=. .venv/bin/python bench/bench_export.py --rows 1000000 --width 30

Each format is written by `lakeprep.sagemaker.write_channel` (profile pass + write, Arrow
batches encoded with numpy); the baseline is `df.write.parquet` of (label, array<double>).
Prints one Markdown table: seconds, rows/s and speed relative to the baseline per format
(goal >= 0.8x), with the machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchlib import goal, machine, table
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
        df.select("label", "arr").write.parquet(str(root / "warm-up"))  # JIT, first-write costs
        t0 = time.perf_counter()
        df.select("label", "arr").write.parquet(str(root / "baseline"))
        base = time.perf_counter() - t0
        t0 = time.perf_counter()
        profile = profile_channel(df)
        prof = time.perf_counter() - t0
        rows = [("plain Spark Parquet write (baseline)", f"{base:.2f}",
                 f"{args.rows / base:,.0f}", "1.00x", "")]
        for fmt in args.formats.split(","):
            t0 = time.perf_counter()
            write_channel(df, str(root / fmt), fmt, WriteOptions(), profile=profile)
            took = time.perf_counter() - t0
            rows.append((fmt, f"{took:.2f}", f"{args.rows / took:,.0f}",
                         goal(base / took, 0.8, higher_is_better=True),
                         f"{base / (took + prof):.2f}x"))
        print(f"Channel export, {args.rows:,} rows x {args.width} features; the profile pass "
              f"all formats share took {prof:.2f} s. {machine(spark)}")
        print()
        print(table(["format", "seconds", "rows/s", "speed vs plain write",
                     "with the profile pass"], rows))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
