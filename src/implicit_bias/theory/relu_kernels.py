r"""Kernels of wide univariate shallow ReLU nets and their lazy-training predictions (montufar2024 Thm 5).

The network ``f(x) = sum_{i=1}^n w2_i [w1_i x + b1_i]_+ + b2 + s x`` (``ShallowReLU(n, skip=True)``,
standard parametrization, ``(w1_i, b1_i) ~ (W, B)`` i.i.d., ``w2_i ~ N(0, 1/n)``) trained by GD
with step ``eta_bar / n`` on ``(1/(2M)) sum_j (f(x_j) - y_j)^2`` moves its outputs by
``-(eta_bar/M) (Theta/n) r`` to first order, with the tangent kernel ``Theta``
(``tangent_kernel_fractions`` splits it by parameter group). ``Theta/n`` tends to the
output-layer kernel ``K(x, x') = E[[W x + B]_+ [W x' + B]_+]`` (``output_kernel``), so the
infinite-width net is kernel regression with ``K``: ``kernel_interpolant`` (the affine part
weighted by ``beta``; ``beta -> inf`` is eq. (5)'s ``g*`` of :mod:`implicit_bias.theory.splines`),
``linearized_trajectory`` (the whole GD path with the affine part eliminated), and
``stable_eta_bar`` (the largest stable step). ``lazy_output_interpolant`` is the width-``n``
net's own kernel limit (its features frozen at init). ``affine_projector`` removes the affine
functions of the data.

The derivations (why ``K``, why the affine part needs an infinite relative step, measured
gaps) are in the module docstrings of :mod:`implicit_bias.theory.splines` and
:mod:`implicit_bias.experiments.splines`; the training route is
:class:`implicit_bias.algorithms.WidthScaledGD`. Everything here is computed without training
(this module never imports ``algorithms`` or ``train``). Params are the dict
``{"w1" (n, 1), "b1" (n,), "w2" (n,), "b2" (), "skip" (1,)}``.
"""

from __future__ import annotations

import numpy as np

from ..univariate import evaluate
from .splines import zeta_function

__all__ = [
    "output_kernel",
    "kernel_interpolant",
    "lazy_output_interpolant",
    "tangent_kernel_fractions",
    "linearized_trajectory",
    "stable_eta_bar",
    "affine_projector",
    "kernel_eta_bar",
]


def _moments(points: np.ndarray, z) -> tuple[np.ndarray, np.ndarray]:
    """Left moments ``Z_k(a) = int_{-inf}^a c^k zeta`` and right ``T_k(a) = int_a^inf c^k zeta``
    (k = 0, 1, 2) at the sorted unique ``points``: ``(3, P)`` each."""
    import scipy.integrate  # lazily: scipy.integrate costs 0.3 s of `import implicit_bias`

    kinks = np.asarray([k for k in z.kinks if points[0] < k < points[-1]], dtype=np.float64)
    grid = np.unique(np.concatenate([points, kinks]))
    gx, gw = np.polynomial.legendre.leggauss(24)
    # composite Gauss-Legendre between consecutive grid points, each split into 4 panels
    sub = np.linspace(0.0, 1.0, 5)
    lo = (grid[:-1, None] + np.diff(grid)[:, None] * sub[None, :-1]).ravel()
    hi = (grid[:-1, None] + np.diff(grid)[:, None] * sub[None, 1:]).ravel()
    c = 0.5 * (lo + hi)[:, None] + 0.5 * (hi - lo)[:, None] * gx
    w = 0.5 * (hi - lo)[:, None] * gw * z(c.ravel()).reshape(c.shape)
    seg = np.stack([(w * c**k).sum(axis=1).reshape(-1, 4).sum(axis=1) for k in range(3)])  # (3, G-1)

    def tail(a, b):
        out = []
        for k in range(3):
            v, _ = scipy.integrate.quad(lambda t: t**k * float(z(np.array([t]))[0]), a, b, epsabs=0.0, epsrel=1e-12, limit=500)
            out.append(v)
        return np.array(out)

    left0, right0 = tail(-np.inf, grid[0]), tail(grid[-1], np.inf)
    Z = left0[:, None] + np.concatenate([np.zeros((3, 1)), np.cumsum(seg, axis=1)], axis=1)
    T = right0[:, None] + np.concatenate([np.cumsum(seg[:, ::-1], axis=1)[:, ::-1], np.zeros((3, 1))], axis=1)
    idx = np.searchsorted(grid, points)
    return Z[:, idx], T[:, idx]


