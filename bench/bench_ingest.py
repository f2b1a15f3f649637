"""Ingest of JSON lines and CSV into bronze through lakeprep vs a plain Spark read + Parquet write.

lakeprep's ingest (parse with reasons, dedup, quarantine, gate, one Delta commit) of the sample
generator's orders (JSON lines) and customers (CSV) into a fresh lake, against
``spark.read.json(...)`` / ``spark.read.csv(...)`` ``.write.partitionBy(...).parquet(...)`` of the
same files (schema inferred, as a plain job would). Prints one Markdown table with the machine,
the Spark jobs of each run and the ratio against the goal (<= 1.25x), then where the ingest's
jobs come from (call sites), to find the passes over the input.

    PYTHONPATH=. LAKEPREP_JARS_DIR=jvm/jars .venv/bin/python bench/bench_ingest.py --orders 1000000
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from collections import Counter
from pathlib import Path

from benchlib import goal, machine, table, timed
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import ingest
from jobs.generate_sample import generate
from lakeprep.config import load_settings
from lakeprep.runtime import JobContext
from lakeprep.spark import session_for

REPO = Path(__file__).resolve().parent.parent
ORDERS_PER_CUSTOMER = 8
# table -> (reader, raw folder, timestamp column, partition column)
SOURCES = {"orders": ("json", "orders", "order_ts", "order_date"),
           "customers": ("csv", "customers", "signup_ts", "signup_date")}


def plain(spark: SparkSession, raw: Path, table_name: str, out: Path) -> None:
    """The reference: read the same files, derive the date partition, write Parquet."""
    fmt, folder, ts, part = SOURCES[table_name]
    reader = spark.read.option("header", True).option("inferSchema", True) if fmt == "csv" \
        else spark.read
    df = getattr(reader, fmt)(str(raw / folder / "batch_*"))
    (df.withColumn(part, F.to_date(F.col(ts))).write.mode("overwrite").partitionBy(part)
     .parquet(str(out / table_name)))


def call_sites(spark: SparkSession, group: str) -> Counter[str]:
    """How many of a job group's Spark jobs each call site started (first stage's name)."""
    sc = spark.sparkContext
    tracker = sc.statusTracker()
    sites: Counter[str] = Counter()
    for job_id in tracker.getJobIdsForGroup(group):
        info = tracker.getJobInfo(job_id)
        stages = sorted(info.stageIds) if info else []
        stage = tracker.getStageInfo(stages[-1]) if stages else None
        sites[stage.name if stage else "?"] += 1
    return sites


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=float, default=1e6, help="order rows to ingest")
    ap.add_argument("--tables", default="orders,customers")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    customers = max(int(args.orders) // ORDERS_PER_CUSTOMER, 10)
    rows = []
    with tempfile.TemporaryDirectory(prefix="lakeprep-bench-ingest-") as tmp:
        root = Path(tmp)
        os.environ["LAKEPREP_DATA"] = str(root / "lake")
        settings = load_settings("local", REPO / "conf")
        spark = session_for(settings)
        raw = Path(settings.lake.layers["raw"])
        generate(spark, str(raw), customers=customers, orders_per_customer=ORDERS_PER_CUSTOMER)
        sites = {}
        for name in args.tables.split(","):
            plain(spark, raw, name, root / "warmup")  # JIT, file listing caches
            base, base_jobs, _ = timed(spark, f"plain-{name}",
                                       lambda n=name: plain(spark, raw, n, root / "plain"))

            def run(n: str = name) -> list[ingest.IngestReport]:
                ctx = JobContext.start(settings, "ingest", spark=spark)
                return ingest.run(ctx, tables=[n])

            took, jobs, reports = timed(spark, f"ingest-{name}", run)
            report = reports[0]
            sites[name] = call_sites(spark, f"ingest-{name}")
            fmt = SOURCES[name][0]
            rows.append((f"{name} ({fmt})", f"{report.rows_read:,}", f"{base:.2f}", base_jobs,
                         f"{took:.2f}", jobs, goal(took / base, 1.25),
                         f"{report.rows_read / took:,.0f}"))
        print(f"Ingest into bronze vs a plain read + partitioned Parquet write. {machine(spark)}")
        print()
        print(table(["table (format)", "rows read", "plain s", "plain jobs", "lakeprep s",
                     "lakeprep jobs", "x plain", "lakeprep rows/s"], rows))
        for name, counter in sites.items():
            print(f"\nSpark jobs of the {name} ingest, by call site:")
            for site, n in counter.most_common():
                print(f"  {n} x {site}")


if __name__ == "__main__":
    main()
