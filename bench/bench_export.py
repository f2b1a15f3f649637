"""Channel export speed: rows/s per format against a plain Spark Parquet write of the same rows.

    PYTHONPATH=. .venv/bin/python bench/bench_export.py --rows 1000000 --width 30

Each format is written by `lakeprep.sagemaker.write_channel` (profile pass + write, Arrow
batches encoded with numpy and Arrow compute); the baseline is `df.write.parquet` of
(label, array<double>). Every step runs ``--repeat`` times and the fastest run counts, so
other work on a shared machine skews the ratios less; the CPU seconds of the whole process tree
(driver, JVM, Python workers) barely move with such load. Prints one Markdown table: seconds,
rows/s, speed relative to the baseline per format (goal >= 0.8x), CPU seconds and their ratio
to the baseline's, with the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import goal, machine, table
from pyspark.ml.functions import array_to_vector
from pyspark.sql import functions as F

from lakeprep.sagemaker import WriteOptions, write_channel
from lakeprep.sagemaker.checks import profile_channel
from lakeprep.spark import get_spark


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds used so far by ``root`` and every process under it (Spark's JVM, the Python
    workers): with the reaped children each has waited for, from /proc (0 without /proc)."""
    procs: dict[int, tuple[int, int]] = {}  # pid -> (parent, clock ticks)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rindex(")") + 2:].split()  # from field 3 (state) on
        procs[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])))
    tree, grown = {root}, True
    while grown:
        more = {pid for pid, (parent, _) in procs.items() if parent in tree} - tree
        tree |= more
        grown = bool(more)
    return sum(procs[pid][1] for pid in tree if pid in procs) / os.sysconf("SC_CLK_TCK")


def best_of(repeat: int, step: Callable[[str], Any], out: Path) -> tuple[float, float]:
    """The fastest wall time and the least CPU time (this process and all under it) of
    ``step(folder)`` over ``repeat`` runs, seconds; each run writes into an empty ``out``
    (removed afterwards). CPU time barely moves when other work shares the machine."""
    walls, cpus = [], []
    for _ in range(repeat):
        cpu0, t0 = tree_cpu_seconds(os.getpid()), time.perf_counter()
        step(str(out))
        walls.append(time.perf_counter() - t0)
        cpus.append(tree_cpu_seconds(os.getpid()) - cpu0)
        shutil.rmtree(out, ignore_errors=True)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--width", type=int, default=30)
    ap.add_argument("--formats", default="csv,libsvm,recordio-protobuf,parquet")
    ap.add_argument("--repeat", type=int, default=3, help="runs per step; the fastest counts")
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
        profile = profile_channel(df)  # starts the Python workers
        base, base_cpu = best_of(args.repeat, df.select("label", "arr").write.parquet,
                                 root / "baseline")
        prof, _ = best_of(args.repeat, lambda _: profile_channel(df), root / "none")
        rows = [("plain Spark Parquet write (baseline)", f"{base:.2f}",
                 f"{args.rows / base:,.0f}", "1.00x", "", f"{base_cpu:.2f}", "1.00x")]
        for fmt in args.formats.split(","):
            took, cpu = best_of(args.repeat, lambda out, fmt=fmt: write_channel(
                df, out, fmt, WriteOptions(), profile=profile), root / fmt)
            rows.append((fmt, f"{took:.2f}", f"{args.rows / took:,.0f}",
                         goal(base / took, 0.8, higher_is_better=True),
                         f"{base / (took + prof):.2f}x", f"{cpu:.2f}", f"{base_cpu / cpu:.2f}x"))
        print(f"Channel export, {args.rows:,} rows x {args.width} features, fastest of "
              f"{args.repeat} runs; the profile pass all formats share took {prof:.2f} s. "
              f"{machine(spark)}")
        print()
        print(table(["format", "seconds", "rows/s", "speed vs plain write",
                     "with the profile pass", "CPU s", "CPU vs plain write"], rows))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
