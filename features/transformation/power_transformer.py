"""PowerTransformer: Box-Cox or Yeo-Johnson with lambda fitted by maximum likelihood."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from pyspark import keyword_only
from pyspark.ml import Estimator
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasSeed
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from features.base import (
    InRange,
    OneOf,
    Rule,
    aggregate,
    check_choice,
    check_params,
    finite,
    finite_value,
    out_of_domain_value,
)
from features.checks import require_numeric
from features.errors import FeatureInputError
from features.params import HasHandleOutOfDomain, HasInOutCols
from features.persistence import DataRow, FittedModel, StageReadable, StageWritable
from features.registry import register
from features.transformation.power_math import box_cox, fit_lambda, yeo_johnson

log = logging.getLogger(f"lakeprep.{__name__}")
METHODS = ("yeo-johnson", "box-cox")


class _PowerParams(HasInOutCols, HasHandleOutOfDomain, HasSeed):
    PARAM_RULES: dict[str, Rule] = {
        "method": OneOf(METHODS), "maxSampleRows": InRange(2)}
    PARAM_NOTES = {"seed": "seed of the sample"}

    method = Param(Params._dummy(), "method", f"one of {METHODS}",
                   typeConverter=TypeConverters.toString)
    standardize = Param(Params._dummy(), "standardize",
                        "scale the output to zero mean, unit (population) variance",
                        typeConverter=TypeConverters.toBoolean)
    maxSampleRows = Param(Params._dummy(), "maxSampleRows",
                          "lambda is fitted on a uniform sample of at most this many rows",
                          typeConverter=TypeConverters.toInt)
    FORMER_PARAMS = {"lambdas": "fitted lambda per column",
                     "means": "fitted mean of the transformed column (standardize)",
                     "scales": "fitted std of the transformed column (standardize)"}

    def __init__(self, *args):
        super().__init__(*args)
        self._setDefault(method="yeo-johnson", standardize=False, maxSampleRows=100_000, seed=42)

    def power_expr(self, column: str, lmbda: float) -> Column:
        """Spark expression of the transform of ``column`` with ``lmbda`` (null/NaN pass)."""
        x = F.col(column).cast("double")
        lam = F.lit(lmbda)
        if self.getOrDefault(self.method) == "box-cox":
            value = F.ln(x) if lmbda == 0 else (F.pow(x, lam) - 1) / lam
            stage, policy = type(self).__name__, self.getHandleOutOfDomain()
            return (F.when(x.isNull() | F.isnan(x), x)
                    .when(x <= 0,
                          out_of_domain_value(policy, stage, column, "Box-Cox needs x > 0", x))
                    .otherwise(value))
        pos = F.log1p(x) if lmbda == 0 else (F.pow(x + 1, lam) - 1) / lam
        neg = (-F.log1p(-x) if lmbda == 2
               else -(F.pow(1 - x, F.lit(2 - lmbda)) - 1) / F.lit(2 - lmbda))
        return F.when(x.isNull() | F.isnan(x), x).when(x >= 0, pos).otherwise(neg)


@register("power_transform")
class PowerTransformer(Estimator, _PowerParams, StageReadable, StageWritable):
    """Makes numeric columns more Gaussian-like with Box-Cox or Yeo-Johnson (doubles out).

    Lambda maximises the profile log-likelihood (scikit-learn's PowerTransformer), computed on
    the driver over a uniform random sample of at most ``maxSampleRows`` rows (seeded); when the
    column has no more rows than that, the sample is all of it and lambda matches scikit-learn.
    One job counts the rows, one collects the sample; ``standardize`` adds one aggregation of
    the transformed columns (exact mean and population std over all rows). Fit ignores null,
    NaN and +-inf; Box-Cox needs every finite fit value > 0. At transform null and NaN pass
    through, Box-Cox of x <= 0 follows ``handleOutOfDomain`` (error or null).

    >>> df = spark.createDataFrame([(float(x * x),) for x in range(1, 8)], "amount double")
    >>> {c: round(v, 4) for c, v in
    ...  PowerTransformer(inputCols=["amount"], method="box-cox").fit(df).lambdas_.items()}
    {'amount': 0.3562}
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                 method: str = "yeo-johnson", standardize: bool = False,
                 maxSampleRows: int = 100000, seed: int = 42,
                 handleOutOfDomain: str = "error") -> None:
        super().__init__()
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, outputCols: list[str] | None = None,
                  method: str = "yeo-johnson", standardize: bool = False,
                  maxSampleRows: int = 100000, seed: int = 42, handleOutOfDomain: str = "error",
        ) -> PowerTransformer:
        """Set the params given by keyword."""
        return self._set(**self._input_kwargs)

    def _fit(self, dataset: DataFrame) -> PowerTransformerModel:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        method = self.getOrDefault(self.method)
        check_choice(stage, "method", method, METHODS)
        require_numeric(dataset, cols, stage)
        self.check_outputs(dataset)
        exprs = {"rows": F.count("*")}
        for c in cols:
            exprs[f"{c}/n"], exprs[f"{c}/min"] = F.count(finite_value(c)), F.min(finite_value(c))
        stats = aggregate(dataset, exprs)
        too_few = [c for c in cols if stats[f"{c}/n"] < 2]
        if too_few:
            raise FeatureInputError(f"{stage}: column(s) {too_few} have fewer than 2 finite "
                                    "values; lambda cannot be fitted")
        if method == "box-cox":
            bad = {c: stats[f"{c}/min"] for c in cols if stats[f"{c}/min"] <= 0}
            if bad:
                raise FeatureInputError(f"{stage}: Box-Cox needs values > 0; minimum found "
                                        f"{bad}; use method='yeo-johnson' or shift the column")
        cap = self.getOrDefault(self.maxSampleRows)
        sample = dataset.select(*cols)
        if stats["rows"] > cap:
            sample = sample.sample(False, min(1.0, 1.1 * cap / stats["rows"]),
                                   self.getOrDefault(self.seed)).limit(cap)
            log.info("%s: fitting lambda on a sample of at most %d of %d rows", stage, cap,
                     stats["rows"])
        rows = sample.collect()
        lambdas = {}
        for i, c in enumerate(cols):
            x = np.array([r[i] for r in rows if r[i] is not None], dtype=float)
            lambdas[c] = checked_lambda(x[np.isfinite(x)], method, stage, c)
        means: dict[str, float | None] = dict.fromkeys(cols)
        scales: dict[str, float | None] = dict.fromkeys(cols)
        if self.getOrDefault(self.standardize):
            moments = {}
            for c in cols:
                y = self.power_expr(c, lambdas[c])
                y = F.when(finite(y), y)
                moments[f"{c}/mean"], moments[f"{c}/std"] = F.mean(y), F.stddev_pop(y)
            m = aggregate(dataset, moments)
            bad = {c: (m[f"{c}/mean"], m[f"{c}/std"]) for c in cols
                   if not all(v is not None and math.isfinite(v)
                              for v in (m[f"{c}/mean"], m[f"{c}/std"]))}
            if bad:
                raise FeatureInputError(f"{stage}: the mean/std of the transformed column(s) "
                                        f"{sorted(bad)} overflow ({bad}); rescale the input or "
                                        "set standardize=false")
            means = {c: m[f"{c}/mean"] for c in cols}
            scales = {c: m[f"{c}/std"] or 1.0 for c in cols}
        log.info("%s fitted lambdas %s", stage, lambdas)
        fitted = [{"column": c, "lambda": lambdas[c], "mean": means[c], "scale": scales[c]}
                  for c in cols]
        return self._copyValues(PowerTransformerModel.with_rows(fitted))


