"""Shared logic of the stages: param rules and checks, value masks, one-job statistics.

Policy shared by every numeric stage (each stage's docstring repeats what applies): fit
statistics ignore null, NaN and +-inf; at transform time null stays null and NaN stays NaN.
Shared Params are declared in :mod:`features.params`, persistence is :mod:`features.persistence`.

>>> from features.base import finite
>>> xs = spark.createDataFrame([(1.0,), (float("nan"),), (None,), (float("inf"),)], "x double")
>>> xs.where(finite("x")).count()
1
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from pyspark.ml.param import Params
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.errors import FeatureSpecError

log = logging.getLogger(f"lakeprep.{__name__}")

# Set by features.fused while it fits a pipeline level: it answers aggregate, aggregate_by and
# category_stats requests of every stage of the level from shared passes, not one per stage.
STATS_PROVIDER: ContextVar[Any] = ContextVar("lakeprep_stats_provider", default=None)


def check_choice(stage: str, name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise a FeatureSpecError unless ``value`` is one of ``allowed``.

    >>> check_choice("Winsorizer", "tail", "both", ("left", "right", "both"))
    """
    allowed = tuple(allowed)
    if value not in allowed:
        raise FeatureSpecError(f"{stage}: {name} must be one of {list(allowed)}, got {value!r}")


def check_range(stage: str, name: str, value: Any, low: float | None = None,
                high: float | None = None, low_open: bool = False, high_open: bool = False) -> None:
    """Raise a FeatureSpecError unless ``low <= value <= high`` (``<`` where open; None: no limit).

    >>> check_range("Winsorizer", "fold", -1.0, low=0.0, low_open=True)
    Traceback (most recent call last):
    features.errors.FeatureSpecError: Winsorizer: fold must be in (0.0, inf), got -1.0
    """
    lo = -math.inf if low is None else low
    hi = math.inf if high is None else high
    ok = (isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
          and (lo < value if low_open or low is None else lo <= value)
          and (value < hi if high_open or high is None else value <= hi))
    if not ok:
        interval = (f"{'(' if low_open or low is None else '['}{lo}, "
                    f"{hi}{')' if high_open or high is None else ']'}")
        raise FeatureSpecError(f"{stage}: {name} must be in {interval}, got {value!r}")


@dataclass(frozen=True)
class OneOf:
    """Rule: the value is one of ``values`` (``each``: every item of a list value is)."""

    values: tuple[Any, ...]
    each: bool = False

    def check(self, stage: str, name: str, value: Any) -> None:
        for v in (value if self.each else [value]):
            check_choice(stage, name, v, self.values)

    def __str__(self) -> str:
        return f"{'each ' if self.each else ''}one of {', '.join(map(str, self.values))}"


