"""transform: apply the pipeline saved by ``build_features`` to a new snapshot (batch inference
preprocessing), after a drift gate against the training baseline saved with the model.

    lakeprep run transform --env local [--cutoff 2026-06-01] [--model PATH]

>>> report = run(load_settings("local"), date(2026, 6, 1))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from datetime import date

from pyspark.ml import PipelineModel

from features.spec import feature_names
from jobs.build_features import (
    BASELINE_FILE,
    FEATURES_COL,
    FeatureReport,
    _drift_summary,
    _result,
    _snapshot,
)
from lakeprep.errors import ConfigError, GateFailed, InputError
from lakeprep.runtime import JobContext, job
from lakeprep.storage import read_text
from quality.drift import DriftBaseline, check_drift

log = logging.getLogger(f"lakeprep.{__name__}")


@job("transform")
def run(ctx: JobContext, cutoff: date | None = None, model_path: str | None = None
        ) -> FeatureReport:
    """Apply a saved pipeline to the snapshot as of ``cutoff`` (default today; no label, nothing
    refitted)."""
    cfg = ctx.settings.require_features()
    if not cfg.inference_table:
        raise ConfigError(f"{ctx.settings.where('features')}: features.inference_table is not "
                          f"set; it names the table transform writes")
    day = (cutoff or date.today()).isoformat()
    if model_path is None:
        meta = ctx.table(cfg.table).commit_metadata()
        model_path = (meta.get("features") or {}).get("pipeline_model")
        if not model_path:
            raise InputError(f"{cfg.table}: its latest version records no pipeline model; run "
                             f"build-features first or pass --model")
    snap, inputs = _snapshot(ctx, cfg, day, with_label=False)
    report = FeatureReport(cfg.inference_table, day, inputs=inputs, model_path=model_path)
    snap = snap.persist()
    try:
        baseline = DriftBaseline.from_dict(
            json.loads(read_text(ctx.spark, f"{model_path}/{BASELINE_FILE}")),
            source=f"{model_path}/{BASELINE_FILE}")
        drift = check_drift(snap, baseline, warn=cfg.drift.warn, fail=cfg.drift.fail)
        report.drift = _drift_summary(drift)
        if drift.verdict == "fail" and cfg.drift.policy == "fail":
            raise GateFailed(f"drift gate: {cfg.inference_table} as of {day} drifted from the "
                             f"training baseline ({report.lines()[-1]}); nothing was written")
        model = load_for_inference(model_path)
        out = model.transform(snap)
        report.feature_names = feature_names(model, out)
        result = _result(out, snap.columns)
        report.rows = snap.count()
        meta = ctx.commit_metadata(
            table=cfg.inference_table, inputs=inputs, cutoff=day, counts={"rows": report.rows},
            drift=report.drift,
            features={"names": report.feature_names, "entity": cfg.snapshot.entity,
                      "column": FEATURES_COL, "pipeline_model": model_path})
        report.version = ctx.table(cfg.inference_table).overwrite_partitions(result, meta).version
    finally:
        snap.unpersist()
    return report


def load_for_inference(path: str) -> PipelineModel:
    """A saved pipeline, with out-of-fold encoders switched to their full-data encodings."""
    model = PipelineModel.load(path)
    for stage in model.stages:
        if hasattr(stage, "setOutOfFold"):
            stage.setOutOfFold(False)
    return model
