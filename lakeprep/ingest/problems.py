"""Why a record or row was set aside, as data: each problem is a code, the column, the offending
value and the readable message; this module builds them and groups them for people.

Codes: ``malformed_line``, ``duplicate_key``, ``invalid_utf8``, ``case_clash``,
``unusable_name``, ``missing_required``, ``out_of_range``, ``not_finite``, ``not_a_<type>``
(``not_a_double``, ``not_a_timestamp``, ...) at the parse level, and ``expectation:<type>`` for
rows a quality gate set aside. A quarantine table keeps them in ``_problems`` beside the
messages in ``_reasons``; rows set aside before ``_problems`` existed are read back from their
messages (:func:`problem_from_message`), so old and new rows group alike.

>>> df = spark.createDataFrame([(["amount: '45,60' is not a valid double"],),
...                             (["amount: '1,2' is not a valid double"],)],
...                            "_reasons array<string>")
>>> [g.line() for g in group_problems(df).groups]
["parse amount not_a_double: 2 row(s), e.g. '1,2', '45,60'"]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.ingest.columns import FAILED_EXPECTATIONS, PROBLEMS, REASONS

PROBLEM_TYPE = "struct<code:string,column:string,value:string,message:string>"
PROBLEMS_TYPE = f"array<{PROBLEM_TYPE}>"
VALUE_CHARS = 200  # what a problem keeps of the offending value (the raw record keeps it all)
SHOWN_CHARS = 60  # what a message or an example shows of it
EXAMPLES = 3
TOP_GROUPS = 10

MALFORMED_LINE, DUPLICATE_KEY, INVALID_UTF8 = "malformed_line", "duplicate_key", "invalid_utf8"
CASE_CLASH, UNUSABLE_NAME, MISSING_REQUIRED = "case_clash", "unusable_name", "missing_required"
OUT_OF_RANGE, NOT_FINITE, OTHER = "out_of_range", "not_finite", "other"
EXPECTATION = "expectation:"  # + the expectation's type: a row a gate set aside
# a group of problems: (level, column, code, rows, example values)
Group = tuple[str, str | None, str, int, Sequence[str | None]]


def not_a(type_name: str) -> str:
    """The code of a value that does not parse as ``type_name``.

    >>> not_a("double"), not_a("decimal(10,2)"), not_a("timestamp")
    ('not_a_double', 'not_a_decimal', 'not_a_timestamp')
    """
    return "not_a_" + re.split(r"[^a-z_]", type_name.strip().lower(), maxsplit=1)[0]


def level_of(code: str) -> str:
    """``gate`` for an expectation a row failed, ``parse`` for a problem found reading it."""
    return "gate" if code.startswith(EXPECTATION) else "parse"


def problem(code: str | Column, column: str | Column | None, value: Column | None,
            message: str | Column) -> Column:
    """One problem as a struct of the quarantine's ``_problems`` type."""
    def text(x: str | Column | None) -> Column:
        return x if isinstance(x, Column) else F.lit(x).cast("string")

    return F.struct(text(code).alias("code"), text(column).alias("column"),
                    F.substring(text(value), 1, VALUE_CHARS).alias("value"),
                    text(message).alias("message"))


def as_problems(problems: Column) -> Column:
    """``problems`` (an array of :func:`problem` structs) as exactly ``PROBLEMS_TYPE``: every
    write of a quarantine table then has the same nested nullability as the table."""
    return problems.cast(PROBLEMS_TYPE)


def messages(problems: Column) -> Column:
    """The readable messages of ``problems``: what ``_reasons`` holds."""
    return F.transform(problems, lambda p: p["message"])


