"""The demo pipeline end to end at a given number of order rows, and a pandas peer on one machine.

For each size: ``jobs.demo.run_demo`` on a fresh lake (generate -> ingest -> build-features ->
export -> Data Docs -> report) with 8 orders and 25 web events per customer; per stage the wall
time, the rows it handled, rows/s, and peak memory so far (driver JVM VmHWM, Python max RSS).
The peer does the same feature work (the snapshot aggregates and the steps of
conf/base/features.yaml) with pandas + scikit-learn / feature-engine on the same raw files, in a
subprocess limited to ``--peer-memory-gib`` of address space; a MemoryError is reported as where
it ran out of memory. Prints Markdown tables with the machine; cost should be linear in the size.

    PYTHONPATH=. LAKEPREP_JARS_DIR=jvm/jars .venv/bin/python bench/bench_demo.py \\
        --orders 1000000,4000000,16000000 --peer-memory-gib 16
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import jvm_peak_mib, machine, python_peak_mib, table

REPO = Path(__file__).resolve().parent.parent
ORDERS_PER_CUSTOMER = 8
CUTOFF = "2026-05-01"


def run_lakeprep(orders: int, keep_raw: Path | None = None
                 ) -> tuple[list[tuple[Any, ...]], str]:
    """The demo at ``orders`` order rows: one table row per stage, and the machine line.

    With ``keep_raw``, the generated raw files are copied there (for the peer).
    """
    from jobs.demo import run_demo
    from lakeprep.config import load_settings
    from lakeprep.report.record import StageResult
    from lakeprep.spark import session_for

    memory: dict[str, tuple[float, float]] = {}

    class Memory:
        """Peak memory when each stage ends (cumulative: VmHWM and ru_maxrss never go down)."""

        def __init__(self, spark: Any) -> None:
            self.spark = spark

        def stage_started(self, name: str, spark: Any) -> None:
            pass

        def stage_finished(self, result: StageResult) -> None:
            memory[result.name] = (jvm_peak_mib(self.spark), python_peak_mib())

    with tempfile.TemporaryDirectory(prefix="lakeprep-bench-demo-") as tmp:
        os.environ["LAKEPREP_DATA"] = tmp
        os.environ["LAKEPREP_CUTOFF"] = CUTOFF
        settings = load_settings("local", REPO / "conf")
        spark = session_for(settings)
        customers = max(orders // ORDERS_PER_CUSTOMER, 10)
        rec = run_demo(settings, customers=customers, spark=spark, listener=Memory(spark))
        rows = []
        for stage in rec.stages:
            jvm, py = memory.get(stage.name, (0.0, 0.0))
            rate = f"{stage.rows / stage.seconds:,.0f}" if stage.rows and stage.seconds else ""
            rows.append((f"{orders:,}", stage.name, f"{stage.seconds:.1f}",
                         f"{stage.rows:,}" if stage.rows else "", rate, f"{jvm:,.0f}",
                         f"{py:,.0f}"))
        total = sum(s.seconds for s in rec.stages)
        rows.append((f"{orders:,}", "**total**", f"{total:.1f}", "",
                     f"{orders / total:,.0f} orders/s", "", ""))
        line = machine(spark)
        if keep_raw is not None:
            subprocess.run(["cp", "-r", settings.lake.layers["raw"], str(keep_raw)], check=True)
        spark.stop()
    return rows, line


def peer_features(raw: Path, out: Path) -> dict[str, Any]:
    """The feature work of conf/base/features.yaml in pandas + feature-engine; timings per step."""
    import numpy as np
    import pandas as pd
    from feature_engine.encoding import MeanEncoder, OneHotEncoder, RareLabelEncoder
    from feature_engine.imputation import (
        AddMissingIndicator,
        ArbitraryNumberImputer,
        CategoricalImputer,
        MeanMedianImputer,
    )
    from feature_engine.outliers import Winsorizer

    steps: dict[str, float] = {}
    t0 = time.perf_counter()

    def step(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        steps[name] = round(now - t0, 2)
        t0 = now

    def when(values: pd.Series) -> pd.Series:
        # Offsets vary between lines: read every timestamp as UTC, then drop the zone.
        return pd.to_datetime(values, errors="coerce", utc=True, format="mixed"
                              ).dt.tz_localize(None)

    def read_json(folder: str, ts: str) -> pd.DataFrame:
        # The sample data carries malformed lines (as raw data does): skip them, as ingest does.
        records = []
        for f in sorted((raw / folder).glob("batch_*/*.jsonl")):
            with f.open(encoding="utf-8", errors="replace") as lines:
                for line in lines:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(record, dict):
                        records.append(record)
        df = pd.DataFrame.from_records(records)
        df[ts] = when(df[ts])
        return df.dropna(subset=[ts, "customer_id"])

    orders = read_json("orders", "order_ts")
    orders["amount"] = pd.to_numeric(orders["amount"], errors="coerce")
    orders = orders.drop_duplicates("order_id")
    events = read_json("web_events", "event_ts").drop_duplicates("event_id")
    def read_csv(path: Path) -> pd.DataFrame:
        # A line with an unclosed quote would swallow the rest of the file (pandas reads quoted
        # fields across lines): drop it, as ingest quarantines it, then skip short/long rows.
        with path.open(encoding="utf-8", errors="replace") as lines:
            kept = [line for line in lines if line.count('"') % 2 == 0]
        return pd.read_csv(io.StringIO("".join(kept)), on_bad_lines="skip")

    customers = pd.concat([read_csv(f) for f in sorted(
        (raw / "customers").glob("batch_*/*.csv"))], ignore_index=True)
    customers["signup_ts"] = when(customers["signup_ts"])
    customers = customers.drop_duplicates("customer_id", keep="last")
    step("read + parse + dedup")

    cutoff = pd.Timestamp(CUTOFF)
    snap = customers[customers["signup_ts"] < cutoff].set_index("customer_id")
    snap = snap[["country", "segment", "birth_year", "signup_ts"]].copy()
    snap["tenure_days"] = (cutoff - snap["signup_ts"].dt.normalize()).dt.days
    snap["birth_year"] = pd.to_numeric(snap["birth_year"], errors="coerce")
    snap["age"] = cutoff.year - snap["birth_year"]
    before = orders[orders["order_ts"] < cutoff]
    for days in (30, 90):
        w = before[before["order_ts"] >= cutoff - pd.Timedelta(days=days)]
        g = w.groupby("customer_id")
        snap[f"orders_count_{days}d"] = g.size()
        for fn in ("sum", "mean", "max"):
            snap[f"amount_{fn}_{days}d"] = g["amount"].agg(fn)
        snap[f"category_count_distinct_{days}d"] = g["category"].nunique()
    snap["days_since_last_order"] = (cutoff - before.groupby("customer_id")["order_ts"].max()
                                     ).dt.days
    ev = events[(events["event_ts"] < cutoff)]
    snap["events_count_30d"] = ev[ev["event_ts"] >= cutoff - pd.Timedelta(days=30)].groupby(
        "customer_id").size()
    snap["days_since_last_event"] = (cutoff - ev.groupby("customer_id")["event_ts"].max()).dt.days
    after = orders[(orders["order_ts"] >= cutoff)
                   & (orders["order_ts"] < cutoff + pd.Timedelta(days=30))]
    snap["purchased_next_30d"] = snap.index.isin(after["customer_id"]).astype(float)
    counts = [c for c in snap.columns if "_count_" in c]
    snap[counts] = snap[counts].fillna(0)
    step("snapshot aggregates")

    x = snap.reset_index()
    x = AddMissingIndicator(variables=["age", "amount_mean_90d", "days_since_last_order",
                                       "days_since_last_event"]).fit_transform(x)
    x = ArbitraryNumberImputer(arbitrary_number=999, variables=[
        "days_since_last_order", "days_since_last_event"]).fit_transform(x)
    x = MeanMedianImputer(imputation_method="median", variables=[
        "age", "amount_mean_30d", "amount_max_30d", "amount_mean_90d", "amount_max_90d"]
    ).fit_transform(x)
    x = Winsorizer(capping_method="iqr", fold=1.5, tail="both",
                   variables=["amount_sum_90d", "amount_max_90d"]).fit_transform(x.fillna(
                       {"amount_sum_90d": 0.0}))
    x["amount_sum_90d_log"] = np.log1p(x["amount_sum_90d"].clip(lower=0))
    x = CategoricalImputer(fill_value="Missing", variables=["country", "segment"]).fit_transform(
        x)
    x = RareLabelEncoder(tol=0.02, n_categories=1, variables=["country"],
                         replace_with="Rare").fit_transform(x)
    x["country_te"] = MeanEncoder(variables=["country"], smoothing=20.0).fit_transform(
        x[["country"]], x["purchased_next_30d"])["country"]
    x = OneHotEncoder(variables=["country", "segment"]).fit_transform(x)
    step("feature pipeline (fit + transform)")
    x.drop(columns=["signup_ts"]).to_parquet(out)
    step("write Parquet")
    return {"steps": steps, "rows": len(x), "peak_mib": python_peak_mib()}


def run_peer(raw: str, limit_gib: float) -> dict[str, Any]:
    """``peer_features`` in a subprocess under an address-space limit: its result or its error."""
    code = (f"import json, resource, sys; sys.path.insert(0, {str(Path(__file__).parent)!r});"
            f"lim = int({limit_gib} * 2**30); resource.setrlimit(resource.RLIMIT_AS, (lim, lim));"
            "from pathlib import Path; import bench_demo;"
            "r = bench_demo.peer_features(Path(sys.argv[1]), Path(sys.argv[2]));"
            "print(json.dumps(r))")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, raw, str(Path(tmp) / "x.parquet")],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
    if done.returncode == 0:
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall"] = wall
        return result
    last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"error": last, "wall": wall,
            "oom": "MemoryError" in done.stderr or "Unable to allocate" in done.stderr}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", default="1000000,4000000,16000000",
                    help="comma-separated order row counts")
    ap.add_argument("--peer", action="store_true", help="also run the pandas peer")
    ap.add_argument("--peer-memory-gib", type=float, default=8.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    lake_rows, peer_rows, line = [], [], ""
    for n in [int(float(s)) for s in args.orders.split(",")]:
        with tempfile.TemporaryDirectory(prefix="lakeprep-bench-peer-") as keep:
            raw = Path(keep) / "raw"
            rows, line = run_lakeprep(n, raw if args.peer else None)
            lake_rows += rows
            got = run_peer(str(raw), args.peer_memory_gib) if args.peer else None
        if got is not None:
            if "error" in got:
                what = "out of memory" if got["oom"] else "failed"
                peer_rows.append((f"{n:,}", f"{got['wall']:.1f}", "", "",
                                  f"{what} under {args.peer_memory_gib} GiB: {got['error']}"))
            else:
                steps = ", ".join(f"{k} {v:.1f}s" for k, v in got["steps"].items())
                peer_rows.append((f"{n:,}", f"{got['wall']:.1f}", f"{got['rows']:,}",
                                  f"{got['peak_mib']:,.0f}", steps))
    print(f"Demo pipeline end to end (8 orders, 25 web events per customer). {line}")
    print()
    print(table(["orders", "stage", "seconds", "rows", "rows/s", "JVM peak MiB",
                 "Python peak MiB"], lake_rows))
    if peer_rows:
        print(f"\nPeer: the same feature work in pandas + feature-engine, one process limited to "
              f"{args.peer_memory_gib} GiB (RLIMIT_AS)")
        print()
        print(table(["orders", "seconds", "feature rows", "peak MiB", "steps / error"],
                    peer_rows))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
