"""What every test and doctest shares: one SparkSession for the whole test session (also in the
namespace of the doctests that use ``spark``). The tests' own fixtures are in tests/conftest.py."""

from __future__ import annotations

import os

import pytest
from _pytest.doctest import DoctestItem

os.environ.setdefault("TZ", "UTC")


# xdist groups handed out before all others, longest first (the slowest of `make test`'s
# durations): one started last would end the run minutes after the other worker is done. The
# service twin (tests/twin, with LAKEPREP_TWIN=1) is one group of 25-40 minutes.
FIRST_GROUPS = ("tests/twin/test_twin.py",
                "tests/test_s3_pipeline.py::test_the_pipeline_runs_on_an_s3_lake[delta-spark]",
                "tests/test_s3_pipeline.py::test_the_pipeline_runs_on_an_s3_lake[deltalake]",
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
            # C1 only: the suite is thousands of small cold queries, where C2's compilations
            # cost CPU they never repay (tests/jobs/test_feature_sets.py: 95 s of CPU with
            # both compilers, 65 s with C1 alone). Users' sessions keep the JVM's defaults.
            "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1",
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
