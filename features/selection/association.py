"""Univariate test statistics computed in Spark: ANOVA F (numeric) and chi-square (categorical).

Each function scans the data once for all its columns and brings back one small row per column.

>>> anova_f(df, ["amount"], "label")  # doctest: +SKIP
{'amount': {'test': 'anova_f', 'statistic': 12.1, 'p_value': 0.0005, 'dof': [1, 98], 'n': 100}}
"""

from __future__ import annotations

import math
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from features.selection.base import clean
from lakeprep.frames import one_row


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
    data = df.where(F.col(label).isNotNull())
    aggs = []
    for i, c in enumerate(cols):
        x = clean(df, c).cast("double")
        aggs += [F.count(x).alias(f"n{i}"), F.sum(x).alias(f"s{i}"), F.sum(x * x).alias(f"q{i}")]
    groups = data.groupBy(label).agg(*aggs).collect()  # one row per class
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
    the column's one-hot indicators. Rows with a null label or a null value are ignored.
    """
    if not cols:
        return {}
    pairs = F.stack(F.lit(len(cols)), *[x for c in cols
                                        for x in (F.lit(c), clean(df, c).cast("string"))])
    counts = (df.where(F.col(label).isNotNull())
              .select(pairs.alias("column", "value"), F.col(label).cast("string").alias("y"))
              .where(F.col("value").isNotNull())
              .groupBy("column", "value", "y").count())
    # chi2 = N * sum(O^2 / (n_value * n_label)) - N: only observed cells are needed.
    by_col = Window.partitionBy("column")
    cells = (counts
             .withColumn("nv", F.sum("count").over(Window.partitionBy("column", "value")))
             .withColumn("ny", F.sum("count").over(Window.partitionBy("column", "y")))
             .withColumn("n", F.sum("count").over(by_col)))
    rows = (cells.groupBy("column")
            .agg(F.sum(F.col("count") * F.col("count") / (F.col("nv") * F.col("ny"))).alias("s"),
                 F.first("n").alias("n"),
                 F.countDistinct("value").alias("levels"),
                 F.countDistinct("y").alias("classes"))
            .collect())  # one row per column
    special = _special(df)
    out = {c: {"test": "chi2", "statistic": math.nan, "p_value": math.nan, "dof": 0, "n": 0}
           for c in cols}
    for r in rows:
        dof = (r["levels"] - 1) * (r["classes"] - 1)
        stat = max(r["n"] * r["s"] - r["n"], 0.0)
        p = float(special.Gamma.regularizedGammaQ(dof / 2.0, stat / 2.0)) if dof else math.nan
        out[r["column"]] = {"test": "chi2", "statistic": stat if dof else math.nan,
                            "p_value": p, "dof": dof, "n": int(r["n"])}
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
    aggs = []
    for i, c in enumerate(cols):
        x = clean(df, c).cast("double")
        pair = x.isNotNull() & y.isNotNull()
        aggs += [F.count(F.when(pair, 1)).alias(f"n{i}"),
                 F.corr(F.when(pair, x), F.when(pair, y)).alias(f"r{i}")]
    row = one_row(df.agg(*aggs))
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
