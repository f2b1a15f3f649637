"""The stages of the inference runtime, by the class name Spark ML saved them under.

Each implementation reads a :class:`~lakeprep.inference.model_folder.SavedStage` (params and
model data) and transforms a batch of columns with numpy as the Spark stage transforms a
DataFrame. A saved class that is neither implemented nor refused here is refused too: the runtime
never skips a stage.
"""

from __future__ import annotations

from collections.abc import Callable

from lakeprep.errors import UnsupportedAtInference
from lakeprep.inference.model_folder import SavedStage
from lakeprep.inference.stages import (
    creation,
    encoding,
    imputation,
    mllib,
    outliers,
    scalers,
    selection,
    transformation,
)
from lakeprep.inference.stages.base import Stage

IMPLEMENTED: dict[str, Callable[[SavedStage], Stage]] = {
    **mllib.STAGES, **creation.STAGES, **imputation.STAGES, **outliers.STAGES,
    **transformation.STAGES, **encoding.STAGES, **scalers.STAGES, **selection.STAGES,
}

# Saved classes the runtime refuses, and why (the op reference prints these reasons).
REFUSED: dict[str, str] = {
    "features.creation.lag_features.LagFeatures": (
        "needs the rows before each record (a window over the series): send the lagged "
        "columns as inputs at serving time instead"),
    "features.creation.point_in_time.PointInTimeAggregates": (
        "aggregates a history of events per entity: compute the aggregates upstream and send "
        "them as inputs at serving time"),
}


def load_stage(saved: SavedStage) -> Stage:
    """The runtime's implementation of one saved stage, or an error naming it and why not."""
    if saved.cls in REFUSED:
        raise UnsupportedAtInference(
            f"{saved.folder}: stage {saved.uid} ({saved.short_class}) is not supported at "
            f"inference: {REFUSED[saved.cls]}")
    build = IMPLEMENTED.get(saved.cls)
    if build is None:
        raise UnsupportedAtInference(
            f"{saved.folder}: stage {saved.uid} ({saved.cls}) is not supported at inference "
            f"(the runtime implements {len(IMPLEMENTED)} stage classes: `lakeprep ops` lists "
            f"which ops); a model from another lakeprep version, or an op without a Spark-free "
            f"implementation")
    return build(saved)


def support(saved_class: str) -> str:
    """What the runtime does with a saved class, for the op reference: supported (with the
    ulps where not bit-exact) or refused and why."""
    if saved_class in REFUSED:
        return f"refused: {REFUSED[saved_class]}"
    if saved_class in IMPLEMENTED:
        return ULPS.get(saved_class, "supported, bit-exact")
    return ("refused: not implemented by lakeprep.inference yet (the model loads with an error "
            "naming the stage)")


# Where the runtime's outputs are not Spark's to the bit, and by how much (measured).
ULPS: dict[str, str] = {
    "features.creation.cyclical_features.CyclicalFeaturesModel": (
        "supported, within 1 ulp: Spark's sin/cos are java.lang.Math's HotSpot intrinsics "
        "(CPU-specific), numpy's agree on 99.8 % of 300,000 values, 1 ulp apart on the rest; "
        "exact on calendar angles"),
}
