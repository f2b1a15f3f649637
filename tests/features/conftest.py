"""Small data and helpers for the transformation family's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import types as T

RNG = np.random.default_rng(7)
# 41 skewed positive values with a few large ones: enough for quantiles, tails and lambdas.
AMOUNTS = np.round(np.concatenate([RNG.lognormal(3, 0.6, 38), [400.0, 650.0, 900.0]]), 3)
SCORES = np.round(RNG.normal(0, 2, 41), 3)


@pytest.fixture(scope="module")
def numeric_pdf() -> pd.DataFrame:
    return pd.DataFrame({"id": np.arange(41), "amount": AMOUNTS, "score": SCORES})


@pytest.fixture(scope="module")
def numeric_df(spark, numeric_pdf):
    return spark.createDataFrame(numeric_pdf).cache()


@pytest.fixture(scope="module")
def special_df(spark):
    """null, NaN, +-inf and finite values in one double column."""
    schema = T.StructType([T.StructField("id", T.IntegerType()),
                           T.StructField("x", T.DoubleType())])
    rows = [(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0), (4, 100.0), (5, None), (6, float("nan")),
            (7, float("inf")), (8, float("-inf"))]
    return spark.createDataFrame(rows, schema).cache()
