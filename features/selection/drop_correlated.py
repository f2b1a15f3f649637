"""Drop numeric columns whose |Pearson correlation| with an earlier kept column exceeds a threshold.

>>> m = DropCorrelatedFeatures(inputCols=["a", "b", "c"], threshold=0.9).fit(df)  # doctest: +SKIP
>>> m.dropped_  # doctest: +SKIP
[{'column': 'b', 'reason': 'correlated', 'value': 0.97, 'with': 'a'}]
"""

from __future__ import annotations

import logging
import math

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.checks import NUMERIC_TYPES
from features.errors import FeatureInputError
from features.registry import register
from features.selection.base import (
    SelectorModel,
    _SelectorParams,
    clean,
    require_rows,
    resolve_columns,
)

log = logging.getLogger(__name__)


class _DropCorrelatedParams(_SelectorParams):
    threshold = Param(Params._dummy(), "threshold",
                      "drop a column when |corr| with a kept column is > threshold",
                      typeConverter=TypeConverters.toFloat)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(threshold=0.8)


def pairwise_correlations(df: DataFrame, cols: list[str]
                          ) -> tuple[int, dict[tuple[str, str], float]]:
    """Row count and Pearson r of every pair (i < j), in one aggregation.

    Each pair uses the rows where both are non-null (pandas' ``corr``); NaN counts as null. A pair
    with a constant column has no correlation (NaN).
    """
    cleaned = df.select(*[clean(df, c).alias(f"c{i}") for i, c in enumerate(cols)])
    pairs = [(i, j) for i in range(len(cols)) for j in range(i + 1, len(cols))]
    aggs = [F.count(F.lit(1)).alias("rows")]
    aggs += [F.corr(f"c{i}", f"c{j}").alias(f"r{i}_{j}") for i, j in pairs]
    row = cleaned.agg(*aggs).first()
    corr = {}
    for i, j in pairs:
        r = row[f"r{i}_{j}"]
        corr[(cols[i], cols[j])] = math.nan if r is None else float(r)
    return int(row["rows"]), corr


@register("drop_correlated")
class DropCorrelatedFeatures(Estimator, _DropCorrelatedParams, DefaultParamsReadable,
                             DefaultParamsWritable):
    """Finds groups of correlated numeric columns and keeps the first of each group.

    Walks ``inputCols`` in order (the frame's numeric columns in order when unset): a column not
    yet examined is kept, and every later unexamined column with |r| > threshold against it is
    dropped - feature-engine's DropCorrelatedFeatures algorithm, except that feature-engine first
    sorts the columns by name (pass sorted ``inputCols`` to get its choice). Report: ``value`` is
    the signed r, ``with`` the kept column.

    >>> DropCorrelatedFeatures(threshold=0.95).fit(df).features_to_drop_  # doctest: +SKIP
    ['amount_mean_90d']
    """

    @keyword_only
    def __init__(self, *, inputCols=None, threshold=0.8):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, threshold=0.8):
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> DropCorrelatedFeaturesModel:
        name = type(self).__name__
        threshold = self.getOrDefault(self.threshold)
        if not 0.0 <= threshold <= 1.0:
            raise FeatureInputError(f"{name}: threshold must be in [0, 1], found {threshold}")
        cols = resolve_columns(dataset, self, NUMERIC_TYPES, "numeric")
        rows, corr = pairwise_correlations(dataset, cols)
        require_rows(rows, name)
        examined: set[str] = set()
        dropped = []
        for i, keep in enumerate(cols):
            if keep in examined:
                continue
            examined.add(keep)
            for other in cols[i + 1:]:
                r = corr[(keep, other)]
                if other not in examined and abs(r) > threshold:  # NaN compares False
                    examined.add(other)
                    dropped.append({"column": other, "reason": "correlated", "value": r,
                                    "with": keep})
        log.info("%s: dropping %s", name, [d["column"] for d in dropped])
        model = DropCorrelatedFeaturesModel()
        self._copyValues(model)
        return model._set(inputCols=cols, dropped=dropped)


class DropCorrelatedFeaturesModel(SelectorModel, _DropCorrelatedParams):
    """Drops the correlated columns found by :class:`DropCorrelatedFeatures`."""
