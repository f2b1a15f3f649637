"""Drift baselines bin training data; PSI trips on a shifted batch and passes on a similar one."""

from __future__ import annotations

import json
import math

import pytest
from pyspark.sql import functions as F

from quality import DriftBaseline, DriftConfigError, QualityInputError, check_drift
from quality.drift import psi


@pytest.fixture(scope="module")
def train(spark):
    # 2000 rows: x uniform-ish over 0..999, colour 60% red / 30% blue / 10% green, some nulls
    return spark.range(2000).select(
        ((F.col("id") * 7919) % 1000).cast("double").alias("x"),
        F.when(F.col("id") % 10 < 6, "red").when(F.col("id") % 10 < 9, "blue")
        .otherwise("green").alias("colour"),
        F.when(F.col("id") % 50 == 0, None).otherwise(F.col("id") % 3).alias("k"),
    ).localCheckpoint(eager=True)


@pytest.fixture(scope="module")
def baseline(train):
    return DriftBaseline.fit(train, bins=10, max_categories=2)


def test_baseline_bins_and_proportions(baseline):
    x = baseline.features["x"]
    assert x.kind == "numeric" and len(x.edges) == 9
    assert [round(e, -1) for e in x.edges[:3]] == [100.0, 200.0, 300.0]
    assert sum(x.expected.values()) == pytest.approx(1.0)
    assert x.expected["0"] == pytest.approx(0.1, abs=0.01)
    colour = baseline.features["colour"]
    assert colour.categories == ["red", "blue"]  # the two most frequent
    assert colour.expected == pytest.approx({"red": 0.6, "blue": 0.3, "__other__": 0.1,
                                             "__missing__": 0.0})
    assert baseline.features["k"].expected["__missing__"] == pytest.approx(0.02)
    assert baseline.row_count == 2000


def test_baseline_round_trips_through_json(baseline):
    again = DriftBaseline.from_dict(json.loads(json.dumps(baseline.to_dict())))
    assert again == baseline


def test_version_1_baseline_reads_its_null_bucket_as_missing(baseline):
    old = baseline.to_dict()
    old["format_version"] = 1
    for feature in old["features"].values():
        feature["expected"]["__null__"] = feature["expected"].pop("__missing__")
    assert DriftBaseline.from_dict(json.loads(json.dumps(old))) == baseline


def test_unshifted_batch_passes(train, baseline):
    report = check_drift(train.sample(fraction=0.5, seed=3), baseline)
    assert report.verdict == "pass" and report.drifted == []
    assert all(f.psi < 0.1 for f in report.features.values())
    json.dumps(report.to_dict())


def test_shifted_batch_trips(train, baseline):
    shifted = train.select(
        (F.col("x") + 400).alias("x"),                       # numeric shift
        F.when(F.col("colour") == "red", "purple").otherwise(F.col("colour")).alias("colour"),
        "k",
    )
    report = check_drift(shifted, baseline, warn=0.1, fail=0.25)
    assert report.verdict == "fail"
    assert report.features["x"].verdict == "fail"
    # "purple" was never seen: it lands in __other__
    assert report.features["colour"].actual["__other__"] == pytest.approx(0.7)
    assert report.features["colour"].verdict == "fail"
    assert report.features["k"].verdict == "pass"
    assert set(report.drifted) == {"x", "colour"}


def test_psi_formula_and_epsilon():
    expected = {"a": 0.5, "b": 0.5}
    actual = {"a": 0.9, "b": 0.1}
    manual = (0.9 - 0.5) * math.log(0.9 / 0.5) + (0.1 - 0.5) * math.log(0.1 / 0.5)
    assert psi(expected, actual) == pytest.approx(manual)
    # an empty bucket is floored at epsilon instead of giving infinity
    assert psi({"a": 1.0}, {"b": 1.0}, epsilon=1e-4) == pytest.approx(
        2 * (1 - 1e-4) * math.log(1 / 1e-4))


def test_drift_errors(train, baseline):
    with pytest.raises(DriftConfigError, match=r"feature\(s\) \['nope'\] not in the DataFrame"):
        DriftBaseline.fit(train, features=["nope"])
    with pytest.raises(QualityInputError, match=r"\['colour'\] not in the batch"):
        check_drift(train.drop("colour"), baseline)
    with pytest.raises(DriftConfigError, match="warn <= fail"):
        check_drift(train, baseline, warn=0.3, fail=0.2)
    with pytest.raises(DriftConfigError, match="format_version"):
        DriftBaseline.from_dict({"features": {}})
