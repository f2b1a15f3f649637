"""Column mapping at ingest (aliases, case-insensitive sources, expressions), per-file drift
errors, and the replay of a table's quarantine under a fixed conf."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs import cli, ingest
from lakeprep import quarantine
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError, SchemaDriftError, UsageError
from lakeprep.runtime import JobContext

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"

CATALOG = """
tables:
  raw_trips:
    layer: raw
    source: {format: csv, path: "trips/*.csv"}
    columns:
      - {name: vendor_id, type: int, source: VENDOR_ALIAS}
      - {name: pickup, type: timestamp, format: "yyyy-MM-dd HH:mm:ss", nullable: false,
         source: PICKUP_ALIASES}
      - {name: fare, type: double}
      - {name: trip_key, type: string, expr: "TRIP_KEY"}
  trips:
    layer: bronze
    upstream: raw_trips
    derive: {pickup_date: "to_date(pickup)"}
    partition_by: [pickup_date]
    schema_drift: DRIFT
    gate: quarantine
  raw_events:
    layer: raw
    source: {format: json, path: "events/*.jsonl", case_insensitive: true}
    columns:
      - {name: event_id, type: string, nullable: false, source: [EventId, id]}
      - {name: amount, type: double}
  events:
    layer: bronze
    upstream: raw_events
    primary_key: [event_id]
  raw_readings:
    layer: raw
    source: {format: parquet, path: "readings/*.parquet"}
    columns:
      - {name: sensor, type: string, nullable: false, source: SensorName}
      - {name: value, type: double, source: [Reading]}
  readings:
    layer: bronze
    upstream: raw_readings
"""

TRIPS_SUITE = """
table: trips
expectations:
  - expect_column_values_to_be_between: {column: fare, min_value: 0}
