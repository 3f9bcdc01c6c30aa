r"""Wide shallow ReLU nets trained by GD: the weighted spline they converge to (montufar2024, part 2).

Jin & Montufar (JMLR 2023), presented in montufar2024 (slides "Theorem 5 (Univariate
regression)" to "Generalization to other activation functions"), show that a wide univariate
network ``f(x, theta) = sum_i W2_i [W1_i x + b1_i]_+ + b2`` (skip connection, standard
parametrization, hidden units ``(W1_i, b1_i)`` drawn i.i.d. from ``(W, B)``) trained by
full-batch GD with a small step converges to the solution ``g*`` of

    min_{g in C^2(S)} int_S (1/zeta(x)) (g''(x) - f''(x, theta_0))^2 dx
    s.t. g(x_j) = y_j, j = 1..M,                                          (eq. (5))

    zeta(x) = int |W|^3 p_{W,B}(W, -W x) dW,   S = supp(zeta) cap [min_j x_j, max_j x_j],

and that along training the function follows the smoothing splines

    min_g sum_j (g(x_j) - y_j)^2 + (1/(eta_bar t)) int_S (1/zeta) (g'' - f''(., theta_0))^2.

This module computes these predictions without training (it never imports ``algorithms`` or
``train``): ``zeta`` for every initialization of ``implicit_bias.models.init``, the weighted
cubic spline ``g*`` (``weighted_spline_interpolant``), its smoothing-spline path
(``smoothing_spline_path``) with the time map (``lambda_from_time``), the Green's-operator
splines of Thm 9 (``green_spline_path``, degrees k = 1, 2) and the rates quoted on the slides.

Derivations and normalisations (re-derived here; the slides state the results only)
------------------------------------------------------------------------------------

**Why ``|W|^3`` and no other constant.** With standard parametrization and step
``eta = eta_bar / n`` (``n`` = width), the tangent kernel of the width-``n`` net divided by
``n`` tends to ``K(x, x') = E[[W x + B]_+ [W x' + B]_+]``: the output-layer features; the
hidden-layer part is ``sum_i W2_i^2 (...) = O(1)``, a fraction ``O(1/n)`` of the whole. A
function ``h = E[a(W, B) [W x + B]_+]`` has RKHS norm ``||h||_K^2 = min E[a^2]``. Since
``d^2/dx^2 [w x + b]_+ = w^2 delta(w x + b) = |w| delta(x - c)``, ``c = -b/w``, and
``db = |w| dc``,

    h''(x) = int a(w, -w x) w^2 p_{W,B}(w, -w x) dw,
    E[a^2] = int dx int a(w, -w x)^2 |w| p_{W,B}(w, -w x) dw,

and Cauchy-Schwarz at each ``x`` gives ``min E[a^2] = int h''(x)^2 / zeta(x) dx`` with exactly
``zeta(x) = int |w|^3 p_{W,B}(w, -w x) dw = p_C(x) E[W^2 | C = x]`` (the optimum is
``a(w, b) = kappa(c) |w|``). So ``1/zeta`` is the RKHS metric of ``K`` on curvature, with no
extra factor: ``|W|^3 = W^2`` (squared feature slope) ``x |W|`` (Jacobian of ``b -> c``).
Training only the output layer gives exactly this kernel; training all layers adds the
hidden-layer part, a vanishing fraction. The affine part of ``h`` is not fixed by ``h''``:
eq. (5) leaves it free, and that is what we compute. In the kernel picture it is free only in
the limit where the affine parameters (skip weight, output bias) move infinitely faster than
the units: with their step ``beta eta_bar`` (units: ``eta_bar/n``) the limit kernel is
``K + beta (1 + x x')`` and its interpolant differs from ``g*`` by ``O(1/beta)`` (measured
1.8e-3, 2.3e-4, 2.3e-5 sup for beta = 1, 10, 100, Gaussian (1, 1) init, 6 points of
``sin 3x``); ``beta = 1`` (step ``eta_bar``) is not enough. With the same per-parameter step
(``beta = 1/n -> 0``) ``K`` itself charges a finite cost for the affine part (the extra terms of
the no-skip variant of Thm 5; gap 0.0076 sup in that example). Stability caps ``beta eta_bar``
at O(1), so the training checks take ``beta = inf`` exactly: the affine part is refitted by
least squares after every GD step (:class:`implicit_bias.algorithms.WidthScaledGD`; the
module docstring of :mod:`implicit_bias.experiments.splines` has the derivation and the
measurements, :mod:`implicit_bias.theory.relu_kernels` the kernel ``K`` and its interpolants).

Closed forms (Thm 6; ``degree`` k generalises ``|W|^3`` to ``|W|^{2k+1}``, Thm 9):

- Gaussian ``W ~ N(0, s_w^2)``, ``B ~ N(0, s_b^2)``: with ``s^2 = s_w^2 s_b^2 / (s_b^2 + x^2 s_w^2)``,
  ``int |w|^{2k+1} e^{-w^2/(2 s^2)} dw = 2^{k+1} k! s^{2k+2}``, so
  ``zeta_k(x) = 2^k k! s_w^{2k+1} s_b^{2k+1} / (pi (s_b^2 + x^2 s_w^2)^{k+1})``; k = 1 is
  the slide's ``2 s_w^3 s_b^3 / (pi (s_b^2 + x^2 s_w^2)^2)`` exactly (checked).
- Binary-uniform ``W in {-1, 1}``, ``B ~ U(-a_b, a_b)``: ``zeta(x) = 1/(2 a_b)`` for
  ``|x| <= a_b`` and 0 outside (any k). Thm 6.2's "constant on [-L, L] if a_b >= L".
- Uniform ``W ~ U(-a_w, a_w)``, ``B ~ U(-a_b, a_b)``: ``zeta_k(x) = a_w^{2k+1} / (4(k+1) a_b)``
  for ``|x| <= a_b/a_w`` and ``a_b^{2k+1} / (4(k+1) a_w |x|^{2k+2})`` outside (k = 1:
  ``a_w^3/(8 a_b)``, tails ``a_b^3/(8 a_w x^4)``). Thm 6.3's condition ``a_b/a_w >= L``.
- Breakpoints (Prop 7) ``W ~ N(0, s_w^2)`` independent of ``C ~ p_C``: ``zeta_k = E[W^{2k}] p_C
  = (2k-1)!! s_w^{2k} p_C``; with ``p_C = 1/(Z rho)`` this is ``1/zeta = Z rho / s_w^2``.
- PyTorch default (``d = 1``): the uniform case with ``a_w = a_b = 1``.

**The weighted spline (eq. (5)), exactly.** Write ``h = g - f0`` with ``f0 = f(., theta_0)``
and ``r_j = y_j - f0(x_j)``: eq. (5) is ``min int_S h''^2 / zeta`` s.t. ``h(x_j) = r_j``, and
``f0''`` (a sum of Diracs for a ReLU net) never has to be formed. The Euler-Lagrange equation
gives ``h'' = zeta m`` with ``m`` piecewise linear between data points, continuous, and
``m(x_1) = m(x_M) = 0`` (natural conditions: ``h'(x_1)``, ``h'(x_M)`` are free). Where
``zeta = 0`` inside the data range ``h`` is affine, as the network's deviation is (it has no
breakpoints there). With ``phi_L = (x_{k+1} - u)/D_k``, ``phi_R = (u - x_k)/D_k`` on
``[x_k, x_{k+1}]``, ``D_k = x_{k+1} - x_k``, and the zeta-moments

    A_k = int phi_L^2 zeta,   B_k = int phi_L phi_R zeta,   C_k = int phi_R^2 zeta,

continuity of ``h'`` at the interior knots is the tridiagonal system (Reinsch's, with
``zeta = 1`` giving ``A = C = D/3``, ``B = D/6``)

    B_{k-1} m_{k-1} + (C_{k-1} + A_k) m_k + B_k m_{k+1} = (r_{k+1}-r_k)/D_k - (r_k-r_{k-1})/D_{k-1},

i.e. ``R m = Q^T r``, and the penalty is ``int zeta m^2 = m^T R m``. On each interval
``h = linear interpolation + w``, ``w(x) = -int G(x, u) zeta(u) m(u) du`` with the Dirichlet
Green's function ``G`` of ``-d^2/dx^2``: evaluated exactly up to the quadrature of the
zeta-moments. Those are integrated by adaptive Gauss-Legendre panels (16 nodes) split at the
data points and at the known kinks/jumps of ``zeta``, refined until the panel moments agree
with their two-half value to ``1e-13`` relative: exact to rounding where ``zeta`` is piecewise
polynomial (binary-uniform, Breakpoints, uniform on ``|x| <= a_b/a_w``) and spectrally accurate
where it is smooth (Gaussian, the uniform tails).
Outside ``[x_1, x_M]`` (not part of eq. (5)) ``g - f0`` is continued affinely, the
minimum-penalty extension.

**Smoothing splines.** ``min sum_j (h(x_j) - r_j)^2 + lam int h''^2/zeta``: the same ``h''
= zeta m`` form, with ``(R + lam Q^T Q) m = Q^T r`` and ``h = r - lam Q m`` at the knots. One
``lam`` is solved as the sparse block system ``h + Q mu = r``, ``Q^T h = R mu / lam`` (``mu =
lam m``; ``O(M)``, accurate to ~1e-14 for every ``lam``, where the Schur form above loses up to
5 digits to cancellation at large ``lam``, measured against 40-digit arithmetic). For a path
over many ``lam`` one factorisation suffices: with ``R = L L^T`` and the SVD ``L^{-1} Q^T = U
diag(s) V^T``, ``h(lam) = V diag(1/(1 + lam s^2)) V^T r`` (Demmler-Reinsch basis; the two zero
``s`` are the affine functions); ``O(M^3)`` once, then ``O(M^2)`` per ``lam``.

**The time map ``lam = 1/(eta_bar t)``.** One GD step on the loss ``L`` changes the
outputs, to first order, by ``-eta Theta_n dL/df``; with ``dL/df(x_j) = c (f(x_j) - y_j)``,
``eta = eta_bar / n`` and ``Theta_n / n -> K``, the residual after ``t`` steps is
``exp(-c eta_bar t K) r`` (linearised), i.e. the fit is ``(1 - e^{-c eta_bar t s})`` in each
kernel eigendirection ``s``. The smoothing spline (ridge) filter is ``s / (s + lam)``. Both
tend to 1 as ``t -> infinity``; they agree to first order as ``t -> 0`` (which fixes the
constant) exactly when

    lam = 1 / (c eta_bar t),    c = 2 for L = sum_j (f - y)^2 (the slide's loss),
                                c = 1 for L = (1/2) sum_j (f - y)^2,
                                c = 1/M for the library's square loss (1/(2M)) sum_j (f - y)^2.

The slides write both ``L = sum_j ||f(x_j) - y_j||^2`` and ``lam = 1/(eta_bar t)``: these
agree only if ``eta_bar`` absorbs the factor 2 (equivalently, a loss ``(1/2) sum``). The
slides do not define ``eta_bar``; we read it as the width-normalised step ``eta_bar = n eta``
(for gradient flow, ``eta t`` is the flow time ``tau``, so ``eta_bar t = n tau``). The map is
a matching of spectral filters, not an identity: at finite ``t`` the two filters differ by up
to ``max_u |1 - e^{-u} - u/(1 + u)| = 0.204`` (at ``u = c eta_bar t s = 2.51``) per
eigendirection. Also, the early-stopping rate below needs ``lam`` (sum-normalised)
``~ M^{1/5}``; ``t = Theta(M^{4/5})`` gives that with a mean-normalised loss (``c ~ 1/M``), or
with a sum loss whose step shrinks like ``1/M`` (as GD stability forces, since ``||K||`` over
``M`` points grows like ``M``): the consistent reading of the slide.

**Rates (slide "From Theorem 5 we can extract generalization results").** Noiseless, zeta
uniform: ``||g* - g0||_inf <= C ||g0''''||_inf h^4``; noisy with early stopping ``t =
Theta(M^{4/5})``: ``E||g* - g0||_2^2 = O(M^{-4/5})``. Caveat (measured, see
``noiseless_rate``): ``g*`` with constant zeta is the *natural* cubic spline, whose error is
``O(h^2)`` near the ends unless ``g0''`` vanishes there; the ``h^4`` bound holds uniformly only
under ``g0''(x_1) = g0''(x_M) = 0`` (or away from the ends).

Conventions: data ``x`` is ``(M,)`` or ``(M, 1)``, strictly increasing; ``y`` is ``(M,)``;
functions are evaluated at ``(P,)`` points and return float64 NumPy arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Mapping
from typing import Callable

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from ..models import ShallowReLU, check_params
from ..models.init import AbstractInit, BinaryUniform, Breakpoints, Gaussian, PyTorchUniform, Uniform

__all__ = [
    "Zeta",
    "zeta_function",
    "zeta",
    "zeta_constant",
    "WeightedSpline",
    "SmoothingSplinePath",
    "weighted_spline_interpolant",
    "smoothing_spline_path",
    "smoothing_spline",
    "lambda_from_time",
    "time_from_lambda",
    "GreenSpline",
    "GreenSplinePath",
    "green_spline_path",
    "green_spline",
    "noiseless_rate",
    "early_stopping_rate",
    "early_stopping_time",
]

_Q = 16  # Gauss-Legendre nodes per panel
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_Q)
_PANEL_RTOL = 1e-13
_MAX_PANELS = 200_000


# ----------------------------------------------------------------------------------------
# zeta
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class Zeta:
    """The reciprocal curvature penalty ``zeta`` as a vectorised function.

    ``zeta(x (P,)) -> (P,)``, values ``>= 0``. ``kinks`` lists the points where ``zeta`` or a
    derivative jumps (spline quadrature splits there; give them for custom ``zeta`` with
    jumps, or accuracy drops to the adaptive refinement's). ``degree`` is the homogeneity
    degree k of the activation the penalty belongs to (1 for ReLU, Thm 5; k for Thm 9).

    Build one with ``zeta_function``; splines accept it (or an init, a model, a callable, a
    positive number) wherever a ``zeta`` argument is asked for.

    Example:
        >>> from implicit_bias.theory.splines import Zeta
        >>> z = Zeta(lambda x: 1.0 + 0.0 * x, name="constant 1")
        >>> z([0.0, 2.0]).tolist()
        [1.0, 1.0]
    """

    fn: Callable
    kinks: tuple = ()
    degree: int = 1
    name: str = "custom"

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        out = np.broadcast_to(np.asarray(self.fn(x), dtype=np.float64), x.shape)
        if not np.all(np.isfinite(out)) or np.any(out < 0):
            raise ValueError(f"zeta ({self.name}) must be finite and >= 0; it returned NaN, Inf or negative values")
        return np.array(out)


def _double_factorial_odd(k: int) -> float:
    return float(np.prod(np.arange(2 * k - 1, 0, -2))) if k > 0 else 1.0


def _check_degree(degree) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
        raise ValueError(f"degree must be a positive integer (1 for ReLU, k for [x]_+^k); received {degree!r}")
    return int(degree)


def _closed_form(init: AbstractInit, k: int) -> Zeta | None:
    """Closed-form zeta_k for the known inits (see the module docstring), else None."""
    if isinstance(init, Gaussian):
        sw, sb = float(init.sigma_w), float(init.sigma_b)
        const = 2.0**k * math.factorial(k) * sw ** (2 * k + 1) * sb ** (2 * k + 1) / math.pi

        def fn(x):
            return const / (sb**2 + x**2 * sw**2) ** (k + 1)

        return Zeta(fn, (), k, f"gaussian(sigma_w={sw}, sigma_b={sb})")
    if isinstance(init, (Uniform, PyTorchUniform)):
        aw, ab = (float(init.a_w), float(init.a_b)) if isinstance(init, Uniform) else (1.0, 1.0)
        inner = aw ** (2 * k + 1) / (4.0 * (k + 1) * ab)
        c = ab / aw

        def fn(x):
            ax = np.abs(x)
            tail = ab ** (2 * k + 1) / (4.0 * (k + 1) * aw * np.where(ax > c, ax, c) ** (2 * k + 2))
            return np.where(ax <= c, inner, tail)

        return Zeta(fn, (-c, c), k, f"uniform(a_w={aw}, a_b={ab})")
    if isinstance(init, BinaryUniform):
        ab = float(init.a_b)

        def fn(x):
            return np.where(np.abs(x) <= ab, 1.0 / (2.0 * ab), 0.0)

        return Zeta(fn, (-ab, ab), k, f"binary-uniform(a_b={ab})")
    if isinstance(init, Breakpoints):
        moment = _double_factorial_odd(k) * float(init.sigma_w) ** (2 * k)
        grid = init._table()[0]

        def fn(x):
            return moment * init.breakpoint_pdf(x)

        return Zeta(fn, tuple(grid.tolist()), k, f"breakpoints(sigma_w={float(init.sigma_w)})")
    return None


def _w_range(init: AbstractInit, x: float) -> tuple[float, list[float]]:
    """Upper end of |W| and discontinuity points of w -> p(w, -w x) on (0, w_max) (known inits)."""
    if isinstance(init, (Uniform, PyTorchUniform)):
        aw, ab = (float(init.a_w), float(init.a_b)) if isinstance(init, Uniform) else (1.0, 1.0)
        pts = [ab / abs(x)] if x != 0 and ab / abs(x) < aw else []
        return aw, pts
    return math.inf, []


def _zeta_quadrature(x: np.ndarray, init: AbstractInit, k: int) -> np.ndarray:
    """zeta_k(x) = int |w|^{2k+1} p_{W,B}(w, -w x) dw straight from ``init.density``."""
    from scipy.integrate import quad as _quad  # lazily: scipy.integrate costs 0.27 s of `import implicit_bias`

    p = 2 * k + 1
    if init.w_atoms is not None:  # discrete W: density w.r.t. counting measure on the atoms
        return sum(abs(a) ** p * np.asarray(init.density(a, -a * x), dtype=np.float64) for a in init.w_atoms)
    out = np.empty(x.size)
    for i, xi in enumerate(x.ravel()):
        xi = float(xi)
        w_max, pts = _w_range(init, xi)

        def f(w, xi=xi):
            return abs(w) ** p * float(init.density(w, -w * xi))

        total = 0.0
        for sgn in (1.0, -1.0):
            g = (lambda w, s=sgn: f(s * w))
            if math.isinf(w_max):
                val, _ = _quad(g, 0.0, math.inf, epsabs=0.0, epsrel=1e-12, limit=400)
            else:
                val, _ = _quad(g, 0.0, w_max, points=pts or None, epsabs=0.0, epsrel=1e-12, limit=400)
            total += val
        out[i] = total
    return out.reshape(x.shape)


def zeta_function(source, *, degree: int = 1, method: str = "auto", kinks=()) -> Zeta:
    r"""``zeta`` as a ``Zeta`` function for an initialization, model, callable or constant.

    ``zeta_k(x) = int |W|^{2k+1} p_{W,B}(W, -W x) dW = p_C(x) E[W^{2k} | C = x]``
    (montufar2024 Thm 5 for k = 1; Thm 9 for an activation homogeneous of degree k), with
    ``p_{W,B}`` the law of a hidden unit's (input weight, bias) at initialization.

    Args:
        source: an ``AbstractInit`` of ``implicit_bias.models.init`` (Gaussian, Uniform,
            BinaryUniform, Breakpoints, PyTorchUniform or a user subclass with ``density``),
            a univariate ``ShallowReLU`` (its ``distribution``), a ``Zeta`` (returned as is),
            a vectorised callable ``x (P,) -> (P,)``, or a positive number (constant zeta).
        degree: k (1 = ReLU).
        method: ``"auto"`` (closed form where known, else quadrature), ``"closed"`` (raise if
            none is known) or ``"quadrature"`` (the definition, integrated with
            ``scipy.integrate.quad`` in ``w`` at each ``x``, relative tolerance 1e-12, or the
            sum over the atoms of a discrete ``W`` such as binary-uniform). Quadrature costs
            about a millisecond per point, too slow inside the splines (thousands of nodes):
            there, prefer a closed form or a fast callable with its ``kinks``. The closed
            forms are exact (module docstring). At a jump of ``zeta`` (binary-uniform
            ``|x| = a_b``, the ends of a Breakpoints range) the value is a convention (``<=``,
            as ``density``); the definition's integral is not well defined there.
        kinks: points where a callable ``source`` is not smooth (ignored otherwise).

    Returns:
        A ``Zeta``.

    Raises:
        ValueError: an unknown ``source`` type or ``method``, ``method="closed"`` for an init
            without a closed form, a non-positive constant, a multivariate model.

    Example:
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.splines import zeta_function
        >>> z = zeta_function(Gaussian(sigma_w=1.0, sigma_b=1.0))
        >>> round(float(z(0.0)), 12) == round(2 / 3.141592653589793, 12)
        True
    """
    k = _check_degree(degree)
    if method not in ("auto", "closed", "quadrature"):
        raise ValueError(f"method must be 'auto', 'closed' or 'quadrature'; received {method!r}")
    if isinstance(source, Zeta):
        return source
    if isinstance(source, ShallowReLU):
        if source.input_dim != 1:
            raise ValueError(f"zeta is defined for univariate networks (montufar2024 Thm 5): input_dim must be 1; received {source.input_dim}")
        source = source.distribution
    if isinstance(source, AbstractInit):
        if method != "quadrature":
            z = _closed_form(source, k)
            if z is not None:
                return z
            if method == "closed":
                raise ValueError(f"no closed form of zeta is known for {type(source).__name__}; use method='quadrature'")
        init = source

        def fn(x):
            return _zeta_quadrature(np.asarray(x, dtype=np.float64), init, k)

        return Zeta(fn, (), k, f"quadrature({type(init).__name__})")
    if isinstance(source, (int, float, np.floating, np.integer)) and not isinstance(source, bool):
        c = float(source)
        if not (math.isfinite(c) and c > 0):
            raise ValueError(f"a constant zeta must be a finite number > 0; received {source!r}")
        return Zeta(lambda x: np.full(np.shape(x), c), (), k, f"constant({c})")
    if callable(source):
        return Zeta(source, tuple(float(v) for v in np.ravel(kinks)), k, getattr(source, "__name__", "custom"))
    raise ValueError(
        f"zeta must be an initialization (implicit_bias.models.init), a ShallowReLU, a Zeta, a vectorised callable or a positive number; received {type(source).__name__}"
    )


def zeta(x, init, *, degree: int = 1, method: str = "auto") -> np.ndarray:
    r"""The reciprocal curvature penalty ``zeta(x) = int |W|^3 p_{W,B}(W, -W x) dW`` at ``x``.

    montufar2024 Thm 5 (definition) and Thm 6 (closed forms: Gaussian
    ``2 s_w^3 s_b^3 / (pi (s_b^2 + x^2 s_w^2)^2)``, binary-uniform ``1/(2 a_b)`` on
    ``|x| <= a_b``, uniform ``a_w^3 / (8 a_b)`` on ``|x| <= a_b/a_w``; derivations and the
    tails in the module docstring); Prop 7 (Breakpoints: ``s_w^2 p_C(x)``). With ``degree=k``,
    ``|W|^{2k+1}`` (Thm 9).

    Args:
        x: points, any shape.
        init: the initialization (see ``zeta_function`` for everything accepted).
        degree: k (1 = ReLU).
        method: ``"auto"``, ``"closed"`` or ``"quadrature"`` (see ``zeta_function``).

    Returns:
        ``zeta(x)``, same shape as ``x``.

    Example:
        >>> from implicit_bias.models.init import Uniform
        >>> from implicit_bias.theory.splines import zeta
        >>> zeta([0.0, 1.0, 4.0], Uniform(a_w=1.0, a_b=2.0)).tolist()   # a_w^3/(8 a_b); a_b^3/(8 a_w x^4)
        [0.0625, 0.0625, 0.00390625]
    """
    return zeta_function(init, degree=degree, method=method)(x)


def zeta_constant(init, interval, *, degree: int = 1) -> float:
    r"""The constant value of ``zeta`` on ``interval`` when montufar2024 Thm 6 makes it constant.

    Binary-uniform: ``1/(2 a_b)``, needs ``a_b >= L`` (Thm 6.2); uniform:
    ``a_w^{2k+1} / (4 (k+1) a_b)`` (k = 1: ``a_w^3/(8 a_b)``), needs ``a_b / a_w >= L`` (Thm
    6.3); PyTorch default: uniform with ``a_w = a_b = 1``; Breakpoints: ``(2k-1)!! s_w^{2k}
    p_C`` if ``p_C`` is constant there. ``L = max(|lo|, |hi|)``.

    Args:
        init: an initialization (or univariate ShallowReLU).
        interval: ``(lo, hi)``, or a number ``L`` for ``[-L, L]``.
        degree: k (1 = ReLU).

    Returns:
        The constant (a float).

    Raises:
        ValueError: the init's condition fails on ``interval`` (naming the condition), or the
            init never gives a constant ``zeta`` (Gaussian).

    Example:
        >>> from implicit_bias.models.init import BinaryUniform
        >>> from implicit_bias.theory.splines import zeta_constant
        >>> zeta_constant(BinaryUniform(a_b=2.0), 1.5)
        0.25
    """
    k = _check_degree(degree)
    if isinstance(init, ShallowReLU):
        init = init.distribution
    try:
        lo, hi = (-abs(float(interval)), abs(float(interval))) if np.ndim(interval) == 0 else (float(interval[0]), float(interval[1]))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"interval must be (lo, hi) or a number L for [-L, L]; received {interval!r}") from None
    if not lo <= hi:
        raise ValueError(f"interval must be (lo, hi) with lo <= hi; received {interval!r}")
    L = max(abs(lo), abs(hi))
    if isinstance(init, BinaryUniform):
        if float(init.a_b) < L:
            raise ValueError(f"binary-uniform zeta is constant on [-L, L] only if a_b >= L (montufar2024 Thm 6.2); a_b = {float(init.a_b)} < L = {L}: raise a_b")
        return 1.0 / (2.0 * float(init.a_b))
    if isinstance(init, (Uniform, PyTorchUniform)):
        aw, ab = (float(init.a_w), float(init.a_b)) if isinstance(init, Uniform) else (1.0, 1.0)
        if ab / aw < L:
            raise ValueError(f"uniform zeta is constant on [-L, L] only if a_b/a_w >= L (montufar2024 Thm 6.3); a_b/a_w = {ab / aw} < L = {L}: raise a_b or lower a_w")
        return aw ** (2 * k + 1) / (4.0 * (k + 1) * ab)
    if isinstance(init, Breakpoints):
        z = _closed_form(init, k)
        v = z(np.linspace(lo, hi, 257))
        if not np.all(v > 0) or v.max() - v.min() > 1e-12 * v.max():
            raise ValueError(f"breakpoints zeta = E[W^2] p_C is not constant on {(lo, hi)}: p_C varies there (montufar2024 Prop 7)")
        return float(v[0])
    raise ValueError(f"{type(init).__name__} does not give a constant zeta (montufar2024 Thm 6 covers binary-uniform and uniform inits); use zeta(x, init)")


# ----------------------------------------------------------------------------------------
# input checks and the initial function f0
# ----------------------------------------------------------------------------------------


def _check_data(x, y, min_points: int = 2) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim != 1:
        raise ValueError(f"x must have shape (M,) or (M, 1) (univariate inputs); received shape {x.shape}")
    if y.shape != x.shape:
        raise ValueError(f"y must have shape (M,) matching x {x.shape}; received shape {y.shape}")
    if x.size < min_points:
        raise ValueError(f"need at least {min_points} data points; received {x.size}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite; found NaN or Inf")
    d = np.diff(x)
    if np.any(d == 0):
        i = int(np.argmax(d == 0))
        raise ValueError(f"x has duplicate values (x[{i}] = x[{i + 1}] = {x[i]}); average or drop repeated inputs before fitting")
    if np.any(d < 0):
        raise ValueError("x must be strictly increasing; sort the data first (order = np.argsort(x); x, y = x[order], y[order])")
    return x, y


def _check_lam(lam) -> np.ndarray:
    lam = np.asarray(lam, dtype=np.float64)
    if np.any(np.isnan(lam)) or np.any(lam < 0):
        raise ValueError(f"lam must be >= 0 (inf allowed: the affine fit); received {lam.tolist()!r}")
    return lam


class _F0:
    """The initial function f0 = f(., theta_0): None (0), a ReLU net's params, or a callable."""

    def __init__(self, f0):
        self.kind, self.params, self.fn = "zero", None, None
        if f0 is None:
            return
        if isinstance(f0, tuple) and len(f0) == 2 and isinstance(f0[0], ShallowReLU):
            model, params = f0
            if model.input_dim != 1:
                raise ValueError(f"f0: the ShallowReLU must be univariate (input_dim 1); received input_dim {model.input_dim}")
            self.kind, self.params = "relu", {k: np.asarray(v) for k, v in check_params(model, dict(params)).items()}
            return
        if isinstance(f0, Mapping):
            shape = np.shape(f0.get("w1", None))
            if len(shape) != 2 or shape[1] != 1:
                raise ValueError(f"f0 params must be a univariate shallow ReLU dict {{'w1' (k, 1), 'b1', 'w2', 'b2'[, 'skip']}}; received keys {sorted(f0)}, w1 shape {shape}")
            model = ShallowReLU(shape[0], skip="skip" in f0)
            self.kind, self.params = "relu", {k: np.asarray(v) for k, v in check_params(model, dict(f0)).items()}
            return
        if callable(f0):
            self.kind, self.fn = "callable", f0
            return
        raise ValueError(f"f0 must be None, a callable x (P,) -> (P,), ShallowReLU params, or (ShallowReLU, params); received {type(f0).__name__}")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "zero":
            return np.zeros_like(x)
        if self.kind == "relu":
            p = self.params
            pre = x[:, None] * p["w1"][None, :, 0] + p["b1"][None, :]
            out = np.maximum(pre, 0.0) @ p["w2"] + p["b2"]
            return out + x * p["skip"][0] if "skip" in p else out
        out = np.asarray(self.fn(x), dtype=np.float64)
        if out.shape != x.shape:
            raise ValueError(f"f0 must map x of shape {x.shape} to outputs of the same shape; received shape {out.shape}")
        if not np.all(np.isfinite(out)):
            raise ValueError("f0 returned NaN or Inf")
        return out

    def derivative(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "zero":
            return np.zeros_like(x)
        if self.kind == "relu":
            p = self.params
            pre = x[:, None] * p["w1"][None, :, 0] + p["b1"][None, :]
            out = (pre > 0) @ (p["w2"] * p["w1"][:, 0])
            return out + p["skip"][0] if "skip" in p else out
        raise ValueError("the derivative of g needs f0': pass f0 as ShallowReLU params (or None), or use deviation(x, nu) for g - f0")


def _points(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] == 1:
        x = x[:, 0]
    if x.ndim > 1:
        raise ValueError(f"evaluation points must have shape (P,) or (P, 1); received shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("evaluation points must be finite")
    return x


# ----------------------------------------------------------------------------------------
# quadrature panels for the zeta-moments
# ----------------------------------------------------------------------------------------


def _gl(lo, hi):
    half = 0.5 * (hi - lo)
    return 0.5 * (hi + lo)[:, None] + half[:, None] * _GL_X, half[:, None] * _GL_W


class _Panels:
    """Adaptive Gauss-Legendre panels on [x_0, x_{M-1}] for the moments of zeta.

    Panels never straddle a data point or a kink of zeta. On panel p (in data interval
    ``iv[p]``) the three moments of ``zeta`` against ``phi_L^2, phi_L phi_R, phi_R^2`` (local
    hat functions of the interval) are integrated with 16 nodes; a panel is halved until its
    moments agree with the sum over its halves to ``_PANEL_RTOL`` of the interval's zeta mass.
    """

    def __init__(self, knots: np.ndarray, z: Zeta):
        self.knots, self.zeta = knots, z
        self.dx = np.diff(knots)
        span = knots[-1] - knots[0]
        kinks = np.asarray(z.kinks, dtype=np.float64)
        lo, hi, iv = [], [], []
        for k in range(knots.size - 1):
            a, b = knots[k], knots[k + 1]
            inner = kinks[(kinks > a) & (kinks < b)]
            edges = np.concatenate([[a], np.sort(inner), [b]])
            for e0, e1 in zip(edges[:-1], edges[1:]):
                n = max(1, int(math.ceil(16 * (e1 - e0) / span)))
                t = np.linspace(e0, e1, n + 1)
                t[-1] = e1
                lo.append(t[:-1]), hi.append(t[1:]), iv.append(np.full(n, k))
        lo, hi, iv = np.concatenate(lo), np.concatenate(hi), np.concatenate(iv)
        converged = False
        for _ in range(64):
            full = self.moments(lo, hi, iv)
            mid = 0.5 * (lo + hi)
            halves = self.moments(lo, mid, iv) + self.moments(mid, hi, iv)
            err = np.abs(full - halves).sum(axis=1)
            mass = np.bincount(iv, weights=halves[:, 0] + 2 * halves[:, 1] + halves[:, 2], minlength=knots.size - 1)
            bad = (err > _PANEL_RTOL * mass[iv]) & (hi - lo > 1e-14 * self.dx[iv])
            if not bad.any():
                converged = True
                break
            if lo.size + bad.sum() > _MAX_PANELS:
                break
            lo = np.concatenate([lo[~bad], lo[bad], mid[bad]])
            hi = np.concatenate([hi[~bad], mid[bad], hi[bad]])
            iv = np.concatenate([iv[~bad], iv[bad], iv[bad]])
            order = np.argsort(lo, kind="stable")
            lo, hi, iv = lo[order], hi[order], iv[order]
        if not converged:
            warnings.warn(
                f"zeta-moment quadrature did not reach relative accuracy {_PANEL_RTOL} with {lo.size} panels; pass the kinks of zeta (Zeta(fn, kinks=...)) if it jumps",
                RuntimeWarning,
                stacklevel=3,
            )
        full = self.moments(lo, hi, iv)
        self.lo, self.hi, self.iv, self.full = lo, hi, iv, full
        m = knots.size - 1
        self.totals = np.stack([np.bincount(iv, weights=full[:, j], minlength=m) for j in range(3)], axis=1)  # (M-1, 3): A, B, C
        cs = np.cumsum(full, axis=0) - full  # exclusive
        first = np.searchsorted(iv, np.arange(m))
        self.before = cs - cs[first[iv]]  # moments from the interval start to the panel start

    def moments(self, lo, hi, iv) -> np.ndarray:
        """``int_lo^hi zeta(u) [phi_L^2, phi_L phi_R, phi_R^2](u) du`` per panel, ``(P, 3)``."""
        u, w = _gl(lo, hi)
        a, d = self.knots[iv][:, None], self.dx[iv][:, None]
        t = (u - a) / d
        wz = w * self.zeta(u.ravel()).reshape(u.shape)
        return np.stack([(wz * (1 - t) ** 2).sum(1), (wz * t * (1 - t)).sum(1), (wz * t * t).sum(1)], axis=1)

    def locate(self, xc: np.ndarray) -> np.ndarray:
        """Panel index of each point of ``xc`` (inside ``[x_0, x_{M-1}]``)."""
        return np.clip(np.searchsorted(self.lo, xc, side="right") - 1, 0, self.lo.size - 1)

    def nodes(self):
        """All quadrature nodes ``u (n,)``, weights times zeta ``(n,)`` and their panel index."""
        u, w = _gl(self.lo, self.hi)
        return u.ravel(), (w * self.zeta(u.ravel()).reshape(u.shape)).ravel(), np.repeat(np.arange(self.lo.size), _Q)


# ----------------------------------------------------------------------------------------
# the weighted cubic spline (k = 1): Reinsch form
# ----------------------------------------------------------------------------------------


class _Reinsch:
    """Knots, zeta-moments and the banded matrices ``R`` (tridiagonal) and ``Q`` of the module docstring."""

    def __init__(self, knots: np.ndarray, z: Zeta):
        self.x, self.zeta = knots, z
        self.M = knots.size
        self.dx = np.diff(knots)
        self.panels = _Panels(knots, z)
        A, B, C = self.panels.totals.T
        self.A, self.B, self.C = A, B, C
        if self.M > 2:
            diag = C[:-1] + A[1:]
            off = B[1:-1]
            self.R_banded = np.zeros((2, self.M - 2))
            self.R_banded[1] = diag
            self.R_banded[0, 1:] = off
            inv = 1.0 / self.dx
            # Q (M, M-2): column i (interior knot i+1) has 1/D_i, -(1/D_i + 1/D_{i+1}), 1/D_{i+1}
            self.Q = scipy.sparse.diags([inv[:-1], -(inv[:-1] + inv[1:]), inv[1:]], [0, -1, -2], shape=(self.M, self.M - 2), format="csc")
            try:
                self.R_chol = scipy.linalg.cholesky_banded(self.R_banded)
            except np.linalg.LinAlgError:
                raise ValueError(
                    "zeta vanishes on both sides of an interior data point, so g - f0 would have to be affine across three data points: "
                    "use an initialization whose zeta is positive on the data range (e.g. a_b >= max|x| for binary-uniform)"
                ) from None

    def qt(self, h: np.ndarray) -> np.ndarray:
        """``Q^T h``: second divided differences, ``(..., M) -> (..., M-2)``."""
        return np.diff(np.diff(h, axis=-1) / self.dx, axis=-1)

    def solve_R(self, v: np.ndarray) -> np.ndarray:
        return scipy.linalg.cho_solve_banded((self.R_chol, False), v)

    def penalty(self, m_inner: np.ndarray) -> np.ndarray:
        """``m^T R m`` for ``m_inner (..., M-2)``."""
        d, o = self.R_banded[1], self.R_banded[0, 1:]
        return np.sum(d * m_inner**2, axis=-1) + 2 * np.sum(o * m_inner[..., :-1] * m_inner[..., 1:], axis=-1)

    def affine_fit(self, r: np.ndarray) -> np.ndarray:
        T = np.stack([np.ones(self.M), (self.x - self.x.mean()) / np.ptp(self.x)], axis=1)
        coef, *_ = np.linalg.lstsq(T, r, rcond=None)
        return T @ coef

    def solve(self, r: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
        """Knot values ``h (M,)`` and multipliers ``m (M,)`` (zero at both ends) for one ``lam``."""
        m = np.zeros(self.M)
        if self.M == 2 or lam == math.inf:
            return (r.copy() if self.M == 2 else self.affine_fit(r)), m
        if lam == 0:
            m[1:-1] = self.solve_R(self.qt(r))
            return r.copy(), m
        # h + Q mu = r, Q^T h = R mu / lam with mu = lam m: sparse LU of the block system, which
        # stays well conditioned for every lam (the Schur form h = r - lam Q m loses digits to
        # cancellation for large lam).
        Rs = scipy.sparse.diags([self.R_banded[0, 1:], self.R_banded[1], self.R_banded[0, 1:]], [-1, 0, 1], format="csc")
        A = scipy.sparse.bmat([[scipy.sparse.identity(self.M, format="csc"), self.Q], [self.Q.T, -Rs / lam]], format="csc")
        z = scipy.sparse.linalg.spsolve(A, np.concatenate([r, np.zeros(self.M - 2)]))
        m[1:-1] = z[self.M :] / lam
        return z[: self.M], m

    @functools.cached_property
    def spectral(self):
        """Demmler-Reinsch basis: ``(V (M, M), s2 (M,), L^{-T} U S (M-2, M-2))`` (one factorisation)."""
        L = np.zeros((self.M - 2, self.M - 2))
        i = np.arange(self.M - 2)
        L[i, i] = self.R_chol[1]
        L[i[1:], i[:-1]] = self.R_chol[0, 1:]  # lower Cholesky factor (R = L L^T)
        Bm = scipy.linalg.solve_triangular(L, self.Q.T.toarray(), lower=True)  # L^{-1} Q^T (M-2, M)
        U, s, Vt = np.linalg.svd(Bm, full_matrices=True)
        s2 = np.concatenate([s**2, np.zeros(2)])
        LtUS = scipy.linalg.solve_triangular(L.T, U * s, lower=False)  # L^{-T} U S
        return Vt.T, s2, LtUS

    def solve_many(self, r: np.ndarray, lams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``h (L, M)``, ``m (L, M)`` for all ``lams (L,)`` from the Demmler-Reinsch basis."""
        h = np.empty((lams.size, self.M))
        m = np.zeros((lams.size, self.M))
        if self.M == 2:
            h[:] = r
            return h, m
        V, s2, LtUS = self.spectral
        coef = V.T @ r
        with np.errstate(invalid="ignore", divide="ignore"):
            filt = np.where(s2[None, :] > 0, 1.0 / (1.0 + lams[:, None] * s2[None, :]), 1.0)
        filt = np.where(np.isinf(lams)[:, None] & (s2[None, :] > 0), 0.0, filt)
        h[:] = (filt * coef[None, :]) @ V.T
        n = self.M - 2
        m[:, 1:-1] = (filt[:, :n] * coef[None, :n]) @ LtUS.T
        return h, m

    def evaluate(self, xe: np.ndarray, h: np.ndarray, m: np.ndarray, nu: int) -> np.ndarray:
        """``h^{(nu)}(xe)`` for knot values ``h (L, M)`` and multipliers ``m (L, M)``: ``(L, P)``."""
        x = self.x
        xc = np.clip(xe, x[0], x[-1])
        if self.M == 2:
            slope = (h[:, 1:2] - h[:, 0:1]) / self.dx[0]
            if nu == 0:
                return h[:, 0:1] + slope * (xe - x[0])[None, :]
            return np.broadcast_to(slope, (h.shape[0], xe.size)).copy() if nu == 1 else np.zeros((h.shape[0], xe.size))
        P = self.panels
        p = P.locate(xc)
        k = P.iv[p]
        U = P.before[p] + P.moments(P.lo[p], xc, k)  # (P, 3): int_a^x zeta [phiL^2, phiL phiR, phiR^2]
        a, d = x[k], self.dx[k]
        phiL, phiR = (x[k + 1] - xc) / d, (xc - a) / d
        ha, hb, ma, mb = h[:, k], h[:, k + 1], m[:, k], m[:, k + 1]
        I1 = d * (ma * U[:, 1] + mb * U[:, 2])
        I2 = d * (ma * (self.A[k] - U[:, 0]) + mb * (self.B[k] - U[:, 1]))
        d1 = (hb - ha) / d + (I1 - I2) / d
        if nu == 0:
            val = ha * phiL + hb * phiR - (phiL * I1 + phiR * I2)
            return val + d1 * (xe - xc)  # affine continuation outside [x_0, x_{M-1}]
        if nu == 1:
            return d1
        inside = (xe >= x[0]) & (xe <= x[-1])
        return np.where(inside, self.zeta(xc) * (ma * phiL + mb * phiR), 0.0)


class WeightedSpline:
    r"""A weighted cubic (smoothing) spline ``g = f0 + h`` with ``h'' = zeta m`` (montufar2024 eq. (5)).

    Returned by ``weighted_spline_interpolant`` (``lam = 0``: ``g*`` of Thm 5) and by
    ``smoothing_spline_path`` / ``smoothing_spline``. ``m`` is continuous, piecewise linear
    between the data points and 0 at and beyond the extreme data points; ``h`` is affine
    outside ``[x_1, x_M]`` and wherever ``zeta = 0``.

    Attributes:
        x: data inputs ``(M,)``.
        y: targets ``(M,)``.
        lam: the smoothing parameter (0 for ``g*``).
        zeta: the ``Zeta`` of the penalty.
        knot_values: ``h(x_j) = g(x_j) - f0(x_j)``, ``(M,)``.
        knot_multipliers: ``m(x_j) = h''(x_j)/zeta(x_j)``, ``(M,)``.
        penalty: ``int_S (1/zeta) (g'' - f0'')^2 = int zeta m^2`` (exact up to the
            zeta-moment quadrature).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.splines import weighted_spline_interpolant
        >>> g = weighted_spline_interpolant([0.0, 1.0, 2.0], [0.0, 1.0, 0.0], zeta=1.0)
        >>> np.round(g([0.5, 1.0]), 6).tolist()   # the natural cubic spline
        [0.6875, 1.0]
    """

    def __init__(self, basis: _Reinsch, y: np.ndarray, f0: _F0, h: np.ndarray, m: np.ndarray, lam: float):
        self._b, self._f0 = basis, f0
        self.x, self.y, self.lam = basis.x, y, lam
        self.zeta = basis.zeta
        self.knot_values, self.knot_multipliers = h, m
        self.penalty = float(basis.penalty(m[1:-1])) if basis.M > 2 else 0.0

    def __call__(self, x) -> np.ndarray:
        """``g(x) = f0(x) + h(x)`` at points ``x (P,)`` -> ``(P,)``."""
        xe = _points(x)
        return self._f0(xe) + self._b.evaluate(xe, self.knot_values[None], self.knot_multipliers[None], 0)[0]

    def deviation(self, x, nu: int = 0) -> np.ndarray:
        """``h^{(nu)}(x)`` with ``h = g - f0``, ``nu in {0, 1, 2}`` (``h'' = zeta m``), ``(P,)``."""
        if nu not in (0, 1, 2):
            raise ValueError(f"nu must be 0, 1 or 2; received {nu!r}")
        xe = _points(x)
        return self._b.evaluate(xe, self.knot_values[None], self.knot_multipliers[None], nu)[0]

    def derivative(self, x, nu: int = 1) -> np.ndarray:
        """``g'(x)`` (``nu=1``) or the regular part of ``g''`` (``nu=2``), ``(P,)``.

        ``g'' = f0'' + zeta m``; a ReLU net's ``f0''`` is a sum of Diracs at its knots, which
        this does not return (it gives ``zeta m``, the absolutely continuous part). ``nu=1``
        needs ``f0'``: ``f0`` must be None or ShallowReLU params.
        """
        if nu not in (1, 2):
            raise ValueError(f"nu must be 1 or 2; received {nu!r}")
        xe = _points(x)
        dh = self._b.evaluate(xe, self.knot_values[None], self.knot_multipliers[None], nu)[0]
        return dh + self._f0.derivative(xe) if nu == 1 else dh

    def multiplier(self, x) -> np.ndarray:
        """``m(x) = (g'' - f0'')(x) / zeta(x)``: piecewise linear, 0 outside ``[x_1, x_M]``, ``(P,)``."""
        xe = _points(x)
        inside = (xe >= self.x[0]) & (xe <= self.x[-1])
        return np.where(inside, np.interp(xe, self.x, self.knot_multipliers), 0.0)


class SmoothingSplinePath:
    r"""The smoothing splines ``g_lam`` of montufar2024's trajectory statement, for every ``lam``.

    ``g_lam = argmin_g sum_j (g(x_j) - y_j)^2 + lam int_S (1/zeta) (g'' - f0'')^2`` (sum over
    the data, no 1/2 or 1/M: the slide's normalisation). ``lam = 0`` is ``g*`` of eq. (5) (the
    ``t -> infinity`` end of training), ``lam = inf`` the affine least-squares fit of
    ``y - f0`` added to ``f0`` (``t = 0``, where the flow has moved only the free affine part).
    Built once by ``smoothing_spline_path``; the zeta-moments and banded matrices are computed
    at construction, the Demmler-Reinsch factorisation (``O(M^3)``) on the first vectorised
    call and cached.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.splines import smoothing_spline_path
        >>> x = np.linspace(-1, 1, 7); y = x**3
        >>> path = smoothing_spline_path(x, y, zeta=1.0)
        >>> path.fitted([0.0, np.inf]).shape
        (2, 7)
        >>> bool(np.allclose(path(0.0)(x), y))
        True
    """

    def __init__(self, basis: _Reinsch, y: np.ndarray, f0: _F0):
        self._b, self._f0 = basis, f0
        self.x, self.y = basis.x, y
        self.zeta = basis.zeta
        self._f0x = f0(basis.x)
        self.r = y - self._f0x

    def __call__(self, lam: float = 0.0) -> WeightedSpline:
        """The spline at one ``lam >= 0`` (``inf`` allowed), by one banded solve."""
        lam = float(_check_lam(lam))
        h, m = self._b.solve(self.r, lam)
        return WeightedSpline(self._b, self.y, self._f0, h, m, lam)

    def fitted(self, lams) -> np.ndarray:
        """Fitted values ``g_lam(x_j)`` at the data for all ``lams (L,)``: ``(L, M)``."""
        lams = np.atleast_1d(_check_lam(lams)).ravel()
        h, _ = self._b.solve_many(self.r, lams)
        return h + self._f0x[None, :]

    def evaluate(self, x, lams) -> np.ndarray:
        """``g_lam(x)`` for all ``lams (L,)`` at points ``x (P,)``: ``(L, P)``, one factorisation."""
        xe = _points(x)
        lams = np.atleast_1d(_check_lam(lams)).ravel()
        h, m = self._b.solve_many(self.r, lams)
        return self._f0(xe)[None, :] + self._b.evaluate(xe, h, m, 0)

    def with_targets(self, y) -> "SmoothingSplinePath":
        """The path for new targets ``y (M,)`` on the same inputs, ``zeta`` and ``f0``.

        Shares the zeta-moments and banded matrices (and the Demmler-Reinsch factorisation once
        computed) with this path: the way to fit many noise draws on one design (a solve and an
        evaluation per draw, no quadrature).

        Example:
            >>> import numpy as np
            >>> from implicit_bias.theory.splines import smoothing_spline_path
            >>> x = np.linspace(-1, 1, 9)
            >>> path = smoothing_spline_path(x, np.zeros(9), zeta=1.0)
            >>> bool(np.allclose(path.with_targets(x**3)(0.0)(x), x**3))
            True
        """
        _, y = _check_data(self.x, y, 2)
        return SmoothingSplinePath(self._b, y, self._f0)

    def at_time(self, t, eta_bar: float, *, loss: str) -> WeightedSpline:
        """The spline with ``lam = lambda_from_time(t, eta_bar, loss=loss, n_samples=M)``; ``t=None`` is ``t = inf`` (``g*``)."""
        lam = 0.0 if t is None else float(lambda_from_time(t, eta_bar, loss=loss, n_samples=self.x.size))
        return self(lam)


def smoothing_spline_path(x, y, zeta, *, f0=None) -> SmoothingSplinePath:
    r"""The smoothing-spline path of montufar2024's trajectory statement (predictor factory).

    ``g_lam = argmin_g sum_{j=1}^M (g(x_j) - y_j)^2 + lam int_S (1/zeta(x)) (g''(x) - f0''(x))^2 dx``

    (slide "Optimization trajectory in function space", with ``lam = 1/(eta_bar t)``; see
    ``lambda_from_time`` for the constant). Solved exactly in the form ``g = f0 + h``,
    ``h'' = zeta m``, ``m`` piecewise linear with ``m = 0`` at and beyond the extreme data
    points (module docstring). ``S = supp(zeta) cap [x_1, x_M]``: where ``zeta = 0``, ``g - f0``
    is affine.

    Args:
        x: inputs ``(M,)`` or ``(M, 1)``, strictly increasing, ``M >= 2``.
        y: targets ``(M,)``.
        zeta: the penalty's ``zeta``: an init of ``implicit_bias.models.init``, a univariate
            ``ShallowReLU``, a ``Zeta``, a vectorised callable or a positive constant (see
            ``zeta_function``).
        f0: the initial function ``f(., theta_0)``: None (0), ShallowReLU params
            ``{"w1" (k, 1), "b1", "w2", "b2"[, "skip"]}``, ``(ShallowReLU, params)``, or a
            vectorised callable. Its ``f0''`` (Diracs for a ReLU net) is handled exactly: only
            ``f0`` values enter.

    Returns:
        A ``SmoothingSplinePath``: ``path(lam)`` is a ``WeightedSpline``; ``path.evaluate(x,
        lams)`` and ``path.fitted(lams)`` are vectorised over ``lams``.

    Raises:
        ValueError: bad shapes, unsorted or duplicate ``x``, NaN/Inf, an invalid ``zeta`` or
            ``f0``, ``zeta = 0`` around an interior data point.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.splines import smoothing_spline_path
        >>> x = np.linspace(-2, 2, 9); y = np.sin(2 * x)
        >>> path = smoothing_spline_path(x, y, Gaussian(sigma_w=1.0, sigma_b=1.0))
        >>> g = path.evaluate(np.linspace(-2, 2, 5), [0.0, 1.0, np.inf])
        >>> g.shape
        (3, 5)
    """
    x, y = _check_data(x, y, 2)
    z = zeta_function(zeta)
    if z.degree != 1:
        raise ValueError(f"the weighted cubic spline needs the ReLU penalty (degree 1); received a degree-{z.degree} zeta: use green_spline_path(..., degree={z.degree})")
    return SmoothingSplinePath(_Reinsch(x, z), y, _F0(f0))


def weighted_spline_interpolant(x, y, zeta, *, f0=None) -> WeightedSpline:
    r"""``g*`` of montufar2024 Thm 5, eq. (5): the weighted cubic spline the wide net converges to.

    ``g* = argmin_{g in C^2(S)} int_S (1/zeta(x)) (g''(x) - f''(x, theta_0))^2 dx`` s.t.
    ``g(x_j) = y_j``, ``S = supp(zeta) cap [x_1, x_M]``.

    Exact solution (module docstring): ``g* = f0 + h``, ``h'' = zeta m`` with ``m`` piecewise
    linear, ``m(x_1) = m(x_M) = 0`` (natural boundary conditions of the free ends of ``S``),
    from the tridiagonal system ``R m = Q^T (y - f0(x))`` built on the zeta-moments. With
    constant zeta and ``f0 = 0`` this is the natural cubic spline. Outside ``[x_1, x_M]``
    (beyond eq. (5)) ``g* - f0`` is continued affinely.

    Args:
        x: inputs ``(M,)`` or ``(M, 1)``, strictly increasing, ``M >= 2``.
        y: targets ``(M,)``.
        zeta: an init, a univariate ``ShallowReLU``, a ``Zeta``, a callable or a constant
            (see ``zeta_function``).
        f0: the initial function (see ``smoothing_spline_path``); None for ``f(., theta_0) = 0``
            (e.g. an antisymmetric init).

    Returns:
        A ``WeightedSpline``: ``g(x)``, ``g.deviation(x, nu)``, ``g.derivative(x, nu)``,
        ``g.multiplier(x)``, ``g.penalty``.

    Raises:
        ValueError: as ``smoothing_spline_path``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.splines import weighted_spline_interpolant
        >>> x = np.array([-1.0, -0.3, 0.2, 1.0]); y = np.array([0.0, 1.0, -1.0, 0.5])
        >>> g = weighted_spline_interpolant(x, y, Gaussian(sigma_w=1.0, sigma_b=0.1**0.5))
        >>> bool(np.allclose(g(x), y, atol=1e-12)), g.multiplier([-1.0, 1.0]).tolist()
        (True, [0.0, 0.0])
    """
    return smoothing_spline_path(x, y, zeta, f0=f0)(0.0)


def smoothing_spline(x, y, zeta, lam: float, *, f0=None) -> WeightedSpline:
    r"""One smoothing spline ``argmin sum_j (g(x_j) - y_j)^2 + lam int_S (1/zeta)(g'' - f0'')^2``.

    Shorthand for ``smoothing_spline_path(x, y, zeta, f0=f0)(lam)``; see there. ``lam = 0``
    is ``g*``, ``lam = inf`` the affine least-squares fit (plus ``f0``).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.splines import smoothing_spline
        >>> x = np.linspace(0, 1, 6); y = x**2
        >>> g = smoothing_spline(x, y, 1.0, np.inf)
        >>> np.round(g([0.0, 1.0]), 6).tolist()   # least-squares line of x^2 on 6 points
        [-0.133333, 0.866667]
    """
    return smoothing_spline_path(x, y, zeta, f0=f0)(lam)


# ----------------------------------------------------------------------------------------
# the time map
# ----------------------------------------------------------------------------------------

_LOSS_C = {"sum": 2.0, "half-sum": 1.0, "mean": 2.0, "square": 1.0}


def _loss_constant(loss: str, n_samples) -> float:
    if loss not in _LOSS_C:
        raise ValueError(f"loss must be one of {sorted(_LOSS_C)} (sum: sum (f-y)^2, half-sum: 1/2 sum, mean: 1/M sum, square: 1/(2M) sum); received {loss!r}")
    c = _LOSS_C[loss]
    if loss in ("mean", "square"):
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"loss={loss!r} is normalised by the number of samples: pass n_samples=M (a positive integer); received {n_samples!r}")
        c /= n_samples
    return c


def lambda_from_time(t, eta_bar: float, *, loss: str, n_samples: int | None = None) -> np.ndarray:
    r"""Smoothing parameter ``lam`` (sum-normalised) matching training time ``t``: ``lam = 1/(c eta_bar t)``.

    montufar2024's trajectory slide writes ``lam = 1/(eta_bar t)`` with the loss
    ``L = sum_j (f(x_j) - y_j)^2``. Linearised GD with step ``eta = eta_bar / n`` (``n`` =
    width, standard parametrization) fits the data as ``1 - exp(-c eta_bar t s)`` per kernel
    eigenvalue ``s``, where ``dL/df(x_j) = c (f(x_j) - y_j)``; the smoothing spline fits as
    ``s / (s + lam)``; both tend to 1 as ``t -> inf`` and they agree to first order at small
    ``t`` exactly when ``lam = 1/(c eta_bar t)`` (module docstring). So the slide's formula
    holds with ``c = 1`` (loss ``(1/2) sum``); for its stated loss ``sum``, ``c = 2``.

    ``loss``: ``"sum"`` (``c = 2``, the slide's ``L``), ``"half-sum"`` (``c = 1``: the slide's
    ``lam = 1/(eta_bar t)``), ``"mean"`` (``(1/M) sum``, ``c = 2/M``), ``"square"`` (this
    library's ``(1/(2M)) sum``, ``c = 1/M``, so ``lam = M/(eta_bar t)``).

    Args:
        t: GD steps (array or scalar; ``inf`` gives ``lam = 0``). For gradient flow pass the
            flow time ``tau`` with ``eta_bar = n`` (``eta t -> tau``).
        eta_bar: width-normalised step ``eta_bar = n eta`` (our reading: the slides do not
            define it).
        loss: the training loss convention (keyword, required).
        n_samples: ``M``, required for ``"mean"`` and ``"square"``.

    Returns:
        ``lam``, same shape as ``t`` (``inf`` at ``t = 0``).

    Example:
        >>> from implicit_bias.theory.splines import lambda_from_time
        >>> float(lambda_from_time(100.0, 0.5, loss="half-sum")), float(lambda_from_time(100.0, 0.5, loss="square", n_samples=10))
        (0.02, 0.2)
    """
    c = _loss_constant(loss, n_samples)
    if not (isinstance(eta_bar, (int, float, np.floating, np.integer)) and math.isfinite(eta_bar) and eta_bar > 0):
        raise ValueError(f"eta_bar must be a finite number > 0; received {eta_bar!r}")
    t = np.asarray(t, dtype=np.float64)
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError("t must be >= 0 (inf allowed)")
    with np.errstate(divide="ignore"):
        return 1.0 / (c * eta_bar * t)


def time_from_lambda(lam, eta_bar: float, *, loss: str, n_samples: int | None = None) -> np.ndarray:
    r"""Inverse of ``lambda_from_time``: ``t = 1/(c eta_bar lam)`` (``lam = 0`` gives ``t = inf``).

    Example:
        >>> from implicit_bias.theory.splines import time_from_lambda
        >>> float(time_from_lambda(0.02, 0.5, loss="half-sum"))
        100.0
    """
    c = _loss_constant(loss, n_samples)
    if not (isinstance(eta_bar, (int, float, np.floating, np.integer)) and math.isfinite(eta_bar) and eta_bar > 0):
        raise ValueError(f"eta_bar must be a finite number > 0; received {eta_bar!r}")
    lam = _check_lam(lam)
    with np.errstate(divide="ignore"):
        return 1.0 / (c * eta_bar * lam)


# ----------------------------------------------------------------------------------------
# Green's-operator splines (Thm 9), degree k in {1, 2}
# ----------------------------------------------------------------------------------------


def _bspline_basis(u: np.ndarray, t: np.ndarray, k: int):
    """The ``M-k-1`` B-splines of degree k on the distinct knots ``t (M,)`` at ``u (n,)`` in
    ``[t_0, t_{M-1}]``: sparse ``(n, M-k-1)``. (scipy's design matrix on ``t`` padded by k knots
    at each end, whose base interval is then ``[t_0, t_{M-1}]``; our splines are its columns
    ``k .. M-2``.)"""
    pad = t[-1] - t[0]
    tt = np.concatenate([t[0] - pad * np.arange(k, 0, -1.0), t, t[-1] + pad * np.arange(1.0, k + 1)])
    import scipy.interpolate  # lazily: scipy.integrate/interpolate cost 0.3 s of `import implicit_bias`

    return scipy.interpolate.BSpline.design_matrix(np.clip(u, t[0], t[-1]), tt, k).tocsc()[:, k : t.size - 1].tocsr()


class _Green:
    """Banded B-spline form of the degree-k Green's-operator spline (generalised Reinsch).

    ``L h = zeta m``, ``L = D^{k+1}/k!``, ``m = sum_j alpha_j N_j`` (degree-k B-splines on the
    data points, the ones that vanish with ``k-1`` derivatives at both ends). Peano's kernel of
    the divided difference gives ``Gram alpha = D h`` at the knots, with ``Gram_ij = int zeta N_i
    N_j`` and ``(D h)_i = (x_{i+k+1} - x_i) [x_i, ..., x_{i+k+1}] h``; the penalty is
    ``alpha^T Gram alpha``. ``h(x) = poly_k(x) + int_{x_1}^x zeta(u) m(u) (x - u)^k du``.
    """

    def __init__(self, knots: np.ndarray, z: Zeta, k: int):
        self.x, self.zeta, self.k, self.M = knots, z, k, knots.size
        self.n = self.M - k - 1
        self.panels = _Panels(knots, z)
        self.u, self.wz, self.pan = self.panels.nodes()
        self.Nu = _bspline_basis(self.u, knots, k)  # sparse (nodes, n)
        self.gram = np.asarray((self.Nu.T @ scipy.sparse.diags(self.wz) @ self.Nu).toarray())
        D = np.zeros((self.n, self.M))
        for i in range(self.n):
            xs = knots[i : i + k + 2]
            for l in range(k + 2):
                D[i, i + l] = (xs[-1] - xs[0]) / np.prod(np.delete(xs[l] - xs, l))
        self.D = D
        self.center, self.scale = 0.5 * (knots[0] + knots[-1]), 0.5 * (knots[-1] - knots[0])
        if self.n:
            try:
                self.chol = scipy.linalg.cho_factor(self.gram, lower=True)
            except np.linalg.LinAlgError:
                raise ValueError(
                    "zeta vanishes on the support of a spline piece, so g - f0 would have to be a polynomial across too many data points: "
                    "use an initialization whose zeta is positive on the data range"
                ) from None

    def _poly(self, x: np.ndarray, nu: int) -> np.ndarray:
        """``d^nu/dx^nu`` of the scaled monomials ``s^p``, ``s = (x - center)/scale``: ``(P, k+1)``."""
        s = (x - self.center) / self.scale
        return np.stack([math.perm(p, nu) * s ** max(p - nu, 0) / self.scale**nu if p >= nu else np.zeros_like(s) for p in range(self.k + 1)], axis=1)

    @functools.cached_property
    def spectral(self):
        L = np.tril(self.chol[0])
        Bm = scipy.linalg.solve_triangular(L, self.D, lower=True)  # L^{-1} D (n, M)
        U, s, Vt = np.linalg.svd(Bm, full_matrices=True)
        s2 = np.concatenate([s**2, np.zeros(self.M - s.size)])
        LtUS = scipy.linalg.solve_triangular(L.T, U * s, lower=False)
        return Vt.T, s2, LtUS

    def solve_many(self, r: np.ndarray, lams: np.ndarray):
        """Knot values ``h (L, M)``, B-spline coefficients ``alpha (L, n)``, polynomial part ``d (L, k+1)``."""
        h = np.empty((lams.size, self.M))
        alpha = np.zeros((lams.size, self.n))
        for i, lam in enumerate(lams):
            if lam == 0 and self.n:
                h[i] = r
                alpha[i] = scipy.linalg.cho_solve(self.chol, self.D @ r)
        rest = ~(lams == 0) if self.n else np.ones(lams.size, bool)
        if rest.any():
            if self.n:
                V, s2, LtUS = self.spectral
                coef = V.T @ r
                lr = lams[rest]
                with np.errstate(invalid="ignore", divide="ignore"):
                    filt = np.where(s2[None, :] > 0, 1.0 / (1.0 + lr[:, None] * s2[None, :]), 1.0)
                filt = np.where(np.isinf(lr)[:, None] & (s2[None, :] > 0), 0.0, filt)
                h[rest] = (filt * coef[None, :]) @ V.T
                alpha[rest] = (filt[:, : self.n] * coef[None, : self.n]) @ LtUS.T
            else:
                h[rest] = r
        T = self._poly(self.x, 0)
        I = self._integral(self.x, alpha, 0)  # (L, M)
        d = np.linalg.lstsq(T, (h - I).T, rcond=None)[0].T
        return h, alpha, d

    def _integral(self, xe: np.ndarray, alpha: np.ndarray, nu: int) -> np.ndarray:
        """``d^nu/dx^nu int_{x_1}^x zeta(u) m(u) (x - u)^k du`` for ``nu <= k``: ``(L, P)``."""
        k, x, P = self.k, self.x, self.panels
        m_nodes = np.asarray(self.Nu @ alpha.T).T * self.wz[None, :]  # (L, nodes): w zeta m at the nodes
        n_pan = P.lo.size
        inside = (xe >= x[0]) & (xe <= x[-1])
        p = np.where(xe > x[-1], n_pan, np.where(inside, P.locate(np.clip(xe, x[0], x[-1])), 0))
        coef = math.perm(k, nu)
        out = np.empty((alpha.shape[0], xe.size))
        chunk = max(1, 2_000_000 // max(self.u.size, 1))
        for s in range(0, xe.size, chunk):
            sl = slice(s, s + chunk)
            ker = (self.pan[None, :] < p[sl, None]) * np.maximum(xe[sl, None] - self.u[None, :], 0.0) ** (k - nu)
            out[:, sl] = coef * m_nodes @ ker.T
        idx = np.nonzero(inside)[0]
        if idx.size:
            v, w = _gl(P.lo[p[idx]], xe[idx])  # the partial panel [lo_p, x]
            mv = np.asarray(_bspline_basis(v.ravel(), x, k) @ alpha.T).T.reshape(alpha.shape[0], *v.shape)  # (L, I, Q)
            wz = w * self.zeta(v.ravel()).reshape(v.shape)
            out[:, idx] += coef * np.einsum("liq,iq->li", mv, wz * (xe[idx][:, None] - v) ** (k - nu))
        return out

    def evaluate(self, xe: np.ndarray, alpha: np.ndarray, d: np.ndarray, nu: int) -> np.ndarray:
        """``h^{(nu)}(xe)`` for ``0 <= nu <= k + 1``: ``(L, P)``."""
        k, x = self.k, self.x
        if nu == k + 1:
            inside = (xe >= x[0]) & (xe <= x[-1])
            m = np.asarray(_bspline_basis(xe, x, k) @ alpha.T).T  # (L, P)
            return math.factorial(k) * np.where(inside, self.zeta(np.clip(xe, x[0], x[-1])), 0.0)[None, :] * m
        return d @ self._poly(xe, nu).T + self._integral(xe, alpha, nu)

    def penalty(self, alpha: np.ndarray) -> float:
        return float(alpha @ self.gram @ alpha)


class GreenSpline:
    r"""A Green's-operator spline ``g = f0 + h`` of montufar2024 Thm 9 (degree k).

    ``L h = zeta m`` with ``L = D^{k+1}/k!``, ``m = sum_j alpha_j N_j`` a combination of the
    degree-k B-splines on the data points that vanish (with ``k-1`` derivatives) at both ends,
    so ``m`` is a ``C^{k-1}`` piecewise polynomial of degree k, 0 outside ``[x_1, x_M]``;
    ``h(x) = poly_k(x) + int_{x_1}^x zeta(u) m(u) (x - u)^k du``.

    Attributes:
        x: data inputs ``(M,)``.
        y: targets ``(M,)``.
        lam: the smoothing parameter.
        degree: k.
        knot_values: ``h(x_j)``, ``(M,)``.
        bspline_coefficients: ``alpha``, ``(M - k - 1,)``.
        penalty: ``int_S (1/zeta) [L (g - f0)]^2 = int zeta m^2 = alpha^T Gram alpha``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.splines import green_spline
        >>> x = np.linspace(0, 1, 6); g = green_spline(x, x**2, zeta=1.0, degree=2)
        >>> bool(np.allclose(g([0.25, 0.5]), [0.0625, 0.25]))   # quadratics are free (L = D^3/2)
        True
    """

    def __init__(self, basis: _Green, y: np.ndarray, f0: _F0, h: np.ndarray, alpha: np.ndarray, d: np.ndarray, lam: float):
        self._b, self._f0 = basis, f0
        self.x, self.y, self.lam, self.degree = basis.x, y, lam, basis.k
        self.zeta = basis.zeta
        self.knot_values, self.bspline_coefficients, self._d = h, alpha, d
        self.penalty = basis.penalty(alpha)

    def __call__(self, x) -> np.ndarray:
        """``g(x)`` at ``x (P,)`` -> ``(P,)``."""
        xe = _points(x)
        return self._f0(xe) + self._b.evaluate(xe, self.bspline_coefficients[None], self._d[None], 0)[0]

    def deviation(self, x, nu: int = 0) -> np.ndarray:
        """``h^{(nu)}(x)``, ``h = g - f0``, ``0 <= nu <= k + 1`` (``h^{(k+1)} = k! zeta m``), ``(P,)``."""
        if isinstance(nu, bool) or not isinstance(nu, (int, np.integer)) or not 0 <= nu <= self.degree + 1:
            raise ValueError(f"nu must be an integer in [0, {self.degree + 1}]; received {nu!r}")
        xe = _points(x)
        return self._b.evaluate(xe, self.bspline_coefficients[None], self._d[None], int(nu))[0]

    def multiplier(self, x) -> np.ndarray:
        """``m(x) = L(g - f0)(x) / zeta(x)``, 0 outside ``[x_1, x_M]``, ``(P,)``."""
        xe = _points(x)
        inside = (xe >= self.x[0]) & (xe <= self.x[-1])
        return np.where(inside, _bspline_basis(xe, self.x, self.degree) @ self.bspline_coefficients, 0.0)


class GreenSplinePath:
    r"""Green's-operator smoothing splines of degree k for every ``lam`` (montufar2024 Thm 9).

    ``g_lam = argmin sum_j (g(x_j) - y_j)^2 + lam int_S (1/zeta_k) [L (g - f0)]^2``,
    ``L = D^{k+1}/k!`` (the operator with ``L [x]_+^k = delta``). Built by
    ``green_spline_path``; ``path(lam)`` is a ``GreenSpline``; ``path.evaluate(x, lams)`` is
    vectorised over ``lams`` (one factorisation, as ``SmoothingSplinePath``).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.splines import green_spline_path
        >>> x = np.linspace(-1, 1, 8)
        >>> path = green_spline_path(x, np.cos(3 * x), zeta=1.0, degree=2)
        >>> path.evaluate([0.0, 0.5], [0.0, 1e-3]).shape
        (2, 2)
    """

    def __init__(self, basis: _Green, y: np.ndarray, f0: _F0):
        self._b, self._f0 = basis, f0
        self.x, self.y, self.degree = basis.x, y, basis.k
        self.zeta = basis.zeta
        self.r = y - f0(basis.x)

    def __call__(self, lam: float = 0.0) -> GreenSpline:
        """The spline at one ``lam >= 0`` (``inf`` allowed)."""
        lam = float(_check_lam(lam))
        h, alpha, d = self._b.solve_many(self.r, np.array([lam]))
        return GreenSpline(self._b, self.y, self._f0, h[0], alpha[0], d[0], lam)

    def evaluate(self, x, lams) -> np.ndarray:
        """``g_lam(x)`` for ``lams (L,)`` at ``x (P,)``: ``(L, P)``."""
        xe = _points(x)
        lams = np.atleast_1d(_check_lam(lams)).ravel()
        _, alpha, d = self._b.solve_many(self.r, lams)
        return self._f0(xe)[None, :] + self._b.evaluate(xe, alpha, d, 0)


def green_spline_path(x, y, zeta, *, degree: int = 2, f0=None) -> GreenSplinePath:
    r"""Splines of montufar2024 Thm 9 for an activation ``[x]_+^k`` (k = 1: ReLU; k = 2: ReQU).

    ``min int_S (1/zeta_k(x)) [L (g - f0)(x)]^2 dx`` s.t. ``g(x_j) = y_j`` (``lam = 0``), or
    with ``sum_j (g(x_j) - y_j)^2 + lam (...)``; ``L = D^{k+1}/k!`` is the Green's operator of
    ``phi = [x]_+^k`` (``L phi = delta``) and ``zeta_k(x) = p_C(x) E[W^{2k} | C = x]``
    (``zeta_function(init, degree=k)``). Euler-Lagrange: ``L h = zeta m`` with ``m`` a
    piecewise polynomial of degree k, ``C^{k-1}``, zero outside ``[x_1, x_M]`` (natural
    conditions ``m = ... = m^{(k-1)} = 0`` at the ends); for constant zeta and k = 2 the natural
    quintic spline (``g''' = g'''' = 0`` at the ends).

    Thm 9's data shift ``y_j - p(x_j)`` (``L p = 0``): the null space of ``L`` (polynomials of
    degree ``<= k``) is left unpenalised here, so the shift only moves the solution by ``p``;
    we return the function fitting the original ``y`` (the slides do not specify ``p``).

    Solved in a B-spline basis for ``m`` (``GreenSpline``): Peano's kernel of the (k+1)-th
    divided difference gives the (banded) system ``Gram alpha = D r``, ``Gram_ij = int zeta N_i
    N_j``, ``(D r)_i = (x_{i+k+1} - x_i) [x_i, ..., x_{i+k+1}] r`` (k = 1: Reinsch's ``R m =
    Q^T r``), smoothing ``(Gram + lam D D^T) alpha = D r``, ``h = r - lam D^T alpha``; ``h``
    between the data is ``poly_k + int_{x_1}^x zeta m (x - u)^k du`` (the polynomial part by
    least squares on the knot values). Dense linear algebra, ``O(M^3)``: meant for up to a few
    hundred points. The evaluation loses about ``((x_M - x_1)/min spacing)^{k+1}`` ulps (the
    integral from ``x_1`` cancels against the polynomial part). Degrees ``k >= 3`` are not
    offered: the slides need k <= 2. For k = 1, ``smoothing_spline_path`` (banded, local
    evaluation) is the recommended route; this one agrees with it.

    Args:
        x: inputs ``(M,)`` or ``(M, 1)``, strictly increasing, ``M >= k + 1``.
        y: targets ``(M,)``.
        zeta: as in ``zeta_function``; an init is converted with ``degree=k``.
        degree: k in {1, 2}.
        f0: initial function (as in ``smoothing_spline_path``).

    Returns:
        A ``GreenSplinePath``.

    Raises:
        ValueError: as ``smoothing_spline_path``, plus a degree outside {1, 2} or a ``Zeta``
            of another degree.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models.init import Gaussian
        >>> from implicit_bias.theory.splines import green_spline_path
        >>> x = np.linspace(-1, 1, 7); y = np.abs(x)
        >>> g = green_spline_path(x, y, Gaussian(sigma_w=1.0, sigma_b=1.0), degree=2)(0.0)
        >>> bool(np.allclose(g(x), y))
        True
    """
    k = _check_degree(degree)
    if k not in (1, 2):
        raise ValueError(f"green splines are offered for degree 1 (ReLU) and 2 (ReQU); received degree={k}")
    x, y = _check_data(x, y, k + 1)
    if isinstance(zeta, Zeta):
        if zeta.degree != k:
            raise ValueError(f"zeta was built for degree {zeta.degree}, the spline asks for degree {k}: use zeta_function(init, degree={k})")
        z = zeta
    else:
        z = zeta_function(zeta, degree=k)
    return GreenSplinePath(_Green(x, z, k), y, _F0(f0))


def green_spline(x, y, zeta, *, degree: int = 2, lam: float = 0.0, f0=None) -> GreenSpline:
    r"""One Green's-operator spline: ``green_spline_path(x, y, zeta, degree=degree, f0=f0)(lam)``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.splines import green_spline
        >>> g = green_spline([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 0.0, 1.0], zeta=1.0, degree=2)
        >>> bool(np.allclose(g([0.0, 1.0, 2.0, 3.0]), [0.0, 1.0, 0.0, 1.0]))
        True
    """
    return green_spline_path(x, y, zeta, degree=degree, f0=f0)(lam)


# ----------------------------------------------------------------------------------------
# rates quoted on the slides
# ----------------------------------------------------------------------------------------


def noiseless_rate(h, *, fourth_derivative_sup: float = 1.0, constant: float = 1.0) -> np.ndarray:
    r"""``C ||g0''''||_inf h^4``: montufar2024's noiseless bound on ``||g* - g0||_inf`` (zeta uniform).

    ``h = max_i (x_{i+1} - x_i)``. The slides give no constant ``C`` (``constant``); for the
    *complete* (clamped) cubic spline the sharp constant is 5/384 (Hall & Meyer 1976).

    Warning:
        With constant zeta, ``g*`` is the *natural* cubic spline, whose error near the ends is
        ``O(h^2 |g0''(end)|)``: the ``h^4`` rate holds on the whole interval only if
        ``g0''(x_1) = g0''(x_M) = 0`` (measured: ``g0 = sin`` on ``[0, pi]`` gives slope 4,
        on ``[0, 1]`` slope 2; see the tests), otherwise away from the ends.

    Example:
        >>> from implicit_bias.theory.splines import noiseless_rate
        >>> round(float(noiseless_rate(0.1, fourth_derivative_sup=2.0, constant=5 / 384)), 12)
        2.604167e-06
    """
    h = np.asarray(h, dtype=np.float64)
    return constant * fourth_derivative_sup * h**4


def early_stopping_rate(M, *, constant: float = 1.0) -> np.ndarray:
    r"""``C M^{-4/5}``: montufar2024's rate of ``E ||g_t - g0||_2^2`` with early stopping.

    Noisy data ``y_j = g0(x_j) + eps_j`` on a uniform grid, zeta uniform, stopping at
    ``t = Theta(M^{4/5})`` (``early_stopping_time``); the classical smoothing-spline rate for
    ``g0`` with a square-integrable second derivative. ``C`` is not given on the slides.

    Example:
        >>> from implicit_bias.theory.splines import early_stopping_rate
        >>> round(float(early_stopping_rate(32.0)), 12)
        0.0625
    """
    return constant * np.asarray(M, dtype=np.float64) ** (-0.8)


def early_stopping_time(M, *, constant: float = 1.0) -> np.ndarray:
    r"""``C M^{4/5}``: the stopping time of montufar2024's early-stopping rate.

    The optimal sum-normalised smoothing parameter is ``lam ~ M^{1/5}`` (mean-normalised
    ``M^{-4/5}``). With ``lam = 1/(c eta_bar t)`` this is ``t ~ M^{4/5}`` for a mean-normalised
    loss (``c ~ 1/M``: ``loss="mean"`` or ``"square"``); for a sum loss at fixed ``eta_bar`` it
    would be ``t ~ M^{-1/5}`` (with ``eta_bar ~ 1/M``, as stability requires, again
    ``M^{4/5}``; module docstring).

    Example:
        >>> from implicit_bias.theory.splines import early_stopping_time
        >>> round(float(early_stopping_time(32.0)), 12)
        16.0
    """
    return constant * np.asarray(M, dtype=np.float64) ** 0.8
