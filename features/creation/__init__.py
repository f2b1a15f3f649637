"""Creation family: date/time parts, cyclical encoding, column arithmetic, crosses, lags and
point-in-time aggregates and labels. Importing it registers every stage with the spec.

>>> from features.creation import DatetimeFeatures
>>> df = spark.sql("SELECT TIMESTAMP'2024-03-02 10:30:00' AS order_ts")
>>> stage = DatetimeFeatures(inputCols=["order_ts"], features=["month", "weekend"])
>>> stage.transform(df).drop("order_ts").collect()
[Row(order_ts_month=3, order_ts_weekend=1)]
"""

from features.creation.categorical_cross import CategoricalCross
from features.creation.cyclical_features import CyclicalFeatures, CyclicalFeaturesModel
from features.creation.datetime_features import DatetimeFeatures
from features.creation.lag_features import LagFeatures
from features.creation.math_features import MathFeatures
from features.creation.point_in_time import (
    PointInTimeAggregates,
    point_in_time_aggregates,
    window_label,
)
from features.creation.relative_features import RelativeFeatures

# MLlib's polynomial expansion and interactions are registered once, by features.extraction.

__all__ = [
    "CategoricalCross", "CyclicalFeatures", "CyclicalFeaturesModel", "DatetimeFeatures",
    "LagFeatures", "MathFeatures", "PointInTimeAggregates", "RelativeFeatures",
    "point_in_time_aggregates", "window_label",
]
