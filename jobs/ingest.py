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

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from jobs import gates
from lakeprep import quarantine
from lakeprep.config import TableSpec
from lakeprep.errors import InputError, UsageError
from lakeprep.frames import cache
from lakeprep.ingest.columns import (
    FAILED_EXPECTATIONS,
    INGESTED_AT,
    PROBLEMS,
    RAW_COLUMNS,
    RAW_RECORD,
    SOURCE_FILE,
)
from lakeprep.ingest.landing import (
    RANK,
    cached_frame,
    dedup_keys,
    landing,
    merge_keys,
    prepare,
    quarantined,
    records_to_replay,
    replay_changes,
    skipped_files,
)
from lakeprep.ingest.log import ingested_files, record_files
from lakeprep.ingest.pii import salt_for
from lakeprep.ingest.problems import ProblemSummary, summarize
from lakeprep.ingest.reader import (
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
from lakeprep.storage import file_checksums, glob_files
from quality.gate import commit_summary

log = logging.getLogger(f"lakeprep.{__name__}")

# a quarantined record is its file, its raw text and which of its identical copies it is
QUARANTINE_KEYS = [SOURCE_FILE, RAW_RECORD, quarantine.OCCURRENCE]
QUARANTINE_PARTITIONS = ["ingest_date"]


@job("ingest")
def run(ctx: JobContext, tables: list[str] | None = None) -> list[IngestReport]:
    """Ingest every table named (default: ``ingest.tables`` in conf)."""
    specs = ctx.settings.bronze_tables(tables)
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
    report.skipped = skipped_files(ctx.spark, pattern, listed)
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
          set_aside: Callable[[DataFrame, ProblemSummary], int | None],
          commit_empty: bool = True, max_new_columns: int | None = None) -> None:
    """Parsed rows into the bronze table: the good ones deduplicated, gated and merged in one
    commit (without ``commit_empty``, none when no row passes); the rejected ones (parse
    reasons, gate failures) handed to ``set_aside`` with their problems grouped. Fills the
    counts of ``report``.

    One cached frame holds every parsed row, ranked among the good rows of its key, with the
    tags of a `quarantine` gate where they can be told row by row; only the rows that may be
    set aside keep their raw record (text, bytes, CSV header). One aggregation over it fills
    the cache and counts what was read, rejected and kept, groups the reasons, and learns the
    JSON files' keys; the gate, the merge and the quarantine then read the cache, never the
    files again.
    """
    prepared = prepare(batch.rows, spec, raw, salt, ctx.started_at, ctx.run_id)
    rows = cache(cached_frame(
        prepared, dedup_keys(spec, prepared), spec.order_by,
        lambda schema: gates.row_tags(ctx, spec.name, schema),
        ctx.settings.may_quarantine(spec.name)))
    try:
        c = tally(rows, RANK)
        batch = batch.settle(c.file_keys, rows, max_new_columns)
        report.extra_columns = batch.extra_columns if spec.schema_drift == "evolve" else []
        rows_read, parse_bad, kept = c.rows, c.rejected, c.kept
        report.rows_read, report.quarantined = rows_read, parse_bad
        report.duplicates_in_batch = rows_read - parse_bad - kept
        bad_row = F.size(PROBLEMS) > 0
        deduped = batch.rows.where(landing()).drop(PROBLEMS, RANK)
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
                    to_write.drop(*RAW_COLUMNS), merge_keys(spec, to_write),
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
            bad = batch.rows.where(bad_row).select(*quarantined(F.col(PROBLEMS)))
            if gate_bad is not None and gate_quarantined:
                assert outcome is not None and outcome.problems is not None
                bad = bad.unionByName(gate_bad.select(*quarantined(outcome.problems)))
            # parse reasons grouped by the aggregation that filled the cache, the gate's from
            # its own counts
            problems = summarize([*c.problems,
                                  *(outcome.problem_groups() if outcome is not None else [])])
            report.problems = problems.to_dict()
            report.quarantine_version = set_aside(bad, problems)
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

    Called from a notebook as ``replay(load_settings("local"), "taxi_trips")`` (or
    ``lakeprep run ingest --replay-quarantine taxi_trips``), it returns one report whose line
    reads ``replayed N = promoted + still quarantined + duplicates`` with the table's and the
    quarantine table's new versions.
    """
    (spec,) = ctx.settings.bronze_tables([table])
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
    records, report.file = records_to_replay(held.read(), spec.name, file)
    records = cache(records)
    try:
        report.files_new = records.select(SOURCE_FILE).distinct().count()
        if not report.files_new:
            return report
        batch = parse_lines(raw, records_as_lines(ctx.spark, raw, records), spec.schema_drift)
        inputs = [{"table": spec.quarantine_name, "kind": "table", "location":
                   spec.quarantine_location, "version": report.quarantine_version}]

        def requarantine(bad: DataFrame, problems: ProblemSummary) -> int | None:
            changed, gone = replay_changes(records, bad)
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
