"""The twin's fixtures: the packaged artefacts, the standalone cluster and the service twin,
each built once per test worker and shared by every twin test (see tests/twin/cluster.py)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from lakeprep.aws import package

from .cluster import Cluster, new_root
from .services import Twin, service_env

# the twin runs only when asked for: see the README's "What the tests run (the twin)"
RUN_TWIN = "LAKEPREP_TWIN"
TWIN_TESTS = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Skip the twin's tests unless ``LAKEPREP_TWIN=1`` (``make twin``): they run every job as
    a separate spark-submit with executors on a two-worker cluster plus a local reference run:
    33 min of CPU, which with the suite's 55 makes more than the 40-minute budget holds on two
    cores (`LAKEPREP_TWIN=1 make test`, measured: 46.5 min, both cores full)."""
    if os.environ.get(RUN_TWIN) == "1":
        return
    skip = pytest.mark.skip(reason=f"the service twin runs with {RUN_TWIN}=1 (make twin): over "
                                   f"the suite's time budget on two cores")
    for item in items:
        if TWIN_TESTS in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def twin_dist(request, tmp_path_factory):
    """What `lakeprep package --target all` builds: the wheel, the entry scripts and the Python
    archive (``package.build``'s steps), each step's time printed. The archive's base
    environment (interpreter, standard library, requirements: minutes to build) is kept in
    pytest's cache (``.pytest_cache/d/twin-python/``), so a run with new code packs only the
    wheel into it, as ``lakeprep package`` does with its own cache."""
    out = tmp_path_factory.mktemp("twin-dist")
    root = package.source_root()
    started = time.perf_counter()
    wheel = package.build_wheel(root, out)
    shutil.copy2(root / "jobs" / "cli" / "__main__.py", out / package.ENTRY)
    shutil.copy2(root / "glue_scripts" / "run_job.py", out / package.GLUE_SCRIPT)
    built = time.perf_counter()
    cache = Path(request.config.cache.mkdir("twin-python"))
    kept = set(cache.glob("python-*"))
    archive = package.pack_python(wheel, out / package.PYTHON_ARCHIVE, cache=cache)
    print(f"twin dist: {out}: wheel {built - started:.0f} s, archive "
          f"{time.perf_counter() - built:.0f} s ({archive.stat().st_size / 2**20:.0f} MiB, "
          f"base environment "
          f"{'built' if set(cache.glob('python-*')) - kept else 'from the cache'})")
    return out


@pytest.fixture(scope="session")
def cluster():
    """A master and two workers (tests/twin/cluster.py), stopped at the end."""
    root = new_root()
    running = Cluster(root)
    started = time.perf_counter()
    try:
        running.start()
        print(f"twin cluster: {running.master_url}, image and two workers in "
              f"{time.perf_counter() - started:.0f} s")
        yield running
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def twin(cluster, moto_server):
    """Glue, EMR and EMR Serverless in front of the worker's moto server."""
    services = Twin(cluster, moto_server, service_env(moto_server))
    yield services
    services.close()
