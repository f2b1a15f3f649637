"""Row-level expectations as Spark Column predicates, so a gate can tag failing rows in one pass.

Each predicate is True when a row meets the expectation, with GE's null semantics: a column-map
expectation ignores rows whose column is null (only ``..._to_not_be_null`` / ``..._to_be_null``
look at nulls), and a pair or compound expectation ignores rows whose values are all null.
``mostly`` plays no part here: it decides whether GE calls the expectation a success, never which
rows fail it.

Example::

    p = row_predicate(ExpectationDeclaration(type="expect_column_values_to_be_between",
                      kwargs={"column": "amount", "min_value": 0}))
    df.filter(~p).count()  # rows with amount < 0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyspark.sql import Column, Window
from pyspark.sql import functions as F

from lakeprep.config.suites import ExpectationDeclaration


def _col(name: str) -> Column:
    return F.col(f"`{name}`")


def _between(c: Column, kw: Mapping[str, Any]) -> Column:
    cond = F.lit(True)
    if kw.get("min_value") is not None:
        low = F.lit(kw["min_value"])
        cond = cond & (c > low if kw.get("strict_min") else c >= low)
    if kw.get("max_value") is not None:
        high = F.lit(kw["max_value"])
        cond = cond & (c < high if kw.get("strict_max") else c <= high)
    return cond


def _unique(columns: list[str]) -> Column:
    # A window count keeps this inside the same select as the other predicates (one pass,
    # one shuffle per distinct key set) instead of a separate groupBy + join per key.
    key = [_col(c) for c in columns]
    count = F.count(F.lit(1)).over(Window.partitionBy(*key))
    all_null = F.lit(True)
    for c in key:
        all_null = all_null & c.isNull()
    return all_null | (count <= 1)


def _pair_ignored(kw: Mapping[str, Any]) -> Column:
    a, b = _col(kw["column_A"]), _col(kw["column_B"])
    mode = kw.get("ignore_row_if", "both_values_are_missing")
    if mode == "either_value_is_missing":
        return a.isNull() | b.isNull()
    if mode == "neither":
        return F.lit(False)
    return a.isNull() & b.isNull()


def _a_greater_than_b(kw: Mapping[str, Any]) -> Column:
    a, b = _col(kw["column_A"]), _col(kw["column_B"])
    return _pair_ignored(kw) | ((a >= b) if kw.get("or_equal") else (a > b))


def _pair_equal(kw: Mapping[str, Any]) -> Column:
    return _pair_ignored(kw) | _col(kw["column_A"]).eqNullSafe(_col(kw["column_B"]))


def _skip_null(build: Callable[[Column, Mapping[str, Any]], Column]) -> Callable[..., Column]:
    def predicate(kw: Mapping[str, Any]) -> Column:
        c = _col(kw["column"])
        return c.isNull() | build(c, kw)

    return predicate


PREDICATES: dict[str, Callable[[Mapping[str, Any]], Column]] = {
    "expect_column_values_to_not_be_null": lambda kw: _col(kw["column"]).isNotNull(),
    "expect_column_values_to_be_null": lambda kw: _col(kw["column"]).isNull(),
    "expect_column_values_to_be_between": _skip_null(_between),
    "expect_column_values_to_be_in_set": _skip_null(
        lambda c, kw: c.isin(list(kw["value_set"]))),
    "expect_column_values_to_not_be_in_set": _skip_null(
        lambda c, kw: ~c.isin(list(kw["value_set"]))),
    "expect_column_values_to_match_regex": _skip_null(lambda c, kw: c.rlike(kw["regex"])),
    "expect_column_values_to_not_match_regex": _skip_null(lambda c, kw: ~c.rlike(kw["regex"])),
    "expect_column_values_to_match_like_pattern": _skip_null(
        lambda c, kw: c.like(kw["like_pattern"])),
    "expect_column_values_to_not_match_like_pattern": _skip_null(
        lambda c, kw: ~c.like(kw["like_pattern"])),
    "expect_column_value_lengths_to_be_between": _skip_null(
        lambda c, kw: _between(F.length(c), kw)),
    "expect_column_value_lengths_to_equal": _skip_null(
        lambda c, kw: F.length(c) == F.lit(kw["value"])),
    "expect_column_values_to_be_unique": lambda kw: _unique([kw["column"]]),
    "expect_compound_columns_to_be_unique": lambda kw: _unique(list(kw["column_list"])),
    "expect_column_pair_values_a_to_be_greater_than_b": _a_greater_than_b,
    "expect_column_pair_values_to_be_equal": _pair_equal,
}


def supports_predicate(expectation_type: str) -> bool:
    """True when :func:`row_predicate` can compile this expectation type."""
    return expectation_type in PREDICATES


def row_predicate(decl: ExpectationDeclaration) -> Column:
    """Compile a row-level expectation into a Column that is True (never null) for passing rows.

    Raises ``KeyError`` for unsupported types; callers check :func:`supports_predicate` first.
    """
    return F.coalesce(PREDICATES[decl.type](decl.kwargs), F.lit(True))
