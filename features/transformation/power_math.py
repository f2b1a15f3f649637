"""Box-Cox and Yeo-Johnson on numpy arrays: the transforms and lambda by maximum likelihood.

Runs on the driver over a bounded sample (see PowerTransformer). The log-likelihoods are
scipy's/scikit-learn's; the maximiser is a golden-section search on a bracket that widens until
it holds the maximum, so numpy is all that is needed.

>>> import numpy as np
>>> round(fit_lambda(np.array([1.0, 2.0, 3.0, 8.0, 20.0]), "box-cox"), 3)  # scipy: -0.184
-0.184
"""

from __future__ import annotations

import math

import numpy as np

INV_PHI = (math.sqrt(5) - 1) / 2


def box_cox(x: np.ndarray, lmbda: float) -> np.ndarray:
    """Box-Cox of positive x."""
    return np.log(x) if abs(lmbda) < 1e-12 else (np.power(x, lmbda) - 1) / lmbda


def yeo_johnson(x: np.ndarray, lmbda: float) -> np.ndarray:
    """Yeo-Johnson of any real x."""
    out = np.empty_like(x, dtype=float)
    pos = x >= 0
    if abs(lmbda) < 1e-12:
        out[pos] = np.log1p(x[pos])
    else:
        out[pos] = (np.power(x[pos] + 1, lmbda) - 1) / lmbda
    if abs(lmbda - 2) < 1e-12:
        out[~pos] = -np.log1p(-x[~pos])
    else:
        out[~pos] = -(np.power(-x[~pos] + 1, 2 - lmbda) - 1) / (2 - lmbda)
    return out


def log_likelihood(x: np.ndarray, lmbda: float, method: str) -> float:
    """Profile log-likelihood of lambda under a normal model of the transformed values."""
    n = x.size
    if method == "box-cox":
        y, jacobian = box_cox(x, lmbda), (lmbda - 1) * np.log(x).sum()
    else:
        y, jacobian = yeo_johnson(x, lmbda), (lmbda - 1) * (np.sign(x) * np.log1p(np.abs(x))).sum()
    var = y.var()
    if not np.isfinite(var) or var <= 0:
        return -math.inf
    return float(-n / 2 * math.log(var) + jacobian)


def fit_lambda(x: np.ndarray, method: str, tol: float = 1e-9) -> float:
    """Lambda maximising the log-likelihood (golden-section search on a widening bracket)."""
    def f(lam: float) -> float:
        return log_likelihood(x, lam, method)

    lo, hi = -2.0, 2.0
    for _ in range(8):  # widen until the maximum is inside, as scipy's brent bracket does
        mid_val = f((lo + hi) / 2)
        if f(lo) < mid_val and f(hi) < mid_val:
            break
        if f(lo) >= f(hi):
            lo, hi = lo - (hi - lo), hi
        else:
            lo, hi = lo, hi + (hi - lo)
    a, b = lo, hi
    c, d = b - INV_PHI * (b - a), a + INV_PHI * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - INV_PHI * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + INV_PHI * (b - a)
            fd = f(d)
    return (a + b) / 2
