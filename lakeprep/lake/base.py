"""The lake-table contract both engines implement, and what they share."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.errors import LakeTableError
from lakeprep.frames import quoted

log = logging.getLogger(__name__)

WhenMatched = Literal["update", "ignore"]
# A predicate on the partition columns only: SQL text (``"day >= '2026-01-01'"``) or a Column.
PartitionFilter = str | Column


@dataclass(frozen=True)
class Commit:
    """One table version as history reports it."""

    version: int
    timestamp: datetime
    operation: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WriteResult:
    """What a write did. ``version`` is the new table version (None when nothing was committed)."""

    version: int | None
    rows_inserted: int = 0
    rows_updated: int = 0
    rows_deleted: int = 0
    files_added: int = 0
    files_removed: int = 0


class LakeTable(ABC):
    """A Delta table at ``location``: append, partition overwrite, merge, time travel, history.

    Every write is one commit carrying ``metadata`` (a JSON object stored as the commit's
    ``userMetadata``, readable by any Delta client).

    Example::

        t = open_table(spark, "/tmp/lake/orders", partition_by=["order_date"])
        t.append(df, metadata={"job": "ingest"}).version
        # -> 0
    """

    engine: str = ""

    def __init__(self, spark: SparkSession, location: str, partition_by: Sequence[str] = (),
                 storage_options: dict[str, str] | None = None):
        self.spark = spark
        self.location = location.rstrip("/")
        self.partition_by = list(partition_by)
        self.storage_options = storage_options or {}
        # called with (table, result, metadata) after every commit this object makes
        self.listeners: list[Callable[[LakeTable, WriteResult, dict[str, Any]], None]] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # reads ---------------------------------------------------------------------------------
    @abstractmethod
    def exists(self) -> bool:
        """True when a Delta log is at ``location``."""

    @abstractmethod
    def version(self) -> int | None:
        """The latest version, None when the table does not exist."""

    @abstractmethod
    def read(self, version: int | None = None, timestamp: datetime | str | None = None,
             partitions: PartitionFilter | None = None) -> DataFrame:
        """The table's rows, latest or as of a version or a timestamp (time travel).

        ``partitions`` is a predicate on the partition columns; only the files of the
        partitions it selects are read (the others are never opened)::

            t.read(partitions="day = '2026-01-02'")
        """

    def row_count(self, version: int | None = None) -> int:
        """Rows of the latest version (or ``version``); engines answer from the Delta log's
        per-file statistics where they can, without reading data."""
        return self.read(version=version).count()

    @abstractmethod
    def partition_columns(self) -> list[str]:
        """The partition columns the table's Delta log declares."""

    @abstractmethod
    def history(self, limit: int | None = None) -> list[Commit]:
        """Commits, newest first."""

    def commit_metadata(self, version: int | None = None) -> dict[str, Any]:
        """The lakeprep metadata stored with ``version`` (latest when None)."""
        for c in self.history():
            if version is None or c.version == version:
                return c.metadata
        raise LakeTableError(f"{self.location}: no version {version}")

    def _check_partitioning(self) -> None:
        """The catalog's partitioning must be the table's: a write never re-partitions."""
        if self.exists():
            actual = self.partition_columns()
            if actual != self.partition_by:
                raise LakeTableError(f"{self.location}: table is partitioned by {actual}, the "
                                     f"catalog says {self.partition_by}")

    def _partition_predicate(self, partitions: PartitionFilter, schema: T.StructType
                             ) -> Column:
        """``partitions`` as a Column, checked to use nothing but the partition columns."""
        pred = F.expr(partitions) if isinstance(partitions, str) else partitions
        pschema = T.StructType([schema[c] for c in self.partition_by])
        try:
            # analysed (no Spark job) against the partition columns alone
            self.spark.createDataFrame([], pschema).where(pred)
        except Exception as e:  # AnalysisException, ParseException
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise LakeTableError(f"{self.location}: the partition filter {partitions!s} must "
                                 f"use only the partition columns {self.partition_by}: "
                                 f"{first}") from None
        return pred

    # writes: each is one commit; listeners (a job run's lineage) hear of every commit ------
    def append(self, df: DataFrame, metadata: dict[str, Any], evolve: bool = False
               ) -> WriteResult:
        """Add the rows of ``df`` as one commit (creates the table when missing)."""
        return self._committed(self._append(df, metadata, evolve), metadata)

    def overwrite_partitions(self, df: DataFrame, metadata: dict[str, Any],
                             evolve: bool = False) -> WriteResult:
        """Replace exactly the partitions ``df`` has rows for; others stay as they are."""
        return self._committed(self._overwrite_partitions(df, metadata, evolve), metadata)

    def merge(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any],
              when_matched: WhenMatched = "update", order_by: str | None = None,
              evolve: bool = False) -> WriteResult:
        """Upsert ``df`` (unique on ``keys``): new keys are inserted; a matched row is replaced
        (``update``) or kept (``ignore``). With ``order_by`` the row with the greater value wins
        a match whichever side it is on, so a late, older record never overwrites a newer one.
        Keys compare null-safely, so whole-record keys with nulls work."""
        return self._committed(self._merge(df, keys, metadata, when_matched, order_by, evolve),
                               metadata)

    def delete(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any]
               ) -> WriteResult:
        """Remove, as one commit, every row whose ``keys`` equal (null-safely) a row of ``df``
        (e.g. quarantined records promoted by a replay); ``rows_deleted`` counts them."""
        return self._committed(self._delete(df, keys, metadata), metadata)

    def _by_partition(self, df: DataFrame) -> DataFrame:
        """``df`` in one task per partition value, so that a write adds a file (or a few) per
        partition, not one per task per value (Delta's MERGE does the same before its write)."""
        return df.repartition(*quoted(self.partition_by)) if self.partition_by else df

    def _committed(self, result: WriteResult, metadata: dict[str, Any]) -> WriteResult:
        if result.version is not None:
            for listener in self.listeners:
                listener(self, result, metadata)
        return result

    @abstractmethod
    def _append(self, df: DataFrame, metadata: dict[str, Any], evolve: bool) -> WriteResult:
        ...

    @abstractmethod
    def _overwrite_partitions(self, df: DataFrame, metadata: dict[str, Any], evolve: bool
                              ) -> WriteResult:
        ...

    @abstractmethod
    def _delete(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any]
                ) -> WriteResult:
        ...

    @abstractmethod
    def _merge(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any],
               when_matched: WhenMatched, order_by: str | None, evolve: bool) -> WriteResult:
        ...


