"""Run a suite on a Spark DataFrame through Great Expectations' Spark datasource.

Example::

    report = validate(df, {"table": "orders", "expectations": [
        {"expect_column_values_to_not_be_null": {"column": "order_id"}}]})
    report.success
    # -> True
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation import _format_map_output, _mostly_success
from great_expectations.expectations.expectation_configuration import parse_result_format
from great_expectations.validator.validation_statistics import calc_validation_statistics
from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

import quality.rowmetrics as rowmetrics
import quality.tablemetrics as tablemetrics
from lakeprep.config.suites import SuiteDeclaration
from quality.compile import compile_suite, is_row_level
from quality.result import ExpectationOutcome, ValidationReport
from quality.rowmetrics import RowMetrics, computed_here

log = logging.getLogger(f"lakeprep.{__name__}")

DATASOURCE = "lakeprep_spark"
BATCH_DEFINITION = "whole_dataframe"


def _ephemeral_context() -> Any:
    # In-memory stores and no Data Docs site: GE's default ephemeral context would create a temp
    # folder for docs, and this package does no file I/O (quality.docs renders docs in memory).
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        # Progress bars write to stderr; a library stays quiet unless logging says otherwise.
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _outcome(decl_item: Any, result: dict[str, Any]) -> ExpectationOutcome:
    body = result.get("result") or {}
    exc = result.get("exception_info") or {}
    if exc and "raised_exception" not in exc:  # GE keys exception info by metric when nested
        exc = next(iter(exc.values()), {})
    row_level = is_row_level(decl_item.type)
    return ExpectationOutcome(
        expectation=decl_item.type,
        columns=decl_item.columns(),
        success=bool(result.get("success")),
        row_level=row_level,
        kwargs=_jsonable(decl_item.kwargs),
        observed_value=body.get("observed_value"),
        element_count=body.get("element_count"),
        unexpected_count=body.get("unexpected_count"),
        unexpected_percent=body.get("unexpected_percent"),
        sample=body.get("partial_unexpected_list") if row_level else None,
        exception=exc.get("exception_message") if exc.get("raised_exception") else None,
    )


def _result_format(sample_size: int) -> dict[str, Any]:
    return {"result_format": "BASIC", "partial_unexpected_count": sample_size}


def _synthesized(expectation: Any, item: Any, metrics: RowMetrics, i: int,
                 sample_size: int) -> ExpectationValidationResult:
    """GE's own result for a row-level expectation, from the counts lakeprep computed.

    Success and the result fields come from GE's helpers (``_mostly_success``,
    ``_format_map_output``) with the same inputs GE's ``_validate`` would use.
    """
    total, unexpected = metrics.rows, metrics.unexpected[i]
    considered = metrics.considered[i]
    mostly = getattr(expectation, "mostly", None)
    mostly = 1.0 if mostly is None else mostly
    denominator = total if considered is None else considered
    success = True if total == 0 or denominator == 0 else bool(
        _mostly_success(denominator, unexpected, mostly))
    body = _format_map_output(
        result_format=parse_result_format(_result_format(sample_size)), success=success,
        element_count=total, nonnull_count=considered, unexpected_count=unexpected,
        unexpected_list=metrics.samples[i])
    return ExpectationValidationResult(
        success=success, expectation_config=expectation.configuration,
        result=body.get("result", {}),
        exception_info={"raised_exception": False, "exception_traceback": None,
                        "exception_message": None},
        meta={"computed_by": "lakeprep one-pass aggregation"},
    )


def validate(df: DataFrame, suite: SuiteDeclaration | dict, source: str = "<suite>",
             sample_size: int = 5, run_name: str | None = None) -> ValidationReport:
    """Validate ``df`` against a suite declaration and return a :class:`ValidationReport`.

    The suite is compiled against ``df.schema`` first, so declaration errors raise
    ``SuiteConfigError`` before any Spark job. Row-level expectations that
    :mod:`quality.predicates` compiles are counted in one aggregation
    (:mod:`quality.rowmetrics`: unexpected counts and up to ``sample_size`` distinct failing
    values each); GE runs the others (table-level ones bundle into few jobs) in an ephemeral
    context, and the results are merged into one GE ``ExpectationSuiteValidationResult`` in
    suite order. The caller decides about caching (see ``quality.gate.run_gate``).
    """
    return run_validation(df, suite, source, sample_size, run_name)


def measure(df: DataFrame, decl: SuiteDeclaration, schema: StructType, sample_size: int = 5,
            failed_column: str | None = None) -> RowMetrics:
    """The one aggregation over ``df`` for the row-level and table-level metrics of ``decl``.

    ``schema`` is the validated data's (without the quarantine's ``failed_column``).
    """
    plan = tablemetrics.plan_for(decl, compile_suite(decl, schema=schema).expectations, schema,
                                 sample_size)
    return rowmetrics.compute(df, decl, sample_size=sample_size, failed_column=failed_column,
                              extra=plan.aggregates,
                              extra_inputs=plan.inputs)


def run_validation(df: DataFrame, suite: SuiteDeclaration | dict, source: str = "<suite>",
                   sample_size: int = 5, run_name: str | None = None,
                   metrics: RowMetrics | None = None) -> ValidationReport:
    """:func:`validate`, with the metrics already :func:`measure`d (``quality.gate`` does)."""
    decl = SuiteDeclaration.from_mapping(suite, source)
    full = compile_suite(decl, schema=df.schema, source=source)
    plan = tablemetrics.plan_for(decl, full.expectations, df.schema, sample_size)
    rows_here = [i for i, item in enumerate(decl.expectations) if computed_here(item)]
    ours = sorted([*rows_here, *plan.needs])
    if metrics is None and ours:
        metrics = measure(df, decl, df.schema, sample_size)
    theirs = [i for i in range(len(decl.expectations)) if i not in ours]
    context = _ephemeral_context()
    # persist=False: GE would otherwise persist the DataFrame and never release it.
    asset = context.data_sources.add_spark(DATASOURCE, persist=False).add_dataframe_asset(
        decl.table)
    batch_definition = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    ge_suite = context.suites.add(gx.ExpectationSuite(
        name=full.name, expectations=[full.expectations[i] for i in theirs], meta=full.meta))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{decl.suite_name}_validation", data=batch_definition,
                                suite=ge_suite))
    log.info("validating table %s with suite %s (%d expectations, %d by GE)", decl.table,
             decl.suite_name, len(decl.expectations), len(theirs))
    ge_result = definition.run(
        batch_parameters={"dataframe": df},
        result_format=_result_format(sample_size),
        run_id=None if run_name is None else gx.RunIdentifier(run_name=run_name),
    )
    by_position: dict[int, ExpectationValidationResult] = {}
    position = {ge_suite.expectations[k].id: i for k, i in enumerate(theirs)}
    for r in ge_result.results:
        i = position.get(r.expectation_config.id)
        if i is not None:
            by_position[i] = r
    for i in ours:
        expectation = full.expectations[i]
        expectation.id = str(uuid.uuid4())
        assert metrics is not None  # computed above whenever `ours` is not empty
        if i in plan.needs:
            by_position[i] = plan.judge(i, metrics.values, metrics.rows)
        else:
            by_position[i] = _synthesized(expectation, decl.expectations[i], metrics, i,
                                          sample_size)
    results = [by_position[i] for i in sorted(by_position)]
    statistics = calc_validation_statistics(results)
    ge_result.results = results
    ge_result.success = statistics.success
    ge_result.statistics = {
        "evaluated_expectations": statistics.evaluated_expectations,
        "successful_expectations": statistics.successful_expectations,
        "unsuccessful_expectations": statistics.unsuccessful_expectations,
        "success_percent": statistics.success_percent,
    }
    result_dict = _jsonable(ge_result.to_json_dict())
    outcomes = [_outcome(decl.expectations[i], r)
                for i, r in zip(sorted(by_position), result_dict["results"], strict=True)]
    report = ValidationReport(
        suite_name=decl.suite_name,
        table=decl.table,
        success=bool(result_dict["success"]),
        statistics=dict(result_dict.get("statistics") or {}),
        outcomes=outcomes,
        ge_result=result_dict,
    )
    log.info("suite %s on %s: success=%s, %s", decl.suite_name, decl.table, report.success,
             report.statistics)
    return report
