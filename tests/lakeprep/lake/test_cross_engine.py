"""What one engine writes and commits, the other reads, appends to, overwrites, merges into and
time-travels; delta-spark's own DESCRIBE HISTORY shows lakeprep's commit metadata."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from lakeprep.lake import open_table
from lakeprep.spark import has_delta_classes

D1, D2, D3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)
COLS = ["id", "amount", "day"]


@pytest.fixture(autouse=True)
def _needs_delta_spark(spark):
    if not has_delta_classes(spark):
        pytest.skip("io.delta classes are not on the JVM classpath (run `make jars`)")


def frame(spark, rows):
    return spark.createDataFrame(rows, "id string, amount double, day date")


def rows(df):
    return sorted(tuple(r) for r in df.select(*COLS).collect())


def meta(n: int) -> dict:
    return {"run_id": f"run-{n}", "job": "cross", "inputs": [{"table": "src", "version": n}]}


@pytest.mark.parametrize("writer,other", [("deltalake", "delta-spark"),
                                          ("delta-spark", "deltalake")])
def test_the_other_engine_continues_the_table(spark, tmp_path, writer, other):
    loc = str(tmp_path / "t")
    first = open_table(spark, loc, ["day"], engine=writer)
    first.append(frame(spark, [("a", 1.0, D1), ("b", 2.0, D2)]), meta(0))
    t0 = first.history()[0].timestamp

    second = open_table(spark, loc, ["day"], engine=other)
    assert second.version() == 0
    assert rows(second.read()) == [("a", 1.0, D1), ("b", 2.0, D2)]
    assert second.append(frame(spark, [("c", 3.0, D2)]), meta(1)).version == 1
    res = second.overwrite_partitions(frame(spark, [("c", 30.0, D2)]), meta(2))
    assert (res.version, res.rows_deleted) == (2, 2)
    res = second.merge(frame(spark, [("a", 10.0, D1), ("d", 4.0, D3)]), ["id"], meta(3))
    assert (res.version, res.rows_inserted, res.rows_updated) == (3, 1, 1)

    latest = [("a", 10.0, D1), ("c", 30.0, D2), ("d", 4.0, D3)]
    for engine_table in (first, second):  # both engines see every commit of both
        assert rows(engine_table.read()) == latest
        assert rows(engine_table.read(version=0)) == [("a", 1.0, D1), ("b", 2.0, D2)]
        assert rows(engine_table.read(timestamp=t0)) == [("a", 1.0, D1), ("b", 2.0, D2)]
        assert rows(engine_table.read(version=1, partitions="day = '2026-01-02'")) == [
            ("b", 2.0, D2), ("c", 3.0, D2)]
        history = engine_table.history()
        assert [c.version for c in history] == [3, 2, 1, 0]
        assert [c.metadata["run_id"] for c in history] == ["run-3", "run-2", "run-1", "run-0"]


@pytest.mark.parametrize("engine", ["deltalake", "delta-spark"])
def test_describe_history_shows_lakeprep_commit_metadata(spark, tmp_path, engine):
    loc = str(tmp_path / "h")
    t = open_table(spark, loc, ["day"], engine=engine)
    t.append(frame(spark, [("a", 1.0, D1)]), meta(0))
    t.merge(frame(spark, [("a", 2.0, D1)]), ["id"], meta(1))
    history = spark.sql(f"DESCRIBE HISTORY delta.`{loc}`").orderBy("version").collect()
    assert [h.version for h in history] == [0, 1]
    for n, h in enumerate(history):
        user = json.loads(h.userMetadata)
        assert user["run_id"] == f"run-{n}" and user["job"] == "cross"
        assert user["inputs"] == [{"table": "src", "version": n}]