def key_condition(keys: Sequence[str], left: str = "t", right: str = "s") -> Column:
    """``t.k1 <=> s.k1 AND ...``: null-safe, so whole-record keys with null fields match."""
    cond = None
    for k in keys:
        c = F.col(f"{left}.`{k}`").eqNullSafe(F.col(f"{right}.`{k}`"))
        cond = c if cond is None else cond & c
    if cond is None:
        raise LakeTableError("merge needs at least one key column")
    return cond


def encode_metadata(metadata: dict[str, Any]) -> str:
    return json.dumps(metadata, sort_keys=True, default=str)


def decode_metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"userMetadata": raw}
    return value if isinstance(value, dict) else {"userMetadata": value}


def check_schema_compatible(location: str, table: T.StructType, new: T.StructType,
                            evolve: bool) -> list[str]:
    """The columns ``new`` adds to the table; errors on type changes or on added columns
    without ``evolve``."""
    table_fields = {f.name: f.dataType for f in table.fields}
    new_fields = {f.name: f.dataType for f in new.fields}
    changed = {c: (table_fields[c].simpleString(), t.simpleString())
               for c, t in new_fields.items()
               if c in table_fields and table_fields[c].jsonValue() != t.jsonValue()}
    if changed:
        detail = ", ".join(f"{c}: table {a}, data {b}" for c, (a, b) in changed.items())
        raise LakeTableError(f"{location}: column types differ from the table's ({detail}); "
                             f"cast the data or migrate the table")
    added = [c for c in new_fields if c not in table_fields]
    if added and not evolve:
        raise LakeTableError(f"{location}: the data has column(s) {added} the table does not; "
                             f"declare them or set schema_drift: evolve")
    return added