def output_kernel(xa, xb, zeta) -> np.ndarray:
    r"""The infinite-width output-layer kernel ``K(x, x') = E[[W x + B]_+ [W x' + B]_+]``.

    With breakpoints ``c = -b/w`` (``db = |w| dc``) and a symmetric law ``p(w, b) = p(-w, -b)``
    (all inits of ``models.init``):

        K(x, x') = (1/2) int zeta(c) [(x - c)_+ (x' - c)_+ + (c - x)_+ (c - x')_+] dc,

    computed from the moments ``int c^k zeta`` (k = 0, 1, 2) on ``(-inf, min]`` and
    ``[max, inf)`` (composite Gauss-Legendre between the points, ``scipy.integrate.quad`` on
    the tails). It is ``lim Theta_out / n`` of montufar2024 Thm 5's network (standard
    parametrization); its RKHS norm of ``h`` is ``int h''^2 / zeta`` *plus* a finite cost of the
    affine part of ``h`` (:mod:`implicit_bias.theory.splines` module docstring). Gaussian init: the arc-cosine kernel
    ``|u||u'| (sin t + (pi - t) cos t) / (2 pi)``, ``u = (sigma_w x, sigma_b)`` (tested).

    Args:
        xa: points ``(P,)``; xb: points ``(Q,)``.
        zeta: anything ``zeta_function`` accepts (an init, a ``Zeta``, ...).

    Returns:
        ``K (P, Q)``.
    """
    z = zeta_function(zeta)
    xa = np.asarray(xa, dtype=np.float64).reshape(-1)
    xb = np.asarray(xb, dtype=np.float64).reshape(-1)
    pts = np.unique(np.concatenate([xa, xb]))
    Z, T = _moments(pts, z)
    ia, ib = np.searchsorted(pts, xa), np.searchsorted(pts, xb)
    il = np.where(xa[:, None] <= xb[None, :], ia[:, None], ib[None, :])
    ih = np.where(xa[:, None] <= xb[None, :], ib[None, :], ia[:, None])
    prod, s = xa[:, None] * xb[None, :], xa[:, None] + xb[None, :]
    left = prod * Z[0][il] - s * Z[1][il] + Z[2][il]  # int_{-inf}^{min} zeta (x - c)(x' - c)
    right = prod * T[0][ih] - s * T[1][ih] + T[2][ih]  # int_{max}^{inf} zeta (c - x)(c - x')
    return 0.5 * (left + right)


