"""PCA on plain numeric columns, with the explained variance kept on the fitted model.

>>> df = spark.createDataFrame([(1.0, 2.0, 0.5), (2.0, 4.1, 0.4), (3.0, 6.2, 0.6),
...                             (4.0, 7.9, 0.5)], ["a", "b", "c"])
>>> model = ColumnPCA(inputCols=["a", "b", "c"], outputCol="pca", k=2).fit(df)
>>> [round(v, 4) for v in model.explained_variance_]
[0.9989, 0.0008]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from functools import reduce
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.feature import PCA, VectorAssembler
from pyspark.ml.functions import array_to_vector
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols, HasOutputCol
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from features.base import InRange, Rule, aggregate, check_params, check_range, finite
from features.checks import require_new_columns, require_numeric
from features.errors import FeatureInputError, FeatureSpecError
from features.persistence import DataRow, FittedModel, StageReadable, StageWritable
from features.registry import register

log = logging.getLogger(f"lakeprep.{__name__}")

_ASSEMBLED = "__lakeprep_pca_input"


class _ColumnPCAParams(HasInputCols, HasOutputCol):
    PARAM_RULES: dict[str, Rule] = {"k": InRange(1)}

    def validate_params(self) -> None:
        """Cross-param rule: k cannot exceed the number of inputCols (when they are given)."""
        if self.isSet(self.inputCols) and self.isDefined(self.k):
            width = len(self.getOrDefault(self.inputCols))
            check_range(type(self).__name__, f"k (at most the {width} inputCols)",
                        self.getOrDefault(self.k), 1, width)

    k = Param(Params._dummy(), "k", "number of principal components",
              typeConverter=TypeConverters.toInt)
    FORMER_PARAMS = {
        "components": "fitted: k rows (components) of len(inputCols) loadings",
        "explainedVariance": "fitted: share of the total variance each component explains"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(k=2)


@register("column_pca")
class ColumnPCA(Estimator, _ColumnPCAParams, StageReadable, StageWritable):
    """Assembles numeric columns and fits MLlib's PCA; the Model projects them into a vector.

    The fit is MLlib's ``PCA`` (covariance of the assembled rows, eigen-decomposed on the driver)
    over the rows whose inputs are all finite (null, NaN and +-inf rows are left out). Fewer than
    2 such rows (empty input, an all-null column), moments that overflow (values near
    +-1.8e308) or no variance at all raise a FeatureInputError naming the columns. As in
    MLlib, the projection does not centre the data first (sklearn's does: outputs differ by a
    constant per component). A row with a null/NaN input gets a null vector.
    ``explained_variance_`` is MLlib's ``explainedVariance`` (sklearn's
    ``explained_variance_ratio_``). For an existing vector column use the op ``pca``.

    >>> df = spark.createDataFrame([(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)], ["a", "b"])
    >>> ColumnPCA(inputCols=["a", "b"], outputCol="pc", k=1).fit(df).transform(df).columns
    ['a', 'b', 'pc']
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCol: str | None = None,
                 k: int = 2) -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCol: str | None = None,
                  k: int = 2) -> ColumnPCA:
        """Set the params (keyword arguments only)."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> ColumnPCAModel:
        check_params(self)
        name = type(self).__name__
        cols, k = self.getInputCols(), self.getOrDefault(self.k)
        require_numeric(dataset, cols, name)
        if k > len(cols):
            raise FeatureSpecError(f"{name}: k must be in [1, {len(cols)}] (the number of "
                                   f"inputCols), got {k}")
        complete = reduce(lambda a, b: a & b, [finite(c) for c in cols])
        rows = dataset.where(complete).select(*[F.col(c).cast("double").alias(c) for c in cols])
        self._check_fit_rows(rows, cols)
        assembled = VectorAssembler(inputCols=cols, outputCol=_ASSEMBLED).transform(rows)
        fitted = PCA(k=k, inputCol=_ASSEMBLED).fit(assembled)
        components = fitted.pc.toArray().T.tolist()
        explained = [float(v) for v in fitted.explainedVariance.toArray()]
        log.info("%s: explained variance %s (total %.4f)", name, explained, sum(explained))
        fitted_rows = [{"component": i, "explainedVariance": v, "loadings": loadings}
                       for i, (v, loadings) in enumerate(zip(explained, components, strict=True))]
        return self._copyValues(ColumnPCAModel.with_rows(fitted_rows))


    def _check_fit_rows(self, rows: DataFrame, cols: list[str]) -> None:
        """One aggregation: enough complete rows, finite moments, some spread; else raise."""
        name = type(self).__name__
        exprs = {"n": F.count("*")}
        for c in cols:
            exprs[f"{c}/mean"], exprs[f"{c}/std"] = F.mean(c), F.stddev_samp(c)
        stats = aggregate(rows, exprs)
        if stats["n"] < 2:
            raise FeatureInputError(f"{name}: {stats['n']} row(s) with every one of {cols} "
                                    "finite; PCA needs at least 2 (empty input, or columns all "
                                    "null/NaN/infinite)")
        overflow = {c: (stats[f"{c}/mean"], stats[f"{c}/std"]) for c in cols
                    if not all(v is not None and math.isfinite(v)
                               for v in (stats[f"{c}/mean"], stats[f"{c}/std"]))}
        if overflow:
            raise FeatureInputError(f"{name}: mean/std of column(s) {sorted(overflow)} overflow "
                                    f"({overflow}): the values are too close to the float "
                                    "limits (+-1.8e308); rescale them first")
        if all(stats[f"{c}/std"] == 0 for c in cols):
            raise FeatureInputError(f"{name}: every input column is constant on the fit rows; "
                                    "there is no variance to decompose")


class ColumnPCAModel(FittedModel, _ColumnPCAParams):
    """Projects the input columns on the fitted principal components (a dense vector column).

    Model data (``data/``): one row per component, ``component INT, explainedVariance DOUBLE,
    loadings ARRAY<DOUBLE>`` (component 0 first; one loading per input column, in
    ``inputCols`` order; output slot i is the sum of the inputs times component i's loadings).
    """

    DATA_SCHEMA = "component INT, explainedVariance DOUBLE, loadings ARRAY<DOUBLE>"

    def _components(self) -> list[DataRow]:
        return sorted(self._rows, key=lambda r: r["component"])

    @property
    def explained_variance_(self) -> list[float]:
        """Share of the variance each component explains (MLlib ``explainedVariance``)."""
        return [r["explainedVariance"] for r in self._components()]

    @property
    def components_(self) -> list[list[float]]:
        """The components as rows of loadings, in ``inputCols`` order (sklearn's layout)."""
        return [list(r["loadings"]) for r in self._components()]

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        pairs = zip(params["explainedVariance"], params["components"], strict=True)
        return [{"component": i, "explainedVariance": v, "loadings": loadings}
                for i, (v, loadings) in enumerate(pairs)]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        name = type(self).__name__
        cols, out = self.getInputCols(), self.getOutputCol()
        require_numeric(dataset, cols, name)
        require_new_columns(dataset, [out], name)
        values = [F.col(c).cast("double") for c in cols]
        # a linear combination in SQL keeps the projection in the JVM (no Python UDF)
        scores = [sum((v * F.lit(w) for v, w in zip(values, row, strict=True)), F.lit(0.0))
                  for row in self.components_]
        invalid = F.lit(False)
        for v in values:
            invalid = invalid | v.isNull() | F.isnan(v)
        vector = F.when(~invalid, array_to_vector(F.array(*scores)))
        # the size and slot names let VectorAssembler and feature_names use the column
        # without looking at the data
        attrs = [{"idx": i, "name": str(i)} for i in range(len(scores))]
        meta = {"ml_attr": {"attrs": {"numeric": attrs}, "num_attrs": len(scores)}}
        return dataset.withColumn(out, vector.alias(out, metadata=meta))
