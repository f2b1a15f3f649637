"""Compile a suite declaration into a Great Expectations 1.x ``ExpectationSuite``.

Every check here runs on the driver before any Spark job: expectation names against GE's registry,
parameters against each expectation's own model, column names against the DataFrame's schema.

Example::

    decl = SuiteDeclaration.from_mapping(yaml.safe_load(open(path)), source=path)
    suite = compile_suite(decl, schema=df.schema, source=path)
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

import great_expectations as gx
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    Expectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.registry import (
    get_expectation_impl,
    list_registered_expectation_implementations,
)
from pyspark.sql import types as T

from lakeprep.config.suites import ExpectationDeclaration, SuiteDeclaration
from lakeprep.errors import ConfigError, Problem
from quality.errors import SuiteConfigError
from quality.predicates import PREDICATES, supports_predicate

log = logging.getLogger(f"lakeprep.{__name__}")

# Fields every GE expectation model has that are not parameters a suite author sets.
_INTERNAL_FIELDS = {"id", "rendered_content", "batch_id", "windows", "result_format",
                    "catch_exceptions"}
# Need a SQL datasource or are abstract helpers; never usable on a Spark DataFrame batch here.
_UNUSABLE = {"expect_query_results_to_match_comparison", "unexpected_rows_expectation"}


@cache
def known_expectations() -> tuple[str, ...]:
    """Names of every GE expectation a suite may use, sorted."""
    return tuple(sorted(set(list_registered_expectation_implementations()) - _UNUSABLE))


def expectation_class(name: str, source: str = "<suite>", where: str = "") -> type[Expectation]:
    """Return the GE class for ``name`` or raise SuiteConfigError listing close and valid names."""
    names = known_expectations()
    if name in names:
        return get_expectation_impl(name)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise SuiteConfigError(
        f"{source}{where}: unknown expectation {name!r}; {hint}valid choices: {', '.join(names)}"
    )


# GE models these as column-map expectations, but on Spark they check the column's schema type,
# so no row can fail them on its own: they are table-level for gates and reports.
_SCHEMA_LEVEL = {"expect_column_values_to_be_of_type", "expect_column_values_to_be_in_type_list"}


def is_row_level(expectation_type: str) -> bool:
    """True for expectations judged row by row (GE map expectations), False for table-level."""
    if expectation_type in _SCHEMA_LEVEL:
        return False
    cls = get_expectation_impl(expectation_type)
    return issubclass(cls, ColumnMapExpectation | ColumnPairMapExpectation
                      | MulticolumnMapExpectation)


def parameter_names(cls: type[Expectation]) -> list[str]:
    """The parameters a suite author may set on ``cls`` (GE's model fields minus internal ones)."""
    return [f for f in cls.__fields__ if f not in _INTERNAL_FIELDS]


def _format_ge_errors(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return str(exc)
    # GE's models try each member of a Union; keep one message per field to stay readable.
    by_field: dict[str, str] = {}
    for err in errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
        by_field.setdefault(loc.replace("__root__", "<parameters>"), err.get("msg", ""))
    return "; ".join(f"{k}: {v}" for k, v in by_field.items())


def compile_expectation(decl: ExpectationDeclaration, source: str = "<suite>",
                        where: str = "") -> Expectation:
    """Build one GE expectation; bad parameters raise SuiteConfigError naming the valid ones."""
    cls = expectation_class(decl.type, source, where)
    if decl.kwargs.get("row_condition") is not None:
        raise SuiteConfigError(
            f"{source}{where}: {decl.type} sets row_condition, which lakeprep suites do not "
            "support (gates must tag rows consistently with GE); filter the table in the job "
            "or split the suite instead"
        )
    try:
        return cls(**decl.kwargs)
    except Exception as exc:  # GE raises pydantic v1 errors and its own config errors
        raise SuiteConfigError(
            f"{source}{where}: invalid parameters for {decl.type}: {_format_ge_errors(exc)}; "
            f"given {sorted(decl.kwargs)}; valid parameters: {', '.join(parameter_names(cls))}"
        ) from None


def _spark_type_names() -> set[str]:
    return {n for n in dir(T) if n.endswith("Type") and isinstance(getattr(T, n), type)
            and issubclass(getattr(T, n), T.DataType) and n != "DataType"}


def check_expectations(decl: SuiteDeclaration, columns: Sequence[str], source: str
                       ) -> list[Problem]:
    """Every problem of ``decl``'s expectations, statically (no data): each one compiled by GE
    and, when ``columns`` (the table's declared columns) are known, the columns it reads
    checked against them; one problem per expectation, with its file and position."""
    schema = T.StructType([T.StructField(c, T.StringType()) for c in columns])
    problems = []
    for i, item in enumerate(decl.expectations):
        where = f" (expectations[{i}] {item.type})"
        try:
            compile_expectation(item, source, where)
            if columns:
                check_columns(item, schema, source, where)
        except ConfigError as err:
            message = str(err).removeprefix(f"{source}{where}: ")
            problems.append(Problem(source, f"expectations[{i}] {item.type}", message))
    return problems


def check_suite(path: str, data: Any, tables: Iterable[str],
                columns_of: Callable[[str], Sequence[str]]) -> list[Problem]:
    """Every problem of the suite file ``path`` (its parsed YAML ``data``): its shape, its table
    (one of ``tables``), each expectation compiled by GE and the columns it reads against
    ``columns_of(table)``."""
    try:
        decl = SuiteDeclaration.from_mapping(data, source=path)
    except ConfigError as err:
        return [Problem(path, "", str(err).removeprefix(f"{path}: "))]
    known = sorted(tables)
    if decl.table not in known:
        return [Problem(path, "table", f"no table named {decl.table!r} in the catalog; known "
                                       f"tables: {known}")]
    return check_expectations(decl, columns_of(decl.table), path)


def check_columns(decl: ExpectationDeclaration, schema: T.StructType, source: str,
                  where: str) -> None:
    """Raise SuiteConfigError when ``decl`` reads a column the schema lacks or a bad type name."""
    available = schema.fieldNames()
    missing = [c for c in decl.columns() if c not in available]
    if missing:
        raise SuiteConfigError(
            f"{source}{where}: {decl.type} reads column(s) {missing} not in the DataFrame; "
            f"available columns: {', '.join(available)}"
        )
    type_names: Iterable[Any] = []
    if decl.type == "expect_column_values_to_be_of_type":
        type_names = [decl.kwargs.get("type_")]
    elif decl.type == "expect_column_values_to_be_in_type_list":
        type_names = decl.kwargs.get("type_list") or []
    valid = _spark_type_names()
    bad = [t for t in type_names if t not in valid]
    if bad:
        raise SuiteConfigError(
            f"{source}{where}: {decl.type} names Spark type(s) {bad}; valid choices: "
            f"{', '.join(sorted(valid))}"
        )


def _check_regex(decl: ExpectationDeclaration, source: str, where: str) -> None:
    regex = decl.kwargs.get("regex")
    if isinstance(regex, str):
        try:
            re.compile(regex)
        except re.error as exc:
            raise SuiteConfigError(
                f"{source}{where}: {decl.type} has an invalid regex {regex!r}: {exc}"
            ) from None


def compile_suite(decl: SuiteDeclaration | dict, schema: T.StructType | None = None,
                  source: str = "<suite>") -> gx.ExpectationSuite:
    """Compile a declaration (or its YAML mapping) into a GE ``ExpectationSuite``.

    With ``schema`` (``df.schema``), columns are checked too. Errors name ``source``, the
    expectation's position and type, and the valid choices.

    >>> suite = compile_suite({"table": "t", "expectations": [
    ...     {"expect_column_values_to_not_be_null": {"column": "id"}}]})
    >>> suite.name, len(suite.expectations)
    ('t', 1)
    """
    decl = SuiteDeclaration.from_mapping(decl, source)
    expectations = []
    for i, item in enumerate(decl.expectations):
        where = f" (expectations[{i}] {item.type})"
        expectation = compile_expectation(item, source, where)
        _check_regex(item, source, where)
        if schema is not None:
            check_columns(item, schema, source, where)
        expectations.append(expectation)
    suite = gx.ExpectationSuite(name=decl.suite_name, expectations=expectations,
                                meta={"table": decl.table, "source": source, **decl.meta})
    log.debug("compiled suite %s from %s: %d expectations", decl.suite_name, source,
              len(expectations))
    return suite


def require_predicates(decl: SuiteDeclaration, source: str = "<suite>") -> None:
    """Raise SuiteConfigError if a row-level expectation cannot be compiled to a row predicate."""
    for i, item in enumerate(decl.expectations):
        if is_row_level(item.type) and not supports_predicate(item.type):
            supported = ", ".join(sorted(PREDICATES))
            raise SuiteConfigError(
                f"{source} (expectations[{i}] {item.type}): policy 'quarantine' cannot split rows "
                f"on {item.type}; row-level expectations it supports: {supported}"
                "; use policy 'fail' or 'warn' for this suite, or drop the expectation"
            )
