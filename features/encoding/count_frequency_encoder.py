"""CountFrequencyEncoder: replaces categories by their count or frequency at fit time."""

from __future__ import annotations

from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import FittedModel, OneOf, Rule, check_choice, check_params, fitted_param
from features.encoding.base import _EncoderParams, category_stats, map_categories
from features.registry import register

METHODS = ("count", "frequency")


class _CountFrequencyParams(_EncoderParams):
    PARAM_RULES: dict[str, Rule] = {"encodingMethod": OneOf(METHODS)}

    encodingMethod = Param(Params._dummy(), "encodingMethod",
                           "count (rows per category) or frequency (share of non-null rows)",
                           typeConverter=TypeConverters.toString)
    categoryValues = fitted_param("categoryValues", "fitted [category, value] pairs per column")

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(encodingMethod="count", categoryValues={})

    @property
    def encoder_dict_(self) -> dict[str, dict[str, float]]:
        """Fitted count or frequency of every category, per column."""
        return {c: dict(p) for c, p in self.getOrDefault(self.categoryValues).items()}


@register("count_frequency_encode")
class CountFrequencyEncoder(Estimator, _CountFrequencyParams, DefaultParamsReadable,
                            DefaultParamsWritable):
    """Replaces categories by the number (long) or share (double) of fit rows that have them.

    Frequencies are over non-null rows. Unseen categories with ``handleUnseen='keep'`` get 0.
    Null stays null.

    >>> CountFrequencyEncoder(inputCols=["country"],
    ...                       encodingMethod="frequency").fit(df)  # doctest: +SKIP
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
        values = {}
        for c, st in category_stats(dataset, self.getInputCols()).items():
            total = sum(s.count for s in st.values())
            values[c] = [[v, s.count if method == "count" else s.count / total]
                         for v, s in sorted(st.items())]
        model = CountFrequencyEncoderModel()
        self._copyValues(model)
        return model._set(categoryValues=values)


class CountFrequencyEncoderModel(FittedModel, _CountFrequencyParams):
    """Maps categories to the fitted counts or frequencies in ``encoder_dict_``."""

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self.validate_encoder(dataset)
        policy, stage = self.getOrDefault(self.handleUnseen), type(self).__name__
        out_type = "long" if self.getOrDefault(self.encodingMethod) == "count" else "double"
        exprs = {}
        for c, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True):
            exprs[o] = map_categories(c, self.encoder_dict_.get(c, {}), policy, stage,
                                      keep=F.lit(0)).cast(out_type)
        return dataset.withColumns(exprs)
