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

Random-feature models (belkin2019 = M. Belkin, D. Hsu, S. Ma, S. Mandal, *Reconciling modern
machine-learning practice and the classical bias-variance trade-off*, PNAS 116(32), 2019, §3 and
Fig. 2; vardi2022 §6, Fig. 2(B)). ``N`` random features ``phi_k(x) = phi(x; v_k)`` with ``v_k``
drawn once, and the predictor ``f_N(x) = sum_{k<=N} a_k phi_k(x)`` fitted by min-norm least
squares (:func:`min_norm_random_features`)::

    a_N = Phi_N^+ y,     Phi_N = [phi_k(x_i)]_{i <= n, k <= N}   (n, N)

the least-squares fit for ``N < n`` (``rank Phi_N = N``) and the min-l2-norm interpolant for
``N >= n`` (``rank Phi_N = n``): the point GD from ``a = 0`` converges to on the square loss
(vardi2022 §4.1, montufar2024 Thm 1). The features are nested: the fit with ``N`` features uses
the first ``N`` of one draw of ``N_max``, as belkin2019 grow their models. Training risk falls
to 0 at the interpolation threshold ``N = n``; the test risk peaks there (``Phi_N`` square,
its smallest singular value near 0, ``||a_N||`` large) and falls again for ``N > n``, as the
min-norm interpolant's norm decreases (belkin2019 Fig. 2, the "double descent" risk curve). No
closed form for the curve is claimed here; the *prediction* is the min-norm solution itself,
which a check compares with GD's endpoint, and the shape of the curve (peak near ``N = n``,
zero training risk past it) that a check measures.

This module never imports :mod:`implicit_bias.algorithms` or :mod:`implicit_bias.train`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = [
    "RidgelessRisk",
    "ridgeless_risk",
    "ridgeless_risk_finite",
    "ridgeless_risk_curve",
    "RandomFeatures",
    "random_features",
    "RandomFeatureFit",
    "RandomFeatureRiskCurve",
    "RandomFeaturePath",
    "min_norm_random_features",
]


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


# ------------------------------------------------------------------ belkin2019: random features

FEATURE_KINDS = ("relu", "fourier")


@dataclass(frozen=True)
class RandomFeatures:
    r"""One draw of ``N_max`` random features ``phi_k(x) = phi(x; v_k)`` (belkin2019 §3).

    * ``relu``: ``phi_k(x) = max(v_k^T x, 0)``, ``v_k`` uniform on the unit sphere ``S^{d-1}``
      (positively homogeneous; ``bandwidth`` is not used).
    * ``fourier``: ``phi_k(x) = sqrt(2) cos(v_k^T x + b_k)``, ``v_k ~ N(0, I_d / sigma^2)``
      (``sigma = bandwidth``), ``b_k ~ U[0, 2 pi)``: the real random Fourier features of
      Rahimi & Recht, ``E_v phi(x) phi(x') = exp(-||x - x'||^2 / (2 sigma^2))``. belkin2019 use
      the complex features ``exp(i v_k^T x)``; the real form keeps one real parameter per
      feature, so the interpolation threshold is ``N = n`` real features.

    Build with :func:`random_features`. Calling it, ``features(X, N)``, gives ``Phi (M, N)``:
    the first ``N`` features at the rows of ``X (M, d)`` (all ``N_max`` if ``N`` is None).

    Attributes:
        kind: ``"relu"`` or ``"fourier"``.
        weights: ``v (N_max, d)``.
        offsets: ``b (N_max,)`` (zeros for ``relu``).
    """

    kind: str
    weights: np.ndarray
    offsets: np.ndarray

    @property
    def n_max(self) -> int:
        """Number of drawn features ``N_max``."""
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        """Input dimension ``d``."""
        return int(self.weights.shape[1])

    def __call__(self, X, n_features: int | None = None) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"X must have shape (M, {self.dim}) for these features; received shape {X.shape}")
        k = self.n_max if n_features is None else _check_n_features(n_features, self.n_max)
        Z = X @ self.weights[:k].T + self.offsets[:k]
        return np.maximum(Z, 0.0) if self.kind == "relu" else math.sqrt(2.0) * np.cos(Z)


