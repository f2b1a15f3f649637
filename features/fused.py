"""The fused fit: a spec pipeline's estimators fitted level by level, each level in one shared pass.

A stage depends on an earlier stage when it reads a column that stage writes (or writes a column
that stage reads or writes, or either changes rows or drops columns). Estimators whose
dependencies are fitted form a *level*; every estimator of a level is fitted on the same
dataset, and the statistics they ask for are computed together (Deequ's scan sharing):

- every global aggregate (counts, sums, sums of squares, min/max, ``percentile_approx`` of many
  columns, MLlib ``Summarizer`` vectors) of the level in ONE ``agg`` job;
- every plain value count (string indexers, rare-label grouping, count/frequency and one-hot
  encoders, categorical imputers) in ONE exploded ``(column, value)`` aggregation.

lakeprep's own estimators already ask for their statistics through
:func:`features.base.aggregate` and :func:`features.encoding.base.category_stats`; while a level
is planned those two answer from the shared pass (``features.base.STATS_PROVIDER``): a fit
that asks for a statistic not computed yet stops (``_Pending``), the level's requests run
together, and the fits run again with the answers, round after round until every fit is done
(a stage whose second statistic depends on its first, like the MAD, takes two rounds). MLlib's
estimators get fit functions here (``FUSED_FITS``) that compute the same statistics the same
way and build the usual Model classes through their JVM constructors, so the fitted result is a
plain ``PipelineModel``, saved and loaded as today. A stage this table does not cover (or whose
settings it does not, e.g. ``Imputer(strategy='mode')``) is fitted the normal way at its level
and named in the log. The input is cached for the fit when more than one pass is expected and
released after.

>>> model = build_pipeline(spec, df).fit(df)  # doctest: +SKIP
>>> str(model.fit_report)  # doctest: +SKIP
'fit: 11 stages in 3 levels, 3 passes over the input, 7 Spark jobs (fused)'
"""

from __future__ import annotations

import fnmatch
import logging
import math
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyspark import StorageLevel
from pyspark.ml import Estimator, PipelineModel, Transformer
from pyspark.ml import feature as mllib
from pyspark.ml.common import _py2java
from pyspark.ml.linalg import DenseVector, Vector
from pyspark.ml.param import Params
from pyspark.ml.stat import Summarizer
from pyspark.ml.wrapper import JavaParams
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from features import base as feature_base
from features.encoding import base as encoding_base
from features.errors import FeatureInputError

log = logging.getLogger(f"lakeprep.{__name__}")

MAX_ROUNDS = 8  # statistics that depend on statistics (e.g. the MAD) take one round each
ALL = "\x00*"  # the column set of a stage that changes rows or drops columns: every column


class _Pending(Exception):
    """A fit asked for a statistic the level has not computed yet (caught by the planner)."""


class _NotFusable(Exception):
    """The stage's settings are not covered by the fused fit: fit it the normal way."""


@dataclass
class _Request:
    key: tuple[str, int]
    kind: str  # "aggregate" or "categories"
    df: DataFrame
    args: tuple[Any, ...]


class _Provider:
    """Answers one stage's aggregate/category_stats calls from the level's computed results."""

    def __init__(self, uid: str, results: dict[tuple[str, int], Any]) -> None:
        self.uid, self.results, self.calls = uid, results, 0
        self.requests: list[_Request] = []

    def _answer(self, kind: str, df: DataFrame, args: tuple[Any, ...]) -> Any:
        key = (self.uid, self.calls)
        self.calls += 1
        if key in self.results:
            return self.results[key]
        self.requests.append(_Request(key, kind, df, args))
        raise _Pending(key)

    def aggregate(self, df: DataFrame, exprs: dict[str, Any]) -> dict[str, Any]:
        return dict(self._answer("aggregate", df, (dict(exprs),)))

    def category_stats(self, df: DataFrame, cols: list[str], label_col: str | None,
                       fold: Any, with_totals: bool) -> dict[str, dict]:
        return dict(self._answer("categories", df, (list(cols), label_col, fold, with_totals)))


