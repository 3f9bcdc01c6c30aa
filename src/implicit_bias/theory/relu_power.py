r"""Wide shallow nets with the activation ``[x]_+^k``: montufar2024 Thm 9, computed without training.

Jin & Montufar (JMLR 2023), slide "Generalization to other activation functions" of montufar2024:
with an activation ``phi`` that is a Green's function of a linear operator ``L`` (``L phi =
delta``) and homogeneous of degree ``k``, the statement of Thm 5 holds with the penalty
``int_S (1/zeta_k) [L (g - f0)]^2``, ``zeta_k(x) = p_C(x) E[W^{2k} | C = x]``, after the data
are adjusted by a function ``p`` with ``L p = 0``. For ``phi = [x]_+^k`` the operator is
``L = D^{k+1}/k!`` and its null space the polynomials of degree ``<= k``. This module gives
``zeta_k`` (``relu_power_zeta``), the network's infinite-width output kernel
(``relu_power_kernel``), the polynomial ``p`` (``null_space_polynomial``) and the weighted
spline of degree ``2k+1`` (``relu_power_spline``). It never imports ``algorithms`` or ``train``.

Derivation (as Thm 6's for k = 1; the slides state the result only)
--------------------------------------------------------------------
Hidden unit ``(w, b)`` with breakpoint ``c = -b/w``: ``[w x + b]_+^k = |w|^k [x - c]_+^k`` if
``w > 0`` and ``|w|^k [c - x]_+^k`` if ``w < 0``. With ``b = -w c``, ``db = |w| dc``:

- **zeta_k.** For ``h = E[a(W, B) phi(W x + B)]``, ``L [x - c]_+^k = delta(x - c)`` and
  ``L [c - x]_+^k = (-1)^{k+1} delta(x - c)`` give ``L h(x) = int a(w, -w x) s(w) |w|^{k+1}
  p(w, -w x) dw`` (``s = +-1``), while ``E[a^2] = int dx int a(w, -wx)^2 |w| p(w, -wx) dw``.
  Cauchy-Schwarz at each ``x``: the cheapest ``a`` producing a given ``L h`` costs
  ``int (L h)^2 / zeta_k`` with

      zeta_k(x) = int |w|^{2k+1} p_{W,B}(w, -w x) dw = p_C(x) E[|W|^{2k} | C = x].

  Closed forms (``int_0^inf w^{2k+1} e^{-w^2/(2 s^2)} dw = 2^k k! s^{2k+2}``; the uniform box
  in ``w`` cut at ``|w| <= a_b/|x|``): Gaussian ``W ~ N(0, s_w^2)``, ``B ~ N(0, s_b^2)``:
  ``zeta_k(x) = 2^k k! s_w^{2k+1} s_b^{2k+1} / (pi (s_b^2 + x^2 s_w^2)^{k+1})``; uniform
  ``U(-a_w, a_w) x U(-a_b, a_b)``: ``a_w^{2k+1} / (4 (k+1) a_b)`` for ``|x| <= a_b/a_w`` and
  ``a_b^{2k+1} / (4 (k+1) a_w |x|^{2k+2})`` outside; binary-uniform ``1/(2 a_b)`` on
  ``|x| <= a_b``. These are ``theory.splines.zeta_function(init, degree=k)`` (one
  implementation; tested here against the definition by quadrature to 1e-10).
- **The kernel.** For a symmetric law (``p(w, b) = p(-w, -b)``, every init of
  ``models.init``) each sign of ``w`` carries ``zeta_k / 2``:

      K_k(x, x') = E[phi(W x + B) phi(W x' + B)]
                 = (1/2) int zeta_k(c) ([x - c]_+^k [x' - c]_+^k + [c - x]_+^k [c - x']_+^k) dc.

  Gaussian: the degree-k arc-cosine kernel of ``u = (s_w x, s_b)`` (Cho & Saul 2009),
  ``|u|^k |u'|^k J_k(theta) / (2 pi)`` (tested for k = 1, 2).
- **Its RKHS norm, and why ``p`` is needed.** Writing the unit coefficients of the two signs as
  ``alpha(c)``, ``beta(c)``, ``h = int (zeta/2)(alpha u_c + beta v_c) dc`` and minimising
  ``int (zeta/2)(alpha^2 + beta^2)``: ``||h||_K^2 = int_R (L h)^2 / zeta_k + ||q_h||^2`` where
  ``q_h`` (degree ``<= k``) is the part of ``h`` beyond the symmetric Green's function
  ``(1/2) sgn(t)^{k+1} |t|^k`` and ``||.||`` a finite norm on polynomials: the kernel charges
  the null space of ``L``. With the width-scaled GD of Thm 5 (the affine part refitted
  exactly) only degrees ``<= 1`` are free, so for ``k >= 2`` the trained net interpolates
  ``r = y - f0(x)`` with ``f - f0 = K alpha + affine``, ``alpha`` orthogonal to the affine
  functions only: ``L (f - f0) = (zeta_k/2) sum_j alpha_j [(x_j - x)^k - 2 (-1)^k [x - x_j]_+^k]``
  does not vanish outside ``S``, so ``f`` is *not* the natural weighted spline.
- **Thm 9's ``p``.** Solve the kernel system with the whole null space free:

      [K  V] [alpha]   [r]
      [V' 0] [  d  ] = [0],     V_{ji} = x_j^i, i = 0..k      (K = K_k(x, x), (M, M)).

  Then ``alpha`` is orthogonal to every polynomial of degree ``<= k`` on the data, ``L (K
  alpha) = -(-1)^k zeta_k(x) sum_j alpha_j [x - x_j]_+^k`` vanishes for ``x < x_1`` and (a
  polynomial with zero coefficients) for ``x > x_M``, and ``K alpha + V d`` is the natural
  weighted spline below. ``p`` is the part of ``V d`` of degrees ``2..k`` (its affine part is
  free in the network and set to 0): training on ``y - p`` the net converges to
  ``f0 + K alpha + (affine)``, which is exactly ``g*`` of the adjusted data, the weighted spline
  of ``(x_j, y_j - p(x_j))``. The existence claim of Thm 9 is this construction; ``p`` depends
  on the data, the init (through ``K_k``) and ``f0``, and is 0 for ``k = 1``. (As a variational
  problem ``g*`` of ``y - p`` is ``g*`` of ``y`` minus ``p``: ``L p = 0``. The adjustment matters
  for the *network*, which does not have the null space for free.)
- **The weighted spline** ``g* = argmin int_S (1/zeta_k) [L (g - f0)]^2`` s.t. ``g(x_j) = y_j``,
  ``S = [x_1, x_M]`` (``zeta_k > 0`` there). Euler-Lagrange: ``L h = zeta_k m``, ``h = g - f0``,
  ``m`` a spline of degree ``k`` with knots at the data, ``C^{k-1}``, zero outside ``S``
  (natural conditions); for constant ``zeta_k`` the natural spline of degree ``2k+1``
  (``g^{(k+1)} = ... = g^{(2k)} = 0`` at both ends). Computable form (a Green's-function
  interpolant, the classical spline-kernel construction restricted to ``S``):

      K_S(x, x') = int_{x_1}^{x_M} zeta_k(u) [x - u]_+^k [x' - u]_+^k du,
      [K_S V; V' 0] [alpha; d] = [r; 0],   h(x) = sum_j alpha_j K_S(x, x_j) + V(x) d.

  Then ``m(u) = sum_j alpha_j [x_j - u]_+^k`` (zero beyond both ends by the moment conditions),
  ``h(x) = poly_k(x) + int_{x_1}^{min(x, x_M)} zeta_k(u) m(u) (x - u)^k du`` and the penalty is
  ``int zeta_k m^2 = alpha' K_S alpha``. The moments are integrated by composite 20-node
  Gauss-Legendre panels split at the data points and the kinks of ``zeta`` (exact up to
  rounding on polynomial pieces, spectrally accurate for smooth ``zeta``), refined until the
  Gram matrix changes by less than 1e-13 relative. Outside ``S``, ``h`` is the polynomial
  continuation (degree ``<= k``). This route is independent of ``theory.splines``'s banded
  B-spline form (``green_spline``, k <= 2) and agrees with it (tested, k = 1, 2).

Conventions: inputs ``x`` ``(M,)`` or ``(M, 1)`` strictly increasing, ``y (M,)``; evaluation at
``(P,)`` points; float64 numpy arrays. ``activation`` is ``"relu"`` or ``"relu_power:k"`` (or the
integer ``k``). ``f0`` is None (``f(., theta_0) = 0``, e.g. an antisymmetric init) or a
vectorised callable ``x (P,) -> (P,)``.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from ..models import ShallowReLU, activation_degree
from .splines import Zeta, zeta_function

__all__ = [
    "relu_power_zeta",
    "relu_power_kernel",
    "NullSpacePolynomial",
    "null_space_polynomial",
    "PowerSpline",
    "relu_power_spline",
]

_Q = 20
_GX, _GW = np.polynomial.legendre.leggauss(_Q)
_GRAM_RTOL = 1e-13


def _degree(activation) -> int:
    if isinstance(activation, (int, np.integer)) and not isinstance(activation, bool):
        if activation < 1:
            raise ValueError(f"activation degree k must be a positive integer; received {activation!r}")
        return int(activation)
    return activation_degree(activation)


def relu_power_zeta(source, activation="relu_power:2", *, method: str = "auto") -> Zeta:
    r"""``zeta_k(x) = int |w|^{2k+1} p_{W,B}(w, -w x) dw = p_C(x) E[W^{2k} | C = x]`` (montufar2024 Thm 9).

    Closed forms for the Gaussian, uniform, binary-uniform, Breakpoints and PyTorch inits (module
    docstring), quadrature of the definition otherwise or with ``method="quadrature"``.

    Args:
        source: an init of ``implicit_bias.models.init``, a univariate ``ShallowReLU`` (its
            ``distribution``; its own ``activation`` is not consulted), a ``Zeta`` of the same
            degree, a vectorised callable or a positive constant.
        activation: ``"relu"``, ``"relu_power:k"`` or ``k``.
        method: ``"auto"``, ``"closed"`` or ``"quadrature"`` (``theory.splines.zeta_function``).

    Returns:
        A ``Zeta`` with ``degree = k``.

    Raises:
        ValueError: an activation without a known Green's operator, a ``Zeta`` of another
            degree, and everything ``zeta_function`` rejects.

    Example:
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.relu_power import relu_power_zeta
        >>> z = relu_power_zeta(Gaussian(sigma_w=1.0, sigma_b=1.0), "relu_power:2")
        >>> round(float(z(0.0)[()]) * 3.141592653589793, 12)   # 2^2 2! / pi at x = 0
        8.0
    """
    k = _degree(activation)
    if isinstance(source, Zeta) and source.degree != k:
        raise ValueError(f"zeta was built for degree {source.degree}, the activation has degree {k}: use relu_power_zeta(init, {k})")
    return zeta_function(source, degree=k, method=method)


# ----------------------------------------------------------------------------------------
# quadrature panels on an interval, split at given points
# ----------------------------------------------------------------------------------------


def _panels(edges: np.ndarray, n_sub: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_sub`` equal panels in each ``[edges_i, edges_{i+1}]``: ``(lo, hi)``."""
    t = np.linspace(0.0, 1.0, n_sub + 1)
    lo = (edges[:-1, None] + np.diff(edges)[:, None] * t[None, :-1]).ravel()
    hi = (edges[:-1, None] + np.diff(edges)[:, None] * t[None, 1:]).ravel()
    return lo, hi


