"""Data quality for lakeprep: GE 1.x suites declared in conf, gates, profiling and drift.

Pure: DataFrames in, results out; no file or network I/O. ``quality.docs`` turns validation
results into documents and renders Data Docs pages in memory; the jobs keep them through
``lakeprep.quality_store``.

Example::

    outcome = run_gate(df, suite, policy="quarantine", source="orders.yml")
    outcome.raise_if_failed()
"""

from lakeprep.config.suites import ExpectationDeclaration, SuiteDeclaration
from quality.compile import compile_suite, known_expectations
from quality.drift import DriftBaseline, DriftReport, check_drift
from quality.errors import DriftConfigError, QualityInputError, SuiteConfigError
from quality.gate import FAILED_EXPECTATIONS_COLUMN, GateOutcome, Policy, Verdict, run_gate
from quality.profile import profile
from quality.result import ExpectationOutcome, ValidationReport
from quality.summary import summary_table
from quality.validate import validate

__all__ = [
    "FAILED_EXPECTATIONS_COLUMN", "DriftBaseline", "DriftConfigError", "DriftReport",
    "ExpectationDeclaration", "ExpectationOutcome", "GateOutcome", "Policy", "QualityInputError",
    "SuiteConfigError", "SuiteDeclaration", "ValidationReport", "Verdict", "check_drift",
    "compile_suite", "known_expectations", "profile", "run_gate", "summary_table", "validate",
]
