"""Keep the columns most associated with a class label: chi-square (categorical), ANOVA F (numeric).

>>> df = spark.createDataFrame([("DE" if i % 2 else "FR", float(i % 4 < 2) + i / 100, i % 4 < 2)
...                             for i in range(40)], ["country", "amount", "y"])
>>> sel = UnivariateSelector(inputCols=["country", "amount"], labelCol="y", k=1)
>>> [(d["column"], d["reason"], d["test"]) for d in sel.fit(df).dropped_]
[('country', 'not_top_k', 'chi2')]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasLabelCol
from pyspark.sql import DataFrame

from features.base import InRange, OneOf, Rule, check_params
from features.checks import NUMERIC_TYPES, require_columns
from features.errors import FeatureInputError
from features.params import HasKeptCount
from features.persistence import StageReadable, StageWritable
from features.registry import register
from features.selection.association import anova_f, chi_square
from features.selection.base import (
    SelectorModel,
    _SelectorParams,
    require_rows,
    resolve_columns,
)
from lakeprep.stats.types import CATEGORICAL_TYPES

log = logging.getLogger(f"lakeprep.{__name__}")

MODES = ("k_best", "p_value")


class _UnivariateParams(_SelectorParams, HasLabelCol, HasKeptCount):
    PARAM_RULES: dict[str, Rule] = {"selectionMode": OneOf(MODES),
                                    "alpha": InRange(0.0, 1.0, low_open=True)}
    FORMER_PARAMS = {"scores": "fitted: {column: {test, statistic, p_value, dof}}"}
    PARAM_NOTES = {"k": "columns kept in k_best mode"}

    categoricalCols = Param(Params._dummy(), "categoricalCols",
                            "numeric inputCols to test as categorical (chi-square); string and "
                            "boolean columns always are", typeConverter=TypeConverters.toListString)
    selectionMode = Param(Params._dummy(), "selectionMode",
                          "'k_best': keep the k smallest p-values; 'p_value': keep p < alpha",
                          typeConverter=TypeConverters.toString)
    alpha = Param(Params._dummy(), "alpha", "p-value threshold in p_value mode",
                  typeConverter=TypeConverters.toFloat)

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(categoricalCols=[], selectionMode="k_best", alpha=0.05)


@register("select_univariate")
class UnivariateSelector(Estimator, _UnivariateParams, StageReadable,
                         StageWritable):
    """Scores each column against a class label and keeps the best, on plain columns.

    Categorical columns get Pearson's chi-square test of independence, numeric ones the ANOVA F
    test; columns are ranked by p-value (ties by larger statistic, then input order) so the two
    kinds compare. A column with no test result (constant, all-null) ranks last and is dropped in
    ``p_value`` mode. Report ``value``: the p-value; ``scores_`` holds every column's result.
    Nulls are left out per column; rows with a null label are left out. For vectors use the MLlib
    op ``univariate_feature_selector``.

    >>> df = spark.createDataFrame([(float(i % 2) + i / 100, float(i % 3), i % 2)
    ...                             for i in range(30)], ["amount", "noise", "y"])
    >>> UnivariateSelector(labelCol="y", selectionMode="p_value").fit(df).features_to_drop_
    ['noise']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, labelCol: str = "label",
                 categoricalCols: list[str] | None = None, selectionMode: str = "k_best",
                 k: int = 10, alpha: float = 0.05) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, labelCol: str = "label",
                  categoricalCols: list[str] | None = None, selectionMode: str = "k_best",
                  k: int = 10, alpha: float = 0.05) -> UnivariateSelector:
        """Set the params (keyword arguments only)."""
        kwargs = {k: v for k, v in self._input_kwargs.items() if v is not None}
        return self._set(**kwargs)

    def _fit(self, dataset: DataFrame) -> UnivariateSelectorModel:
        name = type(self).__name__
        mode = self.getOrDefault(self.selectionMode)
        k, alpha = int(self.getOrDefault(self.k)), float(self.getOrDefault(self.alpha))
        check_params(self)
        label = self.getLabelCol()
        require_columns(dataset, [label], name)
        cols = resolve_columns(dataset, self, NUMERIC_TYPES + CATEGORICAL_TYPES,
                               "numeric or categorical", exclude=(label,))
        forced = set(self.getOrDefault("categoricalCols"))
        unknown = forced - set(cols)
        if unknown:
            raise FeatureInputError(f"{name}: categoricalCols {sorted(unknown)} are not among "
                                    f"the inputCols {cols}")
        categorical = [c for c in cols
                       if c in forced or isinstance(dataset.schema[c].dataType, CATEGORICAL_TYPES)]
        numeric = [c for c in cols if c not in categorical]
        scores = {**anova_f(dataset, numeric, label), **chi_square(dataset, categorical, label)}
        require_rows(sum(s["n"] for s in scores.values()), name)

        def rank(c: str) -> tuple:
            p, s = scores[c]["p_value"], scores[c]["statistic"]
            return (math.isnan(p), p, -s if not math.isnan(s) else 0.0, cols.index(c))

        ordered = sorted(cols, key=rank)
        if mode == "k_best":
            keep = set(ordered[:k])
            reason = "not_top_k"
        else:
            keep = {c for c in cols if scores[c]["p_value"] < alpha}
            reason = "p_value_above_alpha"
        dropped = [{"column": c, "reason": reason, "value": scores[c]["p_value"],
                    "test": scores[c]["test"], "statistic": scores[c]["statistic"]}
                   for c in ordered if c not in keep]
        log.info("%s: dropping %s", name, [d["column"] for d in dropped])
        model = UnivariateSelectorModel.with_scores(cols, dropped, scores)
        return self._copyValues(model)._set(inputCols=cols)


