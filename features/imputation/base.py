"""Shared logic of the imputers: what counts as missing, and filling it from fitted values.

Missing means null, or NaN in a floating column; +-inf are values, not missing. Imputed columns
keep their type when the fill value fits it (an int column filled with 2.5 becomes double).
Pair any imputer with :class:`MissingIndicator` placed before it to keep the missingness signal.

>>> df = spark.createDataFrame([(1,), (None,)], "amount int")
>>> fill_missing(df, {"amount": 0.0}, {"amount": "amount"}).collect()
[Row(amount=1), Row(amount=0)]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from features.base import is_nan
from features.params import HasInOutCols
from features.persistence import DataRow, FittedModel


def is_missing(df: DataFrame, column: str) -> Column:
    """True where ``column`` is null, or NaN when it is a floating column."""
    if isinstance(df.schema[column].dataType, T.FloatType | T.DoubleType):
        return F.col(column).isNull() | is_nan(column)
    return F.col(column).isNull()


def fill_missing(df: DataFrame, values: Mapping[str, object], outputs: Mapping[str, str]
                 ) -> DataFrame:
    """Replace missing values of each column by ``values[col]``, writing ``outputs[col]``."""
    exprs = {}
    for c, value in values.items():
        dtype = df.schema[c].dataType
        integral = isinstance(dtype, T.IntegralType)
        keep_type = not (integral and isinstance(value, float) and not float(value).is_integer())
        fill = F.lit(value).cast(dtype) if keep_type else F.lit(value)
        col = F.col(c) if keep_type else F.col(c).cast("double")
        exprs[outputs[c]] = F.when(is_missing(df, c), fill).otherwise(col)
    return df.withColumns(exprs)



class _ImputerModel(FittedModel, HasInOutCols):
    """A model that fills each input column with its fitted ``imputerValue`` (one row each)."""

    @property
    def imputer_values_(self) -> dict[str, Any]:
        """Fitted fill value per column."""
        rows = self.rows_by_column()
        return {c: rows[c]["imputerValue"] for c in self.getInputCols()}

    @classmethod
    def rows_from_params(cls, params: Mapping[str, Any]) -> list[DataRow]:
        return [{"column": c, "imputerValue": v} for c, v in params["imputerValues"].items()]

    def fill(self, dataset: DataFrame) -> DataFrame:
        """The input columns' missing values filled with the fitted values."""
        return fill_missing(dataset, self.imputer_values_,
                            dict(zip(self.getInputCols(), self.resolved_output_cols(),
                                     strict=True)))
