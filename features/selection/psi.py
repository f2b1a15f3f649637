"""Population stability index: drop the columns whose distribution shifts across a split.

As feature-engine's ``DropHighPSIFeatures``: fit splits its data by ``splitCol`` into a
reference (values <= the cut-off) and a later part, measures each column's PSI between them and
decides then which columns to drop; the Model always drops exactly those, whatever batch it is
given. The binning and the PSI are lakeprep's one implementation (``lakeprep.stats.psi``), the
same as quality's drift check.

>>> rows = [(d, float(d if d <= 10 else d * 10), "DE" if d % 2 else "FR") for d in range(1, 21)]
>>> train = spark.createDataFrame(rows, ["event_day", "amount", "country"])
>>> model = DropUnstableFeatures(splitCol="event_day", cutOff="10", bins=2,
...                              threshold=0.25).fit(train)
>>> {c: round(v, 2) for c, v in model.psi_.items()}
{'amount': 3.52, 'country': 0.0}
>>> model.transform(train).columns  # amount dropped, in every batch
['event_day', 'country']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.base import InRange, Rule, check_params
from features.checks import NUMERIC_TYPES, require_columns, require_types
from features.errors import FeatureInputError, FeatureSpecError
from features.params import HasBins, HasDropThreshold
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.selection.base import (
    SelectorModel,
    _SelectorParams,
    resolve_columns,
)
from lakeprep.stats.psi import (
    MISSING_BUCKET,
    OTHER_BUCKET,
    bucket_counts,
    categorical_bucket,
    numeric_bucket,
    psi,
    quantile_edges,
    shares,
    top_categories,
)
from lakeprep.stats.types import CATEGORICAL_TYPES

log = logging.getLogger(f"lakeprep.{__name__}")

SPLIT_TYPES = NUMERIC_TYPES + (T.DateType, T.TimestampType, T.TimestampNTZType)


class _PSIParams(_SelectorParams, HasBins, HasDropThreshold):
    PARAM_RULES: dict[str, Rule] = {
        "threshold": InRange(0.0), "accuracy": InRange(1),
        "splitFrac": InRange(0.0, 1.0, low_open=True, high_open=True),
        "maxCategories": InRange(1)}

    splitCol = Param(Params._dummy(), "splitCol",
                     "numeric, date or timestamp column that orders the rows: the reference is "
                     "splitCol <= cut-off, the compared part splitCol > cut-off",
                     typeConverter=TypeConverters.toString)
    splitFrac = Param(Params._dummy(), "splitFrac",
                      "share of the rows (by splitCol) in the reference when cutOff is unset",
                      typeConverter=TypeConverters.toFloat)
    cutOff = Param(Params._dummy(), "cutOff",
        "splitCol value ending the reference (a number or an ISO date/timestamp)",
                   typeConverter=TypeConverters.toString)
    accuracy = Param(Params._dummy(), "accuracy",
                     "quantile accuracy of the bin edges (relative error 1 / accuracy)",
                     typeConverter=TypeConverters.toInt)
    maxCategories = Param(Params._dummy(), "maxCategories",
                          "categories of the reference kept as buckets (the rest: __other__)",
                          typeConverter=TypeConverters.toInt)
    FORMER_PARAMS = {"edges": "fitted: {numeric column: inner bin edges}",
                     "categories": "fitted: {categorical column: buckets}",
                     "expected": "fitted: {column: {bucket: reference share}}",
                     "psiValues": "fitted: {column: PSI across the split}"}
    PARAM_NOTES = {"bins": "quantile bins per numeric column (of the reference)",
                   "threshold": "drop a column when its PSI is > threshold"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(splitFrac=0.5, threshold=0.25, accuracy=10000,
                         maxCategories=1000)


@dataclass(frozen=True)
class Binning:
    """How a column is bucketed: by inner edges (numeric) or by reference categories."""

    edges: list[float] | None = None
    categories: list[str] | None = None

    def bucket(self, df: DataFrame, column: str) -> Column:
        """The bucket expression of ``column`` on ``df``."""
        dtype = df.schema[column].dataType
        if self.edges is not None:
            return numeric_bucket(column, self.edges, dtype)
        return categorical_bucket(column, self.categories or [], dtype)

    def names(self) -> list[str]:
        """Every bucket, ``__missing__`` (and ``__other__``) included."""
        if self.edges is not None:
            return [str(i) for i in range(len(self.edges) + 1)] + [MISSING_BUCKET]
        return [*(self.categories or []), OTHER_BUCKET, MISSING_BUCKET]


def measure(df: DataFrame, binning: Mapping[str, Binning],
            expected: Mapping[str, Mapping[str, float]], stage: str) -> dict[str, float]:
    """PSI of each binned column of ``df`` against its reference shares (one job)."""
    cols = list(binning)
    require_columns(df, cols, stage)
    counts = bucket_counts(df, {c: b.bucket(df, c) for c, b in binning.items()})
    rows = sum(counts[cols[0]].values()) if cols else 0
    if rows == 0:
        raise FeatureInputError(f"{stage}: no rows to measure the PSI on")
    return {c: psi(expected[c], shares(counts[c], b.names(), rows)) for c, b in binning.items()}


@register("drop_unstable")
class DropUnstableFeatures(Estimator, _PSIParams, StageReadable, StageWritable):
    """Drops the columns whose distribution shifts between two parts of the fit data (PSI).

    The rows with ``splitCol`` <= ``cutOff`` (default: the ``splitFrac`` quantile of splitCol)
    are the reference, the others the compared part; rows with a null splitCol are in neither.
    Numeric columns get ``bins`` equal-frequency bins of the reference (ties merged); categorical
    columns (string, boolean) one bucket per reference category (at most ``maxCategories``),
    other and unseen values share ``__other__``. Null and NaN form a ``__missing__`` bucket.
    Columns with PSI > ``threshold`` are dropped (0.1 moderate, 0.25 large shift are the usual
    readings); ``psi_`` keeps every column's value. Differences from feature-engine: bins are
    approximate quantiles (``accuracy``), shares are floored at 1e-4 (feature-engine's
    ``min_pct_empty_bins`` is 1e-4 too) and missing values are a bucket rather than an error.
    The Model's ``psi(df)`` measures any batch against the reference without dropping.

    >>> df = spark.sql("SELECT DATE_ADD(DATE'2024-02-20', CAST(id AS INT)) AS day, "
    ...                "CAST(id % 3 AS DOUBLE) AS amount FROM range(20)")
    >>> DropUnstableFeatures(splitCol="day", cutOff="2024-03-01").fit(df).features_to_drop_
    []
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, splitCol: str | None = None,
                 splitFrac: float = 0.5, cutOff: str | None = None, bins: int = 10,
                 threshold: float = 0.25, accuracy: int = 10000,
                 maxCategories: int = 1000) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, splitCol: str | None = None,
                  splitFrac: float = 0.5, cutOff: str | None = None, bins: int = 10,
                  threshold: float = 0.25, accuracy: int = 10000,
                  maxCategories: int = 1000) -> DropUnstableFeatures:
        """Set the params (keyword arguments only)."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    def validate_params(self) -> None:
        """splitCol is required: it says which rows are the reference."""
        if not self.isDefined(self.splitCol):
            raise FeatureSpecError(f"{type(self).__name__}: splitCol is required (the column "
                                   "whose values <= cutOff are the reference)")

    def _fit(self, dataset: DataFrame) -> DropUnstableFeaturesModel:
        check_params(self)
        name, split = type(self).__name__, self.getOrDefault(self.splitCol)
        require_columns(dataset, [split], name)
        require_types(dataset, [split], SPLIT_TYPES, name, "numeric, date or timestamp")
        cols = resolve_columns(dataset, self, NUMERIC_TYPES + CATEGORICAL_TYPES,
                               "numeric or categorical", exclude=(split,))
        key = _order_key(dataset, split)
        if self.isDefined(self.cutOff):
            cut = self.getOrDefault(self.cutOff)
            limit = (F.lit(cut).cast("double") if isinstance(dataset.schema[split].dataType,
                                                              NUMERIC_TYPES)
                     else F.lit(cut).cast("timestamp").cast("double"))
        else:
            found = dataset.select(key.alias("k")).approxQuantile(
                "k", [self.getOrDefault(self.splitFrac)], 1.0 / self.getOrDefault(self.accuracy))
            if not found:
                raise FeatureInputError(f"{name}: splitCol {split!r} has no value to split on "
                                        "(empty input or all null)")
            limit = F.lit(found[0])
        reference, compared = dataset.where(key <= limit), dataset.where(key > limit)
        numeric = [c for c in cols if isinstance(dataset.schema[c].dataType, NUMERIC_TYPES)]
        categorical = [c for c in cols if c not in numeric]
        relative_error = 1.0 / self.getOrDefault(self.accuracy)
        edges = quantile_edges(reference, numeric, self.getOrDefault(self.bins), relative_error)
        categories = top_categories(reference, categorical, self.getOrDefault(self.maxCategories))
        binning = {c: Binning(edges.get(c), categories.get(c)) for c in cols}
        counts = bucket_counts(reference, {c: b.bucket(reference, c) for c, b in binning.items()})
        rows = sum(counts[cols[0]].values())
        if rows == 0:
            raise FeatureInputError(f"{name}: the reference part (splitCol {split!r} <= cut-off) "
                                    "has no rows; set cutOff or splitFrac so that both parts "
                                    "have rows")
        expected = {c: shares(counts[c], b.names(), rows) for c, b in binning.items()}
        values = measure(compared, binning, expected, name)
        threshold = self.getOrDefault(self.threshold)
        dropped = [{"column": c, "reason": "unstable", "value": v}
                   for c, v in values.items() if v > threshold]
        log.info("%s: PSI %s; dropping %s", name, values, [d["column"] for d in dropped])
        model = DropUnstableFeaturesModel.with_reference(cols, dropped, values, binning, expected)
        return self._copyValues(model)._set(inputCols=cols)


def _order_key(df: DataFrame, column: str) -> Column:
    """splitCol as a double that orders the rows (dates and timestamps as epoch seconds)."""
    if isinstance(df.schema[column].dataType, NUMERIC_TYPES):
        return F.col(column).cast("double")
    return F.col(column).cast("timestamp").cast("double")


class DropUnstableFeaturesModel(SelectorModel, _PSIParams):
    """Drops the columns whose PSI across the fit split was above the threshold.

    Model data (``data/``): :class:`~features.selection.base.SelectorModel`'s (``value`` is the
    PSI) and each candidate's reference, ``psi DOUBLE, edges ARRAY<DOUBLE>, categories
    ARRAY<STRING>, buckets ARRAY<STRING>, referenceShares ARRAY<DOUBLE>``: the PSI across the
    fit split, the inner bin edges (numeric columns; else null) or the reference categories
    (categorical columns; else null), and each bucket's share of the reference rows.
    """

    DATA_SCHEMA = (f"{SelectorModel.DATA_SCHEMA}, psi DOUBLE, edges ARRAY<DOUBLE>, "
                   "categories ARRAY<STRING>, buckets ARRAY<STRING>, referenceShares ARRAY<DOUBLE>")

    @classmethod
    def with_reference(cls, cols: list[str], dropped: list[dict[str, Any]],
                       values: Mapping[str, float], binning: Mapping[str, Binning],
                       expected: Mapping[str, Mapping[str, float]]) -> DropUnstableFeaturesModel:
        """A model of the drop report, the PSI values and the reference of each column."""
        return cls.with_report(
            cols, dropped, psi=values, edges={c: b.edges for c, b in binning.items()},
            categories={c: b.categories for c, b in binning.items()},
            buckets={c: list(e) for c, e in expected.items()},
            referenceShares={c: list(e.values()) for c, e in expected.items()})

    @property
    def psi_(self) -> dict[str, float]:
        """PSI of every candidate column between the reference and the compared part."""
        rows = self.rows_by_column()
        return {c: rows[c]["psi"] for c in self.getInputCols()}

    @property
    def bin_edges_(self) -> dict[str, list[float]]:
        """The inner bin edges of every numeric candidate column (quantiles of the reference)."""
        rows = self.rows_by_column()
        return {c: list(rows[c]["edges"]) for c in self.getInputCols()
                if rows[c]["edges"] is not None}

    def psi(self, dataset: DataFrame) -> dict[str, float]:
        """PSI of each column of ``dataset`` against the reference (one job); drops nothing."""
        rows = self.rows_by_column()
        binning = {c: Binning(rows[c]["edges"], rows[c]["categories"])
                   for c in self.getInputCols()}
        return measure(dataset, binning, self.reference_shares(), type(self).__name__)

    def reference_shares(self) -> dict[str, dict[str, Any]]:
        """The reference share of every bucket of every column."""
        rows = self.rows_by_column()
        return {c: dict(zip(rows[c]["buckets"], rows[c]["referenceShares"], strict=True))
                for c in self.getInputCols()}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        edges, categories = params["edges"], params["categories"]
        return cls.with_reference(
            params["inputCols"], params["dropped"], params["psiValues"],
            {c: Binning(edges.get(c), categories.get(c)) for c in params["inputCols"]},
            params["expected"]).data_rows