def _nodes(lo, hi):
    half = 0.5 * (hi - lo)
    return 0.5 * (hi + lo)[:, None] + half[:, None] * _GX, half[:, None] * _GW


def _edges(points: np.ndarray, z: Zeta) -> np.ndarray:
    lo, hi = points.min(), points.max()
    kinks = np.asarray([c for c in z.kinks if lo < c < hi], dtype=np.float64)
    return np.unique(np.concatenate([points, kinks]))


def _check_xy(x, y, k: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"x must have shape (M,) or (M, 1) (univariate inputs: Thm 9 is univariate); received shape {x.shape}")
    if y.shape != x.shape:
        raise ValueError(f"y must have shape (M,) matching x {x.shape}; received shape {y.shape}")
    if x.size < k + 1:
        raise ValueError(f"need at least k + 1 = {k + 1} data points for degree k = {k} (the null space of L has dimension k + 1); received {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite; found NaN or Inf")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing without duplicates; sort the data first (order = np.argsort(x))")
    return x, y


def _f0_values(f0, x: np.ndarray) -> np.ndarray:
    if f0 is None:
        return np.zeros_like(x)
    if not callable(f0):
        raise ValueError(f"f0 must be None or a vectorised callable x (P,) -> (P,); received {type(f0).__name__}")
    out = np.asarray(f0(x), dtype=np.float64)
    if out.shape != x.shape or not np.all(np.isfinite(out)):
        raise ValueError(f"f0 must map x of shape {x.shape} to finite outputs of the same shape; received shape {out.shape}")
    return out


