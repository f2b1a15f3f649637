"""Derived statistics: a moment stage fitted in the same pass as the imputers it reads after.

A moment stage (standard, min-max, max-abs scaler, variance selector) reading an assembly of
columns that an imputer of the level fills does not wait for the next level: its statistics
follow in closed form from the raw columns' count, mean, variance and extremes in the
imputer's own pass and the fill value (:class:`DerivedMoments`). Quantiles after a fill stay in
the next level.

>>> from pyspark.sql.types import DoubleType
>>> cast_like(DoubleType())(2.5)
2.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyspark.ml import Transformer
from pyspark.ml import feature as mllib
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DataType,
    DoubleType,
    FloatType,
    IntegralType,
    NumericType,
    StructType,
)

from features import base as feature_base
from features.errors import FeatureInputError
from features.fused.executor import Pending
from features.fused.planner import (
    Columns,
    IoColumns,
    in_out_columns,
    last_writer,
    plan_levels,
    stage_columns,
    touches,
    waits_for_its_level,
)


@dataclass(frozen=True)
class Fill:
    """How a producer fills one output column: from which input column, which rows (true where
    it fills), and the fill value as the output column holds it."""

    source: str
    missing: Column
    value: Callable[[Transformer], float]


def cast_like(dtype: DataType) -> Callable[[float], float] | None:
    """A fill value as a column of ``dtype`` holds it (Spark's cast from double), or None."""
    if isinstance(dtype, DoubleType):
        return float
    if isinstance(dtype, FloatType):
        return lambda v: float(np.float32(v))
    if isinstance(dtype, IntegralType):
        return lambda v: float(math.trunc(v))  # a double -> integer cast truncates
    return None  # decimals round by their scale: not derived


def imputer_fill(stage: mllib.Imputer, output: str, schema: StructType) -> Fill | None:
    """MLlib's ImputerModel: null and missingValue (NaN == NaN in Spark SQL) take the surrogate,
    cast to the input column's type. With a missingValue other than NaN a floating column keeps
    its NaN, which the fit skipped: not derived."""
    if stage.getStrategy() not in ("mean", "median") or stage.getRelativeError() <= 0:
        return None  # not fused (_fit_imputer): no fill value in the level's pass
    cols, outs = in_out_columns(stage)
    source = cols[outs.index(output)]
    if source not in schema.names:
        return None
    dtype, missing_value = schema[source].dataType, stage.getMissingValue()
    cast = cast_like(dtype)
    if cast is None or (isinstance(dtype, FloatType | DoubleType) and
                        not math.isnan(missing_value)):
        return None
    x = F.col(source).cast("double")
    return Fill(source, x.isNull() | (x == F.lit(missing_value)),
                 lambda model: cast(model._fused_surrogates[source]))  # type: ignore[attr-defined]


def end_tail_fill(stage: Any, output: str, schema: StructType) -> Fill | None:
    """lakeprep's EndTailImputer (features.imputation.base.fill_missing): null and NaN take the
    fitted value, cast to the column's type where it fits it (else the column becomes double)."""
    outs = stage.resolved_output_cols()
    source = stage.getInputCols()[outs.index(output)]
    if source not in schema.names:
        return None
    dtype = schema[source].dataType
    if cast_like(dtype) is None:
        return None
    floating = isinstance(dtype, FloatType | DoubleType)

    def value(model: Any) -> float:
        fill = float(model.imputer_values_[source])
        return float(np.float32(fill)) if isinstance(dtype, FloatType) else fill

    return Fill(source, F.col(source).isNull() | (F.isnan(F.col(source)) if floating
                                                  else F.lit(False)), value)


def fill_rules() -> dict[type, Callable[[Any, str, StructType], Fill | None]]:
    """Producers whose output a later stage's moments can be derived through, by class."""
    from features.imputation import EndTailImputer
    return {mllib.Imputer: imputer_fill, EndTailImputer: end_tail_fill}


def moment_stages() -> dict[type, str]:
    """Estimators fitted from Summarizer moments/extremes of a vector column (its param)."""
    from features.transformation import MaxAbsScaler, MinMaxScaler, StandardScaler
    return {StandardScaler: "inputCol", MinMaxScaler: "inputCol", MaxAbsScaler: "inputCol",
            mllib.VarianceThresholdSelector: "featuresCol"}


@dataclass(frozen=True)
class Slot:
    """One slot of an assembled vector: the level dataset's column it comes from, the rows
    filled by ``producer`` (a stage index; None: a plain column, whose missing rows the
    assembler refuses) and how."""

    column: str
    missing: Column
    producer: int | None = None
    fill: Fill | None = None


@dataclass
class DerivedMoments:
    """A VectorAssembler's output, not yet computable at the level, summarised from its inputs.

    Per slot the level's pass computes, over the rows the producer does NOT fill, the count n,
    mean, population variance (Spark's stable central moments) and min/max, plus the row count
    N; the k = N - n filled rows all hold the fill value m, known once the producer is fitted
    on the same pass. Two groups combine exactly (Chan et al.): mean' = mean + (m - mean) k / N,
    M2' = M2 + (m - mean)^2 n k / N, variance' = M2' / (N - 1) (0 for N <= 1, as MLlib's
    Summarizer), min' = min(min, m), max' = max(max, m).
    """

    assembler: str
    slots: list[Slot]
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

    def _slot(self, total: int, slot: Slot, n: int, mean: float | None, var: float | None,
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
                raise Pending(slot.producer)  # the producer fits later in this round
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


# the derived vector columns of the stage being fitted (set by the driver's fit_level)
DERIVED: ContextVar[Mapping[str, DerivedMoments] | None] = ContextVar(
    "lakeprep_fused_derived", default=None)


def assembled_slots(stages: Sequence[Any], cols: Columns, levels: list[int],
                    fitted_without_pass: frozenset[int], level: int,
                    level_stages: Sequence[int], reader: int, column: str,
                    schema: StructType) -> tuple[str, list[Slot]] | None:
    """The slots of ``column`` as read by stage ``reader``, when it is a VectorAssembler's
    output packing numeric columns that this level's producers fill or the level's dataset
    holds; else None."""
    a = last_writer(cols, reader, column)
    if a is None or type(stages[a]) is not mllib.VectorAssembler:
        return None
    assembler = stages[a]
    handle = assembler.getHandleInvalid()
    rules = fill_rules()
    slots = []
    for c in assembler.getInputCols():
        w = last_writer(cols, a, c)
        if w is not None and w in level_stages and type(stages[w]) in rules:
            fill = rules[type(stages[w])](stages[w], c, schema)
            if fill is None:
                return None
            slot, read_at = Slot(fill.source, fill.missing, w, fill), w
        elif (handle == "error" and c in schema.names and
              (w is None
               or levels[w] + waits_for_its_level(stages[w], w, fitted_without_pass) <= level)):
            dtype = schema[c].dataType
            if not isinstance(dtype, NumericType):
                return None  # vectors and booleans are not summarised here
            x = F.col(c)
            nan = F.isnan(x) if isinstance(dtype, FloatType | DoubleType) else F.lit(False)
            slot, read_at = Slot(c, x.isNull() | nan), a
        else:
            return None
        # the level's dataset holds the column as the slot's reader saw it: nothing after
        # that reader (but an in-place producer itself) writes it
        if slot.column not in schema.names or any(
                touches(cols[j][1], {slot.column})
                for j in range(read_at + 1, len(stages)) if j != slot.producer):
            return None
        slots.append(slot)
    if not any(s.producer is not None for s in slots):
        return None
    name = f"VectorAssembler {assembler.getOutputCol()!r}"
    return name, slots


def derivations(stages: Sequence[Any], io: IoColumns, levels: list[int],
                fitted_without_pass: frozenset[int], level: int, level_stages: Sequence[int],
                dataset: Callable[[], DataFrame],
                fitted: dict[int, Transformer]) -> dict[int, dict[str, DerivedMoments]]:
    """Estimators of the next level whose statistics follow from this level's pass.

    A moment stage (StandardScaler, MinMaxScaler, MaxAbsScaler, VarianceThresholdSelector)
    reading an assembly of columns that this level's imputers fill waits for nothing but the
    fill values, which the same pass yields: it is fitted at this level (its level fixed), its
    statistics derived in closed form (:class:`DerivedMoments`). Quantile-based stages are not:
    a quantile of the filled column is not exactly one of the raw column's.
    ``dataset()`` is the level's dataset (for column types; no job runs).
    """
    cols = stage_columns(stages, io)
    moment = moment_stages()
    found: dict[int, dict[str, DerivedMoments]] = {}
    schema: StructType | None = None
    for i, stage in enumerate(stages):
        if levels[i] != level + 1 or type(stage) not in moment or i in fitted:
            continue
        column = stage.getOrDefault(moment[type(stage)])
        schema = schema or dataset().schema  # built and analysed once, if at all
        assembled = assembled_slots(stages, cols, levels, fitted_without_pass, level,
                                    level_stages, i, column, schema)
        if assembled is None:
            continue
        producers = frozenset(s.producer for s in assembled[1] if s.producer is not None)
        # with its producers' models counted as fitted without a pass, nothing else keeps the
        # stage from this level
        if plan_levels(stages, io, fitted_without_pass | producers)[i] != level:
            continue
        found[i] = {column: DerivedMoments(assembled[0], assembled[1], fitted)}
    return found