def kernel_interpolant(x, y, zeta, xe, *, f0=None, beta: float = 0.0) -> np.ndarray:
    r"""The kernel-regression interpolant of GD in the lazy limit, with the affine part weighted by ``beta``.

    ``g_beta = f0 + argmin { ||h_1||_K^2 + ||l||_A^2 / beta : h_1 + l interpolates r = y - f0(x) }``
    with ``K = output_kernel`` and ``A(x, x') = 1 + x x'`` (skip weight and output bias), i.e.
    ``g_beta(xe) = f0(xe) + (K + beta A)(xe, x) alpha``, ``(K + beta A)(x, x) alpha = r``. This is
    where GD (step ``eta_bar/n`` on the units, ``beta eta_bar`` on the affine parameters) takes
    the width-``n`` net as ``n -> infinity``. ``beta = 0`` (``g_K``): the affine parameters at
    the same per-parameter step (their kernel is ``O(1/n)`` of the units'); ``beta -> inf``:
    eq. (5)'s ``g*`` (natural boundary conditions, affine part free; ``g_beta - g* = O(1/beta)``).

    Args:
        x: data inputs ``(M,)``; y: targets ``(M,)``; zeta: the init (``zeta_function``).
        xe: evaluation points ``(P,)``.
        f0: callable ``x (P,) -> (P,)`` (the initial function) or None.
        beta: affine weight ``>= 0``.

    Returns:
        ``g_beta(xe)``, ``(P,)``.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    xe = np.asarray(xe, dtype=np.float64).reshape(-1)
    f0 = (lambda t: np.zeros_like(t)) if f0 is None else f0
    r = np.asarray(y, dtype=np.float64) - f0(x)
    Kxx = output_kernel(x, x, zeta) + beta * (1.0 + np.outer(x, x))
    Kex = output_kernel(xe, x, zeta) + beta * (1.0 + np.outer(xe, x))
    return f0(xe) + Kex @ np.linalg.solve(Kxx, r)


def lazy_output_interpolant(params, x, y, xe) -> np.ndarray:
    r"""The width-``n`` net's own lazy limit with the affine part eliminated (no hidden-layer training).

    Training only ``w2`` (linear in it) with ``(skip, b2)`` eliminated converges to
    ``f0 + Phi_e Phi^T alpha + l`` with ``alpha = (P Phi Phi^T P)^+ P r``, ``Phi (M, n)`` the
    features ``[w1_i x_j + b1_i]_+`` at init, ``r = y - f0(x)`` and ``l`` the affine least-squares
    fit of the remaining residual. ``||f_lazy - g*||`` isolates the kernel-fluctuation part of
    Thm 5's error; ``||f - f_lazy||`` the hidden layer's part.

    Returns:
        ``(P,)`` values at ``xe``.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    xe = np.asarray(xe, dtype=np.float64).reshape(-1)
    w1, b1 = np.asarray(params["w1"])[:, 0], np.asarray(params["b1"])
    Phi = np.maximum(x[:, None] * w1[None, :] + b1[None, :], 0.0)
    Phie = np.maximum(xe[:, None] * w1[None, :] + b1[None, :], 0.0)
    r = np.asarray(y, dtype=np.float64) - evaluate(params, x)
    Kn, P = Phi @ Phi.T, affine_projector(x)
    alpha = np.linalg.pinv(P @ Kn @ P) @ (P @ r)
    D, De = np.stack([x, np.ones_like(x)], axis=1), np.stack([xe, np.ones_like(xe)], axis=1)
    aff = np.linalg.pinv(D) @ (r - Kn @ alpha)
    return evaluate(params, xe) + Phie @ (Phi.T @ alpha) + De @ aff


def tangent_kernel_fractions(params, X) -> dict:
    r"""Split the tangent kernel ``Theta = J J^T`` of a univariate shallow ReLU net on ``X`` by parameter group.

    With ``a_i(x) = 1[w1_i x + b1_i > 0]`` and ``phi_i(x) = [w1_i x + b1_i]_+``:
    ``Theta_hidden(x, x') = sum_i w2_i^2 a_i(x) a_i(x') (x x' + 1)`` (``w1``, ``b1``),
    ``Theta_output = sum_i phi_i(x) phi_i(x')`` (``w2``), ``Theta_affine = x x' + 1`` (``skip``,
    ``b2``). Standard parametrization (``w2 ~ N(0, 1/n)``): ``Theta_output ~ n K`` while
    ``Theta_hidden = O(1)``, a fraction ``O(1/n)`` (tested against ``jax.jacrev``).

    Args:
        params: ``{"w1" (n, 1), "b1" (n,), "w2" (n,), ...}``.
        X: inputs ``(M, 1)``.

    Returns:
        ``{"hidden", "output", "affine": (M, M), "hidden_fraction": tr Theta_hidden / tr Theta}``.
    """
    x = np.asarray(X, dtype=np.float64).reshape(-1)
    w1, b1, w2 = np.asarray(params["w1"])[:, 0], np.asarray(params["b1"]), np.asarray(params["w2"])
    pre = x[:, None] * w1[None, :] + b1[None, :]
    act, phi = (pre > 0).astype(np.float64), np.maximum(pre, 0.0)
    lin = np.outer(x, x) + 1.0
    parts = {"hidden": ((act * w2**2) @ act.T) * lin, "output": phi @ phi.T, "affine": lin}
    total = sum(np.trace(v) for v in parts.values())
    parts["hidden_fraction"] = float(np.trace(parts["hidden"]) / total)
    return parts


