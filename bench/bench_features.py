"""Benchmark: a spec-built feature pipeline against the same stages hand-built and plain MLlib.

    python bench/bench_features.py --rows 100000

Generates N synthetic customer rows with Spark (numeric with nulls, categorical, a constant, a
duplicate and a correlated column, a 0/1 label), caches them, then fits and applies:

- ``spec``:   ``features.spec.build_pipeline`` over a spec of lakeprep and MLlib stages;
- ``hand``:   the very same stages constructed in code (the spec's own overhead is the difference);
- ``mllib``:  the nearest plain-MLlib pipeline (Imputer, StringIndexer, VectorAssembler,
              VarianceThresholdSelector, StandardScaler): no duplicate/correlation selection.

For each it prints wall time, Spark jobs (status tracker, one job group per phase), passes over
the input (completed stages whose task count equals the input's distinctive partition count), the
driver's peak RSS (``resource``) and the driver JVM's peak RSS (VmHWM, cumulative) and heap used.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyspark.ml import Pipeline  # noqa: E402
from pyspark.ml import feature as mllib  # noqa: E402
from pyspark.ml.functions import vector_to_array  # noqa: E402
from pyspark.sql import DataFrame, SparkSession  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from features.spec import build_pipeline, load_operations  # noqa: E402
from lakeprep.spark import get_spark  # noqa: E402

INPUT_PARTITIONS = 7  # no shuffle uses 7 partitions, so a 7-task stage is a scan of the input
NUMERIC = ["amount_sum_90d", "amount_mean_90d", "orders_count_90d", "tenure_days",
           "days_since_last_order", "events_count_30d"]
EXTRA = ["channel_const", "orders_copy", "amount_sum_x2"]
KEPT = ["amount_sum_90d_imp", "amount_mean_90d_imp", "orders_count_90d_imp", "tenure_days_imp",
        "days_since_last_order_imp", "events_count_30d_imp", "country_code", "segment_code"]


def generate(spark: SparkSession, rows: int) -> DataFrame:
    """N synthetic customer rows, cached and materialised (generation is not measured)."""
    base = spark.range(rows, numPartitions=INPUT_PARTITIONS)
    r = [F.rand(seed=s) for s in range(8)]
    amount = F.round(r[0] * 500, 2)
    df = base.select(
        F.col("id").alias("customer_id"),
        F.when(r[1] < 0.05, None).otherwise(amount).alias("amount_sum_90d"),
        F.when(r[2] < 0.05, None).otherwise(amount / 3 + r[3] * 40).alias("amount_mean_90d"),
        F.floor(r[4] * 20).cast("double").alias("orders_count_90d"),
        F.floor(r[5] * 3000).cast("double").alias("tenure_days"),
        F.when(r[6] < 0.1, None).otherwise(F.floor(r[6] * 90)).cast("double")
        .alias("days_since_last_order"),
        F.floor(r[7] * 50).cast("double").alias("events_count_30d"),
        F.element_at(F.array(*[F.lit(c) for c in ["DE", "FR", "NL", "IT", "ES"]]),
                     (F.abs(F.hash("id")) % 5 + 1).cast("int")).alias("country"),
        F.when(r[1] < 0.02, None).otherwise(
            F.element_at(F.array(*[F.lit(s) for s in ["gold", "silver", "bronze"]]),
                         (F.abs(F.hash(F.col("id") * 7)) % 3 + 1).cast("int"))).alias("segment"),
        F.lit(1.0).alias("channel_const"),
        F.floor(r[4] * 20).cast("double").alias("orders_copy"),
        (amount * 2).alias("amount_sum_x2"),
        (r[0] + r[2] * 0.5 > 0.7).cast("int").alias("purchased_next_30d"),
    )
    df = df.cache()
    df.count()
    return df


def spec(ops: dict) -> dict:
    """The benchmark spec; lakeprep's imputation/encoding stages when that family is present."""
    steps = [
        {"name": "drop_constant", "op": "drop_constant", "params": {"inputCols": EXTRA}},
        {"name": "drop_duplicates", "op": "drop_duplicates",
         "params": {"inputCols": ["orders_count_90d"] + EXTRA[1:]}},
        {"name": "drop_correlated", "op": "drop_correlated",
         "params": {"inputCols": ["amount_sum_90d", "amount_sum_x2"], "threshold": 0.95}},
        {"name": "impute_numbers", "op": "impute",
         "params": {"inputCols": NUMERIC, "outputCols": [f"{c}_imp" for c in NUMERIC],
                    "strategy": "median"}},
    ]
    if "impute_categorical" in ops and "ordinal_encode" in ops:
        steps += [
            {"name": "impute_text", "op": "impute_categorical",
             "params": {"inputCols": ["segment"], "outputCols": ["segment_imp"]}},
            {"name": "encode", "op": "ordinal_encode",
             "params": {"inputCols": ["country", "segment_imp"],
                        "outputCols": ["country_code", "segment_code"], "handleUnseen": "keep"}},
        ]
    else:
        steps += [{"name": "encode", "op": "string_index",
                   "params": {"inputCols": ["country", "segment"],
                              "outputCols": ["country_code", "segment_code"],
                              "handleInvalid": "keep"}}]
    steps += [
        {"name": "assemble", "op": "vector_assembler",
         "params": {"inputCols": KEPT, "outputCol": "raw"}},
        {"name": "scale", "op": "standard_scale",
         "params": {"inputCol": "raw", "outputCol": "features"}},
    ]
    return {"steps": steps}


