"""CyclicalFeatures: sine and cosine encoding of cyclical numeric columns (hour, month, ...)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params
from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import aggregate, check_params, check_range, finite_value
from features.checks import require_new_columns, require_numeric
from features.errors import FeatureInputError
from features.persistence import DataRow, FittedModel, StageReadable, StageWritable
from features.registry import as_list, register


class _CyclicalParams(HasInputCols):
    maxValues: Param[Any] = Param(
        Params._dummy(), "maxValues",
        "period of each column; learnt as the column max when not given")

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(maxValues={})

    def validate_params(self) -> None:
        """Every given period (maxValues) must be a positive finite number."""
        for c, v in self.getOrDefault(self.maxValues).items():
            check_range(type(self).__name__, f"maxValues[{c!r}] (the period)", v, low=0.0,
                        high=math.inf, low_open=True, high_open=True)



@register("cyclical_features")
class CyclicalFeatures(Estimator, _CyclicalParams, StageReadable, StageWritable):
    """Adds ``<col>_sin`` = sin(2 pi x / max) and ``<col>_cos`` = cos(2 pi x / max).

    As feature-engine: the period is ``maxValues[col]`` when given (e.g. 24 for hour, 12 for
    month), else the column's maximum at fit (all columns in one aggregation). Null and NaN
    give null/NaN.

    >>> df = spark.createDataFrame([(0,), (6,)], ["order_hour"])
    >>> out = CyclicalFeatures(inputCols=["order_hour"],
    ...                        maxValues={"order_hour": 24}).fit(df).transform(df)
    >>> [(r.order_hour_sin, round(r.order_hour_cos, 12)) for r in out.collect()]
    [(0.0, 1.0), (1.0, 0.0)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None,
                 maxValues: dict[str, float] | None = None) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None,
                  maxValues: dict[str, float] | None = None) -> CyclicalFeatures:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``<col>_sin`` and ``<col>_cos`` per input column."""
        return [f"{c}_{f}" for c in as_list(params.get("inputCols")) for f in ("sin", "cos")]

    def _fit(self, dataset: DataFrame) -> CyclicalFeaturesModel:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        require_numeric(dataset, cols, stage)
        given = {c: float(v) for c, v in self.getOrDefault(self.maxValues).items()}
        todo = [c for c in cols if c not in given]
        if todo:
            found = aggregate(dataset, {c: F.max(finite_value(c)) for c in todo})
            bad = {c: found[c] for c in todo if found[c] is None or found[c] <= 0}
            if bad:
                raise FeatureInputError(f"{stage}: column(s) {sorted(bad)} have no positive "
                                        f"finite maximum to use as period (found {bad}); give "
                                        "maxValues")
            given.update({c: float(found[c]) for c in todo})
        rows = [{"column": c, "maxValue": given[c]} for c in cols]
        return self._copyValues(CyclicalFeaturesModel.with_rows(rows))


class CyclicalFeaturesModel(FittedModel, _CyclicalParams):
    """Adds the sine/cosine columns with the periods in ``max_values_``.

    Model data (``data/``): one row per input column, ``column STRING, maxValue DOUBLE`` (the
    period used: the given one, else the column's maximum at fit). ``maxValues`` keeps the
    periods that were given.
    """

    DATA_SCHEMA = "column STRING, maxValue DOUBLE"

    @property
    def max_values_(self) -> dict[str, float]:
        """Period used for each column."""
        rows = self.rows_by_column()
        return {c: rows[c]["maxValue"] for c in self.getInputCols()}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        # the former layout overwrote maxValues with every period used
        return [{"column": c, "maxValue": float(v)} for c, v in params["maxValues"].items()]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        stage, cols = type(self).__name__, self.getInputCols()
        require_numeric(dataset, cols, stage)
        exprs = {}
        for c in cols:
            angle = F.col(c).cast("double") * F.lit(2 * math.pi / self.max_values_[c])
            exprs[f"{c}_sin"], exprs[f"{c}_cos"] = F.sin(angle), F.cos(angle)
        require_new_columns(dataset, exprs, stage)
        return dataset.withColumns(exprs)
