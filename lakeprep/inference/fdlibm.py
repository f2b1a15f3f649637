"""fdlibm 5.3 in vectorised numpy: the ``log`` and ``log1p`` Spark SQL computes, to the bit.

Spark's ``ln`` and ``log1p`` give fdlibm's results (``java.lang.StrictMath``; measured: 0
differences on 300,000 values from 5e-324 to 1.8e308), while numpy's differ in the last bits
(log on 2.5 %, log1p on 0.03 % of those values). These ports follow fdlibm's algorithms and
constants operation by operation: each branch of the C code is a mask, every branch is evaluated
on the whole array and the right one kept.

Not here: ``sin``/``cos``. Spark calls ``java.lang.Math.sin``/``cos``, which HotSpot replaces by
CPU-specific intrinsics (Intel's libm on x86_64), not fdlibm: an fdlibm port differs from Spark
on 3 % of values where numpy's differs on 0.2 %, by at most 1 ulp (``lakeprep.inference.sqlmath``).

fdlibm is Copyright (C) 1993 by Sun Microsystems, Inc.: "Permission to use, copy, modify, and
distribute this software is freely granted, provided that this notice is preserved."

>>> float(log1p(np.array([1e-10]))[0])
9.999999999500001e-11
"""

from __future__ import annotations

import numpy as np

NDArray = np.ndarray
TWO54 = 2.0 ** 54
TWO24 = 2.0 ** 24
LN2_HI = float.fromhex("0x1.62e42feep-1")
LN2_LO = float.fromhex("0x1.a39ef35793c76p-33")
LG = [float.fromhex(h) for h in (
    "0x1.5555555555593p-1", "0x1.999999997fa04p-2", "0x1.2492494229359p-2",
    "0x1.c71c51d8e78afp-3", "0x1.7466496cb03dep-3", "0x1.39a09d078c69fp-3",
    "0x1.2f112df3e5244p-3")]


def _hi(x: NDArray) -> NDArray:
    """High 32 bits of each double, as signed int32 (fdlibm's ``__HI``)."""
    return (x.view(np.int64) >> 32).astype(np.int32)


def _lo(x: NDArray) -> NDArray:
    """Low 32 bits of each double, as int64 in [0, 2**32) (fdlibm's unsigned ``__LO``)."""
    return x.view(np.int64) & 0xFFFFFFFF


def _with_hi(x: NDArray, hi: NDArray) -> NDArray:
    """``x`` with its high word replaced by ``hi``."""
    bits = (x.view(np.int64) & 0xFFFFFFFF) | (hi.astype(np.int64) << 32)
    return bits.view(np.float64)


def _from_hi(hi: NDArray) -> NDArray:
    """The double whose high word is ``hi`` and low word 0."""
    return (hi.astype(np.int64) << 32).view(np.float64)


def _array(x: object) -> NDArray:
    return np.array(x, dtype=np.float64, copy=True, ndmin=1)


