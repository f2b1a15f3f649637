"""One SparkSession for the whole test session, and temporary copies of the shared data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("PYSPARK_PYTHON", os.sys.executable)  # type: ignore[attr-defined]
os.environ.setdefault("TZ", "UTC")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# files whose tests are minutes each and share only a cheap fixture: in one group they would run
# in sequence on one worker, the suite's longest path (the S3 pipeline: ~4.5 min per engine)
SPREAD = {"tests/test_s3_pipeline.py"}


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
        if path in SPREAD:
            continue
        item.add_marker(pytest.mark.xdist_group("demo_run" if "demo_run" in fixtures else path))


@pytest.fixture(scope="session")
def spark():
    from lakeprep.spark import get_spark

    session = get_spark(
        "lakeprep-tests",
        master="local[2]",
        conf={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "2g",
            "spark.sql.adaptive.enabled": "false",
        },
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def taxi_dir(tmp_path_factory) -> Path:
    """A private copy of ../shared/data/nyc_taxi (the shared folder is read-only)."""
    src = SHARED_DATA / "nyc_taxi"
    if not src.exists():
        pytest.skip(f"shared data not found at {src}")
    dst = tmp_path_factory.mktemp("nyc_taxi")
    for f in src.glob("*.csv"):
        shutil.copy(f, dst / f.name)
    return dst
