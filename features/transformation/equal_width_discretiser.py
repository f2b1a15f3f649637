"""EqualWidthDiscretiser: sorts values into bins of equal width learnt from min and max."""

from __future__ import annotations

import numpy as np
from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.feature import Bucketizer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols, HasOutputCols
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.checks import require_new_columns, require_numeric
from features.errors import FeatureInputError, FeatureSpecError
from features.registry import register
from features.transformation.base import aggregate, check_choice, finite_value

HANDLE_INVALID = ("error", "skip", "keep")


@register("equal_width_discretise")
class EqualWidthDiscretiser(Estimator, HasInputCols, HasOutputCols, DefaultParamsReadable,
                            DefaultParamsWritable):
    """Learns ``bins`` equal-width intervals between each column's min and max.

    The fitted model is MLlib's ``Bucketizer`` (no stage is rewritten): interior edges are
    ``linspace(min, max, bins + 1)[1:-1]`` and the outer edges are -inf/+inf, so values beyond
    the fit range fall in the first or last bin (as feature-engine). Intervals are [a, b), where
    feature-engine's are (a, b]: only values exactly on an interior edge differ. Min and max of
    all columns come from one aggregation over finite values. Null, NaN follow MLlib's
    ``handleInvalid`` (error, skip, keep: NaN/null into an extra bucket ``bins``).
    Equal-frequency bins are MLlib's QuantileDiscretizer (op ``equal_frequency_discretise``),
    given edges its Bucketizer (op ``bucketize``).

    >>> EqualWidthDiscretiser(inputCols=["amount"], outputCols=["amount_bin"],
    ...                       bins=5).fit(df).getSplitsArray()  # doctest: +SKIP
    """

    bins = Param(Params._dummy(), "bins", "number of intervals", TypeConverters.toInt)
    handleInvalid = Param(Params._dummy(), "handleInvalid",
                          f"null and NaN: one of {HANDLE_INVALID} (as MLlib's Bucketizer)",
                          TypeConverters.toString)

    @keyword_only
    def __init__(self, *, inputCols=None, outputCols=None, bins=10, handleInvalid="keep"):
        super().__init__()
        self._setDefault(bins=10, handleInvalid="keep")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, outputCols=None, bins=10, handleInvalid="keep"):
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> Bucketizer:
        stage, cols, bins = type(self).__name__, self.getInputCols(), self.getOrDefault(self.bins)
        check_choice(stage, "handleInvalid", self.getOrDefault(self.handleInvalid),
                     HANDLE_INVALID)
        if bins < 2:
            raise FeatureSpecError(f"{stage}: bins must be >= 2, got {bins}")
        if not self.isDefined(self.outputCols) or len(self.getOutputCols()) != len(cols):
            raise FeatureSpecError(f"{stage}: give one outputCols name per inputCols name")
        require_numeric(dataset, cols, stage)
        require_new_columns(dataset, self.getOutputCols(), stage)
        exprs = {}
        for c in cols:
            exprs[f"{c}/min"], exprs[f"{c}/max"] = F.min(finite_value(c)), F.max(finite_value(c))
        stats = aggregate(dataset, exprs)
        empty = [c for c in cols if stats[f"{c}/min"] is None]
        if empty:
            raise FeatureInputError(f"{stage}: column(s) {empty} have no finite value")
        splits = []
        for c in cols:
            lo, hi = stats[f"{c}/min"], stats[f"{c}/max"]
            inner = sorted(set(np.linspace(lo, hi, bins + 1)[1:-1].tolist())) if hi > lo else [lo]
            splits.append([-float("inf"), *inner, float("inf")])
        return Bucketizer(splitsArray=splits, inputCols=cols, outputCols=self.getOutputCols(),
                          handleInvalid=self.getOrDefault(self.handleInvalid))
