"""Transformation family: log and power transforms, and scaling.

Importing it registers every stage with the spec (MLlib's vector scalers, with fit checks).

>>> from features.transformation import LogTransformer
>>> df = spark.createDataFrame([(0.0,), (9.0,)], "amount double")
>>> LogTransformer(inputCols=["amount"], offset=1.0, base="10").transform(df).collect()
[Row(amount=0.0), Row(amount=1.0)]
"""

from features.registry import register_mllib
from features.transformation.log_transformer import Log1pTransformer, LogTransformer
from features.transformation.power_transformer import PowerTransformer, PowerTransformerModel
from features.transformation.scalers import (
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)

# MLlib's scalers (on vectors), with fit-time checks of the fitted statistics
register_mllib("standard_scale", StandardScaler)
register_mllib("min_max_scale", MinMaxScaler)
register_mllib("robust_scale", RobustScaler)
register_mllib("max_abs_scale", MaxAbsScaler)

__all__ = [
    "Log1pTransformer", "LogTransformer", "MaxAbsScaler", "MinMaxScaler", "PowerTransformer",
    "PowerTransformerModel", "RobustScaler", "StandardScaler",
]
