"""Drop numeric columns whose population variance is <= a threshold (sklearn VarianceThreshold).

>>> df = spark.createDataFrame([(1.0, 7.0), (2.0, 7.0)], ["a", "b"])
>>> DropLowVariance(inputCols=["a", "b"], threshold=0.0).fit(df).dropped_
[{'column': 'b', 'reason': 'low_variance', 'value': 0.0}]
"""

from __future__ import annotations

import logging
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, Rule, check_params
from features.checks import NUMERIC_TYPES
from features.params import HasDropThreshold
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.selection.base import (
    SelectorModel,
    _SelectorParams,
    clean,
    require_rows,
    resolve_columns,
)
from lakeprep.frames import one_row

log = logging.getLogger(f"lakeprep.{__name__}")


class _VarianceParams(_SelectorParams, HasDropThreshold):
    PARAM_RULES: dict[str, Rule] = {"threshold": InRange(0.0)}
    PARAM_NOTES = {"threshold": "drop a column when its population variance is <= threshold"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(threshold=0.0)


@register("drop_low_variance")
class DropLowVariance(Estimator, _VarianceParams, StageReadable, StageWritable):
    """Finds numeric columns with variance <= threshold, on plain columns (not vectors).

    Variance is the population variance (ddof=0, as sklearn) over non-null, non-NaN values; an
    all-null column is dropped with reason ``all_null``. For a vector column use the MLlib op
    ``variance_threshold_selector``.

    >>> df = spark.createDataFrame([(float(i), 0.0) for i in range(9)] + [(9.0, 0.1)],
    ...                            ["amount", "flag"])
    >>> DropLowVariance(threshold=0.01).fit(df).features_to_drop_
    ['flag']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, threshold: float = 0.0) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, threshold: float = 0.0,
        ) -> DropLowVariance:
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> DropLowVarianceModel:
        name = type(self).__name__
        threshold = self.getOrDefault(self.threshold)
        check_params(self)
        cols = resolve_columns(dataset, self, NUMERIC_TYPES, "numeric")
        row = one_row(dataset.agg(F.count(F.lit(1)).alias("rows"),
                                  *[F.var_pop(clean(dataset, c).cast("double")).alias(f"v{i}")
                                    for i, c in enumerate(cols)]))
        require_rows(row["rows"], name)
        dropped: list[dict[str, Any]] = []
        for i, c in enumerate(cols):
            var = row[f"v{i}"]
            if var is None:
                dropped.append({"column": c, "reason": "all_null", "value": None})
            elif var <= threshold:
                dropped.append({"column": c, "reason": "low_variance", "value": float(var)})
        log.info("%s: dropping %s", name, [d["column"] for d in dropped])
        model = DropLowVarianceModel.with_report(cols, dropped)
        return self._copyValues(model)._set(inputCols=cols)


class DropLowVarianceModel(SelectorModel, _VarianceParams):
    """Drops the low-variance columns found by :class:`DropLowVariance`."""
