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

from lakeprep.config import Settings
from lakeprep.errors import LakeTableError
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import Swept, VacuumReport, sweep_exports, sweep_models, sweep_table
from lakeprep.lake.verify import has_log
from lakeprep.lineage.dangling import close_dangling_runs

log = logging.getLogger(f"lakeprep.{__name__}")


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
                           for m in sweep_models(settings.models_root(fs), location, opts,
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
