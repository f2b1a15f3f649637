"""The twin's fixtures: the packaged artefacts, the standalone cluster and the service twin,
each built once per test worker and shared by every twin test (see tests/twin/cluster.py)."""

from __future__ import annotations

import shutil

import pytest

from lakeprep.aws.package import build
from tests.moto_support import KEYS

from .cluster import Cluster, new_root
from .services import Twin


def service_env(endpoint: str, keys: dict[str, str] | None = None) -> dict[str, str]:
    """What the service gives a run: the network (the AWS endpoint) and the role's
    credentials; ``LAKEPREP_S3_ENDPOINT`` is the one lakeprep setting that stands for it."""
    return {**KEYS, **(keys or {}), "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint, "LAKEPREP_S3_ENDPOINT": endpoint}


@pytest.fixture(scope="session")
def twin_dist(tmp_path_factory):
    """`lakeprep package --target all`: the wheel, the entry scripts and the Python archive."""
    out = tmp_path_factory.mktemp("twin-dist")
    report = build(["glue", "emr", "emr-serverless"], out)
    for line in report.lines():
        print(line)
    return out


@pytest.fixture(scope="session")
def cluster(moto_server):
    """A master and two workers (tests/twin/cluster.py), stopped at the end."""
    root = new_root()
    running = Cluster(root)
    try:
        yield running.start(service_env(moto_server))
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def twin(cluster, moto_server):
    """Glue, EMR and EMR Serverless in front of the worker's moto server."""
    services = Twin(cluster, moto_server, service_env(moto_server))
    yield services
    services.close()
