r"""Linear convolutional networks: frequency-domain max-margin predictors (Gunasekar et al. 2018b).

A full-width linear convolutional network of depth ``L`` (:class:`~implicit_bias.models.LinearConv`)
computes ``x -> <beta, x>`` with ``F beta = (F w_1) ⊙ ... ⊙ (F w_L)``, ``F`` the unitary DFT
``(F v)[m] = d^{-1/2} sum_n v[n] exp(-2 pi i m n / d)``. Gunasekar, Lee, Soudry & Srebro (2018b,
"Implicit bias of gradient descent on linear convolutional networks", Thm 2; vardi2022 §3.2;
montufar2024, slide on linear conv nets): on linearly separable data, gradient descent on an
exponential-tailed loss converges in direction to (a positive multiple of) a first-order
stationary point of

    min_beta ||F beta||_{2/L}   s.t.   y_n <beta, x_n> >= 1  for all n,

with ``||z||_{2/L} = (sum_m |z_m|^{2/L})^{L/2}`` over the complex DFT coefficients: sparsity in
the frequency domain. For ``L = 2`` the problem is convex (:func:`dft_l1_max_margin`, an SOCP);
for ``L > 2`` it is not, and :func:`dft_lp_stationary_points` returns stationary points from
several starts (never certified optima).

This module never trains (it does not import ``algorithms`` or ``train``). Conventions: ``X``
``(N, d)``, labels ``y (N,)`` in ``{-1, +1}``, predictors ``(d,)`` float64.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._solvers import check_classification_data, require_separable, solve_cvxpy

__all__ = ["DftMaxMargin", "dft_matrix", "dft_l1_max_margin", "dft_lp_stationary_points", "active_frequencies"]

_SOLVERS = (("CLARABEL", {}), ("SCS", {"eps": 1e-9, "max_iters": 200_000}))


def dft_matrix(d: int) -> tuple[np.ndarray, np.ndarray]:
    """The unitary DFT as its real and imaginary parts ``(C, S)``, each ``(d, d)``:
    ``F v = C v + i S v`` with ``C[m, n] = cos(2 pi m n / d) / sqrt(d)``,
    ``S[m, n] = -sin(2 pi m n / d) / sqrt(d)`` (``numpy.fft.fft(v, norm="ortho")`` for real ``v``).

    Example:
        >>> import numpy as np
        >>> C, S = dft_matrix(4); v = np.arange(4.0)
        >>> bool(np.allclose(C @ v + 1j * (S @ v), np.fft.fft(v, norm="ortho")))
        True
    """
    a = 2.0 * np.pi * np.outer(np.arange(d), np.arange(d)) / d
    return np.cos(a) / np.sqrt(d), -np.sin(a) / np.sqrt(d)


def active_frequencies(beta, rtol: float = 1e-3) -> int:
    """Number of frequencies ``m`` (out of ``d``; a conjugate pair ``m, d - m`` counts twice) with
    ``|(F beta)[m]| > rtol * max_m |(F beta)[m]|``."""
    z = np.abs(np.fft.fft(np.asarray(beta, dtype=np.float64), norm="ortho"))
    return int(np.sum(z > rtol * z.max())) if z.max() > 0 else 0


@dataclass(frozen=True)
class DftMaxMargin:
    """A frequency-domain max-margin predictor.

    Attributes:
        beta: ``(d,)``, scaled so that ``min_n y_n <beta, x_n> = 1``.
        direction: ``beta / ||beta||_2``.
        margin: ``1 / ||F beta||_p``: the max normalized margin w.r.t. the DFT norm (``p = 1``
            for :func:`dft_l1_max_margin`; for ``p = 2/L`` the quasi-norm
            ``(sum |z_m|^{2/L})^{L/2}`` of this point).
        objective: ``||F beta||_p`` at ``beta`` (``sum_m |z_m|^{2/L}`` raised to ``L/2``).
        dft: ``(d,)`` complex, ``F beta``.
        residual: for stationary points, the relative fixed-point residual of the reweighting
            (0 for the convex ``L = 2`` solve).
        start: the start that led to it (``"l1"``, ``"random0"``, ...; ``""`` for ``L = 2``).
    """

    beta: np.ndarray
    direction: np.ndarray
    margin: float
    objective: float
    dft: np.ndarray
    residual: float = 0.0
    start: str = ""


def _weighted_l1(Z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``argmin sum_m weights_m |(F beta)[m]| s.t. Z beta >= 1`` (SOCP, cvxpy): the modulus of
    each complex coefficient is the 2-norm of its (real, imaginary) pair."""
    import cvxpy as cp

    d = Z.shape[1]
    C, S = dft_matrix(d)
    b = cp.Variable(d)
    pairs = cp.vstack([C @ b, S @ b])  # (2, d): column m is (Re, Im) of (F beta)[m]
    prob = cp.Problem(cp.Minimize(weights @ cp.norm(pairs, 2, axis=0)), [Z @ b >= 1])
    with warnings.catch_warnings():  # "optimal_inaccurate" is accepted below and needs no warning
        warnings.simplefilter("ignore", UserWarning)
        status = solve_cvxpy(prob, _SOLVERS)
    if b.value is None or status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"the DFT-l1 max-margin SOCP did not solve (status {status})")
    return np.asarray(b.value, dtype=np.float64)


