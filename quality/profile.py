"""Profile a DataFrame into a starting suite declaration for a person to review.

>>> suite = profile(df, table="orders")  # doctest: +SKIP
>>> yaml.safe_dump(suite, sort_keys=False)  # the caller writes it to conf  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config.suites import SuiteDeclaration
from quality.errors import QualityInputError

log = logging.getLogger(__name__)

_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType,
            T.DecimalType)
# approx_count_distinct is only a screen; exact distinct counts confirm the candidates it finds.
_UNIQUE_SCREEN = 0.95


def _floor(x: float, digits: int = 3) -> float:
    return math.floor(x * 10**digits) / 10**digits


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, float) or hasattr(value, "as_tuple") else value


def profile(df: DataFrame, table: str, max_categories: int = 20, min_non_null: float = 0.5,
            sample_note: str | None = None) -> dict[str, Any]:
    """Return a suite declaration mapping (see ``lakeprep.config.suites``) describing ``df``.

    One aggregation reads row count, non-null counts, approximate distinct counts and numeric
    min/max for every column; a second reads exact distinct counts of unique-looking columns and
    the value sets of string columns with at most ``max_categories`` values. Rules:

    - every column: ``expect_column_values_to_be_of_type`` with its Spark type;
    - no nulls: ``not_null``; some nulls but at least ``min_non_null`` present: ``not_null`` with
      ``mostly`` = the observed non-null share rounded down to 3 decimals;
    - numeric: ``be_between`` the observed min and max;
    - strings with few values: ``be_in_set`` the observed values;
    - every non-null value distinct (and more than one row): ``be_unique``.

    Per-column statistics go under ``meta.profile`` for the reviewer.
    """
    fields = df.schema.fields
    first: list = [F.count(F.lit(1)).alias("__rows")]
    for i, f in enumerate(fields):
        c = F.col(f"`{f.name}`")
        first += [F.count(c).alias(f"n{i}"), F.approx_count_distinct(c).alias(f"d{i}")]
        if isinstance(f.dataType, _NUMERIC):
            first += [F.min(c).alias(f"min{i}"), F.max(c).alias(f"max{i}")]
    stats = df.agg(*first).first().asDict()
    rows = stats["__rows"]
    if not rows:
        raise QualityInputError(f"profile of table {table!r}: the DataFrame has no rows")

    second: list = []
    for i, f in enumerate(fields):
        c = F.col(f"`{f.name}`")
        non_null, approx = stats[f"n{i}"], stats[f"d{i}"]
        if rows > 1 and non_null and approx >= _UNIQUE_SCREEN * non_null:
            second.append(F.count_distinct(c).alias(f"u{i}"))
        if isinstance(f.dataType, T.StringType) and 0 < approx <= max_categories:
            second.append(F.collect_set(c).alias(f"s{i}"))
    if second:
        stats.update(df.agg(*second).first().asDict())

    expectations: list[dict[str, Any]] = [
        {"expect_table_row_count_to_be_between": {"min_value": 1}},
        {"expect_table_columns_to_match_set": {"column_set": df.columns, "exact_match": True}},
    ]
    column_stats: dict[str, Any] = {}
    for i, f in enumerate(fields):
        name, non_null = f.name, stats[f"n{i}"]
        share = non_null / rows
        column_stats[name] = {"type": f.dataType.simpleString(), "null_ratio": round(1 - share, 6),
                              "approx_distinct": stats[f"d{i}"]}
        expectations.append({"expect_column_values_to_be_of_type":
                             {"column": name, "type_": type(f.dataType).__name__}})
        if share == 1:
            expectations.append({"expect_column_values_to_not_be_null": {"column": name}})
        elif share >= min_non_null:
            expectations.append({"expect_column_values_to_not_be_null":
                                 {"column": name, "mostly": _floor(share)}})
        if f"min{i}" in stats and stats[f"min{i}"] is not None:
            low, high = _number(stats[f"min{i}"]), _number(stats[f"max{i}"])
            column_stats[name].update(min=low, max=high)
            expectations.append({"expect_column_values_to_be_between":
                                 {"column": name, "min_value": low, "max_value": high}})
        if stats.get(f"s{i}"):
            expectations.append({"expect_column_values_to_be_in_set":
                                 {"column": name, "value_set": sorted(stats[f"s{i}"])}})
        if stats.get(f"u{i}") is not None and stats[f"u{i}"] == non_null:
            expectations.append({"expect_column_values_to_be_unique": {"column": name}})
    meta: dict[str, Any] = {"profiled_rows": rows, "profile": column_stats}
    if sample_note:
        meta["note"] = sample_note
    suite = {"table": table, "expectations": expectations, "meta": meta}
    SuiteDeclaration.from_mapping(suite, source=f"profile of {table}")
    log.info("profiled %s: %d rows, %d columns, %d expectations", table, rows, len(fields),
             len(expectations))
    return suite
