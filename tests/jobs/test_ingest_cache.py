"""What ingest caches of a batch: a good row's raw text is nowhere in the cached frame; the rows
that may be set aside (parse reasons, rows a `quarantine` gate tags) keep their raw record, so
the quarantine and its replay still have it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from pyspark.sql import types as T

from jobs import ingest
from lakeprep import quarantine
from lakeprep.config import load_settings
from lakeprep.ingest.columns import RAW_COLUMNS, RAW_HEADER, RAW_RECORD
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
    primary_key: [order_id]
    gate: quarantine
  raw_people:
    layer: raw
    source: {format: csv, path: "people/*.csv"}
    columns:
      - {name: id, type: string, nullable: false}
      - {name: age, type: int}
  people:
    layer: bronze
    upstream: raw_people
    primary_key: [id]
"""
SUITE = """
table: orders
expectations:
  - expect_column_values_to_be_between: {column: amount, min_value: 0}
"""
TS = "2026-01-01T10:00:00Z"
GOOD = [json.dumps({"order_id": "o1", "amount": 10.5, "order_ts": TS}),
        json.dumps({"order_id": "o2", "amount": 2, "order_ts": TS})]
DUPLICATE = json.dumps({"order_id": "o2", "amount": 1, "order_ts": "2025-01-01T10:00:00Z"})
PARSE_BAD = json.dumps({"order_id": "o3", "amount": "12,50", "order_ts": TS})
GATE_BAD = json.dumps({"order_id": "o4", "amount": -3, "order_ts": TS})
PEOPLE = ["id,age", "p1,30", "p2,abc"]


def _lake(root: Path, spark) -> JobContext:
    conf = root / "conf"
    (conf / "base/quality").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base/catalog.yaml").write_text(CATALOG)
    (conf / "base/quality/orders.yaml").write_text(SUITE)
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        lake:
          engine: deltalake
          layers: {{raw: {root}/raw, bronze: {root}/bronze}}
          system: {root}/system
        """))
    (root / "raw/orders").mkdir(parents=True)
    (root / "raw/orders/o.jsonl").write_text(
        "\n".join([*GOOD, DUPLICATE, PARSE_BAD, GATE_BAD]) + "\n")
    (root / "raw/people").mkdir(parents=True)
    (root / "raw/people/p.csv").write_text("\n".join(PEOPLE) + "\n")
    return JobContext.start(load_settings("local", conf, environ={}), "ingest", spark=spark)


def _texts(row, schema: T.StructType) -> list[str]:
    """Every text and byte value of ``row`` (nested ones too)."""
    out = []

    def walk(value, dtype):
        if value is None:
            return
        if isinstance(dtype, T.StringType):
            out.append(value)
        elif isinstance(dtype, T.BinaryType):
            out.append(bytes(value).decode("utf-8", "replace"))
        elif isinstance(dtype, T.ArrayType):
            for v in value:
                walk(v, dtype.elementType)
        elif isinstance(dtype, T.StructType):
            for f in dtype.fields:
                walk(value[f.name], f.dataType)
        elif isinstance(dtype, T.MapType):
            for k, v in value.items():
                walk(k, dtype.keyType)
                walk(v, dtype.valueType)

    for f in schema.fields:
        walk(row[f.name], f.dataType)
    return out


def test_a_good_rows_raw_text_is_not_in_the_cached_frame(spark, tmp_path, monkeypatch):
    cached = []

    def capture(df):
        cached.append(df)
        return df.persist()

    monkeypatch.setattr(ingest, "cache", capture)
    ctx = _lake(tmp_path, spark)
    reports = {r.table: r for r in ingest.run(ctx, ["orders", "people"])}
    orders, people = reports["orders"], reports["people"]
    assert (orders.rows_read, orders.rows_inserted, orders.quarantined,
            orders.duplicates_in_batch) == (5, 2, 2, 1) and orders.reconciles
    assert (people.rows_read, people.rows_inserted, people.quarantined) == (2, 1, 1)
    assert len(cached) == 2  # one cache per table's batch, none by the gate

    frame = cached[0]
    rows = frame.collect()
    assert len(rows) == 5
    for row in rows:
        raw = [row[c] for c in RAW_COLUMNS]
        texts = _texts(row, frame.schema)
        if row.order_id in ("o3", "o4"):  # set aside: by a parse reason, by the gate's tag
            assert row[RAW_RECORD] in (PARSE_BAD, GATE_BAD)
        else:  # lands, or is a duplicate: its raw text is nowhere in the cache
            assert raw == [None, None, None], row
            line = next(x for x in [*GOOD, DUPLICATE] if json.loads(x)["order_id"]
                        == row.order_id and json.loads(x)["amount"] == row.amount)
            assert line not in texts and not any(line in t for t in texts), row

    csv_rows = {r.id: r for r in cached[1].collect()}
    assert (csv_rows["p1"][RAW_RECORD], csv_rows["p1"][RAW_HEADER]) == (None, None)
    assert (csv_rows["p2"][RAW_RECORD], csv_rows["p2"][RAW_HEADER]) == ("p2,abc", "id,age")

    # the quarantine keeps every rejected record whole, so a replay can read it again
    q = {r._raw_record: list(r._reasons)
         for r in quarantine.quarantine_table(ctx, "orders").read().collect()}
    assert q == {PARSE_BAD: ["amount: '12,50' is not a valid double"],
                 GATE_BAD: ["expect_column_values_to_be_between(amount)"]}
    (replayed,) = ingest.replay(JobContext.start(ctx.settings, "ingest", spark=spark), "orders")
    assert (replayed.rows_read, replayed.quarantined) == (2, 2) and replayed.reconciles
