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
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

from jobs import gates
from lakeprep import quarantine
from lakeprep.config import Settings, TableSpec
from lakeprep.errors import ConfigError, InputError, UsageError
from lakeprep.frames import cache, one_row
from lakeprep.ingest.columns import (
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
from lakeprep.ingest.problems import PROBLEMS_TYPE, ProblemSummary, problem_groups, summarize
from lakeprep.ingest.reader import parse_lines, read_raw, records_as_lines, validate_types
from lakeprep.ingest.report import IngestReport, ReplayReport
from lakeprep.lake.base import WriteResult
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_table
from lakeprep.pause import point
from lakeprep.runtime import JobContext, job
from lakeprep.storage import FileInfo, file_checksums, glob_files
from lakeprep.uris import absolute, local_path
from quality.gate import FAILED_EXPECTATIONS_COLUMN, commit_summary

log = logging.getLogger(f"lakeprep.{__name__}")

QUARANTINED = (SOURCE_FILE, *RAW_COLUMNS, REASONS, PROBLEMS, RUN_ID, INGESTED_AT)
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
    batch = read_raw(ctx.spark, raw, new, spec.schema_drift, spec.max_new_columns)
    report.extra_columns = batch.extra_columns if spec.schema_drift == "evolve" else []

    def set_aside(bad: DataFrame, problems: ProblemSummary) -> int | None:
        if not report.quarantined:
            return None
        return quarantine.set_aside(
            ctx, spec.name, bad.withColumn("ingest_date", F.to_date(INGESTED_AT)),
            QUARANTINE_KEYS[:2], {"quarantined": report.quarantined},
            inputs=[{"table": spec.upstream, "kind": "files", "files": report.files}],
            partition_by=QUARANTINE_PARTITIONS, problems=problems)

    _land(ctx, spec, _prepare(ctx, spec, raw, batch.rows, salt), report,
          [{"table": raw.name, "kind": "files", "files": report.files}], set_aside)
    record_files(ctx, spec.name, new, report.version)
    # the table's commit holds the counts known before the write; log the final ones
    _log(report)
    return report


def _log(report: IngestReport) -> None:
    log.info("%s", report.line())
    for line in report.problem_lines():
        log.info("%s: set aside: %s", report.table, line)


def _land(ctx: JobContext, spec: TableSpec, prepared: DataFrame, report: IngestReport,
          inputs: list[dict[str, Any]],
          quarantine: Callable[[DataFrame, ProblemSummary], int | None],
          commit_empty: bool = True) -> None:
    """Parsed rows into the bronze table: the good ones deduplicated, gated and merged in one
    commit (without ``commit_empty``, none when no row passes); the rejected ones (parse
    reasons, gate failures) handed to ``quarantine`` with their problems grouped. Fills the
    counts of ``report``."""
    # without a primary key, the whole record is the key; maps (``_extra``) cannot be compared
    # in Spark, so they do not take part
    keys = spec.primary_key or [f.name for f in prepared.schema.fields
                                if f.name not in (*METADATA_COLUMNS, *RAW_COLUMNS, REASONS,
                                                  PROBLEMS)
                                and not isinstance(f.dataType, T.MapType)]
    # One cached frame: every parsed row, ranked among the good rows of its key. One
    # aggregation over it fills the cache and counts what was read, rejected and kept; the
    # gate, the merge and the quarantine then read the cache, never the files again.
    rows = cache(_rank(prepared, keys, spec.order_by))
    try:
        bad_row = F.size(REASONS) > 0
        c = one_row(rows.agg(F.count(F.lit(1)).alias("n"),
                             F.count(F.when(bad_row, F.lit(1))).alias("bad"),
                             F.count(F.when(~bad_row & (F.col(_RANK) == 1), F.lit(1)))
                             .alias("kept")))
        report.rows_read, report.quarantined = int(c["n"]), int(c["bad"])
        kept = int(c["kept"])
        report.duplicates_in_batch = report.rows_read - report.quarantined - kept
        deduped = rows.where(~bad_row & (F.col(_RANK) == 1)).drop(REASONS, PROBLEMS, _RANK)
        outcome = None
        try:
            # the gate sees exactly what would land; under `fail` nothing is written below
            outcome = gates.check(ctx, spec.name, deduped)
            to_write = (outcome.passed if outcome is not None and outcome.passed is not None
                        else deduped)
            gate_bad = outcome.quarantined if outcome is not None else None
            gate_quarantined = outcome.counts.get("quarantined", 0) if outcome else 0
            res = WriteResult(version=report.version)
            if commit_empty or kept > gate_quarantined:
                res = ctx.table(spec.name).merge(
                    to_write.drop(*RAW_COLUMNS), keys,
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
            bad = rows.where(bad_row).select(*QUARANTINED)
            if gate_bad is not None and gate_quarantined:
                assert outcome is not None and outcome.problems is not None
                bad = bad.unionByName(gate_bad.withColumn(
                    REASONS, F.col(FAILED_EXPECTATIONS_COLUMN))
                    .withColumn(PROBLEMS, outcome.problems).select(*QUARANTINED))
            # parse reasons grouped over the cache, the gate's from its own counts
            problems = summarize([
                *(problem_groups(rows.where(bad_row)) if report.quarantined > gate_quarantined
                  else []),
                *(outcome.problem_groups() if outcome is not None else [])])
            report.problems = problems.to_dict()
            report.quarantine_version = quarantine(bad, problems)
        finally:
            if outcome is not None:
                outcome.unpersist()
    finally:
        rows.unpersist()


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

        _land(ctx, spec, _prepare(ctx, spec, raw, batch.rows, salt), report, inputs,
              requarantine, commit_empty=False)
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


def _rank(df: DataFrame, keys: list[str], order_by: str | None) -> DataFrame:
    """``df`` with ``_RANK``: 1 for the row of each key that lands (the newest by ``order_by``,
    then the latest file, then a stable tie break on the raw record, so that re-runs pick the
    same row). Rows with reasons rank apart: they never displace a good row."""
    order = ([F.col(f"`{order_by}`").desc_nulls_last()] if order_by else []) + [
        F.col(SOURCE_FILE).desc(), F.xxhash64(RAW_RECORD).desc()]
    w = Window.partitionBy(F.size(REASONS) > 0, *[F.col(f"`{k}`") for k in keys]).orderBy(*order)
    return df.withColumn(_RANK, F.row_number().over(w))


