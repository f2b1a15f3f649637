"""OutlierTrimmer: drops rows whose values fall outside bounds learnt from the data."""

from __future__ import annotations

from collections.abc import Mapping
from functools import reduce
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import check_params
from features.checks import require_numeric
from features.outliers.base import _OutlierModel, _OutlierParams
from features.persistence import StageReadable, StageWritable
from features.registry import register


@register("trim_outliers")
class OutlierTrimmer(Estimator, _OutlierParams, StageReadable, StageWritable):
    """Removes rows with a value beyond the bounds learnt for any of the input columns.

    Same bounds as :class:`Winsorizer` (``cappingMethod``, ``tail``, ``fold``). Rows where a
    value is null or NaN are kept (missing is not an outlier; impute or filter first);
    +-inf are outside any finite bound and are dropped. A value equal to a bound is kept.

    >>> orders = spark.createDataFrame([(float(x),) for x in range(1, 21)], "amount double")
    >>> model = OutlierTrimmer(inputCols=["amount"], cappingMethod="quantiles", tail="both",
    ...                        fold=0.05, relativeError=0.0).fit(orders)
    >>> model.transform(orders).count()
    18
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, cappingMethod: str = "gaussian",
                 tail: str = "right", fold: float = 3.0, relativeError: float = 0.001) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, cappingMethod: str = "gaussian",
                  tail: str = "right", fold: float = 3.0, relativeError: float = 0.001,
        ) -> OutlierTrimmer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """No column: it filters rows."""
        return []

    def _fit(self, dataset: DataFrame) -> OutlierTrimmerModel:
        check_params(self)
        return self._copyValues(OutlierTrimmerModel.with_rows(self.fit_bounds(dataset)))


class OutlierTrimmerModel(_OutlierModel):
    """Filters out rows beyond the fitted ``left_tail_caps_`` / ``right_tail_caps_``.

    Model data (``data/``): one row per input column, ``column STRING, leftTailCap DOUBLE,
    rightTailCap DOUBLE`` (a cap is null where its tail is not capped).
    """

    def _transform(self, dataset: DataFrame) -> DataFrame:
        cols = self.getInputCols()
        require_numeric(dataset, cols, type(self).__name__)
        low, high = self.left_tail_caps_, self.right_tail_caps_
        outside = []
        for c in cols:
            v = F.col(c).cast("double")
            if c in high:
                outside.append(F.coalesce(~F.isnan(v) & (v > F.lit(high[c])), F.lit(False)))
            if c in low:
                outside.append(F.coalesce(~F.isnan(v) & (v < F.lit(low[c])), F.lit(False)))
        if not outside:
            return dataset
        return dataset.where(~reduce(lambda a, b: a | b, outside))
