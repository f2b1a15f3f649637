"""Shared logic of the outlier stages: the Params and the one-job fit of the tail bounds.

Bounds per column, learnt from finite values only (null, NaN and +-inf are ignored):

- ``gaussian``: mean -/+ fold * std (population std, ddof=0, as feature-engine);
- ``iqr``: q25 - fold * IQR and q75 + fold * IQR;
- ``quantiles``: the ``fold`` and ``1 - fold`` quantiles (fold <= 0.2);
- ``mad``: median -/+ fold * MAD / 0.6745 (needs a second job for the median of deviations).

Quantiles are exact when ``relativeError`` is 0 (Spark ``percentile``, linear interpolation like
numpy) and approximate otherwise (``percentile_approx``, which returns observed values).

>>> from features.transformation.outlier_base import fit_bounds
>>> fit_bounds(df, ["amount"], "iqr", "both", 1.5, 0.0, "Winsorizer")  # doctest: +SKIP
({'amount': -3.5}, {'amount': 12.5})
"""

from __future__ import annotations

import logging

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.checks import require_numeric
from features.errors import FeatureInputError, FeatureSpecError
from features.transformation.base import (
    HasInOutCols,
    aggregate,
    check_choice,
    finite_value,
    fitted_param,
    quantiles,
)

log = logging.getLogger(__name__)

METHODS = ("gaussian", "iqr", "quantiles", "mad")
TAILS = ("right", "left", "both")
MAD_NORMAL = 0.6745  # so that MAD / 0.6745 estimates the std of a normal distribution


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

    def validate_outlier_params(self) -> None:
        stage = type(self).__name__
        method, fold = self.getOrDefault(self.cappingMethod), self.getOrDefault(self.fold)
        check_choice(stage, "cappingMethod", method, METHODS)
        check_choice(stage, "tail", self.getOrDefault(self.tail), TAILS)
        if method == "quantiles" and not 0 < fold <= 0.2:
            raise FeatureSpecError(f"{stage}: with cappingMethod='quantiles' fold is the tail "
                                   f"quantile and must be in (0, 0.2], got {fold}")
        if fold <= 0:
            raise FeatureSpecError(f"{stage}: fold must be > 0, got {fold}")

    def fit_bounds(self, df: DataFrame) -> tuple[dict[str, float], dict[str, float]]:
        """Learn lower and upper bounds of every input column in one aggregation job."""
        stage = type(self).__name__
        self.validate_outlier_params()
        cols = self.getInputCols()
        require_numeric(df, cols, stage)
        method = self.getOrDefault(self.cappingMethod)
        fold, tail = self.getOrDefault(self.fold), self.getOrDefault(self.tail)
        rel = self.getOrDefault(self.relativeError)
        exprs = {}
        for c in cols:
            v = finite_value(c)
            exprs[f"{c}/n"] = F.count(v)
            if method == "gaussian":
                exprs[f"{c}/mean"], exprs[f"{c}/std"] = F.mean(v), F.stddev_pop(v)
            elif method == "iqr":
                exprs[f"{c}/q"] = quantiles(v, [0.25, 0.75], rel)
            elif method == "quantiles":
                exprs[f"{c}/q"] = quantiles(v, [fold, 1 - fold], rel)
            else:
                exprs[f"{c}/q"] = quantiles(v, [0.5], rel)
        stats = aggregate(df, exprs)
        empty = [c for c in cols if not stats[f"{c}/n"]]
        if empty:
            raise FeatureInputError(f"{stage}: column(s) {empty} have no finite value to fit "
                                    "the bounds on (all null, NaN or infinite)")
        if method == "mad":
            medians = {c: stats[f"{c}/q"][0] for c in cols}
            mads = aggregate(df, {c: quantiles(F.abs(finite_value(c) - F.lit(medians[c])),
                                               [0.5], rel) for c in cols})
        low, high = {}, {}
        for c in cols:
            if method == "gaussian":
                center, spread = stats[f"{c}/mean"], stats[f"{c}/std"] or 0.0
                lo, hi = center - fold * spread, center + fold * spread
            elif method == "iqr":
                q1, q3 = stats[f"{c}/q"]
                lo, hi = q1 - fold * (q3 - q1), q3 + fold * (q3 - q1)
            elif method == "quantiles":
                lo, hi = stats[f"{c}/q"]
            else:
                spread = mads[c][0] / MAD_NORMAL
                lo, hi = medians[c] - fold * spread, medians[c] + fold * spread
            if tail in ("left", "both"):
                low[c] = float(lo)
            if tail in ("right", "both"):
                high[c] = float(hi)
        log.info("%s fitted bounds low=%s high=%s", stage, low, high)
        return low, high
