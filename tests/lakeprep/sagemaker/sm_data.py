"""Rows shared by the SageMaker tests and their fixtures."""

from __future__ import annotations

from pyspark.ml.linalg import Vectors

# Values that catch formatting and float32 rounding bugs: 1/3 is not a float32, 1e20 and 1e-7
# need exponents, -0.0 keeps its sign, sparse rows include an empty one.
CHANNEL_ROWS = [
    (0, 1, Vectors.dense([0.5, 0.0, -2.25, 1e-7])),
    (1, 0, Vectors.sparse(4, [1, 3], [3.5, -1.0])),
    (2, 1, Vectors.dense([1 / 3, 2 / 3, 1e20, -0.0])),
    (3, 0, Vectors.sparse(4, [], [])),
    (4, 0, Vectors.dense([7.0, 8.0, 9.0, 10.0])),
    (5, 2, Vectors.sparse(4, [0, 2], [0.1, 123456789.0])),
]
FEATURE_NAMES = ("age", "income", "tenure", "score")
