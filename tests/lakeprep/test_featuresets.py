"""The lake side of feature sets on a real local lake: which sets can run, their sources read at
a version, the rows as a feature table stores them, and the error of an empty window."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pyspark.ml.linalg import Vectors

from lakeprep.config import load_settings
from lakeprep.errors import InputError
from lakeprep.featuresets import no_rows, read_sources, split_by_tables, stored_rows
from lakeprep.runtime import JobContext

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ctx(spark, tmp_path_factory):
    """The shipped conf on a fresh lake holding one table, taxi_trips (version 0)."""
    root = tmp_path_factory.mktemp("lake")
    settings = load_settings("local", REPO / "conf", environ={"LAKEPREP_DATA": str(root)})
    ctx = JobContext.start(settings, "build-features", spark=spark)
    trips = spark.createDataFrame(
        [(datetime(2019, 3, 1, 8), 12.5), (datetime(2019, 3, 4, 9), 7.0)],
        "pickup_datetime timestamp, fare_amount double").selectExpr(
        "*", "to_date(pickup_datetime) AS pickup_date")
    ctx.table("taxi_trips").append(trips, {"run_id": "test"})
    return ctx


def test_sets_whose_sources_exist_run_and_the_others_are_skipped_with_why(ctx):
    sets = ctx.settings.feature_sets()
    split = split_by_tables(ctx, sets, named=False)
    assert list(split.ready) == ["taxi_tips"]
    assert split.skipped == {"customer": "table(s) customers, orders, web_events do not exist "
                                         "yet; run `lakeprep run ingest` (or build-features) "
                                         "first"}
    with pytest.raises(InputError, match=r"^feature set customer: table\(s\) customers, "):
        split_by_tables(ctx, ctx.settings.feature_sets("customer"), named=True)
    # a set needs what the caller says: transform needs the feature table too
    needs_features = split_by_tables(ctx, sets, named=False,
                                     needs=lambda fs: [fs.table, *fs.sources()])
    assert not needs_features.ready and set(needs_features.skipped) == {"customer", "taxi_tips"}


def test_sources_are_read_at_their_latest_version_and_named_as_inputs(ctx):
    tables, inputs = read_sources(ctx, ctx.settings.feature_sets("taxi_tips")["taxi_tips"])
    assert tables["taxi_trips"].count() == 2
    location = ctx.settings.table("taxi_trips").location
    assert inputs == [{"table": "taxi_trips", "kind": "table", "version": 0,
                       "location": location}]
    with pytest.raises(InputError, match=r"^table customers does not exist yet at .*; run "
                       r"`lakeprep run ingest` first"):
        read_sources(ctx, ctx.settings.feature_sets("customer")["customer"])


def test_a_feature_table_stores_the_vector_as_an_array_of_doubles(spark):
    out = spark.createDataFrame([("a", 1, Vectors.dense([0.5, 2.0])),
                                 ("b", 2, Vectors.sparse(2, [1], [3.0]))],
                                ["trip.id", "n", "features"])
    stored = stored_rows(out.withColumn("extra", out.n * 2), ["trip.id", "n"])
    assert stored.dtypes == [("trip.id", "string"), ("n", "bigint"), ("features", "array<double>")]
    assert [tuple(r) for r in stored.collect()] == [("a", 1, [0.5, 2.0]), ("b", 2, [0.0, 3.0])]


def test_an_empty_window_names_the_window_and_the_dates_of_the_data(ctx):
    fs = ctx.settings.feature_sets("taxi_tips")["taxi_tips"]
    error = no_rows(ctx, "taxi_tips", fs, fs.table, "2030-01-01")
    assert str(error) == (
        f"taxi_tips_features (feature set taxi_tips): no rows as of 2030-01-01: it takes "
        f"{fs.window('2030-01-01')}, and taxi_trips.pickup_datetime span 2019-03-01 .. "
        f"2019-03-04; give a --cutoff that puts data in that window")
