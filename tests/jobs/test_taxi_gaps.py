"""The taxi set on trips with the TLC's gaps of 2020 on (empty passenger_count, RatecodeID,
store_and_fwd_flag, payment_type): the shipped pipeline imputes them; without the imputation
the vector gate stops the build before it commits (or sets those rows aside, or lets them
through when the set allows it, and export refuses them)."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import pytest
import yaml

from jobs import build_features, cli, export_training, gates, ingest
from lakeprep.config import load_settings
from lakeprep.errors import InputError
from lakeprep.runtime import JobContext

REPO = Path(__file__).resolve().parents[2]
TRIPS = 80  # of each shipped month
GAP_EVERY = 7  # every 7th trip has the 2020-style empty fields
EMPTIED = ("passenger_count", "rate_code_id", "store_and_fwd_flag", "payment_type")
SET = "taxi_tips"
TABLE = "taxi_tips_features"


def _write_gappy_samples(taxi_dir: Path, raw: Path) -> None:
    raw.mkdir(parents=True)
    for f in sorted(taxi_dir.glob("*.csv")):
        with f.open(newline="") as src, (raw / f.name).open("w", newline="") as dst:
            reader = csv.DictReader(src)
            writer = csv.DictWriter(dst, reader.fieldnames or [])
            writer.writeheader()
            for i, row in enumerate(reader):
                if i == TRIPS:
                    break
                if i % GAP_EVERY == 0:
                    row.update({c: "" for c in EMPTIED})
                writer.writerow(row)


def _pipeline_without_imputation() -> dict:
    """The shipped taxi pipeline with its imputation steps removed, assembling the raw columns."""
    base = yaml.safe_load((REPO / "conf/base/features.yaml").read_text())
    steps = base["features"]["sets"][SET]["pipeline"]["steps"]
    kept = [s for s in steps if s["op"] not in ("impute", "add_missing_indicator")]
    assemble = kept[-1]["params"]
    assemble["inputCols"] = [c.removesuffix("_imp") for c in assemble["inputCols"]
                             if not c.endswith("_na")]
    return {"steps": kept}


def _conf(tmp_path: Path, name: str, **set_keys) -> Path:
    conf = tmp_path / name / "conf"
    shutil.copytree(REPO / "conf", conf)
    body = {"features": {"sets": {SET: {"pipeline!": _pipeline_without_imputation(),
                                        **set_keys}}}}
    (conf / "local" / "features.yaml").write_text(yaml.safe_dump(body, sort_keys=False))
    return conf


@pytest.fixture(scope="module")
def gappy_lake(spark, tmp_path_factory, taxi_dir):
    """A lake whose bronze taxi_trips were ingested from CSVs with the 2020-style gaps:
    (root, number of trips with an empty passenger_count inside the set's window)."""
    root = tmp_path_factory.mktemp("gappy_lake")
    _write_gappy_samples(taxi_dir, root / "raw" / "nyc_taxi")
    settings = load_settings("local", REPO / "conf", environ={"LAKEPREP_DATA": str(root)})
    (report,) = ingest.run(settings, ["taxi_trips"])
    assert report.reconciles and report.quarantined == 0  # empty fields are nulls, not defects
    trips = JobContext.start(settings, "fixture", spark=spark).table("taxi_trips").read()
    window = trips.where("pickup_datetime >= '2019-01-01' AND pickup_datetime < '2019-05-01'")
    gaps = window.where("passenger_count IS NULL").count()
    assert gaps >= 3 * (TRIPS // GAP_EVERY)
    for column in EMPTIED[1:]:
        assert window.where(f"{column} IS NULL").count() == gaps
    return root, gaps, window.count()


def _settings(root: Path, conf: Path | None = None):
    return load_settings("local", conf or REPO / "conf", environ={"LAKEPREP_DATA": str(root)})


def test_the_shipped_taxi_set_imputes_the_gaps(spark, gappy_lake):
    root, gaps, trips = gappy_lake
    ctx = JobContext.start(_settings(root), "build-features", spark=spark)
    report = build_features.run(ctx, feature_set=SET)[SET]
    assert report.rows == trips
    table = ctx.table(TABLE)
    meta = table.commit_metadata()
    names = meta["features"]["names"]
    rows = table.read().select("passenger_count", "features").collect()
    assert all(math.isfinite(v) for r in rows for v in r.features)
    # the missing passenger counts are a feature of their own, and imputed with the median
    na, imputed = names.index("passenger_count_na"), names.index("passenger_count_imp")
    assert sum(r.features[na] for r in rows) == gaps
    assert {r.features[imputed] for r in rows if r.passenger_count is None} == {1.0}
    gate = meta["gate"]
    assert (gate["suite"], gate["verdict"], gate["counts"]) == (
        f"{TABLE}_finite", "pass", {"input": trips})
    assert meta["features"]["non_finite"] == "fail"


def test_without_imputation_the_build_stops_before_commit(spark, gappy_lake, tmp_path, capsys,
                                                         monkeypatch):
    root, gaps, trips = gappy_lake
    conf = _conf(tmp_path, "fail")
    ctx = JobContext.start(_settings(root, conf), "build-features", spark=spark)
    before = ctx.table(TABLE).version()
    models = root / "features" / "_models" / TABLE
    saved = set(models.iterdir()) if models.exists() else set()
    capsys.readouterr()
    monkeypatch.setenv("LAKEPREP_DATA", str(root))
    code = cli.main(["run", "build-features", "--set", SET, "--env", "local",
                     "--conf-dir", str(conf)])
    out, err = capsys.readouterr()
    assert code == 5, err
    # the columns before it in the assembler are scalars: its slot is its position
    slot = _pipeline_without_imputation()["steps"][-1]["params"]["inputCols"].index(
        "passenger_count")
    error = next(line for line in err.splitlines() if line.startswith("error:"))
    assert f"`features`[{slot}] passenger_count: NaN or +-inf in {gaps:,} of {trips:,} rows" \
        in error, err
    assert f"features.sets.{SET}.non_finite" in error and "was not written" in error
    # the gate's table on the console names the feature and its rows
    assert "passenger_count" in out and f"{gaps:,} of {trips:,}" in out, out
    assert ctx.table(TABLE).version() == before  # nothing committed
    assert (set(models.iterdir()) if models.exists() else set()) == saved  # no model saved

    # the validation result is kept like every gate's, and Data Docs render it
    results = root / "_lakeprep" / "quality" / "results"
    docs = [json.loads(p.read_text()) for p in results.glob(f"*__{TABLE}__*.json")]
    failed = [d for d in docs if d["extra"]["gate"]["verdict"] == "fail"]
    assert failed and failed[-1]["report"]["suite_name"] == f"{TABLE}_finite"
    queries = [r["expectation_config"]["kwargs"]["unexpected_rows_query"]
               for r in failed[-1]["ge_result"]["results"]]
    assert f"isnan(`features`[{slot}])" in queries[1]
    index = Path(gates.publish_docs(ctx))
    pages = "".join(p.read_text() for p in index.parent.rglob("*.html"))
    assert f"{TABLE}_finite" in pages and "passenger_count" in pages


def test_quarantine_sets_the_rows_aside_with_the_feature_named(spark, gappy_lake, tmp_path):
    root, gaps, trips = gappy_lake
    settings = _settings(root, _conf(tmp_path, "quarantine", non_finite="quarantine"))
    ctx = JobContext.start(settings, "build-features", spark=spark)
    report = build_features.run(ctx, feature_set=SET)[SET]
    assert report.rows == trips - gaps
    table = ctx.table(TABLE)
    kept = table.read()
    assert kept.count() == trips - gaps
    assert all(math.isfinite(v) for r in kept.select("features").collect() for v in r.features)
    meta = table.commit_metadata()
    assert meta["counts"] == {"rows": trips - gaps}
    assert (meta["gate"]["verdict"], meta["gate"]["counts"]) == (
        "quarantine", {"input": trips, "passed": trips - gaps, "quarantined": gaps})
    slot = meta["features"]["names"].index("passenger_count")
    quarantine = ctx.table_at(settings.table(TABLE).quarantine_location, [])
    aside = quarantine.read()
    assert aside.count() == gaps
    assert {tuple(r._failed_expectations) for r in aside.collect()} == {
        ("unexpected_rows_expectation(passenger_count)",)}
    assert all(r.passenger_count is None and math.isnan(r.features[slot])
               for r in aside.collect())
    # the queries the gate records find those rows in the tables as written
    results = root / "_lakeprep" / "quality" / "results"
    doc = max((json.loads(p.read_text()) for p in results.glob(f"*__{TABLE}__*.json")),
              key=lambda d: d["saved_at"])
    whole, passengers = (r["expectation_config"]["kwargs"]["unexpected_rows_query"]
                         for r in doc["ge_result"]["results"])
    assert f"`features`[{slot}]" in passengers
    for frame, expected in ((kept, 0), (aside, gaps)):
        frame.createOrReplaceTempView("batch_view")
        for query in (whole, passengers):
            assert spark.sql(query.format(batch="batch_view")).count() == expected

    again = build_features.run(JobContext.start(settings, "build-features", spark=spark),
                               feature_set=SET)
    assert again[SET].rows == trips - gaps
    assert quarantine.read().count() == gaps  # a rebuild sets the same rows aside once


def test_allow_commits_them_and_export_keeps_its_own_check(spark, gappy_lake, tmp_path):
    root, gaps, trips = gappy_lake
    settings = _settings(root, _conf(tmp_path, "allow", non_finite="allow"))
    ctx = JobContext.start(settings, "build-features", spark=spark)
    assert build_features.run(ctx, feature_set=SET)[SET].rows == trips
    meta = ctx.table(TABLE).commit_metadata()
    assert meta["gate"] is None and meta["features"]["non_finite"] == "allow"
    nan_rows = sum(any(math.isnan(v) for v in r.features)
                   for r in ctx.table(TABLE).read().select("features").collect())
    assert nan_rows == gaps
    with pytest.raises(InputError, match=r"hold NaN or \+-inf in \d+ rows: index \d+ "
                                         r"\(passenger_count\)"):
        export_training.run(JobContext.start(settings, "export", spark=spark), feature_set=SET)
