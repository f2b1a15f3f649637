"""The fused fit: a spec pipeline's estimators fitted level by level, each level in one shared pass.

A stage depends on an earlier stage when it reads a column that stage writes (or writes a column
that stage reads or writes, or either changes rows or drops columns). Estimators whose
dependencies are fitted form a *level*; every estimator of a level is fitted on the same
dataset, and the statistics they ask for are computed together (Deequ's scan sharing):

- every global aggregate (counts, sums, sums of squares, min/max, ``percentile_approx`` of many
  columns, MLlib ``Summarizer`` vectors) of the level in ONE ``agg`` job;
- every plain value count (string indexers, rare-label grouping, count/frequency and one-hot
  encoders, categorical imputers) in ONE exploded ``(column, value)`` aggregation;
- every aggregate per class of one label (the selectors' ANOVA F) in ONE grouped aggregation.

lakeprep's own estimators already ask for their statistics through
:func:`features.base.aggregate`, :func:`~features.base.aggregate_by` and
:func:`features.encoding.base.category_stats`; while a level is planned those three answer from
the shared passes (``features.base.STATS_PROVIDER``): a fit
that asks for a statistic not computed yet stops (``_Pending``), the level's requests run
together, and the fits run again with the answers, round after round until every fit is done
(a stage whose second statistic depends on its first, like the MAD, takes two rounds). MLlib's
estimators get fit functions here (``FUSED_FITS``) that compute the same statistics the same
way and build the usual Model classes through their JVM constructors, so the fitted result is a
plain ``PipelineModel``, saved and loaded as today. A stage this table does not cover (or whose
settings it does not, e.g. ``Imputer(strategy='mode')``) is fitted the normal way at its level
and named in the log.

A moment stage (standard, min-max, max-abs scaler, variance selector) reading an assembly of
columns that an imputer of the level fills does not wait for the next level: its statistics
follow in closed form from the raw columns' count, mean, variance and extremes in the
imputer's own pass and the fill value (:class:`_Derived`). Quantiles after a fill stay in the
next level. The input is cached for the fit only when several levels read it and it is costly
to recompute (:func:`costly_to_recompute`); it is released after.

>>> model = build_pipeline(spec, df).fit(df)  # doctest: +SKIP
>>> str(model.fit_report)  # doctest: +SKIP
'fit: 11 stages in 3 levels, 5 passes over the input, 12 Spark jobs (fused)'
"""

from __future__ import annotations

import fnmatch
import logging
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from pyspark.ml import Estimator, PipelineModel, Transformer
from pyspark.ml import feature as mllib
from pyspark.ml.common import _py2java
from pyspark.ml.linalg import DenseVector, Vector
from pyspark.ml.param import Params
from pyspark.ml.stat import Summarizer
from pyspark.ml.wrapper import JavaParams
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DataType,
    DoubleType,
    FloatType,
    IntegralType,
    NumericType,
    StringType,
    StructField,
    StructType,
)

from features import base as feature_base
from features.encoding import base as encoding_base
from features.errors import FeatureInputError
from lakeprep.frames import cache

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
    kind: str  # "aggregate", "grouped" (aggregate_by) or "categories"
    df: DataFrame
    args: tuple[Any, ...]


class _Provider:
    """Answers one stage's aggregate/aggregate_by/category_stats calls from the level's
    computed results."""

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

    def aggregate_by(self, df: DataFrame, key: str, exprs: dict[str, Any]) -> dict[Any, dict]:
        return dict(self._answer("grouped", df, (key, dict(exprs))))

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


def _jvector(df: DataFrame, values: Vector | Sequence[float] | np.ndarray) -> Any:
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
    model = _java_model(stage, df, "ImputerModel", surrogate._jdf)
    model._fused_surrogates = {c: float(values[c]) for c in cols}  # for _Derived, with no job
    return model


