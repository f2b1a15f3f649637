"""Ingest of JSON lines and CSV into bronze through lakeprep vs a plain Spark read + Parquet write.

lakeprep's ingest (parse with reasons, dedup, quarantine, gate, one Delta commit) of the sample
generator's orders (JSON lines) and customers (CSV) into a fresh lake, against
``spark.read.json(...)`` / ``spark.read.csv(...)`` ``.write.partitionBy(...).parquet(...)`` of the
same files (schema inferred, as a plain job would). Prints one Markdown table with the machine,
the Spark jobs of each run and the ratio against the goal (<= 1.25x) in wall time and in the
driver JVM's CPU time (local mode: the executors' too; steadier on a shared machine), then each
run's Spark jobs with their call sites and seconds, to find the passes over the input.

    PYTHONPATH=. LAKEPREP_JARS_DIR=jvm/jars .venv/bin/python bench/bench_ingest.py --orders 1000000
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from pathlib import Path

from benchlib import goal, jvm_cpu_seconds, machine, print_breakdown, table, timed
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import ingest
from lakeprep.config import load_settings
from lakeprep.ingest.report import IngestReport
from lakeprep.runtime import JobContext
from lakeprep.sample.generate import generate
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
        for name in args.tables.split(","):
            plain(spark, raw, name, root / "warmup")  # JIT, file listing caches
            cpu = jvm_cpu_seconds(spark)
            base, base_jobs, _ = timed(spark, f"plain-{name}",
                                       lambda n=name: plain(spark, raw, n, root / "plain"))
            base_cpu = jvm_cpu_seconds(spark) - cpu

            def run(n: str = name) -> list[IngestReport]:
                ctx = JobContext.start(settings, "ingest", spark=spark)
                return ingest.run(ctx, tables=[n])

            cpu = jvm_cpu_seconds(spark)
            took, jobs, reports = timed(spark, f"ingest-{name}", run)
            used = jvm_cpu_seconds(spark) - cpu
            report = reports[0]
            fmt = SOURCES[name][0]
            rows.append((f"{name} ({fmt})", f"{report.rows_read:,}", f"{base:.2f}", base_jobs,
                         f"{took:.2f}", jobs, goal(took / base, 1.25),
                         f"{used / base_cpu:.2f}x", f"{report.rows_read / took:,.0f}"))
        print(f"Ingest into bronze vs a plain read + partitioned Parquet write. {machine(spark)}")
        print()
        print(table(["table (format)", "rows read", "plain s", "plain jobs", "lakeprep s",
                     "lakeprep jobs", "x plain", "JVM CPU x plain", "lakeprep rows/s"], rows))
        for name in args.tables.split(","):
            print_breakdown(spark, f"plain-{name}", f"plain {name}")
            print_breakdown(spark, f"ingest-{name}", f"ingest {name}")


if __name__ == "__main__":
    main()
