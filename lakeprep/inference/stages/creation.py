"""lakeprep's creation stages: date/time parts and sine/cosine of cyclical values.

Date parts are computed in UTC, the session time zone of lakeprep's Spark sessions.
"""

from __future__ import annotations

import math

import numpy as np

import lakeprep.inference.sqlmath as sqlmath
from lakeprep.inference.columns import Batch, Column
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.stages.base import Stage, put

FEATURES = "features.creation."
DAY_US = 86_400_000_000
DEFAULT_PARTS = ["month", "year", "day_of_week", "day_of_month", "hour", "minute", "second"]


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (proleptic Gregorian, as Spark 3)."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months).astype(np.int64) + 1
    return year, month, day


def _first_of_year(year: np.ndarray) -> np.ndarray:
    return (year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def date_parts(micros: np.ndarray, wanted: list[str]) -> dict[str, np.ndarray]:
    """The ``wanted`` parts DatetimeFeatures writes, from microseconds since the epoch (UTC);
    the calendar (year, month, day) is computed only when a wanted part needs it."""
    days = np.floor_divide(micros, DAY_US)
    seconds = np.floor_divide(micros - days * DAY_US, 1_000_000)
    dow = (days + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    out = {"hour": seconds // 3600, "minute": seconds % 3600 // 60, "second": seconds % 60,
           "day_of_week": dow, "weekend": (dow >= 5).astype(np.int64)}
    if all(p in out for p in wanted):
        return out
    year, month, day = _civil(days)
    month_start = days - (day - 1)
    next_month = (days.astype("datetime64[D]").astype("datetime64[M]") + 1).astype(
        "datetime64[D]").astype(np.int64)
    last = next_month - month_start
    thursday = days - dow + 3  # ISO week: the week's Thursday decides its year
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    out.update({
        "month": month, "quarter": (month - 1) // 3 + 1, "semester": np.where(month <= 6, 1, 2),
        "year": year, "day_of_month": day, "day_of_year": days - _first_of_year(year) + 1,
        "month_start": (day == 1).astype(np.int64), "month_end": (day == last).astype(np.int64),
        "quarter_start": ((day == 1) & (month % 3 == 1)).astype(np.int64),
        "quarter_end": ((day == last) & (month % 3 == 0)).astype(np.int64),
        "year_start": ((day == 1) & (month == 1)).astype(np.int64),
        "year_end": ((day == 31) & (month == 12)).astype(np.int64),
        "leap_year": leap.astype(np.int64), "days_in_month": last,
    })
    if "week" in wanted:
        out["week"] = (thursday - _first_of_year(_civil(thursday)[0])) // 7 + 1
    return out


class DatetimeFeatures(Stage):
    """``<col>_<part>`` int columns of timestamp or date columns."""

    def __init__(self, saved: SavedStage):
        self.parts = list(saved.param("features", DEFAULT_PARTS))
        inputs = list(saved.param("inputCols") or [])
        super().__init__(saved, inputs, [f"{c}_{p}" for c in inputs for p in self.parts])

    def transform(self, batch: Batch) -> Batch:
        for c in self.reads:
            col = self.column(batch, c)
            if col.kind == "timestamp":
                micros = col.values
            elif col.kind == "date":
                micros = col.values * DAY_US
            else:
                raise self.refuse(f"column {c!r} is {col.kind}: the runtime reads timestamp "
                                  f"and date columns (Spark's parsing of strings is not "
                                  f"reproduced); send a timestamp")
            parts = date_parts(np.where(col.valid, micros, 0), self.parts)
            for p in self.parts:
                values, valid = parts[p].astype(np.int64), col.valid.copy()
                if p == "semester":  # Spark: when(month <= 6, 1).otherwise(2) gives 2 for null
                    values, valid = np.where(valid, values, 2), np.ones(len(col), bool)
                put(batch, f"{c}_{p}", Column("int", values, valid))
        return batch


class CyclicalFeaturesModel(Stage):
    """``<col>_sin`` and ``<col>_cos`` of ``x * (2 pi / period)``."""

    def __init__(self, saved: SavedStage):
        inputs = list(saved.param("inputCols") or [])
        super().__init__(saved, inputs, [f"{c}_{f}" for c in inputs for f in ("sin", "cos")])
        rows = saved.rows("maxValues")
        periods = ({r["column"]: r["maxValue"] for r in rows} if rows is not None
                   else saved.param("maxValues") or {})  # before the periods moved to data/
        self.factors = {c: 2 * math.pi / float(periods[c]) for c in inputs}

    def transform(self, batch: Batch) -> Batch:
        for c in self.reads:
            col = self.numeric(batch, c)
            angle = col.as_double() * self.factors[c]
            put(batch, f"{c}_sin", Column("double", sqlmath.sin(angle), col.valid.copy()))
            put(batch, f"{c}_cos", Column("double", sqlmath.cos(angle), col.valid.copy()))
        return batch


STAGES = {
    FEATURES + "datetime_features.DatetimeFeatures": DatetimeFeatures,
    FEATURES + "cyclical_features.CyclicalFeaturesModel": CyclicalFeaturesModel,
}