def _summary(df: DataFrame, stage: JavaParams, *metrics: str,
             column: str = "inputCol") -> dict[str, Any]:
    """MLlib's Summarizer over the vector column, the aggregate MLlib's scalers fit with: per
    metric an array of the slots. A column the level derives (:class:`_Derived`) is answered
    from its producers' input columns, in the same pass as the producers' own statistics."""
    name = stage.getOrDefault(column)
    derived = (_DERIVED.get() or {}).get(name)
    if derived is not None:
        return derived.summary(df)
    _check_schema(stage, df)
    s = feature_base.aggregate(
        df, {"s": Summarizer.metrics(*metrics).summary(F.col(name))})["s"]
    return {m: s[m].toArray() for m in metrics}


def _fit_standard_scaler(stage: Any, df: DataFrame) -> mllib.StandardScalerModel:
    """StandardScaler: Summarizer mean and (sample) std, as MLlib."""
    from features.transformation.scalers import require_finite
    s = _summary(df, stage, "mean", "std")
    name, column = type(stage).__name__, stage.getInputCol()
    require_finite(name, "mean", s["mean"], column)
    require_finite(name, "std", s["std"], column)
    return _java_model(stage, df, "StandardScalerModel", _jvector(df, s["std"]),
                       _jvector(df, s["mean"]))


def _fit_min_max_scaler(stage: Any, df: DataFrame) -> mllib.MinMaxScalerModel:
    """MinMaxScaler: Summarizer min and max, as MLlib."""
    from features.transformation.scalers import require_finite
    s = _summary(df, stage, "max", "min")
    name, column = type(stage).__name__, stage.getInputCol()
    low, high = s["min"], s["max"]
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
    max_abs = np.maximum(np.abs(s["min"]), np.abs(s["max"]))
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
    high, low, variance = (s[m] for m in ("max", "min", "variance"))
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


def _fit_vector_selector(stage: Estimator, df: DataFrame) -> Any:
    """lakeprep's ChiSqSelector / UnivariateFeatureSelector: their own fit (one test over the
    vector's slots), when the vector's size is in its ML attributes (else finding it is a job
    of its own, which every round would run again)."""
    column = stage.getOrDefault("featuresCol")
    if column in df.columns and "num_attrs" not in df.schema[column].metadata.get("ml_attr", {}):
        raise _NotFusable(f"no vector size in the ML attributes of {column!r}")
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
    from features.selection import ChiSqSelector, UnivariateFeatureSelector, UnivariateSelector
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
        ChiSqSelector: _fit_vector_selector,
        UnivariateFeatureSelector: _fit_vector_selector,
    }
    for own in (Winsorizer, OutlierTrimmer, EndTailImputer, CategoricalImputer, RareLabelEncoder,
                CountFrequencyEncoder, OneHotEncoder, OrdinalEncoder, TargetEncoder, WoEEncoder,
                EqualWidthDiscretiser, UnivariateSelector):
        table[own] = _own_fit
    return table


def _row_changing(stage: Params) -> bool:
    """Stages that drop rows or columns: every stage after them depends on them. (The vector
    selectors do neither: they add a sliced vector column.)"""
    from features.outliers import OutlierTrimmer
    from features.selection import ChiSqSelector, UnivariateFeatureSelector
    skips = stage.hasParam("handleInvalid") and stage.getOrDefault("handleInvalid") == "skip"
    return (skips or isinstance(stage, OutlierTrimmer)
            or (type(stage).__module__.startswith("features.selection")
                and not isinstance(stage, ChiSqSelector | UnivariateFeatureSelector)))


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


def _stage_columns(stages: Sequence[Any], io: IoColumns) -> list[tuple[set[str], set[str]]]:
    """Every stage's (reads, writes); row or column droppers read and write ``ALL``."""
    cols = []
    for s in stages:
        reads, writes = (set(c) for c in io(s))
        if s.hasParam("labelCol") and s.isDefined("labelCol"):  # a default label is read too
            reads.add(s.getOrDefault("labelCol"))
        if hasattr(s, "resolved_output_cols"):  # an in-place stage writes its inputs
            try:
                writes |= set(s.resolved_output_cols())
            except Exception:  # noqa: BLE001 - invalid params are reported by the fit itself
                pass
        if _row_changing(s):
            reads, writes = {ALL}, {ALL}
        cols.append((reads, writes))
    return cols


