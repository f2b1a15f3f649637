"""Winsorizer: caps values of numeric columns at bounds learnt from the data."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import check_params, is_nan
from features.checks import require_numeric
from features.outliers.base import _OutlierModel, _OutlierParams
from features.persistence import StageReadable, StageWritable
from features.registry import register


@register("winsorize")
class Winsorizer(Estimator, _OutlierParams, StageReadable, StageWritable):
    """Caps maximum and/or minimum values of numeric columns at bounds learnt from the data.

    Bounds come from ``cappingMethod`` (gaussian, iqr, quantiles, mad) with ``fold``, on the
    ``tail`` right, left or both (see ``features.outliers.base``). Fit ignores null, NaN
    and +-inf; at transform time null and NaN pass through unchanged and +-inf are capped
    like any value. Statistics or bounds that overflow (values near +-1.8e308) raise at fit.
    Output columns are doubles; without outputCols the inputs are replaced.

    >>> orders = spark.createDataFrame([(float(x),) for x in (10, 20, 30, 40, 50, 900)],
    ...                                "amount double")
    >>> model = Winsorizer(inputCols=["amount"], cappingMethod="iqr", tail="both",
    ...                    fold=1.5).fit(orders)
    >>> model.right_tail_caps_
    {'amount': 95.0}
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 cappingMethod: str = "gaussian", tail: str = "right", fold: float = 3.0,
                 relativeError: float = 0.001) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  cappingMethod: str = "gaussian", tail: str = "right", fold: float = 3.0,
                  relativeError: float = 0.001) -> Winsorizer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> WinsorizerModel:
        check_params(self)
        self.check_outputs(dataset)
        return self._copyValues(WinsorizerModel.with_rows(self.fit_bounds(dataset)))


class WinsorizerModel(_OutlierModel):
    """Caps columns at the fitted ``left_tail_caps_`` / ``right_tail_caps_``.

    Model data (``data/``): one row per input column, ``column STRING, leftTailCap DOUBLE,
    rightTailCap DOUBLE`` (a cap is null where its tail is not capped).
    """

    def _transform(self, dataset: DataFrame) -> DataFrame:
        cols, outs = self.getInputCols(), self.resolved_output_cols()
        require_numeric(dataset, cols, type(self).__name__)
        low, high = self.left_tail_caps_, self.right_tail_caps_
        exprs = {}
        for c, o in zip(cols, outs, strict=True):
            v = F.col(c).cast("double")
            capped = v
            if c in high:
                capped = F.least(capped, F.lit(high[c]))
            if c in low:
                capped = F.greatest(capped, F.lit(low[c]))
            # least/greatest skip nulls and sort NaN above every double: both would become caps.
            exprs[o] = F.when(v.isNull() | is_nan(v), v).otherwise(capped)
        return dataset.withColumns(exprs)