def checked_lambda(x: np.ndarray, method: str, stage: str, column: str) -> float:
    """Lambda of one column's finite values, refused when the fit or its transform is not finite.

    A column without spread has no likelihood maximum; values near the float limits make the
    transformed values overflow (Yeo-Johnson's lambda near 2 squares 1e308): both raise
    instead of returning inf or NaN.
    """
    if x.size and x.min() == x.max():
        raise FeatureInputError(f"{stage}: column {column!r} is constant ({x[0]}) on the fit "
                                "rows; lambda needs spread")
    with np.errstate(all="ignore"):
        lam = fit_lambda(x, method)
        y = box_cox(x, lam) if method == "box-cox" else yeo_johnson(x, lam)
    if not (math.isfinite(lam) and np.isfinite(y).all() and np.isfinite(y.var())):
        raise FeatureInputError(f"{stage}: the {method} transform of column {column!r} is not "
                                f"finite (lambda={lam:.4g}): the values are too close to the "
                                "float limits (+-1.8e308); rescale the column first")
    return lam


class PowerTransformerModel(FittedModel, _PowerParams):
    """Applies the fitted ``lambdas_`` (and standardisation when fitted with it).

    Model data (``data/``): one row per input column, ``column STRING, lambda DOUBLE, mean
    DOUBLE, scale DOUBLE`` (mean and scale of the transformed column, null unless fitted with
    ``standardize``).
    """

    DATA_SCHEMA = "column STRING, lambda DOUBLE, mean DOUBLE, scale DOUBLE"

    @property
    def lambdas_(self) -> dict[str, float]:
        """Fitted lambda per column."""
        rows = self.rows_by_column()
        return {c: rows[c]["lambda"] for c in self.getInputCols()}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        means, scales = params.get("means", {}), params.get("scales", {})
        return [{"column": c, "lambda": v, "mean": means.get(c), "scale": scales.get(c)}
                for c, v in params["lambdas"].items()]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        cols = self.getInputCols()
        require_numeric(dataset, cols, type(self).__name__)
        rows = self.rows_by_column()
        exprs = {}
        for c, o in zip(cols, self.resolved_output_cols(), strict=True):
            fitted = rows[c]
            y = self.power_expr(c, fitted["lambda"])
            if self.getOrDefault(self.standardize) and fitted["mean"] is not None:
                y = (y - F.lit(fitted["mean"])) / F.lit(fitted["scale"] or 1.0)
            exprs[o] = y.cast("double")
        return dataset.withColumns(exprs)