def plan_levels(stages: Sequence[Any], io: IoColumns,
                instant: frozenset[int] = frozenset(),
                pinned: Mapping[int, int] | None = None) -> list[int]:
    """The level of every stage: estimators of one level are fitted on one shared dataset.

    A stage's level is at least an earlier stage's *availability* (its level, plus one for an
    estimator, whose model exists only after its level) when it reads what that stage writes,
    or is applied at its level (a transformer) writing what that stage reads; at least its level
    when it is an estimator writing what that stage reads or writes. Row or column droppers
    touch ``ALL``. ``instant`` estimators (fitted with no statistic, e.g. a constant imputer or
    a one-hot encoder reading ML attributes) are available at their own level. ``pinned``
    estimators are fitted at the level given (their statistics are derived from that level's
    pass, see :func:`_derivations`).
    """
    cols = _stage_columns(stages, io)
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
        levels.append(pinned[i] if pinned and i in pinned else level)
    return levels


# ---------------------------------------------------------------- derived statistics

@dataclass(frozen=True)
class _Fill:
    """How a producer fills one output column: from which input column, which rows (true where
    it fills), and the fill value as the output column holds it."""

    source: str
    missing: Column
    value: Callable[[Transformer], float]


def _cast_like(dtype: DataType) -> Callable[[float], float] | None:
    """A fill value as a column of ``dtype`` holds it (Spark's cast from double), or None."""
    if isinstance(dtype, DoubleType):
        return float
    if isinstance(dtype, FloatType):
        return lambda v: float(np.float32(v))
    if isinstance(dtype, IntegralType):
        return lambda v: float(math.trunc(v))  # a double -> integer cast truncates
    return None  # decimals round by their scale: not derived


def _imputer_fill(stage: mllib.Imputer, output: str, schema: StructType) -> _Fill | None:
    """MLlib's ImputerModel: null and missingValue (NaN == NaN in Spark SQL) take the surrogate,
    cast to the input column's type. With a missingValue other than NaN a floating column keeps
    its NaN, which the fit skipped: not derived."""
    if stage.getStrategy() not in ("mean", "median") or stage.getRelativeError() <= 0:
        return None  # not fused (_fit_imputer): no fill value in the level's pass
    cols, outs = _in_out(stage)
    source = cols[outs.index(output)]
    if source not in schema.names:
        return None
    dtype, missing_value = schema[source].dataType, stage.getMissingValue()
    cast = _cast_like(dtype)
    if cast is None or (isinstance(dtype, FloatType | DoubleType) and
                        not math.isnan(missing_value)):
        return None
    x = F.col(source).cast("double")
    return _Fill(source, x.isNull() | (x == F.lit(missing_value)),
                 lambda model: cast(model._fused_surrogates[source]))  # type: ignore[attr-defined]


def _end_tail_fill(stage: Any, output: str, schema: StructType) -> _Fill | None:
    """lakeprep's EndTailImputer (features.imputation.base.fill_missing): null and NaN take the
    fitted value, cast to the column's type where it fits it (else the column becomes double)."""
    outs = stage.resolved_output_cols()
    source = stage.getInputCols()[outs.index(output)]
    if source not in schema.names:
        return None
    dtype = schema[source].dataType
    if _cast_like(dtype) is None:
        return None
    floating = isinstance(dtype, FloatType | DoubleType)

    def value(model: Any) -> float:
        fill = float(model.imputer_values_[source])
        return float(np.float32(fill)) if isinstance(dtype, FloatType) else fill

    return _Fill(source, F.col(source).isNull() | (F.isnan(F.col(source)) if floating
                                                  else F.lit(False)), value)


def _fill_rules() -> dict[type, Callable[[Any, str, StructType], _Fill | None]]:
    """Producers whose output a later stage's moments can be derived through, by class."""
    from features.imputation import EndTailImputer
    return {mllib.Imputer: _imputer_fill, EndTailImputer: _end_tail_fill}


