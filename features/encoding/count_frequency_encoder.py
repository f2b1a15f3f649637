"""CountFrequencyEncoder: replaces categories by their count or frequency at fit time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import OneOf, Rule, check_choice, check_params
from features.encoding.base import _CategoryModel, _EncoderParams, category_stats, map_categories
from features.persistence import DataRow, StageReadable, StageWritable
from features.registry import register

METHODS = ("count", "frequency")


class _CountFrequencyParams(_EncoderParams):
    PARAM_RULES: dict[str, Rule] = {"encodingMethod": OneOf(METHODS)}

    encodingMethod = Param(Params._dummy(), "encodingMethod",
                           "count (rows per category) or frequency (share of non-null rows)",
                           typeConverter=TypeConverters.toString)
    FORMER_PARAMS = {"categoryValues": "fitted [category, value] pairs per column"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(encodingMethod="count")


@register("count_frequency_encode")
class CountFrequencyEncoder(Estimator, _CountFrequencyParams, StageReadable, StageWritable):
    """Replaces categories by the number (long) or share (double) of fit rows that have them.

    Frequencies are over non-null rows. Unseen categories with ``handleUnseen='keep'`` get 0.
    Null stays null.

    >>> df = spark.createDataFrame([("DE",), ("DE",), ("DE",), ("FR",)], ["country"])
    >>> model = CountFrequencyEncoder(inputCols=["country"], encodingMethod="frequency").fit(df)
    >>> [r.country for r in model.transform(df).collect()]
    [0.75, 0.75, 0.75, 0.25]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 encodingMethod: str = "count", handleUnseen: str = "error") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  encodingMethod: str = "count", handleUnseen: str = "error",
        ) -> CountFrequencyEncoder:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> CountFrequencyEncoderModel:
        check_params(self)
        method = self.getOrDefault(self.encodingMethod)
        check_choice(type(self).__name__, "encodingMethod", method, METHODS)
        self.validate_encoder(dataset)
        rows = []
        for c, st in category_stats(dataset, self.getInputCols()).items():
            total = sum(s.count for s in st.values())
            categories = sorted(st)
            rows.append({"column": c, "categories": categories,
                         "values": [float(st[v].count) if method == "count"
                                    else st[v].count / total for v in categories]})
        return self._copyValues(CountFrequencyEncoderModel.with_rows(rows))


class CountFrequencyEncoderModel(_CategoryModel, _CountFrequencyParams):
    """Maps categories to the fitted counts or frequencies in ``encoder_dict_``.

    Model data (``data/``): one row per input column, ``column STRING, categories
    ARRAY<STRING>, values ARRAY<DOUBLE>`` (each category's row count, a whole number, or its
    share of the non-null fit rows, as ``encodingMethod`` says).
    """

    DATA_SCHEMA = "column STRING, categories ARRAY<STRING>, values ARRAY<DOUBLE>"
    VALUE_FIELD = "values"

    def mapping(self, column: str) -> dict[str, Any]:
        """The count (int) or frequency of each category of ``column``."""
        found = super().mapping(column)
        if self.getOrDefault(self.encodingMethod) == "count":
            return {v: int(n) for v, n in found.items()}
        return found

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        return cls.rows_from_pairs({c: [[v, float(x)] for v, x in pairs]
                                    for c, pairs in params["categoryValues"].items()})

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self.validate_encoder(dataset)
        policy, stage = self.getOrDefault(self.handleUnseen), type(self).__name__
        out_type = "long" if self.getOrDefault(self.encodingMethod) == "count" else "double"
        exprs = {}
        for c, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True):
            exprs[o] = map_categories(c, self.mapping(c), policy, stage,
                                      keep=F.lit(0)).cast(out_type)
        return dataset.withColumns(exprs)
