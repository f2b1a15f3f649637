"""The run report of a run record: gathers what needs the quality library - each job run's
saved validation results, the drift of the feature table against its training baseline - and
renders it with :func:`lakeprep.report.run.build_report`.

    lakeprep report latest --env local        # or a run id

Example::

    path = build(ctx, load_record(ctx.settings, ctx.spark, "latest"))
"""

from __future__ import annotations

import json
from typing import Any

from lakeprep import quality_store
from lakeprep.errors import InputError
from lakeprep.featuresets import BASELINE_FILE
from lakeprep.report.record import RunRecord
from lakeprep.report.run import Drift, RunEvidence, build_report
from lakeprep.runtime import JobContext
from lakeprep.storage import read_text
from quality.drift import DriftBaseline, check_drift


def build(ctx: JobContext, rec: RunRecord) -> str:
    """Render the report of ``rec``; its path."""
    results = quality_store.load_results(ctx.settings)
    evidence = RunEvidence(
        validations={run_id: [d for d in results if d.get("run_id") == run_id]
                     for run_id in rec.job_runs.values()},
        drift=_drift(ctx, rec.features or {}))
    return build_report(ctx, rec, evidence)


def _drift(ctx: JobContext, feats: dict[str, Any]) -> Drift | None:
    """The feature table version of the run against the baseline saved with its model."""
    model, table, version = feats.get("model_path"), feats.get("table"), feats.get("version")
    if not model or not table or version is None:
        return None
    cfg = ctx.settings.require_features().drift
    path = f"{model}/{BASELINE_FILE}"
    try:
        baseline = DriftBaseline.from_dict(json.loads(read_text(ctx.spark, path)), source=path)
    except InputError as e:
        return Drift(path, "none", cfg.warn, cfg.fail, [], problem=str(e))
    df = ctx.table(table).read(version=version)
    present = [f for f in baseline.features if f in df.columns]
    baseline = type(baseline)({f: baseline.features[f] for f in present}, baseline.row_count,
                              baseline.bins)
    drift = check_drift(df, baseline, warn=cfg.warn, fail=cfg.fail)
    rows = sorted(((n, f.psi, f.verdict) for n, f in drift.features.items()),
                  key=lambda r: -r[1])
    return Drift(path, drift.verdict, cfg.warn, cfg.fail, rows)
