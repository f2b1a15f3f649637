"""Train/validation/test splits that are reproducible and leak-free.

Every row (or entity) draws a number in [0, 1) from a seeded xxhash64 of its key columns, so the
same seed gives the same split however the data is partitioned (``randomSplit`` does not: it
samples per partition). With ``entity_cols`` all rows of an entity share one draw and one split,
and the fractions are fractions of entities. Methods:

- ``random``: the draw against the cumulative fractions;
- ``stratified``: per-label cut points on the draw, so each class gets its fractions (exactly,
  by rank, for classes up to 100,000 units; larger classes use the fractions themselves);
  an entity's stratum is its largest label (for 0/1 labels: ever positive);
- ``time``: earliest rows to the first split, latest to the last, cut at quantiles of
  ``time_col`` (rows equal to a cut stay in the earlier split) or at given ``cut_points``
  (split i holds ``cut[i-1] <= t < cut[i]``); an entity goes by its latest time, so no
  training row is later than the first cut.

Example::

    spec = SplitSpec(method="stratified", label_col="label", entity_cols=["customer_id"])
    splits = split_dataset(df, spec)
    splits.rows
    # -> {'train': 8012, 'validation': 994, 'test': 994}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.config.split import SplitSpec
from lakeprep.errors import InputError

log = logging.getLogger(__name__)
SPLIT_COL = "split"
EXACT_STRATUM_MAX = 100_000  # percentile_approx is exact (and so deterministic) below 1/accuracy
_ACCURACY = 1_000_000
_MASK53 = (1 << 53) - 1
_U, _STRATUM, _T = "__split_u", "__split_stratum", "__split_t"


@dataclass(frozen=True)
class Splits:
    """The split DataFrames by name (in the spec's order) and their row counts."""

    frames: dict[str, DataFrame]
    rows: dict[str, int]

    def __getitem__(self, name: str) -> DataFrame:
        return self.frames[name]


def unit_draw(cols: list[str], seed: int) -> Column:
    """A number in [0, 1) from a seeded xxhash64 of ``cols``; stable across partitionings.

    Example::

        df.select(unit_draw(["id"], 42).alias("u"))
    """
    h = F.xxhash64(F.lit(seed), *[F.col(c) for c in cols])
    return h.bitwiseAND(F.lit(_MASK53)).cast("double") / float(1 << 53)


def _require(df: DataFrame, cols: list[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"split: {what} column(s) {missing} not found; "
                         f"available: {sorted(df.columns)}")


def _key_cols(df: DataFrame, spec: SplitSpec) -> list[str]:
    if spec.entity_cols:
        _require(df, spec.entity_cols, "entity")
        return list(spec.entity_cols)
    if spec.key_cols:
        _require(df, spec.key_cols, "key")
        return list(spec.key_cols)
    # xxhash64 refuses map columns; identical rows share a draw and so a split, which is
    # what we want for duplicates anyway.
    return [f.name for f in df.schema.fields if not isinstance(f.dataType, T.MapType)]


def _active(spec: SplitSpec) -> list[tuple[str, float]]:
    return [(name, f) for name, f in spec.fractions.items() if f > 0.0]


def _by_cuts(value: Column, names: list[str], cuts: list[Column], strict: bool) -> Column:
    """``names[i]`` for the i-th interval between ``cuts``; ``strict`` means value < cut."""
    expr = None
    for name, cut in zip(names[:-1], cuts, strict=True):
        test = value < cut if strict else value <= cut
        expr = F.when(test, F.lit(name)) if expr is None else expr.when(test, F.lit(name))
    last = F.lit(names[-1])
    return F.when(value.isNull(), F.lit(None)).otherwise(last if expr is None
                                                         else expr.otherwise(last))


def _cumulative(spec: SplitSpec) -> tuple[list[str], list[float]]:
    active = _active(spec)
    names = [n for n, _ in active]
    cum, total = [], 0.0
    for _, f in active[:-1]:
        total += f
        cum.append(total)
    return names, cum


def _join_back(df: DataFrame, units: DataFrame, keys: list[str], split_col: str) -> DataFrame:
    cond = reduce(lambda a, b: a & b, [df[k].eqNullSafe(units[k]) for k in keys])
    return df.join(units, cond, "left").select(df["*"], units[split_col])


def _random(df: DataFrame, spec: SplitSpec, split_col: str) -> DataFrame:
    names, cum = _cumulative(spec)
    u = unit_draw(_key_cols(df, spec), spec.seed)
    return df.withColumn(split_col, _by_cuts(u, names, [F.lit(c) for c in cum], strict=True))


def _stratified(df: DataFrame, spec: SplitSpec, split_col: str) -> DataFrame:
    label = spec.label_col
    assert label is not None, "SplitSpec validates that a stratified split names its label"
    _require(df, [label], "label")
    names, cum = _cumulative(spec)
    if spec.entity_cols:
        keys = _key_cols(df, spec)
        units = df.groupBy(*keys).agg(F.max(label).alias(_STRATUM))
    else:
        keys, units = None, df.withColumn(_STRATUM, F.col(label))
    units = units.withColumn(_U, unit_draw(_key_cols(df, spec), spec.seed))
    if not cum:
        return df.withColumn(split_col, F.lit(names[0]))
    # Small strata cut at their exact rank quantiles, so a class of 10 rows gets 8/1/1;
    # big ones cut at the fractions, which is deterministic and within sampling noise.
    cuts = units.groupBy(_STRATUM).agg(
        F.count(F.lit(1)).alias("__n"),
        F.percentile_approx(_U, cum, _ACCURACY).alias("__q"))
    cut_cols = [F.when(F.col("__n") <= EXACT_STRATUM_MAX, F.col("__q")[i]).otherwise(F.lit(c))
                .alias(f"__c{i}") for i, c in enumerate(cum)]
    cuts = cuts.select(_STRATUM, *cut_cols)
    joined = units.join(F.broadcast(cuts), units[_STRATUM].eqNullSafe(cuts[_STRATUM]), "left")
    assigned = joined.withColumn(split_col, _by_cuts(
        F.col(_U), names, [F.col(f"__c{i}") for i in range(len(cum))], strict=False))
    if keys is None:
        return assigned.select(*[units[c] for c in df.columns], split_col)
    return _join_back(df, assigned.select(*keys, split_col), keys, split_col)


def _time_value(df: DataFrame, col: str) -> Column:
    dtype = df.schema[col].dataType
    if isinstance(dtype, T.DateType):
        return F.unix_date(F.col(col)).cast("double")
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.unix_micros(F.col(col)).cast("double")
    if isinstance(dtype, T.NumericType):
        return F.col(col).cast("double")
    raise InputError(f"split: time column '{col}' must be a date, timestamp or number, found "
                     f"{dtype.simpleString()}")


def _cut_value(df: DataFrame, col: str, cut: datetime | date | float) -> Column:
    dtype = df.schema[col].dataType
    if isinstance(dtype, T.DateType):
        return F.unix_date(F.lit(cut).cast("date")).cast("double")
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType)):
        return F.unix_micros(F.lit(cut).cast(dtype.simpleString())).cast("double")
    return F.lit(float(cut) if isinstance(cut, (int, float)) else cut).cast("double")