def _as_zeta(zeta, k: int) -> Zeta:
    if isinstance(zeta, ShallowReLU):
        zeta = zeta.distribution
    return relu_power_zeta(zeta, k)


# ----------------------------------------------------------------------------------------
# the network's kernel and the null-space polynomial p
# ----------------------------------------------------------------------------------------


def _tail_moments(z: Zeta, a: float, b: float, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``int_{-inf}^a zeta c^j`` and ``int_b^inf zeta c^j``, ``j = 0..2k`` (scipy quad)."""
    from scipy.integrate import quad  # lazily (import cost)

    def mom(lo, hi, j):
        val, _ = quad(lambda c: c**j * float(z(np.array([c]))[0]), lo, hi, epsabs=0.0, epsrel=1e-13, limit=500)
        return val

    return np.array([mom(-np.inf, a, j) for j in range(2 * k + 1)]), np.array([mom(b, np.inf, j) for j in range(2 * k + 1)])


def relu_power_kernel(xa, xb, zeta, activation="relu_power:2") -> np.ndarray:
    r"""The infinite-width output kernel ``K_k(x, x') = E[[W x + B]_+^k [W x' + B]_+^k]``.

    ``= (1/2) int zeta_k(c) ([x - c]_+^k [x' - c]_+^k + [c - x]_+^k [c - x']_+^k) dc`` for a
    symmetric init law (module docstring): ``lim Theta_output / n`` of the width-``n`` net
    with activation ``[x]_+^k`` (standard parametrization). Between the points (and the kinks
    of ``zeta``): composite Gauss-Legendre; beyond them: the moments ``int c^j zeta`` (``j <=
    2k``) by ``scipy.integrate.quad``. Gaussian init: ``|u|^k |u'|^k J_k(theta) / (2 pi)``,
    ``u = (s_w x, s_b)`` (arc-cosine kernel).

    Args:
        xa: points ``(P,)``; xb: points ``(Q,)``.
        zeta: an init, ``ShallowReLU``, ``Zeta`` (degree k) or callable (``relu_power_zeta``).
        activation: ``"relu"``, ``"relu_power:k"`` or ``k``.

    Returns:
        ``K (P, Q)``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.relu_power import relu_power_kernel
        >>> K = relu_power_kernel([0.0], [0.0], Gaussian(sigma_w=1.0, sigma_b=1.0), "relu_power:2")
        >>> round(float(K[0, 0]), 10)   # E[[B]_+^4] = 3/2 for B ~ N(0, 1)
        1.5
    """
    k = _degree(activation)
    z = _as_zeta(zeta, k)
    xa = np.asarray(xa, dtype=np.float64).reshape(-1)
    xb = np.asarray(xb, dtype=np.float64).reshape(-1)
    pts = np.unique(np.concatenate([xa, xb, np.asarray([c for c in z.kinks if math.isfinite(c)], dtype=np.float64)]))
    if pts.size == 1:
        pts = np.array([pts[0] - 1.0, pts[0] + 1.0])
    lo, hi = _panels(pts, 16)
    u, w = _nodes(lo, hi)
    u, wz = u.ravel(), (w * z(u.ravel()).reshape(u.shape)).ravel()
    Pa, Pb = np.maximum(xa[:, None] - u, 0.0) ** k, np.maximum(xb[:, None] - u, 0.0) ** k
    Na, Nb = np.maximum(u - xa[:, None], 0.0) ** k, np.maximum(u - xb[:, None], 0.0) ** k
    inner = (Pa * wz) @ Pb.T + (Na * wz) @ Nb.T
    left, right = _tail_moments(z, pts[0], pts[-1], k)
    # (x - c)^k = sum_i binom(k, i) x^{k-i} (-c)^i; beyond all points both products are (x-c)^k (x'-c)^k
    i = np.arange(k + 1)
    binom = np.array([math.comb(k, j) for j in i], dtype=np.float64)
    A = binom * xa[:, None] ** (k - i) * (-1.0) ** i  # (P, k+1)
    B = binom * xb[:, None] ** (k - i) * (-1.0) ** i
    mom = left + right
    H = mom[i[:, None] + i[None, :]]  # (k+1, k+1) Hankel of the tail moments
    return 0.5 * (inner + A @ H @ B.T)


class NullSpacePolynomial:
    r"""Thm 9's data adjustment ``p(x) = sum_{i=2}^k c_i x^i`` (``L p = 0``; affine part 0).

    Attributes:
        degree: k.
        coefficients: ``c_0 .. c_k`` in the power basis ``x^i`` (``c_0 = c_1 = 0``), ``(k+1,)``.

    ``p(x)`` evaluates at ``x (P,)``.
    """

    def __init__(self, coefficients: np.ndarray, k: int):
        self.coefficients, self.degree = coefficients, k

    def __call__(self, x) -> np.ndarray:
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=np.float64), self.coefficients)


def _saddle(G: np.ndarray, V: np.ndarray, r: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    M, n = V.shape
    A = np.block([[G, V], [V.T, np.zeros((n, n))]])
    try:
        sol = scipy.linalg.solve(A, np.concatenate([r, np.zeros(n)]), assume_a="sym")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        raise ValueError(f"the {what} system is singular: zeta must be positive on the data range and the points distinct") from None
    return sol[:M], sol[M:]


def null_space_polynomial(x, y, zeta, activation="relu_power:2", *, f0=None) -> NullSpacePolynomial:
    r"""The polynomial ``p`` (degree ``<= k``, ``L p = 0``) of montufar2024 Thm 9.

    Solves ``[K V; V' 0][alpha; d] = [y - f0(x); 0]`` with the network's kernel ``K =
    relu_power_kernel(x, x)`` and ``V_{ji} = x_j^i`` (``i <= k``); ``p`` is the part of ``V d``
    of degrees ``2..k``. A wide net trained as in Thm 5 (affine part free) on ``(x_j, y_j -
    p(x_j))`` then converges to the weighted spline of those adjusted data
    (``relu_power_spline(x, y - p(x), ...)``; derivation in the module docstring). ``p = 0``
    for ``k = 1``.

    Args:
        x: inputs ``(M,)`` or ``(M, 1)``, strictly increasing, ``M >= k + 1``.
        y: targets ``(M,)``.
        zeta: the init (or anything ``relu_power_zeta`` accepts).
        activation: ``"relu"``, ``"relu_power:k"`` or ``k``.
        f0: the initial function (None or a vectorised callable).

    Returns:
        A ``NullSpacePolynomial``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.relu_power import null_space_polynomial
        >>> x = np.linspace(-1, 1, 6)
        >>> p = null_space_polynomial(x, x**2, Gaussian(sigma_w=1.0, sigma_b=1.0), "relu_power:2")
        >>> np.round(p.coefficients, 10).tolist()   # a quadratic target is all null space
        [0.0, 0.0, 1.0]
    """
    k = _degree(activation)
    x, y = _check_xy(x, y, k)
    z = _as_zeta(zeta, k)
    r = y - _f0_values(f0, x)
    c0, sc = 0.5 * (x[0] + x[-1]), 0.5 * (x[-1] - x[0])
    V = ((x - c0) / sc)[:, None] ** np.arange(k + 1)
    _, d = _saddle(relu_power_kernel(x, x, z, k), V, r, "kernel")
    # d in the scaled basis s = (x - c0)/sc -> power basis in x
    P = np.polynomial.Polynomial(d).convert(domain=[x[0], x[-1]], window=[-1.0, 1.0]) if sc > 0 else np.polynomial.Polynomial(d)
    coef = np.zeros(k + 1)
    coef[: P.coef.size] = P.coef
    coef[:2] = 0.0
    return NullSpacePolynomial(coef, k)


# ----------------------------------------------------------------------------------------
# the weighted spline of degree 2k + 1
# ----------------------------------------------------------------------------------------


class _SplineKernel:
    """Nodes of the ``zeta``-weighted quadrature on ``[x_1, x_M]`` and the Gram ``K_S (M, M)``."""

    def __init__(self, x: np.ndarray, z: Zeta, k: int):
        self.x, self.zeta, self.k = x, z, k
        self.edges = _edges(x, z)
        n_sub, prev = 2, None
        for _ in range(12):
            lo, hi = _panels(self.edges, n_sub)
            u, w = _nodes(lo, hi)
            zu = z(u.ravel()).reshape(u.shape)
            wz = w * zu
            Phi = np.maximum(x[:, None] - u.ravel()[None, :], 0.0) ** k
            G = (Phi * wz.ravel()) @ Phi.T
            if prev is not None and np.max(np.abs(G - prev)) <= _GRAM_RTOL * np.max(np.abs(G)):
                break
            prev, n_sub = G, 2 * n_sub
        self.lo, self.hi, self.u, self.wz, self.gram = lo, hi, u.ravel(), wz.ravel(), G
        self.pan = np.repeat(np.arange(lo.size), _Q)
        dead = np.all(zu <= 0, axis=1)
        if dead.any():
            j = int(np.argmax(dead))
            raise ValueError(
                f"zeta vanishes on [{lo[j]:.6g}, {hi[j]:.6g}] inside the data range [{x[0]:.6g}, {x[-1]:.6g}]: the penalty 1/zeta is infinite there "
                "(Thm 9 needs zeta > 0 on the data range); use an init whose breakpoints cover the data (e.g. a_b >= max|x| for binary-uniform)"
            )

    def integral(self, xe: np.ndarray, alpha: np.ndarray, nu: int) -> np.ndarray:
        """``d^nu/dx^nu int_{x_1}^{min(x, x_M)} zeta m (x - u)^k du`` at ``xe (P,)``, ``nu <= k``."""
        k, x = self.k, self.x
        m_nodes = self.wz * (alpha @ np.maximum(x[:, None] - self.u[None, :], 0.0) ** k)
        inside = (xe >= x[0]) & (xe <= x[-1])
        p = np.where(xe > x[-1], self.lo.size, np.where(inside, np.clip(np.searchsorted(self.lo, xe, side="right") - 1, 0, self.lo.size - 1), 0))
        coef = math.perm(k, nu)
        ker = (self.pan[None, :] < p[:, None]) * np.maximum(xe[:, None] - self.u[None, :], 0.0) ** (k - nu)
        out = coef * ker @ m_nodes
        idx = np.nonzero(inside)[0]
        if idx.size:
            v, w = _nodes(self.lo[p[idx]], xe[idx])  # the partial panel [lo_p, x]
            mv = np.maximum(x[None, None, :] - v[:, :, None], 0.0) ** k @ alpha
            wz = w * self.zeta(v.ravel()).reshape(v.shape)
            out[idx] += coef * np.sum(mv * wz * (xe[idx][:, None] - v) ** (k - nu), axis=1)
        return out


class PowerSpline:
    r"""The weighted spline ``g* = f0 + h`` of degree ``2k+1`` of montufar2024 Thm 9.

    ``L h = zeta_k m``, ``L = D^{k+1}/k!``, ``m(u) = sum_j alpha_j [x_j - u]_+^k`` (a degree-k
    spline, zero outside ``[x_1, x_M]``), ``h = poly_k + int_{x_1}^x zeta_k m (x - u)^k du``.

    Attributes:
        x, y: the data (``y`` the targets the spline interpolates).
        degree: k.
        zeta: the ``Zeta``.
        alpha: ``(M,)`` Green's-function coefficients (orthogonal to polynomials of degree ``<= k``).
        penalty: ``int_S (1/zeta_k) [L (g - f0)]^2 = alpha' K_S alpha``.
    """

    def __init__(self, kern: _SplineKernel, y, f0, alpha, d, c0, sc):
        self._kern, self._f0, self._d, self._c0, self._sc = kern, f0, d, c0, sc
        self.x, self.y, self.degree, self.zeta, self.alpha = kern.x, y, kern.k, kern.zeta, alpha
        self.penalty = float(alpha @ kern.gram @ alpha)

    def deviation(self, x, nu: int = 0) -> np.ndarray:
        """``h^{(nu)}(x)``, ``h = g - f0``, ``0 <= nu <= k + 1`` (``h^{(k+1)} = k! zeta m``), ``(P,)``."""
        k = self.degree
        if isinstance(nu, bool) or not isinstance(nu, (int, np.integer)) or not 0 <= nu <= k + 1:
            raise ValueError(f"nu must be an integer in [0, {k + 1}]; received {nu!r}")
        xe = np.asarray(x, dtype=np.float64).reshape(-1)
        if nu == k + 1:
            return math.factorial(k) * self.zeta(xe) * self.multiplier(xe)
        s = (xe - self._c0) / self._sc
        poly = sum(self._d[i] * math.perm(i, nu) * s ** (i - nu) / self._sc**nu for i in range(nu, k + 1))
        return poly + self._kern.integral(xe, self.alpha, nu)

    def multiplier(self, x) -> np.ndarray:
        """``m(x) = L(g - f0)(x) / zeta_k(x)``: a degree-k spline, 0 outside ``[x_1, x_M]``, ``(P,)``."""
        xe = np.asarray(x, dtype=np.float64).reshape(-1)
        m = np.maximum(self.x[None, :] - xe[:, None], 0.0) ** self.degree @ self.alpha
        return np.where((xe >= self.x[0]) & (xe <= self.x[-1]), m, 0.0)

    def __call__(self, x) -> np.ndarray:
        """``g*(x)`` at ``x (P,)`` -> ``(P,)``."""
        xe = np.asarray(x, dtype=np.float64).reshape(-1)
        return _f0_values(self._f0, xe) + self.deviation(xe)


def relu_power_spline(x, y, zeta, activation="relu_power:2", *, f0=None) -> PowerSpline:
    r"""``g*`` of montufar2024 Thm 9 for ``phi = [x]_+^k``: the weighted spline of degree ``2k+1``.

    ``g* = argmin int_S (1/zeta_k(x)) [L (g - f0)(x)]^2 dx`` s.t. ``g(x_j) = y_j``, with
    ``L = D^{k+1}/k!``, ``zeta_k = p_C E[W^{2k} | C]`` and ``S = [x_1, x_M]``. Pass the adjusted
    targets ``y - p(x)`` (``null_space_polynomial``) for the function the trained net approaches.
    Solved as the Green's-function interpolant with the spline kernel ``K_S`` (module
    docstring); for constant ``zeta`` the natural spline of degree ``2k+1``; for ``k = 1`` the
    weighted cubic spline of Thm 5 (``theory.splines.weighted_spline_interpolant``). Dense
    ``O(M^3)``: meant for up to a few hundred points; evaluation costs ``O(P * nodes)``.

    Args:
        x: inputs ``(M,)`` or ``(M, 1)``, strictly increasing, ``M >= k + 1``.
        y: targets ``(M,)``.
        zeta: the init (``relu_power_zeta`` accepts an init, ``ShallowReLU``, ``Zeta``, callable
            or positive constant).
        activation: ``"relu"``, ``"relu_power:k"`` or ``k``.
        f0: the initial function: None or a vectorised callable.

    Returns:
        A ``PowerSpline``: ``g(x)``, ``g.deviation(x, nu)``, ``g.multiplier(x)``, ``g.penalty``.

    Raises:
        ValueError: an activation without a known operator, bad shapes, unsorted ``x``, fewer
            than ``k + 1`` points, ``zeta`` vanishing inside the data range (naming where).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.relu_power import relu_power_spline
        >>> x = np.linspace(0, 1, 6); g = relu_power_spline(x, x**3, 1.0, "relu_power:3")
        >>> bool(np.allclose(g([0.25, 0.5]), [0.25**3, 0.125]))   # cubics are free (L = D^4/3!)
        True
    """
    k = _degree(activation)
    x, y = _check_xy(x, y, k)
    z = _as_zeta(zeta, k)
    kern = _SplineKernel(x, z, k)
    r = y - _f0_values(f0, x)
    c0, sc = 0.5 * (x[0] + x[-1]), 0.5 * (x[-1] - x[0])
    V = ((x - c0) / sc)[:, None] ** np.arange(k + 1)
    alpha, d = _saddle(kern.gram, V, r, "spline")
    return PowerSpline(kern, y, f0, alpha, d, c0, sc)
