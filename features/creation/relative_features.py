"""RelativeFeatures: differences, ratios, sums and products of columns against references."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.base import OneOf, Rule, check_choice, check_params
from features.checks import require_new_columns, require_numeric
from features.persistence import StageReadable, StageWritable
from features.registry import as_list, register

FUNCS = ("add", "sub", "mul", "div")


def _apply(x: Column, ref: Column, func: str) -> Column:
    if func == "add":
        return x + ref
    if func == "sub":
        return x - ref
    if func == "mul":
        return x * ref
    # Safe division: a zero reference gives null, never +-inf or an error.
    return F.when(ref != 0, x / ref)


@register("relative_features")
class RelativeFeatures(Transformer, HasInputCols, StageReadable, StageWritable):
    """Adds ``<col>_<func>_<ref>`` for every input column, reference column and function.

    Functions: add, sub, mul, div (as feature-engine's RelativeFeatures). Division by a zero
    reference gives null (safe division); null in either operand gives null; NaN and +-inf
    follow IEEE arithmetic. Outputs are doubles.

    >>> df = spark.createDataFrame([(30.0, 120.0)], ["amount_sum_30d", "amount_sum_90d"])
    >>> RelativeFeatures(inputCols=["amount_sum_30d"], referenceCols=["amount_sum_90d"],
    ...                  funcs=["div"]).transform(df).collect()
    [Row(amount_sum_30d=30.0, amount_sum_90d=120.0, amount_sum_30d_div_amount_sum_90d=0.25)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    PARAM_RULES: dict[str, Rule] = {"funcs": OneOf(FUNCS, each=True)}

    referenceCols = Param(Params._dummy(), "referenceCols", "columns to combine the inputs with",
                          typeConverter=TypeConverters.toListString)
    funcs = Param(Params._dummy(), "funcs", f"functions from {FUNCS}",
                  typeConverter=TypeConverters.toListString)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None,
                 referenceCols: list[str] | None = None, funcs: list[str] | None = None) -> None:
        super().__init__()
        self._setDefault(funcs=["div"])
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None,
                  referenceCols: list[str] | None = None, funcs: list[str] | None = None,
        ) -> RelativeFeatures:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``<col>_<func>_<ref>`` per function, reference column and input column."""
        cols, refs = as_list(params.get("inputCols")), as_list(params.get("referenceCols"))
        return [f"{c}_{f}_{r}" for f in as_list(params.get("funcs", ["div"]))
                for r in refs for c in cols]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        refs, funcs = self.getOrDefault(self.referenceCols), self.getOrDefault(self.funcs)
        for f in funcs:
            check_choice(stage, "funcs", f, FUNCS)
        require_numeric(dataset, [*cols, *refs], stage)
        exprs = {f"{c}_{f}_{r}": _apply(F.col(c).cast("double"), F.col(r).cast("double"), f)
                 for f in funcs for r in refs for c in cols}
        require_new_columns(dataset, exprs, stage)
        return dataset.withColumns(exprs)
