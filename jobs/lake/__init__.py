"""Lake tables: one contract (``LakeTable``), two engines (delta-spark, deltalake).

>>> table = open_table(spark, "/tmp/lake/orders", ["order_date"])  # doctest: +SKIP
>>> table.overwrite_partitions(day_df, metadata={"job": "ingest"}).version  # doctest: +SKIP
3
>>> table.read(version=2).count()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import SparkSession

from jobs.lake.base import Commit, LakeTable, WriteResult
from jobs.lake.deltars import DeltaRsTable
from jobs.lake.deltaspark import DeltaSparkTable
from jobs.spark import has_delta_classes
from lakeprep.errors import ConfigError

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


__all__ = ["Commit", "LakeTable", "WriteResult", "open_table", "resolve_engine", "ENGINES"]