"""

OLD = ["vendor_id,pickup,fare",
       "1,2019-01-01 10:00:00,5.0",
       "2,2019-01-01 11:00:00,abc"]               # stays bad: not a double
NEW = ["fare,VendorID,tpep_pickup_datetime",      # another generation, another column order
       "7.5,1,2019-01-02 09:00:00",
       "5.0,1,2019-01-01 10:00:00",               # the same trip as OLD's first row
       "-1.0,2,2019-01-02 10:00:00",              # fails the gate (fare < 0)
       "8.0,2,2019-01-03 08:00:00"]


def make_conf(root: Path, vendor: str = "VendorID",
              pickup: str = "[tpep_pickup_datetime, PickupTime]",
              trip_key: str = "concat(vendor_id, '@', pickup)", drift: str = "fail") -> Path:
    conf = root / "conf"
    (conf / "base/quality").mkdir(parents=True, exist_ok=True)
    (conf / "local").mkdir(exist_ok=True)
    (conf / "base/catalog.yaml").write_text(
        CATALOG.replace("VENDOR_ALIAS", vendor).replace("PICKUP_ALIASES", pickup)
        .replace("TRIP_KEY", trip_key).replace("DRIFT", drift))
    (conf / "base/quality/trips.yaml").write_text(TRIPS_SUITE)
    (conf / "base/lakeprep.yaml").write_text(textwrap.dedent(f"""
        lake:
          engine: deltalake
          layers: {{raw: {root}/raw, bronze: {root}/bronze}}
          system: {root}/system
        """))
    return conf


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def context(spark, root: Path) -> JobContext:
    return JobContext.start(load_settings("local", root / "conf", environ={}), "ingest",
                            spark=spark)


def quarantined(ctx: JobContext, table: str) -> dict[str, list[str]]:
    return {r._raw_record: list(r._reasons)
            for r in quarantine.quarantine_table(ctx, table).read().collect()}


def test_json_keys_ignore_case_and_parquet_columns_take_aliases(spark, tmp_path):
    make_conf(tmp_path)
    write_lines(tmp_path / "raw/events/e.jsonl", [
        json.dumps({"EVENTID": "e1", "Amount": 1.5}),
        json.dumps({"EVENTID": "e2", "Amount": "x"}),          # amount does not parse
    ])
    # another spelling in another file (within one file, a column has one name)
    write_lines(tmp_path / "raw/events/f.jsonl", [json.dumps({"ID": "e3", "AMOUNT": 2})])
    readings = tmp_path / "raw/readings"
    spark.createDataFrame([("s1", 1.0)], "sensor string, value double").coalesce(1) \
        .write.parquet(str(readings / "old"))
    spark.createDataFrame([("s2", 2.0), ("s3", None)], "SensorName string, Reading double") \
        .coalesce(1).write.parquet(str(readings / "new"))
    for i, part in enumerate(sorted(readings.glob("*/*.parquet"))):
        part.rename(readings / f"r{i}.parquet")
    ctx = context(spark, tmp_path)
    reports = {r.table: r for r in ingest.run(ctx, ["events", "readings"])}
    events, reads = reports["events"], reports["readings"]
    assert (events.rows_read, events.rows_inserted, events.quarantined) == (3, 2, 1)
    assert (reads.rows_read, reads.rows_inserted, reads.quarantined) == (3, 3, 0)
    assert {(x.event_id, x.amount) for x in ctx.table("events").read().collect()} == {
        ("e1", 1.5), ("e3", 2.0)}
    assert list(quarantined(ctx, "events").values()) == [["amount: 'x' is not a valid double"]]
    assert {(x.sensor, x.value) for x in ctx.table("readings").read().collect()} == {
        ("s1", 1.0), ("s2", 2.0), ("s3", None)}


def test_drift_error_names_each_file_with_its_missing_and_extra_columns(spark, tmp_path):
    make_conf(tmp_path, vendor="vendor")
    good = write_lines(tmp_path / "raw/trips/a.csv", OLD)
    tlc = write_lines(tmp_path / "raw/trips/b.csv", [
        "VendorID,tpep_pickup_datetime,fare", "1,2019-01-02 09:00:00,7.5"])
    tier = write_lines(tmp_path / "raw/trips/c.csv", [
        "vendor_id,pickup,fare,tier", "1,2019-01-02 09:00:00,7.5,gold"])
    with pytest.raises(SchemaDriftError) as e:
        ingest.run(context(spark, tmp_path), ["trips"])
    first, *files = str(e.value).splitlines()
    assert first.startswith("table raw_trips: the new batch has extra column(s) ['VendorID', "
                            "'tier'] compared with the declared schema, in 2 file(s)")
    assert [line.split(": ", 1)[0].removeprefix("file:") for line in files] == [
        str(tlc), str(tier)]
    assert files[0].endswith(": missing ['vendor_id']; extra ['VendorID']")
    assert files[1].endswith(": extra ['tier']")
    assert str(good) not in str(e.value)
    assert not (tmp_path / "bronze/trips").exists()


def test_bad_mapping_and_expression_are_one_line_errors_with_exit_2(spark, tmp_path, capsys):
    conf = make_conf(tmp_path)
    both = write_lines(tmp_path / "raw/trips/a.csv", [
        "vendor_id,VendorID,pickup,fare", "1,1,2019-01-01 10:00:00,5.0"])
    with pytest.raises(ConfigError) as e:
        ingest.run(context(spark, tmp_path), ["trips"])
    assert str(e.value) == (
        f"file:{both}: headers 'vendor_id' and 'VendorID' both map to the column 'vendor_id' "
        f"(tables.raw_trips.columns.vendor_id.source); a file may hold a column under one "
        f"name only")
    assert not (tmp_path / "bronze/trips").exists()

    make_conf(tmp_path, trip_key="concat(vendor_id,")
    argv = ["run", "ingest", "--table", "trips", "--conf-dir", str(conf), "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert (f"{conf}/base/catalog.yaml: tables.raw_trips.columns.trip_key.expr: "
            f"'concat(vendor_id,' is not a Spark SQL expression") in err
    assert not (tmp_path / "bronze/trips").exists()

    make_conf(tmp_path, pickup="vendor_id")  # one raw name for two columns: caught at load
    with pytest.raises(ConfigError, match=r"catalog.yaml: tables.raw_trips.columns.pickup.source: "
                                          r"'vendor_id' is also a name of the column 'vendor_id'"):
        load_settings("local", conf, environ={})


def test_replay_promotes_what_the_fixed_conf_parses_and_reconciles(spark, tmp_path):
    # the conf knows only the old header names: the new generation is quarantined whole
    make_conf(tmp_path, vendor="vendor", pickup="pickup_time", drift="ignore")
    write_lines(tmp_path / "raw/trips/a.csv", OLD)
    new = write_lines(tmp_path / "raw/trips/b.csv", NEW)
    ctx = context(spark, tmp_path)
    assert cli.main(["run", "ingest", "--replay-quarantine", "trips", "--conf-dir",
                     str(tmp_path / "conf"), "--quiet"]) == 2  # no quarantine table yet
    (r,) = ingest.run(ctx, ["trips"])
    assert (r.rows_read, r.rows_inserted, r.quarantined) == (6, 1, 5) and r.reconciles
    assert set(quarantined(ctx, "trips")[NEW[1]]) == {"pickup: missing (declared not null)"}
    # the header each CSV record was read with is kept beside it, for the replay
    assert {r._raw_header for r in quarantine.quarantine_table(ctx, "trips").read()
            .where(F.col("_source_file").endswith("b.csv")).collect()} == {NEW[0]}
    version = ctx.table("trips").version()

    make_conf(tmp_path)  # the aliases of the new generation declared
    with pytest.raises(UsageError, match=r"--file nope.csv: no quarantined record of table "
                                         r"trips comes from that file; quarantined files: "):
        ingest.replay(context(spark, tmp_path), "trips", "nope.csv")
    (first,) = ingest.replay(context(spark, tmp_path), "trips", str(new))
    # 4 replayed = 2 promoted + 1 still quarantined (fare -1, now by the gate) + 1 duplicate
    assert (first.rows_read, first.rows_inserted, first.rows_updated, first.quarantined,
            first.duplicates_existing) == (4, 2, 0, 1, 1)
    assert first.reconciles
    assert first.line().startswith("trips: replayed 4 of file:")
    assert "= promoted 2 (inserted 2, updated 0) + still quarantined 1 + duplicates 1 " \
           "(reconciled)" in first.line()
    ctx = context(spark, tmp_path)
    assert ctx.table("trips").version() == version + 1
    # both header generations in one table, the expression column computed for each
    assert {(x.vendor_id, str(x.pickup), x.fare, x.trip_key)
            for x in ctx.table("trips").read().collect()} == {
        (1, "2019-01-01 10:00:00", 5.0, "1@2019-01-01 10:00:00"),
        (1, "2019-01-02 09:00:00", 7.5, "1@2019-01-02 09:00:00"),
        (2, "2019-01-03 08:00:00", 8.0, "2@2019-01-03 08:00:00")}
    assert quarantined(ctx, "trips") == {
        "2,2019-01-01 11:00:00,abc": ["fare: 'abc' is not a valid double"],
        "-1.0,2,2019-01-02 10:00:00": ["expect_column_values_to_be_between(fare)"]}

    (again,) = ingest.replay(ctx, "trips")  # everything left: nothing new passes
    assert (again.rows_read, again.rows_inserted + again.rows_updated, again.quarantined,
            again.duplicates_existing + again.duplicates_in_batch) == (2, 0, 2, 0)
    # and commits nothing: neither table gets a new version
    assert (again.version, again.quarantine_version) == (first.version, first.quarantine_version)
    ctx = context(spark, tmp_path)
    assert ctx.table("trips").version() == first.version
    assert ctx.table("trips").read().count() == 3
    assert len(quarantined(ctx, "trips")) == 2

