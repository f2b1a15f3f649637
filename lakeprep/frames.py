"""Small DataFrame helpers every package may use (pure: no I/O, no session)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def one_row(aggregated: DataFrame) -> dict[str, Any]:
    """The single row of a global aggregation (``df.agg(...)``) as a dict.

    >>> from pyspark.sql import functions as F
    >>> one_row(spark.range(42).agg(F.count("*").alias("n")))
    {'n': 42}
    """
    row = aggregated.first()
    if row is None:  # a global aggregation always has one row; anything else is a bug
        raise AssertionError("expected one row from a global aggregation, found none")
    return row.asDict()


def column(name: str) -> Column:
    """The column ``name``, quoted (names with dots or spaces are columns, not paths)."""
    return F.col(f"`{name}`")


def quoted(columns: Iterable[str]) -> list[Column]:
    """The columns named, each quoted (see :func:`column`).

    >>> df = spark.createDataFrame([(1, 2)], "`a.b` int, c int")
    >>> df.select(*quoted(["a.b", "c"])).columns
    ['a.b', 'c']
    """
    return [column(c) for c in columns]


def cache(df: DataFrame) -> DataFrame:
    """``df`` persisted the way every lakeprep cache is: in memory, spilling to local disk.

    The level is Spark's DataFrame default, ``MEMORY_AND_DISK_DESER``: a DataFrame cache is
    already compressed columnar batches, and a *serialized* level only adds Java serialization
    on top (Spark's default serializer), whose stream keeps every batch it has written (up to
    ``spark.serializer.objectStreamReset``, 100) beside the bytes it writes. That doubled the
    heap a cache needed: the ingest of 4M orders (two caches of the same rows) ran out of a
    1 GiB heap with serialized levels and finished with this one.
    """
    return df.persist(StorageLevel.MEMORY_AND_DISK_DESER)
