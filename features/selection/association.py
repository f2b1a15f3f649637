"""Univariate test statistics computed in Spark: ANOVA F and F-regression (numeric), chi-square
(categorical).

Each function scans the data once for all its columns and brings back one small row per column
(ANOVA: per class; chi-square: per observed (value, class) cell). The scans go through
:func:`features.base.aggregate`, :func:`~features.base.aggregate_by` and
:func:`features.encoding.base.category_stats`, so a fused pipeline fit shares them with the
other stages of its level.

>>> df = spark.createDataFrame([(float(i % 2) * 3 + i % 5, i % 2) for i in range(100)],
...                            ["amount", "label"])
>>> result = anova_f(df, ["amount"], "label")["amount"]
>>> result["test"], round(result["statistic"], 2), result["dof"], result["n"]
('anova_f', 110.25, [1, 98], 100)
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import aggregate, aggregate_by
from features.encoding.base import category_stats
from features.selection.base import clean


def _special(df: DataFrame) -> Any:
    # commons-math3 ships with Spark (MLlib's own tests use it); its regularized gamma and beta
    # give upper tails without the 1 - cdf cancellation, so tiny p-values stay exact.
    return df.sparkSession.sparkContext._jvm.org.apache.commons.math3.special  # type: ignore


def anova_f(df: DataFrame, cols: list[str], label: str) -> dict[str, dict[str, Any]]:
    """One-way ANOVA F of each numeric column against the class label (sklearn's f_classif).

    Rows with a null label are ignored; per column, rows with a null/NaN value are ignored.
    """
    if not cols:
        return {}
    aggs = {}
    for i, c in enumerate(cols):
        x = clean(df, c).cast("double")
        aggs.update({f"n{i}": F.count(x), f"s{i}": F.sum(x), f"q{i}": F.sum(x * x)})
    # one row per class (one job); the null label's group is left out
    groups = [g for y, g in aggregate_by(df, label, aggs).items() if y is not None]
    special = _special(df)
    out = {}
    for i, c in enumerate(cols):
        cells = [(g[f"n{i}"], g[f"s{i}"], g[f"q{i}"]) for g in groups if g[f"n{i}"]]
        n = sum(k for k, _, _ in cells)
        classes = len(cells)
        stat, p = math.nan, math.nan
        if classes >= 2 and n > classes:
            total = sum(s for _, s, _ in cells)
            ss_between = sum(s * s / k for k, s, _ in cells) - total * total / n
            ss_within = sum(q for _, _, q in cells) - sum(s * s / k for k, s, _ in cells)
            df_b, df_w = classes - 1, n - classes
            if ss_within > 0:
                stat = (ss_between / df_b) / (ss_within / df_w)
                p = float(special.Beta.regularizedBeta(df_w / (df_w + df_b * stat),
                                                       df_w / 2.0, df_b / 2.0))
            elif ss_between > 0:
                stat, p = math.inf, 0.0
        out[c] = {"test": "anova_f", "statistic": stat, "p_value": p,
                  "dof": [classes - 1, n - classes], "n": n}
    return out


def chi_square(df: DataFrame, cols: list[str], label: str) -> dict[str, dict[str, Any]]:
    """Pearson chi-square of independence between each categorical column and the label.

    Equals scipy's ``chi2_contingency(correction=False)`` and the sum of sklearn's ``chi2`` over
    the column's one-hot indicators. Rows with a null label or a null value are ignored. The
    observed (value, class) cells of every column come from one value-count shuffle; only
    observed cells are needed: chi2 = N * sum(O^2 / (n_value * n_class)) - N.
    """
    if not cols:
        return {}
    counts = category_stats(df, list(cols), fold=F.col(label).cast("string"))
    special = _special(df)
    out = {}
    for c in cols:
        cells = {key: stat.count for key, stat in counts[c].items() if key[1] is not None}
        by_value: dict[str, int] = defaultdict(int)
        by_class: dict[str, int] = defaultdict(int)
        for (value, y), n in cells.items():
            by_value[value] += n
            by_class[y] += n
        total = sum(cells.values())
        dof = (len(by_value) - 1) * (len(by_class) - 1) if cells else 0
        stat, p = math.nan, math.nan
        if dof > 0:
            s = sum(n * n / (by_value[v] * by_class[y]) for (v, y), n in cells.items())
            stat = max(total * s - total, 0.0)
            p = float(special.Gamma.regularizedGammaQ(dof / 2.0, stat / 2.0))
        out[c] = {"test": "chi2", "statistic": stat, "p_value": p, "dof": dof, "n": total}
    return out


def f_regression(df: DataFrame, cols: list[str], label: str) -> dict[str, dict[str, Any]]:
    """F statistic of each numeric column's linear fit to a continuous label (sklearn's
    ``f_regression``): F = r^2 / (1 - r^2) * (n - 2), dof (1, n - 2).

    One aggregation over all columns; per column, rows with a null/NaN value or label are
    ignored. A constant column (or label) has no statistic (NaN).
    """
    if not cols:
        return {}
    y = clean(df, label).cast("double")
    aggs = {}
    for i, c in enumerate(cols):
        x = clean(df, c).cast("double")
        pair = x.isNotNull() & y.isNotNull()
        aggs.update({f"n{i}": F.count(F.when(pair, 1)),
                     f"r{i}": F.corr(F.when(pair, x), F.when(pair, y))})
    row = aggregate(df, aggs)
    special = _special(df)
    out = {}
    for i, c in enumerate(cols):
        n, r = int(row[f"n{i}"]), row[f"r{i}"]
        stat, p = math.nan, math.nan
        if r is not None and not math.isnan(r) and n > 2:
            r2 = min(r * r, 1.0)
            stat = math.inf if r2 == 1.0 else r2 / (1.0 - r2) * (n - 2)
            p = 0.0 if r2 == 1.0 else float(
                special.Beta.regularizedBeta((n - 2) / (n - 2 + stat), (n - 2) / 2.0, 0.5))
        out[c] = {"test": "f_regression", "statistic": stat, "p_value": p, "dof": [1, n - 2],
                  "n": n}
    return out
