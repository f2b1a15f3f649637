"""MissingIndicator: adds a 0/1 column per input that flags missing values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import DataFrame

from features.base import check_params
from features.checks import require_columns, require_new_columns
from features.imputation.base import is_missing
from features.persistence import StageReadable, StageWritable
from features.registry import as_list, register


@register("add_missing_indicator")
class MissingIndicator(Transformer, HasInputCols, StageReadable, StageWritable):
    """Adds ``<col><suffix>`` (int 1 where the value is null or NaN, else 0) for each input.

    Place it before an imputer so the model still sees which values were missing (as
    feature-engine's AddMissingIndicator). +-inf are values, not missing.

    >>> df = spark.createDataFrame([(1.0,), (None,), (float("nan"),)], "amount double")
    >>> MissingIndicator(inputCols=["amount"]).transform(df).collect()
    [Row(amount=1.0, amount_na=0), Row(amount=None, amount_na=1), Row(amount=nan, amount_na=1)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    suffix = Param(Params._dummy(), "suffix", "suffix of the indicator column names",
                   typeConverter=TypeConverters.toString)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, suffix: str = "_na") -> None:
        super().__init__()
        self._setDefault(suffix="_na")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, suffix: str = "_na",
        ) -> MissingIndicator:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``<col><suffix>`` per input column."""
        suffix = params.get("suffix", "_na")
        return [f"{c}{suffix}" for c in as_list(params.get("inputCols"))]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        require_columns(dataset, cols, stage)
        outs = dict(zip(cols, self.output_columns(
            {"inputCols": cols, "suffix": self.getOrDefault(self.suffix)}), strict=True))
        require_new_columns(dataset, outs.values(), stage)
        return dataset.withColumns(
            {o: is_missing(dataset, c).cast("int") for c, o in outs.items()})
