"""build_features and transform on small bronze tables, with the shipped conf and spec."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable

from jobs import build_features, transform
from lakeprep.config import load_settings
from lakeprep.errors import GateFailed
from lakeprep.runtime import JobContext

REPO = Path(__file__).resolve().parents[2]
CUTOFF = date(2026, 5, 1)
T = dt.datetime


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    """Bronze customers, orders and web events written straight through the lake API."""
    root = tmp_path_factory.mktemp("features_lake")
    os.environ["LAKEPREP_DATA"] = str(root)
    settings = load_settings("local", REPO / "conf")
    ctx = JobContext.start(settings, "fixture", spark=spark)
    customers = [(f"C{i:07d}", ["US", "GB", "DE"][i % 3], ["consumer", "enterprise"][i % 2],
                  1960 + i, T(2026, 1, 1) + dt.timedelta(days=i)) for i in range(40)]
    customers.append(("C9999999", "US", "consumer", 1990, T(2026, 6, 1)))  # signs up later
    ctx.table("customers").append(spark.createDataFrame(
        customers, "customer_id string, country string, segment string, birth_year int, "
                   "signup_ts timestamp").withColumn("signup_date", __import__(
                       "pyspark.sql.functions", fromlist=["to_date"]).to_date("signup_ts")), {})
    orders = []
    for i in range(40):
        cid = f"C{i:07d}"
        for k in range(i % 4):  # some customers never order
            orders.append((f"O{i}-{k}", cid, T(2026, 4, 1 + k * 7), 10.0 * (k + 1), "books"))
        if i % 3 == 0:  # buys again within 30 days after the cutoff: label 1
            orders.append((f"O{i}-late", cid, T(2026, 5, 10), 5.0, "toys"))
    # at the cutoff itself and after it: must never reach a feature
    orders.append(("O-at-cutoff", "C0000001", T(2026, 5, 1), 1e9, "leak"))
    orders_df = spark.createDataFrame(orders, "order_id string, customer_id string, "
                                              "order_ts timestamp, amount double, category string")
    ctx.table("orders").append(orders_df.selectExpr("*", "to_date(order_ts) AS order_date"), {})
    events = [(f"E{i}", f"C{i:07d}", T(2026, 4, 20)) for i in range(0, 40, 2)]
    ctx.table("web_events").append(spark.createDataFrame(
        events, "event_id string, customer_id string, event_ts timestamp")
        .selectExpr("*", "to_date(event_ts) AS event_date"), {})
    return root, settings


def test_build_features_writes_the_table_the_model_and_the_lineage(spark, lake):
    root, settings = lake
    ctx = JobContext.start(settings, "build-features", spark=spark)
    run = build_features.run(ctx, CUTOFF)
    # every set by default: the taxi set's source was never ingested here, so it is skipped
    assert list(run.reports) == ["customer"] and "taxi_trips" in run.skipped["taxi_tips"]
    report = run["customer"]
    assert report.rows == 40  # the customer who signed up after the cutoff is left out
    # 14 buy again after the cutoff, and C0000001 orders exactly at it (label, not feature)
    assert report.label_balance == {"0": 25, "1": 15}
    table = ctx.table("customer_features")
    df = table.read()
    assert DeltaTable(table.location).metadata().partition_columns == ["snapshot_date"]
    assert {r.snapshot_date for r in df.select("snapshot_date").collect()} == {dt.date(2026, 5, 1)}
    meta = table.commit_metadata()
    names = meta["features"]["names"]
    assert len(df.first().features) == len(names) == len(report.feature_names)
    assert "tenure_days" in names and meta["features"]["label"] == "purchased_next_30d"
    assert {i["table"] for i in meta["inputs"]} == {"customers", "orders", "web_events"}
    assert meta["gate"]["verdict"] == "pass"
    assert Path(meta["features"]["pipeline_model"], "metadata").exists()
    # point in time: the 1e9 order at the cutoff never reaches a feature
    assert df.agg({"amount_max_90d": "max"}).first()[0] < 1e6
    c1 = df.where("customer_id = 'C0000001'").first()
    assert (c1.orders_count_90d, c1.purchased_next_30d) == (1, 1)


def test_transform_is_deterministic_and_reproduced_by_a_fresh_process(spark, lake):
    root, settings = lake
    ctx = JobContext.start(settings, "transform", spark=spark)
    if ctx.table("customer_features").version() is None:
        build_features.run(JobContext.start(settings, "build-features", spark=spark), CUTOFF)
    first = transform.run(ctx, date(2026, 5, 15))["customer"]
    table = ctx.table("customer_features_inference")
    v_first = table.version()
    cols = ["customer_id", "snapshot_date", "features"]
    ours = table.read(version=v_first).select(*cols).orderBy("customer_id")
    env = {**os.environ, "LAKEPREP_DATA": str(root), "LAKEPREP_CONF_DIR": str(REPO / "conf")}
    proc = subprocess.run([sys.executable, "-m", "jobs.cli", "run", "transform", "--env", "local",
                           "--cutoff", "2026-05-15"], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert table.version() == v_first + 1
    theirs = table.read().select(*cols).orderBy("customer_id")
    assert_df_equality(ours, theirs)
    assert first.rows == 40 and first.drift is not None


def test_feature_gate_failure_leaves_the_table_unchanged(spark, lake):
    root, settings = lake
    ctx = JobContext.start(settings, "build-features", spark=spark)
    before = ctx.table("customer_features").version()
    # on 2026-01-05 only 4 customers exist: the suite asks for at least 10 rows
    with pytest.raises(GateFailed, match="customer_features.*row_count"):
        build_features.run(ctx, date(2026, 1, 5))
    assert ctx.table("customer_features").version() == before
