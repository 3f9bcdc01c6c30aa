"""Comparisons between a trained predictor and a predicted one."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["relative_error", "cosine", "direction_distance", "unit", "loglog_slope"]


def _vec(name, a):
    arr = np.asarray(a, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


def _pair(a, b):
    a, b = _vec("a", a), _vec("b", b)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare vectors of shapes {a.shape} and {b.shape}")
    return a, b


def relative_error(w, w_ref) -> float:
    """``||w - w_ref||_2 / ||w_ref||_2`` (absolute error if ``w_ref = 0``).

    Example:
        >>> relative_error([1.0, 1.0], [1.0, 0.0])
        1.0
    """
    a, b = _pair(w, w_ref)
    nb = np.linalg.norm(b)
    d = np.linalg.norm(a - b)
    return float(d / nb) if nb > 0 else float(d)


def cosine(w, w_ref) -> float:
    """``<w, w_ref> / (||w|| ||w_ref||)``; 0 if either is zero."""
    a, b = _pair(w, w_ref)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def unit(w, ord=2) -> np.ndarray:
    """``w / ||w||`` in the given norm (``ord`` as in ``numpy.linalg.norm``)."""
    a = _vec("w", w)
    n = np.linalg.norm(a, ord=ord)
    if n == 0:
        raise ValueError("cannot normalize the zero vector")
    return a / n


def direction_distance(w, w_ref) -> float:
    """Euclidean distance between the unit directions: ``|| w/||w|| - w_ref/||w_ref|| ||_2``.

    This is the quantity whose decay like ``1/log t`` vardi2022 §3.4 states for GD on
    separable data.
    """
    a, b = _pair(w, w_ref)
    return float(np.linalg.norm(unit(a) - unit(b)))


def loglog_slope(n, err) -> tuple[float, float]:
    """Least-squares slope of ``log err`` against ``log n`` (a power-law rate ``err ~ n^slope``) and its standard error.

    Example:
        >>> import numpy as np
        >>> round(loglog_slope(np.array([1.0, 10.0, 100.0]), np.array([3.0, 0.3, 0.03]))[0], 12)
        -1.0
    """
    lx, ly = np.log(np.asarray(n, dtype=np.float64)), np.log(np.asarray(err, dtype=np.float64))
    A = np.stack([lx, np.ones_like(lx)], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, ly, rcond=None)
    dof = max(lx.size - 2, 1)
    resid = ly - A @ coef
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(math.sqrt(cov[0, 0]))
