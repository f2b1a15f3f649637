"""MLlib's vector scalers, as their Scala models transform (lakeprep's scalers save these).

StandardScaler, MaxAbsScaler and RobustScaler share ``StandardScalerModel.getTransformFunc``:
``(x - shift) * scale`` with ``scale = 1 / v`` (0 where v is 0; MaxAbsScaler: 1), a dense result
when shifting, else the input's own structure (a sparse row keeps its stored entries).
MinMaxScaler rescales every entry by ``(max - min) / range`` (NaN stays NaN), dense rows out.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lakeprep.inference.columns import Batch, Column
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.stages.base import Stage, put

ML = "org.apache.spark.ml.feature."


def saved_vector(table: pa.Table, name: str) -> np.ndarray:
    """A fitted vector of the model data (Spark's VectorUDT struct: type, size, indices,
    values) as a dense array."""
    cell = table.column(name)[0].as_py()
    if cell["type"] == 1:  # dense
        return np.array(cell["values"], np.float64)
    out = np.zeros(cell["size"], np.float64)
    out[cell["indices"]] = cell["values"]
    return out


def _inverse(values: np.ndarray, zero_to: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.where(values == 0, zero_to, 1.0 / np.where(values == 0, 1.0, values))


class _ShiftScale(Stage):
    """``getTransformFunc(shift, scale, withShift, withScale)`` of StandardScalerModel."""

    def __init__(self, saved: SavedStage, shift: np.ndarray | None, scale: np.ndarray | None):
        super().__init__(saved, [saved.param("inputCol")], [saved.param("outputCol")])
        self.shift, self.scale = shift, scale

    def transform(self, batch: Batch) -> Batch:
        col = self.column(batch, self.reads[0], ("vector",))
        if not col.valid.all():
            raise self.fail(self.reads[0], ~col.valid, "is a null vector (MLlib's scaler "
                            "fails on it)")
        if col.size != len(self.shift if self.shift is not None else self.scale
                           if self.scale is not None else col.values[0]):
            raise self.fail(self.reads[0], np.ones(len(col), bool),
                            f"has {col.size} slots, the scaler was fitted on another size")
        values = col.values
        if self.shift is not None:
            values = values - self.shift
            if self.scale is not None:
                values = values * self.scale
            out = Column("vector", values, col.valid.copy(), np.zeros(len(col), bool),
                         np.ones(values.shape, bool))
        elif self.scale is not None:
            scaled = values * self.scale
            sparse = col.sparse if col.sparse is not None else np.zeros(len(col), bool)
            active = col.active if col.active is not None else np.ones(values.shape, bool)
            # a sparse row scales its stored entries only (unstored ones stay 0.0)
            scaled = np.where(sparse[:, None] & ~active, 0.0, scaled)
            dense_active = np.where(sparse[:, None], active, True)
            out = Column("vector", scaled, col.valid.copy(), sparse.copy(), dense_active)
        else:
            out = col
        put(batch, self.writes[0], out)
        return batch


def _fitted(saved: SavedStage, shift: tuple[str, str], scale: tuple[str, str]
            ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(shift, 1 / scale) from the model data, each None when its flag Param is off; a flag is
    (Param, data field): the shift's defaults to off, the scale's to on (MLlib's defaults)."""
    data = saved.data()
    on_shift, on_scale = bool(saved.param(shift[0], False)), bool(saved.param(scale[0], True))
    return (saved_vector(data, shift[1]) if on_shift else None,
            _inverse(saved_vector(data, scale[1]), 0.0) if on_scale else None)


class StandardScalerModel(_ShiftScale):
    """(x - mean) * (1 / std) with withMean, x * (1 / std) with withStd (0 for a zero std)."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, *_fitted(saved, ("withMean", "mean"), ("withStd", "std")))


class RobustScalerModel(_ShiftScale):
    """(x - median) * (1 / range) with withCentering, x * (1 / range) with withScaling."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, *_fitted(saved, ("withCentering", "median"),
                                         ("withScaling", "range")))


class MaxAbsScalerModel(_ShiftScale):
    """x * (1 / max|x|) (1 for a zero max)."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, None, _inverse(saved_vector(saved.data(), "maxAbs"), 1.0))


class MinMaxScalerModel(Stage):
    """(x - min) * ((max - min) / range) + min; a constant slot gives (min + max) / 2; NaN
    stays NaN; dense rows out (MLlib's order of operations, to the bit)."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, [saved.param("inputCol")], [saved.param("outputCol")])
        data = saved.data()
        self.low = saved_vector(data, "originalMin")
        spread = saved_vector(data, "originalMax") - self.low
        self.min, self.max = float(saved.param("min", 0.0)), float(saved.param("max", 1.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.factor = np.where(spread != 0, (self.max - self.min) / np.where(
                spread != 0, spread, 1.0), 0.0)
        self.constant = (self.min + self.max) / 2

    def transform(self, batch: Batch) -> Batch:
        col = self.column(batch, self.reads[0], ("vector",))
        if not col.valid.all():
            raise self.fail(self.reads[0], ~col.valid, "is a null vector (MLlib's scaler "
                            "fails on it)")
        x = col.values
        with np.errstate(invalid="ignore"):
            scaled = np.where(self.factor != 0, (x - self.low) * self.factor + self.min,
                              self.constant)
        values = np.where(np.isnan(x), x, scaled)
        put(batch, self.writes[0], Column("vector", values, col.valid.copy(),
                                          np.zeros(len(col), bool), np.ones(x.shape, bool)))
        return batch


STAGES = {
    ML + "StandardScalerModel": StandardScalerModel,
    ML + "RobustScalerModel": RobustScalerModel,
    ML + "MaxAbsScalerModel": MaxAbsScalerModel,
    ML + "MinMaxScalerModel": MinMaxScalerModel,
}
