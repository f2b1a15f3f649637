"""Names under which stages appear in the feature spec (``op: winsorize``)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from pyspark.ml.param import Param, Params

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
        add_accessors(cls)
        model = getattr(sys.modules.get(cls.__module__), f"{cls.__name__}Model", None)
        if isinstance(model, type):
            add_accessors(model)
        return cls

    return wrap


def add_accessors(cls: type) -> type:
    """Give ``cls`` pyspark.ml's ``getX()`` / ``setX(value)`` for each Param it lacks them for.

    pyspark.ml writes them by hand for every Param; here one mechanism gives every registered
    stage (and its ``<Stage>Model``) the same API. Existing methods are kept.

    >>> from features.outliers import Winsorizer
    >>> Winsorizer(inputCols=["a"]).setFold(2.0).getFold()
    2.0
    """
    for name in dir(cls):
        if not isinstance(getattr(cls, name, None), Param):
            continue
        suffix = name[0].upper() + name[1:]
        if not hasattr(cls, f"get{suffix}"):
            setattr(cls, f"get{suffix}", _getter(name))
        if not hasattr(cls, f"set{suffix}"):
            setattr(cls, f"set{suffix}", _setter(name))
    return cls


def _getter(name: str) -> Callable[[Params], Any]:
    def get(self: Params) -> Any:
        return self.getOrDefault(name)

    get.__name__, get.__doc__ = f"get{name[0].upper()}{name[1:]}", f"Gets the value of {name}."
    return get


def _setter(name: str) -> Callable[[Params, Any], Params]:
    def set_(self: Params, value: Any) -> Params:
        return self._set(**{name: value})

    set_.__name__, set_.__doc__ = f"set{name[0].upper()}{name[1:]}", f"Sets the value of {name}."
    return set_


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
