"""What every job run shares: settings, the session, a run id, the code version, lake tables, and
the run's lineage.

A job is a function ``fn(ctx, ...)`` decorated with :func:`job`: called from the CLI, a notebook
or a test, the run records its own lineage the same way (OpenLineage START, then COMPLETE with
every lake commit it made and the inputs those commits name, or FAIL).

Example::

    from jobs import ingest
    ingest.run(load_settings("local"))  # a run of its own, lineage and all
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

from pyspark.sql import SparkSession

from lakeprep.config import Settings, TableSpec
from lakeprep.lake import LakeTable, WriteResult, open_table, resolve_engine, verify
from lakeprep.lineage import DatasetRef, LineageEmitter, LineageRun, RunInfo
from lakeprep.spark import session_for
from lakeprep.storage import configure_s3
from lakeprep.version import code_version

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

# What every table lakeprep writes depends on, whoever created the session (EMR, Glue, a
# notebook): timestamps as INT64 microseconds (what delta-spark, delta-rs, pyarrow and pandas
# read; INT96 overflows them after 2262), proleptic Gregorian dates, and a value that does not
# parse as a date or time being null (a quarantine reason), not a SparkUpgradeException.
LAKE_SQL_CONF = {
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
}



def new_run_id(kind: str, started: datetime | None = None) -> str:
    """A run's id: its UTC start time (so ids sort by time), what ran, and 8 random hex
    digits."""
    return f"{started or datetime.now(UTC):%Y%m%dT%H%M%SZ}-{kind}-{uuid.uuid4().hex[:8]}"

@dataclass
class JobContext:
    """One run of one job.

    Example::

        ctx = JobContext.start(load_settings("local"), job="ingest")
        ctx.table("orders").version()
    """

    spark: SparkSession
    settings: Settings
    job: str
    run_id: str
    started_at: datetime
    engine: str
    gates: list[tuple[str, Any]] = field(default_factory=list)  # (table, GateOutcome) run so far
    lineage: LineageRun | None = None  # while the run records (see `recording`)
    _tables: dict[str, LakeTable] = field(default_factory=dict)
    _verified: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, settings: Settings, job: str, spark: SparkSession | None = None,
              run_id: str | None = None) -> JobContext:
        if spark is None:
            spark = session_for(settings)
        else:
            configure_s3(spark, settings)
        for key, value in LAKE_SQL_CONF.items():
            spark.conf.set(key, value)
        started = datetime.now(UTC)
        run_id = run_id or new_run_id(job, started)
        engine = resolve_engine(spark, settings.lake.engine)
        log.info("run %s: job %s, env %s, engine %s", run_id, job, settings.env, engine)
        return cls(spark, settings, job, run_id, started, engine)

    def table(self, name: str) -> LakeTable:
        """The lake table catalogued as ``name``."""
        if name not in self._tables:
            spec = self.settings.table(name)
            self._tables[name] = self.table_at(spec.location, spec.partition_by)
        return self._tables[name]

    def table_at(self, location: str, partition_by: list[str] | tuple[str, ...] = ()
                 ) -> LakeTable:
        """The Delta table at ``location``; its commits are recorded in the run's lineage.

        The first time a run opens a table, the cheap part of ``lakeprep verify`` runs on it:
        a table whose last commit is incomplete or whose files are missing stops the run with a
        ``LakeTableError`` (exit 4) before anything reads it or commits on top of it.
        """
        if location not in self._verified:
            verify.check(location, self.settings.lake.storage_options)
            self._verified.add(location)
        table = open_table(self.spark, location, partition_by, self.engine,
                           self.settings.lake.storage_options)
        table.listeners.append(self._committed)
        return table

    @contextmanager
    def recording(self) -> Iterator[JobContext]:
        """Send the run's OpenLineage START now, and COMPLETE (with every commit made through
        this context's tables) or FAIL at the end. Re-entering an active recording is a no-op."""
        if self.lineage is not None:
            yield self
            return
        with LineageEmitter.from_settings(self.settings).run(self.run_info, self) as run:
            self.lineage = run
            try:
                yield self
            finally:
                self.lineage = None

    def record_input(self, ref: DatasetRef) -> None:
        """A dataset the run read that no commit names (e.g. the table an export reads)."""
        if self.lineage is not None:
            self.lineage.add_input(ref)

    def record_output(self, ref: DatasetRef) -> None:
        """A dataset the run wrote outside the lake's tables (e.g. export channels)."""
        if self.lineage is not None:
            self.lineage.add_output(ref)

    def _committed(self, table: LakeTable, result: WriteResult, metadata: dict[str, Any]
                   ) -> None:
        if self.lineage is not None and result.version is not None:
            name = str(metadata.get("table") or table.location.rstrip("/").rsplit("/", 1)[-1])
            self.lineage.add_commit(name, table.location, result.version, metadata)

    @property
    def run_info(self) -> RunInfo:
        """What this run's lineage events say of it."""
        try:
            version: str | None = self.spark.version
        except Exception:  # noqa: BLE001 - a stopped session has no version to give
            version = None
        return RunInfo(self.run_id, self.job, self.engine, self.started_at, self.settings.env,
                       self.settings.conf_hash, tuple(self.settings.files), version)

    def spec(self, name: str) -> TableSpec:
        return self.settings.table(name)

    def commit_metadata(self, **extra: Any) -> dict[str, Any]:
        """The lineage every commit of this run carries; ``extra`` adds inputs, counts, gate."""
        return {
            "run_id": self.run_id,
            "job": self.job,
            "env": self.settings.env,
            "started_at": self.started_at.isoformat(),
            "config_hash": self.settings.conf_hash,
            "code_version": code_version(),
            "engine": self.engine,
            **extra,
        }


def job(name: str) -> Callable[[Callable[Concatenate[JobContext, P], R]],
                               Callable[Concatenate[JobContext | Settings, P], R]]:
    """Make ``fn(ctx, ...)`` the job ``name``: it takes a ``JobContext`` or ``Settings`` (then the
    run gets a context of its own) and records its lineage wherever it is called from.

    Example::

        @job("ingest")
        def run(ctx: JobContext, tables: list[str] | None = None) -> list[IngestReport]: ...
    """
    def wrap(fn: Callable[Concatenate[JobContext, P], R]
             ) -> Callable[Concatenate[JobContext | Settings, P], R]:
        @functools.wraps(fn)
        def run(target: JobContext | Settings, /, *args: P.args, **kwargs: P.kwargs) -> R:
            ctx = target if isinstance(target, JobContext) else JobContext.start(target, name)
            with ctx.recording():
                return fn(ctx, *args, **kwargs)

        run.job_name = name  # type: ignore[attr-defined]
        return run

    return wrap