@dataclass
class FitReport:
    """How a pipeline was fitted: stages, levels, passes over the input, Spark jobs."""

    stages: int
    fused: bool
    levels: int = 0
    passes: int = 0
    jobs: int = 0
    unfused: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        how = "fused" if self.fused else "stage by stage"
        text = (f"fit: {self.stages} stages in {self.levels} levels, {self.passes} passes over "
                f"the input, {self.jobs} Spark jobs ({how})")
        if self.fused and self.unfused:
            text += f"; fitted on their own: {', '.join(self.unfused)}"
        return text


# ---------------------------------------------------------------- fit functions for MLlib stages

def _in_out(stage: Params) -> tuple[list[str], list[str]]:
    if stage.hasParam("inputCols") and stage.isSet("inputCols"):
        return list(stage.getOrDefault("inputCols")), list(stage.getOrDefault("outputCols"))
    return [stage.getOrDefault("inputCol")], [stage.getOrDefault("outputCol")]


def _check_schema(stage: JavaParams, df: DataFrame) -> None:
    """MLlib's own input checks (column types, params), as its fit runs them first."""
    stage._transfer_params_to_java()
    assert stage._java_obj is not None
    stage._java_obj.transformSchema(df._jdf.schema())


def _java_model(stage: Any, df: DataFrame, name: str, *args: Any) -> Any:
    """The estimator's Model built through its JVM constructor, with the estimator's params."""
    jvm = df.sparkSession.sparkContext._jvm
    assert jvm is not None
    java_model = getattr(jvm.org.apache.spark.ml.feature, name)(stage.uid, *args)
    return stage._copyValues(stage._create_model(java_model))


def _jvector(df: DataFrame, values: Vector | Sequence[float]) -> Any:
    vector = values if isinstance(values, Vector) else DenseVector(list(values))
    return _py2java(df.sparkSession.sparkContext, vector).compressed()


def _fit_imputer(stage: mllib.Imputer, df: DataFrame) -> mllib.ImputerModel:
    """Imputer (mean, median): as MLlib, missingValue and NaN are null, median is approximate."""
    strategy, rel = stage.getStrategy(), stage.getRelativeError()
    if strategy not in ("mean", "median") or rel <= 0:
        raise _NotFusable(f"strategy {strategy!r}, relativeError {rel}")
    _check_schema(stage, df)
    cols, _ = _in_out(stage)
    missing = stage.getMissingValue()

    def clean(c: str) -> Any:
        v = F.col(c)
        return F.when(v == F.lit(missing), None).when(F.isnan(v), None).otherwise(v).cast("double")

    if strategy == "mean":
        exprs = {c: F.avg(clean(c)) for c in cols}
    else:
        exprs = {c: F.percentile_approx(clean(c), [0.5], int(round(1 / rel))) for c in cols}
    found = feature_base.aggregate(df, exprs)
    values = {c: (found[c] if strategy == "mean" else (found[c] or [None])[0]) for c in cols}
    empty = [c for c, v in values.items() if v is None or math.isnan(v)]
    if empty:
        raise FeatureInputError(f"Imputer: surrogate cannot be computed: column(s) {empty} hold "
                                f"only null, NaN or missingValue ({missing})")
    schema = StructType([StructField(c, DoubleType(), False) for c in cols])
    surrogate = df.sparkSession.createDataFrame([tuple(float(values[c]) for c in cols)], schema)
    return _java_model(stage, df, "ImputerModel", surrogate._jdf)


def _summary(df: DataFrame, stage: JavaParams, *metrics: str, column: str = "inputCol") -> Any:
    """MLlib's Summarizer over the vector column, the aggregate MLlib's scalers fit with."""
    _check_schema(stage, df)
    column = stage.getOrDefault(column)
    return feature_base.aggregate(
        df, {"s": Summarizer.metrics(*metrics).summary(F.col(column))})["s"]


def _fit_standard_scaler(stage: Any, df: DataFrame) -> mllib.StandardScalerModel:
    """StandardScaler: Summarizer mean and (sample) std, as MLlib."""
    from features.transformation.scalers import require_finite
    s = _summary(df, stage, "mean", "std")
    name, column = type(stage).__name__, stage.getInputCol()
    require_finite(name, "mean", s["mean"].toArray(), column)
    require_finite(name, "std", s["std"].toArray(), column)
    return _java_model(stage, df, "StandardScalerModel", _jvector(df, s["std"]),
                       _jvector(df, s["mean"]))