def affine_projector(x) -> np.ndarray:
    """``P = I - D D^+``, ``D = [x, 1]``: removes the affine functions ``a x + b`` of the data ``x (M,)``
    (or ``a . x + b`` of inputs ``x (M, d)``); ``(M, M)``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory import affine_projector
        >>> x = np.array([-1.0, 0.0, 2.0])
        >>> bool(np.allclose(affine_projector(x) @ (3 * x + 1), 0.0))
        True
    """
    x = np.asarray(x, dtype=np.float64)
    X = x.reshape(x.shape[0], -1) if x.ndim == 2 else x.reshape(-1, 1)
    D = np.column_stack([X, np.ones(X.shape[0])])
    return np.eye(X.shape[0]) - D @ np.linalg.pinv(D)


def kernel_eta_bar(K, x, *, projected: bool = True, fraction: float = 0.5) -> float:
    r"""``eta_bar = fraction * M / lambda_max(P K P)`` (``K`` if not ``projected``) for a limit
    kernel ``K (M, M)`` on the inputs ``x (M,)`` or ``(M, d)`` (``P`` = :func:`affine_projector`):
    the stable width-normalised step of :func:`stable_eta_bar`, for any kernel (``relu_power_kernel``,
    ``multivariate.relu_feature_kernel``).

    Example:
        >>> import numpy as np
        >>> x = np.array([-1.0, 0.0, 1.0, 2.0])
        >>> kernel_eta_bar(np.eye(4), x, fraction=0.8)  # P is a projector of rank 2: lambda_max = 1
        3.2
    """
    K = np.asarray(K, dtype=np.float64)
    if projected:
        P = affine_projector(x)
        K = P @ K @ P
    return float(fraction * K.shape[0] / np.linalg.eigvalsh(K)[-1])


def stable_eta_bar(x, zeta, *, projected: bool = True, fraction: float = 0.5) -> float:
    r"""``eta_bar = fraction * M / lambda_max``: a stable width-normalised step.

    GD on ``(1/(2M)) sum (f - y)^2`` with step ``eta_bar / n`` moves the outputs by
    ``-(eta_bar/M) (Theta_n/n) r``, ``Theta_n/n -> K`` (``output_kernel``); it is stable for
    ``eta_bar < 2M / lambda_max``, with ``lambda_max`` of ``P K P`` when the affine part is
    eliminated (``projected``, ``affine="exact"``) and of ``K`` otherwise.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    return kernel_eta_bar(output_kernel(x, x, zeta), x, projected=projected, fraction=fraction)


def linearized_trajectory(x, y, zeta, xe, steps, eps: float, *, f0=None, rho: float = 1.0) -> np.ndarray:
    r"""Infinite-width GD trajectory with the affine part eliminated (the route-2 "kernel GD" path).

    ``f_t = f0 + K(., x) alpha_t + l_t`` with ``alpha_t = rho eps sum_{s<t} r_s``,
    ``r_{s+1} = (I - rho eps P K P) r_s``, ``r_0 = P (y - f0(x))`` and ``l_t`` the affine
    least-squares fit of ``y - f0(x) - K alpha_t``: the limit of ``algorithms.WidthScaledGD(affine="exact")``
    with ``eps = eta_bar / M`` (library square loss; ``rho`` rescales time). Closed form in the
    eigenbasis of ``P K P``.

    Returns:
        ``(T, P)`` values at ``xe`` for ``steps (T,)``.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    xe = np.asarray(xe, dtype=np.float64).reshape(-1)
    f0 = (lambda t: np.zeros_like(t)) if f0 is None else f0
    K, Kex, P = output_kernel(x, x, zeta), output_kernel(xe, x, zeta), affine_projector(x)
    s, V = np.linalg.eigh(P @ K @ P)
    keep = s > 1e-12 * s.max()
    s, V = s[keep], V[:, keep]
    r0 = np.asarray(y, dtype=np.float64) - f0(x)
    coef = V.T @ (P @ r0)
    t = np.asarray(steps, dtype=np.float64)[:, None]
    alpha = ((1.0 - (1.0 - rho * eps * s[None, :]) ** t) / s[None, :] * coef[None, :]) @ V.T  # (T, M)
    D = np.stack([x, np.ones_like(x)], axis=1)
    De = np.stack([xe, np.ones_like(xe)], axis=1)
    aff = np.linalg.pinv(D) @ (r0[:, None] - K @ alpha.T)  # (2, T)
    return f0(xe)[None, :] + alpha @ Kex.T + (De @ aff).T
