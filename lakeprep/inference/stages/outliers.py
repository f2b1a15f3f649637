"""lakeprep's outlier stages: capping at the fitted bounds (Winsorizer).

Spark's ``greatest``/``least`` keep the first argument on ties (-0.0 stays -0.0 against a 0.0
cap), hence strict comparisons; null and NaN pass through unchanged.
"""

from __future__ import annotations

import numpy as np

from lakeprep.inference.columns import Batch, Column
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.stages.base import Stage, in_out, put

FEATURES = "features.outliers."


class WinsorizerModel(Stage):
    """Values above the right cap become the cap, below the left cap the left cap."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, *in_out(saved))
        rows = saved.rows("leftTailCaps")
        if rows is None:  # saved before the caps moved to data/
            rows = [{"column": c, "leftTailCap": saved.param("leftTailCaps", {}).get(c),
                     "rightTailCap": saved.param("rightTailCaps", {}).get(c)}
                    for c in self.reads]
        self.low = {r["column"]: float(r["leftTailCap"]) for r in rows
                    if r["leftTailCap"] is not None}
        self.high = {r["column"]: float(r["rightTailCap"]) for r in rows
                     if r["rightTailCap"] is not None}

    def transform(self, batch: Batch) -> Batch:
        for c, o in zip(self.reads, self.writes, strict=True):
            col = self.numeric(batch, c)
            v = col.as_double()
            capped = v
            with np.errstate(invalid="ignore"):
                if c in self.high:
                    capped = np.where(self.high[c] < capped, self.high[c], capped)
                if c in self.low:
                    capped = np.where(self.low[c] > capped, self.low[c], capped)
            out = np.where(np.isnan(v), v, capped)
            put(batch, o, Column("double", out, col.valid.copy()))
        return batch


STAGES = {FEATURES + "winsorizer.WinsorizerModel": WinsorizerModel}
