"""The offline engine: Spark writes the data files, ``deltalake`` (delta-rs) commits them.

Spark writes each batch of files in parallel under ``<table>/<write id>/<col>=<value>/``; the
commit is one Delta transaction made with ``deltalake``, so readers see all of the batch or none of
it. A failure before the commit leaves the table at its previous version (the orphaned files are
removed, and would be invisible anyway: reads take the snapshot's file list from the Delta log,
never from a directory listing).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
from deltalake import DeltaTable, Field, Schema
from deltalake.exceptions import DeltaError
from deltalake.transaction import (
    AddAction,
    CommitProperties,
    RemoveAction,
    create_table_with_add_actions,
)
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.errors import LakeTableError
from lakeprep.frames import cache
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
from lakeprep.pause import point
from lakeprep.storage import (
    delete_tree,
    delta_storage_options,
    list_files,
    parquet_row_counts,
    qualified,
)
from lakeprep.uris import local_path

log = logging.getLogger(__name__)
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


@dataclass(frozen=True)
class _File:
    path: str  # relative to the table root, as in the Delta log
    size: int
    rows: int | None
    partition: tuple[Any, ...]  # typed values, in partition_by order


class DeltaRsTable(LakeTable):
    """A Delta table written by Spark and committed through ``deltalake``."""

    engine = "deltalake"

    def __init__(self, spark: SparkSession, location: str, partition_by: Sequence[str] = (),
                 storage_options: dict[str, str] | None = None):
        # on S3: the endpoint, region and commit settings of the conf's `s3:` block, then
        # `lake.storage_options`
        super().__init__(spark, location, partition_by,
                         delta_storage_options(location, storage_options))

    # reads ---------------------------------------------------------------------------------
    def _dt(self) -> DeltaTable:
        try:
            return DeltaTable(self.location, storage_options=self.storage_options or None)
        except DeltaError as e:
            raise LakeTableError(f"{self.location}: not a Delta table ({e})") from None

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(self.location, self.storage_options or None)

    def version(self) -> int | None:
        return self._dt().version() if self.exists() else None

    def partition_columns(self) -> list[str]:
        return list(self._dt().metadata().partition_columns)

    def read(self, version: int | None = None, timestamp: datetime | str | None = None,
             partitions: PartitionFilter | None = None) -> DataFrame:
        dt = self._dt_at(version, timestamp)
        schema = _spark_schema(dt)
        files = self._snapshot_files(dt)
        if partitions is not None:
            files = self._prune(files, self._partition_predicate(partitions, schema), schema)
        return self._read_files(files, schema)

    def _dt_at(self, version: int | None = None, timestamp: datetime | str | None = None
               ) -> DeltaTable:
        dt = self._dt()
        try:
            if version is not None:
                dt.load_as_version(version)
            elif timestamp is not None:
                dt.load_as_version(timestamp)
        except (DeltaError, ValueError) as e:
            as_of = version if version is not None else timestamp
            raise LakeTableError(f"{self.location}: cannot time travel to {as_of!r}: {e}"
                                 ) from None
        return dt

    def row_count(self, version: int | None = None) -> int:
        """The sum of the files' ``numRecords`` (every file lakeprep writes has them); a scan
        only when a file written by another tool has no statistics."""
        counts = [f.rows for f in self._snapshot_files(self._dt_at(version))]
        if all(n is not None for n in counts):
            return sum(n for n in counts if n is not None)
        return super().row_count(version)

    def _prune(self, files: list[_File], predicate: Column, schema: T.StructType
               ) -> list[_File]:
        """The files whose partition values (from the log) satisfy ``predicate``.

        The predicate runs on a local table of one row per distinct partition, so Spark's own
        semantics apply (casts, nulls, functions) and no Spark job is started.
        """
        values = sorted({f.partition for f in files}, key=repr)
        table = self.spark.createDataFrame(
            values, T.StructType([schema[c] for c in self.partition_by]))
        keep = {tuple(r) for r in table.where(predicate).collect()}
        kept = [f for f in files if f.partition in keep]
        log.debug("%s: partition filter keeps %d of %d files", self.location, len(kept),
                  len(files))
        return kept

    def _read_files(self, files: Sequence[_File], schema: T.StructType) -> DataFrame:
        """Spark reads exactly ``files``; partition values come from the Delta log."""
        if not files:
            return self.spark.createDataFrame([], schema)
        pcols = self.partition_by
        data_schema = T.StructType([f for f in schema.fields if f.name not in pcols])
        df = self.spark.read.schema(data_schema).parquet(
            *[_absolute(self.location, f.path) for f in files])
        if pcols:
            # Each file's partition values from the log, joined back on the file each row
            # came from: its path relative to the table root, decoded on both sides.
            root = qualified(self.spark, self.location)
            mapping = self.spark.createDataFrame(
                [(f.path, *f.partition) for f in files],
                T.StructType([T.StructField("__file", T.StringType())]
                             + [schema[c] for c in pcols]))
            decoded = F.expr("url_decode(replace(_metadata.file_path, '+', '%2B'))")
            df = (df.withColumn("__file", F.substring(decoded, len(root) + 2, 1 << 20))
                  .join(F.broadcast(mapping), "__file"))
        return df.select(*[f"`{c}`" for c in schema.names])

    def history(self, limit: int | None = None) -> list[Commit]:
        if not self.exists():
            return []
        return [
            Commit(
                version=int(h["version"]),
                timestamp=datetime.fromtimestamp(h.get("timestamp", 0) / 1000, tz=UTC),
                operation=str(h.get("operation", "")),
                metadata=decode_metadata(h.get("userMetadata")),
            )
            for h in self._dt().history(limit)
        ]

    # writes --------------------------------------------------------------------------------
    def _append(self, df: DataFrame, metadata: dict[str, Any], evolve: bool = False
               ) -> WriteResult:
        return self._write(df, metadata, evolve, remove=lambda added: [])

    def _overwrite_partitions(self, df: DataFrame, metadata: dict[str, Any],
                             evolve: bool = False) -> WriteResult:
        def remove(added: list[_File]) -> list[_File]:
            if not self.exists():
                return []
            touched = {f.partition for f in added}
            return [f for f in self._current_files() if not self.partition_by
                    or f.partition in touched]

        return self._write(df, metadata, evolve, remove)

    def _delete(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any]
                ) -> WriteResult:
        if not self.exists():
            return WriteResult(version=None)
        affected = self._affected_files(df, keys, self._current_files())
        target = self._read_files(affected, _spark_schema(self._dt()))
        # copy-on-write: the affected partitions are rewritten without the matching rows
        kept = target.alias("t").join(F.broadcast(df.select(*keys).distinct()).alias("s"),
                                      key_condition(keys), "left_anti")
        res = self._write(kept, metadata, False, remove=lambda added: affected)
        return WriteResult(version=res.version, rows_deleted=res.rows_deleted
                           - res.rows_inserted, files_added=res.files_added,
                           files_removed=res.files_removed)

    def _merge(self, df: DataFrame, keys: Sequence[str], metadata: dict[str, Any],
              when_matched: WhenMatched = "update", order_by: str | None = None,
              evolve: bool = False) -> WriteResult:
        if not self.exists():
            return self._append(df, metadata, evolve)
        affected = self._affected_files(df, keys, self._current_files())
        target = self._read_files(affected, _spark_schema(self._dt()))
        # Copy-on-write at partition granularity: the affected partitions are rewritten with,
        # per key, the one row that wins; every other partition stays as it is.
        source_first = when_matched == "update"
        both = (df.withColumn("__src", F.lit(1))
                .unionByName(target.withColumn("__src", F.lit(0)), allowMissingColumns=True))
        order = ([F.col(f"`{order_by}`").desc_nulls_last()] if order_by else []) + [
            F.col("__src").desc() if source_first else F.col("__src").asc()]
        w = Window.partitionBy(*[F.col(f"`{k}`") for k in keys])
        ranked = cache(both.withColumn("__rank", F.row_number().over(w.orderBy(*order)))
                       .withColumn("__has_target", F.max(1 - F.col("__src")).over(w)))
        try:
            c = ranked.where("__src = 1").agg(
                F.sum(F.when((F.col("__has_target") == 0) & (F.col("__rank") == 1), 1)
                      .otherwise(0)).alias("inserted"),
                F.sum(F.when((F.col("__has_target") == 1) & (F.col("__rank") == 1), 1)
                      .otherwise(0)).alias("updated"),
            ).first()
            assert c is not None  # a global aggregate always has one row
            result = ranked.where("__rank = 1").drop("__src", "__rank", "__has_target")
            metrics = {"rows_inserted": int(c.inserted or 0), "rows_updated": int(c.updated or 0)}
            res = self._write(result, {**metadata, "operation_metrics": metrics}, evolve,
                              remove=lambda added: affected)
        finally:
            ranked.unpersist()
        return WriteResult(version=res.version, rows_inserted=int(c.inserted or 0),
                           rows_updated=int(c.updated or 0), files_added=res.files_added,
                           files_removed=res.files_removed)

    # internals ---------------------------------------------------------------------------
    def _write(self, df: DataFrame, metadata: dict[str, Any], evolve: bool,
               remove: Any) -> WriteResult:
        missing = [c for c in self.partition_by if c not in df.columns]
        if missing:
            raise LakeTableError(f"{self.location}: partition column(s) {missing} are not in "
                                 f"the data; columns: {df.columns}")
        self._check_partitioning()
        write_dir = f"{self.location}/{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-" \
                    f"{uuid.uuid4().hex[:12]}"
        df = self._by_partition(df)
        try:
            df.write.mode("errorifexists").partitionBy(*self.partition_by).parquet(write_dir)
            point("lake.staged")  # files written, not committed: where the kill tests strike
            added = self._staged_files(write_dir, df.schema)
            removed = remove(added)
            metadata = {**metadata, "operation_metrics": {
                "files_added": len(added), "files_removed": len(removed),
                "rows_written": sum(f.rows or 0 for f in added),
                "rows_removed": sum(f.rows or 0 for f in removed),
                **metadata.get("operation_metrics", {})}}
            version = self._commit(added, removed, df.schema, metadata, evolve)
        except BaseException:
            # Nothing was committed: the table keeps its version. Drop the orphaned files.
            delete_tree(self.spark, write_dir)
            raise
        inserted = sum(f.rows or 0 for f in added)
        deleted = sum(f.rows or 0 for f in removed)
        log.info("%s: version %s, +%d files (%d rows), -%d files", self.location, version,
                 len(added), inserted, len(removed))
        return WriteResult(version=version, rows_inserted=inserted, rows_deleted=deleted,
                           files_added=len(added), files_removed=len(removed))

    def _staged_files(self, write_dir: str, schema: T.StructType) -> list[_File]:
        listed = [f for f in list_files(self.spark, write_dir) if f.path.endswith(".parquet")]
        rows = parquet_row_counts([f.path for f in listed])
        types = {f.name: f.dataType for f in schema.fields}
        out = []
        for f in listed:
            rel = _relative(self.location, f.path)
            values = dict(_partition_from_path(rel))
            part = tuple(_typed(values.get(c), types[c]) for c in self.partition_by)
            out.append(_File(path=rel, size=f.size, rows=rows.get(f.path), partition=part))
        return out

    def _commit(self, added: list[_File], removed: list[_File], schema: T.StructType,
                metadata: dict[str, Any], evolve: bool) -> int:
        now = int(time.time() * 1000)
        adds = [
            AddAction(
                path=f.path,  # delta-rs percent-encodes paths in the log itself
                size=f.size,
                partition_values=dict(_partition_from_path(f.path)),
                modification_time=now,
                data_change=True,
                stats=json.dumps({"numRecords": f.rows}) if f.rows is not None else "",
            )
            for f in added
        ]
        if not self.exists():
            create_table_with_add_actions(
                self.location, Schema.from_json(_nullable(schema).json()), adds, mode="error",
                partition_by=self.partition_by or None,
                storage_options=self.storage_options or None,
                commit_properties=_props(metadata))
            return 0
        dt = self._dt()
        table_schema = _spark_schema(dt)
        new_cols = check_schema_compatible(self.location, table_schema, schema, evolve)
        if new_cols:
            # delta-rs commits a schema change on its own; a failure after it leaves only an
            # extra (all-null) column, never partial data.
            dt.alter.add_columns([Field.from_json(json.dumps(
                {**schema[c].jsonValue(), "nullable": True})) for c in new_cols])
            dt = self._dt()
        removes = [RemoveAction(path=f.path, data_change=True,
                                deletion_timestamp=now, size=f.size) for f in removed]
        dt.create_write_transaction(adds + removes, mode="append", schema=dt.schema(),
                                    partition_by=self.partition_by or None,
                                    commit_properties=_props(metadata))
        return self._dt().version()

    def _current_files(self) -> list[_File]:
        return self._snapshot_files(self._dt())

    def _snapshot_files(self, dt: DeltaTable) -> list[_File]:
        types = {f.name: f.dataType for f in _spark_schema(dt).fields}
        table = pa.table(dt.get_add_actions(flatten=False))
        out = []
        for row in table.to_pylist():
            values = row.get("partition") or {}
            part = tuple(_typed_value(values.get(c), types[c]) for c in self.partition_by)
            out.append(_File(path=unquote(row["path"]), size=row["size_bytes"],
                             rows=row.get("num_records"), partition=part))
        return out

    def _affected_files(self, df: DataFrame, keys: Sequence[str],
                        current: list[_File]) -> list[_File]:
        if not self.partition_by:
            return current
        pcols = self.partition_by
        parts = {tuple(r) for r in df.select(*pcols).distinct().collect()}
        if not set(pcols) <= set(keys):
            # A key's row may sit in another partition than the new record's (e.g. a changed
            # date): find the partitions that hold any of the incoming keys.
            schema = _spark_schema(self._dt())
            target = self._read_files(current, schema).select(*keys, *pcols)
            hits = (target.alias("t").join(df.select(*keys).distinct().alias("s"),
                                           key_condition(keys), "left_semi")
                    .select(*pcols).distinct().collect())
            parts |= {tuple(r) for r in hits}
        parts = {tuple(_typed_value(v, None) for v in p) for p in parts}
        return [f for f in current if f.partition in parts]


def _props(metadata: dict[str, Any]) -> CommitProperties:
    return CommitProperties(custom_metadata={"userMetadata": encode_metadata(metadata)})


def _spark_schema(dt: DeltaTable) -> T.StructType:
    return T.StructType.fromJson(json.loads(dt.schema().to_json()))


def _nullable(schema: T.StructType) -> T.StructType:
    # Spark's nullability flags vary with the plan; a table's columns are nullable, and the
    # not-null rules are enforced upstream (quarantine), not by the storage layer.
    return T.StructType([T.StructField(f.name, f.dataType, True, f.metadata) for f in schema])


def _partition_from_path(rel: str) -> Iterable[tuple[str, str | None]]:
    for segment in rel.split("/")[:-1]:
        if "=" in segment:
            key, value = segment.split("=", 1)
            value = unquote(value)
            yield unquote(key), None if value == HIVE_NULL else value


def _typed(value: str | None, dtype: T.DataType) -> Any:
    """A partition value from its string form, as the Python value Spark would give."""
    if value is None:
        return None
    if isinstance(dtype, T.DateType):
        return date.fromisoformat(value)
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType):
        return _naive_utc(datetime.fromisoformat(value))
    if isinstance(dtype, T.BooleanType):
        return value.lower() == "true"
    if isinstance(dtype, T.ByteType | T.ShortType | T.IntegerType | T.LongType):
        return int(value)
    if isinstance(dtype, T.FloatType | T.DoubleType):
        return float(value)
    return value


def _typed_value(value: Any, dtype: T.DataType | None) -> Any:
    if isinstance(value, str) and dtype is not None:
        return _typed(value, dtype)
    if isinstance(value, datetime):
        return _naive_utc(value)
    return value


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _relative(root: str, path: str) -> str:
    # Hadoop qualifies local paths as file:/...; compare without the scheme
    root_s, path_s = local_path(root).rstrip("/"), local_path(path)
    if not path_s.startswith(root_s + "/"):
        raise LakeTableError(f"file {path} is not under the table root {root}")
    return path_s[len(root_s) + 1:]


def _absolute(root: str, rel: str) -> str:
    return f"{root.rstrip('/')}/{rel}"

