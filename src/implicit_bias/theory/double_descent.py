r"""Double descent of min-norm least squares: the ridgeless risk curve (Hastie et al. 2019).

Setting (hastie2019 = T. Hastie, A. Montanari, S. Rosset, R. Tibshirani, *Surprises in
High-Dimensional Ridgeless Least Squares Interpolation*, arXiv:1903.08560, Ann. Statist. 2022;
surveyed in vardi2022 §6 with Belkin et al. 2019). ``n`` samples ``x_i ~ N(0, I_d)`` (isotropic;
Thm 1 of the paper needs only i.i.d. entries of mean 0, variance 1 and a finite moment of order
``4 + eta``), a fixed ``beta`` with ``||beta||^2 = r^2``, ``y = X beta + eps``,
``eps ~ N(0, sigma^2 I_n)``. The estimator is the min-norm least-squares solution
``beta_hat = X^+ y`` (``(X^T X)^{-1} X^T y`` if ``d < n``; the min-l2 interpolant if ``d > n``),
which is where gradient descent from zero converges (vardi2022 §4.1, montufar2024 Thm 1).

Risk (hastie2019 eq. (2), the *excess* test risk, without the irreducible ``sigma^2``)::

    R(beta_hat; beta) = E_x0[(x0^T beta_hat - x0^T beta)^2 | X, y] = ||beta_hat - beta||^2   (x0 ~ N(0, I))

Derivation. ``beta_hat - beta = -(I - P) beta + X^+ eps`` with ``P = X^+ X`` the orthogonal
projection onto the row space of ``X`` (dimension ``min(n, d)``), so, averaging over ``eps``:

* bias ``B = ||(I - P) beta||^2``. For ``d <= n``, ``P = I`` and ``B = 0``. For ``d > n`` the row
  space of a Gaussian ``X`` is a uniformly random ``n``-dimensional subspace (rotation
  invariance), so ``E B = r^2 (1 - n/d)`` exactly, and ``-> r^2 (1 - 1/gamma)``.
* variance ``V = sigma^2 tr((X^T X)^+)``. For ``d < n - 1``, ``E tr((X^T X)^{-1}) = d/(n - d - 1)``
  (mean of the inverse Wishart ``W_d(I, n)``); for ``d > n + 1``, ``tr((X^T X)^+) = tr((X X^T)^{-1})``
  and ``E = n/(d - n - 1)`` (``X X^T ~ W_n(I, d)``).

Hence the exact finite-sample expectation for Gaussian features (:func:`ridgeless_risk_finite`)::

    d < n - 1:  E R = sigma^2 d / (n - d - 1)
    d > n + 1:  E R = r^2 (1 - n/d) + sigma^2 n / (d - n - 1)

and, with ``gamma = d/n`` fixed as ``n, d -> inf``, hastie2019 Thm 1 (isotropic features)
(:func:`ridgeless_risk`)::

    gamma < 1:  R(gamma) = sigma^2 gamma / (1 - gamma)
    gamma > 1:  R(gamma) = r^2 (1 - 1/gamma) + sigma^2 / (gamma - 1)

The curve rises to ``+inf`` at the interpolation threshold ``gamma = 1`` from both sides and falls
again for ``gamma > 1`` ("double descent"): for ``r^2 > sigma^2`` it has its overparametrised
minimum at ``gamma* = r/(r - sigma)`` (``d/d gamma = r^2/gamma^2 - sigma^2/(gamma - 1)^2 = 0``);
``gamma -> inf`` gives the null risk ``r^2`` (``beta_hat -> 0``). The finite-``n`` relative
correction is ``O(1/(n |1 - gamma|))``: close to the threshold a Monte-Carlo check needs
``n >> 1/|1 - gamma|``.

This module never imports :mod:`implicit_bias.algorithms` or :mod:`implicit_bias.train`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["RidgelessRisk", "ridgeless_risk", "ridgeless_risk_finite", "ridgeless_risk_curve"]


class RidgelessRisk(NamedTuple):
    """The ridgeless risk and its two parts, arrays of the shape of ``gamma`` (or of ``d``).

    Attributes:
        risk: ``bias + variance``.
        bias: ``r^2 (1 - 1/gamma)`` for ``gamma > 1``, else 0.
        variance: ``sigma^2 gamma/(1 - gamma)`` or ``sigma^2/(gamma - 1)``.
    """

    risk: np.ndarray
    bias: np.ndarray
    variance: np.ndarray


def _check_nonneg(name, v) -> float:
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0; received {v!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; received {v!r}")
    return v


def ridgeless_risk(gamma, signal: float = 1.0, noise_var: float = 1.0) -> RidgelessRisk:
    r"""Asymptotic test risk of min-norm least squares, isotropic features (hastie2019, Thm 1).

    .. math::
        R(\gamma) = \begin{cases} \sigma^2 \dfrac{\gamma}{1 - \gamma} & \gamma < 1 \\[4pt]
        r^2 \left(1 - \dfrac{1}{\gamma}\right) + \dfrac{\sigma^2}{\gamma - 1} & \gamma > 1 \end{cases}

    with ``gamma = d/n`` (``gamma`` argument), ``r^2 = ||beta||^2`` (``signal``) and
    ``sigma^2`` the label-noise variance (``noise_var``); the excess risk
    ``E[(x0^T (beta_hat - beta))^2]`` of ``beta_hat = X^+ y`` in the limit ``n, d -> inf``,
    ``d/n -> gamma`` (module docstring). ``R = +inf`` at ``gamma = 1`` when ``sigma > 0``
    (``0`` if also ``sigma = 0``).

    Args:
        gamma: ``d/n > 0``, a number or an array of any shape (the path parameter).
        signal: ``r^2 = ||beta||^2 >= 0`` (SNR = ``signal / noise_var``).
        noise_var: ``sigma^2 >= 0``.

    Returns:
        :class:`RidgelessRisk` of float64 arrays of the shape of ``gamma``.

    Raises:
        ValueError: ``gamma <= 0`` or non-finite, negative ``signal`` / ``noise_var``.

    Example:
        >>> from implicit_bias.theory.double_descent import ridgeless_risk
        >>> float(ridgeless_risk(0.5, 1.0, 1.0).risk), float(ridgeless_risk(2.0, 1.0, 1.0).risk)
        (1.0, 1.5)
    """
    r2 = _check_nonneg("signal", signal)
    s2 = _check_nonneg("noise_var", noise_var)
    g = np.asarray(gamma, dtype=np.float64)
    if not np.all(np.isfinite(g) & (g > 0)):
        raise ValueError(f"gamma = d/n must be finite and > 0; received {gamma!r}")
    under = g < 1
    over = g > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        bias = np.where(over, r2 * (1.0 - 1.0 / g), 0.0)
        var = np.where(under, s2 * g / np.where(under, 1.0 - g, 1.0), np.where(over, s2 / np.where(over, g - 1.0, 1.0), np.inf if s2 > 0 else 0.0))
    return RidgelessRisk(bias + var, bias, var)


def ridgeless_risk_curve(signal: float = 1.0, noise_var: float = 1.0):
    """Predictor factory: ``gamma -> R(gamma)`` of :func:`ridgeless_risk` for fixed ``signal``, ``noise_var``.

    Example:
        >>> from implicit_bias.theory.double_descent import ridgeless_risk_curve
        >>> curve = ridgeless_risk_curve(signal=4.0, noise_var=1.0)
        >>> float(curve(2.0))   # 4 (1 - 1/2) + 1/(2 - 1)
        3.0
    """
    r2 = _check_nonneg("signal", signal)
    s2 = _check_nonneg("noise_var", noise_var)
    return lambda gamma: ridgeless_risk(gamma, r2, s2).risk


def ridgeless_risk_finite(n: int, d: int, signal: float = 1.0, noise_var: float = 1.0) -> RidgelessRisk:
    r"""Exact expected risk of ``X^+ y`` for ``n`` Gaussian samples ``x ~ N(0, I_d)`` (finite ``n, d``).

    .. math::
        \mathbb{E} R = \sigma^2 \frac{d}{n - d - 1}\ (d < n - 1), \qquad
        \mathbb{E} R = r^2 \Big(1 - \frac{n}{d}\Big) + \sigma^2 \frac{n}{d - n - 1}\ (d > n + 1),

    from the inverse-Wishart mean and the rotation invariance of the row space (module
    docstring); ``inf`` for ``|d - n| <= 1`` (the expectation diverges). It tends to
    :func:`ridgeless_risk` at ``gamma = d/n`` with relative error ``O(1/(n |1 - gamma|))``.
    Exact for Gaussian features only (Thm 1 of hastie2019 is universal only in the limit).

    Args:
        n: samples (``>= 1``); d: features (``>= 1``).
        signal: ``r^2 = ||beta||^2``; noise_var: ``sigma^2``.

    Returns:
        :class:`RidgelessRisk` of float64 scalars (arrays of shape ``()``).

    Example:
        >>> from implicit_bias.theory.double_descent import ridgeless_risk_finite
        >>> float(ridgeless_risk_finite(100, 49, 1.0, 1.0).risk)   # 49 / 50
        0.98
    """
    for name, v in (("n", n), ("d", d)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer; received {v!r}")
    r2 = _check_nonneg("signal", signal)
    s2 = _check_nonneg("noise_var", noise_var)
    if d < n - 1:
        bias, var = 0.0, s2 * d / (n - d - 1)
    elif d > n + 1:
        bias, var = r2 * (1.0 - n / d), s2 * n / (d - n - 1)
    else:
        bias, var = (r2 * (1.0 - n / d) if d > n else 0.0), (math.inf if s2 > 0 else 0.0)
    return RidgelessRisk(np.float64(bias + var), np.float64(bias), np.float64(var))
