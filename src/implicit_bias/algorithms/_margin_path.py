r"""The exact gradient-flow path of a depth-2 diagonal network on the exponential loss, to any accuracy.

moroshko2020 traces ``w(γ)`` for ``γ = -log L`` up to ``α^2/μ`` with ``μ -> 0``: ``γ = 1e11`` at
``α = 1e4`` ("beyond our simulation ability" for ``α = 1e6``). Parameter-space flows are stiff
there, and the reduced flow in the dual variables is stiff *and* exponentially nonlinear (a
change of ``1e-8`` in the dual variable moves a margin by ``O(1)``), so implicit solvers' Newton
iterations fail. This module integrates the same flow in coordinates where it is well posed.

Derivation (tied ``D = 2``, ``u_±(0) = α``; labels folded into ``Z = diag(y) X (N, d)``)
---------------------------------------------------------------------------------------------
Gradient flow on ``L = (1/N) Σ_n exp(-m_n)``, ``m = Z w``, keeps ``z = Z^T λ`` with
``λ' = (1/N) e^{-m} = L p``, ``p = softmax(-m)``, and ``w = W(z) = 2 α^2 sinh(4z)``
(:meth:`~implicit_bias.models.Diagonal.flow_predictor`). Hence
``m' = K λ'`` with ``K = Z diag(W'(z)) Z^T`` (``W' = 8 α^2 cosh 4z``) and ``γ' = L p^T K p``:
on the accuracy clock ``dλ/dγ = p / (p^T K p)`` and ``dm/dγ = K p / (p^T K p)``.

Write the margins as ``m = γ + (1 + γ) ρ`` (``ρ_n``: the relative excess margin of sample ``n``,
``O(1/γ)`` for support vectors) and take ``τ = log(1 + γ)`` as the independent variable:

.. math:: \frac{dρ}{dτ} = \frac{K p}{p^\top K p} - 1 - ρ,\qquad p = \mathrm{softmax}(-(1+γ)ρ),

with ``λ`` recovered from ``Z W(Z^T λ) = m`` (the gradient of the convex
``Φ(λ) = Σ_i (α^2/2) cosh(4 (Z^T λ)_i)``: a damped Newton solve, warm-started, unique when ``Z`` has
full row rank). In these variables the nonlinearity is ``O(1)`` (``p`` changes by ``O(1)`` when
``ρ`` changes by ``1/(1+γ)``, and ``ρ`` is resolved to round-off relative to that scale), the
stiffness is that of margin equalisation, and the solution varies on ``τ``-scale ``O(1)``.
The solver is scipy's Radau IIA (order 5, variable step) with the exact Jacobian
``∂/∂ρ = (1 + γ) [K ∂p/∂r + (∂K/∂r) p] / (p^T K p) - ... - I`` (``∂λ/∂m = K^{-1}``).

Error control: Radau's local error test on ``ρ`` with ``rtol`` and ``atol = 1e-3 rtol``. The
direction of ``w`` depends on ``ρ`` through ``λ`` with ``∂λ/∂ρ = (1 + γ) K^{-1}``, ``O(1)``, so the
direction error tracks the global error in ``ρ``. :func:`exponential_flow_path` reports the
difference to a second solve at ``rtol / 100`` as an a-posteriori error estimate when asked
(``error_estimate=True``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["MarginPath", "exponential_flow_path"]


class MarginPath(NamedTuple):
    """Result of :func:`exponential_flow_path`.

    gammas: ``(T,)`` training accuracies ``γ = -log L`` asked for; predictors: ``(T, d)``
    ``w(γ)``; directions: ``(T, d)`` ``w/||w||``; dual: ``(T, N)`` the dual variables ``λ``;
    jacobian_evals, rhs_evals: solver counters; error_estimate: largest direction difference to a
    second solve at ``rtol/100`` (``nan`` if not asked).
    """

    gammas: np.ndarray
    predictors: np.ndarray
    directions: np.ndarray
    dual: np.ndarray
    jacobian_evals: int
    rhs_evals: int
    error_estimate: float


def _setup(model, X, y):
    from ..models import Diagonal

    if not isinstance(model, Diagonal) or not model.tied or model.depth != 2 or model.positive:
        raise ValueError("exponential_flow_path covers the tied depth-2 Diagonal model (moroshko2020 D = 2): use models.Diagonal(d, depth=2, scale=alpha)")
    sc = np.asarray(model.scale, dtype=np.float64).reshape(-1)
    if model.init_params is not None or np.any(np.asarray(model.shape) != 0) or np.any(sc != sc[0]):
        raise ValueError("exponential_flow_path needs the unbiased init u_+(0) = u_-(0) = alpha (moroshko2020): one scalar scale, no shape or explicit init")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.size or X.shape[1] != model.dim:
        raise ValueError(f"X must be (N, {model.dim}) and y (N,); received {X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isin(y, (-1.0, 1.0)))):
        raise ValueError("X must be finite and y in {-1, +1}")
    Z = y[:, None] * X
    if np.linalg.matrix_rank(Z) < Z.shape[0]:
        raise ValueError("the samples y_n x_n must be linearly independent (N <= d): the margins then determine the dual variables")
    return Z, float(sc[0]) ** 2


def exponential_flow_path(model, X, y, gammas, *, rtol: float = 1e-10, error_estimate: bool = False) -> MarginPath:
    r"""``w(γ)`` of gradient flow on the exponential loss for a tied depth-2 diagonal net, at accuracies ``gammas``.

    The flow of moroshko2020 §2 (``w = u_+^2 - u_-^2``, ``u_±(0) = α``, ``L = (1/N) Σ exp(-y_n x_n^T w)``)
    traced on the accuracy clock in the excess-margin coordinates of the module docstring, so
    that ``γ = 1e11`` at ``α = 1e4`` (moroshko2020 Fig. 3b to ``μ = 0.001``) or ``γ = 1e15`` at
    ``α = 1e6`` take about a second.

    Args:
        model: ``models.Diagonal(d, depth=2, scale=alpha)`` (tied, unbiased init).
        X: ``(N, d)`` with ``N <= d`` and ``y_n x_n`` linearly independent; y: ``(N,)`` in ``{-1, +1}``.
        gammas: increasing accuracies ``γ > 0`` at which to report ``w``, ``(T,)``.
        rtol: Radau's relative tolerance (``atol = 1e-3 rtol``) on the excess margins.
        error_estimate: also solve at ``rtol / 100`` and report the largest direction difference.

    Returns:
        :class:`MarginPath`.

    Raises:
        ValueError: another model, dependent samples, labels not ``±1``, bad ``gammas``, or a
            solver failure (with scipy's message).

    Example:
        >>> import numpy as np
        >>> from implicit_bias import models
        >>> from implicit_bias.algorithms import exponential_flow_path
        >>> X = np.array([[0.8, 0.1, -0.3], [0.8, -0.2, -0.2], [1.0, 0.7, 0.1]])
        >>> path = exponential_flow_path(models.Diagonal(3, depth=2, scale=1e4), X, np.ones(3), [1e11])
        >>> np.round(path.directions[0], 3)   # near the l1 max-margin (1.25, 0, 0) direction: mu = 1e-3
        array([ 1.   , -0.002, -0.006])
    """
    from scipy.integrate import solve_ivp
    from scipy.special import softmax

    Z, a2 = _setup(model, X, y)
    g = np.asarray(gammas, dtype=np.float64).reshape(-1)
    if g.size == 0 or not np.all(np.isfinite(g)) or np.any(g <= 0) or np.any(np.diff(g) <= 0):
        raise ValueError("gammas must be finite, > 0 and strictly increasing")
    if not (np.isfinite(rtol) and 1e-13 <= rtol <= 1e-3):
        raise ValueError(f"rtol must lie in [1e-13, 1e-3]; received {rtol!r}")
    N = Z.shape[0]

    def run(tol):
        lam_cache = [np.zeros(N)]

        def solve_lam(m):
            lam = lam_cache[0].copy()
            for _ in range(100):
                z = Z.T @ lam
                K = (Z * (8 * a2 * np.cosh(4 * z))) @ Z.T
                step = np.linalg.solve(K, Z @ (2 * a2 * np.sinh(4 * z)) - m)
                dz = Z.T @ step
                mx = float(np.abs(dz).max())
                if mx > 0.5:  # damping: at most 0.5 in any z_i per iteration (cosh grows by e^2)
                    step *= 0.5 / mx
                lam = lam - step
                if mx <= 1e-15 * (1.0 + float(np.abs(z).max())):
                    break
            lam_cache[0] = lam
            return lam

        def parts(s, rho):
            gam = np.expm1(s)
            r = rho * np.exp(s)
            lam = solve_lam(gam + r)
            z = Z.T @ lam
            K = (Z * (8 * a2 * np.cosh(4 * z))) @ Z.T
            return gam, r, lam, z, K

        def f(s, rho):
            _, r, _, _, K = parts(s, rho)
            p = softmax(-r)
            return K @ p / (p @ K @ p) - 1.0 - rho

        def jac(s, rho):
            gam, r, _, z, K = parts(s, rho)
            p = softmax(-r)
            Kp = K @ p
            q = p @ Kp
            dp = -(np.diag(p) - np.outer(p, p))  # dp/dr
            dzdr = Z.T @ np.linalg.inv(K)  # dz/dr = Z^T K^{-1} (dm/dr = I)
            dKr = Z @ ((32 * a2 * np.sinh(4 * z))[:, None] * dzdr * (Z.T @ p)[:, None])  # (dK/dr) p
            dKp = K @ dp + dKr
            dq = 2.0 * (Kp @ dp) + p @ dKr
            return (gam + 1.0) * (dKp / q - np.outer(Kp, dq) / q**2) - np.eye(N)

        taus = np.log1p(g)
        sol = solve_ivp(f, (0.0, float(taus[-1])), np.zeros(N), method="Radau", t_eval=taus, rtol=tol, atol=1e-3 * tol, jac=jac)
        if sol.status != 0:
            raise ValueError(f"exponential_flow_path: the Radau solve failed ({sol.message}); try a larger rtol")
        lams = np.stack([parts(s, rho)[2] for s, rho in zip(sol.t, sol.y.T)])
        W = 2 * a2 * np.sinh(4 * (lams @ Z))
        return W, lams, sol.njev, sol.nfev

    W, lams, njev, nfev = run(rtol)
    dirs = W / np.linalg.norm(W, axis=1, keepdims=True)
    est = float("nan")
    if error_estimate:
        W2, _, _, _ = run(rtol / 100)
        est = float(np.max(np.linalg.norm(dirs - W2 / np.linalg.norm(W2, axis=1, keepdims=True), axis=1)))
    return MarginPath(g, W, dirs, lams, int(njev), int(nfev), est)
