"""lakeprep's imputation stages: missing indicators, arbitrary and categorical fill values.

As ``features.imputation.base.fill_missing``: the column keeps its type when the fill value
fits it (cast to it), an integral column filled with a fractional number becomes double.
"""

from __future__ import annotations

import numpy as np

from lakeprep.inference.columns import INTEGRAL, Batch, Column
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.sqlmath import cast_double_to
from lakeprep.inference.stages.base import Stage, in_out, put

FEATURES = "features.imputation."


class MissingIndicator(Stage):
    """``<col><suffix>``: int 1 where the value is null or NaN, else 0."""

    def __init__(self, saved: SavedStage):
        inputs = list(saved.param("inputCols") or [])
        self.suffix = saved.param("suffix", "_na")
        super().__init__(saved, inputs, [f"{c}{self.suffix}" for c in inputs])

    def transform(self, batch: Batch) -> Batch:
        for c, o in zip(self.reads, self.writes, strict=True):
            col = self.column(batch, c)
            put(batch, o, Column.numeric("int", col.is_missing().astype(np.int64)))
        return batch


def fill(stage: Stage, col: Column, name: str, value: object) -> Column:
    """``fill_missing`` of one column: missing values replaced by ``value``."""
    missing = col.is_missing()
    if col.kind == "string":
        if not isinstance(value, str):
            raise stage.refuse(f"column {name!r} is a string, fill value {value!r} is not")
        return Column("string", np.where(missing, value, col.values), np.ones(len(col), bool))
    if isinstance(value, str):  # a fitted category of a non-string column: Spark's cast
        try:
            value = float(value) if col.kind not in INTEGRAL else int(value)
        except ValueError:
            raise stage.refuse(f"fill value {value!r} of column {name!r} ({col.kind}) is not "
                               f"a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise stage.refuse(f"fill value {value!r} of column {name!r} is not a number")
    integral = col.kind in INTEGRAL
    keep_type = not (integral and isinstance(value, float) and not float(value).is_integer())
    if not keep_type:
        return Column("double", np.where(missing, float(value), col.as_double()),
                      np.ones(len(col), bool))
    filler = cast_double_to(np.array([float(value)]), np.ones(1, bool), col.kind)
    if integral and isinstance(value, int):
        filler = Column(col.kind, np.array([value], np.int64), np.ones(1, bool))
    values = np.where(missing, filler.values[0], col.values).astype(col.values.dtype)
    return Column(col.kind, values, np.ones(len(col), bool))


class ArbitraryNumberImputer(Stage):
    """Null and NaN replaced by ``values[col]``, else ``value``."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, *in_out(saved))
        per_col = saved.param("values") or {}
        self.fills = {c: per_col.get(c, saved.param("value", 999.0)) for c in self.reads}

    def transform(self, batch: Batch) -> Batch:
        for c, o in zip(self.reads, self.writes, strict=True):
            put(batch, o, fill(self, self.numeric(batch, c), c, self.fills[c]))
        return batch


class CategoricalImputerModel(Stage):
    """Null (and NaN) replaced by the fitted category of each column."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, *in_out(saved))
        rows = saved.rows("imputerValues")
        self.fills = ({r["column"]: r["imputerValue"] for r in rows} if rows is not None
                      else dict(saved.param("imputerValues") or {}))

    def transform(self, batch: Batch) -> Batch:
        for c, o in zip(self.reads, self.writes, strict=True):
            put(batch, o, fill(self, self.column(batch, c), c, self.fills[c]))
        return batch


STAGES = {
    FEATURES + "missing_indicator.MissingIndicator": MissingIndicator,
    FEATURES + "arbitrary_number_imputer.ArbitraryNumberImputer": ArbitraryNumberImputer,
    FEATURES + "categorical_imputer.CategoricalImputerModel": CategoricalImputerModel,
}
