"""The one list of Spark column types each family of statistics accepts, and what counts as
missing in a column of each.

>>> from pyspark.sql import types as T
>>> isinstance(T.LongType(), NUMERIC_TYPES)
True
"""

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakeprep.frames import column

NUMERIC_TYPES = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType,
                 T.DecimalType)
FLOAT_TYPES = (T.FloatType, T.DoubleType)
CATEGORICAL_TYPES = (T.StringType, T.BooleanType)


def is_missing(name: str, data_type: T.DataType) -> Column:
    """True where the value is null, or NaN when the column is floating."""
    missing = column(name).isNull()
    if isinstance(data_type, FLOAT_TYPES):
        missing = missing | F.isnan(column(name))
    return missing
