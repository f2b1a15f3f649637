"""Imputation family: fill missing values (null, and NaN in floating columns) with fitted values.

Importing it registers every stage with the spec (MLlib's mean/median/mode ``Imputer`` as
``impute``).

>>> from features.imputation import ArbitraryNumberImputer, MissingIndicator
>>> df = spark.createDataFrame([(1.0,), (None,)], "amount double")
>>> ArbitraryNumberImputer(inputCols=["amount"], value=0.0).transform(
...     MissingIndicator(inputCols=["amount"]).transform(df)).collect()
[Row(amount=1.0, amount_na=0), Row(amount=0.0, amount_na=1)]
"""

from pyspark.ml import feature as mllib

from features.imputation.arbitrary_number_imputer import ArbitraryNumberImputer
from features.imputation.categorical_imputer import CategoricalImputer, CategoricalImputerModel
from features.imputation.end_tail_imputer import EndTailImputer, EndTailImputerModel
from features.imputation.missing_indicator import MissingIndicator
from features.registry import register_mllib

register_mllib("impute", mllib.Imputer)

__all__ = [
    "ArbitraryNumberImputer", "CategoricalImputer", "CategoricalImputerModel", "EndTailImputer",
    "EndTailImputerModel", "MissingIndicator",
]
