"""Implicit-bias predictions for linear classification: max-margin and polynomial-tail directions.

On linearly separable data, gradient descent on the logistic or exponential loss of a linear
model diverges in norm but converges in *direction* to the l2 max-margin separator (Soudry
et al. 2018; montufar2024, Thm 3; vardi2022, §3.1); steepest descent with respect to a norm
``||.||`` converges to the max-margin separator for that norm (Gunasekar et al. 2018a;
montufar2024, Thm 4). For losses with a polynomial tail the limit direction is different
(vardi2022, §3.4; Ji et al. 2020).

This module computes those directions directly (convex programs via cvxpy, a damped Newton
method), never by training: it does not import :mod:`implicit_bias.algorithms` or
:mod:`implicit_bias.train`. The Q^D_mu max-margin path of diagonal networks (moroshko2020) is in
:mod:`implicit_bias.theory.diagonal_margins`; input checks and the solver plumbing (quiet
standard output, solver fall-back, separability test) in :mod:`implicit_bias.theory._solvers`.

Conventions: ``X`` has shape ``(N, d)`` (one row per sample), labels ``y`` have shape ``(N,)``
with entries in ``{-1, +1}``, predictors ``w`` have shape ``(d,)``; results are float64
NumPy arrays. The margin of sample ``n`` is ``y_n x_n^T w``.

Solver output never reaches standard output (see :func:`~._solvers.quiet_stdout`; the
redirection is process-wide, so do not print from other threads during a solve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _config  # noqa: F401  (float64)
from .._norms import parse_norm as _parse_norm
from ..potentials import PNorm
from ._solvers import (
    ACTIVE_TOL,
    NOT_SEPARABLE,
    check_classification_data,
    check_vector,
    require_separable,
    solve_cvxpy,
)
from .interpolants import bregman_interpolant

__all__ = [
    "MaxMargin",
    "max_margin",
    "polynomial_tail_direction",
    "normalized_margin",
]


def _pnorm(w: np.ndarray, p: float) -> float:
    return float(np.linalg.norm(w, ord=p))


# ----------------------------------------------------------------------------------------
# Normalized margin
# ----------------------------------------------------------------------------------------


def normalized_margin(X, y, w, norm="l2") -> float:
    r"""Normalized margin of the linear predictor ``w``: the smallest margin over ``||w||``.

    .. math:: \gamma(w) = \min_n \frac{y_n x_n^T w}{\|w\|},

    with ``x_n`` the rows of ``X``, ``y_n`` the labels ``y`` and ``||.||`` the norm ``norm``.
    Scale-invariant in ``w``; positive iff ``w`` separates the data. The max-margin predictor of
    :func:`max_margin` maximises it (montufar2024, Thms 3-4; vardi2022, §3.1).

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.
        w: predictor, shape ``(d,)``, nonzero.
        norm: ``"l2"``, ``"l1"``, ``"linf"``, a number ``p >= 1`` (``math.inf`` allowed) or
            ``"lp:P"``.

    Returns:
        ``float``: the normalized margin (negative if some sample is misclassified).

    Raises:
        ValueError: malformed inputs, labels outside ``{-1, +1}``, ``w == 0`` or an unknown norm.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.margins import normalized_margin
        >>> X = np.array([[2.0, 1.0], [-2.0, -1.0]]); y = np.array([1.0, -1.0])
        >>> normalized_margin(X, y, np.array([1.0, 0.0]), norm="l1")
        2.0
    """
    X, y = check_classification_data(X, y)
    w = check_vector(w, "w", X.shape[1])
    _, p, _ = _parse_norm(norm)
    nw = _pnorm(w, p)
    if nw == 0.0:
        raise ValueError("w must be nonzero to have a normalized margin; received the zero vector")
    return float(np.min(y * (X @ w)) / nw)


# ----------------------------------------------------------------------------------------
# Max margin
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MaxMargin:
    """Solution of the max-margin problem ``min ||w|| s.t. y_n x_n^T w >= 1`` (see :func:`max_margin`).

    Attributes:
        w: the minimiser, shape ``(d,)``; its smallest margin is 1 (to rounding).
        margin: ``1 / ||w||``, the largest normalized margin achievable in this norm.
        direction: ``w / ||w||_2``, a Euclidean unit vector (for comparing directions across
            norms and with training runs, whatever ``norm`` is).
        norm: canonical norm name: ``"l1"``, ``"l2"``, ``"linf"`` or ``"lp:P"``.
        support: boolean mask, shape ``(N,)``: constraints active within ``1e-6``
            (``y_n x_n^T w <= 1 + 1e-6``), the support vectors.

    The arrays are read-only.
    """

    w: np.ndarray
    margin: float
    direction: np.ndarray
    norm: str
    support: np.ndarray


def _polish_active_set(Z, w, p):
    """Refine an interior-point solution by solving the KKT system on its active set.

    On a guessed active set ``S = {n : z_n^T w <= 1 + thr}`` the problem becomes
    ``min ||w||_p^p / p`` s.t. ``Z_S w = 1`` (closed form for ``p = 2``; the Bregman
    interpolant of ``PNorm(p)`` from 0 otherwise). A candidate is kept only if it is feasible
    for all constraints and its multipliers are non-negative (non-negative least squares),
    i.e. it satisfies the KKT conditions of the full problem to rounding. Thresholds
    ``thr = 1e-6 ... 1e-2`` are tried in turn, since an active constraint with a tiny
    multiplier can sit at margin ``1 + 1e-5`` in the solver's answer. If no candidate
    passes, ``w`` is returned unchanged.
    """
    from scipy.optimize import nnls

    m = Z @ w
    tried = set()
    for thr in (ACTIVE_TOL, 1e-5, 1e-4, 1e-3, 1e-2):
        S = m <= 1.0 + thr
        key = S.tobytes()
        if key in tried:
            continue
        tried.add(key)
        ZS = Z[S]
        try:
            if p == 2.0:
                cand = np.linalg.lstsq(ZS, np.ones(ZS.shape[0]), rcond=None)[0]
                grad = cand
            else:
                cand = bregman_interpolant(ZS, np.ones(ZS.shape[0]), PNorm(p), np.zeros(Z.shape[1]))
                grad = np.sign(cand) * np.abs(cand) ** (p - 1.0)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if not np.all(np.isfinite(cand)) or np.min(Z @ cand) < 1.0 - 1e-10:
            continue
        if np.max(np.abs(ZS @ cand - 1.0)) > 1e-10:
            continue
        _, rnorm = nnls(ZS.T, grad)
        if rnorm > 1e-10 * max(float(np.linalg.norm(grad)), np.finfo(float).tiny):
            continue
        if _pnorm(cand, p) > _pnorm(w, p) * (1.0 + 1e-6):  # pragma: no cover - KKT => optimal
            continue
        return cand
    return w


def max_margin(X, y, norm="l2") -> MaxMargin:
    r"""Max-margin linear separator in a given norm: the implicit bias of (steepest) descent.

    Solves

    .. math:: \hat w = \arg\min_w \|w\| \quad\text{s.t.}\quad y_n x_n^T w \ge 1,\ n = 1..N,

    with ``x_n`` the rows of ``X``, ``y_n`` the labels ``y`` and ``||.||`` the norm ``norm``;
    ``\hat w / \|\hat w\|`` solves :math:`\max_{\|u\|\le 1}\min_n y_n x_n^T u` and
    ``1 / ||\hat w||`` is that max normalized margin.

    * ``norm="l2"``: gradient descent on the logistic/exponential loss converges in direction
      to this separator from any start (Soudry et al. 2018; montufar2024, Thm 3; vardi2022,
      §3.1). Route: QP ``min ||w||^2 / 2`` with Clarabel, then an active-set KKT polish.
    * any other norm: steepest descent w.r.t. that norm on the exponential loss converges in
      direction to it (Gunasekar et al. 2018a; montufar2024, Thm 4). ``"l1"`` and ``"linf"``:
      LP with HiGHS (Clarabel as fall-back); a number ``p >= 1`` or ``"lp:P"``:
      ``cp.pnorm(w, p)`` with power cones in Clarabel, then an active-set KKT polish (this
      route also serves ``p = 2``; ``p = 1`` and ``p = inf`` give the LPs above).

    The data are first scaled to ``max |y_n x_nj| = 1`` (interior-point solvers are
    scale-sensitive), and every solution is finally rescaled so that its smallest margin is
    exactly 1 (to rounding), so the constraints hold to ~1e-15 relative.

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.
        norm: ``"l2"`` (default), ``"l1"``, ``"linf"``, a number ``p >= 1`` or ``"lp:P"``.

    Returns:
        :class:`MaxMargin` with ``w`` ``(d,)``, ``margin`` (float), ``direction`` ``(d,)``
        (Euclidean unit vector), ``norm`` (canonical name) and ``support`` ``(N,)`` bool.

    Raises:
        ValueError: malformed inputs, labels outside ``{-1, +1}``, unknown norm, or data that
            are not linearly separable ("not linearly separable").
        RuntimeError: every solver failed (numerical trouble, e.g. margins near 0).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.margins import max_margin
        >>> X = np.array([[2.0, 1.0], [-2.0, -1.0]]); y = np.array([1.0, -1.0])
        >>> sol = max_margin(X, y, norm="l1")  # sparse: w = e_1 / ||x||_inf
        >>> np.round(sol.w, 9), round(sol.margin, 9)
        (array([0.5, 0. ]), 2.0)

    Assumptions: strictly separable data (a positive margin exists); the direction is the
    limit as training time goes to infinity, approached only logarithmically fast by GD. For
    ``l1``/``linf`` the minimiser need not be unique; the solver's vertex is returned. For a
    non-rational ``p`` cvxpy's power cone is used exactly (no rational approximation).
    """
    import cvxpy as cp

    X, y = check_classification_data(X, y)
    name, p, named = _parse_norm(norm)
    d = X.shape[1]
    Z = y[:, None] * X
    # Solve at unit data scale: Z w >= 1 <=> (Z / s)(s w) >= 1, so w = w_scaled / s. Interior-
    # point solvers are scale-sensitive (data of size 1e-4 made Clarabel report infeasible).
    s = float(np.max(np.abs(Z)))
    if s == 0.0:
        raise ValueError(NOT_SEPARABLE)
    Zs = Z / s

    wv = cp.Variable(d)
    constraints = [Zs @ wv >= 1]
    clarabel = (cp.CLARABEL, {})
    highs = (cp.HIGHS, {})
    if named and name == "l2":
        objective, solvers = 0.5 * cp.sum_squares(wv), [clarabel]
    elif named and name == "l1":
        objective, solvers = cp.norm1(wv), [highs, clarabel]
    elif named and name == "linf":
        objective, solvers = cp.norm_inf(wv), [highs, clarabel]
    else:
        if p == math.inf:
            objective = cp.norm_inf(wv)
        elif p == 1.0:
            objective = cp.norm1(wv)
        else:
            objective = cp.pnorm(wv, p, approx=False)
        solvers = [highs, clarabel] if p in (1.0, math.inf) else [clarabel]
    problem = cp.Problem(cp.Minimize(objective), constraints)
    status = solve_cvxpy(problem, solvers)

    if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        require_separable(Zs)  # raises "not linearly separable" if confirmed
        raise RuntimeError(
            f"the solver reported the max-margin problem {status} although the data are "
            "separable by an LP check; the margin is probably too small for float64"
        )
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or wv.value is None:
        raise RuntimeError(f"max-margin solve failed with solver status {status!r}")

    w = np.asarray(wv.value, dtype=np.float64)
    mmin = float(np.min(Zs @ w))
    if not mmin > 0:  # pragma: no cover - optimal solutions have margins >= 1 - tol
        require_separable(Zs)
        raise RuntimeError("max-margin solve returned a non-separating w")
    w = w / mmin  # smallest margin exactly 1
    if 1.0 < p < math.inf:
        w = _polish_active_set(Zs, w, p)
    w = w / s
    w = w / float(np.min(Z @ w))  # back to the original scale, smallest margin 1

    nw = _pnorm(w, p)
    margins = Z @ w
    out_w = w + 0.0  # a copy, with -0.0 turned into 0.0
    direction = w / float(np.linalg.norm(w))
    support = margins <= 1.0 + ACTIVE_TOL
    for a in (out_w, direction, support):
        a.setflags(write=False)
    return MaxMargin(w=out_w, margin=1.0 / nw, direction=direction, norm=name, support=support)


# ----------------------------------------------------------------------------------------
# Polynomial tails
# ----------------------------------------------------------------------------------------


def polynomial_tail_direction(X, y, k, *, max_iter: int = 100) -> np.ndarray:
    r"""Limit direction of gradient descent for a loss with polynomial tail ``ell(u) ~ u^{-k}``.

    Returns the unit vector

    .. math:: \hat u = \arg\min_{\|u\|_2 \le 1} \sum_n \left(y_n x_n^T u\right)^{-k}

    (over ``u`` with all margins positive), with ``x_n`` the rows of ``X``, ``y_n`` the labels
    ``y`` and ``k`` the tail exponent ``k``. Gradient descent follows the regularization path
    ``argmin_{||w|| <= B} L(w)`` (Ji et al. 2020, "Gradient descent follows the regularization
    path for general losses"), and for ``L(B u) ~ B^{-k} sum_n (y_n x_n^T u)^{-k}`` its
    direction tends to ``\hat u`` as ``B -> infinity`` (vardi2022, §3.4). Unlike exponential
    tails, every sample keeps a say, so ``\hat u`` generally differs from the l2 max-margin
    direction; it tends to it as ``k -> infinity``.

    Route: the objective is convex on ``{all margins > 0}`` and decreasing along rays, so the
    minimiser lies on the sphere and is the direction of the unique minimiser of the strictly
    convex, smooth function :math:`F(w) = \sum_n (y_n x_n^T w)^{-k} + \tfrac{c}{2}\|w\|_2^2`
    (for any ``c > 0``: on each ray ``F`` is minimised at a scale increasing in the ray's
    objective value). ``F`` is minimised by damped Newton from the l2 max-margin solution,
    staying inside the open domain, with ``c`` chosen so that the start is optimal along its
    ray. No cvxpy (its power cones would only give ~1e-8 accuracy).

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.
        k: tail exponent, a finite number ``> 0``.
        max_iter: Newton iteration cap.

    Returns:
        ``np.ndarray`` of shape ``(d,)`` with ``||u||_2 = 1``.

    Raises:
        ValueError: malformed inputs, labels outside ``{-1, +1}``, ``k <= 0``, or data that
            are not linearly separable ("not linearly separable").
        RuntimeError: Newton's method did not converge.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.margins import polynomial_tail_direction
        >>> X = np.array([[1.0, 0.0], [0.0, 2.0]]); y = np.array([1.0, 1.0])
        >>> u = polynomial_tail_direction(X, y, k=1)  # hand solution: u2/u1 = 2^(-k/(k+2))
        >>> bool(np.isclose(u[1] / u[0], 2 ** (-1 / 3)))
        True

    Assumptions: separable data and a loss whose tail is exactly ``u^{-k}`` up to constants
    (then the constant drops out); the result is the asymptotic direction, not the direction
    at any finite time.
    """
    X, y = check_classification_data(X, y)
    if isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating)) or not (
        math.isfinite(float(k)) and float(k) > 0
    ):
        raise ValueError(f"k must be a finite number > 0 (the tail exponent); received {k!r}")
    k = float(k)
    Z = y[:, None] * X
    w = np.array(max_margin(X, y, "l2").w)  # feasible start, margins >= 1

    def parts(v):
        m = Z @ v
        if not np.all(m > 0):
            return None
        with np.errstate(over="ignore", under="ignore"):
            mk = m ** (-k)
        return m, mk

    m, mk = parts(w)
    c = k * float(np.sum(mk)) / float(w @ w)  # start optimal along its ray

    def fval(v, mk_v):
        return float(np.sum(mk_v)) + 0.5 * c * float(v @ v)

    def grad(v, m_v, mk_v):
        return -k * (Z.T @ (mk_v / m_v)) + c * v

    f = fval(w, mk)
    g = grad(w, m, mk)
    gscale = max(float(np.linalg.norm(c * w)), np.finfo(float).tiny)
    converged = False
    for _ in range(max_iter):
        gn = float(np.linalg.norm(g))
        if gn <= 1e-14 * gscale:
            converged = True
            break
        H = (Z.T * (k * (k + 1.0) * mk / m**2)) @ Z + c * np.eye(Z.shape[1])
        step = -np.linalg.solve(H, g)
        slope = float(g @ step)
        if not slope < 0:
            step, slope = -g, -gn**2
        t, accepted = 1.0, False
        for _ in range(60):
            trial = w + t * step
            pr = parts(trial)
            if pr is not None:
                f_new = fval(trial, pr[1])
                g_new = grad(trial, *pr)
                if np.isfinite(f_new) and (
                    f_new <= f + 1e-4 * t * slope
                    or float(np.linalg.norm(g_new)) <= (1.0 - 1e-4 * t) * gn
                ):
                    accepted = True
                    break
            t *= 0.5
        if not accepted:
            converged = gn <= 1e-9 * gscale  # stalled at rounding level
            break
        w, (m, mk), f, g = trial, pr, f_new, g_new
        if t * float(np.linalg.norm(step)) <= 1e-15 * float(np.linalg.norm(w)):
            converged = True
            break
    if not converged:
        gn = float(np.linalg.norm(g))
        if gn > 1e-9 * gscale:
            raise RuntimeError(
                f"Newton's method for the polynomial-tail direction did not converge "
                f"(relative gradient {gn / gscale:.2e} after {max_iter} iterations)"
            )
    return w / float(np.linalg.norm(w))
