"""Channels and the manifest written to an s3:// prefix (moto server on loopback)."""

from __future__ import annotations

from collections import Counter

import pytest
from sm_data import CHANNEL_ROWS

from lakeprep.errors import UsageError
from lakeprep.sagemaker import Manifest, WriteOptions, read_manifest, write_channel, write_manifest
from tests.moto_support import make_bucket

BUCKET = "lakeprep-exports"


@pytest.fixture
def s3(moto_server):
    import boto3
    from pyarrow.fs import S3FileSystem

    make_bucket(moto_server, BUCKET)
    client = boto3.client("s3", endpoint_url=moto_server, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    fs = S3FileSystem(access_key="testing", secret_key="testing", region="us-east-1",
                      scheme="http", endpoint_override=moto_server.split("://", 1)[1])
    return client, fs


def test_csv_channel_on_s3_holds_only_parts(channel_df, s3):
    client, fs = s3
    uri = f"s3://{BUCKET}/run-1/train/csv"
    out = write_channel(channel_df, uri, "csv", WriteOptions(num_files=2), filesystem=fs)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix="run-1/train/csv")["Contents"]
    keys = sorted(o["Key"] for o in listed)
    assert keys == [f"run-1/train/csv/{name}" for name in out.files]  # no markers, no folders
    assert sum(o["Size"] for o in listed) == out.bytes
    lines = Counter(line for k in keys for line in
                    client.get_object(Bucket=BUCKET, Key=k)["Body"].read().decode().splitlines())
    assert sum(lines.values()) == len(CHANNEL_ROWS)
    assert lines["0,0,3.5,0,-1"] == 1
    with pytest.raises(UsageError, match="already holds"):
        write_channel(channel_df, uri, "csv", filesystem=fs)


def test_manifest_round_trip_on_s3(s3):
    _, fs = s3
    m = Manifest(run_id="run-1", label="label", feature_names=["a"], config_hash="h",
                 channels={})
    uri = write_manifest(m, f"s3://{BUCKET}/run-1", filesystem=fs)
    assert uri == f"s3://{BUCKET}/run-1/manifest.json"
    assert read_manifest(uri, filesystem=fs) == m


def test_training_inputs_from_a_manifest_on_s3_with_the_sdk(s3):
    """What the README's Estimator snippet feeds `fit`: real SDK objects, from a real manifest."""
    pytest.importorskip("sagemaker", reason="pip install lakeprep[sagemaker]")
    from sagemaker.inputs import TrainingInput

    from lakeprep.sagemaker import ChannelFiles
    from lakeprep.sagemaker.estimators import training_inputs

    _, fs = s3
    channels = {name: {"csv": ChannelFiles(uri=f"s3://{BUCKET}/run-2/{name}/csv",
                                           content_type="text/csv", rows=rows,
                                           files=["part-00000-0000.csv"], bytes=10)}
                for name, rows in (("train", 8), ("validation", 1))}
    m = Manifest(run_id="run-2", label="label", feature_names=["a"], config_hash="h",
                 channels=channels)
    inputs = training_inputs(read_manifest(write_manifest(m, f"s3://{BUCKET}/run-2",
                                                          filesystem=fs), filesystem=fs),
                             "csv", channels=["train", "validation"])
    assert set(inputs) == {"train", "validation"}
    assert all(isinstance(i, TrainingInput) for i in inputs.values())
    config = inputs["train"].config
    assert config["DataSource"]["S3DataSource"] == {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/run-2/train/csv/",
        "S3DataDistributionType": "FullyReplicated"}
    assert config["ContentType"] == "text/csv" and config["InputMode"] == "File"
