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
from datetime import date, timedelta
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.ml import PipelineModel
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.rows import build_rows, parse_problems
from features.snapshot import SNAPSHOT_DATE, build_snapshot
from features.spec import build_pipeline, feature_names
from jobs import gates
from lakeprep.config import Settings
from lakeprep.config.sections import EntitySnapshotSet, FeatureSet, RowsSet
from lakeprep.errors import ConfigError, InputError
from lakeprep.frames import cache, one_row
from lakeprep.inference.schema import SCHEMA_FILE, schema_json
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_models, sweep_table
from lakeprep.pause import point
from lakeprep.runtime import JobContext, job
from lakeprep.storage import write_text
from quality.drift import DriftBaseline
from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome

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
    cutoff_note: str = ""  # how the cutoff was chosen when none was given

    def lines(self) -> list[str]:
        src = ", ".join(f"{i['table']}@v{i['version']}" for i in self.inputs)
        head = f"set {self.feature_set}: " if self.feature_set else ""
        out = [f"{head}{self.table}: {self.rows:,} rows as of {self.cutoff} from {src}; "
               f"{len(self.feature_names)} features; version {self.version}",
               *([self.cutoff_note] if self.cutoff_note else []),
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
    outcome = finite = None
    try:
        # the bronze -> features gate checks the snapshot before anything is fitted on it;
        # under `fail` it raises and nothing is written, under `quarantine` the rows it sets
        # aside are neither fitted on nor written
        outcome = gates.check(ctx, fs.table, snap)
        train = outcome.passed if outcome is not None and outcome.passed is not None else snap
        report.rows = train.count()
        if report.rows == 0:
            raise no_rows(ctx, name, fs, fs.table, day)
        model = _fit(pipeline, train, fs.table, day)
        out = model.transform(train)
        report.feature_names = feature_names(model, out)
        # the assembled vector's gate: before anything of this run is saved or written
        finite = check_vectors(ctx, name, fs, fs.table,
                               out.select(*_quoted(snap.columns), FEATURES_COL),
                               report.feature_names)
        kept, report.rows = vectors_kept(finite, out, report.rows, fs.table, name)
        set_aside = finite.counts.get("quarantined", 0) if finite is not None else 0
        report.model_path = f"{models_root(ctx.settings, fs)}/{ctx.run_id}"
        model.save(report.model_path)
        baseline = DriftBaseline.fit(train, features=_drift_features(fs, train),
                                     bins=ctx.settings.require_features().drift.bins)
        write_text(ctx.spark, f"{report.model_path}/{BASELINE_FILE}",
                   json.dumps(baseline.to_dict(), indent=1))
        # the column types the pipeline was fitted on: the Spark-free runtime (lakeprep serve)
        # converts records to them, as Spark's output depends on them
        write_text(ctx.spark, f"{report.model_path}/{SCHEMA_FILE}", schema_json(
            (f.name, f.dataType.simpleString()) for f in train.schema.fields))
        point("features.model_saved")  # saved, not committed: where the kill tests strike
        result = _result(kept, snap.columns)
        if label:  # from the cached training rows (no second run of the pipeline's
            # transform) unless the vector gate set some aside
            rows = kept.select(label) if set_aside else train
            report.label_balance = {str(r[0]): int(r[1]) for r in
                                    rows.groupBy(label).count().collect()}
        meta = ctx.commit_metadata(
            table=fs.table, inputs=inputs, cutoff=day, counts={"rows": report.rows},
            gate=gates.summary(outcome, finite),
            features={"set": name, "kind": fs.kind, "names": report.feature_names,
                      "label": label, "entity": fs.id_column, "column": FEATURES_COL,
                      "non_finite": fs.non_finite, "pipeline_model": report.model_path,
                      "drift_baseline": f"{report.model_path}/{BASELINE_FILE}"})
        report.version = ctx.table(fs.table).overwrite_partitions(result, meta).version
        gates.set_aside_gate(ctx, fs.table, outcome)
        set_aside_vectors(ctx, fs.table, finite, snap.columns)
    finally:
        for gate in (outcome, finite):
            if gate is not None:
                gate.unpersist()
        snap.unpersist()
    return report


def check_vectors(ctx: JobContext, name: str, fs: FeatureSet, table: str, assembled: DataFrame,
                  names: list[str]) -> GateOutcome | None:
    """The set's gate on the vectors it is about to write to ``table`` (its feature or its
    inference table; ``features.sets.<name>.non_finite``): None when the set allows NaN and
    +-inf; raises ``GateFailed`` under ``fail`` when any is there."""
    if fs.non_finite == "allow":
        log.info("feature set %s: NaN and +-inf allowed in %s (non_finite: allow)", name,
                 FEATURES_COL)
        return None
    key = f"features.sets.{name}.non_finite"
    remedy = (f"impute them in the set's pipeline, or set {key} (in "
              f"{ctx.settings.where('features', 'sets', name)}) to quarantine or allow")
    return gates.check_finite(ctx, table, assembled, FEATURES_COL, names, fs.non_finite,
                              remedy=remedy)


def vectors_kept(finite: GateOutcome | None, out: DataFrame, rows: int, table: str, name: str
                 ) -> tuple[DataFrame, int]:
    """The rows to write after the vector gate and their count; an error when it set every
    row aside."""
    if finite is None or not finite.counts.get("quarantined") or finite.passed is None:
        return out, rows
    if finite.counts["passed"] == 0:
        raise InputError(f"{table} (feature set {name}): every row's {FEATURES_COL} holds NaN "
                         f"or +-inf ({'; '.join(finite.reasons)}); nothing was written")
    return finite.passed, finite.counts["passed"]


def set_aside_vectors(ctx: JobContext, table: str, finite: GateOutcome | None,
                      columns: list[str]) -> int | None:
    """The rows the vector gate split off, as the table stores them plus their reasons, into
    the table's quarantine (keyed by its primary key)."""
    if finite is None or finite.quarantined is None or not finite.counts.get("quarantined"):
        return None
    rows = _result(finite.quarantined, [*columns, FAILED_EXPECTATIONS_COLUMN])
    # array<double> whose elements may be null, as a merge's union reads the table back: the
    # quarantine keeps one column type across rebuilds
    rows = rows.withColumn(FEATURES_COL, F.col(FEATURES_COL).cast("array<double>"))
    keys = ctx.spec(table).primary_key or columns
    return gates.set_aside(ctx, table, rows, keys,
                           {"quarantined": finite.counts["quarantined"]})


def _quoted(columns: list[str]) -> list[Column]:
    return [F.col(f"`{c}`") for c in columns]


@dataclass(frozen=True)
class DataDates:
    """The first and last date of a set's data, over the columns that date it
    (``FeatureSet.date_columns``: the time filter's column, the snapshot's timestamps)."""

    columns: list[str]  # table.column
    first: date | None = None
    last: date | None = None

    def describe(self) -> str:
        if not self.columns:
            return "no column dates the set's data"
        if self.last is None:
            return f"{', '.join(self.columns)} hold no date"
        return f"{', '.join(self.columns)} span {self.first} .. {self.last}"


def data_dates(ctx: JobContext, fs: FeatureSet) -> DataDates:
    """The set's ``DataDates`` from its tables' latest versions: one aggregation per table."""
    by_table: dict[str, list[str]] = {}
    for table, column in fs.date_columns():
        by_table.setdefault(table, []).append(column)
    firsts, lasts = [], []
    for table, columns in by_table.items():
        days = [F.to_date(F.col(f"`{c}`")) for c in columns]
        row = one_row(ctx.table(table).read().agg(
            F.array_min(F.array(*[F.min(d) for d in days])).alias("a"),
            F.array_max(F.array(*[F.max(d) for d in days])).alias("b")))
        firsts += [row["a"]] if row["a"] is not None else []
        lasts += [row["b"]] if row["b"] is not None else []
    return DataDates([f"{t}.{c}" for t, c in fs.date_columns()],
                     min(firsts) if firsts else None, max(lasts) if lasts else None)


def window(fs: FeatureSet, day: str) -> str:
    """Which rows a set takes as of ``day``, in words (``taxi_trips.pickup_datetime in
    [2019-01-01, 2019-05-01)``)."""
    if isinstance(fs, RowsSet):
        tf = fs.time_filter
        if tf is None:
            return f"every row of {fs.source}"
        if tf.days is not None:
            start: object = date.fromisoformat(day) - timedelta(days=tf.days)
            end: object = day
        else:
            start, end = tf.from_ or "-inf", tf.until or "+inf"
        return f"{fs.source}.{tf.column} in [{start}, {end})"
    snap = fs.snapshot
    if snap.entity_since:
        return f"{snap.entity_table} rows whose {snap.entity_since} is before {day}"
    return f"every row of {snap.entity_table}"


def no_rows(ctx: JobContext, name: str, fs: FeatureSet, table: str, day: str) -> InputError:
    """The error of a set that has no rows as of ``day``: its window and its data's dates."""
    return InputError(f"{table} (feature set {name}): no rows as of {day}: it takes "
                      f"{window(fs, day)}, and {data_dates(ctx, fs).describe()}; give a "
                      f"--cutoff that puts data in that window")


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
    return out.select(*_quoted(snapshot_columns),
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

