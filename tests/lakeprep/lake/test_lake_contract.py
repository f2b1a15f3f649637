"""The lake-table contract, run against every engine this environment has."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from lakeprep.errors import LakeTableError
from lakeprep.lake import ENGINES, open_table
from lakeprep.spark import has_delta_classes

D1, D2, D3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)
COLS = ["id", "amount", "day"]


@pytest.fixture(params=sorted(ENGINES))
def engine(request, spark):
    if request.param == "delta-spark" and not has_delta_classes(spark):
        pytest.skip("delta-spark engine: io.delta classes are not on the JVM classpath "
                    "(no Maven access here); the deltalake engine covers the contract")
    return request.param


@pytest.fixture
def table(spark, tmp_path, engine):
    return open_table(spark, str(tmp_path / "t"), ["day"], engine=engine)


def frame(spark, rows):
    return spark.createDataFrame(rows, "id string, amount double, day date")


def sorted_rows(df):
    return sorted(tuple(r) for r in df.select(*COLS).collect())


def test_append_creates_then_adds_one_version_each(spark, table):
    assert not table.exists() and table.version() is None
    r0 = table.append(frame(spark, [("a", 1.0, D1), ("b", 2.0, D2)]), {"job": "t", "n": 0})
    r1 = table.append(frame(spark, [("c", 3.0, D2)]), {"job": "t", "n": 1})
    assert (r0.version, r1.version) == (0, 1)
    assert r0.rows_inserted == 2 and r1.rows_inserted == 1
    assert sorted_rows(table.read()) == [("a", 1.0, D1), ("b", 2.0, D2), ("c", 3.0, D2)]
    assert table.read().columns == COLS


def test_overwrite_replaces_only_the_given_partitions(spark, table):
    table.append(frame(spark, [("a", 1.0, D1), ("b", 2.0, D2), ("c", 3.0, D2)]), {})
    res = table.overwrite_partitions(frame(spark, [("b", 20.0, D2), ("d", 4.0, D3)]), {})
    assert res.rows_deleted == 2
    assert sorted_rows(table.read()) == [("a", 1.0, D1), ("b", 20.0, D2), ("d", 4.0, D3)]
    # re-running the same day replaces it again instead of duplicating it
    table.overwrite_partitions(frame(spark, [("b", 20.0, D2), ("d", 4.0, D3)]), {})
    assert table.read().count() == 3


def test_merge_updates_matches_and_inserts_the_rest(spark, table):
    table.append(frame(spark, [("a", 1.0, D1), ("b", 2.0, D2)]), {})
    # b moves to another partition: the old row must not survive beside the new one
    res = table.merge(frame(spark, [("b", 22.0, D3), ("c", 3.0, D1)]), ["id"], {"m": 1})
    assert (res.rows_inserted, res.rows_updated) == (1, 1)
    assert sorted_rows(table.read()) == [("a", 1.0, D1), ("b", 22.0, D3), ("c", 3.0, D1)]


def test_merge_ignore_on_whole_record_keys_with_nulls(spark, table):
    table.append(frame(spark, [("a", None, D1), ("b", 2.0, D1)]), {})
    res = table.merge(frame(spark, [("a", None, D1), ("e", 5.0, D1)]), COLS, {},
                      when_matched="ignore")
    assert (res.rows_inserted, res.rows_updated) == (1, 0)
    assert sorted(table.read().select("id").rdd.flatMap(lambda r: r).collect()) == ["a", "b", "e"]


def test_delete_removes_the_matching_rows_even_a_whole_partition(spark, table):
    table.append(frame(spark, [("a", None, D1), ("b", 2.0, D1), ("c", 3.0, D2)]), {})
    res = table.delete(frame(spark, [("a", None, D1), ("c", 3.0, D2), ("z", 0.0, D3)]), COLS,
                       {"run_id": "r9"})
    assert (res.version, res.rows_deleted) == (1, 2)
    assert sorted_rows(table.read()) == [("b", 2.0, D1)]
    assert table.commit_metadata()["run_id"] == "r9"


def test_time_travel_by_version_and_timestamp(spark, table):
    table.append(frame(spark, [("a", 1.0, D1)]), {})
    first = table.history()[0].timestamp
    table.overwrite_partitions(frame(spark, [("a", 9.0, D1)]), {})
    assert sorted_rows(table.read(version=0)) == [("a", 1.0, D1)]
    assert sorted_rows(table.read(timestamp=first)) == [("a", 1.0, D1)]
    assert sorted_rows(table.read()) == [("a", 9.0, D1)]
    with pytest.raises(LakeTableError, match="time travel"):
        table.read(version=42)


def test_row_count_of_each_version_equals_a_count_of_its_rows(spark, table):
    table.append(frame(spark, [("a", 1.0, D1), ("b", 2.0, D2), ("c", 3.0, D2)]), {})
    table.merge(frame(spark, [("b", 5.0, D2), ("d", 4.0, D3)]), ["id"], {})
    table.delete(frame(spark, [("a", None, D1)]), ["id"], {})
    for version in (0, 1, 2):
        assert table.row_count(version) == table.read(version=version).count()
    assert [table.row_count(v) for v in (0, 1, 2)] == [3, 4, 3]
    assert table.row_count() == 3
    with pytest.raises(LakeTableError, match="time travel"):
        table.row_count(42)


def test_history_carries_commit_metadata(spark, table):
    table.append(frame(spark, [("a", 1.0, D1)]), {"run_id": "r1", "inputs": [{"v": 1}]})
    table.append(frame(spark, [("b", 2.0, D1)]), {"run_id": "r2", "note": "second"})
    hist = table.history()
    assert [c.version for c in hist] == [1, 0]
    assert {k: v for k, v in hist[1].metadata.items() if k != "operation_metrics"} == {
        "run_id": "r1", "inputs": [{"v": 1}]}
    assert hist[1].metadata["operation_metrics"]["rows_written"] == 1
    assert table.commit_metadata(1)["note"] == "second"
    assert table.read().count() == 2


def test_schema_evolution_needs_permission(spark, table):
    table.append(frame(spark, [("a", 1.0, D1)]), {})
    wider = spark.createDataFrame([("b", 2.0, "x", D2)], "id string, amount double, tag string, "
                                                         "day date")
    with pytest.raises(LakeTableError, match=r"\['tag'\].*schema_drift: evolve"):
        table.append(wider, {})
    assert table.version() == 0
    table.append(wider, {}, evolve=True)
    got = {r.id: r.tag for r in table.read().collect()}
    assert got == {"a": None, "b": "x"}


def test_type_change_is_refused(spark, table):
    table.append(frame(spark, [("a", 1.0, D1)]), {})
    other = spark.createDataFrame([("b", "2", D1)], "id string, amount string, day date")
    with pytest.raises(LakeTableError, match="amount: table double, data string"):
        table.append(other, {})


def test_null_and_escaped_partition_values_round_trip(spark, tmp_path, engine):
    t = open_table(spark, str(tmp_path / "s"), ["region"], engine=engine)
    df = spark.createDataFrame([("a", "eu/west:1"), ("b", None), ("c", "a b%")],
                               "id string, region string")
    t.append(df, {})
    t.overwrite_partitions(spark.createDataFrame([("d", None)], "id string, region string"), {})
    assert_df_equality(t.read().orderBy("id"), spark.createDataFrame(
        [("a", "eu/west:1"), ("c", "a b%"), ("d", None)], "id string, region string"),
        ignore_nullable=True)


def test_a_write_failing_midway_leaves_the_previous_version(spark, table):
    table.append(frame(spark, [("a", 1.0, D1)]), {})
    crash = F.udf(lambda s: s if s != "c" else str(1 // 0), "string")
    bad = frame(spark, [("b", 2.0, D2), ("c", 3.0, D3)]).withColumn("id", crash("id"))
    with pytest.raises(Exception, match="ZeroDivisionError"):
        table.append(bad, {})
    assert table.version() == 0
    assert sorted_rows(table.read()) == [("a", 1.0, D1)]


def test_deltalake_failure_before_commit_removes_the_staged_files(spark, tmp_path,
                                                                  monkeypatch):
    table = open_table(spark, str(tmp_path / "t"), ["day"], engine="deltalake")
    table.append(frame(spark, [("a", 1.0, D1)]), {})

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash after the data files were written")

    monkeypatch.setattr(type(table), "_commit", boom)
    with pytest.raises(RuntimeError, match="simulated crash"):
        table.append(frame(spark, [("b", 2.0, D2)]), {})
    monkeypatch.undo()
    assert table.version() == 0
    assert sorted_rows(table.read()) == [("a", 1.0, D1)]
    written = [p.name for p in Path(table.location).iterdir() if not p.name.startswith("_")]
    assert len(written) == 1, f"orphaned write folders left behind: {written}"


def test_partition_filter_reads_only_the_matching_files(spark, table):
    from deltalake import DeltaTable

    for day, ids in ((D1, "ab"), (D2, "cd"), (D3, "ef")):  # one commit (>= 1 file) per day
        table.append(frame(spark, [(i, 1.0, day) for i in ids]), {})
    in_log = pa.table(DeltaTable(table.location).get_add_actions(flatten=True)).to_pylist()
    day2_files = {a["path"] for a in in_log if a["partition.day"] == D2}
    assert len(in_log) > len(day2_files) >= 1

    for where in ("day = '2026-01-02'", F.col("day") == F.lit(D2)):
        df = table.read(partitions=where)
        read = {r[0] for r in df.select(F.input_file_name()).distinct().collect()}
        assert len(read) == len(day2_files), f"read {sorted(read)}"
        assert all("day=2026-01-02" in unquote(f) for f in read)
        assert sorted_rows(df) == [("c", 1.0, D2), ("d", 1.0, D2)]
    # time travel and a range over the partition column prune the same way
    assert sorted_rows(table.read(version=1, partitions="day >= '2026-01-02'")) == [
        ("c", 1.0, D2), ("d", 1.0, D2)]
    assert table.read(partitions="day > '2026-01-03'").count() == 0
    with pytest.raises(LakeTableError, match=r"only the partition columns \['day'\]"):
        table.read(partitions="amount > 1")


def test_tables_are_standard_delta(spark, table):
    """What this engine writes, delta-rs reads without Spark."""
    from deltalake import DeltaTable

    table.append(frame(spark, [("a", 1.0, D1), ("b", 2.0, D2)]), {})
    dt_ = DeltaTable(table.location)
    assert dt_.metadata().partition_columns == ["day"]
    assert sorted(dt_.to_pyarrow_table().column("id").to_pylist()) == ["a", "b"]


def test_partitioning_mismatch_is_refused(spark, tmp_path, engine):
    loc = str(tmp_path / "p")
    open_table(spark, loc, ["day"], engine=engine).append(frame(spark, [("a", 1.0, D1)]), {})
    with pytest.raises(LakeTableError, match="partitioned by"):
        open_table(spark, loc, [], engine=engine).append(
            frame(spark, [("b", 1.0, D1)]).withColumn("amount", F.lit(1.0)), {})


def test_merge_with_order_by_keeps_the_newest_record(spark, tmp_path, engine):
    t = open_table(spark, str(tmp_path / "o"), [], engine=engine)
    schema = "id string, v int, updated_at int"
    t.append(spark.createDataFrame([("a", 1, 10), ("b", 1, 10)], schema), {})
    res = t.merge(spark.createDataFrame([("a", 2, 5), ("b", 2, 20), ("c", 1, 1)], schema),
                  ["id"], {}, order_by="updated_at")
    assert sorted(tuple(r) for r in t.read().collect()) == [("a", 1, 10), ("b", 2, 20),
                                                            ("c", 1, 1)]
    assert (res.rows_inserted, res.rows_updated) == (1, 1)
