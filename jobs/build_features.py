"""build_features: bronze tables -> per-customer snapshot as of a cutoff -> fitted feature pipeline
-> feature table (Delta, partitioned by snapshot date) + the saved pipeline model and the drift
baseline that ``jobs.transform`` checks new snapshots against.

    lakeprep run build-features --env local [--cutoff 2026-05-01]

>>> report = run(load_settings("local"), date(2026, 5, 1))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.snapshot import SNAPSHOT_DATE, build_snapshot
from features.spec import build_pipeline, feature_names
from jobs import gates
from lakeprep.config import Settings
from lakeprep.config.sections import FeaturesSettings
from lakeprep.errors import ConfigError, InputError
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_models, sweep_table
from lakeprep.pause import point
from lakeprep.runtime import JobContext, job
from lakeprep.storage import write_text
from quality.drift import DriftBaseline

log = logging.getLogger(f"lakeprep.{__name__}")

FEATURES_COL = "features"
BASELINE_FILE = "drift_baseline.json"


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


@job("build-features")
def run(ctx: JobContext, cutoff: date | None = None) -> FeatureReport:
    """Fit the spec pipeline on the snapshot as of ``cutoff`` (default ``features.cutoff``) and
    write the feature table."""
    cfg = ctx.settings.require_features()
    location = ctx.settings.table(cfg.table).location
    # one writer of the table and its models at a time (vacuum takes the same lease); a killed
    # run's staged files and saved model go once this run has committed
    with hold(location, ctx.run_id, ctx.job):
        report = _build(ctx, cfg, cutoff)
        sweep_table(location, ctx.settings.lake.storage_options)
        sweep_models(models_root(ctx.settings, cfg), location, ctx.settings.lake.storage_options)
    return report


def _build(ctx: JobContext, cfg: FeaturesSettings, cutoff: date | None) -> FeatureReport:
    day = (cutoff or cfg.cutoff).isoformat()
    snap, inputs = _snapshot(ctx, cfg, day, with_label=True)
    label = cfg.snapshot.label.name if cfg.snapshot.label else None
    pipeline = build_pipeline(cfg.pipeline, snap.columns,
                              source=ctx.settings.where("features", "pipeline"))
    report = FeatureReport(cfg.table, day, inputs=inputs)
    snap = snap.persist()
    outcome = None
    try:
        # the bronze -> features gate checks the snapshot before anything is fitted on it;
        # under `fail` it raises and nothing is written, under `quarantine` the rows it sets
        # aside are neither fitted on nor written
        outcome = gates.check(ctx, cfg.table, snap)
        train = outcome.passed if outcome is not None and outcome.passed is not None else snap
        report.rows = train.count()
        if report.rows == 0:
            raise InputError(f"{cfg.table}: the snapshot as of {day} is empty: no "
                             f"{cfg.snapshot.entity_table} row existed before the cutoff")
        model = _fit(pipeline, train, cfg.table, day)
        out = model.transform(train)
        report.feature_names = feature_names(model, out)
        report.model_path = f"{models_root(ctx.settings, cfg)}/{ctx.run_id}"
        model.save(report.model_path)
        baseline = DriftBaseline.fit(train, features=_drift_features(cfg, train),
                                     bins=cfg.drift.bins)
        write_text(ctx.spark, f"{report.model_path}/{BASELINE_FILE}",
                   json.dumps(baseline.to_dict(), indent=1))
        point("features.model_saved")  # saved, not committed: where the kill tests strike
        result = _result(out, snap.columns)
        if label:  # from the cached training rows: no second run of the pipeline's transform
            report.label_balance = {str(r[0]): int(r[1]) for r in
                                    train.groupBy(label).count().collect()}
        meta = ctx.commit_metadata(
            table=cfg.table, inputs=inputs, cutoff=day, counts={"rows": report.rows},
            gate=gates.summary(outcome),
            features={"names": report.feature_names, "label": label,
                      "entity": cfg.snapshot.entity, "column": FEATURES_COL,
                      "pipeline_model": report.model_path,
                      "drift_baseline": f"{report.model_path}/{BASELINE_FILE}"})
        report.version = ctx.table(cfg.table).overwrite_partitions(result, meta).version
        gates.set_aside_gate(ctx, cfg.table, outcome)
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
                      vector_to_array(F.col(FEATURES_COL)).alias(FEATURES_COL))


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


def models_root(settings: Settings, cfg: FeaturesSettings) -> str:
    """Where the feature table's pipeline models are saved, one folder per run."""
    root = settings.lake.layers.get("features")
    if not root:
        raise ConfigError("lake.layers.features is not set; the pipeline model is saved there")
    return f"{root.rstrip('/')}/{cfg.models_folder}/{cfg.table}"