def _moment_stages() -> dict[type, str]:
    """Estimators fitted from Summarizer moments/extremes of a vector column (its param)."""
    from features.transformation import MaxAbsScaler, MinMaxScaler, StandardScaler
    return {StandardScaler: "inputCol", MinMaxScaler: "inputCol", MaxAbsScaler: "inputCol",
            mllib.VarianceThresholdSelector: "featuresCol"}


@dataclass(frozen=True)
class _Slot:
    """One slot of an assembled vector: the level dataset's column it comes from, the rows
    filled by ``producer`` (a stage index; None: a plain column, whose missing rows the
    assembler refuses) and how."""

    column: str
    missing: Column
    producer: int | None = None
    fill: _Fill | None = None


@dataclass
class _Derived:
    """A VectorAssembler's output, not yet computable at the level, summarised from its inputs.

    Per slot the level's pass computes, over the rows the producer does NOT fill, the count n,
    mean, population variance (Spark's stable central moments) and min/max, plus the row count
    N; the k = N - n filled rows all hold the fill value m, known once the producer is fitted
    on the same pass. Two groups combine exactly (Chan et al.): mean' = mean + (m - mean) k / N,
    M2' = M2 + (m - mean)^2 n k / N, variance' = M2' / (N - 1) (0 for N <= 1, as MLlib's
    Summarizer), min' = min(min, m), max' = max(max, m).
    """

    assembler: str
    slots: list[_Slot]
    fitted: dict[int, Transformer]

    def summary(self, df: DataFrame) -> dict[str, np.ndarray]:
        exprs: dict[str, Any] = {"N": F.count(F.lit(1))}
        for k, slot in enumerate(self.slots):
            clean = F.when(slot.missing, None).otherwise(F.col(slot.column).cast("double"))
            exprs.update({f"{k}/n": F.count(clean), f"{k}/mean": F.avg(clean),
                          f"{k}/var": F.var_pop(clean), f"{k}/min": F.min(clean),
                          f"{k}/max": F.max(clean)})
        found = feature_base.aggregate(df, exprs)
        total = int(found["N"])
        stats = [self._slot(total, slot, *(found[f"{k}/{m}"] for m in
                                           ("n", "mean", "var", "min", "max")))
                 for k, slot in enumerate(self.slots)]
        mean, variance, low, high = (np.array([s[j] for s in stats], dtype=float)
                                     for j in range(4))
        return {"mean": mean, "variance": variance, "std": np.sqrt(variance), "min": low,
                "max": high}

    def _slot(self, total: int, slot: _Slot, n: int, mean: float | None, var: float | None,
              low: float | None, high: float | None) -> tuple[float, float, float, float]:
        filled = total - n
        m2 = (var or 0.0) * n
        if filled:
            if slot.fill is None or slot.producer is None:
                raise FeatureInputError(
                    f"{self.assembler}: column {slot.column!r} has {filled} null or NaN "
                    "value(s), which VectorAssembler refuses (handleInvalid='error'); impute the "
                    "column before assembling it")
            model = self.fitted.get(slot.producer)
            if model is None:
                raise _Pending(slot.producer)  # the producer fits later in this round
            fill = slot.fill.value(model)
            if n == 0:
                mean, m2, low, high = fill, 0.0, fill, fill
            else:
                assert mean is not None and low is not None and high is not None
                delta = fill - mean
                mean += delta * filled / total
                m2 += delta * delta * n * filled / total
                low, high = min(low, fill), max(high, fill)
        variance = max(m2 / (total - 1), 0.0) if total > 1 else 0.0
        nan = float("nan")
        return (nan if mean is None else mean, variance, nan if low is None else low,
                nan if high is None else high)


# the derived vector columns of the stage being fitted (set by _fit_level)
_DERIVED: ContextVar[Mapping[str, _Derived] | None] = ContextVar("lakeprep_fused_derived",
                                                                  default=None)


def _last_writer(cols: list[tuple[set[str], set[str]]], before: int, column: str) -> int | None:
    for j in range(before - 1, -1, -1):
        if _touches(cols[j][1], {column}):
            return j
    return None


