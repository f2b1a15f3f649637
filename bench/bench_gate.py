"""Wall time of a quality gate with N expectations on M rows, as a multiple of one full scan.

The reference scan is one aggregation over every column of the same data read from uncached
Parquet in a temp dir. The gate reads the same Parquet (``run_gate`` defaults: nothing cached):
one aggregation evaluates every row-level expectation (and, for ``quarantine``, the tags and
counts) and the table-level metrics GE judges - under ``fail`` observed on the rows the
uniqueness checks' key-hash aggregation reads, so one job serves both; one more job fetches
failing values (only when some expectation failed), one counts the keys whose hashes repeat
(only when some do). ``fail-unique`` times the uniqueness checks alone.
Each step runs ``--repeat`` times and the fastest counts (the first gate would otherwise pay
the code generation and JIT warm-up that the warmed-up scan does not). The Spark job count is
printed too; it does not grow with ``--expectations``. Prints one
Markdown table with the machine and the ratio against the goal (fail <= 1.5x, quarantine <= 2x),
in wall time and in the driver JVM's CPU time (local mode: the executors' too; steadier than
wall time on a shared machine), then each step's Spark jobs with their call sites and seconds.

    PYTHONPATH=. .venv/bin/python bench/bench_gate.py --rows 1000000 --expectations 20
"""

from __future__ import annotations

import argparse
import itertools
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import goal, jvm_cpu_seconds, machine, print_breakdown, table, timed
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakeprep.spark import get_spark
from quality import run_gate

EXPECTATIONS = [
    {"expect_table_row_count_to_be_between": {"min_value": 1}},
    {"expect_column_values_to_not_be_null": {"column": "order_id"}},
    {"expect_column_values_to_be_between": {"column": "amount", "min_value": 0, "mostly": 0.99}},
    {"expect_column_values_to_be_in_set": {"column": "category",
                                           "value_set": ["books", "toys", "food", "games"]}},
    {"expect_column_values_to_match_regex": {"column": "order_id", "regex": "^O[0-9]+$"}},
    {"expect_column_values_to_be_unique": {"column": "order_id"}},
    {"expect_compound_columns_to_be_unique": {"column_list": ["customer_id", "order_ts"]}},
    {"expect_column_pair_values_a_to_be_greater_than_b": {"column_A": "dropoff",
                                                          "column_B": "pickup",
                                                          "or_equal": True}},
    {"expect_table_columns_to_match_set": {"column_set": ["order_id", "amount"],
                                           "exact_match": False}},
    {"expect_column_values_to_be_of_type": {"column": "amount", "type_": "DoubleType"}},
    {"expect_column_values_to_not_be_null": {"column": "customer_id"}},
    {"expect_column_values_to_be_between": {"column": "qty", "min_value": 1, "max_value": 50}},
    {"expect_column_values_to_not_be_null": {"column": "category"}},
    {"expect_column_value_lengths_to_be_between": {"column": "order_id", "min_value": 2,
                                                   "max_value": 12}},
    {"expect_column_values_to_not_be_in_set": {"column": "category", "value_set": ["bad"]}},
    {"expect_column_values_to_be_between": {"column": "pickup", "min_value": 0}},
    {"expect_column_values_to_not_be_null": {"column": "dropoff"}},
    {"expect_column_values_to_match_regex": {"column": "customer_id", "regex": "^c"}},
    {"expect_column_values_to_be_between": {"column": "discount", "min_value": 0,
                                            "max_value": 1}},
    {"expect_column_values_to_not_be_null": {"column": "order_ts"}},
]


def passing(expectations: list[dict]) -> list[dict]:
    """The same expectations with the two that the data breaks widened: a suite that passes."""
    out = []
    for e in expectations:
        (name, kw), = e.items()
        if name == "expect_column_values_to_be_in_set" and kw["column"] == "category":
            kw = {**kw, "value_set": [*kw["value_set"], "misc"]}
        if name == "expect_column_values_to_be_between" and kw["column"] == "amount":
            kw = {**kw, "min_value": -1}
        out.append({name: kw})
    return out