def _fit_min_max_scaler(stage: Any, df: DataFrame) -> mllib.MinMaxScalerModel:
    """MinMaxScaler: Summarizer min and max, as MLlib."""
    from features.transformation.scalers import require_finite
    s = _summary(df, stage, "max", "min")
    name, column = type(stage).__name__, stage.getInputCol()
    low, high = s["min"].toArray(), s["max"].toArray()
    require_finite(name, "min", low, column)
    require_finite(name, "max", high, column)
    with np.errstate(over="ignore"):  # an overflowing range is reported just below
        spread = high - low
    require_finite(name, "range (max - min)", spread, column)
    return _java_model(stage, df, "MinMaxScalerModel", _jvector(df, s["min"]),
                       _jvector(df, s["max"]))


def _fit_max_abs_scaler(stage: Any, df: DataFrame) -> mllib.MaxAbsScalerModel:
    """MaxAbsScaler: max(|min|, |max|) per slot from the Summarizer, as MLlib."""
    from features.transformation.scalers import require_finite
    s = _summary(df, stage, "max", "min")
    max_abs = np.maximum(np.abs(s["min"].toArray()), np.abs(s["max"].toArray()))
    require_finite(type(stage).__name__, "max |x|", max_abs, stage.getInputCol())
    return _java_model(stage, df, "MaxAbsScalerModel", _jvector(df, max_abs))


def _fit_robust_scaler(stage: Any, df: DataFrame) -> mllib.RobustScalerModel:
    """RobustScaler: per-slot percentile_approx of lower, median, upper (NaN skipped), with
    lakeprep's zero-range rule (scale 1); needs the vector size in the column's ML attributes."""
    from pyspark.ml.functions import vector_to_array

    from features.transformation.scalers import require_finite
    rel = stage.getRelativeError()
    column = stage.getInputCol()
    size = (df.schema[column].metadata.get("ml_attr", {}).get("num_attrs")
            if column in df.columns else None)
    if not size or rel <= 0:
        raise _NotFusable(f"no vector size in the ML attributes of {column!r}")
    _check_schema(stage, df)
    probs = [stage.getLower(), 0.5, stage.getUpper()]
    values = vector_to_array(F.col(column))
    found = feature_base.aggregate(df, {str(i): F.percentile_approx(
        F.when(~F.isnan(values[i]), values[i]), probs, int(round(1 / rel))) for i in range(size)})
    if any(found[str(i)] is None for i in range(size)):
        raise _NotFusable("a slot without values (MLlib's own fit reports it)")
    low, median, high = (np.array([found[str(i)][k] for i in range(size)]) for k in range(3))
    spread = high - low
    name = type(stage).__name__
    require_finite(name, "median", list(median), column)
    require_finite(name, "quantile range", list(spread), column)
    spread[spread == 0] = 1.0  # scikit-learn's rule, as lakeprep's RobustScaler
    return _java_model(stage, df, "RobustScalerModel", _jvector(df, list(spread)),
                       _jvector(df, list(median)))


def _fit_variance_selector(stage: mllib.VarianceThresholdSelector,
                           df: DataFrame) -> mllib.VarianceThresholdSelectorModel:
    """VarianceThresholdSelector: Summarizer variance (0 where max == min), as MLlib."""
    s = _summary(df, stage, "max", "min", "variance", column="featuresCol")
    high, low, variance = (s[m].toArray() for m in ("max", "min", "variance"))
    variance = np.where(high == low, 0.0, variance)
    selected = [i for i, v in enumerate(variance) if v > stage.getVarianceThreshold()]
    gateway = df.sparkSession.sparkContext._gateway
    assert gateway is not None
    indices = gateway.new_array(gateway.jvm.int, len(selected))
    for k, i in enumerate(selected):
        indices[k] = i
    return _java_model(stage, df, "VarianceThresholdSelectorModel", indices)


def _distinct_splits(values: list[float]) -> list[float]:
    """MLlib's getDistinctSplits: -inf/+inf ends, -0.0 as 0.0, duplicates dropped in order."""
    splits = [0.0 if v == 0 else float(v) for v in values]
    splits[0], splits[-1] = -math.inf, math.inf
    return list(dict.fromkeys(splits))


