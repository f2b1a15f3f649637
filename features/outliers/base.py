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
>>> df = spark.createDataFrame([(float(x),) for x in (1, 2, 3, 4, 5, 6, 7, 8)], "amount double")
>>> Winsorizer(inputCols=["amount"], cappingMethod="iqr", tail="both",
...            fold=1.5).fit_bounds(df)
[{'column': 'amount', 'leftTailCap': -4.0, 'rightTailCap': 12.0}]
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame

from features.base import OneOf, Rule, check_params, check_range
from features.checks import require_numeric
from features.params import HasFold, HasInOutCols, HasQuantileRelativeError, HasTail
from features.persistence import DataRow, FittedModel
from features.tails import tail_bounds, tail_statistics

log = logging.getLogger(f"lakeprep.{__name__}")

METHODS = ("gaussian", "iqr", "quantiles", "mad")
TAILS = ("right", "left", "both")


class _OutlierParams(HasInOutCols, HasTail, HasFold, HasQuantileRelativeError):
    """Params shared by Winsorizer, OutlierTrimmer and their models."""

    PARAM_RULES: dict[str, Rule] = {"cappingMethod": OneOf(METHODS), "tail": OneOf(TAILS)}
    FORMER_PARAMS = {"leftTailCaps": "fitted lower bound per column",
                     "rightTailCaps": "fitted upper bound per column"}
    PARAM_NOTES = {
        "tail": f"which tails to cap: one of {TAILS}",
        "fold": "multiplier of std/IQR/MAD, or the quantile for cappingMethod='quantiles'",
        "relativeError": "quantile relative error; 0 computes exact quantiles"}

    cappingMethod = Param(Params._dummy(), "cappingMethod",
                          f"how to find the bounds: one of {METHODS}",
                          typeConverter=TypeConverters.toString)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(cappingMethod="gaussian")

    def validate_params(self) -> None:
        """Cross-param rule: with cappingMethod='quantiles' fold is a tail quantile."""
        if self.getOrDefault(self.cappingMethod) == "quantiles":
            check_range(type(self).__name__, "fold (the tail quantile of cappingMethod "
                        "'quantiles')", self.getOrDefault(self.fold), low=0.0, high=0.2,
                        low_open=True)

    def fit_bounds(self, df: DataFrame) -> list[DataRow]:
        """Learn lower and upper bounds of every input column in one aggregation job.

        One row per input column, as :class:`_OutlierModel` keeps them.
        """
        stage = type(self).__name__
        check_params(self)
        cols = self.getInputCols()
        require_numeric(df, cols, stage)
        method = self.getOrDefault(self.cappingMethod)
        fold, tail = self.getOrDefault(self.fold), self.getOrDefault(self.tail)
        stats = tail_statistics(df, cols, method, fold, self.getOrDefault(self.relativeError),
                                stage, ddof=0)
        rows = []
        for c in cols:
            lo, hi = tail_bounds(stats[c], method, fold, stage, c)
            rows.append({"column": c, "leftTailCap": lo if tail in ("left", "both") else None,
                         "rightTailCap": hi if tail in ("right", "both") else None})
        log.info("%s fitted bounds %s", stage, rows)
        return rows


class _OutlierModel(FittedModel, _OutlierParams):
    """The fitted bounds of Winsorizer and OutlierTrimmer, one data row per input column."""

    DATA_SCHEMA = "column STRING, leftTailCap DOUBLE, rightTailCap DOUBLE"

    @property
    def left_tail_caps_(self) -> dict[str, float]:
        """Fitted lower bound per column (empty when only the right tail is capped)."""
        return self._caps("leftTailCap")

    @property
    def right_tail_caps_(self) -> dict[str, float]:
        """Fitted upper bound per column (empty when only the left tail is capped)."""
        return self._caps("rightTailCap")

    def _caps(self, field: str) -> dict[str, float]:
        rows = self.rows_by_column()
        return {c: rows[c][field] for c in self.getInputCols()
                if c in rows and rows[c][field] is not None}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        low, high = params.get("leftTailCaps", {}), params.get("rightTailCaps", {})
        return [{"column": c, "leftTailCap": low.get(c), "rightTailCap": high.get(c)}
                for c in params["inputCols"]]