def _finish(Z, beta, p, residual=0.0, start="") -> DftMaxMargin:
    beta = beta / float(np.min(Z @ beta))  # smallest margin exactly 1
    z = np.fft.fft(beta, norm="ortho")
    obj = float(np.sum(np.abs(z) ** p) ** (1.0 / p))
    return DftMaxMargin(beta, beta / np.linalg.norm(beta), 1.0 / obj, obj, z, float(residual), start)


def dft_l1_max_margin(X, y) -> DftMaxMargin:
    r"""The DFT-l1 max-margin predictor: the limit direction of depth-2 linear conv nets.

    .. math:: \hat\beta = \arg\min_\beta \|F\beta\|_1 = \sum_m |(F\beta)_m|
              \quad\text{s.t.}\quad y_n \langle \beta, x_n\rangle \ge 1,

    ``x_n`` the rows of ``X``, ``y_n`` the labels, ``F`` the unitary DFT (:func:`dft_matrix`).
    Gunasekar et al. 2018b, Thm 2 with ``L = 2``: gradient descent on an exponential-tailed loss
    over the conv net of :class:`~implicit_bias.models.LinearConv` (depth 2) converges in
    direction to ``beta_hat`` (vardi2022 §3.2). Route: an SOCP in cvxpy over real ``beta``, each
    ``|(F beta)_m|`` the 2-norm of ``(C beta, S beta)_m`` (Clarabel, SCS as fall-back), after
    scaling the data to ``max |y_n x_nj| = 1``; the solution is rescaled to smallest margin 1.

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.

    Returns:
        :class:`DftMaxMargin`: ``beta (d,)``, ``direction``, ``margin = 1 / ||F beta||_1``, ...

    Raises:
        ValueError: malformed inputs, labels outside ``{-1, +1}``, data not linearly separable.
        RuntimeError: every solver failed.

    Example (``d = 2``: ``F`` is real and ``||F beta||_1 = sqrt(2) ||beta||_inf``):
        >>> import numpy as np
        >>> sol = dft_l1_max_margin(np.array([[2.0, 1.0]]), np.array([1.0]))
        >>> np.round(sol.beta, 6).tolist(), round(sol.objective, 6)   # beta = (1/3, 1/3)
        ([0.333333, 0.333333], 0.471405)
    """
    X, y = check_classification_data(X, y)
    Z = y[:, None] * X
    require_separable(Z)
    s = float(np.max(np.abs(Z)))
    beta = _weighted_l1(Z / s, np.ones(Z.shape[1])) / s
    return _finish(Z, beta, 1.0)


