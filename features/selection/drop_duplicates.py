"""Drop columns whose values equal an earlier column's on every row (nulls equal nulls).

>>> df = spark.createDataFrame([(1, 5, 1), (2, 6, 2)], ["a", "b", "a_copy"])
>>> DropDuplicateFeatures(inputCols=["a", "b", "a_copy"]).fit(df).dropped_
[{'column': 'a_copy', 'reason': 'duplicate', 'value': 'a'}]
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.base import check_params
from features.checks import NUMERIC_TYPES, require_columns
from features.persistence import DataRow, StageReadable, StageWritable
from features.registry import register
from features.selection.base import SelectorModel, _SelectorParams, clean, require_rows
from lakeprep.frames import one_row

log = logging.getLogger(f"lakeprep.{__name__}")

_ROW = "__lakeprep_row_salt"


def _comparable(df: DataFrame, column: str) -> Column:
    # Numbers compare as doubles (1 == 1.0, as in pandas), everything else as text, so that a
    # numeric column never matches a string column that happens to print the same.
    if isinstance(df.schema[column].dataType, NUMERIC_TYPES):
        return clean(df, column).cast("double")
    return F.col(column).cast("string")


def _fingerprints(df: DataFrame, cols: list[str]) -> tuple[int, dict[str, tuple]]:
    """Row count and an order-aware fingerprint per column, in one aggregation.

    Each cell is hashed together with a per-row salt, so equal fingerprints mean equal values row
    by row with overwhelming probability; two 32-bit sums (different salts) keep the sums from
    overflowing a long.
    """
    salted = df.select(F.monotonically_increasing_id().alias(_ROW),
                       *[_comparable(df, c).alias(f"c{i}") for i, c in enumerate(cols)])
    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, _ in enumerate(cols):
        cell, kind = F.col(f"c{i}"), F.lit(str(salted.schema[f"c{i}"].dataType))
        aggs.append(F.sum(F.xxhash64(F.lit(1), F.col(_ROW), kind, cell).bitwiseAND(0xFFFFFFFF))
                    .alias(f"h{i}a"))
        aggs.append(F.sum(F.xxhash64(F.lit(2), cell, F.col(_ROW), kind).bitwiseAND(0xFFFFFFFF))
                    .alias(f"h{i}b"))
    row = one_row(salted.agg(*aggs))
    return int(row["rows"]), {c: (row[f"h{i}a"], row[f"h{i}b"]) for i, c in enumerate(cols)}


def _confirm(df: DataFrame, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], bool]:
    """Exact check of the candidate pairs (one aggregation; runs only when there are candidates)."""
    aggs = [F.sum(F.when(~_comparable(df, a).eqNullSafe(_comparable(df, b)), 1).otherwise(0))
            .alias(f"p{i}") for i, (a, b) in enumerate(pairs)]
    row = one_row(df.agg(*aggs))
    return {pair: row[f"p{i}"] == 0 for i, pair in enumerate(pairs)}


@register("drop_duplicates")
class DropDuplicateFeatures(Estimator, _SelectorParams, StageReadable,
                            StageWritable):
    """Finds duplicated columns of any type (feature-engine's DropDuplicateFeatures).

    Keeps the first column of each group in ``inputCols`` order (the frame's column order when
    unset) and drops the others; report ``value`` is the name of the kept column. Null and NaN
    are equal to each other; numeric columns are compared as doubles.

    >>> df = spark.createDataFrame([(1.0, 1.0), (2.5, 2.5)], ["amount", "amount_copy"])
    >>> DropDuplicateFeatures().fit(df).features_to_drop_
    ['amount_copy']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None) -> DropDuplicateFeatures:
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> DropDuplicateFeaturesModel:
        check_params(self)
        name = type(self).__name__
        cols = list(self.getInputCols()) if self.isSet(self.inputCols) else list(dataset.columns)
        require_columns(dataset, cols, name)
        rows, prints = _fingerprints(dataset, cols)
        require_rows(rows, name)
        groups: dict[tuple, list[str]] = defaultdict(list)
        for c in cols:
            groups[prints[c]].append(c)
        pairs = [(g[0], c) for g in groups.values() for c in g[1:]]
        same = _confirm(dataset, pairs) if pairs else {}
        kept_by = {c: first for (first, c) in pairs if same[(first, c)]}
        dropped = [{"column": c, "reason": "duplicate", "value": kept_by[c]}
                   for c in cols if c in kept_by]
        unconfirmed = [p for p, ok in same.items() if not ok]
        if unconfirmed:
            log.warning("%s: fingerprint collisions, not duplicates: %s", name, unconfirmed)
        log.info("%s: dropping %s", name, list(kept_by))
        model = DropDuplicateFeaturesModel.with_report(cols, dropped)
        return self._copyValues(model)._set(inputCols=cols)


class DropDuplicateFeaturesModel(SelectorModel):
    """Drops the duplicated columns found by :class:`DropDuplicateFeatures`.

    Model data (``data/``): :class:`~features.selection.base.SelectorModel`'s, ``keptColumn``
    naming the kept column each dropped one repeats (the report's ``value``).
    """

    def report_entry(self, row: DataRow) -> dict[str, Any]:
        """The report's entry: ``value`` names the kept column."""
        return {"column": row["column"], "reason": row["reason"], "value": row["keptColumn"]}
