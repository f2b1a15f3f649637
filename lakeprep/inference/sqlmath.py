"""Spark SQL's semantics where numpy's differ: casts, and the math functions Spark calls.

- ``cast(double as int/long/...)``: Java's narrowing (truncation toward zero, NaN -> 0,
  saturation at the type's range) for legacy (non-ANSI) casts, what lakeprep's sessions use.
- ``ln``/``log1p``: fdlibm (``lakeprep.inference.fdlibm``), bit-identical to Spark; null where
  the argument is at or below the function's asymptote (0 for ln, -1 for log1p), as Spark.
- ``sin``/``cos``: Spark calls ``java.lang.Math``, which HotSpot computes with CPU-specific
  intrinsics; numpy's agree on 99.8 % of values and differ by at most 1 ulp (SIN_COS_ULPS).

>>> cast_double_to(np.array([2.7, -2.7, np.nan]), np.ones(3, bool), "int").values.tolist()
[2, -2, 0]
"""

from __future__ import annotations

import numpy as np

import lakeprep.inference.fdlibm as fdlibm
from lakeprep.inference.columns import Column

SIN_COS_ULPS = 1  # the largest difference measured against Spark on x86_64 (300,000 values)
_RANGES = {"long": (-2 ** 63, 2 ** 63 - 1), "int": (-2 ** 31, 2 ** 31 - 1),
           "short": (-2 ** 15, 2 ** 15 - 1), "byte": (-2 ** 7, 2 ** 7 - 1)}


def cast_double_to(values: np.ndarray, valid: np.ndarray, kind: str) -> Column:
    """``cast(values as kind)`` from double, as Spark's legacy cast does."""
    if kind in ("double", "decimal"):
        return Column("double" if kind == "double" else kind, values, valid)
    if kind == "float":
        return Column(kind, values.astype(np.float32).astype(np.float64), valid)
    if kind == "boolean":
        return Column(kind, values != 0.0, valid)
    lo, hi = _RANGES[kind]
    with np.errstate(invalid="ignore"):
        clean = np.where(np.isnan(values), 0.0, np.trunc(values))
        if kind == "long":
            out = np.where(clean >= 2.0 ** 63, hi, np.where(clean <= -2.0 ** 63, lo, 0))
            inside = (clean > -2.0 ** 63) & (clean < 2.0 ** 63)
            out = np.where(inside, np.where(inside, clean, 0).astype(np.int64), out)
        else:  # Java: double -> int saturates, then narrows (wraps) to short/byte
            as_int = np.clip(clean, -2.0 ** 31, 2.0 ** 31 - 1).astype(np.int64)
            bits = {"int": 32, "short": 16, "byte": 8}[kind]
            out = ((as_int + 2 ** (bits - 1)) % 2 ** bits) - 2 ** (bits - 1)
    return Column(kind, out.astype(np.int64), valid)


def ln(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spark's ``ln``: (values, valid); null where x <= 0."""
    with np.errstate(invalid="ignore"):
        return fdlibm.log(x), ~(x <= 0.0)


def log1p(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spark's ``log1p``: (values, valid); null where x <= -1."""
    with np.errstate(invalid="ignore"):
        return fdlibm.log1p(x), ~(x <= -1.0)


def sin(x: np.ndarray) -> np.ndarray:
    """Spark's ``sin`` (within SIN_COS_ULPS)."""
    with np.errstate(invalid="ignore"):
        return np.sin(x)


def cos(x: np.ndarray) -> np.ndarray:
    """Spark's ``cos`` (within SIN_COS_ULPS)."""
    with np.errstate(invalid="ignore"):
        return np.cos(x)
