"""The result of running a suite: verdict, statistics, one row per expectation, GE's own JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ExpectationOutcome:
    """How one expectation fared on one batch.

    ``unexpected_*`` and ``sample`` are None for table-level expectations, whose finding is
    ``observed_value`` (e.g. the row count). ``sample`` holds a few failing values, never all.
    """

    expectation: str
    columns: list[str]
    success: bool
    row_level: bool
    kwargs: dict[str, Any] = field(default_factory=dict)
    observed_value: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: list[Any] | None = None
    exception: str | None = None

    @property
    def label(self) -> str:
        """``type(col, ...)``: the name quarantine tags and reports use for this expectation."""
        if not self.columns:
            return self.expectation
        return f"{self.expectation}({', '.join(self.columns)})"


@dataclass(frozen=True)
class ValidationReport:
    """A suite run on a DataFrame: ``success``, ``statistics``, ``outcomes``, ``ge_result``.

    ``ge_result`` is GE's ``ExpectationSuiteValidationResult`` as a JSON-serialisable dict (what
    ``quality.docs`` turns into a document and renders as Data Docs).

    Example::

        report = validate(df, decl, source="orders.yml")
        report.success, report.statistics["unsuccessful_expectations"]
        # -> (False, 2)
    """

    suite_name: str
    table: str
    success: bool
    statistics: dict[str, Any]
    outcomes: list[ExpectationOutcome]
    ge_result: dict[str, Any]

    @property
    def failed(self) -> list[ExpectationOutcome]:
        """The expectations that did not succeed, in suite order."""
        return [o for o in self.outcomes if not o.success]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of the whole report."""
        out = asdict(self)
        out["outcomes"] = [{**asdict(o), "label": o.label} for o in self.outcomes]
        return out
