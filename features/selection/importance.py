"""Keep the k numeric columns a random forest finds most important.

>>> df = spark.createDataFrame([(float(i % 2), float(i % 7), float(i % 3), i % 2)
...                             for i in range(60)], ["a", "b", "c", "y"])
>>> sel = SelectByImportance(inputCols=["a", "b", "c"], labelCol="y", k=2)
>>> [d["column"] for d in sel.fit(df).dropped_]
['c']
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.classification import RandomForestClassifier
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasLabelCol, HasSeed
from pyspark.ml.regression import RandomForestRegressor
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, OneOf, Rule, check_params
from features.checks import NUMERIC_TYPES, require_numeric
from features.errors import FeatureInputError
from features.params import HasKeptCount
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.selection.base import SelectorModel, _SelectorParams, resolve_columns

log = logging.getLogger(f"lakeprep.{__name__}")

TASKS = ("classification", "regression")
_FEATURES = "__lakeprep_importance_features"


class _ImportanceParams(_SelectorParams, HasLabelCol, HasSeed, HasKeptCount):
    PARAM_RULES: dict[str, Rule] = {"task": OneOf(TASKS), "numTrees": InRange(1),
                                    "maxDepth": InRange(0, 30)}
    FORMER_PARAMS = {"importances": "fitted: {column: importance}"}
    PARAM_NOTES = {"k": "columns kept"}

    task = Param(Params._dummy(), "task", "'classification' or 'regression'",
                 typeConverter=TypeConverters.toString)
    numTrees = Param(Params._dummy(), "numTrees", "trees in the forest",
                     typeConverter=TypeConverters.toInt)
    maxDepth = Param(Params._dummy(), "maxDepth", "depth of each tree",
                     typeConverter=TypeConverters.toInt)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(task="classification", numTrees=50, maxDepth=5, seed=42)


@register("select_by_importance")
class SelectByImportance(Estimator, _ImportanceParams, StageReadable,
                         StageWritable):
    """Fits a pyspark.ml random forest on the numeric columns and keeps the top ``k`` by importance.

    Rows with a null/NaN in a candidate column or the label are left out of the forest. Ties are
    broken by input order; the fixed ``seed`` makes the choice repeatable. Report ``value``: the
    importance (they sum to 1); ``importances_`` has every column's.

    >>> df = spark.createDataFrame([(float(i % 2), float(i % 7), i % 2) for i in range(60)],
    ...                            ["signal", "noise", "y"])
    >>> SelectByImportance(labelCol="y", k=1).fit(df).selected_features_
    ['signal']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, labelCol: str = "label", k: int = 10,
                 task: str = "classification", numTrees: int = 50, maxDepth: int = 5,
                 seed: int = 42) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, labelCol: str = "label",
                  k: int = 10, task: str = "classification", numTrees: int = 50, maxDepth: int = 5,
                  seed: int = 42) -> SelectByImportance:
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> SelectByImportanceModel:
        name = type(self).__name__
        task, k = self.getOrDefault(self.task), self.getOrDefault(self.k)
        check_params(self)
        label = self.getLabelCol()
        require_numeric(dataset, [label], name)
        cols = resolve_columns(dataset, self, NUMERIC_TYPES, "numeric", exclude=(label,))
        data = VectorAssembler(inputCols=cols, outputCol=_FEATURES, handleInvalid="skip").transform(
            dataset.where(F.col(label).isNotNull()).withColumn(label, F.col(label).cast("double")))
        forest_cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
        forest = forest_cls(featuresCol=_FEATURES, labelCol=label, seed=self.getSeed(),
                            numTrees=self.getOrDefault(self.numTrees),
                            maxDepth=self.getOrDefault(self.maxDepth))
        try:
            forest = forest.fit(data)
        except Exception as err:  # py4j wraps the JVM's SparkException
            if "empty dataset" not in str(err):
                raise
            raise FeatureInputError(
                f"{name}: no row has a label and a value in every column of {cols}; leave out "
                f"mostly-null columns or impute them first") from None
        scores = dict(zip(cols, (float(v) for v in forest.featureImportances.toArray()),
                          strict=True))
        ordered = sorted(cols, key=lambda c: (-scores[c], cols.index(c)))
        dropped = [{"column": c, "reason": "low_importance", "value": scores[c]}
                   for c in ordered[k:]]
        log.info("%s: dropping %s", name, [d["column"] for d in dropped])
        model = SelectByImportanceModel.with_report(cols, dropped, importance=scores)
        return self._copyValues(model)._set(inputCols=cols)


class SelectByImportanceModel(SelectorModel, _ImportanceParams):
    """Drops the columns outside the top ``k`` found by :class:`SelectByImportance`.

    Model data (``data/``): :class:`~features.selection.base.SelectorModel`'s and each
    candidate's ``importance DOUBLE`` (the forest's; they sum to 1).
    """

    DATA_SCHEMA = f"{SelectorModel.DATA_SCHEMA}, importance DOUBLE"

    @property
    def importances_(self) -> dict[str, float]:
        """Every candidate column's random-forest importance."""
        return {r["column"]: r["importance"] for r in self._rows}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return cls.with_report(params["inputCols"], params["dropped"],
                               importance=params["importances"]).data_rows