# Messages as ingest and the gates have written them (the reader's and the gate's own texts),
# matched in this order: (pattern, code or code prefix, column group, value group).
_FORMS: list[tuple[str, str, int, int]] = [
    (r"^malformed line: not valid UTF-8", INVALID_UTF8, 0, 0),
    (r"^malformed line: duplicate key", DUPLICATE_KEY, 0, 0),
    (r"^malformed line:", MALFORMED_LINE, 0, 0),
    (r"^(.+?): '(.*)' is not a valid ([A-Za-z_]+)", "not_a_", 1, 2),
    (r"^(.+?): '(.*)' is outside the supported range", OUT_OF_RANGE, 1, 2),
    (r"^(.+?): '(.*)' is not a finite number$", NOT_FINITE, 1, 2),
    (r"^(.+?): missing \(declared not null\)$", MISSING_REQUIRED, 1, 0),
    (r"^(.+?): (?:key|header|column) '(.*)' differs only in case", CASE_CLASH, 1, 2),
    (r"^(?:key|header|column) '(.*)' is not a usable column name", UNUSABLE_NAME, 0, 1),
    (r"^(expect_[a-z_]+)(?:\((.*)\))?(?:#[0-9]+)?$", EXPECTATION, 2, 0),
]


def problem_from_message(message: Column, values: Column | None = None) -> Column:
    """The problem a message written before ``_problems`` existed describes: its code, column
    and value read from the text (``other`` for a text no form matches). ``values`` (a map of
    column -> value as text) gives a gate-level row's value, which its label does not hold."""
    out = problem(OTHER, None, None, message)
    for pattern, code, col_group, value_group in reversed(_FORMS):
        column = F.regexp_extract(message, pattern, col_group) if col_group else None
        value = F.regexp_extract(message, pattern, value_group) if value_group else None
        if code == "not_a_":
            code_col: str | Column = F.concat(F.lit(code), F.lower(
                F.regexp_extract(message, pattern, 3)))
        elif code == EXPECTATION:
            code_col = F.concat(F.lit(code), F.regexp_extract(message, pattern, 1))
            column = F.nullif(column, F.lit("")) if column is not None else None
            if values is not None and column is not None:
                value = F.element_at(values, column)
        else:
            code_col = code
        out = F.when(message.rlike(pattern), problem(code_col, column, value, message)
                     ).otherwise(out)
    return out


def problems_of(df: DataFrame) -> Column:
    """The problems of each row of a quarantine table: ``_problems`` where the row has them,
    else read from its messages (``_reasons``, or a gate's ``_failed_expectations``)."""
    texts = [F.col(c) for c in (REASONS, FAILED_EXPECTATIONS) if c in df.columns]
    if not texts:
        structured = F.col(PROBLEMS) if PROBLEMS in df.columns else None
        return structured if structured is not None else F.array().cast(PROBLEMS_TYPE)
    atomic = [f.name for f in df.schema.fields
              if isinstance(f.dataType, T.AtomicType) and not f.name.startswith("_")]
    values = (F.create_map(*[x for c in atomic for x in (F.lit(c), F.col(f"`{c}`")
                                                          .cast("string"))])
              if atomic else None)
    parsed = as_problems(F.transform(F.coalesce(*texts),
                                     lambda m: problem_from_message(m, values)))
    return F.coalesce(F.col(PROBLEMS), parsed) if PROBLEMS in df.columns else parsed


@dataclass(frozen=True)
class ProblemGroup:
    """The rows of one table with one kind of problem in one column: how many, and examples."""

    level: str  # parse or gate
    column: str | None
    code: str
    rows: int
    examples: tuple[str, ...] = ()

    def line(self) -> str:
        shown = ", ".join(repr(_shown(e)) for e in self.examples)
        return (f"{self.level} {self.column or '-'} {self.code}: {self.rows:,} row(s)"
                + (f", e.g. {shown}" if shown else ""))


