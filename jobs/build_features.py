"""build_features: per feature set, bronze tables -> its rows as of a cutoff (a per-entity
snapshot, or one row per source row) -> fitted feature pipeline -> its feature table (Delta,
partitioned by snapshot date) + the saved pipeline model and the drift baseline that
``jobs.transform`` checks new rows against.

    lakeprep run build-features --env local [--set customer] [--cutoff 2026-05-01]

>>> report = run(load_settings("local"), date(2026, 5, 1), feature_set="customer")  # doctest: +SKIP
>>> report["customer"].rows  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.rows import build_rows, parse_problems
from features.snapshot import SNAPSHOT_DATE, build_snapshot
from features.spec import build_pipeline, feature_names
from jobs import gates
from lakeprep.config import Settings
from lakeprep.config.sections import EntitySnapshotSet, FeatureSet, RowsSet
from lakeprep.errors import ConfigError, InputError
from lakeprep.frames import cache
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
    feature_set: str = ""

    def lines(self) -> list[str]:
        src = ", ".join(f"{i['table']}@v{i['version']}" for i in self.inputs)
        head = f"set {self.feature_set}: " if self.feature_set else ""
        out = [f"{head}{self.table}: {self.rows:,} rows as of {self.cutoff} from {src}; "
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


@dataclass
class SetsReport:
    """What a run over feature sets did: a report per set built, a reason per set skipped."""

    reports: dict[str, FeatureReport] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> FeatureReport:
        return self.reports[name]

    def lines(self) -> list[str]:
        out = [line for r in self.reports.values() for line in r.lines()]
        return out + [f"set {name}: skipped: {why}" for name, why in self.skipped.items()]


@job("build-features")
def run(ctx: JobContext, cutoff: date | None = None, feature_set: str | None = None
        ) -> SetsReport:
    """Build every feature set (or only ``feature_set``): fit its spec pipeline on its rows as
    of ``cutoff`` (default: the set's cutoff) and write its feature table.

    A set whose source tables do not exist yet is skipped (reported) when every set runs, and
    an error when it is the one named. Every set's expressions are parsed before any is built.
    """
    cfg = ctx.settings.require_features()
    sets = ready_sets(ctx, feature_set)
    report = SetsReport(skipped=sets.skipped)
    opts = ctx.settings.lake.storage_options
    for name, fs in sets.ready.items():
        day = (cutoff or cfg.cutoff_of(name)).isoformat()
        location = ctx.settings.table(fs.table).location
        # one writer of the table and its models at a time (vacuum takes the same lease); a
        # killed run's staged files and saved model go once this run has committed
        with hold(location, ctx.run_id, ctx.job):
            report.reports[name] = _build_set(ctx, name, fs, day)
            sweep_table(location, opts)
            sweep_models(models_root(ctx.settings, fs), location, opts)
    return report


@dataclass
class ReadySets:
    ready: dict[str, FeatureSet]
    skipped: dict[str, str]


def ready_sets(ctx: JobContext, feature_set: str | None,
               needs: Callable[[FeatureSet], list[str]] | None = None) -> ReadySets:
    """The sets to run: ``feature_set`` or all; their expressions checked first (a ConfigError
    naming the file and key), the ones whose tables (``needs``, default the sources) do not
    exist yet skipped, or an error when named."""
    settings = ctx.settings
    sets = settings.feature_sets(feature_set)
    problems = []
    for name, fs in sets.items():
        for key, problem in parse_problems(set_expressions(fs)).items():
            problems.append(f"{settings.where('features', 'sets', name, *key.split('.'))}: "
                            f"features.sets.{name}.{key}: {problem}")
    if problems:
        raise ConfigError("; ".join(problems))
    out = ReadySets({}, {})
    for name, fs in sets.items():
        missing = [t for t in (needs or _sources)(fs) if ctx.table(t).version() is None]
        if not missing:
            out.ready[name] = fs
            continue
        why = (f"table(s) {', '.join(missing)} do not exist yet; run `lakeprep run ingest` "
               f"(or build-features) first")
        if feature_set is not None:
            raise InputError(f"feature set {name}: {why}")
        log.warning("feature set %s: skipped: %s", name, why)
        out.skipped[name] = why
    return out


def _sources(fs: FeatureSet) -> list[str]:
    return fs.sources()


def set_expressions(fs: FeatureSet) -> dict[str, str]:
    """Every Spark SQL expression of a set, by its key under the set."""
    if isinstance(fs, RowsSet):
        exprs = {"label.expr": fs.label.expr} if fs.label else {}
        if fs.row_id.expr:
            exprs["row_id.expr"] = fs.row_id.expr
        return exprs
    return {f"snapshot.derived.{k}": v for k, v in fs.snapshot.derived.items()}


def _build_set(ctx: JobContext, name: str, fs: FeatureSet, day: str) -> FeatureReport:
    snap, inputs = _snapshot(ctx, name, fs, day, with_label=True)
    label = fs.label_name
    pipeline = build_pipeline(fs.pipeline, snap.columns,
                              source=ctx.settings.where("features", "sets", name, "pipeline"))
    report = FeatureReport(fs.table, day, inputs=inputs, feature_set=name)
    snap = cache(snap)
    outcome = None
    try:
        # the bronze -> features gate checks the snapshot before anything is fitted on it;
        # under `fail` it raises and nothing is written, under `quarantine` the rows it sets
        # aside are neither fitted on nor written
        outcome = gates.check(ctx, fs.table, snap)
        train = outcome.passed if outcome is not None and outcome.passed is not None else snap
        report.rows = train.count()
        if report.rows == 0:
            raise InputError(f"{fs.table} (feature set {name}): no rows as of {day}: "
                             f"{_empty_reason(fs)}")
        model = _fit(pipeline, train, fs.table, day)
        out = model.transform(train)
        report.feature_names = feature_names(model, out)
        report.model_path = f"{models_root(ctx.settings, fs)}/{ctx.run_id}"
        model.save(report.model_path)
        baseline = DriftBaseline.fit(train, features=_drift_features(fs, train),
                                     bins=ctx.settings.require_features().drift.bins)
        write_text(ctx.spark, f"{report.model_path}/{BASELINE_FILE}",
                   json.dumps(baseline.to_dict(), indent=1))
        point("features.model_saved")  # saved, not committed: where the kill tests strike
        result = _result(out, snap.columns)
        if label:  # from the cached training rows: no second run of the pipeline's transform
            report.label_balance = {str(r[0]): int(r[1]) for r in
                                    train.groupBy(label).count().collect()}
        meta = ctx.commit_metadata(
            table=fs.table, inputs=inputs, cutoff=day, counts={"rows": report.rows},
            gate=gates.summary(outcome),
            features={"set": name, "kind": fs.kind, "names": report.feature_names,
                      "label": label, "entity": fs.id_column, "column": FEATURES_COL,
                      "pipeline_model": report.model_path,
                      "drift_baseline": f"{report.model_path}/{BASELINE_FILE}"})
        report.version = ctx.table(fs.table).overwrite_partitions(result, meta).version
        gates.set_aside_gate(ctx, fs.table, outcome)
    finally:
        if outcome is not None:
            outcome.unpersist()
        snap.unpersist()
    return report


def _empty_reason(fs: FeatureSet) -> str:
    if isinstance(fs, RowsSet):
        return (f"no {fs.source} row passes time_filter {fs.time_filter}" if fs.time_filter
                else f"{fs.source} is empty")
    return f"no {fs.snapshot.entity_table} row existed before the cutoff"


def _fit(pipeline: Any, df: DataFrame, table: str, cutoff: str) -> PipelineModel:
    try:
        return pipeline.fit(df)
    except Py4JJavaError as e:
        # MLlib's own message (e.g. "surrogate cannot be computed ...") says what; add where
        first = str(e.java_exception).splitlines()[0]
        raise InputError(f"{table}: fitting the feature pipeline on the snapshot as of "
                         f"{cutoff} failed: {first}") from None


def _snapshot(ctx: JobContext, name: str, fs: FeatureSet, cutoff: str, with_label: bool
              ) -> tuple[DataFrame, list[dict[str, Any]]]:
    """The set's rows as of ``cutoff`` (the pipeline's input) and the table versions read."""
    tables, inputs = {}, []
    for source in fs.sources():
        table = ctx.table(source)
        version = table.version()
        if version is None:
            raise InputError(f"table {source} does not exist yet at {table.location}; run "
                             f"`lakeprep run ingest` first")
        tables[source] = table.read(version=version)
        inputs.append({"table": source, "kind": "table", "version": version,
                       "location": table.location})
    if isinstance(fs, RowsSet):
        where = f"{ctx.settings.where('features', 'sets', name)}: features.sets.{name}"
        return build_rows(tables[fs.source], fs, cutoff,
                          ctx.settings.declared_columns(fs.source, metadata=False),
                          with_label=with_label, where=where), inputs
    return build_snapshot(tables, fs.snapshot, cutoff, with_label=with_label), inputs


def _result(out: DataFrame, snapshot_columns: list[str]) -> DataFrame:
    # Delta stores no ML vectors: the assembled vector lands as array<double>
    return out.select(*[F.col(f"`{c}`") for c in snapshot_columns],
                      vector_to_array(F.col(FEATURES_COL)).alias(FEATURES_COL))


def _drift_features(fs: FeatureSet, snap: DataFrame) -> list[str]:
    skip = {fs.id_column, SNAPSHOT_DATE, fs.label_name}
    if isinstance(fs, EntitySnapshotSet):
        skip.add(fs.snapshot.entity_since)
    kinds = ("int", "bigint", "double", "float", "smallint", "string")
    return [c for c, t in snap.dtypes if c not in skip and (t in kinds or t.startswith("decimal"))]


def _drift_summary(drift: Any) -> dict[str, Any]:
    return {"verdict": drift.verdict,
            "drifted": [{"feature": name, "psi": round(drift.features[name].psi, 4),
                         "verdict": drift.features[name].verdict} for name in drift.drifted],
            "psi": {name: round(f.psi, 4) for name, f in drift.features.items()}}


def models_root(settings: Settings, fs: FeatureSet) -> str:
    """Where a feature set's pipeline models are saved, one folder per run."""
    root = settings.lake.layers.get("features")
    if not root:
        raise ConfigError(f"{settings.where('lake', 'layers')}: lake.layers.features is not "
                          f"set; the pipeline model is saved there")
    folder = settings.require_features().models_folder
    return f"{root.rstrip('/')}/{folder}/{fs.table}"

