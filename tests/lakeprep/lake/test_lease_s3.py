"""The table lease on S3 (moto server on 127.0.0.1, over HTTP): a second holder fails cleanly
or waits, a stale lease is taken over, and of two runs taking over one lease exactly one wins."""

from __future__ import annotations

import json
import threading

import boto3
import pytest

from lakeprep import storage
from lakeprep.errors import LakeTableError
from lakeprep.lake import lease
from lakeprep.lake.lease import LEASE_FILE, hold
from tests.moto_support import KEYS, make_bucket

BUCKET = "lakeprep-lake"

TABLE = f"s3a://{BUCKET}/lease-test/bronze/orders"
KEY = f"lease-test/bronze/orders/{LEASE_FILE}"


@pytest.fixture
def s3(monkeypatch, moto_server):
    endpoint = moto_server
    make_bucket(endpoint, BUCKET)
    for key, value in KEYS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(storage, "_s3", storage.S3Access(endpoint, "us-east-1", True))
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    yield client
    client.delete_object(Bucket=BUCKET, Key=KEY)


def _holder(client) -> dict:
    return json.loads(client.get_object(Bucket=BUCKET, Key=KEY)["Body"].read())


def test_a_second_holder_fails_cleanly_or_waits(s3, monkeypatch):
    with hold(TABLE, run_id="first", job="ingest"):
        assert _holder(s3)["run_id"] == "first"
        with pytest.raises(LakeTableError, match=r"orders: run first \(ingest, pid \d+ on .*\) is "
                                                 r"writing this table; run again when it has "
                                                 r"finished \(if that run is dead, its lease "
                                                 r"expires at "):
            with hold(TABLE, run_id="second", job="ingest"):
                pass
        # a waiting holder polls; the first poll tells us it found the lease taken
        polling, real_sleep = threading.Event(), lease.time.sleep
        monkeypatch.setattr(lease.time, "sleep", lambda s: (polling.set(), real_sleep(s)))
        got: list[str] = []

        def second() -> None:
            with hold(TABLE, run_id="second", job="ingest", wait_s=120):
                got.append(_holder(s3)["run_id"])

        waiter = threading.Thread(target=second)
        waiter.start()
        assert polling.wait(60), "the second holder never found the lease held"
        assert got == []
    waiter.join(60)
    assert got == ["second"]
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=KEY)  # released


def test_an_expired_lease_is_taken_over_and_a_live_one_is_not(s3, caplog):
    stale = {"run_id": "killed", "job": "ingest", "host": "another-host", "pid": 1,
             "since": "2026-01-01T00:00:00+00:00", "expires": "2026-01-01T00:10:00+00:00"}
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps(stale).encode())
    with hold(TABLE, run_id="next", job="ingest"):
        assert _holder(s3)["run_id"] == "next"
    assert "taking over the lease of run killed (it expired at 2026-01-01T00:10:00+00:00)" \
        in caplog.text

    # a lease of another host that names no expiry may be a live run: never taken
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=json.dumps({**stale, "expires": None}).encode())
    with pytest.raises(LakeTableError, match=rf"if that run is dead, remove {TABLE}/{LEASE_FILE}"):
        with hold(TABLE, run_id="next", job="ingest"):
            pass
    assert _holder(s3)["run_id"] == "killed"


def test_of_two_runs_taking_over_one_stale_lease_one_wins(s3):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{"run_id": "killed", "expires": "2026-01-01"}')
    tag = s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"]
    path = f"{TABLE}/{LEASE_FILE}"
    assert lease._take_over(path, tag, json.dumps({"run_id": "a"}))
    assert not lease._take_over(path, tag, json.dumps({"run_id": "b"}))  # ETag changed
    assert _holder(s3)["run_id"] == "a"
