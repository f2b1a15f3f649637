"""How ingest lands a parsed batch: the one frame it caches of the batch's rows (ranked among
the good rows of their key, tagged by a row-level `quarantine` gate, raw record kept only where
the row may be set aside), which of them land, what a quarantined record holds, and what a
replay of the quarantine table changes in it.

>>> from lakeprep.ingest.problems import PROBLEMS_TYPE
>>> problem = ("not_a_int", "n", "x", "n: 'x' is not a valid int")
>>> rows = spark.createDataFrame(
...     [("a.jsonl", '{"id":"1"}', None, None, "1", []),
...      ("a.jsonl", '{"id":"1"}', None, None, "1", []),
...      ("a.jsonl", '{"id":"2","n":"x"}', None, None, "2", [problem])],
...     "_source_file string, _raw_record string, _raw_bytes binary, _raw_header string, "
...     f"id string, _problems {PROBLEMS_TYPE}")
>>> cached = cached_frame(rows, ["id"], None)
>>> sorted((r.id, r[RANK], r[RAW_RECORD]) for r in cached.where(~landing()).collect())
[('1', 2, None), ('2', 1, '{"id":"2","n":"x"}')]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

from lakeprep.config import TableSpec
from lakeprep.errors import ConfigError, UsageError
from lakeprep.ingest.columns import (
    FAILED_EXPECTATIONS,
    INGESTED_AT,
    METADATA_COLUMNS,
    PROBLEMS,
    RAW_COLUMNS,
    RAW_RECORD,
    REASONS,
    RUN_ID,
    SOURCE_FILE,
)
from lakeprep.ingest.pii import protect
from lakeprep.ingest.problems import PROBLEMS_TYPE, messages
from lakeprep.ingest.reader import KEYSET, UNDECLARED
from lakeprep.storage import FileInfo, glob_files
from lakeprep.uris import absolute, local_path

log = logging.getLogger(f"lakeprep.{__name__}")
RANK = "__lakeprep_rank"  # 1 for the row of its key that lands (among the good rows)
_HASH = "__lakeprep_record_hash"


def prepare(rows: DataFrame, spec: TableSpec, raw: TableSpec, salt: str | None,
            started_at: datetime, run_id: str) -> DataFrame:
    """``rows`` with personal data hashed or dropped, ``spec``'s derived columns added and
    ingest's metadata (``_ingested_at``, ``_run_id``) attached."""
    out = protect(rows, raw, salt)
    for name, expr in spec.derive.items():
        try:
            out = out.withColumn(name, F.expr(expr))
        except AnalysisException as e:
            columns = [c.name for c in raw.columns]
            raise ConfigError(f"tables.{spec.name}.derive.{name}: {expr!r} is not a valid "
                              f"Spark SQL expression over the columns {columns}: "
                              f"{e.getMessage() if hasattr(e, 'getMessage') else e}") from None
    return (out.withColumn(INGESTED_AT, F.lit(started_at).cast("timestamp"))
            .withColumn(RUN_ID, F.lit(run_id)))


def cached_frame(prepared: DataFrame, keys: Sequence[str | Column], order_by: str | None,
                 tags_for: Callable[[T.StructType], Column | None] = lambda schema: None,
                 may_quarantine: bool = False) -> DataFrame:
    """What ingest caches of the parsed rows ``prepared``: each ranked among the good rows of
    its ``keys`` (``RANK``), tagged with ``_failed_expectations`` where ``tags_for`` (the
    schema of a landing row -> the row tags of a `quarantine` gate, or None) can tell them, and
    its raw record (text, bytes, CSV header) only when it may be set aside: its own reasons, a
    tag, or - ``may_quarantine`` without tags - any landing row (a uniqueness check decides).

    The other rows' raw record is dropped before the rank's shuffle, which moves only a hash of
    it (the rank's stable tie break)."""
    bad = F.size(PROBLEMS) > 0
    tags = tags_for(prepared.drop(PROBLEMS, REASONS, KEYSET, UNDECLARED).schema)
    untagged = tags is None and may_quarantine
    if tags is not None:
        prepared = prepared.withColumn(FAILED_EXPECTATIONS, F.when(~bad, tags))
        suspect = bad | (F.size(FAILED_EXPECTATIONS) > 0)
    else:
        suspect = F.lit(True) if untagged else bad
    slim = prepared.select(*_raw_only_where(suspect, prepared.columns, drop=REASONS),
                           F.xxhash64(RAW_RECORD).alias(_HASH))
    ranked = _rank(slim, keys, order_by)
    if tags is not None:
        ranked = ranked.withColumn(FAILED_EXPECTATIONS,
                                   F.when(landing(), F.col(FAILED_EXPECTATIONS)))
        kept_raw = bad | (landing() & (F.size(FAILED_EXPECTATIONS) > 0))
    else:
        kept_raw = (bad | landing()) if untagged else bad
    return ranked.select(*_raw_only_where(kept_raw, ranked.columns, drop=_HASH))


def _raw_only_where(keep: Column, columns: Sequence[str], drop: str) -> list[Column]:
    """``columns`` but ``drop``, the raw ones null where ``keep`` is not true."""
    return [F.when(keep, F.col(c)).alias(c) if c in RAW_COLUMNS else F.col(f"`{c}`")
            for c in columns if c != drop]


def landing() -> Column:
    """The rows of a cached frame that would land: no reason, first of their key."""
    return (F.size(PROBLEMS) == 0) & (F.col(RANK) == 1)