def _time(df: DataFrame, spec: SplitSpec, split_col: str) -> DataFrame:
    col = spec.time_col
    assert col is not None, "SplitSpec validates that a time split names its column"
    _require(df, [col], "time")
    names, cum = _cumulative(spec)
    t = _time_value(df, col)
    if spec.entity_cols:
        keys = _key_cols(df, spec)
        units = df.groupBy(*keys).agg(F.max(t).alias(_T))
    else:
        keys, units = None, df.withColumn(_T, t)
    if spec.cut_points is not None:
        # Cut points belong to the declared splits; a zero-fraction split keeps its interval.
        all_names = list(spec.fractions)
        cuts = [_cut_value(df, col, c) for c in spec.cut_points]
        expr = _by_cuts(F.col(_T), all_names, cuts, strict=True)
    elif not cum:
        expr = F.when(F.col(_T).isNotNull(), F.lit(names[0]))
    else:
        row = units.agg(F.percentile_approx(_T, cum, _ACCURACY)).first()
        q = row[0] if row is not None else None
        if q is None:
            raise InputError(f"split: time column '{col}' has no values")
        # A quantile q holds at least its fraction of rows at or below it, so ties at q stay
        # in the earlier split.
        expr = _by_cuts(F.col(_T), names, [F.lit(v) for v in q], strict=False)
    assigned = units.withColumn(split_col, expr)
    if keys is None:
        return assigned.drop(_T)
    return _join_back(df, assigned.select(*keys, split_col), keys, split_col)


def assign_splits(df: DataFrame, spec: SplitSpec, split_col: str = SPLIT_COL) -> DataFrame:
    """Add ``split_col`` naming each row's split (null where the time is null); lazy.

    Time splits by quantile run one small job to find the cut points.
    """
    if split_col in df.columns:
        raise InputError(f"split: column '{split_col}' already exists; pass another split_col")
    if spec.method == "random":
        return _random(df, spec, split_col)
    if spec.method == "stratified":
        return _stratified(df, spec, split_col)
    return _time(df, spec, split_col)


def split_dataset(df: DataFrame, spec: SplitSpec) -> Splits:
    """Split ``df``; one job counts the rows per split and any empty split raises InputError.

    Cache ``df`` first when it is expensive: the counts and each split read it again.
    """
    assigned = assign_splits(df, spec)
    counts = {r[SPLIT_COL]: r["n"] for r in assigned.groupBy(SPLIT_COL).agg(
        F.count(F.lit(1)).alias("n")).collect()}
    if counts.get(None):
        raise InputError(f"split: {counts[None]} rows have a null '{spec.time_col}'; "
                         f"drop or fill them before a time split")
    # Given cut points define every named interval; otherwise zero fractions ask for no split.
    rows = {name: counts.get(name, 0) for name, f in spec.fractions.items()
            if f > 0.0 or spec.cut_points is not None}
    empty = [name for name, n in rows.items() if n == 0]
    if empty:
        raise InputError(
            f"split ({spec.method}, seed {spec.seed}): split(s) {empty} got no rows of "
            f"{sum(counts.values())}; found {rows}; use more data, larger fractions or "
            f"other cut points")
    log.info("split %s: %s", spec.method, rows)
    frames = {name: assigned.where(F.col(SPLIT_COL) == name).drop(SPLIT_COL) for name in rows}
    return Splits(frames=frames, rows=rows)
