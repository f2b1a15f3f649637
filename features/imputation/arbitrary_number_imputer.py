"""ArbitraryNumberImputer: fills missing values with a given number."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame

from features.base import check_params
from features.checks import require_numeric
from features.imputation.base import fill_missing
from features.params import HasInOutCols
from features.persistence import StageReadable, StageWritable
from features.registry import register


@register("impute_arbitrary")
class ArbitraryNumberImputer(Transformer, HasInOutCols, StageReadable,
                             StageWritable):
    """Replaces null (and NaN) in numeric columns by ``value``, or by ``values[col]`` when given.

    +-inf are kept. Mean, median and most-frequent imputation is MLlib's ``Imputer``
    (op ``impute``); strings are :class:`CategoricalImputer`.

    >>> df = spark.createDataFrame([(3.5,), (None,)], "amount double")
    >>> ArbitraryNumberImputer(inputCols=["amount"], value=-1.0).transform(df).collect()
    [Row(amount=3.5), Row(amount=-1.0)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    value = Param(Params._dummy(), "value", "fill value for every input column",
                  typeConverter=TypeConverters.toFloat)
    values = Param(Params._dummy(), "values", "fill value per column (overrides value)",
                   typeConverter=TypeConverters.identity)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 value: float = 999.0, values: dict[str, float] | None = None) -> None:
        super().__init__()
        self._setDefault(value=999.0, values={})
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  value: float = 999.0, values: dict[str, float] | None = None,
        ) -> ArbitraryNumberImputer:
        """Set the params given by keyword."""
        kwargs = {k: v for k, v in self._input_kwargs.items() if v is not None}
        return self._set(**kwargs)

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        cols = self.getInputCols()
        require_numeric(dataset, cols, type(self).__name__)
        self.check_outputs(dataset)
        per_col = self.getOrDefault(self.values)
        fills = {c: per_col.get(c, self.getOrDefault(self.value)) for c in cols}
        return fill_missing(dataset, fills, dict(zip(cols, self.resolved_output_cols(),
                                                     strict=True)))
