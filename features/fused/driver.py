"""The driver: fits a pipeline's stages level by level, each level's statistics in shared passes.

Per level (:mod:`features.fused.planner`) it builds the level's dataset, fits every covered
estimator of the level in rounds (each round's requests computed together by
:mod:`features.fused.executor`) until all are fitted, fits the rest on their own, and moves
on. The input is cached for the fit only when several levels read it and it is costly to
recompute (:func:`costly_to_recompute`); it is released after.

Example::

    model = fit_stages(pipeline.getStages(), df, io=step_columns, guard=naming_the_step,
                       name=step_name)
    str(model.fit_report)
    # 'fit: 11 stages in 3 levels, 5 passes over the input, 12 Spark jobs (fused)'
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from pyspark.ml import Estimator, PipelineModel, Transformer
from pyspark.ml.param import Params
from pyspark.sql import DataFrame, SparkSession

from features import base as feature_base
from features.fused.derived import DERIVED, DerivedMoments, derivations
from features.fused.executor import Pending, Request, RequestKey, StatsRecorder, run_requests
from features.fused.mllib_fits import NotFusable, fused_fits
from features.fused.planner import IoColumns, plan_levels, waits_for_its_level
from lakeprep.frames import cache

log = logging.getLogger(f"lakeprep.{__name__}")

MAX_ROUNDS = 8  # statistics that depend on statistics (e.g. the MAD) take one round each

# wraps every call that may fail for a stage (it names the spec step in errors)
Guard = Callable[[Params], AbstractContextManager[None]]
FitFunctions = dict[type, Callable[[Any, DataFrame], Any]]


@dataclass
class FitReport:
    """How a pipeline was fitted: stages, levels, passes over the input, Spark jobs."""

    stages: int
    fused: bool
    levels: int = 0
    passes: int = 0
    jobs: int = 0
    unfused: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        how = "fused" if self.fused else "stage by stage"
        text = (f"fit: {self.stages} stages in {self.levels} levels, {self.passes} passes over "
                f"the input, {self.jobs} Spark jobs ({how})")
        if self.fused and self.unfused:
            text += f"; fitted on their own: {', '.join(self.unfused)}"
        return text


class JobCounter:
    """Counts the Spark jobs of a block through its job group: the caller's, or one of its own
    (the caller's local properties are restored after)."""

    KEYS = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")

    def __init__(self, spark: SparkSession) -> None:
        self.sc = spark.sparkContext
        self.group = f"lakeprep-fit-{uuid.uuid4().hex[:12]}"

    def __enter__(self) -> JobCounter:
        self.saved = {k: self.sc.getLocalProperty(k) for k in self.KEYS}
        if self.saved["spark.jobGroup.id"]:  # the caller's group (a CLI, a bench) is kept
            self.group = self.saved["spark.jobGroup.id"]
        else:
            self.sc.setJobGroup(self.group, self.saved["spark.job.description"] or "lakeprep fit")
        self.before = len(self.sc.statusTracker().getJobIdsForGroup(self.group))
        return self

    @property
    def jobs(self) -> int:
        return len(self.sc.statusTracker().getJobIdsForGroup(self.group)) - self.before

    def __exit__(self, *exc: object) -> None:
        for k, v in self.saved.items():
            self.sc.setLocalProperty(k, v)  # type: ignore[arg-type]  # None clears it


def fit_stages(stages: Sequence[Any], dataset: DataFrame, io: IoColumns, guard: Guard,
               name: Callable[[Params], str], fused: bool = True) -> PipelineModel:
    """Fit ``stages`` as ``Pipeline.fit`` does, fused level by level unless ``fused`` is False.

    ``guard(stage)`` wraps every call that may fail for a stage (it names the step in errors);
    ``name(stage)`` names it in the log. The returned model carries ``fit_report``.
    """
    report = FitReport(stages=len(stages), fused=fused)
    with JobCounter(dataset.sparkSession) as counter:
        if fused:
            fitted = _fit_fused(stages, dataset, io, guard, name, report)
        else:
            fitted = _fit_sequential(stages, dataset, guard, counter, report)
        report.jobs = counter.jobs
    log.info("%s", report)
    model = PipelineModel(fitted)
    model.fit_report = report  # type: ignore[attr-defined]
    return model


def _fit_sequential(stages: Sequence[Any], dataset: DataFrame, guard: Guard,
                    counter: JobCounter, report: FitReport) -> list[Transformer]:
    """Pipeline's own fit: one estimator after the other, each on the transformed data."""
    last = max((i for i, s in enumerate(stages) if isinstance(s, Estimator)), default=-1)
    fitted: list[Transformer] = []
    for i, stage in enumerate(stages):
        with guard(stage):
            before = counter.jobs
            model = stage.fit(dataset) if isinstance(stage, Estimator) else stage
            if isinstance(stage, Estimator):
                report.levels += 1
                report.passes += counter.jobs > before
            fitted.append(model)
            if i < last:
                dataset = model.transform(dataset)
    return fitted


def _fit_fused(stages: Sequence[Any], dataset: DataFrame, io: IoColumns, guard: Guard,
               name: Callable[[Params], str], report: FitReport) -> list[Transformer]:
    estimators = [i for i, s in enumerate(stages) if isinstance(s, Estimator)]
    fitted: dict[int, Transformer] = {i: s for i, s in enumerate(stages)
                                      if not isinstance(s, Estimator)}
    table = fused_fits()
    fitted_without_pass: frozenset[int] = frozenset()
    derived_at: dict[int, int] = {}  # moment stages fitted a level early (derivations)
    done_levels: set[int] = set()
    planned = {lv for i, lv in enumerate(plan_levels(stages, io)) if i in estimators}
    cached = len(planned) > 1 and not dataset.is_cached and costly_to_recompute(dataset)
    base = cache(dataset) if cached else dataset
    try:
        while remaining := [i for i in estimators if i not in fitted]:
            derived_at = {i: lv for i, lv in derived_at.items() if i in fitted}
            levels = plan_levels(stages, io, fitted_without_pass, derived_at)
            level = min(levels[i] for i in remaining)
            level_stages = [i for i in remaining if levels[i] == level]
            full_level_input = partial(_level_dataset, base, stages, fitted, levels,
                                       fitted_without_pass, level, len(stages))  # built if need be
            derived = derivations(stages, io, levels, fitted_without_pass, level, level_stages,
                                  full_level_input, fitted)
            if derived:
                for i in derived:
                    log.info("fused fit: %s is fitted at level %d, its statistics derived from "
                             "its producers' pass", name(stages[i]), level)
                derived_at.update({i: level for i in derived})
                levels = plan_levels(stages, io, fitted_without_pass, derived_at)
                level_stages = [i for i in remaining if levels[i] == level]
            done_levels.add(level)
            df = _level_dataset(base, stages, fitted, levels, fitted_without_pass, level,
                                upto=max(level_stages))
            covered = [i for i in level_stages if type(stages[i]) in table]
            outcome = _fit_level(stages, df, covered, fitted, table, guard, report, derived)
            if outcome.fitted_without_pass:  # their dependents may join this level, so plan
                fitted_without_pass |= outcome.fitted_without_pass  # again (no pass has run)
                continue
            separately = outcome.fit_separately + [i for i in level_stages
                                                   if type(stages[i]) not in table]
            for i in sorted(separately):
                if i in derived:  # its input exists only at the next level: fitted there
                    derived_at.pop(i)
                    continue
                log.info("fused fit: %s is fitted on its own at level %d", name(stages[i]), level)
                report.unfused.append(name(stages[i]))
                with guard(stages[i]):
                    fitted[i] = stages[i].fit(df)
                report.passes += 1
        report.levels = len(done_levels)
    finally:
        if cached:
            base.unpersist()
    return [fitted[i] for i in range(len(stages))]


# Plan nodes that re-read cheaply: a file or table scan (column-pruned to what a level reads),
# local rows, a cached relation, and row-wise projections and filters over them.
CHEAP_NODES = frozenset({"LogicalRelation", "HiveTableRelation", "DataSourceV2Relation",
                         "LocalRelation", "InMemoryRelation", "Range", "Project", "Filter",
                         "SubqueryAlias", "LocalLimit", "GlobalLimit", "Sample"})


def costly_to_recompute(df: DataFrame) -> bool:
    """True when ``df``'s plan does more than scan, project and filter (a join, an aggregation,
    a window, a Python UDF, a Python RDD...): worth caching when several levels read it.

    A plain scan is not: each level's pass reads only the columns it needs (bench_fit's second
    level reads 2 of 12 columns), while a cache first materialises every column of every row.
    Measured at 200k rows, bench_fit's workload fitted in one session, alternating, best of 3:
    7.5 s reading the Parquet input again, 10.3 s caching it; bench/bench_fit.py at 1M rows
    (``spec fused`` vs ``spec fused cached``): fit 11.2 s vs 14.5 s (a shared machine).
    No job runs: the optimized logical plan is walked in the JVM.
    """
    stack = [df._jdf.queryExecution().optimizedPlan()]
    while stack:
        node = stack.pop()
        if node.nodeName() not in CHEAP_NODES:
            return True
        children = node.children()
        stack += [children.apply(k) for k in range(children.size())]
    return False


def _level_dataset(base: DataFrame, stages: Sequence[Any], fitted: dict[int, Transformer],
                   levels: list[int], fitted_without_pass: frozenset[int], level: int,
                   upto: int) -> DataFrame:
    """The level's input: every stage before ``upto`` that is available at ``level``, in order."""
    df = base
    for i in range(upto):
        if levels[i] + waits_for_its_level(stages[i], i, fitted_without_pass) <= level:
            df = fitted[i].transform(df)
    return df


class LevelOutcome(NamedTuple):
    """What fitting a level's covered stages left to do."""

    fit_separately: list[int]  # stages to fit on their own (not covered, or the pass failed)
    fitted_without_pass: frozenset[int]  # fitted before any pass: their dependents may join


def _fit_level(stages: Sequence[Any], df: DataFrame, level_stages: list[int],
               fitted: dict[int, Transformer], table: FitFunctions, guard: Guard,
               report: FitReport, derived: Mapping[int, Mapping[str, DerivedMoments]],
               ) -> LevelOutcome:
    """Fit the level's covered estimators in shared rounds.

    Returns the stages to fit on their own, and (before any pass has run) the stages that
    fitted without any statistic, so that the planner can move their dependents up.
    """
    results: dict[RequestKey, Any] = {}
    separately: list[int] = []
    todo = list(level_stages)
    for round_ in range(MAX_ROUNDS):
        requests: list[Request] = []
        without_pass: set[int] = set()
        for i in list(todo):
            stage = stages[i]
            recorder = StatsRecorder(stage.uid, results)
            token = feature_base.STATS_PROVIDER.set(recorder)
            derived_token = DERIVED.set(derived.get(i, {}))
            try:
                with guard(stage):
                    fitted[i] = table[type(stage)](stage, df)
                todo.remove(i)
                if recorder.calls == 0:
                    without_pass.add(i)
            except Pending:
                requests += recorder.requests
            except NotFusable as why:
                log.info("fused fit: %s not covered (%s)", type(stage).__name__, why)
                todo.remove(i)
                separately.append(i)
            finally:
                DERIVED.reset(derived_token)
                feature_base.STATS_PROVIDER.reset(token)
        if round_ == 0 and without_pass:
            return LevelOutcome(separately, frozenset(without_pass))
        if not todo:
            return LevelOutcome(separately, frozenset())
        try:
            found, passes = run_requests(requests)
        except Exception as err:  # noqa: BLE001 - each stage's own fit reports it precisely
            text = str(err).strip()
            log.warning("fused fit: the shared pass failed (%s); fitting %d stage(s) on their own",
                        text.splitlines()[0] if text else type(err).__name__, len(todo))
            return LevelOutcome(separately + todo, frozenset())
        results.update(found)
        report.passes += passes
    log.warning("fused fit: %d stage(s) still asking after %d rounds", len(todo), MAX_ROUNDS)
    return LevelOutcome(separately + todo, frozenset())
