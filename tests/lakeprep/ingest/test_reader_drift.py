"""The raw reader at the edges of the declared schema: Parquet columns that differ only in case
from a declared one, and the cap on columns ``schema_drift: evolve`` adds in one batch."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeprep.config import ColumnSpec, SourceSpec, TableSpec
from lakeprep.errors import SchemaDriftError
from lakeprep.ingest.reader import REASONS, SOURCE_FILE, read_raw
from lakeprep.storage import FileInfo

COLUMNS = [ColumnSpec(name="order_id", type="string", nullable=False),
           ColumnSpec(name="amount", type="double")]


def _spec(fmt: str, folder: Path) -> TableSpec:
    return TableSpec(name="raw_orders", layer="raw", location=str(folder),
                     source=SourceSpec(format=fmt, path=str(folder)), columns=COLUMNS)


def _files(*paths: Path) -> list[FileInfo]:
    return [FileInfo(f"file:{p}", p.stat().st_size, 0) for p in paths]


def test_parquet_case_variants_are_reasons_not_spark_errors(spark, tmp_path):
    pq.write_table(pa.table({"order_id": ["a"], "amount": [1.0]}), tmp_path / "ok.parquet")
    # both spellings in one file: Spark alone fails with COLUMN_ALREADY_EXISTS
    pq.write_table(pa.table({"order_id": ["b", "c"], "amount": [2.0, 3.0],
                             "Amount": [4.0, 5.0]}), tmp_path / "both.parquet")
    # only the other spelling: Spark alone would read it silently as `amount`
    pq.write_table(pa.table({"order_id": ["d"], "AMOUNT": [6.0]}), tmp_path / "upper.parquet")
    files = _files(*(tmp_path / f for f in ("ok.parquet", "both.parquet", "upper.parquet")))

    batch = read_raw(spark, _spec("parquet", tmp_path), files, drift="ignore")

    got = {r.order_id: (r[SOURCE_FILE].rsplit("/", 1)[-1], r.amount, r[REASONS], r._raw_record)
           for r in batch.rows.collect()}
    assert got == {
        "a": ("ok.parquet", 1.0, [], '{"order_id":"a","amount":1.0}'),
        "b": ("both.parquet", 2.0,
              ["amount: column 'Amount' differs only in case from the declared column"],
              '{"order_id":"b","amount":2.0,"Amount":4.0}'),
        "c": ("both.parquet", 3.0,
              ["amount: column 'Amount' differs only in case from the declared column"],
              '{"order_id":"c","amount":3.0,"Amount":5.0}'),
        "d": ("upper.parquet", None,
              ["amount: column 'AMOUNT' differs only in case from the declared column"],
              '{"order_id":"d","AMOUNT":6.0}')}
    assert batch.extra_columns == []
    assert spark.conf.get("spark.sql.caseSensitive") == "false"  # the session is as it was


def test_evolve_adds_at_most_max_new_columns_per_batch(spark, tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"order_id": "o1", "tier": "gold"}) + "\n")
    wide = {"order_id": "o2", **{f"k{i}": i for i in range(3)}}
    (tmp_path / "wide.jsonl").write_text(json.dumps(wide) + "\n")
    spec, files = _spec("json", tmp_path), _files(tmp_path / "a.jsonl", tmp_path / "wide.jsonl")

    with pytest.raises(SchemaDriftError, match=r"raw_orders: the new batch would add 4 columns "
                       r"under schema_drift: evolve, more than max_new_columns \(3\); "
                       r"file:\S*/wide.jsonl alone has 3 \(k0, k1, k2\)"):
        read_raw(spark, spec, files, drift="evolve", max_new_columns=3)

    batch = read_raw(spark, spec, files, drift="evolve", max_new_columns=4)
    assert batch.extra_columns == ["tier", "k0", "k1", "k2"]  # files in order, keys sorted
    # the cap is about columns a batch adds: ignore drops them whatever their number
    assert read_raw(spark, spec, files, drift="ignore", max_new_columns=0).extra_columns == [
        "tier", "k0", "k1", "k2"]
