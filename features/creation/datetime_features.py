"""DatetimeFeatures: date and time parts (year, month, day of week, hour, ...) of a column."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.param.shared import HasInputCols
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.base import OneOf, Rule, check_params
from features.checks import require_new_columns, require_types
from features.errors import FeatureSpecError
from features.persistence import StageReadable, StageWritable
from features.registry import as_list, register

DEFAULT_FEATURES = ["month", "year", "day_of_week", "day_of_month", "hour", "minute", "second"]


def _parts(ts: Column) -> dict[str, Column]:
    """Spark expressions of every supported part (feature-engine's names and conventions)."""
    month, day, year = F.month(ts), F.dayofmonth(ts), F.year(ts)
    # Spark counts 1 = Sunday; pandas and feature-engine count 0 = Monday.
    dow = (F.dayofweek(ts) + 5) % 7
    last = F.dayofmonth(F.last_day(ts))
    return {
        "month": month, "quarter": F.quarter(ts), "semester": F.when(month <= 6, 1).otherwise(2),
        "year": year, "week": F.weekofyear(ts), "day_of_week": dow, "day_of_month": day,
        "day_of_year": F.dayofyear(ts), "weekend": (dow >= 5).cast("int"),
        "month_start": (day == 1).cast("int"), "month_end": (day == last).cast("int"),
        "quarter_start": ((day == 1) & (month % 3 == 1)).cast("int"),
        "quarter_end": ((day == last) & (month % 3 == 0)).cast("int"),
        "year_start": ((day == 1) & (month == 1)).cast("int"),
        "year_end": ((day == 31) & (month == 12)).cast("int"),
        "leap_year": (((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)).cast("int"),
        "days_in_month": last, "hour": F.hour(ts), "minute": F.minute(ts),
        "second": F.second(ts),
    }


SUPPORTED = ["month", "quarter", "semester", "year", "week", "day_of_week", "day_of_month",
             "day_of_year", "weekend", "month_start", "month_end", "quarter_start",
             "quarter_end", "year_start", "year_end", "leap_year", "days_in_month", "hour",
             "minute", "second"]


@register("datetime_features")
class DatetimeFeatures(Transformer, HasInputCols, StageReadable, StageWritable):
    """Adds int columns ``<col>_<feature>`` with parts of timestamp/date/string columns.

    Features and names follow feature-engine's DatetimeFeatures: month, quarter, semester,
    year, week (ISO), day_of_week (0 = Monday), day_of_month, day_of_year, weekend (Sat/Sun),
    month/quarter/year _start/_end, leap_year, days_in_month, hour, minute, second. Parts are
    in the session time zone (UTC in lakeprep's sessions). Null, or a string that does not
    parse, gives null in every part.

    >>> df = spark.sql("SELECT TIMESTAMP'2024-03-02 10:30:00' AS order_ts")
    >>> stage = DatetimeFeatures(inputCols=["order_ts"], features=["year", "weekend"])
    >>> stage.transform(df).collect()
    [Row(order_ts=datetime.datetime(2024, 3, 2, 10, 30), order_ts_year=2024, order_ts_weekend=1)]
    """

    _input_kwargs: dict[str, Any]  # set by pyspark's @keyword_only

    PARAM_RULES: dict[str, Rule] = {"features": OneOf(tuple(SUPPORTED), each=True)}

    features = Param(Params._dummy(), "features", f"parts to extract, from {SUPPORTED}",
                     typeConverter=TypeConverters.toListString)

    @keyword_only
    def __init__(self, *, inputCols: list[str] | None = None, features: list[str] | None = None,
        ) -> None:
        super().__init__()
        self._setDefault(features=DEFAULT_FEATURES)
        self.setParams(**self._input_kwargs)

    @keyword_only
    def setParams(self, *, inputCols: list[str] | None = None, features: list[str] | None = None,
        ) -> DatetimeFeatures:
        """Set the params given by keyword."""
        return self._set(**{k: v for k, v in self._input_kwargs.items() if v is not None})

    @classmethod
    def output_columns(cls, params: Mapping[str, Any]) -> list[str]:
        """``<col>_<feature>`` per input column and feature."""
        wanted = as_list(params.get("features", DEFAULT_FEATURES))
        return [f"{c}_{f}" for c in as_list(params.get("inputCols")) for f in wanted]

    def _transform(self, dataset: DataFrame) -> DataFrame:
        check_params(self)
        stage, cols = type(self).__name__, self.getInputCols()
        wanted = self.getOrDefault(self.features)
        unknown = [f for f in wanted if f not in SUPPORTED]
        if unknown:
            raise FeatureSpecError(f"{stage}: unknown feature(s) {unknown}; supported: "
                                   f"{SUPPORTED}")
        require_types(dataset, cols, (T.TimestampType, T.TimestampNTZType, T.DateType,
                                      T.StringType), stage, "timestamp, date or string")
        exprs = {}
        for c in cols:
            parts = _parts(F.col(c).cast("timestamp"))
            names = self.output_columns({"inputCols": [c], "features": wanted})
            exprs.update({n: parts[f].cast("int") for n, f in zip(names, wanted, strict=True)})
        require_new_columns(dataset, exprs, stage)
        return dataset.withColumns(exprs)