def _fit_quantile_discretizer(stage: mllib.QuantileDiscretizer, df: DataFrame) -> mllib.Bucketizer:
    """QuantileDiscretizer: one percentile_approx per column of every bucket edge, as MLlib."""
    rel = stage.getRelativeError()
    if rel <= 0:
        raise _NotFusable(f"relativeError {rel}")
    _check_schema(stage, df)
    cols, outs = _in_out(stage)
    single = stage.isSet(stage.inputCol)
    per_column = (list(stage.getNumBucketsArray()) if stage.isSet(stage.numBucketsArray)
                  else [stage.getNumBuckets()] * len(cols))
    probs_of = [[k / n for k in range(n + 1)] for n in per_column]
    probs = sorted({p for ps in probs_of for p in ps})

    def clean(c: str) -> Any:
        v = F.col(c).cast("double")
        return F.when(~F.isnan(v), v)  # approxQuantile skips NaN as well as null

    found = feature_base.aggregate(
        df, {c: F.percentile_approx(clean(c), probs, int(round(1 / rel))) for c in cols})
    empty = [c for c in cols if not found[c]]
    if empty:
        raise FeatureInputError(f"QuantileDiscretizer: column(s) {empty} have no value that is "
                                "not null or NaN to find quantiles of")
    splits = [_distinct_splits([q for p, q in zip(probs, found[c], strict=True) if p in set(ps)])
              for c, ps in zip(cols, probs_of, strict=True)]
    handle = stage.getHandleInvalid()
    model = (mllib.Bucketizer(splits=splits[0], inputCol=cols[0], outputCol=outs[0],
                              handleInvalid=handle) if single else
             mllib.Bucketizer(splitsArray=splits, inputCols=cols, outputCols=outs,
                              handleInvalid=handle))
    return stage._copyValues(model)


LABEL_ORDERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    # MLlib orders labels of equal frequency alphabetically, ascending, in both frequency orders
    "frequencyDesc": lambda st: sorted(st, key=lambda v: (-st[v].count, v)),
    "frequencyAsc": lambda st: sorted(st, key=lambda v: (st[v].count, v)),
    "alphabetAsc": lambda st: sorted(st),
    "alphabetDesc": lambda st: sorted(st, reverse=True),
}


def _fit_string_indexer(stage: mllib.StringIndexer, df: DataFrame) -> mllib.StringIndexerModel:
    """StringIndexer on string columns: labels from the level's one value-count shuffle."""
    cols, outs = _in_out(stage)
    if any(not isinstance(df.schema[c].dataType, StringType) for c in cols if c in df.columns):
        raise _NotFusable("a non-string input column (MLlib casts it; NaN would be a label)")
    _check_schema(stage, df)
    stats = encoding_base.category_stats(df, cols)
    labels = [LABEL_ORDERS[stage.getStringOrderType()](stats[c]) for c in cols]
    # a jagged String[][] (pyspark's from_arrays_of_labels pads short label lists with nulls)
    gateway = df.sparkSession.sparkContext._gateway
    assert gateway is not None
    labels_array = gateway.new_array(gateway.jvm.java.lang.String, len(labels), 0)
    for i, column_labels in enumerate(labels):
        labels_array[i] = gateway.new_array(gateway.jvm.java.lang.String, len(column_labels))
        for j, label in enumerate(column_labels):
            labels_array[i][j] = label
    return _java_model(stage, df, "StringIndexerModel", labels_array)


def _fit_from_attributes(stage: Estimator, df: DataFrame) -> Any:
    """MLlib's own fit where the input's ML attributes carry the category counts (no pass)."""
    cols, _ = _in_out(stage)
    for c in cols:
        attr = df.schema[c].metadata.get("ml_attr", {}) if c in df.columns else {}
        if not (attr.get("type") == "binary" or
                (attr.get("type") == "nominal" and ("vals" in attr or "num_vals" in attr))):
            raise _NotFusable(f"column {c!r} carries no category count in its ML attributes")
    return stage.fit(df)


def _own_fit(stage: Estimator, df: DataFrame) -> Any:
    """A lakeprep stage: its own fit, whose aggregate/category_stats the level answers."""
    return stage.fit(df)


