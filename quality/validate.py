"""Run a suite on a Spark DataFrame through Great Expectations' Spark datasource.

>>> report = validate(df, {"table": "orders", "expectations": [
...     {"expect_column_values_to_not_be_null": {"column": "order_id"}}]})  # doctest: +SKIP
>>> report.success  # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import logging
from typing import Any

import great_expectations as gx
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from pyspark.sql import DataFrame

from quality.compile import compile_suite, is_row_level
from quality.declaration import SuiteDeclaration
from quality.result import ExpectationOutcome, ValidationReport

log = logging.getLogger(__name__)

DATASOURCE = "lakeprep_spark"
BATCH_DEFINITION = "whole_dataframe"


def _ephemeral_context() -> Any:
    # In-memory stores and no Data Docs site: GE's default ephemeral context would create a temp
    # folder for docs, and this package does no file I/O (jobs.quality_docs renders docs).
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


def validate(df: DataFrame, suite: SuiteDeclaration | dict, source: str = "<suite>",
             sample_size: int = 5, run_name: str | None = None) -> ValidationReport:
    """Validate ``df`` against a suite declaration and return a :class:`ValidationReport`.

    The suite is compiled against ``df.schema`` first, so declaration errors raise
    ``SuiteConfigError`` before any Spark job. GE runs in an ephemeral context with the BASIC
    result format: aggregate metrics are bundled into few Spark jobs, and each row-level
    expectation adds one small job fetching up to ``sample_size`` failing values. The caller
    decides about caching (see ``quality.gate.run_gate``, which persists the input).
    """
    decl = SuiteDeclaration.from_mapping(suite, source)
    ge_suite = compile_suite(decl, schema=df.schema, source=source)
    context = _ephemeral_context()
    # persist=False: GE would otherwise persist the DataFrame and never release it.
    asset = context.data_sources.add_spark(DATASOURCE, persist=False).add_dataframe_asset(
        decl.table)
    batch_definition = asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
    ge_suite = context.suites.add(ge_suite)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{decl.suite_name}_validation", data=batch_definition,
                                suite=ge_suite))
    log.info("validating table %s with suite %s (%d expectations)", decl.table,
             decl.suite_name, len(decl.expectations))
    ge_result = definition.run(
        batch_parameters={"dataframe": df},
        result_format={"result_format": "BASIC", "partial_unexpected_count": sample_size},
        run_id=None if run_name is None else gx.RunIdentifier(run_name=run_name),
    )
    result_dict = _jsonable(ge_result.to_json_dict())
    position = {e.id: i for i, e in enumerate(ge_suite.expectations)}
    by_position = sorted(
        result_dict["results"],
        key=lambda r: position.get(r["expectation_config"].get("id"), len(position)))
    outcomes = [_outcome(decl.expectations[position[r["expectation_config"]["id"]]], r)
                for r in by_position if r["expectation_config"].get("id") in position]
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
