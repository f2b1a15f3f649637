"""Small channel and split inputs shared by the SageMaker tests."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

# The helper modules (sm_data, sm_decoders) sit beside the tests; this folder has no
# __init__.py because a package named "sagemaker" would shadow the SageMaker SDK.
sys.path.insert(0, str(Path(__file__).parent))

from sm_data import CHANNEL_ROWS  # noqa: E402


@pytest.fixture(scope="session")
def channel_df(spark):
    """Six labelled rows with dense and sparse vectors, in two partitions."""
    return spark.createDataFrame(CHANNEL_ROWS, ["id", "label", "features"]).repartition(2).cache()


@pytest.fixture(scope="session")
def split_df(spark):
    """3,000 rows: 300 entities, a 10% positive label, one date per row over 100 days."""
    start = date(2024, 1, 1)
    rows = [(i, f"e{i % 300}", 1 if i % 10 == 0 else 0, start + timedelta(days=i % 100))
            for i in range(3000)]
    return spark.createDataFrame(rows, ["id", "entity", "label", "day"]).cache()
