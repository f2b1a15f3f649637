"""Tail statistics shared by the outlier stages and the end-of-tail imputer: one job, checked.

Statistics are learnt from finite values only (null, NaN and +-inf are ignored), all columns in
one aggregation (plus one for the MAD's median of deviations). Every statistic and every bound
is checked: a column with no finite value, or whose mean/std/quantiles/bounds overflow (values
near +-1.8e308), raises a FeatureInputError naming the stage and the column instead of turning
into NaN or inf downstream.

- ``gaussian``: mean -/+ fold * std (``ddof`` 0 for the outlier stages, 1 for the imputer,
  as feature-engine's);
- ``iqr``: q25 - fold * IQR and q75 + fold * IQR;
- ``quantiles``: the ``fold`` and ``1 - fold`` quantiles;
- ``mad``: median -/+ fold * MAD / 0.6744897501960817;
- ``max``: fold * max (upper bound only).

>>> tail_bounds({"mean": 10.0, "std": 2.0}, "gaussian", 3.0, "Winsorizer", "amount")
(4.0, 16.0)
"""

from __future__ import annotations

import math
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import aggregate, finite_value, quantiles
from features.errors import FeatureInputError

METHODS = ("gaussian", "iqr", "quantiles", "mad", "max")
# Phi^-1(0.75): MAD / MAD_NORMAL estimates the standard deviation of a normal distribution.
MAD_NORMAL = 0.6744897501960817


def tail_statistics(df: DataFrame, cols: list[str], method: str, fold: float,
                    relative_error: float, stage: str, ddof: int = 0) -> dict[str, dict[str, Any]]:
    """The statistics ``method`` needs for every column, in one aggregation (two for ``mad``).

    Raises FeatureInputError naming ``stage`` and the columns that have no finite value or
    whose statistics are not finite.
    """
    exprs = {}
    for c in cols:
        v = finite_value(c)
        exprs[f"{c}/n"] = F.count(v)
        if method == "gaussian":
            exprs[f"{c}/mean"] = F.mean(v)
            exprs[f"{c}/std"] = F.stddev_pop(v) if ddof == 0 else F.stddev_samp(v)
        elif method == "iqr":
            exprs[f"{c}/q"] = quantiles(v, [0.25, 0.75], relative_error)
        elif method == "quantiles":
            exprs[f"{c}/q"] = quantiles(v, [fold, 1 - fold], relative_error)
        elif method == "mad":
            exprs[f"{c}/q"] = quantiles(v, [0.5], relative_error)
        else:
            exprs[f"{c}/max"] = F.max(v)
    raw = aggregate(df, exprs)
    empty = [c for c in cols if not raw[f"{c}/n"]]
    if empty:
        raise FeatureInputError(f"{stage}: column(s) {empty} have no finite value to fit on "
                                "(all null, NaN or infinite, or no rows)")
    stats: dict[str, dict[str, Any]] = {}
    for c in cols:
        if method == "gaussian":
            # one value has no sample std (null): no spread, the bounds collapse on the mean
            stats[c] = {"mean": raw[f"{c}/mean"], "std": raw[f"{c}/std"] or 0.0}
        elif method in ("iqr", "quantiles"):
            stats[c] = {"q": list(raw[f"{c}/q"])}
        elif method == "mad":
            stats[c] = {"median": raw[f"{c}/q"][0]}
        else:
            stats[c] = {"max": raw[f"{c}/max"]}
    if method == "mad":
        deviations = aggregate(df, {c: quantiles(F.abs(finite_value(c) - F.lit(stats[c]["median"])),
                                                 [0.5], relative_error) for c in cols})
        for c in cols:
            stats[c]["mad"] = deviations[c][0]
    overflow = {c: s for c, s in stats.items() if not _all_finite(s)}
    if overflow:
        raise FeatureInputError(f"{stage}: {method} statistics of column(s) {sorted(overflow)} "
                                f"are not finite ({overflow}): the values are too close to the "
                                "float limits (+-1.8e308); rescale the column first")
    return stats


def tail_bounds(stats: dict[str, Any], method: str, fold: float, stage: str,
                column: str) -> tuple[float, float]:
    """Lower and upper bound of one column from its ``tail_statistics``; raises if not finite."""
    if method == "gaussian":
        center, spread = stats["mean"], stats["std"]
        lo, hi = center - fold * spread, center + fold * spread
    elif method == "iqr":
        q1, q3 = stats["q"]
        lo, hi = q1 - fold * (q3 - q1), q3 + fold * (q3 - q1)
    elif method == "quantiles":
        lo, hi = stats["q"]
    elif method == "mad":
        spread = stats["mad"] / MAD_NORMAL
        lo, hi = stats["median"] - fold * spread, stats["median"] + fold * spread
    else:
        lo, hi = -math.inf, stats["max"] * fold
    if not (math.isfinite(hi) and (method == "max" or math.isfinite(lo))):
        raise FeatureInputError(f"{stage}: the {method} bounds of column {column!r} overflow "
                                f"({lo}, {hi}) with fold={fold}: the values are too close to the "
                                "float limits (+-1.8e308); rescale the column first")
    return float(lo), float(hi)


def _all_finite(stats: dict[str, Any]) -> bool:
    values = [v for s in stats.values() for v in (s if isinstance(s, list) else [s])]
    return all(v is not None and math.isfinite(v) for v in values)
