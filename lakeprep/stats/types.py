"""The one list of Spark column types each family of statistics accepts.

>>> from pyspark.sql import types as T
>>> isinstance(T.LongType(), NUMERIC_TYPES)
True
"""

from pyspark.sql import types as T

NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType,
                 T.DecimalType)
FLOAT_TYPES = (T.FloatType, T.DoubleType)
CATEGORICAL_TYPES = (T.StringType, T.BooleanType)