def _rank(df: DataFrame, keys: Sequence[str | Column], order_by: str | None) -> DataFrame:
    """``df`` with ``RANK``: 1 for the row of each key that lands (the newest by ``order_by``,
    then the latest file, then a stable tie break on the raw record's hash ``_HASH``, so that
    re-runs pick the same row). Rows with reasons rank apart: they never displace a good row."""
    order = ([F.col(f"`{order_by}`").desc_nulls_last()] if order_by else []) + [
        F.col(SOURCE_FILE).desc(), F.col(_HASH).desc()]
    w = Window.partitionBy(F.size(PROBLEMS) > 0, *[
        k if isinstance(k, Column) else F.col(f"`{k}`") for k in keys]).orderBy(*order)
    return df.withColumn(RANK, F.row_number().over(w))


def merge_keys(spec: TableSpec, df: DataFrame) -> list[str]:
    """What makes a row of ``spec``'s table the same row: its primary key, else its columns
    but ingest's own and maps (which Spark cannot compare)."""
    own = {*METADATA_COLUMNS, *RAW_COLUMNS, REASONS, PROBLEMS, KEYSET, UNDECLARED,
           FAILED_EXPECTATIONS, RANK}
    return list(spec.primary_key) or [f.name for f in df.schema.fields if f.name not in own
                                      and not isinstance(f.dataType, T.MapType)]


def dedup_keys(spec: TableSpec, df: DataFrame) -> list[str | Column]:
    """What deduplicates a batch's rows: :func:`merge_keys`, and without a primary key a
    pending JSON line's undeclared keys too (the columns ``evolve`` adds from them), as
    sorted entries."""
    keys: list[str | Column] = [*merge_keys(spec, df)]
    if not spec.primary_key and UNDECLARED in df.columns:
        keys.append(F.array_sort(F.map_entries(UNDECLARED)))
    return keys


def quarantined(problems: Column) -> list[Column]:
    """The columns of a quarantined record, its ``problems`` as data and as messages."""
    return [F.col(c) for c in (SOURCE_FILE, *RAW_COLUMNS)] + [
        messages(problems).alias(REASONS), problems.alias(PROBLEMS), F.col(RUN_ID),
        F.col(INGESTED_AT)]


def replay_changes(records: DataFrame, bad: DataFrame) -> tuple[DataFrame, DataFrame]:
    """After a replay of the quarantined ``records``, which failed again as ``bad``: the
    records still set aside whose reasons changed (or were not yet data), with their new
    ones, and the records that leave the quarantine. A record's outcome depends on its text
    alone, so identical copies share it."""
    still = (bad.select(SOURCE_FILE, RAW_RECORD, F.col(REASONS).alias("__new"),
                        F.col(PROBLEMS).alias("__new_problems"))
             .dropDuplicates([SOURCE_FILE, RAW_RECORD]))
    both = records.join(still, [SOURCE_FILE, RAW_RECORD])
    changed = (both.where(~F.col(REASONS).eqNullSafe(F.col("__new"))
                          | ~F.col(PROBLEMS).eqNullSafe(F.col("__new_problems")))
               .withColumn(REASONS, F.col("__new"))
               .withColumn(PROBLEMS, F.col("__new_problems"))
               .drop("__new", "__new_problems"))
    return changed, records.join(still, [SOURCE_FILE, RAW_RECORD], "left_anti")


def records_to_replay(held: DataFrame, table: str, file: str | None
                      ) -> tuple[DataFrame, str | None]:
    """The records of ``table``'s quarantine (``held``) a replay re-parses, only those of
    ``file`` when given (see :func:`quarantined_file`), and that file's recorded path; records
    set aside before reasons were data get ``_problems`` null."""
    records = held
    if PROBLEMS not in records.columns:  # set aside before reasons were data
        records = records.withColumn(PROBLEMS, F.lit(None).cast(PROBLEMS_TYPE))
    if file is None:
        return records, None
    files = sorted(r[0] for r in records.select(SOURCE_FILE).distinct().collect())
    recorded = quarantined_file(table, file, files)
    return records.where(F.col(SOURCE_FILE) == recorded), recorded


def quarantined_file(table: str, file: str, files: list[str]) -> str:
    """The quarantined file ``file`` names (its recorded path or URI, or a path to it) among
    the ``files`` of ``table``'s quarantine; a UsageError naming them when none."""
    wanted = absolute(file)
    for path in files:
        if file == path or wanted == local_path(path):
            return path
    shown = ", ".join(files[:5]) + (f" (and {len(files) - 5} more)" if len(files) > 5 else "")
    raise UsageError(f"--file {file}: no quarantined record of table {table} comes from "
                     f"that file; quarantined files: {shown or 'none'}")


def skipped_files(spark: SparkSession, pattern: str, listed: list[FileInfo]) -> list[str]:
    """Files in the source path's folders that its ``pattern`` does not match (``.json`` next
    to ``*.jsonl``, compressed copies): they are not read, and the reconcile line says so."""
    folder = pattern.rstrip("/").rsplit("/", 1)[0]
    matched = {f.path for f in listed}
    skipped = [f.path for f in glob_files(spark, f"{folder}/*") if f.path not in matched]
    if skipped:
        log.warning("%s: %d file(s) not matched by the source path, not ingested: %s",
                    pattern, len(skipped), ", ".join(skipped[:10]))
    return skipped