def dft_lp_stationary_points(X, y, depth: int, *, n_random: int = 4, seed: int = 0, eps: float = 1e-8, maxiter: int = 60, tol: float = 1e-7) -> tuple[DftMaxMargin, ...]:
    r"""Stationary points of ``min ||F beta||_{2/L} s.t. y_n <beta, x_n> >= 1`` for ``L > 2``.

    Gunasekar et al. 2018b, Thm 2: a depth-``L`` linear conv net converges in direction to a
    first-order stationary point of this non-convex (quasi-norm, ``p = 2/L < 1``) problem. Route
    (majorize-minimize, iteratively reweighted l1): ``t -> t^p`` is concave, so
    ``sum_m |z_m|^p <= const + sum_m p (|z_m^k| + eps)^{p-1} |z_m|``, and each step solves the
    weighted DFT-l1 SOCP with weights ``(|z_m^k| + eps)^{p-1}``; the objective does not increase,
    and a fixed point (``beta^{k+1} = beta^k``) is a stationary point of the ``eps``-smoothed
    problem. Stops when the relative change ``||beta^{k+1} - beta^k|| / ||beta^k|| <= tol``
    (reported as ``residual``; points with ``residual > 1e3 tol`` after ``maxiter`` steps are
    dropped). **These are stationary points, not certified optima**; which one training reaches
    depends on the initialization.

    Starts: ``"l1"`` (uniform weights: the L = 2 solution) and ``n_random`` random weightings
    (``log w_m`` standard normal, kept Hermitian-symmetric, drawn with ``seed``). Duplicates
    (directions within 1e-6) are merged.

    Args:
        X: data ``(N, d)``.
        y: labels ``(N,)`` in ``{-1, +1}``.
        depth: ``L >= 2`` (``L = 2`` gives the convex solution after one step).
        n_random: the number of random starts (besides the uniform one).
        seed: seeds the random starts.
        eps: the smoothing of the weights ``(|z_m| + eps)^{p-1}``.
        maxiter: reweighting steps per start.
        tol: the relative-change stopping rule.

    Returns:
        Tuple of :class:`DftMaxMargin` (``objective = ||F beta||_{2/L}``), smallest objective first.

    Raises:
        ValueError: malformed inputs, ``depth < 2``, non-separable data.

    Example:
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.2, -0.3, 0.5]]); y = np.array([1.0])
        >>> pts = dft_lp_stationary_points(X, y, 3, n_random=0)
        >>> pts[0].residual < 1e-6, int((np.abs(pts[0].dft) > 1e-6).sum())   # one frequency
        (True, 1)
    """
    X, y = check_classification_data(X, y)
    if not (isinstance(depth, (int, np.integer)) and depth >= 2):
        raise ValueError(f"depth must be an integer >= 2 (the l_(2/L) problem of a depth-L conv net); received {depth!r}")
    Z = y[:, None] * X
    require_separable(Z)
    s = float(np.max(np.abs(Z)))
    Zs = Z / s
    d = Z.shape[1]
    p = 2.0 / depth
    rng = np.random.default_rng(seed)
    starts = {"l1": np.ones(d)}
    for r in range(n_random):
        g = rng.standard_normal(d)
        g = 0.5 * (g + g[(-np.arange(d)) % d])  # the same weight on m and d - m
        starts[f"random{r}"] = np.exp(g)
    found: list[DftMaxMargin] = []
    for name, w in starts.items():
        beta = _weighted_l1(Zs, w)
        res = np.inf
        for _ in range(maxiter):
            z = np.abs(np.fft.fft(beta, norm="ortho"))
            scale = z.max()
            new = _weighted_l1(Zs, (z / scale + eps) ** (p - 1.0))
            res = float(np.linalg.norm(new - beta) / np.linalg.norm(beta))
            beta = new
            if res <= tol:
                break
        if res > 1e3 * tol:
            continue
        pt = _finish(Z, beta / s, p, res, name)
        if not any(np.linalg.norm(pt.direction - q.direction) <= 1e-6 for q in found):
            found.append(pt)
    return tuple(sorted(found, key=lambda q: q.objective))