def log(x: object) -> NDArray:
    """``StrictMath.log`` (fdlibm ``__ieee754_log``) of each value."""
    x = given = _array(x)
    with np.errstate(all="ignore"):
        hx = _hi(x)
        k = np.zeros(x.shape, np.int32)
        zero = ((hx & 0x7FFFFFFF) | _lo(x)) == 0
        negative = (hx < 0) & ~zero
        sub = (hx < 0x00100000) & ~zero & ~negative
        x = np.where(sub, x * TWO54, x)
        k = np.where(sub, k - 54, k)
        hx = _hi(x)
        special = hx >= 0x7FF00000
        k = k + (hx >> 20) - 1023
        hx = hx & 0x000FFFFF
        i = (hx + 0x95F64) & 0x100000
        x = _with_hi(x, hx | (i ^ 0x3FF00000))
        k = k + (i >> 20)
        f = x - 1.0
        dk = k.astype(np.float64)
        # |f| < 2**-20
        tiny = (0x000FFFFF & (2 + hx)) < 3
        r_tiny = f * f * (0.5 - 0.33333333333333333 * f)
        out_tiny = np.where(f == 0.0, np.where(k == 0, 0.0, dk * LN2_HI + dk * LN2_LO),
                            np.where(k == 0, f - r_tiny,
                                     dk * LN2_HI - ((r_tiny - dk * LN2_LO) - f)))
        s = f / (2.0 + f)
        z = s * s
        i = hx - 0x6147A
        w = z * z
        j = 0x6B851 - hx
        t1 = w * (LG[1] + w * (LG[3] + w * LG[5]))
        t2 = z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6])))
        i = i | j
        r = t2 + t1
        hfsq = 0.5 * f * f
        out_big = np.where(k == 0, f - (hfsq - s * (hfsq + r)),
                           dk * LN2_HI - ((hfsq - (s * (hfsq + r) + dk * LN2_LO)) - f))
        out_small = np.where(k == 0, f - s * (f - r),
                             dk * LN2_HI - ((s * (f - r) - dk * LN2_LO) - f))
        out = np.where(tiny, out_tiny, np.where(i > 0, out_big, out_small))
        out = np.where(special, given + given, out)
        out = np.where(zero, -np.inf, out)
        return np.where(negative, np.nan, out)


def log1p(x: object) -> NDArray:
    """``StrictMath.log1p`` (fdlibm ``log1p``) of each value."""
    x = _array(x)
    with np.errstate(all="ignore"):
        hx = _hi(x)
        ax = hx & 0x7FFFFFFF
        below = hx < 0x3FDA827A  # x < 0.41422
        le_minus1 = below & (ax >= 0x3FF00000)
        small = below & ~le_minus1 & (ax < 0x3E200000)  # |x| < 2**-29
        out_small = np.where(ax < 0x3C900000, x, x - x * x * 0.5)
        k0 = below & ~le_minus1 & ~small & ((hx > 0) | (hx <= np.int32(-0x402D413D)))
        # k != 0 path
        big = hx >= 0x43400000
        u = np.where(big, x, 1.0 + x)
        hu = _hi(u)
        k = (hu >> 20) - 1023
        c = np.where(big, 0.0, np.where(k > 0, 1.0 - (u - x), x - (u - 1.0)) / u)
        hu = hu & 0x000FFFFF
        low_hu = hu < 0x6A09E
        u = np.where(low_hu, _with_hi(u, hu | 0x3FF00000), _with_hi(u, hu | 0x3FE00000))
        k = np.where(low_hu, k, k + 1)
        hu = np.where(low_hu, hu, (0x00100000 - hu) >> 2)
        f = u - 1.0
        # k == 0 path: f = x, hu = 1, c = 0
        f = np.where(k0, x, f)
        k = np.where(k0, 0, k)
        hu = np.where(k0, 1, hu)
        c = np.where(k0, 0.0, c)
        dk = k.astype(np.float64)
        hfsq = 0.5 * f * f
        r_tiny = hfsq * (1.0 - 0.66666666666666666 * f)
        out_tiny = np.where(f == 0.0, np.where(k == 0, 0.0, dk * LN2_HI + (c + dk * LN2_LO)),
                            np.where(k == 0, f - r_tiny,
                                     dk * LN2_HI - ((r_tiny - (dk * LN2_LO + c)) - f)))
        s = f / (2.0 + f)
        z = s * s
        r = z * (LG[0] + z * (LG[1] + z * (LG[2] + z * (LG[3] + z * (LG[4] + z * (
            LG[5] + z * LG[6]))))))
        out_main = np.where(k == 0, f - (hfsq - s * (hfsq + r)),
                            dk * LN2_HI - ((hfsq - (s * (hfsq + r) + (dk * LN2_LO + c))) - f))
        out = np.where(hu == 0, out_tiny, out_main)
        out = np.where(hx >= 0x7FF00000, x + x, out)
        out = np.where(small, out_small, out)
        return np.where(le_minus1, np.where(x == -1.0, -np.inf, np.nan), out)

