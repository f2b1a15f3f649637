"""LagFeatures: the value of columns k rows earlier for the same entity, ordered by time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from features.base import InRange, Rule, check_params
from features.checks import require_columns, require_new_columns
from features.errors import FeatureSpecError
from features.params import HasEntityCol
from features.persistence import StageReadable, StageWritable
from features.registry import as_list, register


@register("lag_features")
class LagFeatures(Transformer, HasInputCols, HasEntityCol, StageReadable, StageWritable):
    """Adds ``<col>_lag_<k>``: the value k rows earlier within ``entityCol``, by ``orderCol``.

    The first k rows of each entity get null. Rows with equal ``orderCol`` within an entity are
    ordered by ``tieBreakerCol`` when given (else their order is arbitrary, so give one when
    timestamps can repeat). Without ``entityCol`` the whole frame is one series (one partition).

    >>> orders = spark.sql("SELECT 1 AS customer_id, d * 10D AS amount, "
    ...                    "CAST(DATE_ADD(DATE'2024-01-01', d) AS TIMESTAMP) AS order_ts "
    ...                    "FROM VALUES (1), (2), (3) AS t(d)")
    >>> out = LagFeatures(inputCols=["amount"], entityCol="customer_id", orderCol="order_ts",
    ...                   lags=[1, 2]).transform(orders)
    >>> [(r.amount, r.amount_lag_1, r.amount_lag_2) for r in out.orderBy("order_ts").collect()]
    [(10.0, None, None), (20.0, 10.0, None), (30.0, 20.0, 10.0)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    PARAM_RULES: dict[str, Rule] = {"lags": InRange(1, each=True)}
    PARAM_NOTES = {"entityCol": "entity key (one series per value)"}

    orderCol = Param(Params._dummy(), "orderCol", "time column ordering each series",
                     typeConverter=TypeConverters.toString)
    tieBreakerCol = Param(Params._dummy(), "tieBreakerCol",
                          "second ordering column for equal orderCol values",
                          typeConverter=TypeConverters.toString)
    lags = Param(Params._dummy(), "lags", "numbers of rows to look back (>= 1)",
                 typeConverter=TypeConverters.toListInt)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, entityCol: str | None = None,
                 orderCol: str | None = None, tieBreakerCol: str | None = None,
                 lags: list[int] | None = None) -> None:
        super().__init__()
        self._setDefault(lags=[1])
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, entityCol: str | None = None,
                  orderCol: str | None = None, tieBreakerCol: str | None = None,
                  lags: list[int] | None = None) -> LagFeatures:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``<col>_lag_<k>`` per lag and input column."""
        return [f"{c}_lag_{k}" for k in params.get("lags", [1])
                for c in as_list(params.get("inputCols"))]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, cols, lags = type(self).__name__, self.getInputCols(), self.getOrDefault(self.lags)
        if not self.isDefined(self.orderCol):
            raise FeatureSpecError(f"{stage}: orderCol is required")
        if not lags or min(lags) < 1:
            raise FeatureSpecError(f"{stage}: lags must be integers >= 1, got {lags}")
        order = [self.getOrDefault(self.orderCol)]
        if self.isDefined(self.tieBreakerCol):
            order.append(self.getOrDefault(self.tieBreakerCol))
        entity = [self.getOrDefault(self.entityCol)] if self.isDefined(self.entityCol) else []
        require_columns(dataset, [*cols, *order, *entity], stage)
        window = Window.partitionBy(*entity).orderBy(*order)
        exprs = {f"{c}_lag_{k}": F.lag(c, k).over(window) for k in lags for c in cols}
        require_new_columns(dataset, exprs, stage)
        return dataset.withColumns(exprs)
