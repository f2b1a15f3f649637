"""What every test and doctest shares: one SparkSession for the whole test session (also in the
namespace of the doctests that use ``spark``). The tests' own fixtures are in tests/conftest.py."""

from __future__ import annotations

import os

import pytest
from _pytest.doctest import DoctestItem

os.environ.setdefault("TZ", "UTC")
# every JVM of a local Spark session the tests start (this process's and those of the jobs the
# tests run as processes of their own: kill points, concurrency, notebooks, the demo) compiles
# with C1 only: the suite is thousands of small cold queries, where C2's compilations cost CPU
# they never repay (tests/jobs/test_feature_sets.py: 95 s of CPU with both compilers, 65 s with
# C1 alone; a job run as a process: ingest 75 -> 49 s of CPU, build-features 91 -> 61 s), and
# collects with the serial collector (a few more percent: small heaps, no concurrent GC
# threads). spark-submit adds SPARK_SUBMIT_OPTS to the driver JVM's options; users' sessions
# keep the JVM's defaults. (The twin's cluster does the same for its JVMs: tests/twin/cluster.py.)
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


# xdist groups handed out before all others, longest first (the slowest of `make test`'s
# durations): one started last would end the run minutes after the other worker is done. The
# service twin (tests/twin) is one group of 20-30 minutes.
FIRST_GROUPS = ("tests/twin/test_twin.py", "tests/test_s3_pipeline.py",
                "tests/jobs/test_kill_points.py", "demo_run")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` with ``FIRST_GROUPS`` handed out first (xdist orders the groups by
    their number of tests, which says nothing of their time)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class LongestFirst(LoadGroupScheduling):
        def _assign_work_unit(self, node):  # type: ignore[no-untyped-def]
            for group in reversed(FIRST_GROUPS):
                if group in self.workqueue:
                    self.workqueue.move_to_end(group, last=False)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


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
            # Delta rebuilds a table's state in 50 tasks by default (sized for clusters): the
            # tests' tables are a few files (a delta-spark ingest + build-features run as a
            # process: 66-69 s of CPU with 50, 51-57 s with 2)
            "spark.databricks.delta.snapshotPartitions": "2",
        },
    )
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _doctest_spark(request: pytest.FixtureRequest) -> None:
    """A doctest whose examples use ``spark`` gets the shared session (and only such a one
    starts it)."""
    item = request.node
    if isinstance(item, DoctestItem) and any("spark" in e.source for e in item.dtest.examples):
        request.getfixturevalue("doctest_namespace")["spark"] = request.getfixturevalue("spark")