def _assembled(stages: Sequence[Any], cols: list[tuple[set[str], set[str]]], levels: list[int],
               instant: frozenset[int], level: int, todo: Sequence[int], reader: int,
               column: str, schema: StructType) -> tuple[str, list[_Slot]] | None:
    """The slots of ``column`` as read by stage ``reader``, when it is a VectorAssembler's
    output packing numeric columns that this level's producers fill or the level's dataset
    holds; else None."""
    a = _last_writer(cols, reader, column)
    if a is None or type(stages[a]) is not mllib.VectorAssembler:
        return None
    assembler = stages[a]
    handle = assembler.getHandleInvalid()
    rules = _fill_rules()
    slots = []
    for c in assembler.getInputCols():
        w = _last_writer(cols, a, c)
        if w is not None and w in todo and type(stages[w]) in rules:
            fill = rules[type(stages[w])](stages[w], c, schema)
            if fill is None:
                return None
            slot, read_at = _Slot(fill.source, fill.missing, w, fill), w
        elif (handle == "error" and c in schema.names and
              (w is None or levels[w] + _waits(stages[w], w, instant) <= level)):
            dtype = schema[c].dataType
            if not isinstance(dtype, NumericType):
                return None  # vectors and booleans are not summarised here
            x = F.col(c)
            nan = F.isnan(x) if isinstance(dtype, FloatType | DoubleType) else F.lit(False)
            slot, read_at = _Slot(c, x.isNull() | nan), a
        else:
            return None
        # the level's dataset holds the column as the slot's reader saw it: nothing after
        # that reader (but an in-place producer itself) writes it
        if slot.column not in schema.names or any(
                _touches(cols[j][1], {slot.column})
                for j in range(read_at + 1, len(stages)) if j != slot.producer):
            return None
        slots.append(slot)
    if not any(s.producer is not None for s in slots):
        return None
    name = f"VectorAssembler {assembler.getOutputCol()!r}"
    return name, slots


