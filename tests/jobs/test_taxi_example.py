"""The README's second worked example, command by command: the NYC taxi samples declared by conf
alone, a batch in the TLC's own header names, a `rows` feature set, export and reproduce.

It runs the README's commands through the CLI on the first 60 trips of each shared sample (the
whole samples are 30,000 trips: the same commands, minutes instead of seconds).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from jobs import cli
from lakeprep.config import load_settings
from lakeprep.lake import read_table
from lakeprep.sample.taxi import TLC_HEADER

REPO_CONF = Path(__file__).resolve().parents[2] / "conf"
TRIPS = 60


def test_the_readme_taxi_example_runs_by_conf_alone(spark, tmp_path, taxi_dir, monkeypatch,
                                                     capsys):
    heads = tmp_path / "nyc_taxi"
    heads.mkdir()
    for f in sorted(taxi_dir.glob("*.csv")):
        (heads / f.name).write_text("".join(f.read_text().splitlines(keepends=True)[:TRIPS + 1]))
    lake = tmp_path / "lake"
    monkeypatch.setenv("LAKEPREP_DATA", str(lake))

    def run(*argv: str) -> str:
        capsys.readouterr()
        assert cli.main([*argv, "--env", "local"]) == 0, capsys.readouterr()
        return capsys.readouterr().out

    out = run("generate-sample", "--customers", "20", "--taxi-dir", str(heads))
    april = lake / "raw" / "nyc_taxi" / "yellow_tripdata_sample_2019-04.csv"
    assert april.read_text().splitlines()[0] == TLC_HEADER and "nyc_taxi" in out

    out = run("run", "ingest", "--table", "taxi_trips")
    line = next(x for x in out.splitlines() if x.lstrip().startswith("taxi_trips: read"))
    assert f"read {4 * TRIPS}" in line and "(reconciled)" in line and "4 new file(s)" in line
    settings = load_settings("local", REPO_CONF)
    trips = trips_all = read_table("taxi_trips", settings=settings, spark=spark)
    # the TLC-header batch landed in the same columns: the March trips moved by 31 days
    march = trips.where(trips._source_file.endswith("2019-03.csv"))
    shifted = trips.where(trips._source_file.endswith("2019-04.csv")).selectExpr(
        "vendor_id", "pickup_datetime - INTERVAL 31 DAYS AS pickup_datetime",
        "pickup_location_id", "dropoff_location_id", "fare_amount", "tip_amount")
    assert march.count() == shifted.count() > 0
    assert sorted(shifted.collect()) == sorted(march.select(*shifted.columns).collect())

    out = run("run", "build-features", "--set", "taxi_tips")
    features = read_table("taxi_tips_features", settings=settings, spark=spark)
    # one row per trip of the 120 days before the 2019-05-01 cutoff (the samples hold a few
    # trips dated outside their month)
    trips = trips.where("pickup_datetime >= '2019-01-01' AND pickup_datetime < '2019-05-01'")
    assert features.count() == trips.count() > 3 * TRIPS
    assert f"taxi_tips_features: {trips.count()} rows as of 2019-05-01" in out
    assert {"tip_amount", "total_amount"}.isdisjoint(features.columns)
    assert features.select("trip_id").distinct().count() == features.count()
    tipped = {r.tipped: r["count"] for r in features.groupBy("tipped").count().collect()}
    assert tipped == {t: trips.where(f"(tip_amount > 0) = {bool(t)}").count() for t in (0, 1)}

    # new trips through the saved pipeline: without --cutoff, as of the day after the latest
    # trip (the batch in the TLC's header names ends the data)
    last = trips_all.agg({"pickup_datetime": "max"}).first()[0].date()
    out = run("run", "transform", "--set", "taxi_tips")
    cutoff = last + dt.timedelta(days=1)
    inference = read_table("taxi_tips_inference", settings=settings, spark=spark)
    assert inference.count() > 0
    assert f"taxi_tips_inference: {inference.count()} rows as of {cutoff}" in out, out
    assert f"cutoff {cutoff} (no --cutoff): the day after the latest date of the data, {last}" \
        in out, out

    run("run", "export", "--set", "taxi_tips")
    (manifest,) = (lake / "exports" / "taxi_tips_features").glob("*/manifest.json")
    channels = json.loads(manifest.read_text())["channels"]
    for fmt in ("csv", "libsvm", "recordio-protobuf", "parquet"):
        assert sum(c[fmt]["rows"] for c in channels.values()) == features.count(), fmt

    out = run("reproduce", str(manifest.parent))
    assert "identical" in out and "differ" not in out
