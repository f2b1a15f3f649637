"""Names under which stages appear in the feature spec (``op: winsorize``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from features.errors import FeatureSpecError

_STAGES: dict[str, type] = {}
C = TypeVar("C", bound=type)


def register(op: str) -> Callable[[C], C]:
    """Class decorator: make a stage available to the spec as ``op``.

    >>> @register("winsorize")  # doctest: +SKIP
    ... class Winsorizer(Estimator, ...): ...
    """

    def wrap(cls: C) -> C:
        if op in _STAGES and _STAGES[op] is not cls:
            raise FeatureSpecError(f"operation {op!r} registered twice: {_STAGES[op]} and {cls}")
        _STAGES[op] = cls
        return cls

    return wrap


def register_mllib(op: str, cls: type) -> None:
    """Expose an MLlib stage (``pyspark.ml.feature.Imputer``...) to the spec under ``op``."""
    register(op)(cls)


def stage_class(op: str) -> type:
    """The stage class registered as ``op``, or an error listing the valid operations."""
    try:
        return _STAGES[op]
    except KeyError:
        raise FeatureSpecError(
            f"unknown operation {op!r}; valid operations: {', '.join(sorted(_STAGES))}"
        ) from None


def operations() -> dict[str, type]:
    """All registered operations (a copy)."""
    return dict(_STAGES)
