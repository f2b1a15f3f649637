"""Table-level metrics Great Expectations needs, computed in the gate's one aggregation.

GE judges a table-level expectation (row count, column min/max/mean/sum/stdev, non-null share,
column set and count) from a few metrics, each of which GE's Spark engine computes as one
aggregate (``F.min``, ``F.stddev_samp``...) or from the schema. This module builds the same
aggregates as extra columns of :func:`quality.rowmetrics.compute`'s one aggregation, then hands
the values to the expectation's own ``metrics_validate``: GE still judges and builds the result,
it just does not read the data again. Expectations whose metrics are not listed here (distinct
values, quantiles, median, most common value, column types...) are left to GE.

Example::

    plan = plan_for(decl, full_suite, df.schema)
    got = one_row(df.agg(F.count(F.lit(1)).alias("rows"), *plan.aggregates))
    plan.judge(0, got, rows=got["rows"])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.expectations.expectation import Expectation
from great_expectations.validator.metric_configuration import MetricConfigurationID
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config.suites import SuiteDeclaration
from quality.compile import is_row_level

# GE's Spark mean/stdev refuse other types (TypeError in its result): those stay with GE.
_GE_AGGREGATE_TYPES = (T.DecimalType, T.IntegerType, T.DoubleType, T.FloatType, T.LongType)


def _nonnull_share(c: Column) -> Column:
    # GE: non-null count / row count, 0 on an empty table.
    return F.coalesce(F.count(c) / F.nullif(F.count(F.lit(1)), F.lit(0)), F.lit(0.0))


# metric name -> (the aggregate GE's Spark engine runs, whether it needs a numeric column)
_COLUMN_AGGREGATES: dict[str, tuple[Callable[[Column], Column], bool]] = {
    "column.min": (F.min, False),
    "column.max": (F.max, False),
    "column.mean": (F.mean, True),
    "column.sum": (F.sum, True),
    "column.standard_deviation": (F.stddev_samp, True),
    "column.non_null_proportion": (_nonnull_share, False),
}
# Metrics of the whole table that need no aggregate of their own.
_TABLE_METRICS = {"table.row_count", "table.columns", "table.column_count"}


# (GE's id of the metric configuration, the metric's name, the alias of its aggregate or None)
Need = tuple[MetricConfigurationID, str, str | None]


def _result_format(sample_size: int) -> dict[str, Any]:
    return {"result_format": "BASIC", "partial_unexpected_count": sample_size}


@dataclass
class TablePlan:
    """Which table-level expectations the one aggregation serves, and its extra columns."""

    columns: list[str]
    sample_size: int
    aggregates: list[Column] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)  # the columns the aggregates read
    # position in the suite -> [(GE metric configuration id, metric name, aggregate alias)]
    needs: dict[int, list[Need]] = field(default_factory=dict)
    expectations: dict[int, Expectation] = field(default_factory=dict)

    def judge(self, i: int, got: dict[str, Any], rows: int) -> ExpectationValidationResult:
        """GE's own result for expectation ``i``, from the aggregation's values ``got``."""
        values: dict[MetricConfigurationID, Any] = {}
        for metric_id, name, alias in self.needs[i]:
            if name == "table.row_count":
                values[metric_id] = rows
            elif name == "table.columns":
                values[metric_id] = list(self.columns)
            elif name == "table.column_count":
                values[metric_id] = len(self.columns)
            else:
                assert alias is not None  # every column metric has its aggregate
                values[metric_id] = got[alias]
        expectation = self.expectations[i]
        result = expectation.metrics_validate(
            values, runtime_configuration={"result_format": _result_format(self.sample_size)})
        result.meta = {"computed_by": "lakeprep one-pass aggregation"}
        result.exception_info = {"raised_exception": False, "exception_traceback": None,
                                 "exception_message": None}
        return result


def plan_for(decl: SuiteDeclaration, compiled: list[Expectation], schema: T.StructType,
             sample_size: int = 5) -> TablePlan:
    """The aggregates for every table-level expectation whose metrics are all listed here."""
    plan = TablePlan(columns=[f.name for f in schema.fields], sample_size=sample_size)
    types = {f.name: f.dataType for f in schema.fields}
    for i, item in enumerate(decl.expectations):
        if is_row_level(item.type):
            continue
        expectation = compiled[i]
        deps = expectation.get_validation_dependencies(
            runtime_configuration={"result_format": _result_format(sample_size)})
        configs = deps.metric_configurations
        if not configs:
            continue
        needs: list[Need] = []
        for name, config in configs.items():
            if name in _TABLE_METRICS and not config.metric_value_kwargs:
                needs.append((config.id, name, None))
                continue
            # Only a plain column domain: no row condition, no batch of its own, no options.
            domain = {k for k, v in config.metric_domain_kwargs.items() if v is not None}
            column = config.metric_domain_kwargs.get("column")
            spec = _COLUMN_AGGREGATES.get(name)
            if (spec is None or domain != {"column"} or config.metric_value_kwargs
                    or column not in types
                    or (spec[1] and not isinstance(types[column], _GE_AGGREGATE_TYPES))):
                needs = []
                break
            alias = f"__lakeprep_t{i}_{len(needs)}"
            plan.aggregates.append(spec[0](F.col(f"`{column}`")).alias(alias))
            plan.inputs.append(column)
            needs.append((config.id, name, alias))
        if needs:
            plan.needs[i] = needs
            plan.expectations[i] = expectation
    return plan
