"""Names under which stages appear in the feature spec (``op: winsorize``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pyspark.ml.param import Param, Params

from features.errors import FeatureSpecError

_STAGES: dict[str, type] = {}
C = TypeVar("C", bound=type)


def register(op: str) -> Callable[[C], C]:
    """Class decorator: make a stage available to the spec as ``op``.

    Example::

        @register("winsorize")
        class Winsorizer(Estimator, ...): ...
    """

    def wrap(cls: C) -> C:
        known = _STAGES.get(op)
        # the same class defined again (its module run a second time: a reload, or pytest's
        # importlib mode importing the file it collects doctests from) replaces itself
        if known is not None and _name(known) != _name(cls):
            raise FeatureSpecError(f"operation {op!r} registered twice: {known} and {cls}")
        _STAGES[op] = cls
        add_accessors(cls)
        if "output_columns" not in dir(cls):
            cls.output_columns = classmethod(standard_output_columns)  # type: ignore[attr-defined]
        model = getattr(sys.modules.get(cls.__module__), f"{cls.__name__}Model", None)
        if isinstance(model, type):
            add_accessors(model)
        return cls

    return wrap


def _name(cls: type) -> tuple[str, str]:
    return cls.__module__, cls.__qualname__


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
    """Expose an MLlib stage (``pyspark.ml.feature.Imputer``...) to the spec under ``op``.

    MLlib stages write exactly their ``outputCol(s)``, so their declaration is
    :func:`standard_output_columns`, attached by :func:`register`.
    """
    register(op)(cls)


OUTPUT_PARAMS = ("outputCol", "outputCols")


def output_columns(cls: type, params: Mapping[str, Any]) -> list[str]:
    """The columns a stage of ``cls`` built with ``params`` writes; no stage is instantiated.

    Names, or ``fnmatch`` patterns where a name is only known after fit (one-hot indicator
    columns ``country_*``) or carries a random uid (MLlib's default ``<Class>_*__output``).

    >>> from features.creation import CyclicalFeatures
    >>> output_columns(CyclicalFeatures, {"inputCols": ["hour"]})
    ['hour_sin', 'hour_cos']
    """
    declare = getattr(cls, "output_columns", None)
    if declare is None:
        raise FeatureSpecError(f"{cls.__name__} declares no output columns; register it")
    return list(declare(params))


def standard_output_columns(cls: type, params: Mapping[str, Any]) -> list[str]:
    """``outputCols`` or ``outputCol`` as given, else the default name pyspark gives.

    pyspark's ``HasOutputCol`` default is ``<uid>__output`` with ``uid = <Class>_<12 hex>``, so
    it is declared as the pattern ``<Class>_*__output``; no default exists for ``outputCols``.
    """
    for name in ("outputCols", "outputCol"):
        if params.get(name) is not None:
            return as_list(params[name])
    multi = isinstance(getattr(cls, "outputCols", None), Param) and "inputCols" in params
    if isinstance(getattr(cls, "outputCol", None), Param) and not multi:
        return [f"{cls.__name__}_*__output"]
    return []  # multi-column mode without outputCols: the stage itself rejects it


def as_list(value: Any) -> list[str]:
    """A column param's value as a list of names (None: none, a string: one)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


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
