"""A validation report for people: one row per expectation (what it found, a sample of the
failing values), as plain rows (the CLI's gate tables, text or JSON) or a rich renderable.

>>> from quality.result import ExpectationOutcome
>>> o = ExpectationOutcome("expect_column_values_to_not_be_null", ["fare"], False, True,
...                        element_count=12000, unexpected_count=30, unexpected_percent=0.25,
...                        sample=[None])
>>> observed(o)
'30 of 12,000 (0.25%)'
"""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text

from quality.result import ExpectationOutcome, ValidationReport

EXPECTATION_COLUMNS = ["", "expectation", "column(s)", "observed / unexpected",
                       "sample of failing values"]


def _short(value: Any, width: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def observed(o: ExpectationOutcome) -> str:
    """What an expectation found: its error, its failing rows of all, or its observed value."""
    if o.exception:
        return f"error: {o.exception}"
    if o.unexpected_count is not None:
        return (f"{o.unexpected_count:,} of {o.element_count or 0:,} "
                f"({o.unexpected_percent or 0.0:.2f}%)")
    return json.dumps(o.observed_value, default=str)


def expectation_rows(report: ValidationReport) -> list[list[str]]:
    """One row per expectation, under :data:`EXPECTATION_COLUMNS`."""
    return [["ok" if o.success else "X", o.expectation, ", ".join(o.columns), observed(o),
             json.dumps(o.sample, default=str) if o.sample else ""] for o in report.outcomes]


def summary_table(report: ValidationReport, title: str | None = None) -> Table:
    """Return a rich ``Table`` with one row per expectation; the caller prints it.

    Example::

        from rich.console import Console
        Console().print(summary_table(report))
    """
    stats = report.statistics
    table = Table(
        title=Text(title or f"{report.suite_name} on {report.table}: "
                   f"{'PASSED' if report.success else 'FAILED'}"),
        caption=f"{stats.get('successful_expectations', 0)} of "
        f"{stats.get('evaluated_expectations', 0)} expectations met",
    )
    table.add_column("", width=2)
    table.add_column("expectation")
    table.add_column("column(s)")
    table.add_column("observed / unexpected", justify="right")
    table.add_column("sample of failing values")
    for o in report.outcomes:
        mark = Text("ok", style="green") if o.success else Text("X", style="bold red")
        if o.exception:
            observed = f"error: {_short(o.exception)}"
        elif o.unexpected_count is not None:
            share = o.unexpected_percent or 0.0
            observed = f"{o.unexpected_count} of {o.element_count} ({share:.2f}%)"
        else:
            observed = _short(o.observed_value)
        sample = _short(o.sample, 60) if o.sample else ""
        # values from the data and the suite print literally: a `[tag]` in them is no markup
        table.add_row(mark, *map(Text, (o.expectation, ", ".join(o.columns), observed, sample)))
    return table
