"""The tests' fixtures: the moto server, the taxi samples; xdist groups. (The shared SparkSession
is in the root conftest.py, which doctests see too.)"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import moto_support

os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]
os.environ.setdefault("TZ", "UTC")

REPO = Path(__file__).resolve().parents[1]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Keep each file on one xdist worker, and every user of the shared demo lake on the same one.

    ``make test`` runs the suite on two workers (``-n 2 --dist loadgroup``): module fixtures are
    then built once, and the session-scoped ``demo_run`` (a whole pipeline) once, not per worker.
    ``tryfirst``: xdist's worker turns the marks into the group suffix of the node id in its own
    hook of the same name, so they must be set before it runs (pytest 9.2 ignores that suffix:
    pytest-dev/pytest-xdist#1386, hence pytest<9.2 in pyproject.toml).
    """
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        path = item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group("demo_run" if "demo_run" in fixtures else path))


@pytest.fixture(scope="session")
def taxi_dir(tmp_path_factory) -> Path:
    """A private copy of the NYC taxi samples shipped in ``lakeprep/sample/data/nyc_taxi``."""
    from lakeprep.sample import taxi_samples

    dst = tmp_path_factory.mktemp("nyc_taxi")
    for f in taxi_samples():
        shutil.copy(f, dst / f.name)
    return dst



@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """One moto server per test worker (its endpoint URL), started and stopped here.

    Every test that needs S3 or another AWS API shares it: a test creates the buckets it uses
    (``tests.moto_support.make_bucket``), and the AWS command tests start from an empty server
    (``reset_moto``), so no test depends on what another left behind. One endpoint for the
    whole worker also keeps the shared session's s3a settings (and Hadoop's cached
    filesystems) pointing at a live server whatever the order of the tests.
    """
    with moto_support.serve() as endpoint:
        yield endpoint
