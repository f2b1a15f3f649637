"""The cluster engine: delta-spark (EMR, Glue with ``--datalake-formats delta``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame

from lakeprep.errors import LakeTableError
from lakeprep.lake.base import (
    Commit,
    LakeTable,
    PartitionFilter,
    WhenMatched,
    WriteResult,
    check_schema_compatible,
    decode_metadata,
    encode_metadata,
    key_condition,
)

log = logging.getLogger(__name__)
_USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"


class DeltaSparkTable(LakeTable):
    """A Delta table read and written through delta-spark's DataSource and DeltaTable API."""

    engine = "delta-spark"

    def _delta(self):  # -> delta.tables.DeltaTable
        from delta.tables import DeltaTable

        return DeltaTable.forPath(self.spark, self.location)

    def exists(self) -> bool:
        from delta.tables import DeltaTable

        return bool(DeltaTable.isDeltaTable(self.spark, self.location))

    def version(self) -> int | None:
        if not self.exists():
            return None
        return int(self._delta().history(1).select("version").first()[0])

    def partition_columns(self) -> list[str]:
        return list(self._delta().detail().select("partitionColumns").first()[0])

    def read(self, version: int | None = None, timestamp: datetime | str | None = None,
             partitions: PartitionFilter | None = None) -> DataFrame:
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        elif timestamp is not None:
            reader = reader.option("timestampAsOf", str(timestamp))
        try:
            df = reader.load(self.location)
        except AnalysisException as e:
            as_of = version if version is not None else timestamp
            if as_of is None:
                raise LakeTableError(f"{self.location}: not a Delta table ({_first_line(e)})"
                                     ) from None
            raise LakeTableError(f"{self.location}: cannot time travel to {as_of!r}: "
                                 f"{_first_line(e)}") from None
        if partitions is not None:
            # Delta prunes the snapshot's files on predicates over partition columns
            df = df.where(self._partition_predicate(partitions, df.schema))
        return df

    def history(self, limit: int | None = None) -> list[Commit]:
        if not self.exists():
            return []
        rows = self._delta().history(limit).select(
            "version", "timestamp", "operation", "userMetadata", "operationMetrics").collect()
        return [Commit(version=int(r.version),
                       timestamp=r.timestamp.replace(tzinfo=UTC),
                       operation=r.operation,
                       metadata={**decode_metadata(r.userMetadata),
                                 "operation_metrics": _metrics(r.operationMetrics or {})})
                for r in rows]

    def _check(self, df: DataFrame, evolve: bool) -> None:
        missing = [c for c in self.partition_by if c not in df.columns]
        if missing:
            raise LakeTableError(f"{self.location}: partition column(s) {missing} are not in "
                                 f"the data; columns: {df.columns}")
        self._check_partitioning()
        if self.exists():
            table = self._delta().toDF().schema
            check_schema_compatible(self.location, table, df.schema, evolve)

    def _size(self) -> tuple[int, int]:
        """(files, rows) of the latest snapshot, from the Delta log alone (no data read: Delta
        answers an unfiltered count from the files' statistics)."""
        if not self.exists():
            return 0, 0
        files = int(self._delta().detail().select("numFiles").first()[0])
        return files, self.read().count()

    def _save(self, df: DataFrame, mode: str, metadata: dict[str, Any], evolve: bool,
              **options: str) -> WriteResult:
        self._check(df, evolve)
        before = self._size() if mode == "overwrite" else None
        writer = (self._by_partition(df).write.format("delta").mode(mode)
                  .partitionBy(*self.partition_by)
                  .option("userMetadata", encode_metadata(metadata)))
        if evolve:
            writer = writer.option("mergeSchema", "true")
        for k, v in options.items():
            writer = writer.option(k, v)
        writer.save(self.location)
        result = self._result()
        if before is None:
            return result
        # A WRITE commit's metrics count what was added only; what the overwrite removed is
        # the difference between the snapshots (concurrent writers would blur it).
        files, rows = self._size()
        return replace(result, rows_deleted=before[1] + result.rows_inserted - rows,
                       files_removed=before[0] + result.files_added - files)

    def _result(self) -> WriteResult:
        """The latest commit's version and counts, from its ``operationMetrics``."""
        last = self._delta().history(1).select("version", "operation", "operationMetrics"
                                               ).first()
        m = {k: int(v) for k, v in (last.operationMetrics or {}).items()}
        if last.operation == "MERGE":
            return WriteResult(version=int(last.version),
                               rows_inserted=m.get("numTargetRowsInserted", 0),
                               rows_updated=m.get("numTargetRowsUpdated", 0),
                               rows_deleted=m.get("numTargetRowsDeleted", 0),
                               files_added=m.get("numTargetFilesAdded", 0),
                               files_removed=m.get("numTargetFilesRemoved", 0))
        return WriteResult(version=int(last.version), rows_inserted=m.get("numOutputRows", 0),
                           files_added=m.get("numFiles", m.get("numAddedFiles", 0)),
                           files_removed=m.get("numRemovedFiles", 0))

    def _append(self, df: DataFrame, metadata: dict[str, Any], evolve: bool = False
               ) -> WriteResult:
        return self._save(df, "append", metadata, evolve)

    def _overwrite_partitions(self, df: DataFrame, metadata: dict[str, Any],
                             evolve: bool = False) -> WriteResult:
        opts = {"partitionOverwriteMode": "dynamic"} if self.partition_by else {}
        return self._save(df, "overwrite", metadata, evolve, **opts)

    def _delete(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any]
                ) -> WriteResult:
        if not self.exists():
            return WriteResult(version=None)
        builder = (self._delta().alias("t").merge(df.select(*keys).distinct().alias("s"),
                                                  key_condition(keys)).whenMatchedDelete())
        with self._session_conf({_USER_METADATA: encode_metadata(metadata)}):
            builder.execute()
        return self._result()

    def _merge(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any],
              when_matched: WhenMatched = "update", order_by: str | None = None,
              evolve: bool = False) -> WriteResult:
        if not self.exists():
            return self._append(df, metadata, evolve)
        self._check(df, evolve)
        builder = self._delta().alias("t").merge(df.alias("s"), key_condition(keys))
        if when_matched == "update":
            newer = (f"t.`{order_by}` IS NULL OR s.`{order_by}` >= t.`{order_by}`"
                     if order_by else None)
            builder = builder.whenMatchedUpdateAll(condition=newer)
        builder = builder.whenNotMatchedInsertAll()
        with self._session_conf({_USER_METADATA: encode_metadata(metadata),
                                 "spark.databricks.delta.schema.autoMerge.enabled":
                                     str(evolve).lower()}):
            builder.execute()
        return self._result()

    @contextmanager
    def _session_conf(self, values: dict[str, str]):
        old = {k: self.spark.conf.get(k, None) for k in values}
        for k, v in values.items():
            self.spark.conf.set(k, v)
        try:
            yield
        finally:
            for k, previous in old.items():
                if previous is None:
                    self.spark.conf.unset(k)
                else:
                    self.spark.conf.set(k, previous)


def _metrics(m: dict[str, str]) -> dict[str, int]:
    """delta-spark's operationMetrics under the names the deltalake engine records."""
    names = {"numOutputRows": "rows_written", "numFiles": "files_added",
             "numAddedFiles": "files_added", "numRemovedFiles": "files_removed",
             "numTargetRowsInserted": "rows_inserted", "numTargetRowsUpdated": "rows_updated"}
    return {names[k]: int(v) for k, v in m.items() if k in names}


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__
