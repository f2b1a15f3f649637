"""The planner: which level each stage of a pipeline is fitted at, from the columns it touches.

A stage depends on an earlier stage when it reads a column that stage writes (or writes a
column that stage reads or writes, or either changes rows or drops columns). Estimators whose
dependencies are fitted form a level; every estimator of a level is fitted on one dataset.

>>> from features.imputation import EndTailImputer
>>> from features.outliers import Winsorizer
>>> stages = [EndTailImputer(inputCols=["a"], outputCols=["a_i"]),
...           Winsorizer(inputCols=["a_i"], outputCols=["a_w"]),  # reads what the imputer fills
...           Winsorizer(inputCols=["b"], outputCols=["b_w"])]
>>> plan_levels(stages, in_out_columns)
[0, 1, 0]
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pyspark.ml import Estimator
from pyspark.ml.param import Params

ALL = "\x00*"  # the column set of a stage that changes rows or drops columns: every column

# the columns a stage reads and writes, from its params alone
IoColumns = Callable[[Params], tuple[list[str], list[str]]]
Columns = list[tuple[set[str], set[str]]]  # (reads, writes) of every stage, in order


def in_out_columns(stage: Params) -> tuple[list[str], list[str]]:
    """An MLlib stage's input and output columns (``inputCols``/``outputCols`` or the single
    ``inputCol``/``outputCol``)."""
    if stage.hasParam("inputCols") and stage.isSet("inputCols"):
        return list(stage.getOrDefault("inputCols")), list(stage.getOrDefault("outputCols"))
    return [stage.getOrDefault("inputCol")], [stage.getOrDefault("outputCol")]


def changes_rows_or_columns(stage: Params) -> bool:
    """Stages that drop rows or columns: every stage after them depends on them. (The vector
    selectors do neither: they add a sliced vector column.)"""
    from features.outliers import OutlierTrimmer
    from features.selection import ChiSqSelector, UnivariateFeatureSelector
    skips = stage.hasParam("handleInvalid") and stage.getOrDefault("handleInvalid") == "skip"
    return (skips or isinstance(stage, OutlierTrimmer)
            or (type(stage).__module__.startswith("features.selection")
                and not isinstance(stage, ChiSqSelector | UnivariateFeatureSelector)))


def touches(a: set[str], b: set[str]) -> bool:
    """True when column sets ``a`` and ``b`` meet."""
    # a declared pattern (one-hot's ``country_*``) stands for the names its fit will choose
    return (bool(a & b) or ALL in a or ALL in b
            or any(fnmatch.fnmatchcase(x, y) for x in a for y in b if "*" in y)
            or any(fnmatch.fnmatchcase(y, x) for x in a for y in b if "*" in x))


def waits_for_its_level(stage: Params, index: int, fitted_without_pass: frozenset[int]) -> bool:
    """True for an estimator whose model exists only after its level's statistics."""
    return isinstance(stage, Estimator) and index not in fitted_without_pass


def stage_columns(stages: Sequence[Any], io: IoColumns) -> Columns:
    """Every stage's (reads, writes); row or column droppers read and write ``ALL``."""
    cols = []
    for s in stages:
        reads, writes = (set(c) for c in io(s))
        if s.hasParam("labelCol") and s.isDefined("labelCol"):  # a default label is read too
            reads.add(s.getOrDefault("labelCol"))
        if hasattr(s, "resolved_output_cols"):  # an in-place stage writes its inputs
            try:
                writes |= set(s.resolved_output_cols())
            except Exception:  # noqa: BLE001 - invalid params are reported by the fit itself
                pass
        if changes_rows_or_columns(s):
            reads, writes = {ALL}, {ALL}
        cols.append((reads, writes))
    return cols


def last_writer(cols: Columns, before: int, column: str) -> int | None:
    """The last stage before index ``before`` that writes ``column``, or None."""
    for j in range(before - 1, -1, -1):
        if touches(cols[j][1], {column}):
            return j
    return None


def plan_levels(stages: Sequence[Any], io: IoColumns,
                fitted_without_pass: frozenset[int] = frozenset(),
                fixed_levels: Mapping[int, int] | None = None) -> list[int]:
    """The level of every stage: estimators of one level are fitted on one shared dataset.

    A stage's level is at least an earlier stage's *availability* (its level, plus one for an
    estimator, whose model exists only after its level) when it reads what that stage writes,
    or is applied at its level (a transformer) writing what that stage reads; at least its level
    when it is an estimator writing what that stage reads or writes. Row or column droppers
    touch ``ALL``. Estimators in ``fitted_without_pass`` (fitted with no statistic, e.g. a
    constant imputer or a one-hot encoder reading ML attributes) are available at their own
    level. Estimators in ``fixed_levels`` are fitted at the level given (their statistics are
    derived from that level's pass, see :func:`features.fused.derived.derivations`).
    """
    cols = stage_columns(stages, io)
    levels: list[int] = []
    for i, s in enumerate(stages):
        reads, writes = cols[i]
        level = 0
        for j in range(i):
            r2, w2 = cols[j]
            avail = levels[j] + waits_for_its_level(stages[j], j, fitted_without_pass)
            if touches(reads, w2) or (touches(writes, r2)
                                      and not waits_for_its_level(s, i, fitted_without_pass)):
                level = max(level, avail)
            elif touches(writes, r2) or touches(writes, w2):
                level = max(level, levels[j])
        levels.append(fixed_levels[i] if fixed_levels and i in fixed_levels else level)
    return levels
