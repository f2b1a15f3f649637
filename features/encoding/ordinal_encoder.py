"""OrdinalEncoder: replaces categories by integer codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasLabelCol
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import OneOf, Rule, check_choice, check_params
from features.encoding.base import (
    _CategoryModel,
    _EncoderParams,
    category_stats,
    frequency_order,
    map_categories,
)
from features.errors import FeatureSpecError
from features.persistence import DataRow, StageReadable, StageWritable
from features.registry import register

METHODS = ("arbitrary", "frequency", "ordered")


class _OrdinalParams(_EncoderParams, HasLabelCol):
    PARAM_RULES: dict[str, Rule] = {"encodingMethod": OneOf(METHODS)}

    encodingMethod = Param(Params._dummy(), "encodingMethod",
                           "arbitrary: categories sorted as strings; frequency: most frequent "
                           "first; ordered: by ascending mean of labelCol",
                           typeConverter=TypeConverters.toString)
    FORMER_PARAMS = {"categoryCodes": "fitted [category, code] pairs per column"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(encodingMethod="arbitrary")


@register("ordinal_encode")
class OrdinalEncoder(Estimator, _OrdinalParams, StageReadable, StageWritable):
    """Replaces categories by integer codes 0..n-1 (int columns).

    ``arbitrary`` sorts categories as strings (as scikit-learn's OrdinalEncoder), ``frequency``
    puts the most frequent first (ties by name, as MLlib's StringIndexer ``frequencyDesc``),
    ``ordered`` sorts by the mean of ``labelCol``. Unseen categories with ``handleUnseen='keep'``
    get code n (one past the last). Null stays null.

    >>> df = spark.createDataFrame([("silver",), ("gold",), ("silver",)], ["segment"])
    >>> OrdinalEncoder(inputCols=["segment"]).fit(df).encoder_dict_
    {'segment': {'gold': 0, 'silver': 1}}
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 encodingMethod: str = "arbitrary", labelCol: str | None = None,
                 handleUnseen: str = "error") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  encodingMethod: str = "arbitrary", labelCol: str | None = None,
                  handleUnseen: str = "error") -> OrdinalEncoder:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def _fit(self, dataset: DataFrame) -> OrdinalEncoderModel:
        check_params(self)
        stage, method = type(self).__name__, self.getOrDefault(self.encodingMethod)
        check_choice(stage, "encodingMethod", method, METHODS)
        self.validate_encoder(dataset)
        label = None
        if method == "ordered":
            if not self.isSet(self.labelCol):
                raise FeatureSpecError(f"{stage}: encodingMethod='ordered' needs labelCol")
            label = self.getLabelCol()
        stats = category_stats(dataset, self.getInputCols(), label)
        rows = []
        for c, st in stats.items():
            if method == "arbitrary":
                order = sorted(st)
            elif method == "frequency":
                order = frequency_order(st)
            else:
                by_mean: dict[Any, Any] = st
                order = sorted(by_mean, key=lambda v: (by_mean[v].label_sum / by_mean[v].count, v))
            rows.append({"column": c, "categories": order, "codes": list(range(len(order)))})
        return self._copyValues(OrdinalEncoderModel.with_rows(rows))


class OrdinalEncoderModel(_CategoryModel, _OrdinalParams):
    """Maps categories to the fitted codes in ``encoder_dict_``.

    Model data (``data/``): one row per input column, ``column STRING, categories
    ARRAY<STRING>, codes ARRAY<INT>`` (the code of each category: 0 to n-1).
    """

    DATA_SCHEMA = "column STRING, categories ARRAY<STRING>, codes ARRAY<INT>"
    VALUE_FIELD = "codes"

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        return cls.rows_from_pairs(params["categoryCodes"])

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self.validate_encoder(dataset)
        policy, stage = self.getOrDefault(self.handleUnseen), type(self).__name__
        exprs = {}
        for c, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True):
            mapping = self.mapping(c)
            exprs[o] = map_categories(c, mapping, policy, stage,
                                      keep=F.lit(len(mapping))).cast("int")
        return dataset.withColumns(exprs)
