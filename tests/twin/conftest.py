"""The twin's fixtures: the packaged artefacts, the standalone cluster and the service twin,
each built once per test worker and shared by every twin test (see tests/twin/cluster.py)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from lakeprep.aws import package

from .cluster import Cluster, new_root
from .services import Twin, service_env


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