def fused_fits() -> dict[type, Callable[[Any, DataFrame], Any]]:
    """The estimators the fused fit covers, by class, with the function that fits each."""
    from features.discretisation import EqualWidthDiscretiser
    from features.encoding import (
        CountFrequencyEncoder,
        OneHotEncoder,
        OrdinalEncoder,
        RareLabelEncoder,
        TargetEncoder,
        WoEEncoder,
    )
    from features.imputation import CategoricalImputer, EndTailImputer
    from features.outliers import OutlierTrimmer, Winsorizer
    from features.transformation import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
    table: dict[type, Callable[[Any, DataFrame], Any]] = {
        mllib.Imputer: _fit_imputer,
        mllib.QuantileDiscretizer: _fit_quantile_discretizer,
        mllib.StringIndexer: _fit_string_indexer,
        mllib.OneHotEncoder: _fit_from_attributes,
        StandardScaler: _fit_standard_scaler,
        MinMaxScaler: _fit_min_max_scaler,
        MaxAbsScaler: _fit_max_abs_scaler,
        RobustScaler: _fit_robust_scaler,
        mllib.VarianceThresholdSelector: _fit_variance_selector,
    }
    for own in (Winsorizer, OutlierTrimmer, EndTailImputer, CategoricalImputer, RareLabelEncoder,
                CountFrequencyEncoder, OneHotEncoder, OrdinalEncoder, TargetEncoder, WoEEncoder,
                EqualWidthDiscretiser):
        table[own] = _own_fit
    return table


def _row_changing(stage: Params) -> bool:
    """Stages that drop rows or columns: every stage after them depends on them."""
    from features.outliers import OutlierTrimmer
    skips = stage.hasParam("handleInvalid") and stage.getOrDefault("handleInvalid") == "skip"
    return (skips or isinstance(stage, OutlierTrimmer)
            or type(stage).__module__.startswith("features.selection"))


# ---------------------------------------------------------------- the planner

def _touches(a: set[str], b: set[str]) -> bool:
    # a declared pattern (one-hot's ``country_*``) stands for the names its fit will choose
    return (bool(a & b) or ALL in a or ALL in b
            or any(fnmatch.fnmatchcase(x, y) for x in a for y in b if "*" in y)
            or any(fnmatch.fnmatchcase(y, x) for x in a for y in b if "*" in x))


IoColumns = Callable[[Params], tuple[list[str], list[str]]]


def _waits(stage: Params, index: int, instant: frozenset[int]) -> bool:
    """True for an estimator whose model exists only after its level's statistics."""
    return isinstance(stage, Estimator) and index not in instant


def plan_levels(stages: Sequence[Any], io: IoColumns,
                instant: frozenset[int] = frozenset()) -> list[int]:
    """The level of every stage: estimators of one level are fitted on one shared dataset.

    A stage's level is at least an earlier stage's *availability* (its level, plus one for an
    estimator, whose model exists only after its level) when it reads what that stage writes,
    or is applied at its level (a transformer) writing what that stage reads; at least its level
    when it is an estimator writing what that stage reads or writes. Row or column droppers
    touch ``ALL``. ``instant`` estimators (fitted with no statistic, e.g. a constant imputer or
    a one-hot encoder reading ML attributes) are available at their own level.
    """
    cols = []
    for s in stages:
        reads, writes = (set(c) for c in io(s))
        if hasattr(s, "resolved_output_cols"):  # an in-place stage writes its inputs
            try:
                writes |= set(s.resolved_output_cols())
            except Exception:  # noqa: BLE001 - invalid params are reported by the fit itself
                pass
        if _row_changing(s):
            reads, writes = {ALL}, {ALL}
        cols.append((reads, writes))
    levels: list[int] = []
    for i, s in enumerate(stages):
        reads, writes = cols[i]
        level = 0
        for j in range(i):
            r2, w2 = cols[j]
            avail = levels[j] + _waits(stages[j], j, instant)
            if _touches(reads, w2) or (_touches(writes, r2) and not _waits(s, i, instant)):
                level = max(level, avail)
            elif _touches(writes, r2) or _touches(writes, w2):
                level = max(level, levels[j])
        levels.append(level)
    return levels