def random_features(dim: int, n_features: int, kind: str = "relu", bandwidth: float = 1.0, seed: int = 0) -> RandomFeatures:
    """Draw ``n_features`` random ReLU or Fourier features on ``R^dim`` (:class:`RandomFeatures`).

    Args:
        dim: input dimension ``d >= 1``.
        n_features: ``N_max >= 1``, the largest model; smaller models use the first ``N``.
        kind: ``"relu"`` or ``"fourier"``.
        bandwidth: ``sigma > 0`` of the Fourier features' Gaussian kernel.
        seed: seeds ``numpy.random.default_rng``; same seed, same features.

    Raises:
        ValueError: a bad ``kind``, size or bandwidth (naming it).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.double_descent import random_features
        >>> f = random_features(3, 50, "fourier", bandwidth=2.0, seed=0)
        >>> f(np.zeros((4, 3)), 10).shape
        (4, 10)
    """
    if kind not in FEATURE_KINDS:
        raise ValueError(f"kind must be one of {FEATURE_KINDS}; received {kind!r}")
    for name, v in (("dim", dim), ("n_features", n_features)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer; received {v!r}")
    bw = float(bandwidth)
    if not (math.isfinite(bw) and bw > 0):
        raise ValueError(f"bandwidth must be a finite number > 0; received {bandwidth!r}")
    rng = np.random.default_rng(seed)
    V = rng.standard_normal((int(n_features), int(dim)))
    if kind == "relu":
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        b = np.zeros(int(n_features))
    else:
        V /= bw
        b = rng.uniform(0.0, 2.0 * math.pi, int(n_features))
    return RandomFeatures(kind, V, b)


def _check_n_features(N, n_max) -> int:
    if not isinstance(N, (int, np.integer)) or isinstance(N, bool) or not 1 <= N <= n_max:
        raise ValueError(f"n_features must be an integer in [1, {n_max}] (the features drawn); received {N!r}")
    return int(N)


class RandomFeatureFit(NamedTuple):
    """The min-norm least-squares fit with ``N`` features (:meth:`RandomFeaturePath.__call__`).

    Attributes:
        n_features: ``N``.
        coef: ``a_N = Phi_N^+ y``, shape ``(N,)`` (or ``(N, C)`` for ``y (n, C)``).
        train_risk: ``(1/n) sum_i ||f_N(x_i) - y_i||^2`` (no factor 1/2).
        test_risk: the same mean over the test set (``nan`` without one).
        norm: ``||a_N||_2`` (Frobenius for ``C`` outputs).
        rank: numerical rank of ``Phi_N`` (``lstsq``'s, ``rcond`` = eps * max(n, N)).
    """

    n_features: int
    coef: np.ndarray
    train_risk: float
    test_risk: float
    norm: float
    rank: int


class RandomFeatureRiskCurve(NamedTuple):
    """:meth:`RandomFeaturePath.risks` over a grid: float64 arrays of shape ``(len(grid),)``."""

    n_features: np.ndarray
    train_risk: np.ndarray
    test_risk: np.ndarray
    norm: np.ndarray
    rank: np.ndarray


def _risk(Phi, coef, Y) -> float:
    r = Phi @ coef - Y
    return float(np.mean(np.sum(r.reshape(r.shape[0], -1) ** 2, axis=1)))


@dataclass(eq=False)
class RandomFeaturePath:
    """Min-norm random-feature fits as a function of the number of features ``N``.

    Built by :func:`min_norm_random_features`; ``path(N)`` is the :class:`RandomFeatureFit` with
    the first ``N`` features, ``path.risks(grid)`` the risk curve. The feature matrices
    ``Phi (n, N_max)`` and ``Phi_test (m, N_max)`` are computed once, and each fit once (cached
    by ``N``). ``threshold`` is the interpolation threshold ``N = n``.
    """

    features: RandomFeatures
    train_features: np.ndarray
    y: np.ndarray
    test_features: np.ndarray | None = None
    y_test: np.ndarray | None = None
    _fits: dict = field(default_factory=dict, repr=False)

    @property
    def threshold(self) -> int:
        """The interpolation threshold ``N = n`` (the number of training samples)."""
        return int(self.train_features.shape[0])

    def __call__(self, n_features: int) -> RandomFeatureFit:
        N = _check_n_features(n_features, self.features.n_max)
        if N not in self._fits:
            P = self.train_features[:, :N]
            coef, _, rank, _ = np.linalg.lstsq(P, self.y, rcond=None)
            test = math.nan if self.test_features is None else _risk(self.test_features[:, :N], coef, self.y_test)
            self._fits[N] = RandomFeatureFit(N, coef, _risk(P, coef, self.y), test, float(np.linalg.norm(coef)), int(rank))
        return self._fits[N]

    def risks(self, grid) -> RandomFeatureRiskCurve:
        """The fits over ``grid`` (integers ``N``), as arrays.

        Warns (``UserWarning``, one line) when the grid does not cross the threshold, i.e.
        has no ``N < n`` or no ``N > n``: such a curve cannot show the peak at ``N = n``.
        """
        grid = [int(N) for N in np.atleast_1d(np.asarray(grid))]
        n = self.threshold
        if not (min(grid) < n < max(grid)):
            warnings.warn(f"the grid of N ({min(grid)}..{max(grid)}) never crosses the interpolation threshold N = n = {n}: add values of N below and above it", UserWarning, stacklevel=2)
        fits = [self(N) for N in grid]
        return RandomFeatureRiskCurve(*(np.asarray([getattr(f, k) for f in fits], dtype=np.float64) for k in ("n_features", "train_risk", "test_risk", "norm", "rank")))


def min_norm_random_features(X, y, features: RandomFeatures, X_test=None, y_test=None) -> RandomFeaturePath:
    r"""Predictor factory: ``N -> `` the min-norm least-squares random-feature fit (belkin2019 §3).

    .. math::
        a_N = \Phi_N^+ y = \operatorname{argmin} \{\|a\|_2 : a \in \operatorname{argmin}_a \|\Phi_N a - y\|_2\},
        \qquad f_N(x) = \sum_{k=1}^{N} a_k \phi_k(x)

    with ``Phi_N = features(X, N)`` ``(n, N)`` (``X`` argument, ``features`` argument) and ``y``
    the targets. For ``N < n`` (full column rank) ``a_N = (Phi_N^T Phi_N)^{-1} Phi_N^T y``, the
    least-squares fit; for ``N >= n`` (full row rank) ``a_N = Phi_N^T (Phi_N Phi_N^T)^{-1} y``,
    the min-norm interpolant (training risk 0), the limit of GD from ``a = 0`` on the square
    loss. Computed by ``numpy.linalg.lstsq`` (SVD; accurate close to ``N = n``, where
    ``Phi_N`` is nearly singular; a Gram-matrix route would square its condition number).
    Predictions do not depend on a common scale of the features.

    Args:
        X: training inputs ``(n, d)``.
        y: targets ``(n,)``, or ``(n, C)`` for ``C`` outputs fitted at once (e.g. one-hot labels;
            the risk then sums the squared errors over outputs).
        features: a :class:`RandomFeatures` draw (:func:`random_features`), ``N_max`` features.
        X_test: optional test inputs ``(m, d)``.
        y_test: their targets ``(m,)`` / ``(m, C)`` (with ``X_test``).

    Returns:
        A :class:`RandomFeaturePath`: ``path(N)`` (``1 <= N <= N_max``) and ``path.risks(grid)``.

    Raises:
        ValueError: shapes that do not match (naming the argument), a test input without labels.

    Assumptions: the draw is fixed and nested (model ``N`` uses the first ``N`` features, as
    belkin2019 grow their models); the claims of belkin2019 about the curve (peak at ``N = n``,
    second descent) are empirical and are measured by the check ``belkin2019-double-descent``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.double_descent import min_norm_random_features, random_features
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.standard_normal((20, 3)), rng.standard_normal(20)
        >>> path = min_norm_random_features(X, y, random_features(3, 100, "fourier", seed=1))
        >>> path.threshold, path(10).train_risk > 0, path(40).train_risk < 1e-20
        (20, True, True)
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim not in (1, 2) or Y.shape[0] != X.shape[0]:
        raise ValueError(f"X must be (n, d) and y (n,) or (n, C) with the same n; received X {X.shape}, y {Y.shape}")
    Pt = Yt = None
    if X_test is not None or y_test is not None:
        if X_test is None or y_test is None:
            raise ValueError("X_test and y_test go together: pass both or neither")
        Xt, Yt = np.asarray(X_test, dtype=np.float64), np.asarray(y_test, dtype=np.float64)
        if Xt.ndim != 2 or Yt.shape[1:] != Y.shape[1:] or Yt.shape[0] != Xt.shape[0]:
            raise ValueError(f"X_test must be (m, d) and y_test shaped like y with m rows; received X_test {Xt.shape}, y_test {Yt.shape}, y {Y.shape}")
        Pt = features(Xt)
    return RandomFeaturePath(features, features(X), Y, Pt, Yt)
