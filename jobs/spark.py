"""The one place that creates or finds a SparkSession; library code receives one."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

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


def get_spark(
    app_name: str = "lakeprep",
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    delta_packages: bool = False,
) -> SparkSession:
    """Return the active session (EMR, Glue, notebooks) or start a local one.

    >>> spark = get_spark("doc", master="local[1]")  # doctest: +SKIP
    >>> spark.conf.get("spark.sql.session.timeZone")  # doctest: +SKIP
    'UTC'

    ``delta_packages`` adds delta-spark's Maven coordinates (needs Maven Central, so it is off for
    the offline local default); Delta's SQL extensions are set whenever it is on.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        log.debug("reusing the active SparkSession %s", active.sparkContext.appName)
        return active
    # Python workers run the driver's interpreter (the venv with lakeprep installed), not
    # whatever `python3` is first on PATH
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if not _submitted_with_master():
        builder = builder.master(master or "local[*]")
    settings = {**LOCAL_DEFAULTS, **(conf or {})}
    if delta_packages:
        settings.update(DELTA_SQL_CONF)
    for key, value in settings.items():
        builder = builder.config(key, value)
    if delta_packages:
        from delta import configure_spark_with_delta_pip

        builder = configure_spark_with_delta_pip(builder)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _submitted_with_master() -> bool:
    """True under spark-submit with --master: its choice wins over our local default."""
    if "PYSPARK_GATEWAY_PORT" not in os.environ:  # set only when spark-submit runs us
        return False
    from pyspark import SparkConf

    return SparkConf().contains("spark.master")


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
