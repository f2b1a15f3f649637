"""The ingest job on small hand-made batches, and end-to-end on the NYC taxi samples."""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from jobs import ingest
from lakeprep import quarantine
from lakeprep.config import load_settings
from lakeprep.errors import GateFailed, InputError, SchemaDriftError
from lakeprep.runtime import JobContext

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"

CATALOG = """
tables:
  raw_people:
    layer: raw
    source: {format: csv, path: "people/*.csv"}
    columns:
      - {name: id, type: string, nullable: false}
      - {name: email, type: string, pii: hash}
      - {name: name, type: string, pii: drop}
      - {name: age, type: int}
      - {name: seen_at, type: timestamp, format: "yyyy-MM-dd HH:mm:ss", nullable: false}
  people:
    layer: bronze
    upstream: raw_people
    derive: {seen_date: "to_date(seen_at)"}
    partition_by: [seen_date]
    primary_key: [id]
    order_by: seen_at
    schema_drift: DRIFT
  raw_orders:
    layer: raw
    source: {format: json, path: "orders/*.jsonl"}
    columns:
      - {name: order_id, type: string, nullable: false}
      - {name: amount, type: double}
      - {name: order_ts, type: timestamp, nullable: false}
  orders:
    layer: bronze
    upstream: raw_orders
    derive: {order_date: "to_date(order_ts)"}
    partition_by: [order_date]
    primary_key: [order_id]
    schema_drift: evolve
    gate: GATE
"""

ORDERS_SUITE = """
table: orders
expectations:
  - expect_column_values_to_be_between: {column: amount, min_value: 0}
"""


