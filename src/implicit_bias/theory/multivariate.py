r"""Wide shallow ReLU nets on ``R^d``: montufar2024 Thm 8, computed without training.

Jin & Montufar (JMLR 2023), slide "Theorem 8 (multivariate regression)" of montufar2024: a wide
net trained by GD from the init law of ``(W, B)`` approaches, at rate ``n^{-1/2}``,

    g* = argmin int (1/zeta(V, c)) [R{(-Delta)^{(d+1)/2} (g - f0)}(V, c)]^2 dV dc   s.t. g(x_j) = y_j,

``R`` the Radon transform (``V`` on the unit sphere ``S^{d-1}``, ``c`` in ``R``). The slides do
not give a computable form. This module derives one (the kernel interpolant below), gives the
theorem's weight ``zeta(V, c)`` (``radon_zeta``) and an independent route to the Radon-domain
minimizer (``radon_minimizer``, d = 2, a discretisation of the ``(V, c)`` domain). It never
imports ``algorithms`` or ``train``.

Derivation (the univariate one of ``experiments.splines``, in polar coordinates)
-------------------------------------------------------------------------------
Network ``f(x) = sum_i w2_i [w1_i . x + b1_i]_+ + b2 + s . x`` (``ShallowReLU(n, input_dim=d,
skip=True)``), standard parametrization, ``w2 ~ N(0, 1/n)``, loss ``(1/2M) sum (f - y)^2``.

1. **Kernel limit.** With the step ``eta_bar/n`` on ``(w1, b1, w2)`` the tangent kernel over
   ``n`` tends to the output-layer kernel

       K(x, x') = E[[W . x + B]_+ [W . x' + B]_+]                    (the hidden layer: O(1/n)),

   and with the affine part ``(s, b2)`` refitted by least squares after every step (the
   width-scaled GD of Thm 5, ``affine="exact"``) the affine functions are free. GD from
   ``f0 = f(., theta_0)`` then converges to the kernel interpolant with the affine part free:

       g*(x) = f0(x) + K(x, X) alpha + [x, 1] a,   [K  D] [alpha]   [y - f0(X)]
                                                   [D' 0] [  a  ] = [    0    ],   D = [X, 1] (M, d+1),

   the minimizer of ``||g - f0 - affine||_K`` among interpolants (``multivariate_interpolant``).
   Gaussian ``W ~ N(0, s_w^2 I_d)``, ``B ~ N(0, s_b^2)``: ``W . x + B = z . u`` with ``z ~ N(0,
   I_{d+1})``, ``u = (s_w x, s_b)``, so ``K`` is the degree-1 arc-cosine kernel (Cho & Saul 2009)

       K(x, x') = |u| |u'| (sin t + (pi - t) cos t) / (2 pi),   cos t = u . u' / (|u| |u'|).

2. **It is the Radon-domain minimizer.** Write ``(W, B) = (r V, -r c)``, ``r > 0``, ``V`` on
   ``S^{d-1}``, ``c`` in ``R`` (``dW dB = r^d dr dV dc``); ``[W . x + B]_+ = r [V . x - c]_+``.
   Then ``K(x, x') = int zeta(V, c) [V . x - c]_+ [V . x' - c]_+ dV dc`` with

       zeta(V, c) = int_0^inf r^{d+2} p_{W,B}(r V, -r c) dr          (d = 1: zeta(x) of Thm 5 is
                                                                     zeta(1, x) + zeta(-1, -x)),

   Gaussian: ``Gamma((d+3)/2) / (2 (2 pi)^{(d+1)/2} s_w^d s_b) (2 s_w^2 s_b^2 / (s_b^2 + c^2
   s_w^2))^{(d+3)/2}`` (``radon_zeta``, independent of ``V``). The RKHS of ``K`` consists of
   ``h = int mu(V, c) [V . x - c]_+ dV dc`` with ``||h||_K^2 = min int mu^2 / zeta`` over the
   ``mu`` representing ``h``. The even part ``mu(V, c) + mu(-V, -c)`` is fixed by ``h``:
   ``R{(-Delta)^{(d+1)/2} h} = gamma_d (mu + mu(-V, -c))`` (Ongie, Willett, Soudry & Srebro 2020;
   ``gamma_d`` a constant); the odd part only adds the affine function ``int mu_odd (V . x - c)``,
   since ``[t]_+ - [-t]_+ = t``. With the affine part free the odd part costs without helping, so
   it is 0 at the optimum, and ``min ||h - affine||_K^2 = int mu_even^2 / zeta`` is
   ``1/(4 gamma_d^2)`` times Thm 8's functional (``zeta`` even: ``zeta(V, c) = zeta(-V, -c)`` for
   every symmetric init law). Hence ``g*`` above *is* Thm 8's minimizer, computed here without the
   Radon transform. ``radon_minimizer`` solves the discretised ``(V, c)`` problem directly
   (``min sum w_q mu_q^2 / zeta_q`` subject to the data, affine part free; d = 2), a route that
   never forms ``K``: the two agree to the quadrature error (measured on 8 points of ``[-1, 1]^2``,
   a 21 x 21 grid: relative sup difference 1.2e-4, 4.4e-5, 7.6e-6, 1.5e-6 at 64, 128, 256, 512
   angles; tested), and for ``d = 1`` the kernel interpolant equals Thm 5's weighted cubic spline
   ``theory.splines.weighted_spline_interpolant`` (tested to 1e-9).

3. **Where the two forms differ.**

   - *Affine part.* Thm 8's functional vanishes on affine functions; the kernel ``K`` does not:
     plain GD (the affine parameters at the same step ``eta_bar/n``) converges to the interpolant
     with ``K`` alone, which charges the affine part (as ``g_K`` in the univariate study,
     ``experiments.splines``). Only the width-scaled GD with the affine part refitted reaches
     ``g*``.
   - *Support of zeta.* At the optimum ``mu(V, c) = zeta(V, c) sum_j alpha_j [V . x_j - c]_+``,
     which vanishes for ``c >= max_j V . x_j`` and, by ``D' alpha = 0``, for ``c <= min_j V . x_j``:
     only hyperplanes that cut the convex hull of the data carry weight (the analogue of ``S =
     [x_1, x_M]`` in Thm 5), so ``zeta`` outside that set is irrelevant. Where ``zeta`` vanishes
     on hyperplanes cutting the hull (bounded inits, e.g. uniform ``|B| <= a_b``), Thm 8's
     functional is infinite for ``mu`` there and the network has no such units: the minimizer is
     then the one with ``mu`` restricted to ``supp zeta``, which the kernel form gives as is.
   - Outside the hull ``g*`` is not affine (unlike the univariate ``g*``): hyperplanes cutting
     the hull extend beyond it.

Conventions: inputs ``X (M, d)``, targets ``y (M,)``, evaluation points ``(P, d)``; float64 numpy.
The closed forms need a Gaussian init (``models.init.Gaussian``); other inits raise.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from ..models import ShallowReLU
from ..models.init import AbstractInit, Gaussian

__all__ = ["relu_feature_kernel", "radon_zeta", "MultivariateInterpolant", "multivariate_interpolant", "radon_minimizer"]


def _gaussian(init) -> Gaussian:
    if isinstance(init, ShallowReLU):
        init = init.distribution
    if isinstance(init, Gaussian):
        return init
    name = type(init).__name__ if isinstance(init, AbstractInit) else repr(init)
    raise ValueError(
        f"init: the multivariate kernel E[[W.x+B]_+ [W.x'+B]_+] has a closed form for the Gaussian init only; received {name}: "
        "use models.init.Gaussian(sigma_w=..., sigma_b=...)"
    )


def _points(X, name: str, d: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name} must have shape (M, d); received shape {X.shape}")
    if d is not None and X.shape[1] != d:
        raise ValueError(f"{name} must have d = {d} columns (the dimension of the data); received shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} must be finite; found NaN or Inf")
    return X


def relu_feature_kernel(Xa, Xb, init) -> np.ndarray:
    r"""``K(x, x') = E[[W . x + B]_+ [W . x' + B]_+]`` for a Gaussian init (the arc-cosine kernel).

    ``K = |u| |u'| (sin t + (pi - t) cos t) / (2 pi)``, ``u = (s_w x, s_b)``, ``cos t = u . u' /
    (|u| |u'|)`` (module docstring; ``s_w = init.sigma_w``, ``s_b = init.sigma_b``). It is
    ``lim Theta_output / n`` of ``ShallowReLU(n, input_dim=d)`` (montufar2024 Thm 8, standard
    parametrization). For ``d = 1`` it equals ``experiments.splines.output_kernel``.

    Args:
        Xa: points ``(P, d)``; Xb: points ``(Q, d)``.
        init: a ``models.init.Gaussian`` or a Gaussian-init ``ShallowReLU``.

    Returns:
        ``K (P, Q)``.

    Raises:
        ValueError: a non-Gaussian init, mismatched dimensions, non-finite points.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.multivariate import relu_feature_kernel
        >>> K = relu_feature_kernel(np.zeros((1, 2)), np.zeros((1, 2)), Gaussian(sigma_w=1.0, sigma_b=1.0))
        >>> float(K[0, 0])   # E[[B]_+^2] = 1/2
        0.5
    """
    g = _gaussian(init)
    Xa = _points(Xa, "Xa")
    Xb = _points(Xb, "Xb", Xa.shape[1])
    Ua = np.concatenate([g.sigma_w * Xa, np.full((Xa.shape[0], 1), g.sigma_b)], axis=1)
    Ub = np.concatenate([g.sigma_w * Xb, np.full((Xb.shape[0], 1), g.sigma_b)], axis=1)
    na, nb = np.linalg.norm(Ua, axis=1), np.linalg.norm(Ub, axis=1)
    cos = np.clip((Ua @ Ub.T) / np.outer(na, nb), -1.0, 1.0)
    t = np.arccos(cos)
    return np.outer(na, nb) * (np.sin(t) + (np.pi - t) * cos) / (2.0 * np.pi)


def radon_zeta(c, init, d: int) -> np.ndarray:
    r"""Thm 8's weight ``zeta(V, c) = int_0^inf r^{d+2} p_{W,B}(r V, -r c) dr`` (Gaussian init; independent of ``V``).

    ``= Gamma((d+3)/2) / (2 (2 pi)^{(d+1)/2} s_w^d s_b) * (2 s_w^2 s_b^2 / (s_b^2 + c^2 s_w^2))^{(d+3)/2}``,
    the density of the hyperplanes ``{x : V . x = c}`` of the hidden units weighted by ``r^2 =
    |W|^2`` (module docstring). ``d = 1``: ``zeta(1, x) + zeta(-1, -x)`` is Thm 6's ``zeta(x) =
    2 s_w^3 s_b^3 / (pi (s_b^2 + x^2 s_w^2)^2)``.

    Args:
        c: offsets ``(P,)``; init: a ``Gaussian``; d: the input dimension (``>= 1``).

    Returns:
        ``(P,)``.

    Example:
        >>> import math
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.multivariate import radon_zeta
        >>> round(float(2 * radon_zeta([0.5], Gaussian(sigma_w=1.0, sigma_b=1.0), 1)[0]) * math.pi, 12)   # 2 / 1.25^2
        1.28
    """
    g = _gaussian(init)
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive integer (the input dimension); received {d!r}")
    c = np.asarray(c, dtype=np.float64)
    sw, sb = g.sigma_w, g.sigma_b
    a = (sb**2 + c**2 * sw**2) / (2.0 * sw**2 * sb**2)
    return math.gamma((d + 3) / 2) / (2.0 * (2.0 * math.pi) ** ((d + 1) / 2) * sw**d * sb) * a ** (-(d + 3) / 2)


class MultivariateInterpolant:
    r"""``g*(x) = f0(x) + K(x, X) alpha + [x, 1] a`` (Thm 8's minimizer; ``multivariate_interpolant``).

    Attributes:
        alpha: ``(M,)`` kernel coefficients (``D' alpha = 0``).
        affine: ``(d+1,)`` coefficients of ``[x, 1]``.
        penalty: ``alpha' K alpha``, the minimum of ``int mu^2 / zeta`` (module docstring).
        lam: the ridge parameter it was built with (0: interpolation).

    ``g(Xe (P, d)) -> (P,)``.
    """

    def __init__(self, X, init, alpha, affine, f0, lam: float):
        self.X, self.init, self.alpha, self.affine, self.f0, self.lam = X, init, alpha, affine, f0, lam
        self.penalty = float(alpha @ relu_feature_kernel(X, X, init) @ alpha)

    def __call__(self, Xe) -> np.ndarray:
        Xe = _points(Xe, "Xe", self.X.shape[1])
        out = relu_feature_kernel(Xe, self.X, self.init) @ self.alpha + Xe @ self.affine[:-1] + self.affine[-1]
        return out + (0.0 if self.f0 is None else np.asarray(self.f0(Xe), dtype=np.float64))


def _check_data(X, y, f0):
    X = _points(X, "X")
    y = np.asarray(y, dtype=np.float64)
    M, d = X.shape
    if y.shape != (M,):
        raise ValueError(f"y must have shape ({M},) matching X {X.shape}; received shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y must be finite; found NaN or Inf")
    D = np.concatenate([X, np.ones((M, 1))], axis=1)
    if np.linalg.matrix_rank(D) < d + 1:
        raise ValueError(f"X: the affine part is free, so the {M} points must not lie on one hyperplane (need M >= d + 1 = {d + 1} affinely independent points)")
    r = y.copy()
    if f0 is not None:
        if not callable(f0):
            raise ValueError(f"f0 must be None or a callable X (P, d) -> (P,); received {type(f0).__name__}")
        r = r - np.asarray(f0(X), dtype=np.float64)
    return X, D, r


def multivariate_interpolant(X, y, init, *, lam: float = 0.0, f0=None) -> MultivariateInterpolant:
    r"""Thm 8's ``g*`` for a Gaussian init: the arc-cosine kernel interpolant with the affine part free.

    Solves ``[K + lam M I, D; D', 0][alpha; a] = [y - f0(X); 0]``, ``K = relu_feature_kernel(X,
    X)``, ``D = [X, 1]`` (module docstring, derivation 1-2): for ``lam = 0`` the minimizer of Thm
    8's Radon-domain functional among interpolants (montufar2024 Thm 8); ``lam > 0`` the kernel
    ridge estimator of ``(1/(2M)) sum (g - y)^2 + (lam/2) ||g - f0 - affine||_K^2`` (the
    trajectory's smoothing path in the kernel limit).

    Args:
        X: inputs ``(M, d)``, not all on one hyperplane; y: targets ``(M,)``.
        init: a ``models.init.Gaussian`` (or a Gaussian-init ``ShallowReLU``).
        lam: ridge parameter ``>= 0``.
        f0: the initial function, a callable ``(P, d) -> (P,)``, or None (antisymmetric init).

    Returns:
        A ``MultivariateInterpolant``.

    Raises:
        ValueError: a non-Gaussian init, bad shapes, points on one hyperplane, ``lam < 0``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.multivariate import multivariate_interpolant
        >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.2]])
        >>> y = np.array([0.0, 1.0, -1.0, 0.5, 0.3])
        >>> g = multivariate_interpolant(X, y, Gaussian(sigma_w=1.0, sigma_b=1.0))
        >>> bool(np.allclose(g(X), y, atol=1e-10))
        True
        >>> float(multivariate_interpolant(X, 2 * X[:, 0] - X[:, 1] + 3, Gaussian()).penalty) < 1e-20   # affine data: free
        True
    """
    g = _gaussian(init)
    if not (isinstance(lam, (int, float, np.floating, np.integer)) and math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0; received {lam!r}")
    X, D, r = _check_data(X, y, f0)
    M, n = D.shape
    A = np.block([[relu_feature_kernel(X, X, g) + lam * M * np.eye(M), D], [D.T, np.zeros((n, n))]])
    try:
        sol = scipy.linalg.solve(A, np.concatenate([r, np.zeros(n)]), assume_a="sym")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        raise ValueError("X: the kernel system is singular: the points must be distinct") from None
    return MultivariateInterpolant(X, g, sol[:M], sol[M:], f0, float(lam))


def radon_minimizer(X, y, init, Xe, *, n_angles: int = 256, n_offsets: int = 512) -> np.ndarray:
    r"""Thm 8's Radon-domain minimizer for ``d = 2`` by discretising the hyperplanes ``(V, c)`` (no kernel).

    ``min int mu(V, c)^2 / zeta(V, c) dV dc`` s.t. ``int mu [V . x_j - c]_+ dV dc + a . x_j + b =
    y_j`` (the affine part free; ``f0 = 0``), with ``V = (cos t, sin t)``: ``n_angles`` equally
    spaced ``t`` (the periodic trapezoid rule), ``c`` on ``[min_j V . x_j, max_j V . x_j]`` (the
    hyperplanes cutting the hull; module docstring 3) by ``n_offsets`` Gauss-Legendre nodes split
    at the data. With weights ``w_q``, the weighted least-norm solution is ``mu_q = zeta_q
    Phi_q' beta``, where ``[Phi diag(w zeta) Phi', D; D', 0][beta; a] = [y; 0]``,
    ``Phi_{jq} = [V_q . x_j - c_q]_+``; ``zeta = radon_zeta(c, init, 2)``. A check of
    ``multivariate_interpolant`` by a route that never forms the arc-cosine kernel.

    Args:
        X: inputs ``(M, 2)``; y: ``(M,)``; init: a ``Gaussian``; Xe: evaluation points ``(P, 2)``.
        n_angles: quadrature size.
        n_offsets: quadrature size.

    Returns:
        The minimizer at ``Xe``, ``(P,)``.
    """
    g = _gaussian(init)
    X, D, r = _check_data(X, y, None)
    if X.shape[1] != 2:
        raise ValueError(f"radon_minimizer discretises S^1 x R: X must have d = 2 columns; received shape {X.shape}")
    Xe = _points(Xe, "Xe", 2)
    t = 2.0 * np.pi * np.arange(n_angles) / n_angles
    gx, gw = np.polynomial.legendre.leggauss(16)
    per = max(1, n_offsets // (16 * (X.shape[0] - 1)))
    Phi, Phie, wz = [], [], []
    for ti in t:
        V = np.array([math.cos(ti), math.sin(ti)])
        s = X @ V
        edges = np.unique(s)
        sub = np.linspace(0.0, 1.0, per + 1)
        lo = (edges[:-1, None] + np.diff(edges)[:, None] * sub[None, :-1]).ravel()
        hi = (edges[:-1, None] + np.diff(edges)[:, None] * sub[None, 1:]).ravel()
        c = (0.5 * (lo + hi)[:, None] + 0.5 * (hi - lo)[:, None] * gx).ravel()
        w = (0.5 * (hi - lo)[:, None] * gw).ravel() * (2.0 * np.pi / n_angles)
        Phi.append(np.maximum(s[:, None] - c[None, :], 0.0))
        Phie.append(np.maximum((Xe @ V)[:, None] - c[None, :], 0.0))
        wz.append(w * radon_zeta(c, g, 2))
    Phi, Phie, wz = np.concatenate(Phi, 1), np.concatenate(Phie, 1), np.concatenate(wz)
    M, n = D.shape
    G = (Phi * wz) @ Phi.T
    sol = scipy.linalg.solve(np.block([[G, D], [D.T, np.zeros((n, n))]]), np.concatenate([r, np.zeros(n)]), assume_a="sym")
    beta, a = sol[:M], sol[M:]
    return (Phie * wz) @ (Phi.T @ beta) + Xe @ a[:-1] + a[-1]
