"""WoEEncoder: replaces categories by their weight of evidence for a binary label."""

from __future__ import annotations

import math
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasLabelCol
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import FittedModel, InRange, Rule, check_params, fitted_param
from features.checks import require_columns
from features.encoding.base import (
    TOTAL,
    _EncoderParams,
    category_stats,
    map_categories,
)
from features.errors import FeatureInputError
from features.registry import register


class _WoEParams(_EncoderParams, HasLabelCol):
    PARAM_RULES: dict[str, Rule] = {"smoothing": InRange(0.0)}

    smoothing = Param(Params._dummy(), "smoothing",
                      "pseudo-count added to each category's positives and negatives",
                      typeConverter=TypeConverters.toFloat)
    woeValues = fitted_param("woeValues", "fitted [category, WoE] pairs per column")
    informationValues = fitted_param("informationValues", "fitted information value per column")

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(smoothing=0.5, woeValues={}, informationValues={})

    @property
    def encoder_dict_(self) -> dict[str, dict[str, float]]:
        """Fitted WoE of every category, per column."""
        return {c: dict(p) for c, p in self.getOrDefault(self.woeValues).items()}

    @property
    def information_value_(self) -> dict[str, float]:
        """Information value of every column: sum over categories of (p_pos - p_neg) * WoE."""
        return dict(self.getOrDefault(self.informationValues))


@register("woe_encode")
class WoEEncoder(Estimator, _WoEParams, DefaultParamsReadable, DefaultParamsWritable):
    """Replaces categories by ln(P(category | label=1) / P(category | label=0)).

    The label must be 0/1 (rows with a null label are ignored). With ``smoothing`` a (default
    0.5) each category's positives and negatives get a pseudo-count a, so a category seen with
    one class only has a finite WoE; with a=0 it is feature-engine's WoEEncoder and a category
    without positives or negatives fails the fit, naming it. Null gives null; unseen categories
    with ``handleUnseen='keep'`` get 0 (no evidence either way).

    >>> WoEEncoder(inputCols=["segment"], labelCol="purchased_next_30d").fit(df)  # doctest: +SKIP
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
        woe, iv = {}, {}
        for c in cols:
            st, k = stats[c], len(stats[c])
            bad = [v for v, s in st.items()
                   if a == 0 and (s.label_sum == 0 or s.count == s.label_sum)]
            if bad:
                raise FeatureInputError(
                    f"{stage}: categories {sorted(bad)[:10]} of column '{c}' have no positive or "
                    "no negative rows, so their WoE is infinite; set smoothing > 0")
            pairs, info = [], 0.0
            for v in sorted(st):
                p = (st[v].label_sum + a) / (pos_all + a * k)
                n = (st[v].count - st[v].label_sum + a) / (neg_all + a * k)
                w = math.log(p / n)
                pairs.append([v, w])
                info += (p - n) * w
            woe[c], iv[c] = pairs, info
        model = WoEEncoderModel()
        self._copyValues(model)
        return model._set(woeValues=woe, informationValues=iv)


class WoEEncoderModel(FittedModel, _WoEParams):
    """Maps categories to the fitted WoE in ``encoder_dict_``."""

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self.validate_encoder(dataset)
        policy, stage = self.getOrDefault(self.handleUnseen), type(self).__name__
        exprs = {}
        for c, o in zip(self.getInputCols(), self.resolved_output_cols(), strict=True):
            exprs[o] = map_categories(c, self.encoder_dict_.get(c, {}), policy, stage,
                                      keep=F.lit(0.0)).cast("double")
        return dataset.withColumns(exprs)
