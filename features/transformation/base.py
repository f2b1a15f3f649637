"""Shared logic of the transformation family: column params, value masks, one-job statistics.

Policy shared by every numeric stage of the family (each stage's docstring repeats what applies):
fit statistics ignore null, NaN and +-inf; at transform time null stays null and NaN stays NaN.

>>> from features.transformation.base import finite
>>> finite("amount")  # doctest: +SKIP
Column<'...'>
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols, HasOutputCols
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.errors import FeatureInputError, FeatureSpecError

log = logging.getLogger(__name__)

HANDLE_INVALID = ("error", "null")


def fitted_param(name: str, doc: str) -> Param:
    """A Param that holds a fitted value (JSON-serialisable), so that models persist with no files.

    >>> leftTailCaps = fitted_param("leftTailCaps", "lower cap per column")
    """
    return Param(Params._dummy(), name, doc, typeConverter=TypeConverters.identity)


def check_choice(stage: str, name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise a FeatureSpecError unless ``value`` is one of ``allowed``.

    >>> check_choice("Winsorizer", "tail", "both", ("left", "right", "both"))
    """
    allowed = tuple(allowed)
    if value not in allowed:
        raise FeatureSpecError(f"{stage}: {name} must be one of {list(allowed)}, got {value!r}")


class HasInOutCols(HasInputCols, HasOutputCols):
    """inputCols plus optional outputCols; without outputCols a stage replaces its inputs in place.

    >>> Winsorizer(inputCols=["amount"]).resolved_output_cols()  # doctest: +SKIP
    ['amount']
    """

    def resolved_output_cols(self) -> list[str]:
        """outputCols when set (same length as inputCols), else the inputCols themselves."""
        stage = type(self).__name__
        if not self.isDefined(self.inputCols):
            raise FeatureSpecError(f"{stage}: inputCols is required")
        inputs = self.getInputCols()
        outputs = self.getOutputCols() if self.isDefined(self.outputCols) else list(inputs)
        if len(outputs) != len(inputs):
            raise FeatureSpecError(
                f"{stage}: outputCols has {len(outputs)} names for {len(inputs)} inputCols; "
                "give one output per input or leave outputCols unset to replace the inputs"
            )
        return list(outputs)

    def check_outputs(self, df: DataFrame) -> None:
        """Raise if an output column would overwrite a column other than its own input."""
        stage = type(self).__name__
        clash = [o for i, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True)
                 if o != i and o in df.columns]
        if clash:
            raise FeatureInputError(
                f"{stage}: output column(s) {clash} already exist; choose other outputCols"
            )


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
    if relative_error < 0 or relative_error >= 1:
        raise FeatureSpecError(f"relativeError must be in [0, 1), got {relative_error}")
    if relative_error == 0:
        return F.percentile(column, [float(p) for p in probs])
    return F.percentile_approx(column, [float(p) for p in probs], int(round(1 / relative_error)))


def aggregate(df: DataFrame, exprs: Mapping[str, Column]) -> dict[str, Any]:
    """Evaluate named aggregate expressions in ONE Spark job and return the single row as a dict.

    >>> aggregate(df, {"n": F.count("*")})  # doctest: +SKIP
    {'n': 42}
    """
    names = list(exprs)
    aliases = [f"_a{i}" for i in range(len(names))]
    row = df.agg(*[exprs[n].alias(a) for n, a in zip(names, aliases, strict=True)]).first()
    return {n: row[a] for n, a in zip(names, aliases, strict=True)}


def invalid_value(policy: str, stage: str, column: str, what: str, value: Column) -> Column:
    """The value to emit for an invalid input: a runtime error naming stage/column, or null."""
    if policy == "null":
        return F.lit(None)
    return F.raise_error(F.concat(
        F.lit(f"{stage}: column '{column}' has value "), value.cast("string"),
        F.lit(f" where {what}; fix the input or set handleInvalid='null'"),
    ))
