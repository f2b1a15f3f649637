"""Small frames shared by the selector tests, as pandas (for the reference library) and Spark."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def retail_pdf() -> pd.DataFrame:
    """60 customers shaped like the feature snapshot, with a few planted properties."""
    rng = np.random.default_rng(7)
    n = 60
    amount = rng.gamma(2.0, 50.0, n).round(2)
    orders = rng.integers(0, 12, n)
    label = (amount + rng.normal(0, 20, n) > 100).astype(int)
    return pd.DataFrame({
        "customer_id": np.arange(n),
        "country": np.where(np.arange(n) < 57, "DE", "FR"),      # quasi-constant: 95%
        "segment": rng.choice(["a", "b", "c"], n),
        "channel": np.array(["web"] * n),                          # constant
        "orders_count_90d": orders.astype(float),
        "orders_copy": orders.astype(float),                       # duplicate
        "amount_sum_90d": amount,
        "amount_mean_90d": amount / 3 + rng.normal(0, 0.5, n),     # correlated with the sum
        "tenure_days": rng.integers(1, 2000, n).astype(float),
        "flag": np.where(np.arange(n) == 0, 1.0, 0.0),             # low variance
        "purchased_next_30d": label,
    })


@pytest.fixture(scope="module")
def retail_df(spark, retail_pdf):
    return spark.createDataFrame(retail_pdf)