@dataclass(frozen=True)
class ProblemSummary:
    """The largest groups of problems (at most ``TOP_GROUPS``), and what the rest add up to."""

    groups: tuple[ProblemGroup, ...] = ()
    more_groups: int = 0
    more_rows: int = 0

    def lines(self) -> list[str]:
        out = [g.line() for g in self.groups]
        if self.more_groups:
            out.append(f"... {self.more_groups} more group(s), {self.more_rows:,} row(s)")
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: what a commit's metadata and a run record keep."""
        return {"groups": [{**asdict(g), "examples": list(g.examples)} for g in self.groups],
                "more_groups": self.more_groups, "more_rows": self.more_rows}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ProblemSummary:
        data = data or {}
        return cls(tuple(ProblemGroup(g["level"], g.get("column"), g["code"], int(g["rows"]),
                                      tuple(g.get("examples") or ()))
                         for g in data.get("groups") or ()),
                   int(data.get("more_groups") or 0), int(data.get("more_rows") or 0))

    def __bool__(self) -> bool:
        return bool(self.groups)


@dataclass
class _Tally:
    rows: int = 0
    examples: list[str] = field(default_factory=list)


def summarize(groups: Sequence[Group], top: int = TOP_GROUPS) -> ProblemSummary:
    """(level, column, code, rows, example values) per group, merged, largest first, cut to
    ``top`` groups of at most ``EXAMPLES`` distinct examples each.

    >>> summarize([("parse", "amount", "not_a_double", 19, ["45,60", None, "45,60"]),
    ...            ("gate", "amount", "expectation:x", 2, [])], top=1).lines()
    ["parse amount not_a_double: 19 row(s), e.g. '45,60'", '... 1 more group(s), 2 row(s)']
    """
    merged: dict[tuple[str, str | None, str], _Tally] = {}
    for level, column, code, rows, examples in groups:
        tally = merged.setdefault((level, column, code), _Tally())
        tally.rows += int(rows)
        tally.examples += [e for e in examples if e is not None]
    ordered = sorted(merged.items(), key=lambda kv: (-kv[1].rows, kv[0][0] != "parse",
                                                     kv[0][1] or "", kv[0][2]))
    kept = [ProblemGroup(level, column, code, t.rows,
                         tuple(sorted(dict.fromkeys(t.examples))[:EXAMPLES]))
            for (level, column, code), t in ordered[:top]]
    rest = ordered[top:]
    return ProblemSummary(tuple(kept), len(rest), sum(t.rows for _, t in rest))


def group_problems(df: DataFrame, top: int = TOP_GROUPS) -> ProblemSummary:
    """The problems of ``df`` (a quarantine table, or rows about to join one) grouped by level,
    column and code, largest first (see :func:`problem_groups`)."""
    return summarize(problem_groups(df), top)


def problem_groups(df: DataFrame) -> list[Group]:
    """The problems of ``df`` by level, column and code: one aggregation, whose groups (a few
    per column) reach the driver, with up to ``EXAMPLES`` values each picked in bounded memory
    (the smallest, the largest, and those of the smallest and the largest hash)."""
    got = (df.select(F.explode(problems_of(df)).alias("p"))
           .groupBy(F.col("p.column").alias("column"), F.col("p.code").alias("code"))
           .agg(F.count(F.lit(1)).alias("rows"), *example_aggregates(F.col("p.value")))
           .collect())
    return [(level_of(r["code"]), r["column"], r["code"], r["rows"], examples_of(r))
            for r in got]


_EXAMPLE_SLOTS = ("lo", "h0", "h1", "hi")


def example_aggregates(value: Column) -> list[Column]:
    """Aggregates picking example values of a group in bounded memory: the smallest, the
    largest, and those of the smallest and the largest hash (:func:`examples_of` reads them)."""
    hashed = F.when(value.isNotNull(), F.xxhash64(value))
    return [F.min(value).alias("lo"), F.min_by(value, hashed).alias("h0"),
            F.max_by(value, hashed).alias("h1"), F.max(value).alias("hi")]


def examples_of(row: Any) -> list[str | None]:
    """The example values :func:`example_aggregates` picked, from a row of their results."""
    return [row[slot] for slot in _EXAMPLE_SLOTS]


def _shown(value: str) -> str:
    return value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS - 3] + "..."
