"""EndTailImputer: fills missing values with a value at the end of the distribution."""

from __future__ import annotations

from pyspark import keyword_only
from pyspark.ml import Estimator, Model
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.checks import require_numeric
from features.errors import FeatureInputError
from features.registry import register
from features.transformation.base import (
    HasInOutCols,
    aggregate,
    check_choice,
    finite_value,
    fitted_param,
    quantiles,
)
from features.transformation.imputer_base import fill_missing

METHODS = ("gaussian", "iqr", "max")


class _EndTailParams(HasInOutCols):
    imputationMethod = Param(Params._dummy(), "imputationMethod", f"one of {METHODS}",
                             typeConverter=TypeConverters.toString)
    tail = Param(Params._dummy(), "tail", "right or left", typeConverter=TypeConverters.toString)
    fold = Param(Params._dummy(), "fold", "multiplier of std, IQR or max",
                 typeConverter=TypeConverters.toFloat)
    relativeError = Param(Params._dummy(), "relativeError",
                          "quantile relative error for iqr; 0 is exact",
                          typeConverter=TypeConverters.toFloat)
    imputerValues = fitted_param("imputerValues", "fitted fill value per column")

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(imputationMethod="gaussian", tail="right", fold=3.0,
                         relativeError=0.001, imputerValues={})

    @property
    def imputer_values_(self) -> dict[str, float]:
        """Fitted fill value per column."""
        return dict(self.getOrDefault(self.imputerValues))


@register("impute_end_tail")
class EndTailImputer(Estimator, _EndTailParams, DefaultParamsReadable, DefaultParamsWritable):
    """Replaces missing values by a value at the end of the distribution (as feature-engine).

    ``gaussian``: mean +/- fold * std (ddof=1); ``iqr``: q75 + fold * IQR (right) or
    q25 - fold * IQR (left); ``max``: fold * max (right tail only). Statistics of all columns
    come from one aggregation over finite values (null, NaN, +-inf ignored); missing is null or
    NaN; +-inf are kept.

    >>> EndTailImputer(inputCols=["amount"], imputationMethod="iqr",
    ...                fold=1.5).fit(df).imputer_values_  # doctest: +SKIP
    {'amount': 40.0}
    """

    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, imputationMethod="gaussian",
                 tail="right", fold=3.0, relativeError=0.001):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, imputationMethod="gaussian",
                  tail="right", fold=3.0, relativeError=0.001):
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> EndTailImputerModel:
        stage, cols = type(self).__name__, self.getInputCols()
        method, tail = self.getOrDefault(self.imputationMethod), self.getOrDefault(self.tail)
        fold, rel = self.getOrDefault(self.fold), self.getOrDefault(self.relativeError)
        check_choice(stage, "imputationMethod", method, METHODS)
        check_choice(stage, "tail", tail, ("right",) if method == "max" else ("right", "left"))
        require_numeric(dataset, cols, stage)
        self.check_outputs(dataset)
        exprs = {}
        for c in cols:
            v = finite_value(c)
            exprs[f"{c}/n"] = F.count(v)
            if method == "gaussian":
                exprs[f"{c}/mean"], exprs[f"{c}/std"] = F.mean(v), F.stddev_samp(v)
            elif method == "iqr":
                exprs[f"{c}/q"] = quantiles(v, [0.25, 0.75], rel)
            else:
                exprs[f"{c}/max"] = F.max(v)
        stats = aggregate(dataset, exprs)
        empty = [c for c in cols if not stats[f"{c}/n"]]
        if empty:
            raise FeatureInputError(f"{stage}: column(s) {empty} have no finite value to "
                                    "learn the tail from (all null, NaN or infinite)")
        sign = 1.0 if tail == "right" else -1.0
        values = {}
        for c in cols:
            if method == "gaussian":
                values[c] = stats[f"{c}/mean"] + sign * fold * (stats[f"{c}/std"] or 0.0)
            elif method == "iqr":
                q1, q3 = stats[f"{c}/q"]
                values[c] = (q3 if tail == "right" else q1) + sign * fold * (q3 - q1)
            else:
                values[c] = stats[f"{c}/max"] * fold
        model = EndTailImputerModel()
        self._copyValues(model)
        return model._set(imputerValues={c: float(v) for c, v in values.items()})


class EndTailImputerModel(Model, _EndTailParams, DefaultParamsReadable, DefaultParamsWritable):
    """Fills missing values with the fitted ``imputer_values_``."""

    def _transform(self, dataset: DataFrame) -> DataFrame:
        cols = self.getInputCols()
        require_numeric(dataset, cols, type(self).__name__)
        return fill_missing(dataset, self.imputer_values_,
                            dict(zip(cols, self.resolved_output_cols(), strict=True)))
