"""A malformed-input corpus: every line accounted for, every bad one quarantined with a reason
naming the column, and every table readable by deltalake, pyarrow and pandas."""

from __future__ import annotations

import gzip
import json
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
from deltalake import DeltaTable

from jobs import ingest
from lakeprep import quarantine
from lakeprep.config import load_settings
from lakeprep.ingest.log import INGEST_LOG
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
      - {name: _extra, type: "map<string,string>"}
  orders:
    layer: bronze
    upstream: raw_orders
    derive: {order_date: "to_date(order_ts)"}
    partition_by: [order_date]
    primary_key: [order_id]
  raw_people:
    layer: raw
    source: {format: csv, path: "people/*.csv"}
    columns:
      - {name: id, type: string, nullable: false}
      - {name: age, type: int}
      - {name: seen_at, type: timestamp, format: "yyyy-MM-dd HH:mm:ss", nullable: false}
  people:
    layer: bronze
    upstream: raw_people
    derive: {seen_date: "to_date(seen_at)"}
    partition_by: [seen_date]
    primary_key: [id]
"""

TS = '"order_ts": "2026-01-01T10:00:00Z"'
NOT_ONE = ("malformed line: not exactly one JSON object (broken or single-quoted JSON, a second "
           "object or text after it)")
# raw line -> expected reasons ([] = lands in the table)
ORDERS: list[tuple[bytes, list[str]]] = [
    (b'\xef\xbb\xbf{"order_id": "o1", "amount": 1.5, ' + TS.encode() + b"}", []),  # BOM
    (b'{"order_id": "o2", ' + TS.encode() + b'}{"order_id": "o3", ' + TS.encode() + b"}",
     [NOT_ONE]),
    (b'{"order_id": "o4", ' + TS.encode() + b"} trailing", [NOT_ONE]),
    (b"{'order_id': 'o5', 'order_ts': '2026-01-01T10:00:00Z'}", [NOT_ONE]),
    (b'{"order_id": "o6", "amount": 1, "Amount": 2, ' + TS.encode() + b"}",
     ["amount: key 'Amount' differs only in case from the declared column"]),
    (b'{"order_id": "o7", "amount": NaN, ' + TS.encode() + b"}",
     ["amount: 'NaN' is not a finite number"]),
    (b'{"order_id": "o8", "amount": "-Infinity", ' + TS.encode() + b"}",
     ["amount: '-Infinity' is not a finite number"]),
    (b'{"order_id": "o9", "order_ts": "1850-01-01T00:00:00Z"}',
     ["order_ts: '1850-01-01T00:00:00Z' is outside the supported range 1900-01-01 .. "
      "9999-12-31"]),
    (b'{"order_id": "o10", "order_ts": "+10000-01-01T00:00:00Z"}',
     ["order_ts: '+10000-01-01T00:00:00Z' is outside the supported range 1900-01-01 .. "
      "9999-12-31"]),
    (b'{"order_id": "o11", "order_ts": "2025-6-20 08:10:0"}', []),  # lenient, still clear
    (b'{"order_id": "o12", "coupon": "X", "": "blank", ' + TS.encode() + b"}", []),
    (b'{"order_id": "o13", "order_id": "o13b", ' + TS.encode() + b"}",
     ["malformed line: duplicate key(s)"]),
    (b'{"order_id": "o14", "note": "caf\xe9", ' + TS.encode() + b"}",
     ["malformed line: not valid UTF-8 (its bytes are kept in _raw_bytes)"]),
    (b'{"order_id": "o1", "amount": 1.5, ' + TS.encode() + b"}", []),  # duplicate of o1
    (b'{"order_id": "o16", "order_ts": "2300-01-01T00:00:00Z"}', []),  # after 2262
    (b'{"order_id": "o17", "amount": 2, "order_ts": "0001-01-01T00:00:00Z"}',
     ["order_ts: '0001-01-01T00:00:00Z' is outside the supported range 1900-01-01 .. "
      "9999-12-31"]),
]
PEOPLE = [
    ("\ufeffid,age,seen_at", None),
    ("p1,30,2025-06-20 08:10:0", []),
    ("p2,31,2025-6-20 08:10:00", []),
    ("p3,32,2019-01-15 3:36:12", []),
    ("p4,33,1850-01-01 00:00:00",
     ["seen_at: '1850-01-01 00:00:00' is outside the supported range 1900-01-01 .. 9999-12-31"]),
    ("p5,34,2025-13-01 00:00:00",
     ["seen_at: '2025-13-01 00:00:00' is not a valid timestamp (yyyy-MM-dd HH:mm:ss)"]),
    ("p6,35,+10000-01-01 00:00:00",
     ["seen_at: '+10000-01-01 00:00:00' is outside the supported range 1900-01-01 .. "
      "9999-12-31"]),
]


def _lake(root: Path) -> Path:
    conf = root / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base/catalog.yaml").write_text(CATALOG)
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        lake:
          engine: deltalake
          layers: {{raw: {root}/raw, bronze: {root}/bronze}}
          system: {root}/system
        ingest: {{tables: [orders, people]}}
        """))
    orders = root / "raw/orders"
    orders.mkdir(parents=True)
    (orders / "o.jsonl").write_bytes(b"\n".join(line for line, _ in ORDERS) + b"\n")
    # next to the .jsonl files, not matched by the source path: reported, not read
    (orders / "stray.json").write_text(json.dumps({"order_id": "s1"}) + "\n")
    (orders / "old.jsonl.gz").write_bytes(gzip.compress(b'{"order_id": "s2"}\n'))
    people = root / "raw/people"
    people.mkdir(parents=True)
    (people / "p.csv").write_text("\n".join(line for line, _ in PEOPLE) + "\n")
    return conf


