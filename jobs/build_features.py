"""build_features: bronze tables -> per-customer snapshot as of a cutoff -> fitted feature pipeline
-> feature table (Delta, partitioned by snapshot date) + the saved pipeline model.

``transform`` applies a saved pipeline to a new snapshot (batch inference preprocessing), after a
drift gate against the training baseline saved with the model.

    lakeprep run build-features --env local [--cutoff 2026-05-01]
    lakeprep run transform --env local [--cutoff 2026-06-01] [--model PATH]
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from py4j.protocol import Py4JJavaError
from pydantic import BaseModel, ConfigDict, Field
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.snapshot import SNAPSHOT_DATE, SnapshotSpec, build_snapshot
from features.spec import build_pipeline, feature_names
from jobs import gates
from jobs.lake.storage import read_text, write_text
from jobs.runtime import JobContext
from lakeprep.errors import ConfigError, GateFailed, InputError
from quality.drift import DriftBaseline, check_drift

log = logging.getLogger(__name__)

FEATURES_COL = "features"
BASELINE_FILE = "drift_baseline.json"


class DriftSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["fail", "warn"] = "warn"
    warn: float = 0.1
    fail: float = 0.25
    bins: int = 10


class FeaturesSettings(BaseModel):
    """The ``features:`` section of conf (conf/base/features.yaml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    cutoff: date
    inference_table: str | None = None
    snapshot: SnapshotSpec
    pipeline: dict[str, Any]
    drift: DriftSettings = DriftSettings()
    models_folder: str = Field(default="_models", description="under the features layer root")


def features_settings(ctx: JobContext) -> FeaturesSettings:
    if "features" not in ctx.settings.extra:
        raise ConfigError(f"{ctx.settings.conf_dir}: no `features:` section (conf/base/"
                          f"features.yaml declares the snapshot and the pipeline)")
    cfg = ctx.settings.section("features", FeaturesSettings)
    for name in [cfg.table, *([cfg.inference_table] if cfg.inference_table else []),
                 *cfg.snapshot.sources()]:
        ctx.settings.table(name)  # unknown names fail here, before any Spark job
    return cfg


@dataclass
class FeatureReport:
    table: str
    cutoff: str
    rows: int = 0
    label_balance: dict[str, int] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    version: int | None = None
    model_path: str = ""
    inputs: list[dict[str, Any]] = field(default_factory=list)
    drift: dict[str, Any] | None = None

    def lines(self) -> list[str]:
        src = ", ".join(f"{i['table']}@v{i['version']}" for i in self.inputs)
        out = [f"{self.table}: {self.rows:,} rows as of {self.cutoff} from {src}; "
               f"{len(self.feature_names)} features; version {self.version}",
               f"pipeline model: {self.model_path}"]
        if self.label_balance:
            out.append("label balance: " + ", ".join(f"{k}: {v:,}" for k, v in
                                                      sorted(self.label_balance.items())))
        if self.drift:
            worst = ", ".join(f"{f['feature']} {f['psi']:.3f}" for f in self.drift["drifted"][:5])
            out.append(f"drift vs training baseline: {self.drift['verdict']}"
                       + (f" ({worst})" if worst else ""))
        return out


def run(ctx: JobContext, cutoff: str | None = None) -> FeatureReport:
    """Fit the spec pipeline on the snapshot as of ``cutoff`` and write the feature table."""
    cfg = features_settings(ctx)
    cutoff = cutoff or cfg.cutoff.isoformat()
    snap, inputs = _snapshot(ctx, cfg, cutoff, with_label=True)
    label = cfg.snapshot.label.name if cfg.snapshot.label else None
    pipeline = build_pipeline(cfg.pipeline, snap.columns,
                              source=ctx.settings.where("features", "pipeline"))
    report = FeatureReport(cfg.table, cutoff, inputs=inputs)
    snap = snap.persist()
    outcome = None
    try:
        # the bronze -> features gate checks the snapshot before anything is fitted on it;
        # under `fail` it raises and nothing is written, under `quarantine` the rows it sets
        # aside are neither fitted on nor written
        outcome = gates.check(ctx, cfg.table, snap)
        train = outcome.passed if outcome is not None else snap
        report.rows = train.count()
        if report.rows == 0:
            raise InputError(f"{cfg.table}: the snapshot as of {cutoff} is empty: no "
                             f"{cfg.snapshot.entity_table} row existed before the cutoff")
        model = _fit(pipeline, train, cfg.table, cutoff)
        out = model.transform(train)
        report.feature_names = feature_names(model, out)
        report.model_path = f"{_models_root(ctx, cfg)}/{ctx.run_id}"
        model.save(report.model_path)
        baseline = DriftBaseline.fit(train, features=_drift_features(cfg, train),
                                     bins=cfg.drift.bins)
        write_text(ctx.spark, f"{report.model_path}/{BASELINE_FILE}",
                   json.dumps(baseline.to_dict(), indent=1))
        result = _result(out, snap.columns)
        if label:  # from the cached training rows: no second run of the pipeline's transform
            report.label_balance = {str(r[0]): int(r[1]) for r in
                                    train.groupBy(label).count().collect()}
        meta = ctx.commit_metadata(
            table=cfg.table, inputs=inputs, cutoff=cutoff, counts={"rows": report.rows},
            gate=gates.summary(outcome),
            features={"names": report.feature_names, "label": label,
                      "entity": cfg.snapshot.entity, "column": FEATURES_COL,
                      "pipeline_model": report.model_path,
                      "drift_baseline": f"{report.model_path}/{BASELINE_FILE}"})
        report.version = ctx.table(cfg.table).overwrite_partitions(result, meta).version
        gates.set_aside(ctx, cfg.table, outcome)
    finally:
        if outcome is not None:
            outcome.unpersist()
        snap.unpersist()
    return report


def _fit(pipeline: Any, df: DataFrame, table: str, cutoff: str) -> PipelineModel:
    try:
        return pipeline.fit(df)
    except Py4JJavaError as e:
        # MLlib's own message (e.g. "surrogate cannot be computed ...") says what; add where
        first = str(e.java_exception).splitlines()[0]
        raise InputError(f"{table}: fitting the feature pipeline on the snapshot as of "
                         f"{cutoff} failed: {first}") from None


def transform(ctx: JobContext, cutoff: str | None = None, model_path: str | None = None
              ) -> FeatureReport:
    """Apply a saved pipeline to the snapshot as of ``cutoff`` (no label, nothing refitted)."""
    cfg = features_settings(ctx)
    if not cfg.inference_table:
        raise ConfigError(f"{ctx.settings.where('features')}: features.inference_table is not "
                          f"set; it names the table transform writes")
    cutoff = cutoff or date.today().isoformat()
    if model_path is None:
        meta = ctx.table(cfg.table).commit_metadata()
        model_path = (meta.get("features") or {}).get("pipeline_model")
        if not model_path:
            raise InputError(f"{cfg.table}: its latest version records no pipeline model; run "
                             f"build-features first or pass --model")
    snap, inputs = _snapshot(ctx, cfg, cutoff, with_label=False)
    report = FeatureReport(cfg.inference_table, cutoff, inputs=inputs, model_path=model_path)
    snap = snap.persist()
    try:
        baseline = DriftBaseline.from_dict(
            json.loads(read_text(ctx.spark, f"{model_path}/{BASELINE_FILE}")),
            source=f"{model_path}/{BASELINE_FILE}")
        drift = check_drift(snap, baseline, warn=cfg.drift.warn, fail=cfg.drift.fail)
        report.drift = _drift_summary(drift)
        if drift.verdict == "fail" and cfg.drift.policy == "fail":
            raise GateFailed(f"drift gate: {cfg.inference_table} as of {cutoff} drifted from the "
                             f"training baseline ({report.lines()[-1]}); nothing was written")
        model = load_for_inference(model_path)
        out = model.transform(snap)
        report.feature_names = feature_names(model, out)
        result = _result(out, snap.columns)
        report.rows = snap.count()
        meta = ctx.commit_metadata(
            table=cfg.inference_table, inputs=inputs, cutoff=cutoff, counts={"rows": report.rows},
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


def _snapshot(ctx: JobContext, cfg: FeaturesSettings, cutoff: str, with_label: bool
              ) -> tuple[DataFrame, list[dict[str, Any]]]:
    tables, inputs = {}, []
    for name in cfg.snapshot.sources():
        table = ctx.table(name)
        version = table.version()
        if version is None:
            raise InputError(f"table {name} does not exist yet at {table.location}; run "
                             f"`lakeprep run ingest` first")
        tables[name] = table.read(version=version)
        inputs.append({"table": name, "kind": "table", "version": version,
                       "location": table.location})
    return build_snapshot(tables, cfg.snapshot, cutoff, with_label=with_label), inputs


def _result(out: DataFrame, snapshot_columns: list[str]) -> DataFrame:
    # Delta stores no ML vectors: the assembled vector lands as array<double>
    return out.select(*[F.col(f"`{c}`") for c in snapshot_columns],
                      vector_to_array(FEATURES_COL).alias(FEATURES_COL))


def _drift_features(cfg: FeaturesSettings, snap: DataFrame) -> list[str]:
    skip = {cfg.snapshot.entity, SNAPSHOT_DATE, cfg.snapshot.entity_since,
            cfg.snapshot.label.name if cfg.snapshot.label else None}
    kinds = ("int", "bigint", "double", "float", "smallint", "string")
    return [c for c, t in snap.dtypes if c not in skip and (t in kinds or t.startswith("decimal"))]


def _drift_summary(drift: Any) -> dict[str, Any]:
    return {"verdict": drift.verdict,
            "drifted": [{"feature": name, "psi": round(drift.features[name].psi, 4),
                         "verdict": drift.features[name].verdict} for name in drift.drifted],
            "psi": {name: round(f.psi, 4) for name, f in drift.features.items()}}


def _models_root(ctx: JobContext, cfg: FeaturesSettings) -> str:
    root = ctx.settings.lake.layers.get("features")
    if not root:
        raise ConfigError("lake.layers.features is not set; the pipeline model is saved there")
    return f"{root.rstrip('/')}/{cfg.models_folder}/{cfg.table}"


if __name__ == "__main__":  # spark-submit jobs/build_features.py --env local
    from jobs.cli import main

    sys.exit(main(["run", "build-features", *sys.argv[1:]]))
