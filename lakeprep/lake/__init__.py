"""Lake tables: one contract (``LakeTable``), two engines (delta-spark, deltalake).

In a notebook, a table by its catalog name, latest or as of a version or a timestamp::

    from lakeprep.lake import read_table
    orders = read_table("orders", env="local")
    before = read_table("orders", version=2)

In code that writes::

    table = open_table(spark, "/tmp/lake/orders", ["order_date"])
    table.overwrite_partitions(day_df, metadata={"job": "ingest"}).version
    # -> 3
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession

from lakeprep.errors import ConfigError

if TYPE_CHECKING:
    from lakeprep.config import Settings
from lakeprep.lake.base import Commit, LakeTable, WriteResult
from lakeprep.lake.deltars import DeltaRsTable
from lakeprep.lake.deltaspark import DeltaSparkTable
from lakeprep.spark import has_delta_classes

ENGINES: dict[str, type[LakeTable]] = {"deltalake": DeltaRsTable, "delta-spark": DeltaSparkTable}


def resolve_engine(spark: SparkSession, engine: str = "auto") -> str:
    """``auto`` is delta-spark when its classes are on the JVM classpath, else deltalake."""
    if engine == "auto":
        return "delta-spark" if has_delta_classes(spark) else "deltalake"
    if engine not in ENGINES:
        raise ConfigError(f"lake.engine: unknown engine {engine!r}; valid: auto, "
                          f"{', '.join(ENGINES)}")
    if engine == "delta-spark" and not has_delta_classes(spark):
        raise ConfigError("lake.engine: delta-spark asked for, but io.delta classes are not on "
                          "the classpath (Glue: --datalake-formats delta; EMR: enable Delta; "
                          "local: spark.delta_packages: true, which needs Maven Central)")
    return engine


def open_table(spark: SparkSession, location: str, partition_by: Sequence[str] = (),
               engine: str = "auto", storage_options: dict[str, str] | None = None) -> LakeTable:
    """The Delta table at ``location`` through the chosen engine."""
    cls = ENGINES[resolve_engine(spark, engine)]
    return cls(spark, location, partition_by, storage_options)


def read_table(name: str, version: int | None = None, timestamp: datetime | str | None = None,
               *, env: str = "local", settings: Settings | None = None,
               spark: SparkSession | None = None) -> DataFrame:
    """The rows of the catalog table ``name`` (latest, or as of ``version`` / ``timestamp``).

    ``settings`` default to ``load_settings(env)``; ``spark`` to the active or a new session.
    """
    from lakeprep.config import load_settings
    from lakeprep.errors import LakeTableError
    from lakeprep.spark import session_for

    settings = settings or load_settings(env)
    spec = settings.table(name)
    session = spark or session_for(settings)
    table = open_table(session, spec.location, spec.partition_by, settings.lake.engine,
                       settings.lake.storage_options)
    if not table.exists():
        raise LakeTableError(f"table {name} has no version yet at {spec.location}")
    return table.read(version=version, timestamp=timestamp)


__all__ = ["ENGINES", "Commit", "LakeTable", "WriteResult", "open_table", "read_table",
           "resolve_engine"]
