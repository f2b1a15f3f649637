"""Ingest: raw files into partitioned bronze Delta tables, incrementally and idempotently.

For each bronze table: list the raw table's files, skip those the ingest log has seen (same path,
size and modification time), parse the new ones with the declared schema, send unusable rows to
``<table>_quarantine`` with the raw record, source file and reasons, hash or drop personal data,
derive the partition columns, deduplicate on the primary key (or the whole record), and upsert
into the table in one commit whose metadata holds the run, the input files and the counts.

    rows read = rows inserted + rows updated + quarantined + duplicates

Concurrent runs: a table is written by one run at a time. Each table's ingest holds the table's
lease (``lakeprep.lake.lease``) from listing its files to recording them in the ingest log; a
second run of the same table stops with exit 4 naming the run that holds it, before reading
anything. The shared ingest log's merge holds the log's own lease and waits for it, so runs of
different tables never lose or duplicate each other's rows.

Run it: ``lakeprep run ingest --env local``,
``spark-submit jobs/cli/__main__.py run ingest --env local``, or from a notebook
``ingest.run(load_settings("local"))``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

from jobs import gates
from lakeprep import quarantine
from lakeprep.config import Settings, TableSpec
from lakeprep.errors import ConfigError, InputError, UsageError
from lakeprep.frames import cache
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
from lakeprep.ingest.log import ingested_files, record_files
from lakeprep.ingest.pii import protect, salt_for
from lakeprep.ingest.problems import PROBLEMS_TYPE, ProblemSummary, messages, summarize
from lakeprep.ingest.reader import (
    KEYSET,
    UNDECLARED,
    PendingBatch,
    RawBatch,
    parse_lines,
    records_as_lines,
    scan_raw,
    validate_types,
)
from lakeprep.ingest.report import IngestReport, ReplayReport
from lakeprep.ingest.tally import tally
from lakeprep.lake.base import WriteResult
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_table
from lakeprep.pause import point
from lakeprep.runtime import JobContext, job
from lakeprep.storage import FileInfo, file_checksums, glob_files
from lakeprep.uris import absolute, local_path
from quality.gate import commit_summary

log = logging.getLogger(f"lakeprep.{__name__}")

# a quarantined record is its file, its raw text and which of its identical copies it is
QUARANTINE_KEYS = [SOURCE_FILE, RAW_RECORD, quarantine.OCCURRENCE]
QUARANTINE_PARTITIONS = ["ingest_date"]


def bronze_tables(settings: Settings, names: list[str] | None) -> list[TableSpec]:
    """The bronze tables to ingest, checked before any Spark job runs."""
    names = names or settings.ingest.tables or [
        t.name for t in settings.tables.values() if t.upstream]
    out = []
    for name in names:
        spec = settings.table(name)
        if not spec.upstream:
            ingestible = sorted(t.name for t in settings.tables.values() if t.upstream)
            raise ConfigError(f"tables.{name}: has no upstream raw table, so it cannot be "
                              f"ingested; ingestible tables: {ingestible}")
        out.append(spec)
    return out


@job("ingest")
def run(ctx: JobContext, tables: list[str] | None = None) -> list[IngestReport]:
    """Ingest every table named (default: ``ingest.tables`` in conf)."""
    specs = bronze_tables(ctx.settings, tables)
    for spec in specs:
        validate_types(ctx.spec(spec.upstream or ""), ctx.spark,
                       ctx.settings.where("tables", spec.upstream or ""))
    if tables is None:  # the conf's default set: a source with no files yet is reported
        waiting = {s.name: ctx.settings.source_pattern(ctx.spec(s.upstream or "")) for s in specs}
        waiting = {n: p for n, p in waiting.items() if not glob_files(ctx.spark, p)}
        for name, pattern in waiting.items():
            log.warning("%s: no input files match %s yet; skipped", name, pattern)
        specs = [s for s in specs if s.name not in waiting]
    else:
        waiting = {}
    salt = salt_for(ctx.settings, specs)
    reports = [ingest_table(ctx, spec, salt) for spec in specs]
    return reports + [IngestReport(name, no_input=pattern) for name, pattern in waiting.items()]


def ingest_table(ctx: JobContext, spec: TableSpec, salt: str | None) -> IngestReport:
    """Ingest the new files of one bronze table, holding its lease throughout."""
    with hold(spec.location, ctx.run_id, ctx.job):
        point("ingest.leased")
        report = _ingest_table(ctx, spec, salt)
        # what a killed run of this table staged and never committed
        report.debris_removed = sum(
            len(sweep_table(location, ctx.settings.lake.storage_options))
            for location in (spec.location, spec.quarantine_location))
    if report.debris_removed:
        log.info("%s: removed %d uncommitted data file(s) left by a killed run", spec.name,
                 report.debris_removed)
    return report


def _ingest_table(ctx: JobContext, spec: TableSpec, salt: str | None) -> IngestReport:
    raw = ctx.spec(spec.upstream or "")
    report = IngestReport(spec.name)
    table = ctx.table(spec.name)
    pattern = ctx.settings.source_pattern(raw)
    listed = glob_files(ctx.spark, pattern)
    if not listed:
        raise InputError(f"table {spec.name}: no input files match {pattern} "
                         f"(tables.{raw.name}.source.path); nothing was written")
    report.skipped = _skipped_files(ctx, pattern, listed)
    seen = ingested_files(ctx, spec.name)
    new = [f for f in listed if seen.get(f.path) != (f.size, f.modified_ms)]
    report.files_seen = len(listed) - len(new)
    report.version = table.version()
    if not new:
        log.info("%s", report.line())
        return report
    report.files_new = len(new)
    # checksums make the lineage of every version point at exact file contents
    sums = file_checksums(ctx.spark, [f.path for f in new])
    report.files = [{"path": f.path, "size": f.size, "modified_ms": f.modified_ms,
                     "sha256": sums.get(f.path)} for f in new]
    batch = scan_raw(ctx.spark, raw, new, spec.schema_drift, spec.max_new_columns)

    def set_aside(bad: DataFrame, problems: ProblemSummary) -> int | None:
        if not report.quarantined:
            return None
        return quarantine.set_aside(
            ctx, spec.name, bad.withColumn("ingest_date", F.to_date(INGESTED_AT)),
            QUARANTINE_KEYS[:2], {"quarantined": report.quarantined},
            inputs=[{"table": spec.upstream, "kind": "files", "files": report.files}],
            partition_by=QUARANTINE_PARTITIONS, problems=problems)

    _land(ctx, spec, raw, batch, salt, report,
          [{"table": raw.name, "kind": "files", "files": report.files}], set_aside,
          max_new_columns=spec.max_new_columns)
    record_files(ctx, spec.name, new, report.version)
    # the table's commit holds the counts known before the write; log the final ones
    _log(report)
    return report


def _log(report: IngestReport) -> None:
    log.info("%s", report.line())
    for line in report.problem_lines():
        log.info("%s: set aside: %s", report.table, line)


def _land(ctx: JobContext, spec: TableSpec, raw: TableSpec, batch: RawBatch | PendingBatch,
          salt: str | None, report: IngestReport, inputs: list[dict[str, Any]],
          quarantine: Callable[[DataFrame, ProblemSummary], int | None],
          commit_empty: bool = True, max_new_columns: int | None = None) -> None:
    """Parsed rows into the bronze table: the good ones deduplicated, gated and merged in one
    commit (without ``commit_empty``, none when no row passes); the rejected ones (parse
    reasons, gate failures) handed to ``quarantine`` with their problems grouped. Fills the
    counts of ``report``.

    One cached frame holds every parsed row, ranked among the good rows of its key, with the
    tags of a `quarantine` gate where they can be told row by row; only the rows that may be
    set aside keep their raw record (text, bytes, CSV header). One aggregation over it fills
    the cache and counts what was read, rejected and kept, groups the reasons, and learns the
    JSON files' keys; the gate, the merge and the quarantine then read the cache, never the
    files again.
    """
    prepared = _prepare(ctx, spec, raw, batch.rows, salt)
    rows = cache(_cached_frame(ctx, spec, prepared))
    try:
        c = tally(rows, _RANK)
        batch = batch.settle(c.file_keys, rows, max_new_columns)
        report.extra_columns = batch.extra_columns if spec.schema_drift == "evolve" else []
        rows_read, parse_bad, kept = c.rows, c.rejected, c.kept
        report.rows_read, report.quarantined = rows_read, parse_bad
        report.duplicates_in_batch = rows_read - parse_bad - kept
        bad_row = F.size(PROBLEMS) > 0
        deduped = batch.rows.where(_landing()).drop(PROBLEMS, _RANK)
        tagged = FAILED_EXPECTATIONS in deduped.columns
        outcome = None
        try:
            # the gate sees exactly what would land; under `fail` nothing is written below
            outcome = gates.check(ctx, spec.name, deduped, tagged=tagged, cached=True)
            to_write = (outcome.passed if outcome is not None and outcome.passed is not None
                        else deduped.drop(*([FAILED_EXPECTATIONS] if tagged else [])))
            gate_bad = outcome.quarantined if outcome is not None else None
            gate_quarantined = outcome.counts.get("quarantined", 0) if outcome else 0
            res = WriteResult(version=report.version)
            if commit_empty or kept > gate_quarantined:
                res = ctx.table(spec.name).merge(
                    to_write.drop(*RAW_COLUMNS), spec.primary_key or [
                        k for k in _record_keys(to_write) if isinstance(k, str)],
                    ctx.commit_metadata(table=spec.name, inputs=inputs,
                                        counts=report.counts_before_write(),
                                        gate=commit_summary(outcome)),
                    when_matched="update" if spec.primary_key else "ignore",
                    order_by=spec.order_by, evolve=spec.schema_drift == "evolve")
            report.rows_inserted, report.rows_updated = res.rows_inserted, res.rows_updated
            report.duplicates_existing = (kept - gate_quarantined - res.rows_inserted
                                          - res.rows_updated)
            report.version = res.version
            report.quarantined += gate_quarantined
            bad = batch.rows.where(bad_row).select(*_quarantined(F.col(PROBLEMS)))
            if gate_bad is not None and gate_quarantined:
                assert outcome is not None and outcome.problems is not None
                bad = bad.unionByName(gate_bad.select(*_quarantined(outcome.problems)))
            # parse reasons grouped by the aggregation that filled the cache, the gate's from
            # its own counts
            problems = summarize([*c.problems,
                                  *(outcome.problem_groups() if outcome is not None else [])])
            report.problems = problems.to_dict()
            report.quarantine_version = quarantine(bad, problems)
        finally:
            if outcome is not None:
                outcome.unpersist()
    finally:
        rows.unpersist()


def _cached_frame(ctx: JobContext, spec: TableSpec, prepared: DataFrame) -> DataFrame:
    """What ingest caches of the parsed rows: each ranked among the good rows of its key,
    tagged by a `quarantine` gate where its tags can be told row by row, and its raw record
    only when it may be set aside (its own reasons, or a gate that may quarantine it)."""
    ranked = _rank(prepared, spec.primary_key or _record_keys(prepared), spec.order_by)
    bad, landing = F.size(PROBLEMS) > 0, _landing()
    schema = ranked.drop(PROBLEMS, REASONS, _RANK, KEYSET, UNDECLARED).schema
    tags = gates.row_tags(ctx, spec.name, schema)
    if tags is not None:
        ranked = ranked.withColumn(FAILED_EXPECTATIONS, F.when(landing, tags))
        kept_raw = bad | (landing & (F.size(FAILED_EXPECTATIONS) > 0))
    elif gates.may_quarantine(ctx, spec.name):
        kept_raw = bad | landing  # rows a uniqueness check may set aside: told by the gate
    else:
        kept_raw = bad
    return ranked.select(*[F.when(kept_raw, F.col(c)).alias(c) if c in RAW_COLUMNS
                           else F.col(f"`{c}`") for c in ranked.columns if c != REASONS])


def _landing() -> Column:
    """The rows that would land: no reason, first of their key."""
    return (F.size(PROBLEMS) == 0) & (F.col(_RANK) == 1)


def _quarantined(problems: Column) -> list[Column]:
    """The columns of a quarantined record, its ``problems`` as data and as messages."""
    return [F.col(c) for c in (SOURCE_FILE, *RAW_COLUMNS)] + [
        messages(problems).alias(REASONS), problems.alias(PROBLEMS), F.col(RUN_ID),
        F.col(INGESTED_AT)]


@job("ingest")
def replay(ctx: JobContext, table: str, file: str | None = None) -> list[IngestReport]:
    """Re-parse the quarantined records of ``table`` (only those of ``file`` if given) under
    the current conf: those that now pass land in the table through the same dedup and gate
    as an ingest and leave the quarantine; duplicates leave it too; the rest stay there with
    their new reasons.

    >>> ingest.replay(settings, "taxi_trips")  # doctest: +SKIP
    """
    (spec,) = bronze_tables(ctx.settings, [table])
    raw = ctx.spec(spec.upstream or "")
    validate_types(raw, ctx.spark, ctx.settings.where("tables", raw.name))
    salt = salt_for(ctx.settings, [spec])
    with hold(spec.location, ctx.run_id, ctx.job):
        report = _replay(ctx, spec, raw, salt, file)
    _log(report)
    return [report]


def _replay(ctx: JobContext, spec: TableSpec, raw: TableSpec, salt: str | None,
            file: str | None) -> ReplayReport:
    held = quarantine.quarantine_table(ctx, spec.name, QUARANTINE_PARTITIONS)
    if not held.exists():
        raise UsageError(f"--replay-quarantine {spec.name}: the table has no quarantine table "
                         f"({spec.quarantine_location}): none of its ingests set a record "
                         f"aside, so there is nothing to replay")
    report = ReplayReport(spec.name, file=file, version=ctx.table(spec.name).version(),
                          quarantine_version=held.version())
    records = held.read()
    if PROBLEMS not in records.columns:  # set aside before reasons were data
        records = records.withColumn(PROBLEMS, F.lit(None).cast(PROBLEMS_TYPE))
    if file is not None:
        files = sorted(r[0] for r in records.select(SOURCE_FILE).distinct().collect())
        report.file = _quarantined_file(spec, file, files)
        records = records.where(F.col(SOURCE_FILE) == report.file)
    records = cache(records)
    try:
        report.files_new = records.select(SOURCE_FILE).distinct().count()
        if not report.files_new:
            return report
        batch = parse_lines(raw, records_as_lines(ctx.spark, raw, records), spec.schema_drift)
        inputs = [{"table": spec.quarantine_name, "kind": "table", "location":
                   spec.quarantine_location, "version": report.quarantine_version}]

        def requarantine(bad: DataFrame, problems: ProblemSummary) -> int | None:
            # A record's outcome depends on its text alone, so identical copies share it: the
            # copies still failing keep their place (with their new reasons, where those
            # changed, or were not yet data), the others leave.
            still = (bad.select(SOURCE_FILE, RAW_RECORD, F.col(REASONS).alias("__new"),
                                F.col(PROBLEMS).alias("__new_problems"))
                     .dropDuplicates([SOURCE_FILE, RAW_RECORD]))
            both = records.join(still, [SOURCE_FILE, RAW_RECORD])
            changed = (both.where(~F.col(REASONS).eqNullSafe(F.col("__new"))
                                  | ~F.col(PROBLEMS).eqNullSafe(F.col("__new_problems")))
                       .withColumn(REASONS, F.col("__new"))
                       .withColumn(PROBLEMS, F.col("__new_problems"))
                       .drop("__new", "__new_problems"))
            gone = records.join(still, [SOURCE_FILE, RAW_RECORD], "left_anti")
            version = quarantine.resettle(
                ctx, spec.name, changed if report.quarantined else None,
                gone if report.quarantined < report.rows_read else None, QUARANTINE_KEYS,
                {"replayed": report.rows_read, "quarantined": report.quarantined}, inputs,
                QUARANTINE_PARTITIONS, problems=problems)
            return version if version is not None else report.quarantine_version

        _land(ctx, spec, raw, batch, salt, report, inputs, requarantine, commit_empty=False)
    finally:
        records.unpersist()
    return report


def _quarantined_file(spec: TableSpec, file: str, files: list[str]) -> str:
    """The quarantined file ``file`` names: its recorded path or URI, or a path to it."""
    wanted = absolute(file)
    for path in files:
        if file == path or wanted == local_path(path):
            return path
    shown = ", ".join(files[:5]) + (f" (and {len(files) - 5} more)" if len(files) > 5 else "")
    raise UsageError(f"--file {file}: no quarantined record of table {spec.name} comes from "
                     f"that file; quarantined files: {shown or 'none'}")


def _prepare(ctx: JobContext, spec: TableSpec, raw: TableSpec, rows: DataFrame,
             salt: str | None) -> DataFrame:
    """Personal data hashed or dropped, derived columns added, ingest metadata attached."""
    out = protect(rows, raw, salt)
    for name, expr in spec.derive.items():
        try:
            out = out.withColumn(name, F.expr(expr))
        except AnalysisException as e:
            columns = [c.name for c in raw.columns]
            raise ConfigError(f"tables.{spec.name}.derive.{name}: {expr!r} is not a valid "
                              f"Spark SQL expression over the columns {columns}: "
                              f"{e.getMessage() if hasattr(e, 'getMessage') else e}") from None
    return (out.withColumn(INGESTED_AT, F.lit(ctx.started_at).cast("timestamp"))
            .withColumn(RUN_ID, F.lit(ctx.run_id)))


def _skipped_files(ctx: JobContext, pattern: str, listed: list[FileInfo]) -> list[str]:
    """Files in the source path's folders that its pattern does not match (``.json`` next to
    ``*.jsonl``, compressed copies): they are not read, and the reconcile line says so."""
    folder = pattern.rstrip("/").rsplit("/", 1)[0]
    matched = {f.path for f in listed}
    skipped = [f.path for f in glob_files(ctx.spark, f"{folder}/*") if f.path not in matched]
    if skipped:
        log.warning("%s: %d file(s) not matched by the source path, not ingested: %s",
                    pattern, len(skipped), ", ".join(skipped[:10]))
    return skipped


_RANK = "__lakeprep_rank"


def _rank(df: DataFrame, keys: Sequence[str | Column], order_by: str | None) -> DataFrame:
    """``df`` with ``_RANK``: 1 for the row of each key that lands (the newest by ``order_by``,
    then the latest file, then a stable tie break on the raw record, so that re-runs pick the
    same row). Rows with reasons rank apart: they never displace a good row."""
    order = ([F.col(f"`{order_by}`").desc_nulls_last()] if order_by else []) + [
        F.col(SOURCE_FILE).desc(), F.xxhash64(RAW_RECORD).desc()]
    w = Window.partitionBy(F.size(PROBLEMS) > 0, *[
        k if isinstance(k, Column) else F.col(f"`{k}`") for k in keys]).orderBy(*order)
    return df.withColumn(_RANK, F.row_number().over(w))


def _record_keys(df: DataFrame) -> list[str | Column]:
    """A record's key when its table has none: its columns, but ingest's own and maps (which
    Spark cannot compare); a pending JSON line's undeclared keys too (the columns ``evolve``
    adds from them), as sorted entries."""
    own = {*METADATA_COLUMNS, *RAW_COLUMNS, REASONS, PROBLEMS, KEYSET, UNDECLARED,
           FAILED_EXPECTATIONS, _RANK}
    keys: list[str | Column] = [f.name for f in df.schema.fields if f.name not in own
                                and not isinstance(f.dataType, T.MapType)]
    if UNDECLARED in df.columns:
        keys.append(F.array_sort(F.map_entries(UNDECLARED)))
    return keys


