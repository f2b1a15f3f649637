"""What every selector shares: the fitted drop report, the Model that drops, column resolution.

A selector is an Estimator; its Model drops the columns found at fit time and reports them:

>>> from features.selection import DropConstantFeatures
>>> df = spark.createDataFrame([(1.0, 1.0), (2.0, 1.0)], ["a", "b"])
>>> model = DropConstantFeatures(inputCols=["a", "b"]).fit(df)
>>> model.dropped_
[{'column': 'b', 'reason': 'constant', 'value': 1.0}]
>>> model.transform(df).columns
['a']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pyspark.ml.param import Params
from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.checks import require_columns
from features.errors import FeatureInputError
from features.persistence import DataRow, FittedModel
from lakeprep.stats.types import FLOAT_TYPES

log = logging.getLogger(f"lakeprep.{__name__}")



class _SelectorParams(HasInputCols):
    """Params shared by every selector and its Model.

    ``inputCols`` are the candidate columns; when unset, fit takes every column of the types the
    selector works on (minus the label, if any) and the Model records the resolved list.
    """

    FORMER_PARAMS = {"dropped": "fitted: the columns the model drops, as a list of "
                                "{column, reason, value}"}


class SelectorModel(FittedModel, _SelectorParams):
    """Drops the columns its Estimator found; ``dropped_`` says which and why.

    Model data (``data/``): one row per candidate column (``inputCols``), ``column STRING,
    dropRank INT, reason STRING, value DOUBLE, keptColumn STRING``: ``dropRank`` is the
    column's place in the drop report (0 first; null for a column that is kept), ``reason``
    why it is dropped, ``value`` the measure behind it, ``keptColumn`` the kept column it
    repeats or correlates with. Selectors that measure more add fields (their docstrings).
    """

    DATA_SCHEMA = "column STRING, dropRank INT, reason STRING, value DOUBLE, keptColumn STRING"

    @classmethod
    def with_report(cls, cols: Sequence[str], dropped: Sequence[Mapping[str, Any]],
                    **measures: Mapping[str, Any]) -> Any:
        """A model of the candidate ``cols`` dropping the report's columns.

        ``dropped``: the report, one ``{"column", "reason", "value"}`` per dropped column (a
        string value or a ``with`` entry is the kept column); ``measures``: per column, more
        fields of its row (by field name, then column).
        """
        rank = {d["column"]: (i, d) for i, d in enumerate(dropped)}
        rows = []
        for c in cols:
            i, entry = rank.get(c, (None, {}))
            value = entry.get("value")
            rows.append({"column": c, "dropRank": i, "reason": entry.get("reason"),
                         "value": None if isinstance(value, str) else value,
                         "keptColumn": value if isinstance(value, str) else entry.get("with"),
                         **{field: by_column.get(c) for field, by_column in measures.items()}})
        return cls.with_rows(rows)

    def report_entry(self, row: DataRow) -> dict[str, Any]:
        """The drop report's entry of a dropped column's row."""
        entry = {"column": row["column"], "reason": row["reason"], "value": row["value"]}
        if row["keptColumn"] is not None:
            entry["with"] = row["keptColumn"]
        return entry

    @property
    def dropped_(self) -> list[dict[str, Any]]:
        """One entry per dropped column: ``{"column", "reason", "value"}`` (plus details)."""
        dropped = sorted((r for r in self._rows if r["dropRank"] is not None),
                         key=lambda r: r["dropRank"])
        return [self.report_entry(r) for r in dropped]

    def getDropped(self) -> list[dict[str, Any]]:
        """The fitted drop report (a list of {column, reason, value}), as ``dropped_``."""
        return self.dropped_

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        return cls.with_report(params["inputCols"], params["dropped"]).data_rows

    @property
    def features_to_drop_(self) -> list[str]:
        """The names of the dropped columns, in report order (feature-engine's name)."""
        return [d["column"] for d in self.dropped_]

    @property
    def selected_features_(self) -> list[str]:
        """The candidate columns that are kept, in ``inputCols`` order."""
        drop = set(self.features_to_drop_)
        return [c for c in self.getInputCols() if c not in drop]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        drop = self.features_to_drop_
        require_columns(dataset, drop, type(self).__name__)
        return dataset.drop(*drop)


def resolve_columns(df: DataFrame, stage: Params, allowed: tuple[type, ...], what: str,
                    exclude: tuple[str, ...] = ()) -> list[str]:
    """The stage's ``inputCols`` checked against ``allowed`` types, or every such column of ``df``.

    >>> from features.checks import NUMERIC_TYPES
    >>> from features.selection import DropLowVariance
    >>> df = spark.createDataFrame([(1.0, "DE", 3)], ["amount", "country", "tenure_days"])
    >>> resolve_columns(df, DropLowVariance(), NUMERIC_TYPES, "numeric")
    ['amount', 'tenure_days']
    """
    name = type(stage).__name__
    if stage.isSet("inputCols"):
        cols = list(stage.getOrDefault("inputCols"))
        require_columns(df, cols, name)
        wrong = {c: df.schema[c].dataType.simpleString() for c in cols
                 if not isinstance(df.schema[c].dataType, allowed)}
        if wrong:
            raise FeatureInputError(
                f"{name}: {what} column(s) expected in inputCols, found {wrong}")
        clash = [c for c in cols if c in exclude]
        if clash:
            raise FeatureInputError(f"{name}: inputCols must not contain the label {clash}")
    else:
        cols = [f.name for f in df.schema.fields
                if isinstance(f.dataType, allowed) and f.name not in exclude]
        log.info("%s: inputCols not set; using the %d %s columns %s", name, len(cols), what, cols)
    if len(set(cols)) != len(cols):
        raise FeatureInputError(f"{name}: inputCols has repeated names: {cols}")
    if not cols:
        raise FeatureInputError(f"{name}: no {what} columns to select from in {df.columns}")
    return cols


def clean(df: DataFrame, column: str) -> Column:
    """The column with NaN turned into null, so that NaN counts as missing like in pandas."""
    col = F.col(column)
    if isinstance(df.schema[column].dataType, FLOAT_TYPES):
        return F.when(F.isnan(col), F.lit(None)).otherwise(col)
    return col


def require_rows(n_rows: int, stage: str) -> None:
    """Raise when fit got an empty DataFrame: nothing can be measured on zero rows."""
    if n_rows == 0:
        raise FeatureInputError(f"{stage}: cannot fit on an empty DataFrame (0 rows)")

