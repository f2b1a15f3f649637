"""Point-in-time features and labels per entity, as of a cutoff date.

Features use only events strictly before the cutoff: the events are filtered on
``timestamp < cutoff`` before anything else, so no aggregate, window or recency can read an
event at or after it. Labels look only at [cutoff, cutoff + horizon).

>>> orders = spark.sql("SELECT 1 AS customer_id, TIMESTAMP'2024-02-20' AS order_ts, "
...                    "20D AS amount UNION ALL SELECT 1, TIMESTAMP'2023-12-15', 5D "
...                    "UNION ALL SELECT 1, TIMESTAMP'2024-03-05', 99D")  # after the cutoff
>>> feats = point_in_time_aggregates(orders, "customer_id", "order_ts", "2024-03-01",
...                                  windows=[30, 90], aggregations={"amount": ["sum", "max"]},
...                                  count_prefix="orders_")
>>> feats.collect()  # doctest: +NORMALIZE_WHITESPACE
[Row(customer_id=1, orders_count_30d=1, amount_sum_30d=20.0, amount_max_30d=20.0,
     orders_count_90d=2, amount_sum_90d=25.0, amount_max_90d=20.0, days_since_last=10)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, FloatType

from features.base import InRange, Rule, check_choice, check_params
from features.checks import require_columns, require_numeric
from features.creation.base import cutoff_literal, days_before, parse_cutoff, timestamp_of
from features.errors import FeatureSpecError
from features.params import HasEntityCol
from features.persistence import StageReadable, StageWritable
from features.registry import as_list, register

FUNCS = ("count", "sum", "mean", "min", "max", "count_distinct")
_TS = "__pit_ts"


def _aggregate(value: Column, func: str, floating: bool) -> Column:
    if func in ("sum", "mean") and floating:
        return _ordered_sum(value, func)
    if func == "count":
        return F.count(value)
    if func == "sum":
        return F.sum(value)
    if func == "mean":
        return F.mean(value)
    if func == "min":
        return F.min(value)
    if func == "max":
        return F.max(value)
    return F.countDistinct(value)


def _ordered_sum(value: Column, func: str) -> Column:
    """The sum (or mean) of a group's floating-point values added in ascending order.

    Spark's ``sum`` adds in the order rows and partial sums reach it, which depends on the
    partitioning and, on a cluster, on which shuffle block arrives first: 451.27 on one run,
    451.2699999999999 on the next. Adding the sorted values makes a feature table the same
    bits on any cluster layout, so a rebuild reproduces it. Null when the group has no value,
    like ``sum``.
    """
    values = F.array_sort(F.collect_list(value.cast("double")))
    total = F.aggregate(values, F.lit(0.0), lambda acc, x: acc + x)
    return F.when(F.size(values) > 0, total if func == "sum" else total / F.size(values))


def point_in_time_aggregates(events: DataFrame, entity_col: str, timestamp_col: str,
                             cutoff: str, windows: list[int],
                             aggregations: dict[str, list[str]] | None = None,
                             count_prefix: str = "", recency_col: str | None = "days_since_last",
                             entities: DataFrame | None = None) -> DataFrame:
    """One row per entity with windowed aggregates of its events before ``cutoff``.

    For each N in ``windows`` (days): ``<count_prefix>count_<N>d`` (events in
    [cutoff - N days, cutoff)) and ``<col>_<func>_<N>d`` for every ``aggregations`` entry
    (count, sum, mean, min, max, count_distinct; nulls skipped; floating-point sums and means
    add the values in ascending order, so they do not depend on the partitioning).
    ``recency_col`` is whole calendar days from the last event before the cutoff to the cutoff
    date. All windows and
    columns are computed in one aggregation. Without ``entities`` only entities with an event
    before the cutoff appear; with it every entity of ``entities`` does, with counts and sums 0
    and the others null when it has no event. Counts and sums are 0 for an empty window.

    >>> orders = spark.sql("SELECT 7 AS customer_id, TIMESTAMP'2024-02-01' AS order_ts, "
    ...                    "12.5D AS amount")
    >>> point_in_time_aggregates(orders, "customer_id", "order_ts", "2024-03-01", [90],
    ...                          {"amount": ["sum"]}).columns
    ['customer_id', 'count_90d', 'amount_sum_90d', 'days_since_last']
    """
    stage = "point_in_time_aggregates"
    cutoff = parse_cutoff(cutoff, stage)
    aggregations = aggregations or {}
    if not windows or min(windows) < 1:
        raise FeatureSpecError(f"{stage}: windows must be whole days >= 1, got {windows}")
    for col, funcs in aggregations.items():
        for f in funcs:
            check_choice(stage, f"aggregations[{col!r}]", f, FUNCS)
    require_columns(events, [entity_col, timestamp_col, *aggregations], stage)
    numeric = [c for c, fs in aggregations.items() if set(fs) & {"sum", "mean"}]
    require_numeric(events, numeric, stage)
    floating = {f.name for f in events.schema.fields
                if isinstance(f.dataType, (FloatType, DoubleType))}
    at = cutoff_literal(cutoff)
    # The point-in-time guarantee: drop every event at or after the cutoff first.
    past = (events.withColumn(_TS, timestamp_of(timestamp_col))
            .where(F.col(_TS) < at)
            .select(entity_col, _TS, *aggregations))
    aggs, zero_filled = [], []
    for n in sorted(set(windows)):
        inside = F.col(_TS) >= days_before(at, n)
        name = f"{count_prefix}count_{n}d"
        aggs.append(F.count(F.when(inside, F.lit(1))).alias(name))
        zero_filled.append(name)
        for col, funcs in aggregations.items():
            for f in funcs:
                name = f"{col}_{f}_{n}d"
                aggs.append(_aggregate(F.when(inside, F.col(col)), f, col in floating)
                            .alias(name))
                if f in ("count", "sum", "count_distinct"):
                    zero_filled.append(name)
    if recency_col:
        aggs.append(F.datediff(F.to_date(at), F.to_date(F.max(_TS))).alias(recency_col))
    out = past.groupBy(entity_col).agg(*aggs)
    if entities is not None:
        require_columns(entities, [entity_col], stage)
        out = entities.select(entity_col).distinct().join(out, entity_col, "left")
    # coalesce keeps each column's type: a double sum stays double, a count stays long.
    return out.withColumns({c: F.coalesce(F.col(c), F.lit(0)) for c in zero_filled})


def window_label(events: DataFrame, entities: DataFrame, entity_col: str, timestamp_col: str,
                 cutoff: str, horizon_days: int, label_col: str = "label") -> DataFrame:
    """1 for each entity with any event in [cutoff, cutoff + horizon_days), else 0 (int).

    One row per distinct entity of ``entities`` (those with no event get 0). Events before the
    cutoff or at/after the horizon end are ignored.

    >>> orders = spark.sql("SELECT 1 AS customer_id, TIMESTAMP'2024-03-10' AS order_ts")
    >>> customers = spark.sql("SELECT * FROM VALUES (1), (2) AS t(customer_id)")
    >>> window_label(orders, customers, "customer_id", "order_ts", "2024-03-01", 30,
    ...              "purchased_next_30d").orderBy("customer_id").collect()
    [Row(customer_id=1, purchased_next_30d=1), Row(customer_id=2, purchased_next_30d=0)]
    """
    stage = "window_label"
    cutoff = parse_cutoff(cutoff, stage)
    if horizon_days < 1:
        raise FeatureSpecError(f"{stage}: horizon_days must be >= 1, got {horizon_days}")
    require_columns(events, [entity_col, timestamp_col], stage)
    require_columns(entities, [entity_col], stage)
    at, ts = cutoff_literal(cutoff), timestamp_of(timestamp_col)
    end = at + F.expr(f"INTERVAL {int(horizon_days)} DAYS")
    hits = (events.where((ts >= at) & (ts < end)).select(entity_col).distinct()
            .withColumn(label_col, F.lit(1)))
    return (entities.select(entity_col).distinct().join(hits, entity_col, "left")
            .withColumn(label_col, F.coalesce(F.col(label_col), F.lit(0)).cast("int")))


@register("point_in_time_aggregates")
class PointInTimeAggregates(Transformer, HasEntityCol, StageReadable, StageWritable):
    """Turns an events frame into one row per entity of windowed aggregates as of ``cutoff``.

    The stage form of :func:`point_in_time_aggregates` (see it for the columns and the
    guarantee that no event at or after the cutoff is read). It changes the grain from events
    to entities, so it belongs first in a pipeline over events.

    >>> orders = spark.sql("SELECT 1 AS customer_id, TIMESTAMP'2024-02-20' AS order_ts, "
    ...                    "20D AS amount, 'books' AS category")
    >>> stage = PointInTimeAggregates(
    ...     entityCol="customer_id", timestampCol="order_ts", cutoff="2024-03-01",
    ...     windows=[30, 90], aggregations={"amount": ["sum", "mean", "max"],
    ...                                     "category": ["count_distinct"]},
    ...     countPrefix="orders_", recencyCol="days_since_last_order")
    >>> stage.transform(orders).columns  # doctest: +NORMALIZE_WHITESPACE
    ['customer_id', 'orders_count_30d', 'amount_sum_30d', 'amount_mean_30d', 'amount_max_30d',
     'category_count_distinct_30d', 'orders_count_90d', 'amount_sum_90d', 'amount_mean_90d',
     'amount_max_90d', 'category_count_distinct_90d', 'days_since_last_order']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    PARAM_RULES: dict[str, Rule] = {"windows": InRange(1, each=True)}
    PARAM_NOTES = {"entityCol": "entity key"}

    timestampCol = Param(Params._dummy(), "timestampCol", "event time", TypeConverters.toString)
    cutoff = Param(Params._dummy(), "cutoff", "ISO date/timestamp; events before it only",
                   TypeConverters.toString)
    windows = Param(Params._dummy(), "windows", "window lengths in days",
                    TypeConverters.toListInt)
    aggregations = Param(Params._dummy(), "aggregations",
                         f"column -> functions from {FUNCS}", TypeConverters.identity)
    countPrefix = Param(Params._dummy(), "countPrefix", "prefix of the count_<N>d columns",
                        TypeConverters.toString)
    recencyCol = Param(Params._dummy(), "recencyCol",
                       "name of the days-since-last-event column ('' for none)",
                       TypeConverters.toString)

    @keyword_only
    def __init__(self, *, entityCol: str | None = None, timestampCol: str | None = None,
                 cutoff: str | None = None, windows: list[int] | None = None,
                 aggregations: dict[str, list[str]] | None = None, countPrefix: str = "",
                 recencyCol: str = "days_since_last") -> None:
        super().__init__()
        self._setDefault(windows=[30, 90], aggregations={}, countPrefix="",
                         recencyCol="days_since_last")
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, entityCol: str | None = None, timestampCol: str | None = None,
                  cutoff: str | None = None, windows: list[int] | None = None,
                  aggregations: dict[str, list[str]] | None = None, countPrefix: str = "",
                  recencyCol: str = "days_since_last") -> PointInTimeAggregates:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    # it turns events into one row per entity: only the columns it declares remain
    CHANGES_GRAIN = True

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """The entity, ``<countPrefix>count_<N>d`` and ``<col>_<func>_<N>d`` per window, recency."""
        prefix, out = params.get("countPrefix", ""), as_list(params.get("entityCol"))
        for n in sorted(set(params.get("windows", [30, 90]))):
            out.append(f"{prefix}count_{n}d")
            out += [f"{c}_{f}_{n}d" for c, fs in (params.get("aggregations") or {}).items()
                    for f in fs]
        recency = params.get("recencyCol", "days_since_last")
        return out + ([recency] if recency else [])

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        missing = [p.name for p in (self.entityCol, self.timestampCol, self.cutoff)
                   if not self.isDefined(p)]
        if missing:
            raise FeatureSpecError(f"{type(self).__name__}: {missing} required")
        return point_in_time_aggregates(
            dataset, self.getOrDefault(self.entityCol), self.getOrDefault(self.timestampCol),
            self.getOrDefault(self.cutoff), self.getOrDefault(self.windows),
            self.getOrDefault(self.aggregations), self.getOrDefault(self.countPrefix),
            self.getOrDefault(self.recencyCol) or None)
