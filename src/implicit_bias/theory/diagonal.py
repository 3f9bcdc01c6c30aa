r"""Implicit bias of diagonal linear networks in regression: the potentials ``Q`` and their interpolants.

Gradient flow on the square loss of a diagonal linear network (:class:`implicit_bias.models.Diagonal`),
if it reaches zero loss, converges to the interpolant minimising a separable potential ``Q``
fixed by the initialization (Woodworth et al. 2020 via moroshko2020 eq. (6), vardi2022 §4.2;
azulay2021 Thm 4.1 and its Appendix B for untied layers and biased initializations). This
module computes that interpolant *without training*: from the closed-form solution of the flow
per coordinate, by Newton's method on an ``N``-dimensional convex dual. It never imports
:mod:`implicit_bias.algorithms` or :mod:`implicit_bias.train`.

Derivation (the one route behind every function here)
------------------------------------------------------
Let ``L(w) = 1/(2N) ||X w - y||^2`` and ``g(t) = X^T r(t) / N`` with ``r = X w - y``, the
gradient of ``L`` in ``w``. Define the dual path ``nu(t) = -(1/N) int_0^t r(s) ds`` (shape
``(N,)``) and ``z(t) = X^T nu(t) = -int_0^t g`` (shape ``(d,)``). Every coordinate of every
layer obeys a scalar ODE driven by the same ``z_i``:

* tied, depth ``D`` (``w = u_+^D - u_-^D``, :class:`~implicit_bias.models.Diagonal` with
  ``tied=True``): ``du_+/dt = -D u_+^{D-1} g``, ``du_-/dt = +D u_-^{D-1} g``. With
  ``u_+(0) = a``, ``u_-(0) = b``:

  - ``D = 1``: ``u_+ = a + z``, ``u_- = b - z``, so ``w = w(0) + 2 z``;
  - ``D = 2``: ``u_+ = a e^{2z}``, ``u_- = b e^{-2z}``, so ``w = a^2 e^{4z} - b^2 e^{-4z}``;
  - ``D > 2``: ``d(u^{2-D})/dt = D(D-2) g``, so ``u_+^{2-D} = a^{2-D} - D(D-2) z`` and
    ``u_+^D = a^D (1 - c_a z)^{-p}`` with ``c_a = D(D-2) a^{D-2}``, ``p = D/(D-2)`` (``a > 0``;
    the general sign is handled, see ``_family``), and likewise ``u_-^D = b^D (1 + c_b z)^{-p}``.
    The flow is defined for ``-1/c_b < z < 1/c_a``.

* untied, depth 2 (``w = u_+ v_+ - u_- v_-``, azulay2021 eq. (9)): ``du_+/dt = -v_+ g``,
  ``dv_+/dt = -u_+ g`` (and the opposite signs for ``u_-, v_-``), a linear system in ``z``:
  ``u_+ = u_+(0) cosh z + v_+(0) sinh z``, ``v_+ = v_+(0) cosh z + u_+(0) sinh z``, so
  ``u_+ v_+ = u_+(0)v_+(0) cosh 2z + (u_+(0)^2 + v_+(0)^2)/2 sinh 2z`` (``u^2 - v^2`` is
  conserved). Altogether ``w = P e^{2z} - M e^{-2z}`` with
  ``P = ((u_+ + v_+)^2 + (u_- - v_-)^2)/4 >= 0`` and ``M = ((u_+ - v_+)^2 + (u_- + v_-)^2)/4 >= 0``
  at ``t = 0``; unbiased (``u_-(0) = u_+(0)``, ``v_-(0) = v_+(0)``): ``w = (u_+^2 + v_+^2) sinh 2z``.

* untied, depth ``D > 2`` with all layers of ``u_+`` equal (and all of ``u_-`` equal), the
  :class:`~implicit_bias.models.Diagonal` default: the layers stay equal, each with
  ``du/dt = -u^{D-1} g``, i.e. the tied flow slowed down ``D`` times: same endpoint as the tied
  model with ``a = u_+[0]``, ``b = u_-[0]``, and a dual variable ``D`` times larger.

So ``w(t) = W(X^T nu(t))`` for an explicit, strictly increasing, per-coordinate map ``W``
(:func:`diagonal_flow_map`). If ``X w(inf) = y``, then ``w(inf) = W(X^T nu_inf)``: these are
exactly the KKT conditions of

.. math:: \min_w Q(w) \quad\text{s.t.}\quad X w = y, \qquad Q'(w) = W^{-1}(w)\ \text{(elementwise)},

with ``Q`` strictly convex (``W`` increasing), i.e. the Bregman divergence, from ``w(0)``, of
the potential whose mirror map is ``W^{-1}`` (:func:`diagonal_potential`). The scale of ``Q``
drops out of the argmin; :func:`diagonal_potential` uses the exact one (``grad Q(w_inf) =
X^T nu_inf`` with the ``1/(2N)`` loss). Consequences:

* tied ``D = 2``, ``u_±(0) = alpha``: ``Q'(w) = (1/4) arcsinh(w / (2 alpha^2))``, i.e.
  ``Q = (alpha^2/4) sum_i q^2(w_i / alpha^2)`` with ``q^2`` of :func:`q_woodworth`;
* tied ``D > 2``, ``u_±(0) = alpha``: ``W(z) = alpha^D h_D(D(D-2) alpha^{D-2} z)`` with ``h_D``
  of moroshko2020 eq. (6), so ``Q'(w) = h_D^{-1}(w/alpha^D) / (D(D-2) alpha^{D-2})`` and
  ``Q = alpha^2 / (D(D-2)) sum_i q^D(w_i / alpha^D)``.

  Hence the scaling is ``mu = alpha^D`` *exactly* for every ``D >= 2``, with no ``D``-dependent
  constant inside ``q^D``: moroshko2020's statement "``Q^D_mu`` with ``mu = alpha^D``" (after
  eq. (6), quoting Woodworth et al. 2020) is confirmed, with ``alpha`` the *per-layer* scale
  ``u_±(0) = alpha`` (our ``scale``), not the effective scale ``alpha^D``. Only a positive
  factor outside ``q^D`` differs (``alpha^2/(D(D-2))``, ``alpha^2/4`` at ``D = 2``), which
  does not move the argmin. Verified against gradient-flow simulations in the tests.
* untied ``D = 2`` (azulay2021 Thm 4.1, eq. (10)): ``Q'(w) = (1/2) arcsinh(w / (2 sqrt(P M)))
  + (1/4) log(M/P)``, i.e. ``Q = sum_i q_{k_i}(w_i) - (1/2) artanh(A_i/B_i) w_i`` with
  ``sqrt(k) = 4 sqrt(P M) = 2 sqrt(B^2 - A^2)``, ``A = w(0)``, ``B = (u_+^2 + v_+^2 + u_-^2 +
  v_-^2)/2`` at ``t = 0``. Unbiased: ``A = 0``, ``sqrt(k) = 2(u_+(0)^2 + v_+(0)^2)``, exactly
  azulay2021 Thm 4.1 (no linear term, and the same factor ``1/2`` in ``q_k``). The linear
  term ``-(1/2) artanh(A/B) w`` is our derivation of the biased case (Appendix B of
  azulay2021 is not in our copy of the paper).

Limits (azulay2021 §7.1, Appendix F; Woodworth et al. 2020): ``scale -> 0`` gives the
min-l1 interpolant (:func:`min_l1_interpolant`), ``scale -> inf`` the min-NTK-norm interpolant
``argmin sum_i (w_i - w_i(0))^2 / W_i'(0)``; for unbiased untied depth 2, ``W'(0) = 2(u_+(0)^2 +
v_+(0)^2)`` (:func:`ntk_norm_interpolant`); for tied models with one scalar ``scale`` (and for
untied ones with ``shape = 0``) ``W'(0)`` is the same for all coordinates: the min-l2
interpolant.

Conventions: ``X`` is ``(N, d)``, ``y`` is ``(N,)``, ``w`` and ``z`` are ``(d,)``, the dual
variable ``nu`` is ``(N,)``; everything is float64. Element-wise functions accept any shape.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._solvers import check_X, check_y, dual_newton, reduce_rows, solve_first_optimal

__all__ = [
    "woodworth_h",
    "q_woodworth",
    "q_woodworth_grad",
    "q_woodworth_hess",
    "q_azulay",
    "equivalent_scale",
    "diagonal_flow_map",
    "diagonal_potential",
    "DiagonalInterpolant",
    "diagonal_interpolant",
    "diagonal_interpolant_batch",
    "solve_diagonal_interpolant",
    "min_l1_interpolant",
    "ntk_norm_interpolant",
]

_EPS = float(np.finfo(np.float64).eps)
_SERIES_TERMS = 22  # power-series terms for small arguments (error < 1e-20 relative)


# ----------------------------------------------------------------------------------------
# Numerically stable elementary pieces
# ----------------------------------------------------------------------------------------


def _sg(x):
    return jax.lax.stop_gradient(x)


def _sinh_minus_x(x):
    """``sinh(x) - x`` without cancellation for small ``|x|``."""
    small = jnp.abs(x) < 0.5
    xs = jnp.where(small, x, 0.0)
    term, ser = xs**3 / 6.0, jnp.zeros_like(xs)
    for k in range(3, 2 * _SERIES_TERMS + 3, 2):  # x^k / k!, k odd
        ser = ser + term
        term = term * xs * xs / ((k + 1) * (k + 2))
    xl = jnp.where(small, 1.0, x)
    return jnp.where(small, ser, jnp.sinh(xl) - xl)


def power_remainder(x, m):
    """``f_m(x) = (1 - x)^{-m} - 1 - m x`` (``>= 0``, convex) for ``x < 1``, ``m > 0``, elementwise (jax).

    Shared with :mod:`~implicit_bias.theory.diagonal_margins` (the conjugate ``H_D`` of ``q^D``).

    Power series ``sum_{k>=2} (m)_k / k! x^k`` (rising factorial) where ``|x| (m + 2) < 0.3``
    (every term ratio below 0.1), the direct formula elsewhere (then ``f_m`` is not small).
    """
    small = jnp.abs(x) * (m + 2.0) < 0.3
    xs = jnp.where(small, x, 0.0)
    term, ser = m * (m + 1.0) / 2.0 * xs * xs, jnp.zeros_like(xs)
    for k in range(2, _SERIES_TERMS + 2):
        ser = ser + term
        term = term * (m + k) / (k + 1) * xs
    xl = jnp.where(small, 0.5, x)
    return jnp.where(small, ser, jnp.expm1(-m * jnp.log1p(-xl)) - m * xl)


def _check_depth_q(depth) -> float:
    try:
        D = float(depth)
    except (TypeError, ValueError):
        raise ValueError(f"depth must be a number >= 2; received {depth!r}") from None
    if not (D >= 2.0 and math.isfinite(D)):
        raise ValueError(f"depth must be a finite number >= 2 for q^D (moroshko2020 eq. (6)); received {depth!r}")
    return D


# ----------------------------------------------------------------------------------------
# Woodworth et al. 2020 / moroshko2020 eq. (6): q^D and h_D
# ----------------------------------------------------------------------------------------


def _h(t, D):
    """``h_D(t) = (1-t)^{-p} - (1+t)^{-p} = 2 (1-t^2)^{-p/2} sinh(p artanh t)``, ``p = D/(D-2)``."""
    p = D / (D - 2.0)
    return 2.0 * jnp.exp(-0.5 * p * jnp.log1p(-t * t)) * jnp.sinh(p * jnp.arctanh(t))


def _h_prime(t, D):
    p = D / (D - 2.0)
    return p * (jnp.exp(-(p + 1.0) * jnp.log1p(-t)) + jnp.exp(-(p + 1.0) * jnp.log1p(t)))


def woodworth_h(s, depth):
    r"""``h_D(s) = (1 - s)^{-D/(D-2)} - (1 + s)^{-D/(D-2)}`` on ``-1 < s < 1`` (moroshko2020 eq. (6)).

    Odd, strictly increasing from ``-inf`` to ``+inf``; ``(q^D)' = h_D^{-1}``. For ``D = 2`` (the
    limit ``D -> 2`` after rescaling ``s``) the analogue is ``h_2(s) = 2 sinh(s)``, the inverse
    of ``(q^2)'(z) = arcsinh(z/2)``.

    Args:
        s: array of any shape, ``|s| < 1`` for ``D > 2`` (outside: NaN).
        depth: ``D >= 2`` (a Python number).

    Returns:
        ``h_D(s)``, the shape of ``s``.
    """
    D = _check_depth_q(depth)
    s = jnp.asarray(s, dtype=jnp.float64)
    if D == 2.0:
        return 2.0 * jnp.sinh(s)
    return _h(s, D)


def _h_inverse(z, D, max_iter=100):
    """``h_D^{-1}(z)`` elementwise by Newton's method from the right (no derivative attached).

    ``h_D`` is increasing and convex on ``[0, 1)``, so Newton's method started at a point right
    of the root decreases monotonically to it without leaving the domain. The start
    ``t_0 = 1 - (1 + |z|)^{-1/p}`` is right of the root since ``h_D(t) >= (1-t)^{-p} - 1``; by
    oddness the sign of ``z`` is restored at the end.
    """
    p = D / (D - 2.0)
    a = jnp.abs(z)
    t0 = -jnp.expm1(-jnp.log1p(a) / p)

    def cond(s):
        t, dt, k = s
        return (k < max_iter) & jnp.any(jnp.abs(dt) > 2.0 * _EPS * jnp.abs(t))

    def body(s):
        t, _, k = s
        dt = (_h(t, D) - a) / _h_prime(t, D)
        dt = jnp.where(jnp.isfinite(dt), dt, 0.0)
        t_new = jnp.clip(t - dt, 0.0, t)  # monotone from the right; never below 0
        return t_new, t - t_new, k + 1

    t, _, _ = jax.lax.while_loop(cond, body, (t0, jnp.ones_like(t0), jnp.asarray(0)))
    return jnp.sign(z) * t


def _q_grad_parts(z, D):
    """``(t, t_eff)``: ``t = h_D^{-1}(z)`` and a surrogate with the right first derivative.

    ``t_eff = sg(t) + (z - sg(z)) / h_D'(sg(t))`` has the value of ``t`` and the derivative
    ``1 / h_D'(t)`` (implicit function theorem), so :func:`q_woodworth_grad` and
    :func:`q_woodworth` can be differentiated by ``jax.grad`` through the Newton iteration.
    """
    t = _sg(_h_inverse(_sg(z), D))
    t_eff = t + (z - _sg(z)) / _h_prime(t, D)
    return t, t_eff


@jax.jit
def _q2(z):
    # 2 - sqrt(4 + z^2) = -z^2 / (2 + sqrt(4 + z^2)): no cancellation at small z
    return -z * z / (2.0 + jnp.sqrt(4.0 + z * z)) + z * jnp.arcsinh(0.5 * z)


@jax.jit
def _qD(z, D):  # D > 2 traced: one compilation serves every depth
    _, t = _q_grad_parts(z, D)
    m = 2.0 / (D - 2.0)
    H = (power_remainder(t, m) + power_remainder(-t, m)) / m  # int_0^t h_D
    return z * t - H  # Legendre: q(z) = z t - H(t), t = h^{-1}(z)


def q_woodworth(z, depth):
    r"""Woodworth et al.'s per-coordinate potential ``q^D`` (moroshko2020 eq. (6); vardi2022 §4.2).

    .. math::

        q^2(z) = 2 - \sqrt{4 + z^2} + z\,\mathrm{arcsinh}(z/2), \qquad
        q^D(z) = \int_0^z h_D^{-1}(s)\,ds \quad (D > 2),

    with ``h_D`` of :func:`woodworth_h`. Convex, even, ``q^D(0) = (q^D)'(0) = 0``; ``~ z^2 / (4p)``
    near 0 (``p = D/(D-2)``; ``z^2/4`` for ``D = 2``) and ``~ |z|`` up to lower-order terms at
    infinity. As ``D -> 2+``, ``2 q^D / (D - 2) -> q^2``.

    The implicit bias of the tied depth-``D`` network with ``u_±(0) = alpha`` is
    ``sum_i q^D(w_i / mu)`` with ``mu = alpha^D`` exactly (see the module docstring for the
    derivation; :func:`diagonal_potential` gives the exactly-scaled ``Q``).

    Route: ``D = 2`` closed form; ``D > 2`` by Legendre duality ``q(z) = z t - H_D(t)``,
    ``t = h_D^{-1}(z)`` (Newton), ``H_D(t) = int_0^t h_D = ((1-t)^{-m} + (1+t)^{-m} - 2) / m``,
    ``m = 2/(D-2)``, evaluated without cancellation. Differentiable (``jax.grad`` gives
    ``h_D^{-1}``), jit- and vmap-able.

    Args:
        z: array of any shape.
        depth: ``D >= 2`` (a Python number; real values allowed for ``D > 2``; all depths
            ``> 2`` share one compilation).

    Returns:
        ``q^D(z)``, the shape of ``z``.

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.theory.diagonal import q_woodworth
        >>> round(float(q_woodworth(jnp.asarray(0.0), 3)), 12), float(q_woodworth(jnp.asarray(2.0), 2)) > 0
        (0.0, True)
    """
    z = jnp.asarray(z, dtype=jnp.float64)
    D = _check_depth_q(depth)
    return _q2(z) if D == 2.0 else _qD(z, D)


def q_woodworth_grad(z, depth):
    r"""``(q^D)'(z) = h_D^{-1}(z)`` (``arcsinh(z/2)`` for ``D = 2``), in ``(-1, 1)`` for ``D > 2``.

    Computed by a monotone (safeguarded) Newton iteration from the right, vectorised over the
    entries of ``z`` (one ``lax.while_loop``, jit- and vmap-able); its ``jax`` derivative is
    ``1 / h_D'(h_D^{-1}(z))`` (implicit function theorem), equal to :func:`q_woodworth_hess`.

    Args:
        z: array of any shape.
        depth: ``D >= 2`` (a Python number).

    Returns:
        ``h_D^{-1}(z)``, the shape of ``z``.
    """
    z = jnp.asarray(z, dtype=jnp.float64)
    D = _check_depth_q(depth)
    return jnp.arcsinh(0.5 * z) if D == 2.0 else _qD_grad(z, D)


@jax.jit
def _qD_grad(z, D):
    return _q_grad_parts(z, D)[1]


def q_woodworth_hess(z, depth):
    r"""``(q^D)''(z) = 1 / h_D'(h_D^{-1}(z))`` (``1/sqrt(4 + z^2)`` for ``D = 2``); ``(D-2)/(2D)`` at 0.

    Args:
        z: array of any shape.
        depth: ``D >= 2`` (a Python number).

    Returns:
        ``(q^D)''(z)``, the shape of ``z``, positive (``q^D`` is strictly convex).
    """
    z = jnp.asarray(z, dtype=jnp.float64)
    D = _check_depth_q(depth)
    return 1.0 / jnp.sqrt(4.0 + z * z) if D == 2.0 else _qD_hess(z, D)


@jax.jit
def _qD_hess(z, D):
    return 1.0 / _h_prime(_h_inverse(_sg(z), D), D)


# ----------------------------------------------------------------------------------------
# azulay2021 Thm 4.1: Q_k for untied depth 2, and the equivalent scale
# ----------------------------------------------------------------------------------------


def q_azulay(w, u0, v0, u0_minus=None, v0_minus=None):
    r"""Per-coordinate potential of the untied two-layer diagonal network (azulay2021 Thm 4.1, eq. (10)).

    Unbiased initialization (``u_-(0) = u_+(0) = u0``, ``v_-(0) = v_+(0) = v0``):

    .. math::

        q_k(w) = \frac{\sqrt k}{4}\Big[1 - \sqrt{1 + \tfrac{4 w^2}{k}}
                 + \tfrac{2w}{\sqrt k}\,\mathrm{arcsinh}\big(\tfrac{2w}{\sqrt k}\big)\Big]
               = \frac12\int_0^w \mathrm{arcsinh}\big(\tfrac{2s}{\sqrt k}\big)\,ds,
        \qquad \sqrt k = 2 (u_0^2 + v_0^2),

    exactly as in the paper; ``sum_i q_{k_i}(w_i)`` is minimised over ``X w = y`` by the
    gradient-flow limit. Its derivative ``(1/2) arcsinh(w / (u0^2 + v0^2))`` is the inverse of
    the closed-form flow map ``w = (u0^2 + v0^2) sinh(2 z)`` (module docstring), including the
    constant: ``q_k'(w_inf) = (X^T nu_inf)`` with ``nu`` of the ``1/(2N)`` loss.

    Biased initialization (``u0_minus``, ``v0_minus`` given; our derivation of the general case
    of azulay2021 Appendix B from the same closed-form flow ``w = A cosh 2z + B sinh 2z``):

    .. math::

        q(w) = q_k(w) - \tfrac12 \mathrm{artanh}(A/B)\, w, \quad
        A = u_0 v_0 - u_0^- v_0^-,\ B = \tfrac12(u_0^2 + v_0^2 + (u_0^-)^2 + (v_0^-)^2),\
        \sqrt k = 2\sqrt{B^2 - A^2},

    minimised at ``w = A = w(0)``. Requires ``B > |A|`` (i.e. not ``u0 = ±v0`` with
    ``u0_minus = ∓v0_minus``, where the flow stays one-signed); NaN otherwise.

    Args:
        w: array of any shape.
        u0: initial first-layer weights of the ``+`` branch, broadcastable to ``w``.
        v0: initial second-layer weights of the ``+`` branch, broadcastable to ``w``.
        u0_minus: first layer of the ``-`` branch (default ``u0``: unbiased).
        v0_minus: second layer of the ``-`` branch (default ``v0``: unbiased).

    Returns:
        The per-coordinate values, the broadcast shape (sum them for ``Q_k``). In the biased
        case ``q`` is defined up to an additive constant (this form is 0 at ``w = 0``).

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.theory.diagonal import q_azulay
        >>> float(q_azulay(jnp.asarray(0.0), 1.0, 1.0))
        0.0
    """
    w = jnp.asarray(w, dtype=jnp.float64)
    u0 = jnp.asarray(u0, dtype=jnp.float64)
    v0 = jnp.asarray(v0, dtype=jnp.float64)
    if (u0_minus is None) != (v0_minus is None):
        raise ValueError("q_azulay: give both u0_minus and v0_minus (biased init) or neither (unbiased)")
    if u0_minus is None:
        sqrt_k = 2.0 * (u0 * u0 + v0 * v0)
        lin = jnp.zeros_like(sqrt_k)
    else:
        um = jnp.asarray(u0_minus, dtype=jnp.float64)
        vm = jnp.asarray(v0_minus, dtype=jnp.float64)
        P = ((u0 + v0) ** 2 + (um - vm) ** 2) / 4.0
        M = ((u0 - v0) ** 2 + (um + vm) ** 2) / 4.0
        sqrt_k = 4.0 * jnp.sqrt(P * M)  # = 2 sqrt(B^2 - A^2)
        lin = 0.25 * jnp.log(M / P)  # = -(1/2) artanh(A / B)
    x = 2.0 * w / sqrt_k
    # sqrt(k)/4 [1 - sqrt(1 + x^2) + x arcsinh x], with 1 - sqrt(1+x^2) = -x^2 / (1 + sqrt(1+x^2))
    return sqrt_k / 4.0 * (-x * x / (1.0 + jnp.sqrt(1.0 + x * x)) + x * jnp.arcsinh(x)) + lin * w


def equivalent_scale(alpha, s):
    r"""The balanced (``s = 0``) scale with exactly the implicit bias of scale ``alpha`` and shape ``s``.

    For the unbiased untied two-layer network (azulay2021 §7.1: ``alpha = |u||v|``,
    ``s = (|v|/|u| - 1)/(|v|/|u| + 1)``, so ``|u| = sqrt(alpha (1-s)/(1+s))``,
    ``|v| = sqrt(alpha (1+s)/(1-s))``), ``Q_k`` of Thm 4.1 depends on the initialization only
    through

    .. math:: u_0^2 + v_0^2 = \alpha\Big(\frac{1-s}{1+s} + \frac{1+s}{1-s}\Big)
              = 2\alpha\,\frac{1 + s^2}{1 - s^2}, \qquad \sqrt k = 4\alpha\frac{1+s^2}{1-s^2},

    (the paper's eq. for ``sqrt(k_i)`` in §7.1), so ``(alpha, s)`` and ``(alpha', s')`` give the
    same interpolant iff ``alpha (1+s^2)/(1-s^2) = alpha' (1+s'^2)/(1-s'^2)``. This function
    returns that invariant, ``alpha (1 + s^2)/(1 - s^2)``: the scale of the balanced
    initialization with the same ``Q``.

    Warning: azulay2021 §7.1 calls ``alpha / (1 - s^2)`` "the factor controlling the
    transition"; it differs from the exact invariant by the factor ``1 + s^2`` in ``[1, 2)``, so it
    has the same limits (``alpha/(1-s^2) -> 0`` rich, ``-> inf`` NTK) but equal values of it do
    not give equal interpolants.

    Args:
        alpha: scale(s) ``> 0`` (array-like).
        s: shape(s) in ``(-1, 1)``, broadcastable with ``alpha``.

    Returns:
        ``alpha (1 + s^2) / (1 - s^2)``, float64 array (0-d for scalars).

    Example:
        >>> from implicit_bias.theory.diagonal import equivalent_scale
        >>> float(equivalent_scale(0.3, 0.5))
        0.5
    """
    a = np.asarray(alpha, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    if not np.all(a > 0):
        raise ValueError(f"equivalent_scale: alpha must be > 0; received {alpha!r}")
    if not np.all(np.abs(s) < 1):
        raise ValueError(f"equivalent_scale: the shape s must lie in (-1, 1); received {s!r}")
    return a * (1.0 + s * s) / (1.0 - s * s)


# ----------------------------------------------------------------------------------------
# The closed-form flow map W (per coordinate) for every supported Diagonal model
# ----------------------------------------------------------------------------------------


def _kind(depth: int, tied: bool) -> str:
    """The static family of the flow map: ``linear`` (depth 1), ``exp`` (depth 2), ``power`` (depth > 2)."""
    return "linear" if depth == 1 else "exp" if depth == 2 else "power"


def _family(init, D, kind: str, tied: bool):
    """Per-coordinate coefficients of the flow map ``w = W(z)`` from the initial parameters.

    ``kind`` (static, :func:`_kind`) and ``tied`` select the formula; the depth ``D`` is a
    (possibly traced) number, so every depth > 2 shares one compilation. Returns
    ``(kind, coef, zscale)`` with ``coef`` a dict of ``(d,)`` arrays (plus numbers) and
    ``zscale`` such that the model's dual variable is ``zscale`` times that of ``W``'s (``D``
    for untied ``D > 2``).

    * ``linear`` (``D = 1``): ``W(z) = w0 + 2 z``;
    * ``exp``: ``W(z) = P e^{kz} - M e^{-kz}`` (tied ``D = 2``: ``P = a^2, M = b^2, k = 4``;
      untied ``D = 2``: ``P, M`` of the module docstring, ``k = 2``);
    * ``power`` (``D > 2``): ``W(z) = s_a |a|^D (1 - s_a c_a z)^{-p} - s_b |b|^D (1 + s_b c_b z)^{-p}``
      with ``s_a = sign(a)^D``, ``c_a = D(D-2)|a|^{D-2}``, ``p = D/(D-2)``: the solution of
      ``d|u|/dt = -D sign(u)^D |u|^{D-1} g`` (a sign never changes, zero stays zero).
    """
    up = jnp.asarray(init["u_plus"], dtype=jnp.float64)
    um = jnp.asarray(init["u_minus"], dtype=jnp.float64)
    zscale = 1.0
    if not tied:
        if kind == "exp":
            u, v, a, b = up[0], up[1], um[0], um[1]
            P = ((u + v) ** 2 + (a - b) ** 2) / 4.0
            M = ((u - v) ** 2 + (a + b) ** 2) / 4.0
            return "exp", {"w0": u * v - a * b, "P": P, "M": M, "k": 2.0}, zscale
        up, um = up[0], um[0]  # equal layers: the tied flow, D times slower
        zscale = D if kind == "power" else 1.0
    if kind == "linear":
        return "linear", {"w0": up - um}, zscale
    if kind == "exp":
        return "exp", {"w0": up * up - um * um, "P": up * up, "M": um * um, "k": 4.0}, zscale
    D = jnp.asarray(D, dtype=jnp.float64)
    odd = jnp.mod(D, 2.0) == 1.0
    c = {"D": D}
    for name, x in (("a", up), ("b", um)):
        ax = jnp.abs(x)
        c["s" + name] = jnp.where((x < 0) & odd, -1.0, jnp.where(x == 0, 0.0, 1.0))  # sign(x)^D
        c["A" + name] = ax**D
        c["c" + name] = D * (D - 2.0) * ax ** (D - 2.0)
        c["q" + name] = ax * ax
    c["w0"] = c["sa"] * c["Aa"] - c["sb"] * c["Ab"]  # u_+^D - u_-^D
    return "power", c, zscale


def _state(kind, c, z):
    """The evaluation state at ``z``: ``{"z"}``, plus for ``power`` the distances to the domain's ends.

    ``power``: ``da = 1 - s_a c_a z`` and ``db = 1 + s_b c_b z`` (the flow exists while both are
    positive). Near an end, ``1 - s_a c_a z`` computed from ``z`` keeps only ``eps / da`` relative
    accuracy, and ``w ~ da^{-p}`` inherits it; the dual solver therefore updates ``da``, ``db``
    by increments (:func:`_advance`), which keeps them accurate to a few ``eps`` relative.
    """
    if kind != "power":
        return {"z": z}
    return {"z": z, "da": 1.0 - c["sa"] * c["ca"] * z, "db": 1.0 + c["sb"] * c["cb"] * z}


def _advance(kind, c, st, z_new, dz):
    """State at ``z_new = z + dz`` (``power``: the distances ``da``, ``db`` updated by increments)."""
    if kind != "power":
        return {"z": z_new}
    return {"z": z_new, "da": st["da"] - c["sa"] * c["ca"] * dz, "db": st["db"] + c["sb"] * c["cb"] * dz}


def _power_logs(c, st):
    """``(x_a, x_b, log(1 - x_a), log(1 - x_b), in_domain)`` with ``x_a = s_a c_a z``, ``x_b = -s_b c_b z``.

    ``log1p(-x)`` from ``z`` where ``|x| < 1/2`` (accurate near ``z = 0``), ``log(d)`` from the
    tracked distances elsewhere (accurate near the domain's ends).
    """
    z = st["z"]
    xa, xb = c["sa"] * c["ca"] * z, -c["sb"] * c["cb"] * z
    ok = (st["da"] > 0) & (st["db"] > 0)

    def lg(x, dist):
        near0 = jnp.abs(x) < 0.5
        return jnp.where(near0, jnp.log1p(-jnp.where(near0, x, 0.0)), jnp.log(jnp.where(ok & ~near0, dist, 1.0)))

    La, Lb = lg(xa, st["da"]), lg(xb, st["db"])
    return jnp.where(ok, xa, 0.0), jnp.where(ok, xb, 0.0), jnp.where(ok, La, 0.0), jnp.where(ok, Lb, 0.0), ok


def _as_state(kind, c, st):
    return st if isinstance(st, dict) else _state(kind, c, st)


def _W(kind, c, st):
    """``(W(z), in_domain)``, written as ``w0 +`` same-signed increments (no cancellation).

    ``st`` is ``z`` or a state of :func:`_state`.
    """
    st = _as_state(kind, c, st)
    z = st["z"]
    if kind == "linear":
        return c["w0"] + 2.0 * z, jnp.ones(z.shape, dtype=bool)
    if kind == "exp":
        k = c["k"]
        return c["w0"] + c["P"] * jnp.expm1(k * z) - c["M"] * jnp.expm1(-k * z), jnp.ones(z.shape, dtype=bool)
    D = c["D"]
    p = D / (D - 2.0)
    _, _, La, Lb, ok = _power_logs(c, st)
    w = c["w0"] + c["sa"] * c["Aa"] * jnp.expm1(-p * La) - c["sb"] * c["Ab"] * jnp.expm1(-p * Lb)
    return jnp.where(ok, w, jnp.nan), ok


def _dW(kind, c, st):
    """``W'(z) > 0``."""
    st = _as_state(kind, c, st)
    z = st["z"]
    if kind == "linear":
        return jnp.full(z.shape, 2.0)
    if kind == "exp":
        k = c["k"]
        return k * (c["P"] * jnp.exp(k * z) + c["M"] * jnp.exp(-k * z))
    D = c["D"]
    p = D / (D - 2.0)
    _, _, La, Lb, _ = _power_logs(c, st)
    return p * (c["Aa"] * c["ca"] * jnp.exp(-(p + 1.0) * La) + c["Ab"] * c["cb"] * jnp.exp(-(p + 1.0) * Lb))


def _G(kind, c, st):
    """``Psi(z) - Psi(0) - w0 z >= 0`` with ``Psi' = W``: the dual potential minus its tangent at 0."""
    st = _as_state(kind, c, st)
    z = st["z"]
    if kind == "linear":
        return z * z
    if kind == "exp":
        k = c["k"]
        kz = k * z
        return ((c["P"] - c["M"]) * _sinh_minus_x(kz) + 2.0 * (c["P"] + c["M"]) * jnp.sinh(0.5 * kz) ** 2) / k
    D = c["D"]
    m = 2.0 / (D - 2.0)
    xa, xb, La, Lb, ok = _power_logs(c, st)

    def fm(x, L):  # f_m(x) = (1-x)^{-m} - 1 - m x, series near 0, from log(1-x) elsewhere
        small = jnp.abs(x) * (m + 2.0) < 0.3
        return jnp.where(small, power_remainder(jnp.where(small, x, 0.0), m), jnp.expm1(-m * L) - m * x)

    g = (c["qa"] * fm(xa, La) + c["qb"] * fm(xb, Lb)) / (2.0 * D)
    return jnp.where(ok, g, jnp.inf)


def _invert(kind, c, w, max_iter=200):
    """``z = W^{-1}(w)`` elementwise (closed form for ``linear``/``exp``, damped Newton for ``power``).

    ``power``: Newton's method on the concave ``phi(z) = (w - w0) z - G(z)`` from ``z = 0`` with
    backtracking (Armijo on ``phi`` or decrease of ``|W(z) - w|``; trial points outside the
    domain are rejected); no derivative is attached (see ``_z_eff``).
    """
    if kind == "linear":
        return (w - c["w0"]) / 2.0
    if kind == "exp":
        P, M, k = c["P"], c["M"], c["k"]
        both = (P > 0) & (M > 0)
        Ps, Ms = jnp.where(both, P, 1.0), jnp.where(both, M, 1.0)
        z_both = (jnp.arcsinh(w / (2.0 * jnp.sqrt(Ps * Ms))) + 0.5 * jnp.log(Ms / Ps)) / k
        z_pos = jnp.log(w / jnp.where(P > 0, P, 1.0)) / k  # M = 0: w = P e^{kz} > 0
        z_neg = -jnp.log(-w / jnp.where(M > 0, M, 1.0)) / k  # P = 0: w = -M e^{-kz} < 0
        return jnp.where(both, z_both, jnp.where(P > 0, z_pos, jnp.where(M > 0, z_neg, jnp.nan)))

    dw = w - c["w0"]

    def phi(z):
        return dw * z - _G(kind, c, z)

    def cond(s):
        z, f, r, k, active = s
        return (k < max_iter) & jnp.any(active)

    def body(s):
        z, f, r, k, active = s
        step = -r / _dW(kind, c, z)  # r = W(z) - w

        def ls_cond(ls):
            t, acc, j = ls
            return jnp.any(active & ~acc) & (j < 80)

        def ls_body(ls):
            t, acc, j = ls
            zn = z + t * step
            wn, ok = _W(kind, c, zn)
            good = ok & jnp.isfinite(wn) & ((phi(zn) >= f + 1e-4 * t * (-r) * step) | (jnp.abs(wn - w) < (1.0 - 1e-4 * t) * jnp.abs(r)))
            acc_new = acc | good
            return jnp.where(acc_new, t, 0.5 * t), acc_new, j + 1

        t, acc, _ = jax.lax.while_loop(ls_cond, ls_body, (jnp.ones_like(z), ~active, jnp.asarray(0)))
        moved = active & acc
        zn = jnp.where(moved, z + t * step, z)
        wn, _ = _W(kind, c, zn)
        rn = wn - w
        tiny = 4.0 * _EPS * (jnp.abs(w) + jnp.abs(c["w0"]))
        still = moved & (jnp.abs(rn) > tiny) & (jnp.abs(t * step) > 2.0 * _EPS * jnp.abs(zn))
        return zn, jnp.where(moved, phi(zn), f), jnp.where(moved, rn, r), k + 1, still

    z0 = jnp.zeros_like(w)
    r0 = c["w0"] - w
    z, _, _, _, _ = jax.lax.while_loop(cond, body, (z0, phi(z0), r0, jnp.asarray(0), r0 != 0))
    return z


def _z_eff(kind, c, w):
    """``W^{-1}(w)`` with derivative ``1 / W'(z)`` attached (implicit-function surrogate)."""
    z = _sg(_invert(kind, c, _sg(w)))
    return z + (w - _sg(w)) / _dW(kind, c, z)


def _model_family(model):
    """Validate a :class:`~implicit_bias.models.Diagonal` and return ``(kind, coef, zscale)``."""
    from ..models import Diagonal

    if not isinstance(model, Diagonal):
        raise ValueError(f"model must be an implicit_bias.models.Diagonal; received {type(model).__name__}")
    init = model.init(None)
    if not model.tied and model.depth > 2:
        for name in ("u_plus", "u_minus"):
            u = np.asarray(init[name])
            if not np.all(u == u[:1]):
                raise ValueError(
                    f"untied Diagonal with depth {model.depth} > 2: the closed-form flow needs all layers of "
                    f"{name} equal at initialization (then it is the tied flow); received unequal layers. "
                    "Use depth 2, a tied model, or equal layers in init_params"
                )
    return _family(init, float(model.depth), _kind(model.depth, model.tied), model.tied)


def diagonal_flow_map(z, model):
    r"""The closed-form gradient-flow map ``w = W(z)`` of a diagonal network, elementwise.

    Along gradient flow on the square loss, ``w(t) = W(X^T nu(t))`` with
    ``nu(t) = -(1/N) int_0^t (X w - y) ds`` (``(N,)``), for the explicit increasing map ``W``
    derived in the module docstring (tied depth ``D``: ``a^2 e^{4z} - b^2 e^{-4z}`` for ``D = 2``,
    ``a^D (1 - c_a z)^{-p} - b^D (1 + c_b z)^{-p}`` for ``D > 2``; untied depth 2:
    ``P e^{2z} - M e^{-2z}``). ``W(0) = w(0)``.

    Args:
        z: ``(d,)``, ``z = X^T nu`` (outside the flow's domain, ``D > 2``: NaN).
        model: a :class:`~implicit_bias.models.Diagonal` (tied any depth, untied depth 2, or
            untied depth > 2 with equal layers; ``init_params`` honoured).

    Returns:
        ``w``, ``(d,)``.
    """
    _model_family(model)  # validates
    return _flow_map_jit(jnp.asarray(z, dtype=jnp.float64), model.init(None), float(model.depth), kind=_kind(model.depth, model.tied), tied=model.tied)


@functools.partial(jax.jit, static_argnames=("kind", "tied"))
def _flow_map_jit(z, init, D, *, kind, tied):
    kind, c, zscale = _family(init, D, kind, tied)
    return _W(kind, c, z / zscale)[0]


def diagonal_potential(w, model):
    r"""The exact implicit-bias potential ``Q(w)`` of a diagonal network (scalar, differentiable).

    .. math:: Q(w) = \sum_i \int_{w_i(0)}^{w_i} W_i^{-1}(s)\,ds
              = \sum_i \big[z_i (w_i - w_i(0)) - (\Psi_i(z_i) - \Psi_i(0) - w_i(0) z_i)\big],
              \quad z_i = W_i^{-1}(w_i),\ \Psi_i' = W_i,

    the Bregman divergence from ``w(0)`` of the potential with mirror map ``W^{-1}``
    (:func:`diagonal_flow_map`), normalised so that ``grad Q(w_inf) = X^T nu_inf`` exactly (the
    dual variable of the ``1/(2N)`` square loss). ``Q >= 0``, ``Q(w(0)) = 0``; gradient flow
    converges to ``argmin Q`` over ``X w = y`` if it interpolates. Relations (module docstring):
    tied unbiased ``u_±(0) = alpha``: ``Q = alpha^2/(D(D-2)) sum q^D(w/alpha^D)`` (``alpha^2/4``
    for ``D = 2``); untied unbiased depth 2: ``Q = sum q_{k_i}(w_i)`` of :func:`q_azulay`.

    ``jax.grad`` gives ``W^{-1}(w)`` and ``jax.hessian`` ``diag(1 / W'(z))`` (implicit-function
    surrogate through the inversion: closed form for depth <= 2, damped Newton for depth > 2).

    Args:
        w: ``(d,)``, in the range of ``W`` (else NaN/inf).
        model: a :class:`~implicit_bias.models.Diagonal` as in :func:`diagonal_flow_map`.

    Returns:
        ``Q(w)``, a float64 scalar (jax array).
    """
    _model_family(model)  # validates
    return _potential_jit(jnp.asarray(w, dtype=jnp.float64), model.init(None), float(model.depth), kind=_kind(model.depth, model.tied), tied=model.tied)


@functools.partial(jax.jit, static_argnames=("kind", "tied"))
def _potential_jit(w, init, D, *, kind, tied):
    kind, c, zscale = _family(init, D, kind, tied)
    z = _z_eff(kind, c, w)
    return zscale * jnp.sum(z * (w - c["w0"]) - _G(kind, c, z))


# ----------------------------------------------------------------------------------------
# The interpolant: Newton's method on the N-dimensional dual
# ----------------------------------------------------------------------------------------


class _DualSolution(NamedTuple):
    w: jax.Array
    nu: jax.Array
    iterations: jax.Array
    residual: jax.Array
    converged: jax.Array


def _max_step(kind, c, st, zstep):
    """First trial step length: 1, capped so that a step cannot jump absurdly far.

    ``power``: 0.99 of the distance to the end of the flow's domain ("fraction to the
    boundary" of interior-point methods); ``exp``: ``|k t zstep| <= 40`` (a factor ``e^40`` in
    ``w`` per step). Without the cap, a first step from a tiny scale overshoots by dozens of
    orders of magnitude and exhausts the backtracking.
    """
    if kind == "linear":
        return jnp.asarray(1.0)
    if kind == "exp":
        m = jnp.max(jnp.abs(c["k"] * zstep))
        return jnp.minimum(1.0, 40.0 / jnp.maximum(m, 1e-300))
    ra = c["sa"] * c["ca"] * zstep  # rate of decrease of da
    rb = -c["sb"] * c["cb"] * zstep  # rate of decrease of db
    ta = jnp.where(ra > 0, st["da"] / jnp.where(ra > 0, ra, 1.0), jnp.inf)
    tb = jnp.where(rb > 0, st["db"] / jnp.where(rb > 0, rb, 1.0), jnp.inf)
    return jnp.minimum(1.0, 0.99 * jnp.minimum(jnp.min(ta), jnp.min(tb)))


def _dual_newton(X, y, kind, c, target, max_iter):
    """Damped Newton on ``Phi(nu) = sum_i Psi_i((X^T nu)_i) - y^T nu`` (convex; ``grad = X W(X^T nu) - y``).

    :func:`~._solvers.dual_newton` with Hessian ``X diag(W'(z)) X^T``, first trial length
    :func:`_max_step`, and trial points outside the flow's domain rejected; it stops at
    ``||X w - y|| <= target``, after ``max_iter`` steps, or when no step is accepted. The
    per-coordinate state (see :func:`_state`) is advanced by increments ``X^T (t step)``, so that
    depth > 2 keeps full relative accuracy near the ends of the flow's domain (the rich regime).
    """

    def evaluate(x):
        nu, st = x
        w, ok = _W(kind, c, st)
        F = X @ w - y
        phi = jnp.sum(_G(kind, c, st)) + (c["w0"] @ st["z"]) - y @ nu
        res = jnp.linalg.norm(F)
        ok = jnp.all(ok) & jnp.all(jnp.isfinite(w)) & jnp.isfinite(phi) & jnp.isfinite(res)
        return {"w": w, "F": F, "phi": phi, "res": res, "ok": ok}

    def hessian(x, ev):
        return (X * _dW(kind, c, x[1])[None, :]) @ X.T

    def move(x, step, t):
        nu, st = x
        nun = nu + t * step
        return nun, _advance(kind, c, st, X.T @ nun, t * (X.T @ step))

    def first_step(x, step):
        return _max_step(kind, c, x[1], X.T @ step)

    x0 = (jnp.zeros(X.shape[0]), _state(kind, c, jnp.zeros(X.shape[1])))
    out = dual_newton(evaluate, hessian, move, x0, target=target, max_iter=max_iter, first_step=first_step)
    return out.x[0], out.ev["w"], out.iterations, out.ev["res"]


def solve_diagonal_interpolant(X, y, init, *, depth: int, tied: bool, tol: float = 1e-12, max_iter: int = 200):
    r"""Functional, jit- and vmap-able core of :func:`diagonal_interpolant` (pure jax, no checks).

    Solves ``X W(X^T nu) = y`` for ``nu`` (``(N,)``) by damped Newton on the convex dual
    ``Phi(nu) = sum_i Psi_i((X^T nu)_i) - y^T nu`` (``Psi_i' = W_i``, the closed-form flow map of
    :func:`diagonal_flow_map`), with Jacobian ``X diag(W'(z)) X^T``; then ``w = W(X^T nu)`` is the
    minimiser of :func:`diagonal_potential` over ``X w = y``. Start ``nu = 0`` (``w = w(0)``).

    Vectorise with ``jax.vmap`` over ``init`` (and/or ``X``, ``y``), e.g.
    ``jax.vmap(lambda p: solve_diagonal_interpolant(X, y, p, depth=2, tied=False))(params)``
    with ``params = {"u_plus": (B, 2, d), "u_minus": (B, 2, d)}``; :func:`diagonal_interpolant_batch`
    does this for a batch of scales and shapes.

    Args:
        X: ``(N, d)``, full row rank (no reduction is done here).
        y: ``(N,)``.
        init: initial parameters ``{"u_plus", "u_minus"}`` of a
            :class:`~implicit_bias.models.Diagonal` (``(d,)`` tied, ``(depth, d)`` untied).
            Untied with depth > 2: layer 0 of each branch is used, valid only if all layers are
            equal (checked by :func:`diagonal_interpolant`, not here).
        depth: the model's depth (a Python int; every depth > 2 shares one compilation).
        tied: the model's ``tied`` flag.
        tol: stop when ``||X w - y|| <= tol * max(1, ||y||)``.
        max_iter: Newton steps (a Python int).

    Returns:
        A ``NamedTuple`` of jax arrays ``(w (d,), nu (N,), iterations (), residual (),
        converged ())``; ``nu`` in the model's convention (``grad Q(w) = X^T nu``).
    """
    return _solve_core(X, y, init, float(depth), _kind(int(depth), bool(tied)), bool(tied), tol, int(max_iter))


def _solve_core(X, y, init, D, kind, tied, tol, max_iter):
    X = jnp.asarray(X, dtype=jnp.float64)
    y = jnp.asarray(y, dtype=jnp.float64)
    kind, c, zscale = _family(init, D, kind, tied)
    target = tol * jnp.maximum(1.0, jnp.linalg.norm(y))
    nu, w, it, res = _dual_newton(X, y, kind, c, target, int(max_iter))
    return _DualSolution(w, zscale * nu, it, res, res <= target)


@dataclasses.dataclass(frozen=True, eq=False)
class DiagonalInterpolant:
    """The implicit-bias interpolant of a diagonal network (see :func:`diagonal_interpolant`).

    Attributes (a leading batch axis ``(B, ...)`` for :func:`diagonal_interpolant_batch`):
        w: the interpolant, ``(d,)``.
        nu: the dual variable, ``(N,)``: ``grad Q(w) = X^T nu`` (``Q`` of
            :func:`diagonal_potential`), i.e. ``nu = -(1/N) int_0^inf (X w(t) - y) dt``.
        iterations: Newton steps taken.
        residual: ``||X w - y||``.
        converged: ``residual <= tol * max(1, ||y||)``.

    The arrays are read-only NumPy float64 arrays (``iterations`` int, ``converged`` bool).
    """

    w: np.ndarray
    nu: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    converged: np.ndarray


@functools.partial(jax.jit, static_argnames=("kind", "tied", "max_iter", "batched"))
def _solve_jit(X, y, init, tol, D, *, kind, tied, max_iter, batched):
    def f(p):
        return _solve_core(X, y, p, D, kind, tied, tol, max_iter)

    return jax.vmap(f)(init) if batched else f(init)


def _solve_model(X, y, init, tol, model, max_iter, batched):
    return _solve_jit(jnp.asarray(X), jnp.asarray(y), init, tol, float(model.depth), kind=_kind(model.depth, model.tied), tied=model.tied, max_iter=int(max_iter), batched=batched)


def _prepare(X, y, model, tol, max_iter):
    from ..models import Diagonal

    if not isinstance(model, Diagonal):
        raise ValueError(f"model must be an implicit_bias.models.Diagonal; received {type(model).__name__}")
    X = check_X(X)
    y = check_y(y, X.shape[0])
    if X.shape[1] != model.dim:
        raise ValueError(f"X has {X.shape[1]} columns but the model has dim={model.dim}; make them equal")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number; received {tol!r}")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1; received {max_iter!r}")
    # Rank-deficient X: solve the equivalent system with orthonormal rows (same affine set).
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    if s[-1] > s[0] * max(X.shape) * _EPS and X.shape[0] <= X.shape[1]:
        return X, y, None, float(tol)
    A, b, sr = reduce_rows(X, y)  # raises if y is not in the range of X
    back = U[:, : sr.size] / sr[None, :]  # nu = U_r S_r^{-1} nu_A
    # ||X w - y|| <= s_max ||A w - b||: tighten the tolerance accordingly
    t = float(tol) * max(1.0, float(np.linalg.norm(y))) / (float(sr[0]) * max(1.0, float(np.linalg.norm(b))))
    return A, b, back, t


def _finish(X, y, sol, back, tol):
    w = np.asarray(sol.w, dtype=np.float64)
    nu = np.asarray(sol.nu, dtype=np.float64)
    if back is not None:
        nu = nu @ back.T
    res = np.linalg.norm(w @ X.T - y, axis=-1)
    target = tol * max(1.0, float(np.linalg.norm(y)))
    out = DiagonalInterpolant(w, nu, np.asarray(sol.iterations), np.asarray(res), np.asarray(res <= target))
    for a in (out.w, out.nu, out.iterations, out.residual, out.converged):
        a.setflags(write=False)
    return out


def _failure(res, target):
    return (
        f"no interpolant found: dual Newton stopped at ||X w - y|| = {res:.3g} > tol * max(1, ||y||) = "
        f"{target:.3g}. Either y is not reachable by the flow (one-signed models, e.g. positive=True or "
        "one-signed init_params) or, for depth > 2 at very small scales, rounding in z = X^T nu limits the "
        "accuracy near the boundary of the flow's domain (raise tol)"
    )


def diagonal_interpolant(X, y, model, *, tol: float = 1e-12, max_iter: int = 200) -> DiagonalInterpolant:
    r"""The interpolant gradient flow on a diagonal network converges to (Woodworth et al. 2020; azulay2021 Thm 4.1).

    .. math:: w^\star = \arg\min_w Q(w)\quad\text{s.t.}\quad X w = y,

    with ``Q`` of :func:`diagonal_potential` (tied depth ``D``: ``Q \propto \sum q^D(w_i/\alpha^D)``,
    moroshko2020 eq. (6) with ``mu = alpha^D``; untied depth 2: ``Q_k`` of azulay2021 eq. (10),
    plus a linear term for biased inits). Solved in the ``N``-dimensional dual: ``w = W(X^T nu)``
    with the closed-form flow map ``W`` (:func:`diagonal_flow_map`) and ``nu`` from damped Newton
    on ``X W(X^T nu) = y`` (:func:`solve_diagonal_interpolant`, jitted). A rank-deficient ``X`` is
    first replaced by the equivalent system with orthonormal rows.

    Args:
        X: data ``(N, d)``.
        y: targets ``(N,)``.
        model: a :class:`~implicit_bias.models.Diagonal`: tied of any depth, untied of depth 2
            (any scale/shape, or explicit ``init_params``, biased or not), untied of depth > 2
            with equal layers; ``positive=True`` too (then only ``y`` reachable by ``w > 0``).
        tol: residual target ``||X w - y|| <= tol * max(1, ||y||)``.
        max_iter: Newton steps.

    Returns:
        :class:`DiagonalInterpolant` (``w (d,)``, ``nu (N,)``, ``iterations``, ``residual``,
        ``converged``).

    Raises:
        ValueError: bad inputs, an unsupported model, ``y`` outside the range of ``X``, or no
            convergence (message says why).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Diagonal
        >>> from implicit_bias.theory.diagonal import diagonal_interpolant
        >>> X = np.array([[1.0, 2.0]]); y = np.array([2.0])
        >>> np.round(diagonal_interpolant(X, y, Diagonal(2, depth=2, scale=1e-3)).w, 3)  # rich: min-l1 (0, 1)
        array([0.001, 1.   ])
        >>> np.round(diagonal_interpolant(X, y, Diagonal(2, depth=2, scale=10.0)).w, 3)  # kernel: min-l2
        array([0.4, 0.8])

    Assumptions: the flow interpolates (``X w(inf) = y``); the theorem says nothing otherwise.
    For depth > 2 at very small scales, coordinates with ``|w| >> alpha^D`` sit near the
    boundary of the flow's domain, and the accuracy of ``w`` is limited to about
    ``eps (|w| / alpha^D)^{(D-2)/D}`` relative (rounding of ``z = X^T nu``).
    """
    X = check_X(X)
    Xs, ys, back, t = _prepare(X, y, model, tol, max_iter)
    _model_family(model)  # validates the model
    init = model.init(None)
    sol = _solve_model(Xs, ys, init, t, model, max_iter, batched=False)
    out = _finish(X, check_y(y, X.shape[0]), sol, back, tol)
    if not bool(out.converged):
        raise ValueError(_failure(float(out.residual), tol * max(1.0, float(np.linalg.norm(y)))))
    return out


def diagonal_interpolant_batch(X, y, model, scale, shape=None, *, tol: float = 1e-12, max_iter: int = 200, check: bool = True) -> DiagonalInterpolant:
    r""":func:`diagonal_interpolant` for a batch of scales (and shapes), in one jitted ``vmap`` call.

    Point ``j`` is ``dataclasses.replace(model, scale=scale[j], shape=shape[j])`` (same data,
    depth, tiedness); the initial parameters are built by the model's own ``init`` and stacked,
    then :func:`solve_diagonal_interpolant` runs under ``jax.vmap`` (all points advance
    together; finished points are frozen). Identical, up to floating-point reassociation, to
    calling :func:`diagonal_interpolant` per point.

    Args:
        X: data, shape ``(N, d)``.
        y: targets, shape ``(N,)``.
        model: the template :class:`~implicit_bias.models.Diagonal` (its ``init_params`` must be
            ``None``).
        scale: ``(B,)`` or ``(B, d)``.
        shape: ``(B,)`` or ``(B, d)`` (untied depth 2 only), default 0.
        tol: as :func:`diagonal_interpolant`.
        max_iter: as :func:`diagonal_interpolant`.
        check: raise ``ValueError`` if some point did not converge (else inspect ``converged``).

    Returns:
        :class:`DiagonalInterpolant` with a leading batch axis: ``w (B, d)``, ``nu (B, N)``,
        ``iterations (B,)``, ``residual (B,)``, ``converged (B,)``.
    """
    X = check_X(X)
    if getattr(model, "init_params", None) is not None:
        raise ValueError("diagonal_interpolant_batch: the template model must not have init_params; batch over scale/shape")
    sc = np.asarray(scale, dtype=np.float64)
    if sc.ndim not in (1, 2) or sc.shape[0] == 0:
        raise ValueError(f"scale must have shape (B,) or (B, d); received shape {sc.shape}")
    sh = np.zeros(sc.shape[0]) if shape is None else np.asarray(shape, dtype=np.float64)
    if sh.ndim not in (1, 2) or sh.shape[0] != sc.shape[0]:
        raise ValueError(f"shape must have shape (B,) or (B, d) with B = {sc.shape[0]} like scale; received shape {sh.shape}")
    Xs, ys, back, t = _prepare(X, y, model, tol, max_iter)
    models = [dataclasses.replace(model, scale=sc[j], shape=sh[j]) for j in range(sc.shape[0])]
    _model_family(models[0])
    inits = [m.init(None) for m in models]
    init = {k: jnp.stack([p[k] for p in inits]) for k in ("u_plus", "u_minus")}
    sol = _solve_model(Xs, ys, init, t, model, max_iter, batched=True)
    yv = check_y(y, X.shape[0])
    out = _finish(X, yv, sol, back, tol)
    if check and not np.all(out.converged):
        bad = np.flatnonzero(~out.converged)
        raise ValueError(f"points {bad[:10].tolist()} (of {sc.shape[0]}): " + _failure(float(np.max(out.residual[bad])), tol * max(1.0, float(np.linalg.norm(yv)))))
    return out


# ----------------------------------------------------------------------------------------
# Limits: min-l1 (rich) and min-NTK-norm (kernel)
# ----------------------------------------------------------------------------------------


def min_l1_interpolant(X, y) -> np.ndarray:
    r"""``argmin ||w||_1 s.t. X w = y``: the rich limit ``scale -> 0`` (azulay2021 App. F; Woodworth et al. 2020).

    Route: the LP ``min 1^T (w_+ + w_-)`` via cvxpy (HiGHS, Clarabel as fall-back; solver
    output silenced at the file-descriptor level, :func:`~implicit_bias.theory._solvers.quiet_stdout`),
    then a polish: on the solver's support ``S`` the system ``X_S w_S = y`` is solved exactly
    (least squares) and kept if it interpolates to ``1e-12`` relative and has no larger l1 norm.

    Args:
        X: data, shape ``(N, d)``.
        y: targets, shape ``(N,)``.

    Returns:
        ``w``, ``(d,)`` float64 (read-only). If the minimiser is not unique, one vertex.

    Raises:
        ValueError: bad inputs or ``y`` outside the range of ``X``.
        RuntimeError: every solver failed.
    """
    import cvxpy as cp

    X = check_X(X)
    y = check_y(y, X.shape[0])
    reduce_rows(X, y)  # raises "no interpolant" if y is not in the range of X
    s = float(np.max(np.abs(X)))
    ys = float(np.max(np.abs(y))) or 1.0
    wv = cp.Variable(X.shape[1])
    prob = cp.Problem(cp.Minimize(cp.norm1(wv)), [(X / s) @ wv == y / ys])
    ok, last = solve_first_optimal(prob, wv, (cp.HIGHS, cp.CLARABEL))
    if not ok:
        raise RuntimeError(f"min-l1 LP failed with every solver: {last}")
    w = np.asarray(wv.value, dtype=np.float64) * ys / s
    # polish on the support
    target = 1e-12 * max(1.0, float(np.linalg.norm(y)))
    for thr in (1e-9, 1e-7, 1e-5):
        S = np.abs(w) > thr * np.max(np.abs(w))
        if S.sum() > X.shape[0] or not S.any():
            continue
        wS = np.linalg.lstsq(X[:, S], y, rcond=None)[0]
        cand = np.zeros_like(w)
        cand[S] = wS
        if np.linalg.norm(X @ cand - y) <= target and np.abs(cand).sum() <= np.abs(w).sum() * (1 + 1e-7):
            w = cand
            break
    w = w + 0.0
    w.setflags(write=False)
    return w


def ntk_norm_interpolant(X, y, u0, v0) -> np.ndarray:
    r"""``argmin sum_i w_i^2 / (2(u0_i^2 + v0_i^2)) s.t. X w = y``: the kernel limit (azulay2021 §7.1, App. F).

    The minimum RKHS norm for the tangent kernel at an unbiased untied two-layer
    initialization (``scale -> inf`` or ``|shape| -> 1``). Closed form: with
    ``K = diag(u0^2 + v0^2)``, ``w = K^{1/2} (X K^{1/2})^+ y = K X^T (X K X^T)^{-1} y``. For a
    tied model with ``u_±(0) = alpha`` pass ``u0 = v0 = alpha``: the min-l2 interpolant.

    Args:
        X: data, shape ``(N, d)``.
        y: targets, shape ``(N,)``.
        u0: ``(d,)`` or scalar, the initial first-layer weights.
        v0: ``(d,)`` or scalar, the initial second-layer weights (``u0^2 + v0^2 > 0``).

    Returns:
        ``w``, ``(d,)`` float64.
    """
    X = check_X(X)
    y = check_y(y, X.shape[0])
    k = np.broadcast_to(np.asarray(u0, dtype=np.float64) ** 2 + np.asarray(v0, dtype=np.float64) ** 2, (X.shape[1],))
    if not np.all(k > 0):
        raise ValueError("ntk_norm_interpolant: u0^2 + v0^2 must be > 0 for every coordinate")
    reduce_rows(X, y)
    r = np.sqrt(k)
    return r * np.linalg.lstsq(X * r[None, :], y, rcond=None)[0]