class _JobCounter:
    """Counts the Spark jobs of a block through its job group: the caller's, or one of its own
    (the caller's local properties are restored after)."""

    KEYS = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")

    def __init__(self, spark: SparkSession) -> None:
        self.sc = spark.sparkContext
        self.group = f"lakeprep-fit-{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> _JobCounter:
        self.saved = {k: self.sc.getLocalProperty(k) for k in self.KEYS}
        if self.saved["spark.jobGroup.id"]:  # the caller's group (a CLI, a bench) is kept
            self.group = self.saved["spark.jobGroup.id"]
        else:
            self.sc.setJobGroup(self.group, self.saved["spark.job.description"] or "lakeprep fit")
        self.before = len(self.sc.statusTracker().getJobIdsForGroup(self.group))
        return self

    @property
    def jobs(self) -> int:
        return len(self.sc.statusTracker().getJobIdsForGroup(self.group)) - self.before

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            self.sc.setLocalProperty(k, v)  # type: ignore[arg-type]  # None clears it


def _execute(requests: list[_Request]) -> tuple[dict[tuple[str, int], Any], int]:
    """Run a round's requests: per dataset ONE job for every global aggregate and ONE shuffle
    for every plain value count (an exploded (column, value) aggregation).

    One job for both was tried (every row exploded into a row slot and value slots, grouped by
    (slot, value)): the global aggregates then get a buffer per group, and percentile_approx
    per group turns Spark's object hash aggregate into a sort past 128 groups (1.7x slower at
    200k rows). Requests for category statistics with a label or folds get a job each.
    """
    results: dict[tuple[str, int], Any] = {}
    passes = 0
    token = feature_base.STATS_PROVIDER.set(None)  # the real computations from here
    try:
        shared: dict[int, list[_Request]] = {}
        for r in requests:
            if r.kind == "aggregate" or (r.args[1] is None and r.args[2] is None):
                shared.setdefault(id(r.df), []).append(r)
            else:  # with a label or folds: its own aggregation
                passes += 1
                results[r.key] = encoding_base.category_stats(r.df, *r.args)
        for group in shared.values():
            df = group[0].df
            aggregates = [r for r in group if r.kind == "aggregate"]
            if aggregates:
                passes += 1
                row = feature_base.aggregate(df, {f"{j}/{name}": e for j, r in enumerate(aggregates)
                                                  for name, e in r.args[0].items()})
                for j, r in enumerate(aggregates):
                    results[r.key] = {name: row[f"{j}/{name}"] for name in r.args[0]}
            counts = [r for r in group if r.kind != "aggregate"]
            if counts:
                passes += 1
                cols = list(dict.fromkeys(c for r in counts for c in r.args[0]))
                stats = encoding_base.category_stats(df, cols,
                                                     with_totals=any(r.args[3] for r in counts))
                for r in counts:
                    keys = [*r.args[0], *([encoding_base.TOTAL] if r.args[3] else [])]
                    results[r.key] = {c: stats[c] for c in keys}
    finally:
        feature_base.STATS_PROVIDER.reset(token)
    return results, passes


Guard = Callable[[Params], AbstractContextManager[None]]


def fit_stages(stages: Sequence[Any], dataset: DataFrame, io: IoColumns, guard: Guard,
               name: Callable[[Params], str], fused: bool = True) -> PipelineModel:
    """Fit ``stages`` as ``Pipeline.fit`` does, fused level by level unless ``fused`` is False.

    ``guard(stage)`` wraps every call that may fail for a stage (it names the step in errors);
    ``name(stage)`` names it in the log. The returned model carries ``fit_report``.
    """
    report = FitReport(stages=len(stages), fused=fused)
    with _JobCounter(dataset.sparkSession) as counter:
        if fused:
            fitted = _fit_fused(stages, dataset, io, guard, name, report)
        else:
            fitted = _fit_sequential(stages, dataset, guard, counter, report)
        report.jobs = counter.jobs
    log.info("%s", report)
    model = PipelineModel(fitted)
    model.fit_report = report  # type: ignore[attr-defined]
    return model


def _fit_sequential(stages: Sequence[Any], dataset: DataFrame, guard: Guard,
                    counter: _JobCounter, report: FitReport) -> list[Transformer]:
    """Pipeline's own fit: one estimator after the other, each on the transformed data."""
    last = max((i for i, s in enumerate(stages) if isinstance(s, Estimator)), default=-1)
    fitted: list[Transformer] = []
    for i, stage in enumerate(stages):
        with guard(stage):
            before = counter.jobs
            model = stage.fit(dataset) if isinstance(stage, Estimator) else stage
            if isinstance(stage, Estimator):
                report.levels += 1
                report.passes += counter.jobs > before
            fitted.append(model)
            if i < last:
                dataset = model.transform(dataset)
    return fitted