def make_conf(root: Path, drift: str = "fail", gate: str | None = None) -> Path:
    conf = root / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base/catalog.yaml").write_text(
        CATALOG.replace("DRIFT", drift).replace("GATE", gate or "fail"))
    if gate:
        (conf / "base/quality").mkdir()
        (conf / "base/quality/orders.yaml").write_text(ORDERS_SUITE)
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        lake:
          engine: deltalake
          layers: {{raw: {root}/raw, bronze: {root}/bronze}}
          system: {root}/system
        ingest: {{tables: [people, orders]}}
        """))
    return conf


def write_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


PEOPLE_1 = [
    "id,email,name,age,seen_at",
    "p1,a@x.io,Ann,34,2026-01-01 10:00:00",
    "p2,b@x.io,Bob,41,2026-01-02 11:00:00",
    "p2,b@x.io,Bob,41,2026-01-02 11:00:00",         # exact duplicate
    "p3,c@x.io,Cy,abc,2026-01-02 12:00:00",         # wrong type
    "p4,d@x.io,Di,29",                              # missing field
    ",e@x.io,Ed,50,2026-01-03 09:00:00",            # null primary key
    'p5,"unclosed,Fay,22,2026-01-03 09:00:00',      # unclosed quote
    "",                                             # blank line: not a record
]
ORDERS_1 = [
    json.dumps({"order_id": "o1", "amount": 10.5, "order_ts": "2026-01-01T10:00:00Z"}),
    json.dumps({"order_id": "o2", "amount": -3, "order_ts": "2026-01-02T10:00:00Z"}),
    '{"order_id": "o3", "amount": 1',                                   # truncated JSON
    json.dumps({"order_id": "o4", "amount": "12,50", "order_ts": "2026-01-02T11:00:00Z"}),
]


@pytest.fixture
def lake(tmp_path):
    write_lines(tmp_path / "raw/people/p1.csv", PEOPLE_1)
    write_lines(tmp_path / "raw/orders/o1.jsonl", ORDERS_1)
    return tmp_path


def run(spark, root: Path, drift: str = "fail", tables=None, gate: str | None = None):
    conf = root / "conf"
    if not conf.exists():
        make_conf(root, drift, gate)
    settings = load_settings("local", conf, environ={})
    ctx = JobContext.start(settings, "ingest", spark=spark)
    return ctx, {r.table: r for r in ingest.run(ctx, tables)}


def test_first_run_lands_good_rows_and_quarantines_the_rest(spark, lake):
    ctx, reports = run(spark, lake)
    people, orders = reports["people"], reports["orders"]
    assert (people.rows_read, people.rows_inserted, people.quarantined,
            people.duplicates_in_batch) == (7, 2, 4, 1)
    assert people.reconciles and orders.reconciles
    assert (orders.rows_read, orders.rows_inserted, orders.quarantined) == (4, 2, 2)

    bronze = ctx.table("people").read()
    assert sorted(bronze.columns) == sorted(["id", "email", "age", "seen_at", "seen_date",
                                             "_source_file", "_ingested_at", "_run_id"])
    rows = {r.id: r for r in bronze.collect()}
    assert set(rows) == {"p1", "p2"}
    assert rows["p1"].email != "a@x.io" and len(rows["p1"].email) == 64  # salted sha-256
    assert DeltaTable(ctx.spec("people").location).metadata().partition_columns == ["seen_date"]

    q = quarantine.quarantine_table(ctx, "people").read()
    reasons = {r._raw_record: r._reasons for r in q.collect()}
    assert reasons["p3,c@x.io,Cy,abc,2026-01-02 12:00:00"] == ["age: 'abc' is not a valid int"]
    assert reasons["p4,d@x.io,Di,29"] == ["malformed line: 4 fields, the header has 5"]
    assert reasons[",e@x.io,Ed,50,2026-01-03 09:00:00"] == ["id: missing (declared not null)"]
    assert reasons['p5,"unclosed,Fay,22,2026-01-03 09:00:00'] == [
        "malformed line: unclosed quote"]
    assert all(r._source_file.endswith("p1.csv") for r in q.collect())
    oq = {r._raw_record: r._reasons for r in quarantine.quarantine_table(ctx, "orders").read()
          .collect()}
    assert oq['{"order_id": "o3", "amount": 1'] == [
        "malformed line: not exactly one JSON object (broken or single-quoted JSON, a second "
        "object or text after it)"]
    assert any("amount: '12,50' is not a valid double" in r for v in oq.values() for r in v)

    meta = ctx.table("people").commit_metadata()
    assert meta["job"] == "ingest" and meta["counts"]["rows_read"] == 7
    (recorded,) = meta["inputs"][0]["files"]
    assert recorded["path"].endswith("p1.csv")
    assert recorded["sha256"] == hashlib.sha256((lake / "raw/people/p1.csv").read_bytes()
                                                ).hexdigest()
    assert meta["config_hash"] == ctx.settings.conf_hash


def test_second_run_over_the_same_files_changes_nothing(spark, lake):
    ctx, _ = run(spark, lake)
    versions = {n: ctx.table(n).version() for n in ("people", "orders")}
    counts = {n: ctx.table(n).read().count() for n in versions}
    q_count = quarantine.quarantine_table(ctx, "people").read().count()
    ctx2, reports = run(spark, lake)
    assert all(r.files_new == 0 and r.files_seen == 1 for r in reports.values())
    assert {n: ctx2.table(n).version() for n in versions} == versions
    assert {n: ctx2.table(n).read().count() for n in versions} == counts
    assert quarantine.quarantine_table(ctx2, "people").read().count() == q_count


def test_new_file_is_picked_up_and_upserts_by_key(spark, lake):
    run(spark, lake)
    write_lines(lake / "raw/people/p2.csv", [
        "id,email,name,age,seen_at",
        "p1,a2@x.io,Ann,35,2026-02-01 10:00:00",    # newer: replaces p1, in another partition
        "p2,b@x.io,Bob,40,2025-12-01 10:00:00",     # older than what the table has: kept out
        "p9,z@x.io,Zed,60,2026-02-02 10:00:00",
    ])
    ctx, reports = run(spark, lake, tables=["people"])
    r = reports["people"]
    assert (r.files_new, r.files_seen, r.rows_read) == (1, 1, 3)
    assert (r.rows_inserted, r.rows_updated, r.duplicates_existing) == (1, 1, 1)
    assert r.reconciles
    rows = {x.id: x for x in ctx.table("people").read().collect()}
    assert sorted(rows) == ["p1", "p2", "p9"]
    assert (rows["p1"].age, str(rows["p1"].seen_date)) == (35, "2026-02-01")
    assert rows["p2"].age == 41


def test_schema_drift_fail_stops_before_writing(spark, lake):
    run(spark, lake)
    write_lines(lake / "raw/people/p3.csv", ["id,email,name,age,seen_at,tier",
                                             "p7,g@x.io,Gil,30,2026-03-01 10:00:00,gold"])
    ctx = None
    with pytest.raises(SchemaDriftError, match=r"(?s)people: the new batch has extra column\(s\) "
                                               r"\['tier'\].*p3.csv"):
        ctx, _ = run(spark, lake, tables=["people"])
    settings = load_settings("local", lake / "conf", environ={})
    assert JobContext.start(settings, "check", spark=spark).table("people").version() == 0


def test_schema_drift_evolve_adds_the_column(spark, lake):
    run(spark, lake)
    write_lines(lake / "raw/orders/o2.jsonl", [json.dumps(
        {"order_id": "o9", "amount": 5.0, "order_ts": "2026-01-05T10:00:00Z",
         "coupon": "SPRING"})])
    ctx, reports = run(spark, lake, tables=["orders"])
    assert reports["orders"].extra_columns == ["coupon"]
    got = {r.order_id: r.coupon for r in ctx.table("orders").read().collect()}
    assert got == {"o1": None, "o2": None, "o9": "SPRING"}


def test_schema_drift_ignore_drops_the_extra_column(spark, tmp_path):
    make_conf(tmp_path, drift="ignore")
    write_lines(tmp_path / "raw/people/p.csv", ["id,email,name,age,seen_at,tier",
                                                "p7,g@x.io,Gil,30,2026-03-01 10:00:00,gold"])
    write_lines(tmp_path / "raw/orders/o.jsonl", ORDERS_1[:1])
    ctx, reports = run(spark, tmp_path)
    assert reports["people"].rows_inserted == 1
    assert "tier" not in ctx.table("people").read().columns


def test_missing_input_path_is_a_clear_error_and_writes_nothing(spark, tmp_path):
    make_conf(tmp_path)
    with pytest.raises(InputError, match=r"table people: no input files match .*people/\*\.csv "
                                         r"\(tables.raw_people.source.path\)"):
        run(spark, tmp_path, tables=["people"])
    assert not (tmp_path / "bronze").exists()


def test_default_run_reports_a_source_with_no_files_yet_and_ingests_the_rest(spark, tmp_path):
    # e.g. a wheel installed without the NYC taxi samples: the other tables still land
    write_lines(tmp_path / "raw/orders/o1.jsonl", ORDERS_1)
    _, reports = run(spark, tmp_path)
    assert reports["orders"].version == 0 and reports["orders"].reconciles
    people = reports["people"]
    assert people.no_input and people.files_new == 0 and people.version is None
    assert people.line().startswith("people: no input files match ")
    assert not (tmp_path / "bronze/people").exists()


def test_fail_gate_stops_a_bad_batch_and_keeps_the_version(spark, tmp_path):
    write_lines(tmp_path / "raw/orders/o1.jsonl", ORDERS_1[:1])
    ctx, reports = run(spark, tmp_path, tables=["orders"], gate="fail")
    assert reports["orders"].version == 0
    write_lines(tmp_path / "raw/orders/o2.jsonl", ORDERS_1[1:2])  # amount -3
    with pytest.raises(GateFailed, match=r"orders.*expect_column_values_to_be_between\(amount\)"):
        run(spark, tmp_path, tables=["orders"])
    assert ctx.table("orders").version() == 0
    assert ctx.table("orders").read().count() == 1
    # the rejected file is not marked as ingested: the next run tries it again
    with pytest.raises(GateFailed):
        run(spark, tmp_path, tables=["orders"])


def test_quarantine_gate_splits_rows_and_counts_reconcile(spark, lake):
    ctx, reports = run(spark, lake, tables=["orders"], gate="quarantine")
    r = reports["orders"]
    # o3 is malformed, o4 has a bad amount, o2 fails the gate (amount -3): only o1 lands
    assert (r.rows_read, r.rows_inserted, r.quarantined) == (4, 1, 3) and r.reconciles
    q = {row._raw_record: row._reasons
         for row in quarantine.quarantine_table(ctx, "orders").read().collect()}
    assert q[ORDERS_1[1]] == ["expect_column_values_to_be_between(amount)"]
    gate = ctx.table("orders").commit_metadata()["gate"]
    assert (gate["policy"], gate["verdict"]) == ("quarantine", "quarantine")
    assert gate["counts"] == {"input": 2, "passed": 1, "quarantined": 1}


@pytest.mark.slow
def test_taxi_samples_end_to_end(spark, tmp_path, taxi_dir, monkeypatch):
    """The shipped catalog on the real NYC taxi samples."""
    shutil.copytree(taxi_dir, tmp_path / "raw/nyc_taxi")
    monkeypatch.setenv("LAKEPREP_DATA", str(tmp_path))
    settings = load_settings("local", REPO_CONF)
    ctx = JobContext.start(settings, "ingest", spark=spark)
    (report,) = ingest.run(ctx, ["taxi_trips"])
    assert report.rows_read == 30_000 and report.reconciles
    # rows are only unique on the whole record: identical trips collapse, nothing is lost
    assert report.rows_inserted + report.duplicates_in_batch == 30_000 - report.quarantined
    dt_ = DeltaTable(settings.table("taxi_trips").location)
    assert dt_.metadata().partition_columns == ["pickup_date"]
    df = ctx.table("taxi_trips").read()
    assert df.count() == report.rows_inserted
    # the shipped gate quarantines the 35 negative fares, the 3,004 fare and rate code 99
    assert report.quarantined == 37
    q = quarantine.quarantine_table(ctx, "taxi_trips").read().collect()
    reasons = {r for row in q for r in row._reasons}
    assert reasons == {"expect_column_values_to_be_between(fare_amount)",
                       "expect_column_values_to_be_in_set(rate_code_id)"}
    stats = df.agg(F.sum(F.col("congestion_surcharge").isNull().cast("int")).alias("nulls"),
                   F.max("pickup_date").alias("last")).first()
    # congestion_surcharge is empty in 6,327 rows of the three files: none went missing
    assert stats.nulls + sum(r._raw_record.endswith(",") for r in q) == 6327
    assert str(stats.last) == "2019-04-12"  # the March file holds trips up to April 12
    (again,) = ingest.run(JobContext.start(settings, "ingest", spark=spark), ["taxi_trips"])
    assert again.files_new == 0 and ctx.table("taxi_trips").version() == 0
