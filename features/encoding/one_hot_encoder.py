"""OneHotEncoder: one 0/1 column per category, with top-k and drop-last options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, Rule, check_choice, check_params
from features.checks import require_columns, require_new_columns
from features.encoding.base import (
    as_category,
    category_stats,
    frequency_order,
    unseen_value,
)
from features.params import UNSEEN_POLICIES, HasHandleUnseen
from features.persistence import DataRow, FittedModel, StageReadable, StageWritable
from features.registry import as_list, register


class _OneHotParams(HasInputCols, HasHandleUnseen):
    PARAM_RULES: dict[str, Rule] = {"topK": InRange(0)}

    topK = Param(Params._dummy(), "topK",
                 "encode only the k most frequent categories (0: all)",
                 typeConverter=TypeConverters.toInt)
    dropLast = Param(Params._dummy(), "dropLast",
                     "drop the least frequent category's column (only when all are encoded)",
                     typeConverter=TypeConverters.toBoolean)
    FORMER_PARAMS = {"encodedCategories": "fitted categories that get a column, per column",
                     "seenCategories": "every category seen at fit, per column"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(topK=0, dropLast=False)

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``<col>_<category>`` per input column: categories are learnt, hence ``<col>_*``."""
        return [f"{c}_*" for c in as_list(params.get("inputCols"))]


@register("one_hot_encode")
class OneHotEncoder(Estimator, _OneHotParams, StageReadable, StageWritable):
    """Adds an int 0/1 column ``<col>_<category>`` per category (as feature-engine's encoder).

    Categories are ordered by frequency (ties by name). ``topK`` > 0 keeps the k most frequent;
    rows of the other seen categories get all zeros. ``dropLast`` drops the least frequent
    category's column when all categories are encoded (it is the all-zeros baseline). Inputs are
    kept. Null gives null in every indicator; unseen with ``handleUnseen='keep'`` gives all
    zeros, with ``'null'`` all nulls. MLlib's vector one-hot is op ``one_hot_vector_encode``.

    >>> df = spark.createDataFrame([("DE",), ("FR",), ("DE",)], ["country"])
    >>> OneHotEncoder(inputCols=["country"], topK=5).fit(df).transform(df).first()
    Row(country='DE', country_DE=1, country_FR=0)
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, topK: int = 0,
                 dropLast: bool = False, handleUnseen: str = "error") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, topK: int = 0,
                  dropLast: bool = False, handleUnseen: str = "error") -> OneHotEncoder:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> OneHotEncoderModel:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        check_choice(stage, "handleUnseen", self.getOrDefault(self.handleUnseen), UNSEEN_POLICIES)
        require_columns(dataset, cols, stage)
        k, drop = self.getOrDefault(self.topK), self.getOrDefault(self.dropLast)
        rows = []
        for c, st in category_stats(dataset, cols).items():
            order = frequency_order(st)
            if 0 < k < len(order):
                encoded = order[:k]
            else:
                encoded = order[:-1] if drop and len(order) > 1 else order
            rows.append({"column": c, "categories": encoded, "seenCategories": sorted(order)})
        model = self._copyValues(OneHotEncoderModel.with_rows(rows))
        require_new_columns(dataset, [n for ns in model.output_names().values() for n in ns],
                            stage)
        return model


class OneHotEncoderModel(FittedModel, _OneHotParams):
    """Adds the fitted indicator columns listed by ``output_names()``.

    Model data (``data/``): one row per input column, ``column STRING, categories
    ARRAY<STRING>, seenCategories ARRAY<STRING>`` (the categories that get an indicator column
    ``<column>_<category>``, in output order, and every category seen at fit, sorted).
    """

    DATA_SCHEMA = "column STRING, categories ARRAY<STRING>, seenCategories ARRAY<STRING>"

    @property
    def encoder_dict_(self) -> dict[str, list[str]]:
        """Categories that get an indicator column, per input column, in column order."""
        rows = self.rows_by_column()
        return {c: list(rows[c]["categories"]) for c in self.getInputCols() if c in rows}

    def output_names(self) -> dict[str, list[str]]:
        """Indicator column names ``<col>_<category>`` per input column."""
        return {c: [f"{c}_{v}" for v in cats] for c, cats in self.encoder_dict_.items()}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        seen = params["seenCategories"]
        return [{"column": c, "categories": cats, "seenCategories": seen[c]}
                for c, cats in params["encodedCategories"].items()]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        stage, cols = type(self).__name__, self.getInputCols()
        require_columns(dataset, cols, stage)
        names = self.output_names()
        require_new_columns(dataset, [n for ns in names.values() for n in ns], stage)
        policy = self.getOrDefault(self.handleUnseen)
        rows = self.rows_by_column()
        exprs = {}
        for c in cols:
            value = as_category(c)
            unseen = unseen_value(policy, stage, c, value, keep=F.lit(0))
            for cat, name in zip(self.encoder_dict_[c], names[c], strict=True):
                exprs[name] = (F.when(value.isNull(), F.lit(None))
                               .when(~value.isin(rows[c]["seenCategories"]), unseen)
                               .otherwise((value == F.lit(cat)).cast("int"))).cast("int")
        return dataset.withColumns(exprs)