def test_every_line_is_accounted_for_and_every_table_is_readable(spark, tmp_path):
    conf = _lake(tmp_path)
    ctx = JobContext.start(load_settings("local", conf, environ={}), "ingest", spark=spark)
    reports = {r.table: r for r in ingest.run(ctx)}

    orders, people = reports["orders"], reports["people"]
    bad_orders = [(line, reasons) for line, reasons in ORDERS if reasons]
    assert (orders.rows_read, orders.rows_inserted, orders.quarantined,
            orders.duplicates_in_batch) == (len(ORDERS), 4, len(bad_orders), 1)
    assert orders.reconciles and people.reconciles
    assert sorted(p.rsplit("/", 1)[-1] for p in orders.skipped) == ["old.jsonl.gz",
                                                                   "stray.json"]
    assert "skipped 2 file(s) the source path does not match" in orders.line()
    assert (people.rows_read, people.rows_inserted, people.quarantined) == (6, 3, 3)

    # per line: the quarantine holds each bad line once, with exactly its reasons
    q = quarantine.quarantine_table(ctx, "orders").read().collect()
    assert len(q) == len(bad_orders)
    by_bytes = {bytes(r._raw_bytes or r._raw_record.encode()): r._reasons for r in q}
    assert by_bytes == {line: reasons for line, reasons in bad_orders}
    (invalid,) = [r for r in q if r._raw_bytes is not None]
    assert "\ufffd" in invalid._raw_record  # readable text, exact bytes alongside

    rows = {r.order_id: r for r in ctx.table("orders").read().collect()}
    assert sorted(rows) == ["o1", "o11", "o12", "o16"]
    assert str(rows["o11"].order_ts) == "2025-06-20 08:10:00"
    assert rows["o12"]._extra == {"coupon": "X", "": "blank"}
    assert set(ctx.table("orders").read().columns) >= {"_extra"}
    assert not {"coupon", "Amount", ""} & set(ctx.table("orders").read().columns)
    seen = {r.id: str(r.seen_at) for r in ctx.table("people").read().collect()}
    assert seen == {"p1": "2025-06-20 08:10:00", "p2": "2025-06-20 08:10:00",
                    "p3": "2019-01-15 03:36:12"}
    pq_reasons = {r._raw_record: r._reasons
                  for r in quarantine.quarantine_table(ctx, "people").read().collect()}
    assert pq_reasons == {line: reasons for line, reasons in PEOPLE if reasons}
    assert "\ufeffid" not in ctx.table("people").read().columns

    # every table, read by delta-rs into pyarrow and pandas; timestamps are INT64 micros
    locations = [ctx.spec("orders").location, ctx.spec("people").location,
                 ctx.spec("orders").quarantine_location,
                 ctx.spec("people").quarantine_location,
                 ctx.settings.system_table(INGEST_LOG)]
    for location in locations:
        dt = DeltaTable(location)
        table = dt.to_pyarrow_table()
        table.validate(full=True)
        assert len(dt.to_pandas()) == table.num_rows > 0
        for f in dt.file_uris():
            for field in pq.read_schema(f):
                if str(field.type).startswith("timestamp"):
                    assert str(field.type) == "timestamp[us, tz=UTC]", (location, field)
    far = DeltaTable(ctx.spec("orders").location).to_pandas()
    assert str(far.set_index("order_id").loc["o16", "order_ts"])[:10] == "2300-01-01"
