"""Discretisation family: numeric values into bins (equal width, equal frequency, given edges).

Importing it registers every stage with the spec (MLlib's ``QuantileDiscretizer`` as
``equal_frequency_discretise`` and ``Bucketizer`` as ``bucketize``).

>>> from features.discretisation import EqualWidthDiscretiser
>>> EqualWidthDiscretiser(inputCols=["amount"], bins=4).getBins()
4
"""

from pyspark.ml import feature as mllib

from features.discretisation.equal_width_discretiser import (
    EqualWidthDiscretiser,
    EqualWidthDiscretiserModel,
)
from features.registry import register_mllib

register_mllib("bucketize", mllib.Bucketizer)
register_mllib("equal_frequency_discretise", mllib.QuantileDiscretizer)

__all__ = ["EqualWidthDiscretiser", "EqualWidthDiscretiserModel"]
