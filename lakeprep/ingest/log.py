"""The ingest log: one shared Delta table of every raw file ingested, per table (path, size,
modification time, run, table version), so that ingest is incremental and a re-run reads nothing
it has read. Every table's ingest merges into it under the log's own lease."""

from __future__ import annotations

from pyspark.sql import functions as F

from lakeprep.lake.lease import hold
from lakeprep.pause import point
from lakeprep.runtime import JobContext
from lakeprep.storage import FileInfo

INGEST_LOG = "ingest_log"
LOG_LEASE_WAIT_S = 600.0


def ingested_files(ctx: JobContext, table: str) -> dict[str, tuple[int, int]]:
    """The raw files of ``table`` ingested so far: path -> (size, modified time in ms)."""
    t = ctx.table_at(ctx.settings.system_table(INGEST_LOG))
    if not t.exists():
        return {}
    rows = (t.read().where(F.col("table") == table)
            .select("path", "size", "modified_ms").collect())
    return {r.path: (r.size, r.modified_ms) for r in rows}


def record_files(ctx: JobContext, table: str, files: list[FileInfo], version: int | None
                 ) -> None:
    """Add ``files`` to the log as ingested into ``table`` at ``version`` by this run."""
    df = ctx.spark.createDataFrame(
        [(table, f.path, f.size, f.modified_ms, ctx.run_id, version) for f in files],
        "table string, path string, size bigint, modified_ms bigint, run_id string, "
        "table_version bigint",
    ).withColumn("ingested_at", F.lit(ctx.started_at).cast("timestamp"))
    location = ctx.settings.system_table(INGEST_LOG)
    point("ingest.recording")
    # shared by every table's ingest: queue for it (each merge is short) rather than fail
    with hold(location, ctx.run_id, ctx.job, wait_s=LOG_LEASE_WAIT_S):
        ctx.table_at(location).merge(
            df, ["table", "path"], ctx.commit_metadata(table=INGEST_LOG, source_table=table))
