"""Feature sets: a `rows` set on a small taxi-like bronze table, --set selection, bad sets, and
environment overrides that delete or replace a base key."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from jobs import build_features, cli, transform
from lakeprep.config import load_settings
from lakeprep.errors import ConfigError, InputError, UsageError
from lakeprep.runtime import JobContext

REPO = Path(__file__).resolve().parents[2]
T = dt.datetime
TAXI = ("vendor_id int, pickup_datetime timestamp, dropoff_datetime timestamp, "
        "passenger_count int, trip_distance double, rate_code_id int, store_and_fwd_flag string, "
        "pickup_location_id int, dropoff_location_id int, payment_type int, fare_amount double, "
        "extra double, mta_tax double, tip_amount double, tolls_amount double, "
        "improvement_surcharge double, total_amount double, congestion_surcharge double")


def _trips() -> list[tuple]:
    out = []
    for i in range(24):
        pickup = T(2019, 1, 1) + dt.timedelta(days=3 * i, hours=i % 24, minutes=i)
        tip = 1.5 if i % 3 else 0.0
        fare = 5.0 + i
        out.append((1 + i % 2, pickup, pickup + dt.timedelta(minutes=12), 1 + i % 3,
                    0.5 + i / 4, 1, "N", 100 + i % 4, 200 + i % 5, 1 if tip else 2, fare, 0.5,
                    0.5, tip, 0.0, 0.3, fare + tip + 1.3, None))
    # after the cutoff (2019-05-01): outside the taxi set's 120-day window
    out.append((2, T(2019, 5, 2, 8), T(2019, 5, 2, 8, 20), 1, 3.0, 1, "N", 100, 200, 1, 12.0,
                0.5, 0.5, 2.0, 0.0, 0.3, 15.3, None))
    return out


def _copy_conf(tmp_path: Path, local_features: str | None = None) -> Path:
    conf = tmp_path / "conf"
    shutil.copytree(REPO / "conf", conf)
    if local_features is not None:
        (conf / "local" / "features.yaml").write_text(local_features)
    return conf


@pytest.fixture(scope="module")
def taxi_lake(spark, tmp_path_factory):
    """A lake with only a bronze taxi_trips table (no retail tables): (root, settings)."""
    root = tmp_path_factory.mktemp("sets_lake")
    os.environ["LAKEPREP_DATA"] = str(root)
    settings = load_settings("local", REPO / "conf")
    ctx = JobContext.start(settings, "fixture", spark=spark)
    df = spark.createDataFrame(_trips(), TAXI).withColumn("pickup_date",
                                                          F.to_date("pickup_datetime"))
    ctx.table("taxi_trips").append(df, {})
    return root, settings


def test_rows_set_one_row_per_trip_label_stable_id_and_model_reused(spark, taxi_lake):
    _, settings = taxi_lake
    ctx = JobContext.start(settings, "build-features", spark=spark)
    first = build_features.run(ctx)  # every set: customer's tables were never ingested here
    assert list(first.reports) == ["taxi_tips"] and "customers" in first.skipped["customer"]
    assert any(line.startswith("set customer: skipped") for line in first.lines())
    report = first["taxi_tips"]
    assert report.rows == 24  # one per trip in the 120 days before 2019-05-01, none after
    assert report.label_balance == {"0": 8, "1": 16}
    table = ctx.table("taxi_tips_features")
    df = table.read()
    # the leaking columns never reach the feature table
    assert {"tip_amount", "total_amount"}.isdisjoint(df.columns)
    expected = {r[1]: int(r[13] > 0) for r in _trips()[:24]}
    got = {r.pickup_datetime: r.tipped for r in df.select("pickup_datetime", "tipped").collect()}
    assert got == expected
    meta = table.commit_metadata()["features"]
    assert (meta["set"], meta["label"], meta["entity"]) == ("taxi_tips", "tipped", "trip_id")
    assert "pickup_datetime_hour_sin" in meta["names"]
    assert len(df.first().features) == len(meta["names"])
    ids = {r.pickup_datetime: r.trip_id for r in df.select("pickup_datetime", "trip_id").collect()}
    assert len(set(ids.values())) == 24

    again = build_features.run(JobContext.start(settings, "build-features", spark=spark),
                               feature_set="taxi_tips")
    assert again["taxi_tips"].version == report.version + 1
    rebuilt = table.read().select("pickup_datetime", "trip_id").collect()
    assert {r.pickup_datetime: r.trip_id for r in rebuilt} == ids  # same trip, same id

    # transform reloads the saved model; a later cutoff's window takes the May trip too
    inf = transform.run(JobContext.start(settings, "transform", spark=spark),
                        date(2019, 5, 15), feature_set="taxi_tips")["taxi_tips"]
    assert inf.model_path == again["taxi_tips"].model_path
    assert inf.rows == 25 - 5  # [2019-01-15, 2019-05-15): the first 5 trips fall before it
    out = ctx.table("taxi_tips_inference").read()
    assert "tipped" not in out.columns
    assert {len(r.features) for r in out.select("features").collect()} == {len(meta["names"])}
    overlap = {r.pickup_datetime: r.trip_id for r in out.select("pickup_datetime", "trip_id")
               .collect() if r.pickup_datetime in ids}
    assert overlap and all(ids[k] == v for k, v in overlap.items())


def test_a_named_set_whose_source_is_missing_is_an_error(spark, taxi_lake):
    _, settings = taxi_lake
    ctx = JobContext.start(settings, "build-features", spark=spark)
    with pytest.raises(InputError, match=r"feature set customer: table\(s\) customers, orders, "
                                         r"web_events do not exist yet"):
        build_features.run(ctx, feature_set="customer")
    assert ctx.table("customer_features").version() is None


def test_set_naming_no_set_lists_the_valid_ones(tmp_path, capsys):
    settings = load_settings("local", REPO / "conf")
    with pytest.raises(UsageError, match=r"--set taxi: no feature set named 'taxi' in "
                                         r".*conf/base/features.yaml; valid sets: customer, "
                                         r"taxi_tips"):
        settings.feature_sets("taxi")
    code = cli.main(["run", "build-features", "--set", "taxi", "--conf-dir", str(REPO / "conf")])
    assert code == 2
    assert "valid sets: customer, taxi_tips" in capsys.readouterr().err


def test_unknown_kind_names_the_file_and_key(tmp_path, capsys):
    conf = _copy_conf(tmp_path, "features: {sets: {taxi_tips: {kind: stream}}}\n")
    with pytest.raises(ConfigError) as err:
        load_settings("local", conf, environ={})
    msg = str(err.value)
    assert msg.startswith(f"{conf}/local/features.yaml: features.sets.taxi_tips: "), msg
    assert "'stream'" in msg and "'entity_snapshot', 'rows'" in msg and "\n" not in msg
    assert cli.main(["run", "build-features", "--conf-dir", str(conf)]) == 2
    assert "features.sets.taxi_tips" in capsys.readouterr().err


def test_a_label_that_does_not_parse_stops_before_anything_is_written(spark, taxi_lake,
                                                                      tmp_path):
    root, _ = taxi_lake
    conf = _copy_conf(tmp_path, "features:\n  sets:\n    taxi_tips:\n"
                                "      label: {expr: 'tip_amount >'}\n")
    settings = load_settings("local", conf, environ={"LAKEPREP_DATA": str(root)})
    ctx = JobContext.start(settings, "build-features", spark=spark)
    before = ctx.table("taxi_tips_features").version()
    with pytest.raises(ConfigError) as err:
        build_features.run(ctx)  # every set: the bad one stops the whole run
    msg = str(err.value)
    assert msg.startswith(f"{conf}/local/features.yaml: features.sets.taxi_tips.label.expr: "
                          f"'tip_amount >' does not parse"), msg
    assert "\n" not in msg and err.value.exit_code == 2
    # one that parses but names no column of the source: found when the set is analysed
    conf = _copy_conf(tmp_path / "typo", "features:\n  sets:\n    taxi_tips:\n"
                                         "      label: {expr: 'tip_amout > 0'}\n")
    settings = load_settings("local", conf, environ={"LAKEPREP_DATA": str(root)})
    with pytest.raises(ConfigError, match=rf"^{conf}/local/features.yaml: features.sets.taxi_tips"
                                          r".label.expr: does not resolve over the columns of "
                                          r"taxi_trips .*tip_amout"):
        build_features.run(JobContext.start(settings, "build-features", spark=spark),
                           feature_set="taxi_tips")
    assert ctx.table("taxi_tips_features").version() == before
    assert ctx.table("customer_features").version() is None


def test_an_override_deletes_a_base_key(tmp_path):
    conf = _copy_conf(tmp_path, "features:\n  sets:\n    taxi_tips: __delete__\n"
                                "    customer:\n      inference_table: __delete__\n")
    s = load_settings("local", conf, environ={})
    assert list(s.features.sets) == ["customer"]
    assert s.features.sets["customer"].inference_table is None
    assert s.features.sets["customer"].table == "customer_features"  # the rest still merges
    # a key deleted from base no longer says base set it
    assert "features.sets.taxi_tips.label" not in s.origins


def test_an_override_replaces_a_base_mapping_whole(tmp_path):
    conf = _copy_conf(tmp_path, "features:\n  sets:\n    customer:\n      snapshot:\n"
                                "        derived!: {age: 'year(snapshot_date) - birth_year'}\n")
    s = load_settings("local", conf, environ={})
    snap = s.features.sets["customer"].snapshot
    assert snap.derived == {"age": "year(snapshot_date) - birth_year"}  # tenure_days is gone
    assert snap.entity == "customer_id"  # siblings of the replaced key still come from base
    assert s.where("features", "sets", "customer", "snapshot", "derived") \
        == f"{conf}/local/features.yaml"
    assert s.where("features", "sets", "customer", "snapshot", "entity") \
        == f"{conf}/base/features.yaml"
    # a mistake inside a replaced mapping names the file that replaced it
    conf = _copy_conf(tmp_path / "bad", "features:\n  sets:\n    customer:\n      snapshot:\n"
                                        "        label!: {name: y, source: orders}\n")
    with pytest.raises(ConfigError, match=rf"^{conf}/local/features.yaml: features.sets.customer"
                                          r".snapshot.label.timestamp: required key is missing"):
        load_settings("local", conf, environ={})


def test_transform_without_cutoff_takes_the_day_after_the_latest_data(spark, taxi_lake,
                                                                       capsys, monkeypatch):
    root, settings = taxi_lake
    ctx = JobContext.start(settings, "build-features", spark=spark)
    if ctx.table("taxi_tips_features").version() is None:
        build_features.run(ctx, feature_set="taxi_tips")
    inference = ctx.table("taxi_tips_inference")
    before = inference.version()
    capsys.readouterr()
    monkeypatch.setenv("LAKEPREP_DATA", str(root))
    assert cli.main(["run", "transform", "--set", "taxi_tips", "--env", "local",
                     "--conf-dir", str(REPO / "conf")]) == 0
    out = capsys.readouterr().out
    # the latest trip is on 2019-05-02: cutoff 2019-05-03, the 120 days before it
    latest = max(r[1] for r in _trips())
    assert latest.date() == date(2019, 5, 2)
    window = [r for r in _trips() if T(2019, 1, 3) <= r[1] < T(2019, 5, 3)]
    assert f"taxi_tips_inference: {len(window)} rows as of 2019-05-03" in out, out
    assert ("cutoff 2019-05-03 (no --cutoff): the day after the latest date of the data, "
            "2019-05-02; taxi_trips.pickup_datetime span 2019-01-01 .. 2019-05-02") in out, out
    meta = inference.commit_metadata()
    assert meta["cutoff"] == "2019-05-03" and meta["counts"] == {"rows": len(window)}
    assert (meta["cutoff_from"]["rule"], meta["cutoff_from"]["last"]) == (
        "day after the latest date of the data", "2019-05-02")
    assert inference.version() == (before + 1 if before is not None else 0)

    # a window with no data is an error naming the window and the data's dates
    version = inference.version()
    with pytest.raises(InputError) as err:
        transform.run(JobContext.start(settings, "transform", spark=spark), date(2030, 1, 1),
                      feature_set="taxi_tips")
    assert str(err.value) == (
        "taxi_tips_inference (feature set taxi_tips): no rows as of 2030-01-01: it takes "
        "taxi_trips.pickup_datetime in [2029-09-03, 2030-01-01), and taxi_trips.pickup_datetime "
        "span 2019-01-01 .. 2019-05-02; give a --cutoff that puts data in that window")
    assert inference.version() == version  # nothing written


def test_an_unknown_non_finite_policy_names_the_file_and_key(tmp_path):
    conf = _copy_conf(tmp_path, "features: {sets: {taxi_tips: {non_finite: drop}}}\n")
    with pytest.raises(ConfigError) as err:
        load_settings("local", conf, environ={})
    assert str(err.value) == (f"{conf}/local/features.yaml: features.sets.taxi_tips.non_finite: "
                              f"Input should be 'fail', 'quarantine' or 'allow'")
    assert load_settings("local", REPO / "conf", environ={}).features.sets["customer"] \
        .non_finite == "fail"
