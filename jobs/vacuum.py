"""``lakeprep vacuum``: remove what killed runs left, each under the lease of what it cleans, so
never anything a running job writes: data files staged and never committed, saved pipeline
models no commit names, export folders without ``manifest.json``, and lineage runs left open.

Example::

    report = run(load_settings("local"), dry_run=True)
    report.summary()
    # -> 'vacuum (dry run): would remove 0 uncommitted data files, 0 orphan models, ...'
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from jobs.build_features import models_root
from lakeprep.config import Settings
from lakeprep.errors import LakeTableError
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_exports, sweep_models, sweep_table
from lakeprep.lake.verify import has_log
from lakeprep.lineage.dangling import close_dangling_runs

log = logging.getLogger(f"lakeprep.{__name__}")


@dataclass
class Swept:
    """What vacuum removed (or, in a dry run, would remove) from one table."""

    table: str
    files: list[str]
    models: list[str]


@dataclass
class VacuumReport:
    dry_run: bool
    tables: list[Swept] = field(default_factory=list)
    exports: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why a table or export was left alone
    closed_runs: int = 0

    @property
    def files(self) -> int:
        return sum(len(t.files) for t in self.tables)

    @property
    def models(self) -> int:
        return sum(len(t.models) for t in self.tables)

    def summary(self) -> str:
        verb, close = ("would remove", "would close") if self.dry_run else ("removed", "closed")
        return (f"vacuum{' (dry run)' if self.dry_run else ''}: {verb} "
                f"{_count(self.files, 'uncommitted data file')}, "
                f"{_count(self.models, 'orphan model')}, "
                f"{_count(len(self.exports), 'incomplete export')}, {close} "
                f"{_count(self.closed_runs, 'dangling run')}")


def run(settings: Settings, table: str | None = None, dry_run: bool = False) -> VacuumReport:
    """Vacuum ``table`` and its quarantine table, or the whole lake (every table, the ingest
    log, the exports and the lineage runs)."""
    run_id = f"vacuum-{uuid.uuid4().hex[:8]}"
    opts = settings.lake.storage_options
    sets = settings.features.sets.values() if settings.features is not None else []
    report = VacuumReport(dry_run)
    for name, location in settings.lake_tables(table):
        if not has_log(location, opts):
            continue
        try:
            with hold(location, run_id, "vacuum"):
                removed = sweep_table(location, opts, dry_run=dry_run)
                orphans = [m for fs in sets if name == fs.table
                           for m in sweep_models(models_root(settings, fs), location, opts,
                                                 dry_run=dry_run)]
        except LakeTableError as e:  # a job is writing it: its debris, if any, waits
            report.skipped.append(f"{name}: {e}")
            continue
        if removed or orphans:
            report.tables.append(Swept(name, removed, orphans))
    exports = settings.lake.layers.get("exports")
    if exports and not table:
        swept = sweep_exports(exports, depth=2, dry_run=dry_run)
        report.exports = list(swept.removed)
        report.skipped += [f"export {f}: an export is writing it" for f in swept.busy]
    report.closed_runs = close_dangling_runs(settings, dry_run=dry_run)
    log.info(report.summary())
    return report


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