def hand_built(spec_dict: dict, ops: dict) -> Pipeline:
    """The spec's stages constructed directly, without validation."""
    return Pipeline(stages=[ops[s["op"]](**s["params"]) for s in spec_dict["steps"]])


def plain_mllib() -> Pipeline:
    """The closest plain-MLlib pipeline."""
    return Pipeline(stages=[
        mllib.Imputer(inputCols=NUMERIC + EXTRA, outputCols=[f"{c}_imp" for c in NUMERIC + EXTRA],
                      strategy="median"),
        mllib.StringIndexer(inputCols=["country", "segment"],
                            outputCols=["country_code", "segment_code"], handleInvalid="keep"),
        mllib.VectorAssembler(inputCols=KEPT + [f"{c}_imp" for c in EXTRA], outputCol="all"),
        mllib.VarianceThresholdSelector(featuresCol="all", outputCol="raw", varianceThreshold=0.0),
        mllib.StandardScaler(inputCol="raw", outputCol="features"),
    ])


def jvm_memory(spark: SparkSession) -> tuple[float, float]:
    """Driver JVM peak RSS (MiB, since start) and heap in use (MiB)."""
    jvm = spark.sparkContext._jvm
    pid = jvm.java.lang.ProcessHandle.current().pid()
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    rt = jvm.java.lang.Runtime.getRuntime()
    return peak, (rt.totalMemory() - rt.freeMemory()) / 2**20


def measure(spark: SparkSession, name: str, make, data: DataFrame) -> dict:
    """Fit and apply one pipeline; count its jobs and input passes for the fit and the total."""
    sc = spark.sparkContext
    tracker = sc.statusTracker()
    result = {"pipeline": name}
    start = time.perf_counter()
    for phase in ("fit", "apply"):
        sc.setJobGroup(f"{name}-{phase}", phase)
        if phase == "fit":
            model = make().fit(data)
        else:
            # force every row through every stage, without collecting the rows
            model.transform(data).select(F.sum(vector_to_array("features")[0])).collect()
        jobs = tracker.getJobIdsForGroup(f"{name}-{phase}")
        stages = [tracker.getStageInfo(s) for j in jobs
                  for s in (tracker.getJobInfo(j).stageIds if tracker.getJobInfo(j) else [])]
        result[f"{phase}_jobs"] = len(jobs)
        result[f"{phase}_passes"] = sum(1 for s in stages
                                        if s and s.numTasks == INPUT_PARTITIONS
                                        and s.numCompletedTasks == INPUT_PARTITIONS)
        result[f"{phase}_s"] = time.perf_counter() - start
        start = time.perf_counter()
    result["driver_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["jvm_peak_mib"], result["jvm_heap_mib"] = jvm_memory(spark)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e5, help="rows to generate (1e5, 1e6...)")
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    spark = get_spark("bench-features", master=args.master,
                      conf={"spark.sql.shuffle.partitions": "4",
                            "spark.sql.adaptive.enabled": "false",
                            "spark.driver.memory": "3g"})
    ops = load_operations()
    data = generate(spark, int(args.rows))
    the_spec = spec(ops)
    start = time.perf_counter()
    build_pipeline(the_spec, data, source="bench")
    validate_ms = (time.perf_counter() - start) * 1000
    runs = [measure(spark, "spec", lambda: build_pipeline(the_spec, data, source="bench"), data),
            measure(spark, "hand", lambda: hand_built(the_spec, ops), data),
            measure(spark, "mllib", plain_mllib, data)]
    print(f"rows={int(args.rows)} input partitions={INPUT_PARTITIONS} "
          f"spec steps={len(the_spec['steps'])} spec validation={validate_ms:.1f} ms")
    header = ("pipeline", "fit_s", "fit_jobs", "fit_passes", "apply_s", "apply_jobs",
              "apply_passes", "driver_rss_mib", "jvm_peak_mib", "jvm_heap_mib")
    print(" ".join(f"{h:>14}" for h in header))
    for r in runs:
        print(" ".join(f"{r[h]:>14.2f}" if isinstance(r[h], float) else f"{r[h]:>14}"
                       for h in header))
    spark.stop()


if __name__ == "__main__":
    main()