def _fit_fused(stages: Sequence[Any], dataset: DataFrame, io: IoColumns, guard: Guard,
               name: Callable[[Params], str], report: FitReport) -> list[Transformer]:
    estimators = [i for i, s in enumerate(stages) if isinstance(s, Estimator)]
    fitted: dict[int, Transformer] = {i: s for i, s in enumerate(stages)
                                      if not isinstance(s, Estimator)}
    table = fused_fits()
    instant: frozenset[int] = frozenset()
    done_levels: set[int] = set()
    cached = len(estimators) > 1 and not dataset.is_cached
    base = dataset.persist(StorageLevel.MEMORY_AND_DISK) if cached else dataset
    try:
        while remaining := [i for i in estimators if i not in fitted]:
            levels = plan_levels(stages, io, instant)
            level = min(levels[i] for i in remaining)
            done_levels.add(level)
            todo = [i for i in remaining if levels[i] == level]
            df = _level_dataset(base, stages, fitted, levels, instant, level, upto=max(todo))
            fused = [i for i in todo if type(stages[i]) in table]
            alone, quick = _fit_level(stages, df, fused, fitted, table, guard, report)
            if quick:  # fitted without statistics: their dependents may join this level,
                instant |= quick  # so plan again (no pass has run; the rest is asked again)
                continue
            alone += [i for i in todo if type(stages[i]) not in table]
            for i in sorted(alone):
                log.info("fused fit: %s is fitted on its own at level %d", name(stages[i]), level)
                report.unfused.append(name(stages[i]))
                with guard(stages[i]):
                    fitted[i] = stages[i].fit(df)
                report.passes += 1
        report.levels = len(done_levels)
    finally:
        if cached:
            base.unpersist()
    return [fitted[i] for i in range(len(stages))]


def _level_dataset(base: DataFrame, stages: Sequence[Any], fitted: dict[int, Transformer],
                   levels: list[int], instant: frozenset[int], level: int,
                   upto: int) -> DataFrame:
    """The level's input: every stage before ``upto`` that is available at ``level``, in order."""
    df = base
    for i in range(upto):
        if levels[i] + _waits(stages[i], i, instant) <= level:
            df = fitted[i].transform(df)
    return df


def _fit_level(stages: Sequence[Any], df: DataFrame, todo: list[int],
               fitted: dict[int, Transformer], table: dict[type, Callable[[Any, DataFrame], Any]],
               guard: Guard, report: FitReport) -> tuple[list[int], frozenset[int]]:
    """Fit the level's covered estimators in shared rounds.

    Returns the stages to fit on their own, and (before any pass has run) the stages that
    fitted without any statistic, so that the planner can move their dependents up.
    """
    results: dict[tuple[str, int], Any] = {}
    alone: list[int] = []
    for round_ in range(MAX_ROUNDS):
        requests: list[_Request] = []
        quick: set[int] = set()
        for i in list(todo):
            stage = stages[i]
            provider = _Provider(stage.uid, results)
            token = feature_base.STATS_PROVIDER.set(provider)
            try:
                with guard(stage):
                    fitted[i] = table[type(stage)](stage, df)
                todo.remove(i)
                if provider.calls == 0:
                    quick.add(i)
            except _Pending:
                requests += provider.requests
            except _NotFusable as why:
                log.info("fused fit: %s not covered (%s)", type(stage).__name__, why)
                todo.remove(i)
                alone.append(i)
            finally:
                feature_base.STATS_PROVIDER.reset(token)
        if round_ == 0 and quick:
            return alone, frozenset(quick)
        if not todo:
            return alone, frozenset()
        try:
            found, passes = _execute(requests)
        except Exception as err:  # noqa: BLE001 - each stage's own fit reports it precisely
            text = str(err).strip()
            log.warning("fused fit: the shared pass failed (%s); fitting %d stage(s) on their own",
                        text.splitlines()[0] if text else type(err).__name__, len(todo))
            return alone + todo, frozenset()
        results.update(found)
        report.passes += passes
    log.warning("fused fit: %d stage(s) still asking after %d rounds", len(todo), MAX_ROUNDS)
    return alone + todo, frozenset()