@dataclass(frozen=True)
class InRange:
    """Rule: ``low <= value <= high`` (``<`` where open; None: no limit)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    each: bool = False

    def check(self, stage: str, name: str, value: Any) -> None:
        for v in (value if self.each else [value]):
            check_range(stage, name, v, self.low, self.high, self.low_open, self.high_open)

    def __str__(self) -> str:
        lo = "-inf" if self.low is None else self.low
        hi = "inf" if self.high is None else self.high
        return (f"{'each in ' if self.each else ''}"
                f"{'(' if self.low_open or self.low is None else '['}{lo}, "
                f"{hi}{')' if self.high_open or self.high is None else ']'}")


Rule = OneOf | InRange  # what a stage's PARAM_RULES maps each param name to


def merged_over_mro(cls: type, attribute: str) -> dict[str, Any]:
    """A dict class attribute merged over the class and its bases (a subclass's entry wins)."""
    merged: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        merged.update(base.__dict__.get(attribute, {}))
    return merged


def param_rules(cls: type) -> dict[str, OneOf | InRange]:
    """The ``PARAM_RULES`` of a stage class and its bases (a subclass's rule wins)."""
    return merged_over_mro(cls, "PARAM_RULES")


def param_notes(cls: type) -> dict[str, str]:
    """The ``PARAM_NOTES`` of a stage class and its bases: what a shared Param (declared once in
    :mod:`features.params` or pyspark) means for this stage, shown in its op reference."""
    return merged_over_mro(cls, "PARAM_NOTES")


def check_params(stage: Params) -> None:
    """Check a stage's param values against its ``PARAM_RULES``, then its own cross-param hook.

    Called by ``features.spec.build_pipeline`` for every step (before any Spark job) and by
    each stage's ``_fit``/``_transform`` (for stages built in code). Raises FeatureSpecError
    naming the stage, the param, the value and the valid range.

    >>> from features.outliers import Winsorizer
    >>> check_params(Winsorizer(inputCols=["a"], fold=-1.0))
    Traceback (most recent call last):
    features.errors.FeatureSpecError: Winsorizer: fold must be in (0.0, inf), got -1.0
    """
    name = type(stage).__name__
    for param, rule in param_rules(type(stage)).items():
        if stage.hasParam(param) and stage.isDefined(param):
            value = stage.getOrDefault(param)
            if value is not None:
                rule.check(name, param, value)
    hook = getattr(stage, "validate_params", None)
    if callable(hook):
        hook()


def is_nan(column: Column | str) -> Column:
    """True where the value is NaN (false for null and for non-floating values)."""
    col = F.col(column) if isinstance(column, str) else column
    return F.isnan(col.cast("double"))


def finite(column: Column | str) -> Column:
    """True where the value is neither null, NaN nor +-inf."""
    col = (F.col(column) if isinstance(column, str) else column).cast("double")
    return col.isNotNull() & ~F.isnan(col) & (F.abs(col) != float("inf"))


def finite_value(column: str) -> Column:
    """The column as double where it is finite, else null: what fit statistics aggregate over."""
    return F.when(finite(column), F.col(column).cast("double"))


def quantiles(column: Column, probs: list[float], relative_error: float) -> Column:
    """Aggregate: the ``probs`` quantiles, exact (linear interpolation) when relative_error is 0.

    Exact quantiles (Spark ``percentile``) match numpy/pandas' default; approximate ones use
    ``percentile_approx`` with accuracy ``1 / relative_error`` and return observed values.
    """
    check_range("quantiles", "relativeError", relative_error, low=0.0, high=1.0, high_open=True)
    if relative_error == 0:
        return F.percentile(column, [float(p) for p in probs])
    return F.percentile_approx(column, [float(p) for p in probs], int(round(1 / relative_error)))


def aggregate(df: DataFrame, exprs: Mapping[str, Column]) -> dict[str, Any]:
    """Evaluate named aggregate expressions in ONE Spark job and return the single row as a dict.

    >>> aggregate(spark.range(42), {"n": F.count("*"), "top": F.max("id")})
    {'n': 42, 'top': 41}
    """
    provider = STATS_PROVIDER.get()
    if provider is not None:
        return dict(provider.aggregate(df, exprs))
    names = list(exprs)
    aliases = [f"_a{i}" for i in range(len(names))]
    row = df.agg(*[exprs[n].alias(a) for n, a in zip(names, aliases, strict=True)]).first()
    assert row is not None  # an aggregation without groupBy always returns one row
    return {n: row[a] for n, a in zip(names, aliases, strict=True)}


def aggregate_by(df: DataFrame, key: str, exprs: Mapping[str, Column]) -> dict[Any, dict[str, Any]]:
    """Evaluate named aggregate expressions per value of column ``key`` in ONE Spark job.

    Returns ``{key value: {name: value}}``; a null key is a group of its own (``None``). Only
    the groups reach the driver: ``key`` is a label or a class, never a row id.

    >>> df = spark.createDataFrame([(1, 0), (2, 1), (3, 1)], ["x", "label"])
    >>> sorted(aggregate_by(df, "label", {"n": F.count("*"), "x": F.sum("x")}).items())
    [(0, {'n': 1, 'x': 1}), (1, {'n': 2, 'x': 5})]
    """
    provider = STATS_PROVIDER.get()
    if provider is not None:
        return dict(provider.aggregate_by(df, key, exprs))
    names = list(exprs)
    aliases = [f"_a{i}" for i in range(len(names))]
    rows = df.groupBy(F.col(key).alias("_key")).agg(
        *[exprs[n].alias(a) for n, a in zip(names, aliases, strict=True)]).collect()
    return {r["_key"]: {n: r[a] for n, a in zip(names, aliases, strict=True)} for r in rows}


def out_of_domain_value(policy: str, stage: str, column: str, what: str, value: Column) -> Column:
    """The output for a value outside a transform's domain under ``handleOutOfDomain``: a
    runtime error naming stage, column and value, or null."""
    if policy == "null":
        return F.lit(None)
    return F.raise_error(F.concat(
        F.lit(f"{stage}: column '{column}' has value "), value.cast("string"),
        F.lit(f" where {what}; fix the input or set handleOutOfDomain='null'"),
    ))
