"""What a run of the pipeline on an S3 lake leaves in its bucket, checked the same way for the S3
pipeline test (tests/test_s3_pipeline.py, the deltalake engine) and the service twin's local
reference run (tests/twin, the delta-spark engine)."""

from __future__ import annotations

import json
from typing import Any

import boto3
from deltalake import DeltaTable

from lakeprep.storage import S3Access

# the moto server's credentials (what any client of the bucket is given)
TESTING = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
TABLES = ("bronze/customers", "bronze/orders", "bronze/web_events", "features/customer_features")


def s3_client(endpoint: str, creds: dict[str, str] | None = None) -> Any:
    """An S3 client of the moto server at ``endpoint``, as ``creds`` (default: ``TESTING``)."""
    creds = creds or TESTING
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"])


def objects(endpoint: str, bucket: str, prefix: str = "") -> dict[str, int]:
    """``{key: size}`` of every object under ``prefix``."""
    client = s3_client(endpoint)
    out: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return out


def check_lake_in_bucket(endpoint: str, root: str, lake: str, export_dir: str,
                         engine: str) -> None:
    """After generate-sample, ingest, build-features, export, reproduce, lineage and quality
    docs on the data root ``root`` (``s3://bucket/prefix``, its raw files under ``raw/``, its
    exports under ``exports/``, its tables under ``lake``): every table is a Delta table whose
    commits carry lakeprep's metadata (the engine, the run, the raw files with their hashes),
    readable by any client given the same endpoint; the export's channels are in the bucket;
    lineage events, every gate's result and the Data Docs are kept beside the lake."""
    bucket, _, under = root.removeprefix("s3://").partition("/")
    keys = objects(endpoint, bucket, under)
    prefix = lake.removeprefix(f"s3://{bucket}/")
    options = {**S3Access(endpoint, "us-east-1", True).delta_options(), **TESTING}
    for table in TABLES:
        assert f"{prefix}/{table}/_delta_log/00000000000000000000.json" in keys, table
        last = DeltaTable(f"{lake}/{table}", storage_options=options).history(1)[0]
        meta = json.loads(last["userMetadata"])
        assert meta["engine"] == engine and meta["run_id"], (table, meta)
    orders_meta = json.loads(DeltaTable(f"{lake}/bronze/orders", storage_options=options)
                             .history()[-1]["userMetadata"])
    raw_files = [f for i in orders_meta["inputs"] for f in i["files"]]
    assert raw_files and all(f["path"].startswith(f"{root}/raw/") and len(f["sha256"]) == 64
                             for f in raw_files), raw_files
    export_key = export_dir.removeprefix(f"s3://{bucket}/")
    manifest = json.loads(s3_client(endpoint).get_object(
        Bucket=bucket, Key=f"{export_key}/manifest.json")["Body"].read())
    for channels in manifest["channels"].values():
        for files in channels.values():
            assert files["uri"].startswith(f"{root}/exports/")
            assert files["rows"] > 0
    assert any("/openlineage/" in k for k in keys), "lineage events are kept in the lake"
    results = [k for k in keys if "/_lakeprep/quality/results/" in k and k.endswith(".json")]
    assert len(results) >= 3, "every gate's validation result is kept next to the lake"
    assert any("/_lakeprep/quality/docs/" in k and k.endswith("/index.html") for k in keys), \
        "Data Docs are rendered next to the lake"
