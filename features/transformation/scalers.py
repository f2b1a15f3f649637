"""MLlib's vector scalers with lakeprep's fit-time checks: no silent NaN, inf or zero scale.

Each stage is MLlib's own (same Params, same fitted MLlib model, persisted as MLlib); the fit
adds what MLlib lacks: the fitted statistics must be finite (an empty input, an all-NaN slot or
values near the float limits raise a FeatureInputError naming the stage and the slot), and
``RobustScaler`` uses scale 1 for a slot whose quantile range is 0, as scikit-learn does (MLlib
would output 0.0 for every row). Conventions vs scikit-learn:

- ``StandardScaler`` (``standard_scale``): divides by the SAMPLE std (ddof=1, MLlib's
  convention; sklearn's ``StandardScaler`` uses ddof=0, so outputs differ by sqrt(n/(n-1)));
  ``withMean`` defaults to False (sklearn centres by default); a zero std gives 0.0 (sklearn: x).
- ``MinMaxScaler`` (``min_max_scale``): a constant slot maps to (min + max) / 2 (sklearn: min).
- ``RobustScaler`` (``robust_scale``): approximate quantiles (``relativeError``); ``withCentering``
  defaults to False (sklearn centres by default).
- ``MaxAbsScaler`` (``max_abs_scale``): as sklearn.

Vectors carry no nulls (VectorAssembler's handleInvalid decides); NaN slots propagate to NaN.

>>> from pyspark.ml.linalg import Vectors
>>> df = spark.createDataFrame([(Vectors.dense([float(x), 5.0]),) for x in (1, 2, 3, 4, 5)],
...                            ["features"])
>>> model = RobustScaler(inputCol="features", outputCol="scaled").fit(df)
>>> model.median, model.range  # a constant slot gets scale 1, not a division by 0
(DenseVector([3.0, 5.0]), DenseVector([2.0, 1.0]))
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from py4j.protocol import Py4JJavaError
from pyspark.errors.exceptions.captured import CapturedException
from pyspark.ml import feature as mllib
from pyspark.ml.common import _py2java
from pyspark.ml.linalg import DenseVector
from pyspark.ml.wrapper import JavaEstimator
from pyspark.sql import DataFrame

from features.errors import FeatureInputError
from features.jvm import mllib_model


def require_finite(stage: str, what: str, values: Sequence[float], column: str) -> None:
    """Raise unless every fitted value is finite, naming the slots that are not."""
    bad = {i: v for i, v in enumerate(values) if not math.isfinite(v)}
    if bad:
        raise FeatureInputError(
            f"{stage}: fitted {what} of column {column!r} is not finite in slot(s) {bad}: an "
            "empty input, a slot with no finite value, or values near the float limits "
            "(+-1.8e308); filter or rescale the input first")


def fit_mllib(stage: JavaEstimator, dataset: DataFrame) -> Any:
    """MLlib's own fit; a JVM failure becomes an error naming the column and its root cause
    (MLlib's requirement, e.g. an empty input, or the deepest ``Caused by``, e.g. a null that
    an upstream VectorAssembler refused)."""
    try:
        return JavaEstimator._fit(stage, dataset)
    except (CapturedException, Py4JJavaError) as err:
        text = str(getattr(err, "desc", None) or err)
        required = re.search(r"requirement failed: [^\n]*", text)
        # the root cause is the message after the last "...Exception: " (a task's failure is
        # nested in "Job aborted due to stage failure: ...", its cause in "Caused by: ...")
        causes = re.findall(r"(?:Exception|Error): ((?:(?!Exception: |Error: )"
                            r"(?:[^\n]|\n(?![\t ]|Caused by|Driver stacktrace)))+)", text)
        reason = (f"{required.group(0)} (an empty input has nothing to fit)" if required
                  else " ".join(causes[-1].split()) if causes
                  else text.strip().splitlines()[0])
        raise FeatureInputError(f"{type(stage).__name__}: MLlib could not fit column "
                                f"{stage.getOrDefault('inputCol')!r}: {reason}") from err


class StandardScaler(mllib.StandardScaler):
    """MLlib's StandardScaler (sample std, ddof=1) that refuses non-finite mean or std."""

    def _fit(self, dataset: DataFrame) -> mllib.StandardScalerModel:
        model = fit_mllib(self, dataset)
        stage, column = type(self).__name__, self.getInputCol()
        require_finite(stage, "mean", model.mean.toArray(), column)
        require_finite(stage, "std", model.std.toArray(), column)
        return model


class MinMaxScaler(mllib.MinMaxScaler):
    """MLlib's MinMaxScaler that refuses a non-finite min, max or range (max - min)."""

    def _fit(self, dataset: DataFrame) -> mllib.MinMaxScalerModel:
        model = fit_mllib(self, dataset)
        stage, column = type(self).__name__, self.getInputCol()
        low, high = model.originalMin.toArray(), model.originalMax.toArray()
        require_finite(stage, "min", low, column)
        require_finite(stage, "max", high, column)
        with np.errstate(over="ignore"):  # an overflowing range is reported just below
            spread = high - low
        require_finite(stage, "range (max - min)", spread, column)
        return model


class MaxAbsScaler(mllib.MaxAbsScaler):
    """MLlib's MaxAbsScaler that refuses a non-finite max |x|."""

    def _fit(self, dataset: DataFrame) -> mllib.MaxAbsScalerModel:
        model = fit_mllib(self, dataset)
        require_finite(type(self).__name__, "max |x|", model.maxAbs.toArray(),
                       self.getInputCol())
        return model


class RobustScaler(mllib.RobustScaler):
    """MLlib's RobustScaler with scikit-learn's zero-range rule: a zero quantile range scales by 1.

    So a mostly-zero column keeps x - median (with centering) or x, instead of MLlib's 0.0.
    """

    def _fit(self, dataset: DataFrame) -> mllib.RobustScalerModel:
        model = fit_mllib(self, dataset)
        stage, column = type(self).__name__, self.getInputCol()
        spread, median = model.range.toArray().copy(), model.median.toArray()
        require_finite(stage, "median", median, column)
        require_finite(stage, "quantile range", spread, column)
        if not (spread == 0).any():
            return model
        spread[spread == 0] = 1.0
        sc = dataset.sparkSession.sparkContext
        return mllib_model(sc, "RobustScalerModel", self, _py2java(sc, DenseVector(spread)),
                           _py2java(sc, DenseVector(median)))
