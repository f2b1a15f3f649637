"""manifest.json round trips and validation; TrainingInput wiring from a manifest."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import pytest

from lakeprep.errors import InputError, UsageError
from lakeprep.sagemaker import ChannelFiles, Manifest, SourceTable, read_manifest, write_manifest
from lakeprep.sagemaker.estimators import (
    sagemaker_pyspark_estimator,
    training_input_kwargs,
    training_inputs,
)


def _manifest(uri_root: str = "s3://bucket/exports/run-7") -> Manifest:
    def files(channel, fmt, ctype, rows):
        return ChannelFiles(uri=f"{uri_root}/{channel}/{fmt}", content_type=ctype, rows=rows,
                            files=["part-00000-0000.x"], bytes=10,
                            class_balance={"0": rows - 1, "1": 1})
    return Manifest(
        run_id="run-7", created_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC), label="churned",
        feature_names=["age", "income"], config_hash="sha256:abc",
        channels={c: {"csv": files(c, "csv", "text/csv", n),
                      "recordio-protobuf": files(c, "recordio-protobuf",
                                                 "application/x-recordio-protobuf", n)}
                  for c, n in (("train", 80), ("validation", 10), ("test", 10))},
        source_tables=[SourceTable(name="features.customer", version=12, uri="s3://lake/f")],
        pipeline_model_path="s3://lake/models/pipeline-12",
        split={"method": "random", "seed": 42})


def test_manifest_json_round_trip_and_file_io(tmp_path):
    m = _manifest()
    assert Manifest.from_json(m.to_json()) == m
    uri = write_manifest(m, str(tmp_path / "run-7"))
    assert uri.endswith("run-7/manifest.json")
    data = json.loads((tmp_path / "run-7" / "manifest.json").read_text())
    assert data["channels"]["train"]["csv"]["rows"] == 80
    assert data["source_tables"][0] == {"name": "features.customer", "version": 12,
                                        "uri": "s3://lake/f"}
    assert data["created_at"].startswith("2024-05-01T12:00:00")
    assert read_manifest(str(tmp_path / "run-7")) == m


def test_manifest_errors_name_the_file_and_key(tmp_path):
    bad = json.loads(_manifest().to_json())
    bad["channels"]["train"]["csv"]["content_type"] = "text/plain"
    (tmp_path / "manifest.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match=r"manifest.json: invalid manifest: .*should be "
                                         r"'text/csv'"):
        read_manifest(str(tmp_path / "manifest.json"))
    (tmp_path / "m2.json").write_text('{"run_id": 1')
    with pytest.raises(InputError, match="not JSON"):
        read_manifest(str(tmp_path / "m2.json"))
    with pytest.raises(InputError, match="no manifest at"):
        read_manifest(str(tmp_path / "missing"))
    with pytest.raises(InputError, match="created_at must carry a time zone"):
        Manifest.from_json(_manifest().to_json().replace("+00:00", "").replace("Z", ""))


def test_training_input_kwargs_from_manifest():
    kw = training_input_kwargs(_manifest(), "recordio-protobuf", input_mode="Pipe",
                               distribution="ShardedByS3Key")
    assert list(kw) == ["train", "validation", "test"]
    assert kw["train"] == {"s3_data": "s3://bucket/exports/run-7/train/recordio-protobuf/",
                           "content_type": "application/x-recordio-protobuf",
                           "distribution": "ShardedByS3Key", "input_mode": "Pipe",
                           "s3_data_type": "S3Prefix"}
    only = training_input_kwargs(_manifest(), "csv", channels=["train"])
    assert list(only) == ["train"] and only["train"]["content_type"] == "text/csv"


def test_training_input_errors():
    with pytest.raises(UsageError, match=r"was not written as 'parquet'; it has \['csv'"):
        training_input_kwargs(_manifest(), "parquet")
    with pytest.raises(UsageError, match="no channel 'holdout'"):
        training_input_kwargs(_manifest(), "csv", channels=["holdout"])
    with pytest.raises(UsageError, match="SageMaker reads s3://"):
        training_input_kwargs(_manifest("/tmp/exports"), "csv")
    with pytest.raises(UsageError, match="input_mode must be"):
        training_input_kwargs(_manifest(), "csv", input_mode="Stream")


def test_training_inputs_without_sdk_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker.inputs", None)  # as if not installed
    with pytest.raises(UsageError, match=r"pip install lakeprep\[sagemaker\]"):
        training_inputs(_manifest(), "csv")


def test_unknown_pyspark_algorithm():
    with pytest.raises(UsageError, match="unknown sagemaker-pyspark algorithm 'gbm'"):
        sagemaker_pyspark_estimator("gbm", role="r", training_instance_type="ml.m5.large")
