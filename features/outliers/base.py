"""Shared logic of the outlier stages: the Params and the one-job fit of the tail bounds.

Bounds per column, learnt from finite values only (null, NaN and +-inf are ignored):

- ``gaussian``: mean -/+ fold * std (population std, ddof=0, as feature-engine);
- ``iqr``: q25 - fold * IQR and q75 + fold * IQR;
- ``quantiles``: the ``fold`` and ``1 - fold`` quantiles (fold <= 0.2);
- ``mad``: median -/+ fold * MAD / 0.6744897501960817 (a second job for the median of
  deviations; feature-engine rounds the constant to 0.67449).

Statistics and bounds come from :mod:`features.tails` (shared with the end-of-tail imputer),
which rejects columns without finite values and statistics that overflow.

Quantiles are exact when ``relativeError`` is 0 (Spark ``percentile``, linear interpolation like
numpy) and approximate otherwise (``percentile_approx``, which returns observed values).

>>> from features.outliers import Winsorizer
>>> Winsorizer(inputCols=["amount"], cappingMethod="iqr", tail="both",
...            fold=1.5).fit_bounds(df)  # doctest: +SKIP
({'amount': -3.5}, {'amount': 12.5})
"""

from __future__ import annotations

import logging

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame

from features.base import (
    HasInOutCols,
    InRange,
    OneOf,
    Rule,
    check_params,
    check_range,
    fitted_param,
)
from features.checks import require_numeric
from features.tails import tail_bounds, tail_statistics

log = logging.getLogger(f"lakeprep.{__name__}")

METHODS = ("gaussian", "iqr", "quantiles", "mad")
TAILS = ("right", "left", "both")


class _OutlierParams(HasInOutCols):
    """Params shared by Winsorizer, OutlierTrimmer and their models."""

    cappingMethod = Param(Params._dummy(), "cappingMethod",
                          f"how to find the bounds: one of {METHODS}",
                          typeConverter=TypeConverters.toString)
    tail = Param(Params._dummy(), "tail", f"which tails to cap: one of {TAILS}",
                 typeConverter=TypeConverters.toString)
    fold = Param(Params._dummy(), "fold",
                 "multiplier of std/IQR/MAD, or the quantile for cappingMethod='quantiles'",
                 typeConverter=TypeConverters.toFloat)
    relativeError = Param(Params._dummy(), "relativeError",
                          "quantile relative error; 0 computes exact quantiles",
                          typeConverter=TypeConverters.toFloat)
    leftTailCaps = fitted_param("leftTailCaps", "fitted lower bound per column (fitted)")
    rightTailCaps = fitted_param("rightTailCaps", "fitted upper bound per column (fitted)")

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(cappingMethod="gaussian", tail="right", fold=3.0, relativeError=0.001,
                         leftTailCaps={}, rightTailCaps={})

    @property
    def left_tail_caps_(self) -> dict[str, float]:
        """Fitted lower bound per column (empty when only the right tail is capped)."""
        return dict(self.getOrDefault(self.leftTailCaps))

    @property
    def right_tail_caps_(self) -> dict[str, float]:
        """Fitted upper bound per column (empty when only the left tail is capped)."""
        return dict(self.getOrDefault(self.rightTailCaps))

    PARAM_RULES: dict[str, Rule] = {"cappingMethod": OneOf(METHODS), "tail": OneOf(TAILS),
                   "fold": InRange(0.0, low_open=True),
                   "relativeError": InRange(0.0, 1.0, high_open=True)}

    def validate_params(self) -> None:
        """Cross-param rule: with cappingMethod='quantiles' fold is a tail quantile."""
        if self.getOrDefault(self.cappingMethod) == "quantiles":
            check_range(type(self).__name__, "fold (the tail quantile of cappingMethod "
                        "'quantiles')", self.getOrDefault(self.fold), low=0.0, high=0.2,
                        low_open=True)

    def fit_bounds(self, df: DataFrame) -> tuple[dict[str, float], dict[str, float]]:
        """Learn lower and upper bounds of every input column in one aggregation job."""
        stage = type(self).__name__
        check_params(self)
        cols = self.getInputCols()
        require_numeric(df, cols, stage)
        method = self.getOrDefault(self.cappingMethod)
        fold, tail = self.getOrDefault(self.fold), self.getOrDefault(self.tail)
        stats = tail_statistics(df, cols, method, fold, self.getOrDefault(self.relativeError),
                                stage, ddof=0)
        low, high = {}, {}
        for c in cols:
            lo, hi = tail_bounds(stats[c], method, fold, stage, c)
            if tail in ("left", "both"):
                low[c] = lo
            if tail in ("right", "both"):
                high[c] = hi
        log.info("%s fitted bounds low=%s high=%s", stage, low, high)
        return low, high
