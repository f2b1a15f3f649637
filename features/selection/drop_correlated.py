"""Drop numeric columns whose |Pearson correlation| with an earlier kept column exceeds a threshold.

>>> df = spark.createDataFrame([(1.0, 2.1, 5.0), (2.0, 3.9, 1.0), (3.0, 6.2, 4.0),
...                             (4.0, 7.8, 2.0)], ["a", "b", "c"])
>>> m = DropCorrelatedFeatures(inputCols=["a", "b", "c"], threshold=0.9).fit(df)
>>> [{k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()} for d in m.dropped_]
[{'column': 'b', 'reason': 'correlated', 'value': 0.9978, 'with': 'a'}]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, Rule, aggregate, check_params, finite_value
from features.checks import NUMERIC_TYPES
from features.params import HasDropThreshold
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.selection.base import (
    SelectorModel,
    _SelectorParams,
    require_rows,
    resolve_columns,
)

log = logging.getLogger(f"lakeprep.{__name__}")


class _DropCorrelatedParams(_SelectorParams, HasDropThreshold):
    PARAM_RULES: dict[str, Rule] = {"threshold": InRange(0.0, 1.0)}
    PARAM_NOTES = {"threshold": "drop a column when |corr| with a kept column is > threshold"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(threshold=0.8)


def pairwise_correlations(df: DataFrame, cols: list[str], stage: str = "drop_correlated"
                          ) -> tuple[int, dict[tuple[str, str], float]]:
    """Row count and Pearson r of every pair (i < j): one job for the ranges, one for all sums.

    Each pair uses the rows where both values are finite (pandas' pairwise ``corr``; null, NaN
    and +-inf are missing). Values are first centred and scaled into [-1, 1] by each column's
    mid-range and half-range (``x / h - c / h``, which cannot overflow even near +-1.8e308),
    then every executor sums, per pair, the count, the sums and the cross-products of its rows
    as d x d matrices (numpy over Arrow batches), and the driver adds one small row per
    partition. A pair with a constant column has no correlation (NaN).
    """
    ranges = {"rows": F.count(F.lit(1))}
    for i, c in enumerate(cols):
        v = finite_value(c)
        ranges[f"min{i}"], ranges[f"max{i}"] = F.min(v), F.max(v)
    stats = aggregate(df, ranges)
    scaled = []
    for i, c in enumerate(cols):
        lo, hi = stats[f"min{i}"], stats[f"max{i}"]
        if lo is None or lo == hi:  # no value, or constant: no correlation with anything
            scaled.append(F.lit(None).cast("double").alias(f"c{i}"))
            continue
        centre, half = lo / 2 + hi / 2, hi / 2 - lo / 2
        scaled.append((finite_value(c) / F.lit(half) - F.lit(centre / half)).alias(f"c{i}"))
    d = len(cols)
    schema = "n array<double>, sx array<double>, sxx array<double>, sxy array<double>"
    parts = df.select(*scaled).mapInPandas(lambda batches: _cross_sums(batches, d), schema)
    totals = {k: np.zeros((d, d)) for k in ("n", "sx", "sxx", "sxy")}
    for row in parts.collect():  # one row of four d x d matrices per partition
        for k in totals:
            totals[k] += np.asarray(row[k]).reshape(d, d)
    n, sx, sxx, sxy = (totals[k] for k in ("n", "sx", "sxx", "sxy"))
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = n * sxy - sx * sx.T
        var = n * sxx - sx * sx
        r = cov / np.sqrt(var * var.T)
    corr = {}
    for i in range(d):
        for j in range(i + 1, d):
            value = float(np.clip(r[i, j], -1.0, 1.0)) if n[i, j] > 1 else math.nan
            corr[(cols[i], cols[j])] = value if math.isfinite(value) else math.nan
    log.info("%s: %d pairwise correlations from %d rows", stage, len(corr), stats["rows"])
    return int(stats["rows"]), corr


def _cross_sums(batches: Iterable[pd.DataFrame], d: int) -> Iterator[pd.DataFrame]:
    """Per partition: pairwise-complete counts, sums, sums of squares and cross-products."""
    n, sx, sxx, sxy = (np.zeros((d, d)) for _ in range(4))
    for batch in batches:
        x = batch.to_numpy(dtype=float, na_value=np.nan)
        present = (~np.isnan(x)).astype(float)
        x0 = np.where(present > 0, x, 0.0)
        n += present.T @ present
        sx += x0.T @ present  # sx[i, j]: sum of x_i over rows where x_j is present too
        sxx += (x0 * x0).T @ present
        sxy += x0.T @ x0
    yield pd.DataFrame({"n": [n.ravel()], "sx": [sx.ravel()], "sxx": [sxx.ravel()],
                        "sxy": [sxy.ravel()]})


@register("drop_correlated")
class DropCorrelatedFeatures(Estimator, _DropCorrelatedParams, StageReadable,
                             StageWritable):
    """Finds groups of correlated numeric columns and keeps the first of each group.

    Walks ``inputCols`` in order (the frame's numeric columns in order when unset): a column not
    yet examined is kept, and every later unexamined column with |r| > threshold against it is
    dropped - feature-engine's DropCorrelatedFeatures algorithm, except that feature-engine first
    sorts the columns by name (pass sorted ``inputCols`` to get its choice). Report: ``value`` is
    the signed r, ``with`` the kept column.

    >>> df = spark.createDataFrame([(1.0, 0.5, 9.0), (2.0, 1.0, 3.0), (3.0, 1.5, 7.0)],
    ...                            ["amount_sum_90d", "amount_mean_90d", "tenure_days"])
    >>> DropCorrelatedFeatures(threshold=0.95).fit(df).features_to_drop_
    ['amount_mean_90d']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, threshold: float = 0.8) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, threshold: float = 0.8,
        ) -> DropCorrelatedFeatures:
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> DropCorrelatedFeaturesModel:
        name = type(self).__name__
        threshold = self.getOrDefault(self.threshold)
        check_params(self)
        cols = resolve_columns(dataset, self, NUMERIC_TYPES, "numeric")
        rows, corr = pairwise_correlations(dataset, cols, name)
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
        model = DropCorrelatedFeaturesModel.with_report(cols, dropped)
        return self._copyValues(model)._set(inputCols=cols)


class DropCorrelatedFeaturesModel(SelectorModel, _DropCorrelatedParams):
    """Drops the correlated columns found by :class:`DropCorrelatedFeatures`."""
