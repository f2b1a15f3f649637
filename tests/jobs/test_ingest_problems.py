"""Quarantine reasons as data through the ingest job: a quarantine table written before
``_problems`` existed takes new rows and stays readable, its old rows group from their messages,
a replay fills their problems in, and the grouped reasons reach the console, the quarantine
commit's metadata and ``lakeprep history``."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from jobs import cli, ingest
from lakeprep import quarantine
from lakeprep.config import load_settings
from lakeprep.ingest.columns import PROBLEMS
from lakeprep.ingest.problems import ProblemSummary, group_problems
from lakeprep.runtime import JobContext

CATALOG = """
tables:
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
    gate: quarantine
"""
SUITE = """
table: orders
expectations:
  - expect_column_values_to_be_between: {column: amount, min_value: 0}
"""
TS = "2026-01-01T10:00:00Z"
# what an ingest of an earlier lakeprep set aside: messages only, no `_problems` column
OLD = [(json.dumps({"order_id": "o1", "amount": "12,50", "order_ts": TS}),
        ["amount: '12,50' is not a valid double"]),
       (json.dumps({"order_id": "o2", "amount": 1, "order_ts": "2026-13-01"}),
        ["order_ts: '2026-13-01' is not a valid timestamp"]),
       (json.dumps({"order_id": "o3", "amount": -1, "order_ts": TS}),
        ["expect_column_values_to_be_between(amount)"])]
NEW = [json.dumps({"order_id": "o4", "amount": "7,5", "order_ts": TS}),
       json.dumps({"order_id": "o5", "amount": -2, "order_ts": TS}),
       json.dumps({"order_id": "o6", "amount": 3, "order_ts": TS})]
OLD_SCHEMA = ("_source_file string, _raw_record string, _raw_bytes binary, _raw_header string, "
              "_reasons array<string>, _run_id string, _ingested_at timestamp, "
              "_occurrence int, ingest_date date")


def _context(spark, root: Path) -> JobContext:
    conf = root / "conf"
    if not conf.exists():
        (conf / "base/quality").mkdir(parents=True)
        (conf / "local").mkdir()
        (conf / "base/catalog.yaml").write_text(CATALOG)
        (conf / "base/quality/orders.yaml").write_text(SUITE)
        (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
            lake:
              engine: deltalake
              layers: {{raw: {root}/raw, bronze: {root}/bronze}}
              system: {root}/system
            ingest: {{tables: [orders]}}
            """))
    return JobContext.start(load_settings("local", conf, environ={}), "ingest", spark=spark)


def _groups(summary: ProblemSummary) -> dict[tuple[str, str | None, str], tuple[int, tuple]]:
    return {(g.level, g.column, g.code): (g.rows, g.examples) for g in summary.groups}


def test_old_quarantine_rows_stay_readable_group_alike_and_replay(spark, tmp_path, capsys):
    ctx = _context(spark, tmp_path)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    old = spark.createDataFrame(
        [(f"file:{tmp_path}/raw/orders/old.jsonl", line, None, None, reasons, "old-run", at, 1,
          at.date()) for line, reasons in OLD], OLD_SCHEMA)
    quarantine.quarantine_table(ctx, "orders", ingest.QUARANTINE_PARTITIONS).append(
        old, ctx.commit_metadata(table="orders_quarantine"))

    (tmp_path / "raw/orders").mkdir(parents=True)
    (tmp_path / "raw/orders/new.jsonl").write_text("\n".join(NEW) + "\n")
    assert cli.main(["run", "ingest", "--conf-dir", str(tmp_path / "conf")]) == 0
    printed = capsys.readouterr().out
    # the batch's reasons grouped under its reconcile line: one parse-level, one gate-level
    assert "orders: read 3 = inserted 1 + updated 0 + quarantined 2 + duplicates 0" in printed
    assert "  set aside: parse amount not_a_double: 1 row(s), e.g. '7,5'" in printed
    assert ("  set aside: gate amount expectation:expect_column_values_to_be_between: 1 row(s), "
            "e.g. '-2.0'") in printed

    held = quarantine.quarantine_table(ctx, "orders")
    meta = held.commit_metadata()
    assert _groups(ProblemSummary.from_dict(meta["problems"])) == {
        ("parse", "amount", "not_a_double"): (1, ("7,5",)),
        ("gate", "amount", "expectation:expect_column_values_to_be_between"): (1, ("-2.0",))}

    rows = {json.loads(r._raw_record)["order_id"]: r for r in held.read().collect()}
    assert sorted(rows) == ["o1", "o2", "o3", "o4", "o5"]
    assert rows["o1"][PROBLEMS] is None and rows["o1"]._reasons == OLD[0][1]  # as it was
    assert [(p.code, p.column, p.value) for p in rows["o5"][PROBLEMS]] == [
        ("expectation:expect_column_values_to_be_between", "amount", "-2.0")]
    # old and new rows in the same groups; an old gate row's label holds no value
    assert _groups(group_problems(held.read())) == {
        ("parse", "amount", "not_a_double"): (2, ("12,50", "7,5")),
        ("parse", "order_ts", "not_a_timestamp"): (1, ("2026-13-01",)),
        ("gate", "amount", "expectation:expect_column_values_to_be_between"): (2, ("-2.0",))}

    # `history` shows the table's versions, then its quarantine's reasons grouped
    assert cli.main(["history", "orders", "--conf-dir", str(tmp_path / "conf"),
                     "--output", "json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {(x["level"], x["column"], x["code"], x["rows"]) for x in lines
            if x.get("table") == "quarantine"} == {
        ("parse", "amount", "not_a_double", 2), ("parse", "order_ts", "not_a_timestamp", 1),
        ("gate", "amount", "expectation:expect_column_values_to_be_between", 2)}

    # the replay reads old and new rows alike; nothing passes, and the old rows gain problems
    (r,) = ingest.replay(_context(spark, tmp_path), "orders")
    assert (r.rows_read, r.quarantined, r.rows_inserted) == (5, 5, 0) and r.reconciles
    rows = {json.loads(x._raw_record)["order_id"]: x for x in held.read().collect()}
    assert all(x[PROBLEMS] for x in rows.values())
    assert [(p.code, p.column, p.value) for p in rows["o3"][PROBLEMS]] == [
        ("expectation:expect_column_values_to_be_between", "amount", "-1.0")]
    assert rows["o1"]._reasons == OLD[0][1]
    assert _groups(group_problems(held.read()))[
        ("gate", "amount", "expectation:expect_column_values_to_be_between")] == (
        2, ("-1.0", "-2.0"))
    assert r.problem_lines()[0].startswith("parse amount not_a_double: 2 row(s)")
