"""The twin's fixtures: the packaged artefacts, the standalone cluster and the service twin,
each built once per test worker and shared by every twin test (see tests/twin/cluster.py)."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import sys
import zipfile
from pathlib import Path

import pytest

from lakeprep.aws import package

from .cluster import Cluster, new_root
from .services import Twin, service_env


def archive_key(wheel: Path) -> str:
    """What the Python archive is made of: the wheel's files (names and bytes, not the dates
    the build stamps; of its metadata the headers, not the README), the code that packs it,
    and the builder's Python and platform."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as z:
        for name in sorted(z.namelist()):
            body = z.read(name)
            if name.endswith(".dist-info/METADATA"):  # its headers; the README after them
                body = body.split(b"\n\n", 1)[0]  # changes no code in the archive
            elif name.endswith(".dist-info/RECORD"):  # the files' hashes, METADATA's among them
                continue
            digest.update(name.encode() + b"\0" + body + b"\0")
    digest.update(Path(package.__file__).read_bytes())
    digest.update(f"{sys.version}|{sys.base_prefix}|{platform.machine()}".encode())
    return digest.hexdigest()[:16]


def _building(folder: Path) -> bool:
    """True for the partial archive of a test run that is still building it."""
    _, _, pid = folder.name.partition(".partial-")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def twin_dist(request, tmp_path_factory):
    """What `lakeprep package --target all` builds: the wheel, the entry scripts and the Python
    archive (``package.build``'s steps). The archive takes minutes: it is kept in pytest's cache
    (``.pytest_cache/d/twin-archive/<key>/``) under the key of what goes in it, so a rerun
    with the same code reuses it and a change of code builds a new one (the old one goes)."""
    out = tmp_path_factory.mktemp("twin-dist")
    root = package.source_root()
    wheel = package.build_wheel(root, out)
    shutil.copy2(root / "jobs" / "cli" / "__main__.py", out / package.ENTRY)
    shutil.copy2(root / "glue_scripts" / "run_job.py", out / package.GLUE_SCRIPT)
    cache = Path(request.config.cache.mkdir("twin-archive"))
    key = archive_key(wheel)
    kept = cache / key / package.PYTHON_ARCHIVE
    if not kept.is_file():
        partial = cache / f"{key}.partial-{os.getpid()}"
        partial.mkdir()
        package.pack_python(wheel, partial / package.PYTHON_ARCHIVE)
        try:
            partial.rename(cache / key)
        except OSError:  # another run put the same archive there first
            shutil.rmtree(partial)
        for old in cache.iterdir():  # older archives, and what killed builds left
            if old.name != key and not _building(old):
                shutil.rmtree(old, ignore_errors=True)
    os.link(kept, out / package.PYTHON_ARCHIVE)  # the same disk: no copy of 260 MiB
    print(f"twin dist: {out} (archive {key}, {kept.stat().st_size / 2**20:.1f} MiB)")
    return out


@pytest.fixture(scope="session")
def cluster():
    """A master and two workers (tests/twin/cluster.py), stopped at the end."""
    root = new_root()
    running = Cluster(root)
    try:
        yield running.start()
    finally:
        running.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def twin(cluster, moto_server):
    """Glue, EMR and EMR Serverless in front of the worker's moto server."""
    services = Twin(cluster, moto_server, service_env(moto_server))
    yield services
    services.close()
