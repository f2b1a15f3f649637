"""RareLabelEncoder: groups infrequent categories under one label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, Rule, check_params
from features.encoding.base import (
    _CategoryModel,
    _EncoderParams,
    category_stats,
    frequency_order,
    map_categories,
)
from features.persistence import DataRow, StageReadable, StageWritable
from features.registry import register


class _RareLabelParams(_EncoderParams):
    PARAM_RULES: dict[str, Rule] = {"tol": InRange(0.0, 1.0), "nCategories": InRange(0),
                   "maxNCategories": InRange(0)}

    tol = Param(Params._dummy(), "tol", "minimum share of non-null rows of a frequent category",
                typeConverter=TypeConverters.toFloat)
    nCategories = Param(Params._dummy(), "nCategories",
                        "group only columns with more than this many categories",
                        typeConverter=TypeConverters.toInt)
    maxNCategories = Param(Params._dummy(), "maxNCategories",
                           "keep at most this many frequent categories (0: no limit)",
                           typeConverter=TypeConverters.toInt)
    replaceWith = Param(Params._dummy(), "replaceWith", "label of the grouped categories",
                        typeConverter=TypeConverters.toString)
    FORMER_PARAMS = {"categoryLabels": "fitted [category, output label] pairs per column"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(tol=0.05, nCategories=10, maxNCategories=0, replaceWith="Rare")


@register("group_rare_labels")
class RareLabelEncoder(Estimator, _RareLabelParams, StageReadable, StageWritable):
    """Replaces categories seen in fewer than ``tol`` of the rows by ``replaceWith``.

    As feature-engine: columns with ``nCategories`` or fewer categories are left as they are;
    ``maxNCategories`` keeps only the most frequent ones. Shares are over non-null rows.
    Output is a string column; null stays null; unseen categories with ``handleUnseen='keep'``
    become ``replaceWith`` (they are rare by definition).

    >>> df = spark.createDataFrame([(c,) for c in "DE DE DE DE FR FR FR NL BE".split()],
    ...                            ["country"])
    >>> model = RareLabelEncoder(inputCols=["country"], tol=0.2, nCategories=2).fit(df)
    >>> sorted({r.country for r in model.transform(df).collect()})
    ['DE', 'FR', 'Rare']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 tol: float = 0.05, nCategories: int = 10, maxNCategories: int = 0,
                 replaceWith: str = "Rare", handleUnseen: str = "error") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  tol: float = 0.05, nCategories: int = 10, maxNCategories: int = 0,
                  replaceWith: str = "Rare", handleUnseen: str = "error") -> RareLabelEncoder:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> RareLabelEncoderModel:
        tol = self.getOrDefault(self.tol)
        check_params(self)
        self.validate_encoder(dataset)
        rare, n_min = self.getOrDefault(self.replaceWith), self.getOrDefault(self.nCategories)
        top = self.getOrDefault(self.maxNCategories)
        rows = []
        for c, st in category_stats(dataset, self.getInputCols()).items():
            total = sum(s.count for s in st.values())
            order = frequency_order(st)
            if len(order) > n_min:
                frequent = [v for v in order if st[v].count / total >= tol]
                keep = set(frequent[:top] if top > 0 else frequent)
            else:
                keep = set(order)
            rows.append({"column": c, "categories": order,
                         "labels": [v if v in keep else rare for v in order]})
        return self._copyValues(RareLabelEncoderModel.with_rows(rows))


class RareLabelEncoderModel(_CategoryModel, _RareLabelParams):
    """Replaces the categories not in ``encoder_dict_`` by ``replaceWith``.

    Model data (``data/``): one row per input column, ``column STRING, categories
    ARRAY<STRING>, labels ARRAY<STRING>`` (every category seen at fit, most frequent first,
    and its output: itself when frequent, else ``replaceWith``).
    """

    DATA_SCHEMA = "column STRING, categories ARRAY<STRING>, labels ARRAY<STRING>"
    VALUE_FIELD = "labels"

    @property
    def encoder_dict_(self) -> dict[str, list[str]]:  # type: ignore[override]
        """The frequent categories kept, per column (every other category becomes the label)."""
        rare = self.getOrDefault(self.replaceWith)
        return {c: [v for v, out in self.mapping(c).items() if out != rare or v == rare]
                for c in self.getInputCols()}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        return cls.rows_from_pairs(params["categoryLabels"])

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self.validate_encoder(dataset)
        policy, stage = self.getOrDefault(self.handleUnseen), type(self).__name__
        rare = F.lit(self.getOrDefault(self.replaceWith))
        exprs = {}
        for c, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True):
            exprs[o] = map_categories(c, self.mapping(c), policy, stage, keep=rare).cast("string")
        return dataset.withColumns(exprs)
