"""Drop constant and quasi-constant columns: those whose most frequent value has a share >= tol.

>>> df = spark.createDataFrame([("DE",)] * 99 + [("FR",)], ["country"])
>>> model = DropConstantFeatures(inputCols=["country"], tol=0.98).fit(df)
>>> model.dropped_
[{'column': 'country', 'reason': 'quasi_constant', 'value': 0.99}]
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, OneOf, Rule, check_params
from features.checks import require_columns
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.selection.base import SelectorModel, _SelectorParams, clean, require_rows

log = logging.getLogger(f"lakeprep.{__name__}")

MISSING_POLICIES = ("include", "ignore")


class _DropConstantParams(_SelectorParams):
    PARAM_RULES: dict[str, Rule] = {"tol": InRange(0.0, 1.0, low_open=True),
                   "missingValues": OneOf(MISSING_POLICIES)}

    tol = Param(Params._dummy(), "tol",
                "drop a column when its most frequent value's share of rows is >= tol "
                "(1.0: only constant columns)", typeConverter=TypeConverters.toFloat)
    missingValues = Param(Params._dummy(), "missingValues",
                          "'include': null/NaN is a value of its own; 'ignore': nulls are not "
                          "counted as a value (all-null columns are still dropped)",
                          typeConverter=TypeConverters.toString)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(tol=1.0, missingValues="include")


def value_share_summary(df: DataFrame, cols: list[str]) -> dict[str, dict[str, int]]:
    """Per column: rows, nulls (null or NaN), distinct non-null values, top non-null count.

    One scan of ``df``: the columns are stacked into (column, value) pairs and counted together.

    >>> df = spark.createDataFrame([("DE",)] * 8 + [("FR",), (None,)], "country string")
    >>> value_share_summary(df, ["country"])
    {'country': {'rows': 10, 'nulls': 1, 'distinct': 2, 'top': 8}}
    """
    pairs = F.stack(F.lit(len(cols)), *[x for c in cols
                                        for x in (F.lit(c), clean(df, c).cast("string"))])
    counts = (df.select(pairs.alias("column", "value"))
              .groupBy("column", "value").count())
    is_null = F.col("value").isNull()
    rows = (counts.groupBy("column")
            .agg(F.sum("count").alias("rows"),
                 F.sum(F.when(is_null, F.col("count")).otherwise(0)).alias("nulls"),
                 F.count(F.when(~is_null, 1)).alias("distinct"),
                 F.max(F.when(~is_null, F.col("count"))).alias("top"))
            .collect())  # one small row per column
    return {r["column"]: {"rows": int(r["rows"]), "nulls": int(r["nulls"]),
                          "distinct": int(r["distinct"]), "top": int(r["top"] or 0)}
            for r in rows}


@register("drop_constant")
class DropConstantFeatures(Estimator, _DropConstantParams, StageReadable,
                           StageWritable):
    """Finds constant and quasi-constant columns of any type, like feature-engine's selector.

    The share of a value is its count over all rows (as in feature-engine). With
    ``missingValues="include"`` null (and NaN) is one more value; with ``"ignore"`` it is not, but
    an all-null column is still dropped (reason ``all_null``). Report ``value``: the top share.

    >>> df = spark.createDataFrame([(float(i), 1.0) for i in range(20)], ["a", "b"])
    >>> DropConstantFeatures(tol=0.95).fit(df).features_to_drop_
    ['b']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, tol: float = 1.0,
                 missingValues: str = "include") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, tol: float = 1.0,
                  missingValues: str = "include") -> DropConstantFeatures:
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> DropConstantFeaturesModel:
        name = type(self).__name__
        tol, policy = self.getOrDefault(self.tol), self.getOrDefault(self.missingValues)
        check_params(self)
        cols = list(self.getInputCols()) if self.isSet(self.inputCols) else list(dataset.columns)
        require_columns(dataset, cols, name)
        summary = value_share_summary(dataset, cols)
        require_rows(next(iter(summary.values()))["rows"] if summary else 0, name)
        dropped = []
        for c in cols:
            s = summary[c]
            if policy == "include" and s["nulls"]:
                distinct, top = s["distinct"] + 1, max(s["top"], s["nulls"])
            else:
                distinct, top = s["distinct"], s["top"]
            share = top / s["rows"]
            if s["distinct"] == 0:
                dropped.append({"column": c, "reason": "all_null", "value": 1.0})
            elif distinct == 1:
                dropped.append({"column": c, "reason": "constant", "value": share})
            elif share >= tol:
                dropped.append({"column": c, "reason": "quasi_constant", "value": share})
        log.info("%s: dropping %s", name, [d["column"] for d in dropped])
        model = DropConstantFeaturesModel.with_report(cols, dropped)
        return self._copyValues(model)._set(inputCols=cols)


class DropConstantFeaturesModel(SelectorModel, _DropConstantParams):
    """Drops the constant and quasi-constant columns found by :class:`DropConstantFeatures`."""
