"""CategoricalImputer: fills missing categories with a label or the most frequent category."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame

from features.base import (
    OneOf,
    Rule,
    check_choice,
    check_params,
)
from features.checks import require_columns
from features.encoding.base import category_stats, frequency_order
from features.errors import FeatureInputError
from features.imputation.base import _ImputerModel
from features.params import HasInOutCols
from features.persistence import StageReadable, StageWritable
from features.registry import register

STRATEGIES = ("missing", "frequent")


class _CategoricalImputerParams(HasInOutCols):
    FORMER_PARAMS = {"imputerValues": "fitted fill value per column"}
    PARAM_RULES: dict[str, Rule] = {"strategy": OneOf(STRATEGIES)}

    strategy = Param(Params._dummy(), "strategy",
                     "missing: fill with fillValue; frequent: with the most frequent category",
                     typeConverter=TypeConverters.toString)
    fillValue = Param(Params._dummy(), "fillValue", "fill value of strategy 'missing'",
                      typeConverter=TypeConverters.toString)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(strategy="missing", fillValue="Missing")


@register("impute_categorical")
class CategoricalImputer(Estimator, _CategoricalImputerParams, StageReadable, StageWritable):
    """Replaces null (and NaN) by ``fillValue`` or by the most frequent category of the column.

    Modes of all columns come from one aggregation job; ties go to the smallest category (as
    strings), so refits are deterministic. The column keeps its type.

    >>> df = spark.createDataFrame([("gold",), ("silver",), ("gold",), (None,)], "segment string")
    >>> model = CategoricalImputer(inputCols=["segment"], strategy="frequent").fit(df)
    >>> [r.segment for r in model.transform(df).collect()]
    ['gold', 'silver', 'gold', 'gold']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 strategy: str = "missing", fillValue: str = "Missing") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  strategy: str = "missing", fillValue: str = "Missing") -> CategoricalImputer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> CategoricalImputerModel:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        strategy = self.getOrDefault(self.strategy)
        check_choice(stage, "strategy", strategy, STRATEGIES)
        require_columns(dataset, cols, stage)
        self.check_outputs(dataset)
        if strategy == "missing":
            values = {c: self.getOrDefault(self.fillValue) for c in cols}
        else:
            stats = category_stats(dataset, cols)
            empty = [c for c in cols if not stats[c]]
            if empty:
                raise FeatureInputError(f"{stage}: column(s) {empty} are all null; there is "
                                        "no most frequent category (use strategy 'missing')")
            values = {c: frequency_order(stats[c])[0] for c in cols}
        rows = [{"column": c, "imputerValue": v} for c, v in values.items()]
        return self._copyValues(CategoricalImputerModel.with_rows(rows))


class CategoricalImputerModel(_ImputerModel, _CategoricalImputerParams):
    """Fills missing values with the fitted ``imputer_values_`` (cast to each column's type).

    Model data (``data/``): one row per input column, ``column STRING, imputerValue STRING``.
    """

    DATA_SCHEMA = "column STRING, imputerValue STRING"

    def _transform(self, dataset: DataFrame) -> DataFrame:
        require_columns(dataset, self.getInputCols(), type(self).__name__)
        return self.fill(dataset)
