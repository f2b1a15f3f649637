"""lakeprep's column selectors: a fitted selector drops the columns its fit found (``dropped``).

Every ``SelectorModel`` transforms alike (``dataset.drop(*features_to_drop_)``), so one runtime
stage serves them all.
"""

from __future__ import annotations

from lakeprep.inference.columns import Batch
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.stages.base import Stage

FEATURES = "features.selection."
MODELS = ("drop_constant.DropConstantFeaturesModel",
          "drop_correlated.DropCorrelatedFeaturesModel",
          "drop_duplicates.DropDuplicateFeaturesModel", "importance.SelectByImportanceModel",
          "psi.DropUnstableFeaturesModel", "univariate.UnivariateSelectorModel",
          "variance_threshold.DropLowVarianceModel")


class SelectorModel(Stage):
    """Drops the fitted ``dropped`` columns (each must be there, as Spark's stage requires)."""

    def __init__(self, saved: SavedStage):
        rows = saved.rows("dropped")
        if rows is None:  # saved before the drop report moved to data/
            self.drop = [str(d["column"]) for d in saved.param("dropped") or []]
        else:
            ranked = sorted((r["dropRank"], r["column"]) for r in rows
                            if r["dropRank"] is not None)
            self.drop = [str(c) for _, c in ranked]
        super().__init__(saved, list(self.drop), [])

    def transform(self, batch: Batch) -> Batch:
        for c in self.drop:
            self.column(batch, c)
        return {name: col for name, col in batch.items() if name not in self.drop}


STAGES = {FEATURES + model: SelectorModel for model in MODELS}
