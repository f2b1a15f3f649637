"""CategoricalCross: one categorical column crossing several (string concatenation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols, HasOutputCol
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import check_params
from features.checks import require_columns, require_new_columns
from features.errors import FeatureSpecError
from features.persistence import StageReadable, StageWritable
from features.registry import as_list, register


@register("categorical_cross")
class CategoricalCross(Transformer, HasInputCols, HasOutputCol, StageReadable,
                       StageWritable):
    """Adds a string column joining the values of ``inputCols`` with ``separator``.

    ``country='DE', segment='gold'`` gives ``'DE_x_gold'``. Name defaults to
    ``<col1>_x_<col2>...``. A null in any input gives null (impute first to cross missing as a
    category). Encode the cross afterwards (one-hot with topK, rare-label grouping, target).

    >>> df = spark.createDataFrame([("DE", "gold"), ("FR", None)], ["country", "segment"])
    >>> crossed = CategoricalCross(inputCols=["country", "segment"]).transform(df)
    >>> [r.country_x_segment for r in crossed.collect()]
    ['DE_x_gold', None]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    separator = Param(Params._dummy(), "separator", "text between the crossed values",
                      typeConverter=TypeConverters.toString)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCol: str | None = None,
                 separator: str = "_x_") -> None:
        super().__init__()
        self._setDefault(separator="_x_")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCol: str | None = None,
                  separator: str = "_x_") -> CategoricalCross:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``outputCol`` when given, else ``<col1>_x_<col2>...``."""
        return [params.get("outputCol") or "_x_".join(as_list(params.get("inputCols")))]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        if len(cols) < 2:
            raise FeatureSpecError(f"{stage}: needs at least 2 inputCols, got {cols}")
        sep = self.getOrDefault(self.separator)
        name, = self.output_columns({"inputCols": cols, "outputCol": self.getOrDefault(
            self.outputCol) if self.isSet(self.outputCol) else None})
        require_columns(dataset, cols, stage)
        require_new_columns(dataset, [name], stage)
        # concat (not concat_ws) so that any null input makes the cross null.
        parts = [p for c in cols for p in (F.lit(sep), F.col(c).cast("string"))][1:]
        return dataset.withColumn(name, F.concat(*parts))
