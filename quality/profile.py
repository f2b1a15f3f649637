"""Profile a DataFrame into a starting suite declaration for a person to review.

Example::

    suite = profile(df, table="orders")
    yaml.safe_dump(suite, sort_keys=False)  # the caller writes it to conf
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config.suites import SuiteDeclaration
from lakeprep.frames import one_row
from lakeprep.stats.types import NUMERIC_TYPES
from quality.errors import QualityInputError

log = logging.getLogger(f"lakeprep.{__name__}")

# approx_count_distinct is only a screen; exact distinct counts confirm the candidates it finds.
_UNIQUE_SCREEN = 0.95


def _floor(x: float, digits: int = 3) -> float:
    return math.floor(x * 10**digits) / 10**digits


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, float) or hasattr(value, "as_tuple") else value


def metadata_like(columns: Sequence[str]) -> list[str]:
    """The columns named with a leading underscore: lakeprep's ingest metadata (``_source_file``,
    ``_run_id``, ``_ingested_at``, ``_raw_record``...), which change with every batch."""
    return [c for c in columns if c.startswith("_")]


def profile(df: DataFrame, table: str, max_categories: int = 20, min_non_null: float = 0.5,
            sample_note: str | None = None, metadata_columns: Sequence[str] | None = None,
            verify: bool = True) -> dict[str, Any]:
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

    ``metadata_columns`` (default: :func:`metadata_like`) differ from batch to batch: they get
    only type and null checks, and the column-set expectation names the other columns without
    requiring an exact match. With ``verify`` the draft is validated on ``df`` itself and any
    expectation that does not pass is dropped (listed under ``meta.dropped``), so the draft
    passes on the batch it was drafted from.

    Per-column statistics go under ``meta.profile`` for the reviewer.
    """
    meta_cols = set(metadata_like(df.columns) if metadata_columns is None else metadata_columns)
    fields = df.schema.fields
    first: list = [F.count(F.lit(1)).alias("__rows")]
    for i, f in enumerate(fields):
        c = F.col(f"`{f.name}`")
        first += [F.count(c).alias(f"n{i}"), F.approx_count_distinct(c).alias(f"d{i}")]
        if isinstance(f.dataType, NUMERIC_TYPES):
            first += [F.min(c).alias(f"min{i}"), F.max(c).alias(f"max{i}")]
    stats = one_row(df.agg(*first))
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
        stats.update(one_row(df.agg(*second)))

    expectations: list[dict[str, Any]] = [
        {"expect_table_row_count_to_be_between": {"min_value": 1}},
        {"expect_table_columns_to_match_set": {
            "column_set": [c for c in df.columns if c not in meta_cols],
            "exact_match": not meta_cols}},
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
        if name in meta_cols:
            continue
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
    if verify:
        _keep_passing(df, suite, table)
    log.info("profiled %s: %d rows, %d columns, %d expectations", table, rows, len(fields),
             len(expectations))
    return suite


def _keep_passing(df: DataFrame, suite: dict[str, Any], table: str) -> None:
    """Validate the draft on the data it came from; drop (and name) what fails there."""
    from quality.validate import validate

    report = validate(df, suite, source=f"profile of {table}")
    failed = [i for i, o in enumerate(report.outcomes) if not o.success]
    if not failed:
        return
    dropped = [report.outcomes[i].label for i in failed]
    log.warning("profile of %s: %d drafted expectation(s) fail on the profiled data itself and "
                "were dropped: %s", table, len(dropped), ", ".join(dropped))
    suite["expectations"] = [e for i, e in enumerate(suite["expectations"]) if i not in failed]
    suite["meta"]["dropped"] = dropped
