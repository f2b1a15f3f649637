"""WoEEncoder: replaces categories by their weight of evidence for a binary label."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasLabelCol
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, Rule, check_params
from features.checks import require_columns
from features.encoding.base import (
    TOTAL,
    _CategoryModel,
    _EncoderParams,
    category_stats,
    map_categories,
)
from features.errors import FeatureInputError
from features.persistence import DataRow, StageReadable, StageWritable
from features.registry import register


class _WoEParams(_EncoderParams, HasLabelCol):
    PARAM_RULES: dict[str, Rule] = {"smoothing": InRange(0.0)}

    smoothing = Param(Params._dummy(), "smoothing",
                      "pseudo-count added to each category's positives and negatives",
                      typeConverter=TypeConverters.toFloat)
    FORMER_PARAMS = {"woeValues": "fitted [category, WoE] pairs per column",
                     "informationValues": "fitted information value per column"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(smoothing=0.5)


@register("woe_encode")
class WoEEncoder(Estimator, _WoEParams, StageReadable, StageWritable):
    """Replaces categories by ln(P(category | label=1) / P(category | label=0)).

    The label must be 0/1 (rows with a null label are ignored). With ``smoothing`` a (default
    0.5) each category's positives and negatives get a pseudo-count a, so a category seen with
    one class only has a finite WoE; with a=0 it is feature-engine's WoEEncoder and a category
    without positives or negatives fails the fit, naming it. Null gives null; unseen categories
    with ``handleUnseen='keep'`` get 0 (no evidence either way).

    >>> df = spark.createDataFrame([("gold", 1), ("gold", 1), ("gold", 0), ("silver", 0),
    ...                             ("silver", 0), ("silver", 1)], ["segment", "purchased"])
    >>> model = WoEEncoder(inputCols=["segment"], outputCols=["segment_woe"],
    ...                    labelCol="purchased").fit(df)
    >>> sorted((r.segment, round(r.segment_woe, 4))
    ...        for r in model.transform(df).select("segment", "segment_woe").distinct().collect())
    [('gold', 0.5108), ('silver', -0.5108)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 labelCol: str = "label", smoothing: float = 0.5, handleUnseen: str = "error",
        ) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  labelCol: str = "label", smoothing: float = 0.5, handleUnseen: str = "error",
        ) -> WoEEncoder:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> WoEEncoderModel:
        stage, cols, label = type(self).__name__, self.getInputCols(), self.getLabelCol()
        a = self.getOrDefault(self.smoothing)
        check_params(self)
        self.validate_encoder(dataset)
        require_columns(dataset, [label], stage)
        stats = category_stats(dataset, cols, label, with_totals=True)
        total = stats[TOTAL].get("")
        pos_all = total.label_sum if total else 0.0
        neg_all = (total.count - total.label_sum) if total else 0.0
        if pos_all <= 0 or neg_all <= 0:
            raise FeatureInputError(f"{stage}: label '{label}' needs both classes 0 and 1 at "
                                    f"fit; found {pos_all:g} positives, {neg_all:g} negatives")
        rows = []
        for c in cols:
            st, k = stats[c], len(stats[c])
            bad = [v for v, s in st.items()
                   if a == 0 and (s.label_sum == 0 or s.count == s.label_sum)]
            if bad:
                raise FeatureInputError(
                    f"{stage}: categories {sorted(bad)[:10]} of column '{c}' have no positive or "
                    "no negative rows, so their WoE is infinite; set smoothing > 0")
            categories, woe, info = sorted(st), [], 0.0
            for v in categories:
                p = (st[v].label_sum + a) / (pos_all + a * k)
                n = (st[v].count - st[v].label_sum + a) / (neg_all + a * k)
                w = math.log(p / n)
                woe.append(w)
                info += (p - n) * w
            rows.append({"column": c, "categories": categories, "woe": woe,
                         "informationValue": info})
        return self._copyValues(WoEEncoderModel.with_rows(rows))


class WoEEncoderModel(_CategoryModel, _WoEParams):
    """Maps categories to the fitted WoE in ``encoder_dict_``.

    Model data (``data/``): one row per input column, ``column STRING, categories
    ARRAY<STRING>, woe ARRAY<DOUBLE>, informationValue DOUBLE`` (each category's WoE, and the
    column's information value).
    """

    DATA_SCHEMA = ("column STRING, categories ARRAY<STRING>, woe ARRAY<DOUBLE>, "
                   "informationValue DOUBLE")
    VALUE_FIELD = "woe"

    @property
    def information_value_(self) -> dict[str, float]:
        """Information value of every column: sum over categories of (p_pos - p_neg) * WoE."""
        rows = self.rows_by_column()
        return {c: rows[c]["informationValue"] for c in self.getInputCols() if c in rows}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        rows = cls.rows_from_pairs(params["woeValues"])
        for r in rows:
            r["informationValue"] = params["informationValues"][r["column"]]
        return rows

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self.validate_encoder(dataset)
        policy, stage = self.getOrDefault(self.handleUnseen), type(self).__name__
        exprs = {}
        for c, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True):
            exprs[o] = map_categories(c, self.mapping(c), policy, stage,
                                      keep=F.lit(0.0)).cast("double")
        return dataset.withColumns(exprs)
