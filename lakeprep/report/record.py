"""The record of a run (a demo, or a pipeline run by hand): its stages, its job runs, the
numbers per table and where its outputs are, kept as ``<system>/runs/<run_id>.json``; the run
report is built from it (``lakeprep report RUN_ID`` rebuilds it later)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from pyspark.sql import SparkSession

from lakeprep.config import Settings
from lakeprep.errors import UsageError
from lakeprep.runtime import JobContext
from lakeprep.storage import list_files, read_text, write_text
from lakeprep.uris import join_uri


@dataclass
class StageResult:
    """One stage: how long it took, what it reports (lines) and which job run it was."""

    name: str
    seconds: float = 0.0
    ok: bool = True
    run_id: str | None = None
    rows: int | None = None
    lines: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class TableSummary:
    """One table's row of the summary; ``rows_in_table`` is counted from the table itself."""

    table: str
    rows_read: int | None = None
    written: int | None = None
    quarantined: int | None = None
    duplicates: int | None = None
    version: int | None = None
    rows_in_table: int | None = None
    quarantine_rows: int | None = None
    gate: str | None = None


@dataclass
class RunRecord:
    """What one demo run did: its stages, its job runs, per-table numbers, where its outputs are.
    Saved as JSON (``save``/``load``); the run report is built from it."""

    run_id: str
    started_at: str
    env: str
    stages: list[StageResult] = field(default_factory=list)
    tables: list[TableSummary] = field(default_factory=list)
    job_runs: dict[str, str] = field(default_factory=dict)  # job -> run id
    ingest: list[dict[str, Any]] = field(default_factory=list)  # IngestReport fields
    features: dict[str, Any] | None = None  # FeatureReport fields
    export: dict[str, Any] | None = None  # manifest uri, rows per split
    data_docs: str | None = None
    report_path: str | None = None
    ok: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        rec = cls(**{k: v for k, v in data.items() if k not in ("stages", "tables")})
        rec.stages = [StageResult(**s) for s in data.get("stages", [])]
        rec.tables = [TableSummary(**t) for t in data.get("tables", [])]
        return rec


def reports_folder(settings: Settings) -> str:
    return settings.system_table("reports")


def runs_folder(settings: Settings) -> str:
    return settings.system_table("runs")


def save_record(settings: Settings, spark: SparkSession, rec: RunRecord) -> str:
    """Write the run record as JSON (local or s3://, through lakeprep.storage)."""
    path = join_uri(runs_folder(settings), f"{rec.run_id}.json")
    write_text(spark, path, json.dumps(rec.to_dict(), indent=1, default=str))
    return path


def load_record(settings: Settings, spark: SparkSession, run_id: str) -> RunRecord:
    """The record of ``run_id``, or of the newest run when ``run_id`` is ``latest``."""
    folder = runs_folder(settings)
    files = [f for f in list_files(spark, folder) if f.path.endswith(".json")]
    if not files:
        raise UsageError(f"no run records in {folder}: run `lakeprep demo` first")
    names = {os.path.basename(f.path)[:-5]: f.path for f in files}
    if run_id == "latest":
        run_id = max(names)  # run ids start with their UTC start time
    if run_id not in names:
        raise UsageError(f"no run {run_id!r} in {folder}; newest runs: "
                         f"{', '.join(sorted(names)[-5:])}")
    return RunRecord.from_dict(json.loads(read_text(spark, names[run_id])))


def report_links(settings: Settings, spark: SparkSession) -> dict[str, str]:
    """Job run id -> the run report that covers it, for every saved run that has one."""
    links = {}
    for f in list_files(spark, runs_folder(settings)):
        if not f.path.endswith(".json"):
            continue
        data = json.loads(read_text(spark, f.path))
        if data.get("report_path"):
            for run_id in (data.get("job_runs") or {}).values():
                links[run_id] = data["report_path"]
    return links


def count_tables(ctx: JobContext, rec: RunRecord) -> None:
    """Count each summarised table (and its quarantine table) at the version the run wrote, so
    the summary shows the tables' own contents beside the jobs' counts."""
    settings = ctx.settings
    for t in rec.tables:
        table = ctx.table(t.table)
        if t.version is not None:
            t.rows_in_table = table.row_count(t.version)
        q = ctx.table_at(settings.table(t.table).quarantine_location)
        if q.exists():
            t.quarantine_rows = q.row_count()
