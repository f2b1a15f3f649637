"""Shared logic of the creation family: cutoff parsing and output-column checks.

>>> spark.range(1).select(cutoff_literal("2024-03-01").alias("cutoff")).first().cutoff
datetime.datetime(2024, 3, 1, 0, 0)
"""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column
from pyspark.sql import functions as F

from features.errors import FeatureSpecError


def parse_cutoff(cutoff: str, stage: str) -> str:
    """Validate an ISO date or timestamp string (the point in time features are computed as of).

    >>> parse_cutoff("2024-03-01", "PointInTimeAggregates")
    '2024-03-01'
    """
    try:
        datetime.fromisoformat(str(cutoff))
    except ValueError:
        raise FeatureSpecError(
            f"{stage}: cutoff must be an ISO date or timestamp like '2024-03-01' or "
            f"'2024-03-01 00:00:00', got {cutoff!r}") from None
    return str(cutoff)


def cutoff_literal(cutoff: str) -> Column:
    """The cutoff as a Spark timestamp (a date means its midnight in the session time zone)."""
    return F.lit(cutoff).cast("timestamp")


def days_before(ts: Column, days: int) -> Column:
    """``ts`` minus ``days`` whole days (a day-time interval, 24 h each)."""
    return ts - F.expr(f"INTERVAL {int(days)} DAYS")


def timestamp_of(column: str) -> Column:
    """The column as a timestamp (dates become midnight, ISO strings are parsed)."""
    return F.col(column).cast("timestamp")
