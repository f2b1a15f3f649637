"""What every job run shares: settings, the session, a run id, the code version, lake tables."""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

import lakeprep
from jobs.config import Settings, TableSpec
from jobs.lake import LakeTable, open_table, resolve_engine
from jobs.spark import get_spark

log = logging.getLogger(__name__)


@cache
def code_version() -> dict[str, str | None]:
    """The package version and, when known, the git commit the code was built from."""
    commit = os.environ.get("LAKEPREP_GIT_COMMIT")
    if commit is None:
        try:
            commit = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                capture_output=True, text=True, timeout=5, check=True).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            commit = None
    return {"package": lakeprep.__version__, "git_commit": commit}


def session_for(settings: Settings) -> SparkSession:
    """The active session (EMR, Glue, notebook) or a local one configured from ``settings``."""
    spark = get_spark(settings.spark.app_name, master=settings.spark.master,
                      conf=settings.spark.conf, delta_packages=settings.spark.delta_packages)
    # SQL settings are session-level: apply them to a session we did not create as well.
    for key, value in settings.spark.conf.items():
        if key.startswith("spark.sql."):
            spark.conf.set(key, value)
    return spark


@dataclass
class JobContext:
    """One run of one job.

    >>> ctx = JobContext.start(load_settings("local"), job="ingest")  # doctest: +SKIP
    >>> ctx.table("orders").version()  # doctest: +SKIP
    """

    spark: SparkSession
    settings: Settings
    job: str
    run_id: str
    started_at: datetime
    engine: str
    gates: list[tuple[str, Any]] = field(default_factory=list)  # (table, GateOutcome) run so far
    _tables: dict[str, LakeTable] = field(default_factory=dict)

    @classmethod
    def start(cls, settings: Settings, job: str, spark: SparkSession | None = None,
              run_id: str | None = None) -> JobContext:
        spark = spark or session_for(settings)
        started = datetime.now(UTC)
        run_id = run_id or f"{started:%Y%m%dT%H%M%SZ}-{job}-{uuid.uuid4().hex[:8]}"
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
        return open_table(self.spark, location, partition_by, self.engine,
                          self.settings.lake.storage_options)

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