def _derivations(stages: Sequence[Any], io: IoColumns, levels: list[int],
                 instant: frozenset[int], level: int, todo: Sequence[int],
                 dataset: Callable[[], DataFrame],
                 fitted: dict[int, Transformer]) -> dict[int, dict[str, _Derived]]:
    """Estimators of the next level whose statistics follow from this level's pass.

    A moment stage (StandardScaler, MinMaxScaler, MaxAbsScaler, VarianceThresholdSelector)
    reading an assembly of columns that this level's imputers fill waits for nothing but the
    fill values, which the same pass yields: it is fitted at this level (pinned), its
    statistics derived in closed form (:class:`_Derived`). Quantile-based stages are not:
    a quantile of the filled column is not exactly one of the raw column's.
    ``dataset()`` is the level's dataset (for column types; no job runs).
    """
    cols = _stage_columns(stages, io)
    moment = _moment_stages()
    found: dict[int, dict[str, _Derived]] = {}
    schema: StructType | None = None
    for i, stage in enumerate(stages):
        if levels[i] != level + 1 or type(stage) not in moment or i in fitted:
            continue
        column = stage.getOrDefault(moment[type(stage)])
        schema = schema or dataset().schema  # built and analysed once, if at all
        assembled = _assembled(stages, cols, levels, instant, level, todo, i, column, schema)
        if assembled is None:
            continue
        producers = frozenset(s.producer for s in assembled[1] if s.producer is not None)
        # with its producers' models instant, nothing else keeps the stage from this level
        if plan_levels(stages, io, instant | producers)[i] != level:
            continue
        found[i] = {column: _Derived(assembled[0], assembled[1], fitted)}
    return found


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
    """Run a round's requests: per dataset ONE job for every global aggregate, ONE shuffle
    for every plain value count (an exploded (column, value) aggregation) and ONE grouped
    aggregation per grouping column (e.g. every ANOVA against one label).

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
        grouped: dict[tuple[int, str], list[_Request]] = {}
        for r in requests:
            if r.kind == "grouped":
                grouped.setdefault((id(r.df), r.args[0]), []).append(r)
            elif r.kind == "aggregate" or (r.args[1] is None and r.args[2] is None):
                shared.setdefault(id(r.df), []).append(r)
            else:  # with a label or folds: its own aggregation
                passes += 1
                results[r.key] = encoding_base.category_stats(r.df, *r.args)
        for (_, key), group in grouped.items():
            passes += 1
            found = feature_base.aggregate_by(
                group[0].df, key, {f"{j}/{name}": e for j, r in enumerate(group)
                                   for name, e in r.args[1].items()})
            for j, r in enumerate(group):
                results[r.key] = {k: {name: row[f"{j}/{name}"] for name in r.args[1]}
                                  for k, row in found.items()}
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
    pinned: dict[int, int] = {}  # moment stages fitted a level early (_derivations)
    done_levels: set[int] = set()
    planned = {lv for i, lv in enumerate(plan_levels(stages, io)) if i in estimators}
    cached = len(planned) > 1 and not dataset.is_cached and costly_to_recompute(dataset)
    base = cache(dataset) if cached else dataset
    try:
        while remaining := [i for i in estimators if i not in fitted]:
            pinned = {i: lv for i, lv in pinned.items() if i in fitted}
            levels = plan_levels(stages, io, instant, pinned)
            level = min(levels[i] for i in remaining)
            todo = [i for i in remaining if levels[i] == level]
            whole = partial(_level_dataset, base, stages, fitted, levels, instant, level,
                            len(stages))  # built only if a stage may be derived
            derived = _derivations(stages, io, levels, instant, level, todo, whole, fitted)
            if derived:
                for i in derived:
                    log.info("fused fit: %s is fitted at level %d, its statistics derived from "
                             "its producers' pass", name(stages[i]), level)
                pinned.update({i: level for i in derived})
                levels = plan_levels(stages, io, instant, pinned)
                todo = [i for i in remaining if levels[i] == level]
            done_levels.add(level)
            df = _level_dataset(base, stages, fitted, levels, instant, level, upto=max(todo))
            fused = [i for i in todo if type(stages[i]) in table]
            alone, quick = _fit_level(stages, df, fused, fitted, table, guard, report, derived)
            if quick:  # fitted without statistics: their dependents may join this level,
                instant |= quick  # so plan again (no pass has run; the rest is asked again)
                continue
            alone += [i for i in todo if type(stages[i]) not in table]
            for i in sorted(alone):
                if i in derived:  # its input exists only at the next level: fitted there
                    pinned.pop(i)
                    continue
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


# Plan nodes that re-read cheaply: a file or table scan (column-pruned to what a level reads),
# local rows, a cached relation, and row-wise projections and filters over them.
CHEAP_NODES = frozenset({"LogicalRelation", "HiveTableRelation", "DataSourceV2Relation",
                         "LocalRelation", "InMemoryRelation", "Range", "Project", "Filter",
                         "SubqueryAlias", "LocalLimit", "GlobalLimit", "Sample"})


def costly_to_recompute(df: DataFrame) -> bool:
    """True when ``df``'s plan does more than scan, project and filter (a join, an aggregation,
    a window, a Python UDF, a Python RDD...): worth caching when several levels read it.

    A plain scan is not: each level's pass reads only the columns it needs (bench_fit's second
    level reads 2 of 12 columns), while a cache first materialises every column of every row.
    Measured at 200k rows, bench_fit's workload fitted in one session, alternating, best of 3:
    7.5 s reading the Parquet input again, 10.3 s caching it; bench/bench_fit.py at 1M rows
    (``spec fused`` vs ``spec fused cached``): fit 11.2 s vs 14.5 s (a shared machine).
    No job runs: the optimized logical plan is walked in the JVM.
    """
    stack = [df._jdf.queryExecution().optimizedPlan()]
    while stack:
        node = stack.pop()
        if node.nodeName() not in CHEAP_NODES:
            return True
        children = node.children()
        stack += [children.apply(k) for k in range(children.size())]
    return False


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
               guard: Guard, report: FitReport,
               derived: Mapping[int, Mapping[str, _Derived]]) -> tuple[list[int], frozenset[int]]:
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
            derived_token = _DERIVED.set(derived.get(i, {}))
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
                _DERIVED.reset(derived_token)
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
