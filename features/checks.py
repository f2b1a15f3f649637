"""Input checks every stage calls, so that each error says the stage, the column and the fix.

``NUMERIC_TYPES`` is lakeprep's one numeric-type list (``lakeprep.stats.types``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import DataFrame

from features.errors import FeatureInputError
from lakeprep.stats.types import NUMERIC_TYPES


def require_columns(df: DataFrame, columns: Iterable[str], stage: str) -> None:
    """Raise unless every column is in ``df``.

    >>> require_columns(spark.range(1), ["amount"], stage="Winsorizer")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    features.errors.FeatureInputError: ...
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise FeatureInputError(
            f"{stage}: column(s) {missing} not found; available: {sorted(df.columns)}"
        )


def require_numeric(df: DataFrame, columns: Iterable[str], stage: str) -> None:
    """Raise unless every column exists and has a numeric type."""
    columns = list(columns)
    require_columns(df, columns, stage)
    types = dict(df.dtypes)
    wrong = {c: types[c] for c in columns if not isinstance(df.schema[c].dataType, NUMERIC_TYPES)}
    if wrong:
        raise FeatureInputError(
            f"{stage}: numeric column(s) expected, found {wrong}; cast them first "
            f"(e.g. a `cast` step) or pick other columns"
        )


def require_types(df: DataFrame, columns: Iterable[str], allowed: tuple[type, ...], stage: str,
                  what: str) -> None:
    """Raise unless every column exists and its type is one of ``allowed`` (named ``what``)."""
    columns = list(columns)
    require_columns(df, columns, stage)
    types = dict(df.dtypes)
    wrong = {c: types[c] for c in columns if not isinstance(df.schema[c].dataType, allowed)}
    if wrong:
        raise FeatureInputError(f"{stage}: {what} column(s) expected, found {wrong}")


def require_new_columns(df: DataFrame, columns: Iterable[str], stage: str) -> None:
    """Raise if an output column would overwrite an existing one."""
    clash = [c for c in columns if c in df.columns]
    if clash:
        raise FeatureInputError(
            f"{stage}: output column(s) {clash} already exist; choose other outputCol(s)"
        )
