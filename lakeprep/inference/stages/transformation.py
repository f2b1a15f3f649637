"""lakeprep's transformation stages: logarithms, with fdlibm's log and log1p as Spark's."""

from __future__ import annotations

import math

import numpy as np

import lakeprep.inference.sqlmath as sqlmath
from lakeprep.inference.columns import Batch, Column
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.stages.base import Stage, in_out, put

FEATURES = "features.transformation."


class LogTransformer(Stage):
    """log_base(x + offset); x + offset <= 0 per handleOutOfDomain (error or null)."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, *in_out(saved))
        self.base = str(saved.param("base", "e"))
        self.offset = float(saved.param("offset", 0.0))
        # lakeprep's name since its out-of-domain policy was renamed, else the former one
        self.policy = saved.param("handleOutOfDomain", saved.param("handleInvalid", "error"))
        self.divisor = math.log(float(self.base) if self.base != "e" else math.e)

    def transform(self, batch: Batch) -> Batch:
        for c, o in zip(self.reads, self.writes, strict=True):
            col = self.numeric(batch, c)
            x = col.as_double()
            nan = np.isnan(x)
            with np.errstate(invalid="ignore"):
                shifted = x + self.offset
                bad = col.valid & ~nan & (shifted <= 0)
            if bad.any() and self.policy == "error":
                first = x[bad.nonzero()[0][0]]
                raise self.fail(c, bad, f"has value {first} where x + {self.offset} <= 0; fix "
                                f"the input or set handleOutOfDomain='null'")
            if self.base == "e" and self.offset == 1.0:
                values, ok = sqlmath.log1p(x)
            else:
                logs, ok = sqlmath.ln(shifted)
                values = logs / self.divisor
            values = np.where(nan, x, values)
            valid = col.valid & (nan | (ok & ~bad))
            put(batch, o, Column("double", values, valid))
        return batch


STAGES = {
    FEATURES + "log_transformer.LogTransformer": LogTransformer,
    FEATURES + "log_transformer.Log1pTransformer": LogTransformer,
}
