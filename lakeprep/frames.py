"""Small DataFrame helpers every package may use (pure: no I/O, no session)."""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame


def one_row(aggregated: DataFrame) -> dict[str, Any]:
    """The single row of a global aggregation (``df.agg(...)``) as a dict.

    >>> one_row(df.agg(F.count("*").alias("n")))  # doctest: +SKIP
    {'n': 42}
    """
    row = aggregated.first()
    if row is None:  # a global aggregation always has one row; anything else is a bug
        raise AssertionError("expected one row from a global aggregation, found none")
    return row.asDict()
