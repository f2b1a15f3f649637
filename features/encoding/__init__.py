"""Encoding family: categories to numbers (ordinal, count/frequency, one-hot, target, WoE, rare).

Importing it registers every stage with the spec (MLlib's ``StringIndexer`` as ``string_index``
and its vector ``OneHotEncoder`` as ``one_hot_vector_encode``).

>>> from features.encoding import OrdinalEncoder
>>> df = spark.createDataFrame([("gold",), ("silver",), ("gold",)], ["segment"])
>>> OrdinalEncoder(inputCols=["segment"]).fit(df).transform(df).collect()
[Row(segment=0), Row(segment=1), Row(segment=0)]
"""

from pyspark.ml import feature as mllib

from features.encoding.count_frequency_encoder import (
    CountFrequencyEncoder,
    CountFrequencyEncoderModel,
)
from features.encoding.one_hot_encoder import OneHotEncoder, OneHotEncoderModel
from features.encoding.ordinal_encoder import OrdinalEncoder, OrdinalEncoderModel
from features.encoding.rare_label_encoder import RareLabelEncoder, RareLabelEncoderModel
from features.encoding.target_encoder import TargetEncoder, TargetEncoderModel
from features.encoding.woe_encoder import WoEEncoder, WoEEncoderModel
from features.registry import register_mllib

register_mllib("string_index", mllib.StringIndexer)
register_mllib("one_hot_vector_encode", mllib.OneHotEncoder)

__all__ = [
    "CountFrequencyEncoder", "CountFrequencyEncoderModel", "OneHotEncoder", "OneHotEncoderModel",
    "OrdinalEncoder", "OrdinalEncoderModel", "RareLabelEncoder", "RareLabelEncoderModel",
    "TargetEncoder", "TargetEncoderModel", "WoEEncoder", "WoEEncoderModel",
]
