"""The executor: the statistics every fit of a level asks for, computed in shared passes.

lakeprep's estimators ask for their statistics through :func:`features.base.aggregate`,
:func:`~features.base.aggregate_by` and :func:`features.encoding.base.category_stats`. While a
level is planned, a :class:`StatsRecorder` answers them: a request already computed gets its
result, a new one is recorded and the fit stops (:class:`Pending`). :func:`run_requests` then
computes every recorded request of the round together (Deequ's scan sharing):

- every global aggregate (counts, sums, sums of squares, min/max, ``percentile_approx`` of many
  columns, MLlib ``Summarizer`` vectors) over one dataset in ONE ``agg`` job;
- every plain value count (string indexers, rare-label grouping, count/frequency and one-hot
  encoders, categorical imputers) in ONE exploded ``(column, value)`` aggregation;
- every aggregate per class of one label (the selectors' ANOVA F) in ONE grouped aggregation.

Example::

    recorder = StatsRecorder(stage.uid, results={})
    token = STATS_PROVIDER.set(recorder)
    try:
        stage.fit(df)               # raises Pending: recorder.requests holds what it asked
    except Pending:
        found, passes = run_requests(recorder.requests)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from pyspark.sql import Column, DataFrame

from features import base as feature_base
from features.encoding import base as encoding_base


class RequestKey(NamedTuple):
    """Which call of which stage's fit asked for a statistic (its n-th request)."""

    stage_uid: str
    call: int


class Pending(Exception):
    """A fit asked for a statistic the level has not computed yet (caught by the driver)."""


@dataclass(frozen=True)
class AggregateRequest:
    """Named aggregate expressions over ``df`` (one row: :func:`features.base.aggregate`)."""

    key: RequestKey
    df: DataFrame
    exprs: dict[str, Column]


@dataclass(frozen=True)
class GroupedRequest:
    """Named aggregate expressions over ``df`` per value of column ``by``
    (:func:`features.base.aggregate_by`)."""

    key: RequestKey
    df: DataFrame
    by: str
    exprs: dict[str, Column]


@dataclass(frozen=True)
class CategoryRequest:
    """Category counts of ``cols`` over ``df`` (:func:`features.encoding.base.category_stats`),
    with a label sum (``label_col``), per fold (``fold``) and the all-rows totals
    (``with_totals``) as asked."""

    key: RequestKey
    df: DataFrame
    cols: list[str]
    label_col: str | None
    fold: Column | None
    with_totals: bool

    @property
    def plain(self) -> bool:
        """A plain value count, which shares the level's one value-count shuffle."""
        return self.label_col is None and self.fold is None


Request = AggregateRequest | GroupedRequest | CategoryRequest


class StatsRecorder:
    """Answers one stage's aggregate/aggregate_by/category_stats calls from the level's computed
    results, and records the calls it cannot answer yet (``features.base.STATS_PROVIDER``)."""

    def __init__(self, uid: str, results: dict[RequestKey, Any]) -> None:
        self.uid, self.results, self.calls = uid, results, 0
        self.requests: list[Request] = []

    def _next_key(self) -> RequestKey:
        key = RequestKey(self.uid, self.calls)
        self.calls += 1
        return key

    def _answer(self, request: Request) -> Any:
        if request.key in self.results:
            return self.results[request.key]
        self.requests.append(request)
        raise Pending(request.key)

    def aggregate(self, df: DataFrame, exprs: dict[str, Any]) -> dict[str, Any]:
        return dict(self._answer(AggregateRequest(self._next_key(), df, dict(exprs))))

    def aggregate_by(self, df: DataFrame, key: str, exprs: dict[str, Any]) -> dict[Any, dict]:
        return dict(self._answer(GroupedRequest(self._next_key(), df, key, dict(exprs))))

    def category_stats(self, df: DataFrame, cols: list[str], label_col: str | None,
                       fold: Any, with_totals: bool) -> dict[str, dict]:
        return dict(self._answer(CategoryRequest(self._next_key(), df, list(cols), label_col,
                                                 fold, with_totals)))


def run_requests(requests: list[Request]) -> tuple[dict[RequestKey, Any], int]:
    """Run a round's requests: per dataset ONE job for every global aggregate, ONE shuffle
    for every plain value count (an exploded (column, value) aggregation) and ONE grouped
    aggregation per grouping column (e.g. every ANOVA against one label). Returns the result
    of every request and the number of passes over the data.

    One job for both was tried (every row exploded into a row slot and value slots, grouped by
    (slot, value)): the global aggregates then get a buffer per group, and percentile_approx
    per group turns Spark's object hash aggregate into a sort past 128 groups (1.7x slower at
    200k rows). Requests for category statistics with a label or folds get a job each.
    """
    results: dict[RequestKey, Any] = {}
    passes = 0
    token = feature_base.STATS_PROVIDER.set(None)  # the real computations from here
    try:
        aggregates: dict[int, list[AggregateRequest]] = {}
        counts: dict[int, list[CategoryRequest]] = {}
        grouped: dict[tuple[int, str], list[GroupedRequest]] = {}
        for r in requests:
            if isinstance(r, GroupedRequest):
                grouped.setdefault((id(r.df), r.by), []).append(r)
            elif isinstance(r, AggregateRequest):
                aggregates.setdefault(id(r.df), []).append(r)
            elif r.plain:
                counts.setdefault(id(r.df), []).append(r)
            else:  # with a label or folds: its own aggregation
                passes += 1
                results[r.key] = encoding_base.category_stats(r.df, r.cols, r.label_col, r.fold,
                                                              r.with_totals)
        for group in grouped.values():
            passes += 1
            found = feature_base.aggregate_by(
                group[0].df, group[0].by, {f"{j}/{name}": e for j, r in enumerate(group)
                                           for name, e in r.exprs.items()})
            for j, r in enumerate(group):
                results[r.key] = {k: {name: row[f"{j}/{name}"] for name in r.exprs}
                                  for k, row in found.items()}
        for on_one_df in aggregates.values():
            passes += 1
            row = feature_base.aggregate(on_one_df[0].df, {
                f"{j}/{name}": e for j, a in enumerate(on_one_df) for name, e in a.exprs.items()})
            for j, a in enumerate(on_one_df):
                results[a.key] = {name: row[f"{j}/{name}"] for name in a.exprs}
        for counted_on_one_df in counts.values():
            passes += 1
            cols = list(dict.fromkeys(c for q in counted_on_one_df for c in q.cols))
            stats = encoding_base.category_stats(
                counted_on_one_df[0].df, cols,
                with_totals=any(q.with_totals for q in counted_on_one_df))
            for q in counted_on_one_df:
                keys = [*q.cols, *([encoding_base.TOTAL] if q.with_totals else [])]
                results[q.key] = {c: stats[c] for c in keys}
    finally:
        feature_base.STATS_PROVIDER.reset(token)
    return results, passes
