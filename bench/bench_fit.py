"""Benchmark (a): fit + transform + write of one feature workload, four ways, side by side.

    python bench/bench_fit.py --rows 1e6,4e6

The workload (issue 13): N rows of 8 lognormal numerics with 5 % nulls and 3 categoricals of
5/50/500 levels; median-impute the 8, 10 quantile bins on 2 of them, string-index + one-hot the
3, assemble + standard-scale the 8, write Parquet. Run as:

- ``spec fused``:    ``features.spec.build_pipeline`` (the default, fused fit);
- ``spec unfused``:  the same spec with ``fit: {fused: false}`` (Pipeline's stage-by-stage fit);
- ``mllib``:         the same stages hand-written as a ``pyspark.ml.Pipeline``;
- ``pandas+sklearn``: pandas reads the Parquet, scikit-learn's SimpleImputer, KBinsDiscretizer,
  OrdinalEncoder, OneHotEncoder (sparse) and StandardScaler, pandas writes Parquet (the one-hot
  rows are written as their active index, what a sparse vector of one active slot holds).

The input is generated once as Parquet (not measured). Each variant runs in a process of its
own, so its peak memory is its own: Python's peak RSS (``ru_maxrss``) and the driver JVM's
(``VmHWM``). Time is fit, then fit + transform + write; Spark jobs come from the status tracker
(one job group per phase); passes are completed stages whose task count is the input's
partition count (a scan of the input, from the files or from the fit's cache). Several sizes
(``--rows 2e5,1e6``) run one after the other and print in one table, side by side.

``spec fused cached`` (not run by default) is ``spec fused`` with the input always cached for
the fit, to compare with the fused fit's own rule (cache only an input costly to recompute).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NUMERIC = [f"x{i}" for i in range(8)]
CATEGORICAL = {"c5": 5, "c50": 50, "c500": 500}
BINNED = NUMERIC[:2]
SHUFFLE_PARTITIONS = 5  # unlike any input partition count below, so shuffles are not passes
VARIANTS = ("spec fused", "spec unfused", "mllib", "pandas+sklearn")
EXTRA_VARIANTS = ("spec fused cached",)


def spark_session(app: str) -> Any:
    from lakeprep.spark import get_spark
    return get_spark(app, master="local[2]",
                     conf={"spark.sql.shuffle.partitions": str(SHUFFLE_PARTITIONS),
                           "spark.driver.memory": "6g", "spark.ui.enabled": "false"})


def generate(rows: int, path: Path) -> None:
    """N rows as Parquet: lognormal numerics with 5 % nulls, uniform categoricals."""
    from pyspark.sql import functions as F
    spark = spark_session("bench-fit-generate")
    df = spark.range(rows, numPartitions=4)
    cols = [F.col("id")]
    for i, c in enumerate(NUMERIC):
        value = F.exp(F.randn(seed=i) * 0.8 + 1.0 + i * 0.3)
        cols.append(F.when(F.rand(seed=100 + i) < 0.05, None).otherwise(value).alias(c))
    for j, (c, levels) in enumerate(CATEGORICAL.items()):
        cols.append(F.concat(F.lit(f"{c}_"), F.floor(F.rand(seed=200 + j) * levels)
                             .cast("int").cast("string")).alias(c))
    df.select(*cols).write.mode("overwrite").parquet(str(path))
    spark.stop()


def spec() -> dict:
    imputed = [f"{c}_imp" for c in NUMERIC]
    cats = list(CATEGORICAL)
    return {"steps": [
        {"name": "impute", "op": "impute",
         "params": {"strategy": "median", "inputCols": NUMERIC, "outputCols": imputed}},
        {"name": "bins", "op": "equal_frequency_discretise",
         "params": {"inputCols": imputed[:2], "outputCols": [f"{c}_bin" for c in BINNED],
                    "numBuckets": 10}},
        {"name": "index", "op": "string_index",
         "params": {"inputCols": cats, "outputCols": [f"{c}_idx" for c in cats],
                    "handleInvalid": "keep"}},
        {"name": "one_hot", "op": "one_hot_vector_encode",
         "params": {"inputCols": [f"{c}_idx" for c in cats],
                    "outputCols": [f"{c}_ohe" for c in cats]}},
        {"name": "assemble", "op": "vector_assembler",
         "params": {"inputCols": imputed, "outputCol": "numeric"}},
        {"name": "scale", "op": "standard_scale",
         "params": {"inputCol": "numeric", "outputCol": "scaled"}},
    ]}


def mllib_pipeline() -> Any:
    from pyspark.ml import Pipeline
    from pyspark.ml import feature as mllib
    imputed = [f"{c}_imp" for c in NUMERIC]
    cats = list(CATEGORICAL)
    return Pipeline(stages=[
        mllib.Imputer(strategy="median", inputCols=NUMERIC, outputCols=imputed),
        mllib.QuantileDiscretizer(inputCols=imputed[:2], outputCols=[f"{c}_bin" for c in BINNED],
                                  numBuckets=10),
        mllib.StringIndexer(inputCols=cats, outputCols=[f"{c}_idx" for c in cats],
                            handleInvalid="keep"),
        mllib.OneHotEncoder(inputCols=[f"{c}_idx" for c in cats],
                            outputCols=[f"{c}_ohe" for c in cats]),
        mllib.VectorAssembler(inputCols=imputed, outputCol="numeric"),
        mllib.StandardScaler(inputCol="numeric", outputCol="scaled"),
    ])


def jvm_peak_mib(spark: Any) -> float:
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_spark(variant: str, source: Path, out: Path) -> dict:
    """Fit, then transform + write, in job groups of their own; count jobs and input passes."""
    from features.fused import driver
    from features.spec import build_pipeline
    if variant == "spec fused cached":
        driver.costly_to_recompute = lambda df: True  # type: ignore[assignment]
    spark = spark_session(f"bench-fit-{variant.replace(' ', '-')}")
    sc = spark.sparkContext
    tracker = sc.statusTracker()
    data = spark.read.parquet(str(source))
    partitions = data.rdd.getNumPartitions()  # no job: the file splits
    result: dict[str, Any] = {"variant": variant}
    start = time.perf_counter()
    for phase in ("fit", "write"):
        group = f"{variant}-{phase}"
        sc.setJobGroup(group, group)
        if phase == "fit":
            if variant == "mllib":
                model = mllib_pipeline().fit(data)
            else:
                pipeline = build_pipeline(spec(), data, source="bench",
                                          fused=variant != "spec unfused")
                model = pipeline.fit(data)
                result["report"] = str(model.fit_report)
        else:
            model.transform(data).write.mode("overwrite").parquet(str(out))
        jobs = tracker.getJobIdsForGroup(group)
        infos = [tracker.getJobInfo(j) for j in jobs]
        stages = [tracker.getStageInfo(s) for info in infos if info for s in info.stageIds]
        result[f"{phase}_s"] = time.perf_counter() - start
        result[f"{phase}_jobs"] = len(jobs)
        result[f"{phase}_passes"] = sum(1 for s in stages if s and s.numTasks == partitions
                                        and s.numCompletedTasks == partitions)
        start = time.perf_counter()
    result["jvm_peak_mib"] = jvm_peak_mib(spark)
    spark.stop()
    return result


def run_pandas(source: Path, out: Path) -> dict:
    """The same work on one machine: pandas + scikit-learn, the whole frame in memory."""
    import numpy as np
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import (
        KBinsDiscretizer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )
    start = time.perf_counter()
    df = pd.read_parquet(source)
    imputer = SimpleImputer(strategy="median").fit(df[NUMERIC])
    bins = KBinsDiscretizer(n_bins=10, encode="ordinal", strategy="quantile", subsample=None)
    cats = list(CATEGORICAL)
    indexer = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1)
    one_hot = OneHotEncoder(handle_unknown="ignore")
    scaler = StandardScaler()
    imputed = imputer.transform(df[NUMERIC])
    bins.fit(imputed[:, :2])
    indexer.fit(df[cats])
    one_hot.fit(df[cats])
    scaler.fit(imputed)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    for k, c in enumerate(NUMERIC):
        df[f"{c}_imp"] = imputed[:, k]
    binned = bins.transform(imputed[:, :2])
    for k, c in enumerate(BINNED):
        df[f"{c}_bin"] = binned[:, k]
    codes = indexer.transform(df[cats])
    for k, c in enumerate(cats):
        df[f"{c}_idx"] = codes[:, k]
    active = one_hot.transform(df[cats]).tocsr()  # sparse, one active slot per categorical
    for k, c in enumerate(cats):
        df[f"{c}_ohe"] = active.indices[k::len(cats)].astype(np.int32)
    scaled = scaler.transform(imputed)
    for k, c in enumerate(NUMERIC):
        df[f"{c}_scaled"] = scaled[:, k]
    out.mkdir(parents=True, exist_ok=True)
    df.to_parquet(out / "part-0.parquet")
    return {"variant": "pandas+sklearn", "fit_s": fit_s, "write_s": time.perf_counter() - start,
            "fit_jobs": "-", "fit_passes": "-", "write_jobs": "-", "write_passes": "-",
            "jvm_peak_mib": "-"}


def child(variant: str, source: Path, out: Path) -> None:
    result = (run_pandas(source, out) if variant == "pandas+sklearn"
              else run_spark(variant, source, out))
    result["python_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="2e5",
                        help="rows to generate, one size or a comma list (2e5 or 1e6,4e6)")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated subset of: {', '.join(VARIANTS + EXTRA_VARIANTS)}")
    parser.add_argument("--work", help="folder for the input and outputs (default: a temp dir)")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # a child process runs one
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:
        child(args.variant, Path(args.source), Path(args.out))
        return
    sizes = [int(float(r)) for r in args.rows.split(",")]
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS + EXTRA_VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; valid: {', '.join(VARIANTS + EXTRA_VARIANTS)}")
    results: dict[int, list[dict]] = {}
    for rows in sizes:
        results[rows] = run_size(rows, variants, args.work)
        print_table({rows: results[rows]})  # each size as it ends, then all side by side
    if len(sizes) > 1:
        print_table(results)


def run_size(rows: int, variants: list[str], work: str | None) -> list[dict]:
    """Generate ``rows`` rows, run every variant in a process of its own, return their results."""
    with tempfile.TemporaryDirectory(prefix="bench-fit-", dir=work) as tmp:
        source = Path(tmp) / "input"
        t0 = time.perf_counter()
        generate(rows, source)
        print(f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)
        results = []
        for variant in variants:
            out = Path(tmp) / f"out-{variant.replace(' ', '-').replace('+', '-')}"
            proc = subprocess.run([sys.executable, __file__, "--variant", variant,
                                   "--source", str(source), "--out", str(out)],
                                  capture_output=True, text=True, check=False)
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode or not line:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"{variant}: failed (exit {proc.returncode}): {tail}", flush=True)
                continue
            results.append(json.loads(line[0][len("RESULT "):]))
    return results


def _cells(r: dict, base: dict | None) -> list[str]:
    total = r["fit_s"] + r["write_s"]
    if r["fit_jobs"] == "-":
        jobs = passes = "-"
    else:
        jobs = f"{r['fit_jobs']} / {r['fit_jobs'] + r['write_jobs']}"
        passes = f"{r['fit_passes']} / {r['fit_passes'] + r['write_passes']}"
    ratio = f"{total / (base['fit_s'] + base['write_s']):.2f}x" if base else "-"
    jvm = r["jvm_peak_mib"] if r["jvm_peak_mib"] == "-" else f"{r['jvm_peak_mib']:.0f}"
    return [f"{r['fit_s']:.1f}", f"{total:.1f}", ratio, jobs, passes, jvm,
            f"{r['python_peak_mib']:.0f}"]


def print_table(results: dict[int, list[dict]]) -> None:
    """One row per variant; per size its columns (fit s, fit+write s, vs mllib, jobs and
    passes as fit / all, peak MiB of the JVM and of Python)."""
    sizes = list(results)
    print(f"\nrows={', '.join(f'{n:,}' for n in sizes)}; 8 numerics (5 % null), categoricals of "
          "5/50/500 levels; local[2]")
    columns = ("fit s", "fit+write s", "vs mllib", "jobs fit/all", "passes fit/all",
               "JVM peak MiB", "Python peak MiB")
    header = ["variant"] + [f"{n / 1e6:g}M {c}" if len(sizes) > 1 else c
                            for n in sizes for c in columns]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    variants = list(dict.fromkeys(r["variant"] for rs in results.values() for r in rs))
    for variant in variants:
        cells = [variant]
        for n in sizes:
            base = next((r for r in results[n] if r["variant"] == "mllib"), None)
            found = next((r for r in results[n] if r["variant"] == variant), None)
            cells += _cells(found, base) if found else ["failed"] + ["-"] * (len(columns) - 1)
        print("| " + " | ".join(cells) + " |")
    for n in sizes:
        for r in results[n]:
            if "report" in r:
                print(f"{n:,} rows, {r['variant']}: {r['report']}")


if __name__ == "__main__":
    main()
