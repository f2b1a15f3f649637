"""lakeprep's encoders, as ``features.encoding.base.map_categories`` maps a column.

Categories are the column as a string (NaN of a float column is missing); missing maps to null,
an unseen category follows handleUnseen (error, keep: the stage's reserved value, null). The
target encoder applies its all-rows encodings: at inference no row carries a training fold
(``features.persistence.load_for_inference`` switches Spark's model the same way).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lakeprep.inference.columns import Batch, Column
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.stages.base import Stage, in_out, put
from lakeprep.inference.stages.mllib import as_string

FEATURES = "features.encoding."


def categories(stage: Stage, col: Column, name: str) -> list[str | None]:
    """The column as the strings the encoders compare (lakeprep's ``as_category``)."""
    if col.kind in ("double", "float"):
        nan = np.isnan(col.values)
        if (col.valid & ~nan).any():
            raise stage.refuse(f"column {name!r} is {col.kind}: its categories are Java's text "
                               f"of each number, which the runtime does not reproduce")
        return [None] * len(col)
    return list(as_string(stage, col, name))


def mappings(saved: SavedStage, former: str, field: str) -> dict[str, dict[str, Any]]:
    """{column: {category: value}} of the model data (the all-rows rows of a target encoder:
    fold null), or of the former Param ``{column: [[category, value], ...]}``."""
    rows = saved.rows(former)
    if rows is None:
        return {c: dict(pairs) for c, pairs in (saved.param(former) or {}).items()}
    return {r["column"]: dict(zip(r["categories"], r[field], strict=True)) for r in rows
            if r.get("fold") is None}


class CategoryMapper(Stage):
    """A fitted {category: value} per column; ``reserved`` is the value of ``keep``."""

    kind = "string"

    def __init__(self, saved: SavedStage, mappings: dict[str, dict[str, Any]], reserved: Any):
        super().__init__(saved, *in_out(saved))
        self.mappings, self.reserved = mappings, reserved
        self.policy = saved.param("handleUnseen", "error")

    def transform(self, batch: Batch) -> Batch:
        for c, o in zip(self.reads, self.writes, strict=True):
            col = self.column(batch, c)
            mapping = self.mappings.get(c, {})
            values: list[Any] = []
            valid = np.zeros(len(col), bool)
            for i, category in enumerate(categories(self, col, c)):
                if category is None:
                    values.append(None)
                elif category in mapping:
                    values.append(mapping[category])
                    valid[i] = True
                elif self.policy == "keep":
                    values.append(self.reserved)
                    valid[i] = True
                elif self.policy == "null":
                    values.append(None)
                else:
                    raise self.fail(c, np.arange(len(col)) == i, f"category {category!r} was not "
                                    f"seen at fit time; set handleUnseen to 'keep' or 'null'")
            put(batch, o, self.column_of(values, valid))
        return batch

    def column_of(self, values: list[Any], valid: np.ndarray) -> Column:
        if self.kind == "string":
            return Column("string", np.array(values, dtype=object), valid)
        return Column("double", np.array([0.0 if v is None else float(v) for v in values],
                                         np.float64), valid)


class RareLabelEncoderModel(CategoryMapper):
    """Categories learnt as rare become ``replaceWith``; unseen ones too under keep."""

    def __init__(self, saved: SavedStage):
        super().__init__(saved, mappings(saved, "categoryLabels", "labels"),
                         saved.param("replaceWith", "Rare"))


class TargetEncoderModel(CategoryMapper):
    """Category -> its smoothed label mean (all rows); unseen get the prior under keep."""

    kind = "double"

    def __init__(self, saved: SavedStage):
        super().__init__(saved, mappings(saved, "encodings", "encodings"),
                         float(saved.param("prior", 0.0)))


STAGES = {
    FEATURES + "rare_label_encoder.RareLabelEncoderModel": RareLabelEncoderModel,
    FEATURES + "target_encoder.TargetEncoderModel": TargetEncoderModel,
}
