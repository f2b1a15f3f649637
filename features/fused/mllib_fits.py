"""Fit functions for MLlib's estimators: the statistics MLlib's own fit computes, asked for the
way lakeprep's estimators ask (so a level answers them from its shared passes), and the usual
Model built through its JVM constructor: the fitted result is a plain ``PipelineModel``, saved
and loaded as MLlib's. A stage this table does not cover (or whose settings it does not, e.g.
``Imputer(strategy='mode')``) raises :class:`NotFusable` and is fitted the normal way.

>>> from pyspark.ml.feature import QuantileDiscretizer
>>> QuantileDiscretizer in fused_fits()
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pyspark.ml import Estimator
from pyspark.ml import feature as mllib
from pyspark.ml.common import _py2java
from pyspark.ml.linalg import DenseVector, Vector
from pyspark.ml.stat import Summarizer
from pyspark.ml.wrapper import JavaParams
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

from features import base as feature_base
from features.encoding import base as encoding_base
from features.errors import FeatureInputError
from features.fused.derived import DERIVED
from features.fused.planner import in_out_columns
from features.jvm import int_array, mllib_model, string_arrays


class NotFusable(Exception):
    """The stage's settings are not covered by the fused fit: fit it the normal way."""


def _check_schema(stage: JavaParams, df: DataFrame) -> None:
    """MLlib's own input checks (column types, params), as its fit runs them first."""
    stage._transfer_params_to_java()
    assert stage._java_obj is not None
    stage._java_obj.transformSchema(df._jdf.schema())


def _java_model(stage: Any, df: DataFrame, name: str, *args: Any) -> Any:
    """The estimator's Model built through its JVM constructor, with the estimator's params."""
    return mllib_model(df.sparkSession.sparkContext, name, stage, *args)


def _jvector(df: DataFrame, values: Vector | Sequence[float] | np.ndarray) -> Any:
    vector = values if isinstance(values, Vector) else DenseVector(list(values))
    return _py2java(df.sparkSession.sparkContext, vector).compressed()


def _fit_imputer(stage: mllib.Imputer, df: DataFrame) -> mllib.ImputerModel:
    """Imputer (mean, median): as MLlib, missingValue and NaN are null, median is approximate."""
    strategy, rel = stage.getStrategy(), stage.getRelativeError()
    if strategy not in ("mean", "median") or rel <= 0:
        raise NotFusable(f"strategy {strategy!r}, relativeError {rel}")
    _check_schema(stage, df)
    cols, _ = in_out_columns(stage)
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
    # read by DerivedMoments without a job
    model._fused_surrogates = {c: float(values[c]) for c in cols}
    return model


def _summary(df: DataFrame, stage: JavaParams, *metrics: str,
             column: str = "inputCol") -> dict[str, Any]:
    """MLlib's Summarizer over the vector column, the aggregate MLlib's scalers fit with: per
    metric an array of the slots. A column the level derives
    (:class:`~features.fused.derived.DerivedMoments`) is answered from its producers' input
    columns, in the same pass as the producers' own statistics."""
    name = stage.getOrDefault(column)
    derived = (DERIVED.get() or {}).get(name)
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
        raise NotFusable(f"no vector size in the ML attributes of {column!r}")
    _check_schema(stage, df)
    probs = [stage.getLower(), 0.5, stage.getUpper()]
    values = vector_to_array(F.col(column))
    found = feature_base.aggregate(df, {str(i): F.percentile_approx(
        F.when(~F.isnan(values[i]), values[i]), probs, int(round(1 / rel))) for i in range(size)})
    if any(found[str(i)] is None for i in range(size)):
        raise NotFusable("a slot without values (MLlib's own fit reports it)")
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
    indices = int_array(df.sparkSession.sparkContext, selected)
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
        raise NotFusable(f"relativeError {rel}")
    _check_schema(stage, df)
    cols, outs = in_out_columns(stage)
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
    cols, outs = in_out_columns(stage)
    if any(not isinstance(df.schema[c].dataType, StringType) for c in cols if c in df.columns):
        raise NotFusable("a non-string input column (MLlib casts it; NaN would be a label)")
    _check_schema(stage, df)
    stats = encoding_base.category_stats(df, cols)
    labels = [LABEL_ORDERS[stage.getStringOrderType()](stats[c]) for c in cols]
    # a jagged String[][] (pyspark's from_arrays_of_labels pads short label lists with nulls)
    labels_array = string_arrays(df.sparkSession.sparkContext, labels)
    return _java_model(stage, df, "StringIndexerModel", labels_array)


def _fit_from_attributes(stage: Estimator, df: DataFrame) -> Any:
    """MLlib's own fit where the input's ML attributes carry the category counts (no pass)."""
    cols, _ = in_out_columns(stage)
    for c in cols:
        attr = df.schema[c].metadata.get("ml_attr", {}) if c in df.columns else {}
        if not (attr.get("type") == "binary" or
                (attr.get("type") == "nominal" and ("vals" in attr or "num_vals" in attr))):
            raise NotFusable(f"column {c!r} carries no category count in its ML attributes")
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
        raise NotFusable(f"no vector size in the ML attributes of {column!r}")
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