def make_data(spark: SparkSession, rows: int, path: Path) -> None:
    df = spark.range(rows).select(
        F.concat(F.lit("O"), F.col("id")).alias("order_id"),
        F.concat(F.lit("c"), F.col("id") % 50_000).alias("customer_id"),
        (F.col("id") * 1000 + F.col("id") % 7).alias("order_ts"),
        F.when(F.col("id") % 500 == 0, -1.0).otherwise(F.col("id") % 997 / 10).alias("amount"),
        F.element_at(F.array(*[F.lit(c) for c in ["books", "toys", "food", "games", "misc"]]),
                     (F.col("id") % 5 + 1).cast("int")).alias("category"),
        (F.col("id") % 50 + 1).alias("qty"),
        (F.col("id") % 1000).alias("pickup"),
        (F.col("id") % 1000 + F.col("id") % 3).alias("dropoff"),
        (F.col("id") % 10 / 10).alias("discount"),
    )
    df.write.mode("overwrite").parquet(str(path))


def full_scan(df: DataFrame) -> None:
    df.agg(*[F.max(F.col(c)).alias(c) for c in df.columns], F.count(F.lit(1))).collect()


GOALS = {"fail": 1.5, "quarantine": 2.0, "warn": 1.5}
UNIQUE = {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}


def fastest(spark: SparkSession, label: str, repeat: int, fn: Callable[[], Any]
            ) -> tuple[float, int, float, str, Any]:
    """The fastest of ``repeat`` runs of ``fn``: wall seconds, Spark jobs, the JVM's CPU
    seconds, the run's job group (for its breakdown) and ``fn``'s result."""
    best: tuple[float, int, float, str, Any] | None = None
    for r in range(max(repeat, 1)):
        cpu = jvm_cpu_seconds(spark)
        wall, jobs, result = timed(spark, f"{label}-{r}", fn)
        run = (wall, jobs, jvm_cpu_seconds(spark) - cpu, f"{label}-{r}", result)
        if best is None or run[0] < best[0]:
            best = run
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e6)
    parser.add_argument("--expectations", type=int, default=20)
    parser.add_argument("--policies", default="fail,quarantine,fail-passing,fail-unique",
                        help="gate policies to time; fail-passing: `fail` with a suite the "
                             "data meets; fail-unique: `fail` with the suite's uniqueness "
                             "checks alone (what they cost on their own)")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--repeat", type=int, default=3, help="runs per step; the fastest counts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    rows, n = int(args.rows), args.expectations
    spark = get_spark("bench_gate", master=args.master)
    expectations = list(itertools.islice(itertools.cycle(EXPECTATIONS), n))
    suites = {"fail": expectations, "quarantine": expectations,
              "fail-passing": passing(expectations),
              "fail-unique": [e for e in expectations if next(iter(e)) in UNIQUE]}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "orders"
        make_data(spark, rows, path)
        full_scan(spark.read.parquet(str(path)))  # warm-up: JIT, file listing caches
        scan, scan_jobs, scan_cpu, scan_tag = fastest(
            spark, "scan", args.repeat, lambda: full_scan(spark.read.parquet(str(path))))[:4]
        results = [("one full scan (max of every column)", f"{scan:.2f}", scan_jobs, "1.00x",
                    f"{scan_cpu:.2f}", "1.00x", "")]
        tags = []
        for i, policy in enumerate(args.policies.split(",")):
            def gate(policy: str = policy) -> str:
                suite = {"table": "orders", "expectations": suites[policy]}
                outcome = run_gate(spark.read.parquet(str(path)), suite,
                                   policy=policy.split("-")[0], source="bench")
                return f"{outcome.verdict.value} {outcome.counts}"

            wall, jobs, used, tag, verdict = fastest(spark, f"gate-{policy}-{i}", args.repeat,
                                                     gate)
            tags.append((tag, policy))
            size = len(suites[policy])
            results.append((f"gate `{policy}`, {size} expectations", f"{wall:.2f}", jobs,
                            goal(wall / scan, GOALS.get(policy.split("-")[0], 2.0)),
                            f"{used:.2f}",
                            f"{used / scan_cpu:.2f}x", verdict))
    print(f"Gate vs one full scan, {rows:,} rows (uncached Parquet). {machine(spark)}")
    print()
    print(table(["what", "seconds", "Spark jobs", "x one scan", "JVM CPU s", "CPU x one scan",
                 "verdict, counts"], results))
    print(f"\nfastest of {args.repeat} runs each")
    print_breakdown(spark, scan_tag, "one full scan")
    for tag, policy in tags:
        print_breakdown(spark, tag, f"gate `{policy}`")


if __name__ == "__main__":
    main()