class UnivariateSelectorModel(SelectorModel, _UnivariateParams):
    """Drops the columns :class:`UnivariateSelector` did not keep.

    Model data (``data/``): :class:`~features.selection.base.SelectorModel`'s (``value`` is the
    p-value) and each candidate's test, ``test STRING, statistic DOUBLE, pValue DOUBLE, dof
    ARRAY<BIGINT>, n BIGINT`` (``dof``: one number for chi2, two for the F tests; ``n``: the
    rows tested).
    """

    DATA_SCHEMA = (f"{SelectorModel.DATA_SCHEMA}, test STRING, statistic DOUBLE, "
                   "pValue DOUBLE, dof ARRAY<BIGINT>, n BIGINT")

    @classmethod
    def with_scores(cls, cols: list[str], dropped: list[dict[str, Any]],
                    scores: dict[str, dict[str, Any]]) -> UnivariateSelectorModel:
        """A model of the drop report and every candidate's test result."""
        def field(name: str) -> dict[str, Any]:
            return {c: s[name] for c, s in scores.items()}

        return cls.with_report(cols, dropped, test=field("test"), statistic=field("statistic"),
                               pValue=field("p_value"), n=field("n"),
                               dof={c: s["dof"] if isinstance(s["dof"], list) else [s["dof"]]
                                    for c, s in scores.items()})

    @property
    def scores_(self) -> dict:
        """Every candidate column's test: ``{column: {test, statistic, p_value, dof, n}}``."""
        return {r["column"]: {"test": r["test"], "statistic": r["statistic"],
                              "p_value": r["pValue"],
                              "dof": r["dof"][0] if r["test"] == "chi2" else list(r["dof"]),
                              "n": r["n"]}
                for r in self._rows}

    def report_entry(self, row: dict[str, Any]) -> dict[str, Any]:
        """The report's entry: the p-value, and the test with its statistic."""
        return {**super().report_entry(row), "test": row["test"], "statistic": row["statistic"]}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return cls.with_scores(params["inputCols"], params["dropped"],
                               params["scores"]).data_rows
