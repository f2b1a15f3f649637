"""A Spark standalone cluster of real processes for the service twins: a master and two workers
of one core each, on 127.0.0.1, every process in a mount namespace of its own.

What each process sees (``unshare --mount``, then empty tmpfs mounts over what it must not see):

- a worker: its own folder (work dir, local dirs) and an empty private ``/tmp``; the drivers'
  folders, the other worker's folder, the builder's Python installation (``sys.base_prefix``,
  e.g. ``/root/.pyenv/...``) and the checkout's sources are hidden. Its executors inherit that
  view, so an executor can reach nothing of the driver but S3 and what Spark sends it.
- a driver (``isolated`` below): its own folder; the workers' folders, the builder's Python
  and the checkout's sources are hidden, and ``/tmp`` is private too.

The "image" every node has (what the service's machines bring): the JDK, pyspark's Spark
distribution (``SPARK_HOME``), a portable Python (for Glue), and a folder of jars standing for
what EMR and Glue put on the classpath (Delta, S3). It lives in the cluster's folder, which is
outside ``/tmp`` so that the private ``/tmp`` mounts do not hide it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# the checkout's sources: a twin run must take its code from the bucket, never from here
SOURCES = ("lakeprep", "jobs", "features", "quality", "conf", "glue_scripts", "emr", "tests")
EXECUTOR_MEMORY = "1g"
# every JVM of the cluster (master, workers, drivers, executors) compiles with C1 only: a twin
# run is minutes of cold code on tiny data, where C2's compilations cost CPU they never repay;
# measured on a small Spark job: 28 s of CPU with both compilers, 18 s with C1 alone, the same
# wall time; and the serial collector (small heaps: no concurrent GC threads to pay for). The
# services' JVMs keep their defaults: this is the two-core test machine's image.
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
WORKER_MEMORY = "1400m"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def hidden_from_nodes() -> list[Path]:
    """What no cluster process may see: the builder's Python and the checkout's sources."""
    return [Path(sys.base_prefix), *[REPO / name for name in SOURCES if (REPO / name).exists()]]


def isolated(cmd: Sequence[str], hide: Sequence[Path], private_tmp: bool = True) -> list[str]:
    """``cmd`` in a mount namespace of its own where ``hide`` (and ``/tmp``) are empty."""
    mounts = [f"mount -t tmpfs -o mode=0755 twin-hidden '{p}'" for p in hide]
    if private_tmp:
        mounts.append("mount -t tmpfs -o mode=1777 twin-tmp /tmp")
    script = " && ".join([*mounts, 'exec "$@"'])
    # not root: a user namespace of its own, where the user may mount (its files stay its own)
    user = ["--map-root-user"] if os.geteuid() else []
    return ["unshare", "--mount", *user, "--propagation", "private", "sh", "-c", script,
            "twin", *cmd]


@dataclass
class Cluster:
    """A running standalone cluster (``start``), its folders and its image."""

    root: Path
    master_url: str = ""
    webui: int = 0
    processes: list[subprocess.Popen] = field(default_factory=list)  # type: ignore[type-arg]

    @property
    def workers_dir(self) -> Path:
        return self.root / "workers"

    @property
    def drivers_dir(self) -> Path:
        return self.root / "drivers"

    @property
    def image(self) -> Path:
        return self.root / "image"

    @property
    def jars(self) -> Path:
        """The image's jars: Delta (EMR's /usr/share/aws/delta/lib, Glue's --datalake-formats)
        and S3 (what EMRFS and Glue's S3 connector are on the services)."""
        return self.image / "jars"

    @property
    def python(self) -> Path:
        """The image's Python 3.11 (Glue's own interpreter)."""
        return self.image / "python" / "bin" / "python"

    def base_env(self) -> dict[str, str]:
        """The environment every cluster process starts from (nothing of the test's)."""
        keep = {k: os.environ[k] for k in ("PATH", "LANG", "JAVA_HOME") if k in os.environ}
        return {**keep, "HOME": str(self.root / "home"), "SPARK_HOME": str(spark_home()),
                "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_CONF_DIR": str(self.root / "conf"),
                "TZ": "UTC", "PYSPARK_PYTHON": str(self.python),
                "JAVA_TOOL_OPTIONS": JVM_OPTIONS}

    def start(self) -> Cluster:
        self._image()
        for folder in ("workers", "drivers", "home", "conf", "logs"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
        (self.root / "conf" / "log4j2.properties").write_text(LOG4J2)
        port, self.webui = free_port(), free_port()
        self.master_url = f"spark://127.0.0.1:{port}"
        hide = hidden_from_nodes()
        master = ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                  "--port", str(port), "--webui-port", str(self.webui)]
        self._launch("master", master, {}, hide)
        for n in (1, 2):
            own = self.workers_dir / f"worker-{n}"
            for sub in ("work", "local"):
                (own / sub).mkdir(parents=True, exist_ok=True)
            others = [self.drivers_dir, *[self.workers_dir / f"worker-{m}" for m in (1, 2)
                                          if m != n]]
            for other in others:
                other.mkdir(parents=True, exist_ok=True)
            worker = ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                      "--cores", "1", "--memory", WORKER_MEMORY, "--webui-port", str(free_port()),
                      "--work-dir", str(own / "work"), self.master_url]
            # no AWS settings: a run's role credentials and endpoint reach its executors
            # through the run (tests/twin/services.py), as each run has its own role
            env = {"SPARK_LOCAL_DIRS": str(own / "local"), "TMPDIR": "/tmp"}
            self._launch(f"worker-{n}", worker, env, [*hide, *others])
        self._wait_for_workers(2)
        return self

    def _launch(self, name: str, args: list[str], env: dict[str, str],
                hide: Sequence[Path]) -> None:
        cmd = isolated([str(spark_home() / "bin" / "spark-class"), *args], hide)
        log = (self.root / "logs" / f"{name}.log").open("w")
        self.processes.append(subprocess.Popen(
            cmd, env={**self.base_env(), "SPARK_DAEMON_MEMORY": "256m", **env},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def _master_state(self) -> dict:  # type: ignore[type-arg]
        with urllib.request.urlopen(f"http://127.0.0.1:{self.webui}/json/", timeout=10) as r:
            return dict(json.load(r))

    def applications(self) -> set[str]:
        """The ids of every application the master has run or runs."""
        state = self._master_state()
        return {a["id"] for a in [*state.get("activeapps", []), *state.get("completedapps", [])]}

    def executor_workers(self, app: str) -> list[str]:
        """The workers that ran an executor of ``app`` (they keep its folder in their work
        directory)."""
        return sorted(w.name for w in self.workers_dir.iterdir() if (w / "work" / app).is_dir())

    def _wait_for_workers(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.processes:
                if p.poll() is not None:
                    raise RuntimeError(f"a cluster process exited ({p.args}): see "
                                       f"{self.root / 'logs'}")
            try:
                if self._master_state().get("aliveworkers", 0) >= count:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the standalone cluster did not get {count} workers in {timeout} s")

    def _image(self) -> None:
        """The image: the jars and a portable Python whose packages are the test venv's
        third-party ones (pyspark, delta-spark, ...) but not lakeprep (installed per run)."""
        from lakeprep.aws.package import portable_python
        from lakeprep.spark import jar_paths

        self.jars.mkdir(parents=True, exist_ok=True)
        (self.image / "delta").mkdir(parents=True, exist_ok=True)
        for jar in jar_paths():
            shutil.copy2(jar, self.jars / Path(jar).name)
            # EMR's /usr/share/aws/delta/lib names its jars without versions
            for emr_name in ("delta-spark", "delta-storage"):
                if Path(jar).name.startswith(f"{emr_name}_") or Path(jar).name.startswith(
                        f"{emr_name}-"):
                    shutil.copy2(jar, self.image / "delta" / f"{emr_name}.jar")
        python = portable_python(self.image / "python")
        site = next((python / "lib").glob("python3.*/site-packages"))
        # the test environment's third-party packages, linked one by one, lakeprep's own
        # (editable) install left out: a run installs its wheel into this Python as Glue does
        venv = next(p for p in map(Path, sys.path) if p.name == "site-packages"
                    and (p / "pyspark").is_dir())
        for entry in venv.iterdir():
            if entry.name.startswith(("lakeprep", "__editable__", "_virtualenv")) or \
                    entry.suffix == ".pth" or (site / entry.name).exists():
                continue
            (site / entry.name).symlink_to(entry)

    def stop(self) -> None:
        for p in reversed(self.processes):
            if p.poll() is None:
                p.terminate()
        for p in self.processes:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.processes.clear()


def new_root() -> Path:
    """The cluster's folder: outside /tmp (the processes get a private /tmp)."""
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else Path.home()
    return Path(tempfile.mkdtemp(prefix="lakeprep-twin-", dir=base))


LOG4J2 = """\
status = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
"""
