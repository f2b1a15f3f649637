"""What two lakes hold, in a form to compare: every version of every Delta table (its rows, in
no particular order) and every record of every export channel.

Run-specific values are set aside: the columns naming the run that wrote a row (``_run_id``,
``_ingested_at``) and the lake's bucket name in text values (``_source_file``, manifests).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import pyarrow.parquet as pq
from deltalake import DeltaTable

from lakeprep.sagemaker.recordio import iter_frames
from lakeprep.storage import S3Access
from tests.s3_lake import TESTING, s3_client

RUN_COLUMNS = {"_run_id", "_ingested_at"}


def keys(endpoint: str, bucket: str, prefix: str = "",
         creds: dict[str, str] | None = None) -> list[str]:
    out: list[str] = []
    for page in s3_client(endpoint, creds).get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                                Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def _normal(value: Any, bucket: str) -> str:
    return repr(value).replace(bucket, "<bucket>")


def tables(endpoint: str, bucket: str, prefix: str = "lake/",
           creds: dict[str, str] | None = None) -> dict[str, list[Counter[str]]]:
    """``{table folder: [rows of version 0, rows of version 1, ...]}`` under ``prefix`` (the
    lake's own bookkeeping under ``_lakeprep`` aside)."""
    roots = sorted({k.split("/_delta_log/")[0] for k in keys(endpoint, bucket, prefix, creds)
                    if "/_delta_log/" in k and "/_lakeprep/" not in f"/{k}"})
    options = S3Access(endpoint, "us-east-1", True).delta_options()
    options.update(creds or TESTING)
    out = {}
    for root in roots:
        uri = f"s3://{bucket}/{root}"
        latest = DeltaTable(uri, storage_options=options).version()
        versions = []
        for v in range(latest + 1):
            table = DeltaTable(uri, version=v, storage_options=options).to_pyarrow_table()
            names = [n for n in table.column_names if n not in RUN_COLUMNS]
            versions.append(Counter(_normal(tuple(row[n] for n in names), bucket)
                                    for row in table.select(names).to_pylist()))
        out[root] = versions
    return out


def channels(endpoint: str, bucket: str) -> dict[str, Counter[str]]:
    """``{"<table>/<channel>/<format>": records}`` of every export's manifest."""
    s3 = s3_client(endpoint)
    out: dict[str, Counter[str]] = {}
    for key in keys(endpoint, bucket, "exports/"):
        if not key.endswith("/manifest.json"):
            continue
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        table = key.split("/")[1]
        for channel, formats in manifest["channels"].items():
            for fmt, files in formats.items():
                records: Counter[str] = Counter()
                base = files["uri"].removeprefix(f"s3://{bucket}/").rstrip("/")
                for name in files["files"]:
                    body = s3.get_object(Bucket=bucket, Key=f"{base}/{name}")["Body"].read()
                    records.update(_records(fmt, body))
                out[f"{table}/{channel}/{fmt}"] = records
    return out


def differences(got: dict[str, Any], want: dict[str, Any], shown: int = 3) -> str:
    """What differs between two results of ``tables`` or ``channels``, readably: per table (and
    version) the counts and up to ``shown`` rows found only on one side; empty when equal."""
    lines = []
    for name in sorted(set(got) | set(want)):
        a, b = got.get(name), want.get(name)
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"{name}: only in {'the reference' if a is None else 'the twin'}")
            continue
        pairs = list(zip(a, b, strict=False)) if isinstance(a, list) else [(a, b)]
        if isinstance(a, list) and len(a) != len(b):
            lines.append(f"{name}: {len(a)} versions, the reference {len(b)}")
        for v, (x, y) in enumerate(pairs):
            if x == y:
                continue
            where = f"{name}@v{v}" if isinstance(a, list) else name
            lines.append(f"{where}: {sum(x.values())} rows, the reference {sum(y.values())}")
            lines += [f"  twin only: {r}" for r in list((x - y).elements())[:shown]]
            lines += [f"  reference only: {r}" for r in list((y - x).elements())[:shown]]
    return "\n".join(lines)


def _records(fmt: str, body: bytes) -> list[str]:
    if fmt == "parquet":
        return [repr(sorted(r.items())) for r in pq.read_table(io.BytesIO(body)).to_pylist()]
    if fmt == "recordio-protobuf":
        return [bytes(p).hex() for p in iter_frames(body)]
    return body.decode().splitlines()
