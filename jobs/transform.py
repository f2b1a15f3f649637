"""transform: apply the pipeline ``build_features`` saved for a feature set to its new rows (batch
inference preprocessing), after a drift gate against the training baseline saved with the model.

    lakeprep run transform --env local [--set customer] [--cutoff 2026-06-01] [--model PATH]

Without ``--cutoff`` each set is transformed as of the day after the latest date of its data (the
columns that date it: a rows set's time filter column, a snapshot's timestamps), so its newest
rows count; the report line, the log and the commit's ``cutoff_from`` say which. A set without
dated columns takes its conf cutoff. No rows as of the cutoff is an error naming the window and
the data's dates.

Example::

    report = run(load_settings("local"), date(2026, 6, 1), feature_set="customer")
"""

from __future__ import annotations

import json
import logging
from datetime import date

from features.persistence import load_for_inference
from features.spec import feature_names
from jobs.build_features import check_vectors, ready_sets, set_aside_vectors, set_rows, vectors_kept
from lakeprep.config.sections import FEATURES_COL, FeatureSet
from lakeprep.errors import ConfigError, GateFailed, InputError, UsageError
from lakeprep.featuresets import (
    BASELINE_FILE,
    FeatureReport,
    SetsReport,
    default_cutoff,
    no_rows,
    stored_rows,
)
from lakeprep.frames import cache, quoted
from lakeprep.runtime import JobContext, job
from lakeprep.storage import read_text
from quality.drift import DriftBaseline, check_drift
from quality.gate import commit_summary

log = logging.getLogger(f"lakeprep.{__name__}")


@job("transform")
def run(ctx: JobContext, cutoff: date | None = None, model_path: str | None = None,
        feature_set: str | None = None) -> SetsReport:
    """Apply each set's saved pipeline (or only ``feature_set``'s) to its rows as of ``cutoff``
    (default: the day after the latest date of the set's data; no label, nothing refitted).
    Sets without an inference table are left out; a set whose feature table was never built is
    skipped, or an error when named."""
    settings = ctx.settings
    named = settings.feature_sets(feature_set)
    if feature_set is None:
        named = {n: fs for n, fs in named.items() if fs.inference_table}
    if model_path is not None and len(named) != 1:
        raise UsageError(f"--model names one set's pipeline: give --set too (sets: "
                         f"{', '.join(sorted(named))})")
    for name, fs in named.items():
        if not fs.inference_table:
            raise ConfigError(f"{settings.where('features', 'sets', name)}: features.sets."
                              f"{name}.inference_table is not set; it names the table "
                              f"transform writes")
    sets = ready_sets(ctx, feature_set, needs=lambda fs: [fs.table, *fs.sources()])
    report = SetsReport(skipped={n: why for n, why in sets.skipped.items() if n in named})
    for name, fs in sets.ready.items():
        if name in named:
            report.reports[name] = _transform_set(ctx, name, fs, cutoff, model_path)
    return report


def _transform_set(ctx: JobContext, name: str, fs: FeatureSet, cutoff: date | None,
                   model_path: str | None) -> FeatureReport:
    drift_cfg = ctx.settings.require_features().drift
    assert fs.inference_table is not None  # checked by run
    if model_path is None:
        meta = ctx.table(fs.table).commit_metadata()
        model_path = (meta.get("features") or {}).get("pipeline_model")
        if not model_path:
            raise InputError(f"{fs.table}: its latest version records no pipeline model; run "
                             f"build-features --set {name} first or pass --model")
    chosen = None
    if cutoff is None:
        cutoff, chosen = default_cutoff(ctx, name, fs)
        log.info("feature set %s: %s", name, chosen["note"])
    day = cutoff.isoformat()
    snap, inputs = set_rows(ctx, name, fs, day, with_label=False)
    report = FeatureReport(fs.inference_table, day, inputs=inputs, model_path=model_path,
                           feature_set=name, cutoff_note=chosen["note"] if chosen else "")
    snap = cache(snap)
    try:
        report.rows = snap.count()
        if report.rows == 0:
            raise no_rows(ctx, name, fs, fs.inference_table, day)
        baseline = DriftBaseline.from_dict(
            json.loads(read_text(ctx.spark, f"{model_path}/{BASELINE_FILE}")),
            source=f"{model_path}/{BASELINE_FILE}")
        drift = check_drift(snap, baseline, warn=drift_cfg.warn, fail=drift_cfg.fail)
        report.drift = drift.summary()
        if drift.verdict == "fail" and drift_cfg.policy == "fail":
            raise GateFailed(f"drift gate: {fs.inference_table} as of {day} drifted from the "
                             f"training baseline ({report.lines()[-1]}); nothing was written")
        model = load_for_inference(model_path)
        out = model.transform(snap)
        report.feature_names = feature_names(model, out)
        # the same gate on the vectors as at build time: new rows may bring new gaps
        finite = check_vectors(ctx, name, fs, fs.inference_table,
                               out.select(*quoted(snap.columns), FEATURES_COL),
                               report.feature_names)
        out, report.rows = vectors_kept(finite, out, report.rows, fs.inference_table, name)
        result = stored_rows(out, snap.columns)
        meta = ctx.commit_metadata(
            table=fs.inference_table, inputs=inputs, cutoff=day, counts={"rows": report.rows},
            cutoff_from=chosen or {"rule": "given"}, drift=report.drift,
            gate=commit_summary(finite),
            features={"set": name, "names": report.feature_names, "entity": fs.id_column,
                      "column": FEATURES_COL, "non_finite": fs.non_finite,
                      "pipeline_model": model_path})
        report.version = ctx.table(fs.inference_table).overwrite_partitions(result, meta).version
        set_aside_vectors(ctx, fs.inference_table, finite, snap.columns)
    finally:
        snap.unpersist()
    return report

