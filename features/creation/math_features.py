"""MathFeatures: row-wise sum, product, mean, min, max or std of several numeric columns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols, HasOutputCols
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.base import OneOf, Rule, check_choice, check_params
from features.checks import require_new_columns, require_numeric
from features.errors import FeatureSpecError
from features.persistence import StageReadable, StageWritable
from features.registry import as_list, register

FUNCS = ("sum", "prod", "mean", "min", "max", "std")


def _rowwise(values: Column, func: str) -> Column:
    """Reduce an array of non-null doubles; empty array gives null."""
    n = F.size(values)
    total = F.aggregate(values, F.lit(0.0), lambda acc, x: acc + x)
    if func == "sum":
        return F.when(n > 0, total)
    if func == "prod":
        return F.when(n > 0, F.aggregate(values, F.lit(1.0), lambda acc, x: acc * x))
    if func == "mean":
        return F.when(n > 0, total / n)
    if func == "min":
        return F.array_min(values)
    if func == "max":
        return F.array_max(values)
    mean = total / n
    sq = F.aggregate(values, F.lit(0.0), lambda acc, x: acc + (x - mean) * (x - mean))
    return F.when(n > 1, F.sqrt(sq / (n - 1)))


@register("math_features")
class MathFeatures(Transformer, HasInputCols, HasOutputCols, StageReadable, StageWritable):
    """Adds, per function, a double column combining the input columns row by row.

    Functions: sum, prod, mean, min, max, std (sample, ddof=1). Names default to
    ``<func>_<col1>_<col2>...`` (feature-engine's); ``outputCols`` gives one name per function.
    Nulls are skipped, as pandas does (a row with only nulls gives null); NaN propagates,
    except through min/max where Spark orders NaN above every number.

    >>> df = spark.createDataFrame([(30.0, 120.0)], ["amount_sum_30d", "amount_sum_90d"])
    >>> row = MathFeatures(inputCols=["amount_sum_30d", "amount_sum_90d"],
    ...                    funcs=["sum", "max"]).transform(df).first()
    >>> row.sum_amount_sum_30d_amount_sum_90d, row.max_amount_sum_30d_amount_sum_90d
    (150.0, 120.0)
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    PARAM_RULES: dict[str, Rule] = {"funcs": OneOf(FUNCS, each=True)}
    PARAM_NOTES = {"outputCols": "one output name per function"}

    funcs = Param(Params._dummy(), "funcs", f"functions from {FUNCS}",
                  typeConverter=TypeConverters.toListString)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, funcs: list[str] | None = None,
                 outputCols: list[str] | None = None) -> None:
        super().__init__()
        self._setDefault(funcs=["sum"])
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, funcs: list[str] | None = None,
                  outputCols: list[str] | None = None) -> MathFeatures:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``outputCols`` when given, else ``<func>_<col1>_<col2>...`` per function."""
        if params.get("outputCols") is not None:
            return as_list(params["outputCols"])
        cols = "_".join(as_list(params.get("inputCols")))
        return [f"{f}_{cols}" for f in as_list(params.get("funcs", ["sum"]))]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        funcs = self.getOrDefault(self.funcs)
        for f in funcs:
            check_choice(stage, "funcs", f, FUNCS)
        if len(cols) < 2:
            raise FeatureSpecError(f"{stage}: needs at least 2 inputCols, got {cols}")
        names = self.output_columns({"inputCols": cols, "funcs": funcs, "outputCols":
                                     self.getOrDefault(self.outputCols)
                                     if self.isDefined(self.outputCols) else None})
        if len(names) != len(funcs):
            raise FeatureSpecError(f"{stage}: {len(names)} outputCols for {len(funcs)} funcs")
        require_numeric(dataset, cols, stage)
        require_new_columns(dataset, names, stage)
        values = F.filter(F.array(*[F.col(c).cast("double") for c in cols]),
                          lambda x: x.isNotNull())
        return dataset.withColumns({n: _rowwise(values, f) for n, f in zip(names, funcs,
                                                                           strict=True)})
