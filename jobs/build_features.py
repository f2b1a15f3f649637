"""build_features: per feature set, bronze tables -> its rows as of a cutoff (a per-entity
snapshot, or one row per source row) -> fitted feature pipeline -> its feature table (Delta,
partitioned by snapshot date) + the saved pipeline model and the drift baseline that
``jobs.transform`` checks new rows against.

    lakeprep run build-features --env local [--set customer] [--cutoff 2026-05-01]

Example::

    report = run(load_settings("local"), date(2026, 5, 1), feature_set="customer")
    report["customer"].rows
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import date
from typing import Any

from py4j.protocol import Py4JJavaError
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from features.rows import build_rows, parse_problems
from features.snapshot import SNAPSHOT_DATE, build_snapshot
from features.spec import build_pipeline, feature_names
from jobs import gates
from lakeprep import quarantine
from lakeprep.config.sections import FEATURES_COL, EntitySnapshotSet, FeatureSet, RowsSet
from lakeprep.errors import ConfigError, InputError
from lakeprep.featuresets import (
    BASELINE_FILE,
    FeatureReport,
    ReadySets,
    SetsReport,
    no_rows,
    read_sources,
    split_by_tables,
    stored_rows,
)
from lakeprep.frames import cache, quoted
from lakeprep.inference.schema import SCHEMA_FILE, schema_json
from lakeprep.lake.lease import hold
from lakeprep.lake.sweep import sweep_models, sweep_table
from lakeprep.pause import point
from lakeprep.runtime import JobContext, job
from lakeprep.stats.types import NUMERIC_TYPES
from lakeprep.storage import write_text
from quality.drift import DriftBaseline
from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome, commit_summary

log = logging.getLogger(f"lakeprep.{__name__}")


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
            sweep_models(ctx.settings.models_root(fs), location, opts)
    return report


def ready_sets(ctx: JobContext, feature_set: str | None,
               needs: Callable[[FeatureSet], list[str]] | None = None) -> ReadySets:
    """The sets to run: ``feature_set`` or all; their expressions checked first (a ConfigError
    naming the file and key), the ones whose tables (``needs``, default the sources) do not
    exist yet skipped, or an error when named."""
    settings = ctx.settings
    sets = settings.feature_sets(feature_set)
    problems = []
    for name, fs in sets.items():
        for key, problem in parse_problems(fs.expressions()).items():
            problems.append(f"{settings.where('features', 'sets', name, *key.split('.'))}: "
                            f"features.sets.{name}.{key}: {problem}")
    if problems:
        raise ConfigError("; ".join(problems))
    return split_by_tables(ctx, sets, feature_set is not None, needs)


def _build_set(ctx: JobContext, name: str, fs: FeatureSet, day: str) -> FeatureReport:
    snap, inputs = set_rows(ctx, name, fs, day, with_label=True)
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
                               out.select(*quoted(snap.columns), FEATURES_COL),
                               report.feature_names)
        kept, report.rows = vectors_kept(finite, out, report.rows, fs.table, name)
        set_aside = finite.counts.get("quarantined", 0) if finite is not None else 0
        report.model_path = f"{ctx.settings.models_root(fs)}/{ctx.run_id}"
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
        result = stored_rows(kept, snap.columns)
        if label:  # from the cached training rows (no second run of the pipeline's
            # transform) unless the vector gate set some aside
            rows = kept.select(label) if set_aside else train
            report.label_balance = {str(r[0]): int(r[1]) for r in
                                    rows.groupBy(label).count().collect()}
        meta = ctx.commit_metadata(
            table=fs.table, inputs=inputs, cutoff=day, counts={"rows": report.rows},
            gate=commit_summary(outcome, finite),
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
    rows = stored_rows(finite.quarantined, [*columns, FAILED_EXPECTATIONS_COLUMN])
    # array<double> whose elements may be null, as a merge's union reads the table back: the
    # quarantine keeps one column type across rebuilds
    rows = rows.withColumn(FEATURES_COL, F.col(FEATURES_COL).cast("array<double>"))
    keys = ctx.spec(table).primary_key or columns
    return quarantine.set_aside(ctx, table, rows, keys,
                           {"quarantined": finite.counts["quarantined"]})


def _fit(pipeline: Any, df: DataFrame, table: str, cutoff: str) -> PipelineModel:
    try:
        return pipeline.fit(df)
    except Py4JJavaError as e:
        # MLlib's own message (e.g. "surrogate cannot be computed ...") says what; add where
        first = str(e.java_exception).splitlines()[0]
        raise InputError(f"{table}: fitting the feature pipeline on the snapshot as of "
                         f"{cutoff} failed: {first}") from None


def set_rows(ctx: JobContext, name: str, fs: FeatureSet, cutoff: str, with_label: bool
             ) -> tuple[DataFrame, list[dict[str, Any]]]:
    """The set's rows as of ``cutoff`` (the pipeline's input) and the table versions read."""
    tables, inputs = read_sources(ctx, fs)
    if isinstance(fs, RowsSet):
        where = f"{ctx.settings.where('features', 'sets', name)}: features.sets.{name}"
        return build_rows(tables[fs.source], fs, cutoff,
                          ctx.settings.declared_columns(fs.source, metadata=False),
                          with_label=with_label, where=where), inputs
    return build_snapshot(tables, fs.snapshot, cutoff, with_label=with_label), inputs


def _drift_features(fs: FeatureSet, snap: DataFrame) -> list[str]:
    """The columns the drift baseline measures: the numeric kinds of ``lakeprep.stats.types``
    and strings; ids, the snapshot date, the label and the entity's since-column aside."""
    skip = {fs.id_column, SNAPSHOT_DATE, fs.label_name}
    if isinstance(fs, EntitySnapshotSet):
        skip.add(fs.snapshot.entity_since)
    return [f.name for f in snap.schema.fields if f.name not in skip and
            isinstance(f.dataType, (*NUMERIC_TYPES, StringType))]

