"""EndTailImputer: fills missing values with a value at the end of the distribution."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame

from features.base import OneOf, Rule, check_choice, check_params
from features.checks import require_numeric
from features.imputation.base import _ImputerModel
from features.params import HasFold, HasInOutCols, HasQuantileRelativeError, HasTail
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.tails import tail_bounds, tail_statistics

METHODS = ("gaussian", "iqr", "max")


class _EndTailParams(HasInOutCols, HasTail, HasFold, HasQuantileRelativeError):
    PARAM_RULES: dict[str, Rule] = {"imputationMethod": OneOf(METHODS),
                                    "tail": OneOf(("right", "left"))}
    FORMER_PARAMS = {"imputerValues": "fitted fill value per column"}
    PARAM_NOTES = {"tail": "right or left", "fold": "multiplier of std, IQR or max",
                   "relativeError": "quantile relative error for iqr; 0 is exact"}

    imputationMethod = Param(Params._dummy(), "imputationMethod", f"one of {METHODS}",
                             typeConverter=TypeConverters.toString)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(imputationMethod="gaussian")

    def validate_params(self) -> None:
        """Cross-param rule: imputationMethod='max' only fills the right tail."""
        if self.getOrDefault(self.imputationMethod) == "max":
            check_choice(type(self).__name__, "tail (with imputationMethod 'max')",
                         self.getOrDefault(self.tail), ("right",))


@register("impute_end_tail")
class EndTailImputer(Estimator, _EndTailParams, StageReadable, StageWritable):
    """Replaces missing values by a value at the end of the distribution (as feature-engine).

    ``gaussian``: mean +/- fold * std (ddof=1); ``iqr``: q75 + fold * IQR (right) or
    q25 - fold * IQR (left); ``max``: fold * max (right tail only). Statistics of all columns
    come from one aggregation over finite values (null, NaN, +-inf ignored); missing is null or
    NaN; +-inf are kept.

    >>> df = spark.createDataFrame([(float(x),) for x in (1, 2, 3, 4, 5, 6, 7, 8)] + [(None,)],
    ...                            "amount double")
    >>> EndTailImputer(inputCols=["amount"], imputationMethod="iqr",
    ...                fold=1.5).fit(df).imputer_values_
    {'amount': 12.0}
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 imputationMethod: str = "gaussian", tail: str = "right", fold: float = 3.0,
                 relativeError: float = 0.001) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  imputationMethod: str = "gaussian", tail: str = "right", fold: float = 3.0,
                  relativeError: float = 0.001) -> EndTailImputer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> EndTailImputerModel:
        stage, cols = type(self).__name__, self.getInputCols()
        check_params(self)
        method, tail = self.getOrDefault(self.imputationMethod), self.getOrDefault(self.tail)
        fold, rel = self.getOrDefault(self.fold), self.getOrDefault(self.relativeError)
        require_numeric(dataset, cols, stage)
        self.check_outputs(dataset)
        stats = tail_statistics(dataset, cols, method, fold, rel, stage, ddof=1)
        rows = []
        for c in cols:
            lo, hi = tail_bounds(stats[c], method, fold, stage, c)
            rows.append({"column": c, "imputerValue": hi if tail == "right" else lo})
        return self._copyValues(EndTailImputerModel.with_rows(rows))


class EndTailImputerModel(_ImputerModel, _EndTailParams):
    """Fills missing values with the fitted ``imputer_values_``.

    Model data (``data/``): one row per input column, ``column STRING, imputerValue DOUBLE``.
    """

    DATA_SCHEMA = "column STRING, imputerValue DOUBLE"

    def _transform(self, dataset: DataFrame) -> DataFrame:
        require_numeric(dataset, self.getInputCols(), type(self).__name__)
        return self.fill(dataset)
