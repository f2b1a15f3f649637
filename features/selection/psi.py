"""Population stability index: fit on a reference, drop the columns that drifted in new data.

>>> model = DropUnstableFeatures(threshold=0.25).fit(train)  # doctest: +SKIP
>>> kept = model.transform(scoring)  # doctest: +SKIP
>>> model.psi_  # doctest: +SKIP
{'amount': 0.31, 'country': 0.02}
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.checks import NUMERIC_TYPES, require_columns
from features.errors import FeatureInputError
from features.registry import register
from features.selection.base import (
    CATEGORICAL_TYPES,
    SelectorModel,
    _SelectorParams,
    clean,
    require_rows,
    resolve_columns,
)

log = logging.getLogger(__name__)

MISSING = "__missing__"
UNSEEN = "__unseen__"
# A bin empty on one side would make PSI infinite; the usual floor keeps it finite but large.
EPS = 1e-4


class _PSIParams(_SelectorParams):
    bins = Param(Params._dummy(), "bins", "quantile bins per numeric column (of the reference)",
                 typeConverter=TypeConverters.toInt)
    threshold = Param(Params._dummy(), "threshold", "drop a column when its PSI is > threshold",
                      typeConverter=TypeConverters.toFloat)
    accuracy = Param(Params._dummy(), "accuracy", "percentile_approx accuracy for the bin edges",
                     typeConverter=TypeConverters.toInt)
    edges = Param(Params._dummy(), "edges", "fitted: {numeric column: inner bin edges}")
    expected = Param(Params._dummy(), "expected", "fitted: {column: {bin: reference share}}")

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(bins=10, threshold=0.25, accuracy=10000, edges={}, expected={})


def _bin(df: DataFrame, column: str, edges: list[float] | None) -> Column:
    """The bin of each value: ``b<i>`` for numbers (by ``edges``), the value for categories."""
    value = clean(df, column)
    if edges is None:
        return F.coalesce(value.cast("string"), F.lit(MISSING))
    label = F.when(value.isNull(), F.lit(MISSING))
    for i, edge in enumerate(edges):
        label = label.when(value < F.lit(edge), F.lit(f"b{i}"))
    return label.otherwise(F.lit(f"b{len(edges)}"))


def bin_shares(df: DataFrame, edges: dict[str, list[float]], cols: list[str]
               ) -> tuple[int, dict[str, dict[str, float]]]:
    """Row count and the share of rows in each bin of each column, in one aggregation."""
    pairs = F.stack(F.lit(len(cols)), *[x for c in cols
                                        for x in (F.lit(c), _bin(df, c, edges.get(c)))])
    rows = df.select(pairs.alias("column", "bin")).groupBy("column", "bin").count().collect()
    counts: dict[str, dict[str, int]] = {c: {} for c in cols}
    for r in rows:  # one row per (column, bin): bins are few for numbers, categories for text
        counts[r["column"]][r["bin"]] = r["count"]
    total = sum(counts[cols[0]].values()) if cols else 0
    return total, {c: {b: n / total for b, n in bins.items()} for c, bins in counts.items()}


def psi(expected: dict[str, float], actual: dict[str, float]) -> float:
    """PSI = sum over bins of (a - e) * ln(a / e), shares floored at 1e-4.

    >>> round(psi({"b0": 0.5, "b1": 0.5}, {"b0": 0.6, "b1": 0.4}), 4)
    0.0405
    """
    total = 0.0
    for b in set(expected) | set(actual):
        e, a = max(expected.get(b, 0.0), EPS), max(actual.get(b, 0.0), EPS)
        total += (a - e) * math.log(a / e)
    return total


@register("drop_unstable")
class DropUnstableFeatures(Estimator, _PSIParams, DefaultParamsReadable, DefaultParamsWritable):
    """Learns each column's distribution on a reference; its Model drops columns that drifted.

    Numeric columns get ``bins`` quantile bins of the reference (ties merge bins); categorical
    columns (string, boolean) one bin per reference value, and values unseen in the reference share
    one ``__unseen__`` bin. Null and NaN form a ``__missing__`` bin. The Model's ``transform``
    measures the data it is given (one aggregation, run eagerly), keeps ``psi_`` and ``dropped_``
    of that call, and drops columns with PSI > ``threshold`` (0.1 moderate, 0.25 large shift are
    the usual readings). ``psi(df)`` measures without dropping.

    >>> DropUnstableFeatures(threshold=0.2).fit(reference).transform(current)  # doctest: +SKIP
    """

    @keyword_only
    def __init__(self, *, inputCols=None, bins=10, threshold=0.25, accuracy=10000):
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols=None, bins=10, threshold=0.25, accuracy=10000):
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> DropUnstableFeaturesModel:
        name = type(self).__name__
        bins = self.getOrDefault(self.bins)
        if bins < 2:
            raise FeatureInputError(f"{name}: bins must be >= 2, found {bins}")
        cols = resolve_columns(dataset, self, NUMERIC_TYPES + CATEGORICAL_TYPES,
                               "numeric or categorical")
        numeric = [c for c in cols if isinstance(dataset.schema[c].dataType, NUMERIC_TYPES)]
        edges: dict[str, list[float]] = {}
        if numeric:
            probs = [i / bins for i in range(1, bins)]
            row = dataset.agg(*[
                F.percentile_approx(clean(dataset, c).cast("double"), probs,
                                    self.getOrDefault(self.accuracy)).alias(f"q{i}")
                for i, c in enumerate(numeric)]).first()
            # an all-null column has no edges: all of it lands in the missing bin
            edges = {c: sorted(set(row[f"q{i}"] or [])) for i, c in enumerate(numeric)}
        rows, shares = bin_shares(dataset, edges, cols)
        require_rows(rows, name)
        model = DropUnstableFeaturesModel()
        self._copyValues(model)
        return model._set(inputCols=cols, edges=edges, expected=shares)


class DropUnstableFeaturesModel(SelectorModel, _PSIParams):
    """Drops the columns whose PSI against the reference is above the threshold."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, float] = {}

    def psi(self, dataset: DataFrame) -> dict[str, float]:
        """PSI of each column of ``dataset`` against the reference (one aggregation)."""
        cols = self.getInputCols()
        require_columns(dataset, cols, type(self).__name__)
        edges, expected = self.getOrDefault(self.edges), self.getOrDefault(self.expected)
        rows, actual = bin_shares(dataset, edges, cols)
        require_rows(rows, type(self).__name__)
        out = {}
        for c in cols:
            seen = expected[c]
            shares = actual[c]
            if c not in edges:  # categories the reference never had go to one bin
                unseen = sum(v for b, v in shares.items() if b not in seen)
                shares = {b: v for b, v in shares.items() if b in seen}
                if unseen:
                    shares[UNSEEN] = unseen
            out[c] = psi(seen, shares)
        return out

    @property
    def psi_(self) -> dict[str, float]:
        """PSI per column measured by the last ``transform`` (empty before any)."""
        return dict(self._last)

    @property
    def dropped_(self) -> list[dict[str, Any]]:
        """Columns the last ``transform`` dropped: ``{column, reason: 'unstable', value: psi}``."""
        threshold = self.getOrDefault(self.threshold)
        return [{"column": c, "reason": "unstable", "value": v}
                for c, v in self._last.items() if v > threshold]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        self._last = self.psi(dataset)
        drop = self.features_to_drop_
        log.info("DropUnstableFeaturesModel: PSI %s; dropping %s", self._last, drop)
        return dataset.drop(*drop)
