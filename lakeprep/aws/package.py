"""``lakeprep package``: build what each AWS target runs, into one folder (default ``dist/``).

- every target: the wheel (code + the default conf, ``site-packages/conf``) and the entry script
  ``cli.py`` (a copy of ``jobs/cli/__main__.py``, the one entry point of spark-submit, EMR steps and
  EMR Serverless);
- glue: ``run_job.py`` (``glue_scripts/``), Glue's script that calls the same CLI;
- emr: ``bootstrap.sh`` (``emr/``), which installs the wheel on every node at cluster start;
- emr-serverless: ``lakeprep_venv.tar.gz``, a venv-pack archive of a virtual environment with
  the wheel and its dependencies except pyspark and delta-spark (the image brings them), for
  ``spark.archives``. Build it on the platform the job runs on (Amazon Linux 2023, x86_64 or
  arm64 as the application, Python 3.11): it holds compiled wheels (pyarrow, numpy, deltalake).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
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
BOOTSTRAP = "bootstrap.sh"
VENV_ARCHIVE = "lakeprep_venv.tar.gz"
# the Spark runtime of EMR Serverless, EMR and Glue provides these: never packed
PROVIDED = {"pyspark", "delta-spark"}


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
        return [f"{a.name:<22} {a.size / 2**20:>9.1f} MiB  {a.seconds:>6.1f} s  {a.path}"
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
    extra = {"glue": [GLUE_SCRIPT], "emr": [BOOTSTRAP], "emr-serverless": [VENV_ARCHIVE]}
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
    if "emr" in targets:
        _timed(report, BOOTSTRAP, lambda: _copy(root / "emr" / "bootstrap.sh", out / BOOTSTRAP))
    if "emr-serverless" in targets:
        _timed(report, VENV_ARCHIVE, lambda: pack_venv(wheel, out / VENV_ARCHIVE))
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


def pack_venv(wheel: Path, dest: Path) -> Path:
    """A venv-pack archive of a fresh venv holding ``wheel`` and its non-Spark dependencies."""
    try:
        import venv_pack  # noqa: F401
    except ImportError:
        raise UsageError("--target emr-serverless needs venv-pack: pip install "
                         "'lakeprep[package]' (or pip install venv-pack)") from None
    import re

    requirements = [r for r in wheel_requirements(wheel)
                    if re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0].lower() not in PROVIDED]
    with tempfile.TemporaryDirectory(prefix="lakeprep-venv-") as tmp:
        env = Path(tmp) / "venv"
        _run([sys.executable, "-m", "venv", "--copies", str(env)], "creating the venv")
        pip = [str(env / "bin" / "python"), "-m", "pip", "install", "--quiet",
               "--disable-pip-version-check"]
        _run([*pip, *requirements], "installing the dependencies into the venv")
        _run([*pip, "--no-deps", str(wheel)], "installing the wheel into the venv")
        dest.unlink(missing_ok=True)
        _run([sys.executable, "-m", "venv_pack", "--prefix", str(env), "--output", str(dest),
              "--quiet"], "packing the venv")
    return dest


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise UsageError(f"{what} failed (exit {done.returncode}): {' | '.join(tail)}")
