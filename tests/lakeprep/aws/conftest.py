"""moto in server mode on 127.0.0.1 for the AWS commands; boto3 finds it through
AWS_ENDPOINT_URL, as lakeprep's clients do in production with a real endpoint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import moto_support

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def moto_endpoint(moto_server):
    """The worker's moto server, emptied: each AWS command test starts from no bucket, job or
    run, whatever ran before it."""
    moto_support.reset(moto_server)
    return moto_server


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """AWS variables pointing at the moto server; returns a boto3 client factory."""
    import boto3

    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                        "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return lambda service: boto3.client(service, endpoint_url=moto_endpoint,
                                        region_name="us-east-1")


@pytest.fixture
def dist(tmp_path):
    """A dist/ folder as `lakeprep package --target all` leaves it (the Python archive and wheel
    stand-ins are small files: building them is what tests/twin checks)."""
    out = tmp_path / "dist"
    out.mkdir()
    (out / "lakeprep-0.1.0-py3-none-any.whl").write_bytes(b"wheel")
    shutil.copy(REPO / "jobs/cli/__main__.py", out / "cli.py")
    shutil.copy(REPO / "glue_scripts/run_job.py", out / "run_job.py")
    (out / "lakeprep_python.tar.gz").write_bytes(b"python")
    return out
