"""The whole pipeline on sample data in one process and one Spark session: generate sample data
-> ingest (gated) -> build features (gated) -> export (gated) -> Data Docs -> run report.

Each stage calls the job function with a ``JobContext`` of its own on the shared session, so
every job run records its lineage exactly as ``lakeprep run`` would. What the run did is kept as
``<lake>/_lakeprep/runs/<run_id>.json``, which ``jobs.report`` renders (also later, with
``lakeprep report RUN_ID``). Safe to re-run: sample data already there is kept, ingest skips
files it has seen, build-features replaces its snapshot partition, export writes a new folder.

Example::

    result = run_demo(load_settings("local"), customers=200)
    result.report_path
    # -> 'lakeprep-data/_lakeprep/reports/20260501T101500Z-demo-1a2b3c4d.html'
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import SparkSession

from jobs import report
from lakeprep.config import Settings
from lakeprep.errors import LakeprepError
from lakeprep.report.record import (
    RunRecord,
    StageResult,
    TableSummary,
    count_tables,
    reports_folder,
    runs_folder,
    save_record,
)
from lakeprep.report.stages import Listener, run_stage
from lakeprep.runtime import JobContext, new_run_id
from lakeprep.spark import session_for
from lakeprep.uris import join_uri
from quality.gate import commit_summary

log = logging.getLogger(f"lakeprep.{__name__}")

SAMPLE_TABLES = ["customers", "orders", "web_events"]
STAGES = ["generate", "ingest", "build-features", "export", "data-docs", "report"]


def run_demo(settings: Settings, customers: int = 500, seed: int = 42,
             listener: Listener | None = None, spark: SparkSession | None = None,
             run_id: str | None = None) -> RunRecord:
    """Run every stage; raise :class:`~lakeprep.report.stages.StageFailed` naming the first
    stage that fails (the run record is saved either way, so the report shows how far it got)."""
    from jobs import build_features, export_training, gates, ingest
    from lakeprep.sample.generate import generate, has_samples
    from lakeprep.sample.taxi import taxi_landed

    spark = spark or session_for(settings)
    rec = RunRecord(run_id or new_run_id("demo"), datetime.now(UTC).isoformat(), settings.env)
    raw = settings.lake.layers.get("raw")

    def ctx_for(job_fn: Any) -> JobContext:
        ctx = JobContext.start(settings, job_fn.job_name, spark=spark)
        rec.job_runs[job_fn.job_name] = ctx.run_id
        return ctx

    def do_generate(r: StageResult) -> None:
        if not raw:
            raise LakeprepError("lake.layers.raw is not set in conf: nowhere to write samples")
        if has_samples(spark, raw):
            r.lines.append(f"sample data already in {raw} (kept; remove it to regenerate)")
            return
        report = generate(spark, raw, customers=customers, seed=seed)
        r.rows = sum(b.lines for b in report.batches)
        r.lines.append(f"{r.rows:,} raw lines for {customers:,} customers in {raw}")

    def do_ingest(r: StageResult) -> None:
        ctx = ctx_for(ingest.run)
        r.run_id = ctx.run_id
        tables = SAMPLE_TABLES + (["taxi_trips"] if taxi_landed(spark, settings) else [])
        try:
            reports = ingest.run(ctx, tables=tables)
        finally:
            gate_verdicts = {t: o.verdict.value for t, o in ctx.gates}
        rec.ingest = [asdict(x) for x in reports]
        r.rows = sum(x.rows_read for x in reports)
        # each table's reconcile line, then why its rejected rows were set aside, grouped
        r.lines = [line for x in reports
                   for line in [x.line(), *(f"  set aside: {p}" for p in x.problem_lines())]]
        for x in reports:
            rec.tables.append(TableSummary(
                x.table, x.rows_read, x.rows_inserted + x.rows_updated, x.quarantined,
                x.duplicates_in_batch + x.duplicates_existing, x.version,
                gate=gate_verdicts.get(x.table)))
        bad = [x.table for x in reports if x.files_new and not x.reconciles]
        if bad:
            raise LakeprepError(f"ingest of {', '.join(bad)} does not reconcile: rows read "
                                f"!= inserted + updated + quarantined + duplicates")

    def do_features(r: StageResult) -> None:
        ctx = ctx_for(build_features.run)
        r.run_id = ctx.run_id
        report = build_features.run(ctx)  # every set whose sources exist
        # a feature table passes two gates (its suite on the rows, the vector gate): together
        ran: dict[str, list[Any]] = {}
        for t, o in ctx.gates:
            ran.setdefault(t, []).append(o)
        combined = {t: commit_summary(*outcomes) or {} for t, outcomes in ran.items()}
        verdicts = {t: g.get("verdict") for t, g in combined.items()}
        quarantined = {t: (g.get("counts") or {}).get("quarantined", 0)
                       for t, g in combined.items()}
        # the run record follows the set the demo exports
        exported = settings.export.source_table
        main = next((x for x in report.reports.values() if x.table == exported), None)
        if main is None:
            raise LakeprepError(f"no feature set was built into export.source_table {exported}"
                                f" ({'; '.join(report.lines())})")
        rec.features = asdict(main)
        r.rows, r.lines = main.rows, report.lines()
        for x in report.reports.values():
            q = quarantined.get(x.table, 0)
            rec.tables.append(TableSummary(x.table, x.rows + q, x.rows, q, 0, x.version,
                                           gate=verdicts.get(x.table)))

    def do_export(r: StageResult) -> None:
        ctx = ctx_for(export_training.run)
        r.run_id = ctx.run_id
        report = export_training.run(ctx)
        balance = {c: next(iter(f.values())).class_balance for c, f in report.channels.items()}
        rec.export = {"output": report.output, "manifest": report.manifest_uri,
                      "source_table": report.source_table,
                      "source_version": report.source_version, "rows": report.rows,
                      "class_balance": balance,
                      "gate": next((o.verdict.value for _, o in ctx.gates), None)}
        r.rows, r.lines = sum(report.rows.values()), report.lines()

    def do_docs(r: StageResult) -> None:
        ctx = JobContext.start(settings, "quality-docs", spark=spark, run_id=rec.run_id)
        page = join_uri(reports_folder(settings), f"{rec.run_id}.html")
        index = gates.publish_docs(ctx, reports={rid: page for rid in rec.job_runs.values()})
        rec.data_docs = index
        r.lines.append(f"Data Docs: {index}")

    def do_report(r: StageResult) -> None:
        count_tables(JobContext.start(settings, "summary", spark=spark, run_id=rec.run_id), rec)
        ctx = JobContext.start(settings, "report", spark=spark, run_id=rec.run_id)
        rec.report_path = report.build(ctx, rec)
        r.lines.append(f"run report: {rec.report_path}")

    try:
        for name, fn in zip(STAGES, [do_generate, do_ingest, do_features, do_export, do_docs,
                                     do_report], strict=True):
            run_stage(rec, name, fn, listener, spark)
    finally:
        save_record(settings, spark, rec)
        log.info("run record: %s/%s.json", runs_folder(settings), rec.run_id)
    return rec

