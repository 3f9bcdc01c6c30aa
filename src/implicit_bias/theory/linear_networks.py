r"""Implicit bias of fully-connected linear networks and single neurons in regression.

Predictions, computed without training (this module never imports
:mod:`implicit_bias.algorithms` or :mod:`implicit_bias.train`), of where gradient flow on the
square loss ``L = 1/(2N) ||f(X) - y||^2`` ends for

* the two-layer single hidden neuron ``x -> a w^T x`` (azulay2021 Thm 6.1: :func:`q_delta`,
  :func:`q_delta_interpolant`), with leaky-ReLU activation (Thm 8.1: :func:`fc_neuron_interpolant`);
* multi-neuron two-layer linear networks with strictly balanced initialization (Prop 6.2:
  :func:`balanced_interpolant`) or vanishing initialization (Thm 6.3:
  :func:`vanishing_init_interpolant`), and the NTK limit ``α -> ∞`` (§7.2:
  :func:`ntk_mahalanobis_interpolant`);
* the single neuron ``x -> σ(w^T x)`` with strictly monotone ``σ`` (vardi2022 §4.4:
  :func:`single_neuron_interpolant`) and with ReLU (min-norm zero-loss solution and the
  Vardi & Shamir bound: :func:`relu_neuron_min_norm`, :func:`relu_neuron_bound`);

and the Hessian-map test of azulay2021 eq. (7) with the warping of §5 (:func:`is_hessian_map`
and the metrics :func:`identity_plus_outer_metric`, :func:`fc_metric`, :func:`fc_warping`,
:func:`warped_fc_metric`, :func:`diagonal_metric`).

Derivation of Thm 6.1 used here (one route for every single-neuron function)
-----------------------------------------------------------------------------
Model ``f(x) = a w^T x`` (:class:`~implicit_bias.models.FullyConnected` with ``widths=(1,)``,
``W1 = w^T``, ``W2 = [[a]]``), predictor ``w~ = a w``. With ``g = X^T r / N`` (``r = X w~ - y``)
gradient flow is ``a' = -w^T g``, ``w' = -a g``. Hence

1. ``δ = a^2 - ||w||^2`` is conserved (Du et al. 2018, Thm 2.1; azulay2021 §6);
2. ``w(t) - w(0) = -int_0^t a g`` lies in the row space of ``X``;
3. if ``δ >= 0`` and ``w~(0) != 0``, ``a`` never vanishes (``a^2 >= δ``; for ``δ = 0``,
   ``a = 0`` only at the stationary point ``(a, w) = 0``), so ``σ_a = sign a`` is constant.

With ``v = σ_a w`` (so ``|a| = sqrt(||v||^2 + δ)``) the predictor is
``w~ = sqrt(||v||^2 + δ) v = ∇Φ_δ(v)``, ``Φ_δ(v) = (||v||^2 + δ)^{3/2} / 3`` (strictly convex).
An interpolating endpoint therefore satisfies ``v = v_0 + X^T ν`` and ``X ∇Φ_δ(v_0 + X^T ν) = y``:
the stationarity condition of the convex ``N``-dimensional dual
``φ(ν) = Φ_δ(v_0 + X^T ν) - y^T ν``, solved by a safeguarded Newton method
(:func:`solve_q_delta_interpolant`, jit- and vmap-able). Its primal is
``argmin Φ_δ^*(w) - v_0^T w`` s.t. ``X w = y``, and ``(3/2)(Φ_δ^*(w) - v_0^T w)`` equals
azulay2021's ``q_{δ, w~(0)}(w)`` up to a constant: with ``p(x) = sqrt(x^2 + δ^2/4) + δ/2``
(``= a^2`` when ``x = ||w~||``; ``||w||^2 = p - δ``), the paper's

    q̂_δ(x) = (x^2 - δ/2 (δ/2 + sqrt(x^2 + δ^2/4))) sqrt(sqrt(x^2 + δ^2/4) - δ/2) / x
            = sqrt(p) (p - 3δ/2),

``q̂_δ'(x) = (3/2) x / sqrt(p(x))`` and ``z = -(3/2) w~(0) / sqrt(p(||w~(0)||))``, so
``∇q_δ(w~) = (3/2)(w~/|a| - w~(0)/|a(0)|) = (3/2)(v - v_0)``. This reproduces Thm 6.1 exactly,
without the warping argument of Appendix C (which is not in our copy of the paper), and
extends it to ``w~(0) = 0`` when ``δ > 0`` (then ``z = 0`` and the endpoint is the min-l2
interpolant). The warping function of §5 that makes ``g H = ∇^2 q_δ`` is
``g(w~) = (3/2)|a| = (3/2) sqrt(p(||w~||))`` (:func:`fc_warping`; derived here, tested).

Conventions: ``X (N, d)``, one row per sample (the paper's ``X`` is ``d x N``, so its
``X^T w = y`` is our ``X w = y``), ``y (N,)``; ``w0`` is always the initial *predictor*
``w~(0) = a(0) w(0)`` (``(d,)``) and ``delta`` the balancedness ``δ = a(0)^2 - ||w(0)||^2``;
everything is float64.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._solvers import check_vector, check_X, check_y, dual_newton, reduce_rows, solve_first_optimal
from .interpolants import min_distance_interpolant

__all__ = [
    "neuron_delta",
    "neuron_scale_shape",
    "NeuronInit",
    "neuron_init_quantities",
    "q_delta",
    "q_delta_grad",
    "NeuronInterpolant",
    "solve_q_delta_interpolant",
    "q_delta_interpolant",
    "q_delta_interpolant_batch",
    "fc_neuron_interpolant",
    "balanced_interpolant",
    "vanishing_init_interpolant",
    "ntk_matrix",
    "ntk_mahalanobis_interpolant",
    "single_neuron_interpolant",
    "relu_neuron_min_norm",
    "ReluNeuronBound",
    "relu_neuron_bound",
    "HessianMapTest",
    "is_hessian_map",
    "identity_plus_outer_metric",
    "fc_metric",
    "fc_warping",
    "warped_fc_metric",
    "diagonal_metric",
]

_EPS = float(np.finfo(np.float64).eps)


# ----------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------


def _check_delta(delta) -> float:
    try:
        dl = float(delta)
    except (TypeError, ValueError):
        raise ValueError(f"delta must be a number >= 0 (δ = a(0)^2 - ||w(0)||^2); received {delta!r}") from None
    if not math.isfinite(dl) or dl < 0:
        raise ValueError(
            f"delta must be a finite number >= 0 (azulay2021 Thm 6.1 needs δ = a(0)^2 - ||w(0)||^2 >= 0, i.e. shape s >= 0); received {delta!r}. "
            "For δ < 0 the output weight a can change sign and no q_δ describes the endpoint: train with GradientFlow instead"
        )
    return dl


def _check_tol(tol, max_iter):
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number; received {tol!r}")
    if not (isinstance(max_iter, (int, np.integer)) and not isinstance(max_iter, bool) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1; received {max_iter!r}")


def _readonly(*arrays):
    for a in arrays:
        a.setflags(write=False)


# ----------------------------------------------------------------------------------------
# Scale, shape, δ
# ----------------------------------------------------------------------------------------


def neuron_delta(scale, shape):
    r"""Balancedness ``δ = a(0)^2 - ||w(0)||^2`` from azulay2021 §7.2's scale and shape.

    With ``α = |a| ||w||`` and ``s = (r - 1)/(r + 1)``, ``r = |a| / ||w||``:
    ``|a|^2 = α r``, ``||w||^2 = α / r``, so ``δ = α (r - 1/r) = 4 α s / (1 - s^2)``.

    Args:
        scale: ``α > 0`` (scalar or array).
        shape: ``s`` in ``(-1, 1)`` (same shape as ``scale`` or broadcastable).

    Returns:
        ``δ`` (float or array); ``δ >= 0`` iff ``s >= 0``.

    Example:
        >>> round(neuron_delta(2.0, 0.5), 12)
        5.333333333333
    """
    a, s = np.asarray(scale, dtype=np.float64), np.asarray(shape, dtype=np.float64)
    if not (np.all(a > 0) and np.all(np.isfinite(a))):
        raise ValueError(f"scale must be finite and > 0; received {scale!r}")
    if not np.all(np.abs(s) < 1):
        raise ValueError(f"shape s must lie in (-1, 1); received {shape!r}")
    out = 4.0 * a * s / (1.0 - s * s)
    return float(out) if out.ndim == 0 else out


def neuron_scale_shape(w0, delta):
    r"""Inverse of :func:`neuron_delta`: ``(α, s)`` from ``w~(0)`` and ``δ`` (azulay2021 §7.2).

    ``α = ||w~(0)||``; with ``p = sqrt(α^2 + δ^2/4) + δ/2 = a(0)^2`` and ``n = α^2 / p = ||w(0)||^2``,
    ``r = sqrt(p / n)`` and ``s = (r - 1)/(r + 1)``.

    Args:
        w0: ``w~(0)``, shape ``(d,)``, non-zero.
        delta: ``δ >= 0``.

    Returns:
        ``(alpha, s)`` as floats.
    """
    w0 = np.asarray(w0, dtype=np.float64)
    dl = _check_delta(delta)
    alpha = float(np.linalg.norm(w0))
    if alpha == 0:
        raise ValueError("w0 must be non-zero to define a scale and a shape")
    p = math.sqrt(alpha**2 + dl**2 / 4) + dl / 2
    r = p / alpha  # sqrt(p/n) = sqrt(p^2/alpha^2)
    return alpha, (r - 1) / (r + 1)


class NeuronInit(NamedTuple):
    """Paper quantities of a one-hidden-neuron initialization (see :func:`neuron_init_quantities`)."""

    w0: np.ndarray  # w~(0) = a(0) w(0), (d,)
    delta: float  # a(0)^2 - ||w(0)||^2
    sign: float  # sign of a(0)
    scale: float  # α = |a(0)| ||w(0)||
    shape: float  # s = (|a|/||w|| - 1)/(|a|/||w|| + 1)
    orientation: np.ndarray  # u = w(0)/||w(0)||, (d,)


def _neuron_params(params):
    if not isinstance(params, dict) or "W1" not in params or "W2" not in params:
        raise ValueError("params must be a dict with 'W1' (1, d) and 'W2' (1, 1): a FullyConnected model with widths=(1,)")
    extra = sorted(map(str, set(params) - {"W1", "W2"}))
    if extra:
        raise ValueError(f"params has {extra} besides W1, W2: azulay2021 Thms 6.1/8.1 are for the two-layer single neuron without biases (widths=(1,), bias=False)")
    W1 = np.asarray(params["W1"], dtype=np.float64)
    W2 = np.asarray(params["W2"], dtype=np.float64)
    if W1.ndim != 2 or W1.shape[0] != 1 or W2.shape != (1, 1):
        raise ValueError(f"params must have W1 of shape (1, d) and W2 of shape (1, 1) (one hidden neuron); received {W1.shape} and {W2.shape}")
    if not (np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))):
        raise ValueError("params contain NaN or Inf")
    return float(W2[0, 0]), W1[0]


def neuron_init_quantities(params) -> NeuronInit:
    r"""``w~(0)``, ``δ``, ``sign a(0)``, ``α``, ``s``, ``u`` of one-hidden-neuron parameters (azulay2021 §6, §7.2).

    Args:
        params: ``{"W1": (1, d), "W2": (1, 1)}`` (a :class:`~implicit_bias.models.FullyConnected`
            with ``widths=(1,)``), ``W1 = w(0)^T``, ``W2 = a(0)``.

    Returns:
        :class:`NeuronInit` ``(w0, delta, sign, scale, shape, orientation)``.

    Example:
        >>> import numpy as np
        >>> q = neuron_init_quantities({"W1": np.array([[0.6, 0.8]]), "W2": np.array([[2.0]])})
        >>> q.w0.tolist(), q.delta, q.scale, round(q.shape, 12)
        ([1.2, 1.6], 3.0, 2.0, 0.333333333333)
    """
    a, w = _neuron_params(params)
    nw = float(np.linalg.norm(w))
    if a == 0 or nw == 0:
        raise ValueError("a(0) w(0) must be non-zero (azulay2021 Thm 6.1 assumes w~(0) != 0)")
    r = abs(a) / nw
    w0 = a * w
    _readonly(w0)
    u = w / nw
    _readonly(u)
    delta = a * a - nw * nw
    if 0 > delta >= -16 * _EPS * (a * a + nw * nw):
        delta = 0.0  # balanced up to round-off (the s = 0 init of FullyConnected)
    return NeuronInit(w0, delta, math.copysign(1.0, a), abs(a) * nw, (r - 1) / (r + 1), u)


# ----------------------------------------------------------------------------------------
# q_delta
# ----------------------------------------------------------------------------------------


def _p(x, delta):
    """``p(x) = sqrt(x^2 + δ^2/4) + δ/2`` (``= a^2`` on the flow when ``x = ||w~||``)."""
    return jnp.sqrt(x * x + delta * delta / 4.0) + delta / 2.0


def _safe_norm(w):
    sq = jnp.sum(w * w, axis=-1)
    pos = sq > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, sq, 1.0)), 0.0)


def q_delta(w, w0, delta):
    r"""azulay2021's implicit regularizer ``q_{δ, w~(0)}(w)`` of the single hidden neuron (Thm 6.1).

    .. math:: q(w) = \hat q_\delta(\|w\|) + z^\top w,\quad
              \hat q_\delta(x) = \sqrt{p(x)}\,\big(p(x) - \tfrac{3}{2}\delta\big),\quad
              p(x) = \sqrt{x^2 + \delta^2/4} + \delta/2,\quad
              z = -\tfrac{3}{2}\,\frac{\tilde w(0)}{\sqrt{p(\|\tilde w(0)\|)}},

    which is the paper's ``q̂_δ`` rewritten without cancellation (module docstring) and the
    paper's ``z = -(3/2) sqrt(sqrt(||w~(0)||^2 + δ^2/4) - δ/2) w~(0)/||w~(0)||``. Strictly convex;
    ``δ = 0`` gives ``||w||^{3/2} - (3/2)||w~(0)||^{-1/2} w~(0)^T w`` (Prop 6.2).

    Args:
        w: ``(..., d)``, points at which to evaluate.
        w0: ``w~(0) = a(0) w(0)``, shape ``(d,)``.
        delta: ``δ = a(0)^2 - ||w(0)||^2 >= 0`` (scalar).

    Returns:
        ``(...)`` values (jax array).

    Example:
        >>> import jax.numpy as jnp
        >>> float(q_delta(jnp.array([4.0, 0.0]), jnp.array([1.0, 0.0]), 0.0))  # 4^{3/2} - 1.5*4
        2.0
    """
    w = jnp.asarray(w, dtype=jnp.float64)
    w0 = jnp.asarray(w0, dtype=jnp.float64)
    p = _p(_safe_norm(w), delta)
    p0 = _p(_safe_norm(w0), delta)
    z = -1.5 * w0 / jnp.sqrt(jnp.where(p0 > 0, p0, 1.0))
    return jnp.sqrt(p) * (p - 1.5 * delta) + w @ z


def q_delta_grad(w, w0, delta):
    r"""Gradient of :func:`q_delta`: ``∇q(w) = (3/2)(w / sqrt(p(||w||)) - w~(0) / sqrt(p(||w~(0)||)))``.

    On the flow, ``w/sqrt(p) = w~/|a| = sign(a) w_first_layer``, so ``∇q(w~(t)) = (3/2) sign(a)(w(t) - w(0))``
    (module docstring). At ``w = 0`` with ``δ = 0`` the first term is taken as 0 (its limit).

    Args:
        w: ``(..., d)``.
        w0: ``w~(0)``, ``(d,)``.
        delta: ``δ >= 0``.

    Returns:
        ``(..., d)``.
    """
    w = jnp.asarray(w, dtype=jnp.float64)
    w0 = jnp.asarray(w0, dtype=jnp.float64)
    p = _p(_safe_norm(w), delta)[..., None]
    p0 = _p(_safe_norm(w0), delta)
    v0 = jnp.reshape(w0 / jnp.sqrt(jnp.where(p0 > 0, p0, 1.0)), (1,) * (w.ndim - 1) + w0.shape)
    return 1.5 * (jnp.where(p > 0, w / jnp.sqrt(jnp.where(p > 0, p, 1.0)), 0.0) - v0)


# ----------------------------------------------------------------------------------------
# The q_delta interpolant: safeguarded Newton on the N-dimensional dual
# ----------------------------------------------------------------------------------------


class _Solution(NamedTuple):
    w: jax.Array  # (d,) predictor w~
    nu: jax.Array  # (N,) grad q_delta(w) = X^T nu
    output_weight: jax.Array  # () |a| = sqrt(p(||w||))
    first_layer: jax.Array  # (d,) v = w / |a|
    iterations: jax.Array
    residual: jax.Array
    converged: jax.Array


def _dual_newton(A, b, w0, delta, target, max_iter):
    """Damped Newton on ``φ(ν) = Φ_δ(v_0 + A^T ν) - b^T ν`` (``∇φ = A w~ - b``; :func:`~._solvers.dual_newton`).

    Increments are tracked relative to the start (``w~ - w~(0)``, ``c - c_0``, ``φ - φ(0)``) so
    that large initializations (the NTK regime) keep full relative accuracy. Hessian
    ``A (c I + v v^T / c) A^T`` (``c = |a| = sqrt(||v||^2 + δ)``); the shared routine adds the
    relative ridge, falls back to steepest descent and backtracks (60 halvings at most).
    """
    c0 = jnp.sqrt(_p(_safe_norm(w0), delta))
    v0 = jnp.where(c0 > 0, w0 / jnp.where(c0 > 0, c0, 1.0), 0.0)
    F0 = A @ w0 - b

    def evaluate(nu):
        e = A.T @ nu  # v - v0
        dq = 2.0 * (v0 @ e) + e @ e  # ||v||^2 - ||v0||^2
        c = jnp.sqrt(jnp.maximum(c0 * c0 + dq, 0.0))
        dc = dq / jnp.where(c + c0 > 0, c + c0, 1.0)
        dw = dc * v0 + c * e  # w~ - w~(0)
        F = F0 + A @ dw
        dphi = dc * (c * c + c * c0 + c0 * c0) / 3.0 - b @ nu
        res = jnp.linalg.norm(F)
        ok = jnp.all(jnp.isfinite(dw)) & jnp.isfinite(dphi) & jnp.isfinite(res)
        return {"dw": dw, "v": v0 + e, "c": c, "F": F, "phi": dphi, "res": res, "ok": ok}

    def hessian(nu, ev):
        c = ev["c"]
        Av = A @ ev["v"]
        inv_c = jnp.where(c > 0, 1.0 / jnp.where(c > 0, c, 1.0), 0.0)
        return c * (A @ A.T) + inv_c * jnp.outer(Av, Av)

    out = dual_newton(evaluate, hessian, lambda nu, step, t: nu + t * step, jnp.zeros(A.shape[0]), target=target, max_iter=max_iter, max_backtrack=60)
    ev = out.ev
    return out.x, w0 + ev["dw"], ev["v"], ev["c"], out.iterations, ev["res"]


def _core(X, y, w0, delta, tol, max_iter):
    X = jnp.asarray(X, dtype=jnp.float64)
    y = jnp.asarray(y, dtype=jnp.float64)
    w0 = jnp.asarray(w0, dtype=jnp.float64)
    delta = jnp.asarray(delta, dtype=jnp.float64)
    smax = jnp.sqrt(jnp.max(jnp.linalg.eigvalsh(X @ X.T)))
    scale = jnp.maximum(jnp.maximum(1.0, jnp.linalg.norm(y)), smax * jnp.linalg.norm(w0))
    target = tol * scale
    nu, w, v, c, it, res = _dual_newton(X, y, w0, delta, target, int(max_iter))
    return _Solution(w, 1.5 * nu, c, v, it, res, res <= target)


def solve_q_delta_interpolant(X, y, w0, delta, *, tol: float = 1e-12, max_iter: int = 100):
    r"""Functional, jit- and vmap-able core of :func:`q_delta_interpolant` (pure jax, no checks).

    Solves ``X ∇Φ_δ(v_0 + X^T ν) = y`` (``Φ_δ(v) = (||v||^2 + δ)^{3/2}/3``,
    ``v_0 = w~(0)/sqrt(p(||w~(0)||))``) by safeguarded Newton on the convex dual
    ``φ(ν) = Φ_δ(v_0 + X^T ν) - y^T ν`` from ``ν = 0``; then ``w~ = ∇Φ_δ(v)`` minimises
    :func:`q_delta` over ``X w = y`` (azulay2021 Thm 6.1; derivation in the module docstring).

    Vectorise with ``jax.vmap``, e.g. over initializations
    ``jax.vmap(lambda w0, dl: solve_q_delta_interpolant(X, y, w0, dl))(W0, deltas)``
    (:func:`q_delta_interpolant_batch` does this).

    Args:
        X: ``(N, d)``, full row rank (no reduction here).
        y: ``(N,)``.
        w0: ``w~(0)``, ``(d,)``.
        delta: ``δ >= 0`` (``w0 = 0`` needs ``δ > 0``).
        tol: stop when ``||X w - y|| <= tol * max(1, ||y||, ||X||_2 ||w~(0)||)`` (the last term is the
            rounding level of ``X w~`` for large initializations).
        max_iter: Newton steps (a Python int).

    Returns:
        ``NamedTuple`` of jax arrays ``(w (d,), nu (N,), output_weight (), first_layer (d,),
        iterations (), residual (), converged ())`` with ``∇q_δ(w) = X^T nu``,
        ``output_weight = |a(∞)|``, ``first_layer = w/|a(∞)| = sign(a) w(∞)``.
    """
    return _core(X, y, w0, delta, tol, int(max_iter))


@dataclasses.dataclass(frozen=True, eq=False)
class NeuronInterpolant:
    """A predicted endpoint of gradient flow on a two-layer single neuron (see :func:`q_delta_interpolant`).

    Attributes (a leading batch axis for :func:`q_delta_interpolant_batch`), read-only NumPy arrays:
        w: predictor ``w~(∞) = a(∞) w(∞)``, ``(d,)``.
        nu: ``(N,)`` with ``∇q_δ(w) = X^T nu`` (KKT multiplier of azulay2021 eq. (2)).
        output_weight: ``a(∞)`` (``> 0`` unless the sign of ``a(0)`` was given and negative).
        first_layer: ``w(∞)``, ``(d,)``.
        iterations: Newton steps; residual: ``||X w - y||``; converged: residual within tolerance.
    """

    w: np.ndarray
    nu: np.ndarray
    output_weight: np.ndarray
    first_layer: np.ndarray
    iterations: np.ndarray
    residual: np.ndarray
    converged: np.ndarray

    @property
    def params(self) -> dict:
        """The predicted final parameters ``{"W1": (1, d), "W2": (1, 1)}`` (unbatched results only)."""
        return {"W1": self.first_layer[None, :], "W2": np.reshape(self.output_weight, (1, 1))}


@functools.partial(jax.jit, static_argnames=("max_iter", "batched"))
def _solve_jit(A, b, w0, delta, tol, *, max_iter, batched):
    f = lambda w, dl: _core(A, b, w, dl, tol, max_iter)  # noqa: E731
    return jax.vmap(f)(w0, delta) if batched else f(w0, delta)


def _prepare(X, y, tol, max_iter):
    X = check_X(X)
    y = check_y(y, X.shape[0])
    _check_tol(tol, max_iter)
    A, b, sr = reduce_rows(X, y)  # orthonormal rows; raises "no interpolant" if y is off range
    if A.shape[0] == 0:
        raise ValueError("X is zero: every w interpolates y = 0, the prediction is w~(0)")
    U = np.linalg.svd(X, full_matrices=False)[0][:, : sr.size]
    back = U / sr[None, :]  # nu_X = U_r S_r^{-1} nu_A
    return X, y, A, b, back, float(sr[0])


def _finish(X, y, sol, back, tol, target_scale, sign=1.0):
    w = np.asarray(sol.w, dtype=np.float64)
    nu = np.asarray(sol.nu, dtype=np.float64) @ back.T
    res = np.linalg.norm(w @ X.T - y, axis=-1)
    target = tol * target_scale
    sgn = np.asarray(sign, dtype=np.float64)
    a = sgn * np.asarray(sol.output_weight, dtype=np.float64)
    first = np.asarray(sol.first_layer, dtype=np.float64) * (sgn[..., None] if sgn.ndim else sgn)
    out = NeuronInterpolant(w, nu, a, first, np.asarray(sol.iterations), np.asarray(res), np.asarray(res <= target))
    _readonly(out.w, out.nu, out.output_weight, out.first_layer, out.iterations, out.residual, out.converged)
    return out


def _run(X, y, w0, delta, tol, max_iter, batched):
    """Reduce rows, solve (jitted), return ``(X, y, back, solution, target_scale)``."""
    X, y, A, b, back, smax = _prepare(X, y, tol, max_iter)
    w0 = np.asarray(w0, dtype=np.float64)
    # the target in the original coordinates is tol * max(1, ||y||, ||X||_2 ||w~(0)||) (the last
    # term is the rounding level of X w~ when w~ ~ w~(0) is large); since
    # ||X w - y|| <= s_max ||A w - b||, the reduced problem gets a tighter relative tolerance
    scale_X = np.maximum(max(1.0, float(np.linalg.norm(y))), smax * np.linalg.norm(w0, axis=-1))
    scale_A = np.maximum(max(1.0, float(np.linalg.norm(b))), np.linalg.norm(w0, axis=-1))
    t = float(np.min(tol * scale_X / (smax * scale_A)))
    sol = _solve_jit(jnp.asarray(A), jnp.asarray(b), jnp.asarray(w0), jnp.asarray(delta, dtype=jnp.float64), t, max_iter=int(max_iter), batched=batched)
    return X, y, back, sol, scale_X


def _failure(res, target):
    return (
        f"no q_delta interpolant found: dual Newton stopped at ||X w - y|| = {res:.3g} > tolerance {target:.3g}; "
        "X may be too ill-conditioned for float64 at this scale (raise tol)"
    )


def q_delta_interpolant(X, y, w0, delta, *, tol: float = 1e-12, max_iter: int = 100) -> NeuronInterpolant:
    r"""The endpoint of gradient flow on the two-layer single linear neuron (azulay2021 Thm 6.1).

    .. math:: \tilde w(\infty) = \arg\min_w q_{\delta,\tilde w(0)}(w)\quad\text{s.t.}\quad X w = y,

    with ``q`` of :func:`q_delta`, ``w~(0) = w0 = a(0) w(0)`` and ``δ = delta = a(0)^2 - ||w(0)||^2``.
    Route: the ``N``-dimensional convex dual of the module docstring, by safeguarded Newton
    (:func:`solve_q_delta_interpolant`, jitted); the rows of ``X`` are first orthonormalised
    (SVD), so rank-deficient ``X`` with ``y`` in its range is fine. Scale and shape
    (azulay2021 §7.2): ``w0 = α u``, ``delta = 4αs/(1-s^2)`` (:func:`neuron_delta`).

    Args:
        X: data ``(N, d)``.
        y: targets ``(N,)``.
        w0: ``w~(0)``, ``(d,)``.
        delta: ``δ >= 0`` (``s >= 0``); ``w0 = 0`` is allowed when ``δ > 0`` (then the answer is
            the min-l2 interpolant, ``z = 0``), not when ``δ = 0`` (the flow stays at 0).
        tol: ``||X w - y|| <= tol * max(1, ||y||, ||X||_2 ||w~(0)||)``.
        max_iter: Newton steps.

    Returns:
        :class:`NeuronInterpolant` (``w``, ``nu``, ``output_weight = |a(∞)|``, ``first_layer``
        ``= w(∞)`` for ``a(0) > 0``: flip both signs if ``a(0) < 0``; ``params``).

    Raises:
        ValueError: bad shapes, ``δ < 0``, ``w0 = 0`` with ``δ = 0``, ``y`` outside the range of
            ``X``, or no convergence.

    Example:
        >>> import numpy as np
        >>> X, y = np.array([[1.0, 1.0]]), np.array([2.0])
        >>> sol = q_delta_interpolant(X, y, w0=np.array([1e-12, 0.0]), delta=0.0)  # α -> 0: min-l2
        >>> np.round(sol.w, 4)                                  # (error O(sqrt(α)))
        array([1., 1.])
        >>> w0 = np.array([1e6, 0.0])                           # α -> ∞, s = 0, residual y - X w~(0) fixed:
        >>> sol = q_delta_interpolant(X, X @ w0 + 3.0, w0, delta=0.0)
        >>> np.round(sol.w - w0, 4)                             # NTK: w~(0) + B^{-1} x 3 / (x^T B^{-1} x)
        array([2., 1.])
    """
    Xc = check_X(X)
    w0 = check_vector(w0, "w0", Xc.shape[1])
    dl = _check_delta(delta)
    if dl == 0 and not np.any(w0 != 0):
        raise ValueError("w0 = 0 with delta = 0 is the saddle (a, w) = (0, 0): gradient flow never leaves it; give w0 != 0 or delta > 0")
    Xc, yc, back, sol, ts = _run(Xc, y, w0, dl, tol, max_iter, batched=False)
    out = _finish(Xc, yc, sol, back, tol, ts)
    if not bool(out.converged):
        raise ValueError(_failure(float(out.residual), float(tol * ts)))
    return out


def q_delta_interpolant_batch(X, y, w0, delta, *, tol: float = 1e-12, max_iter: int = 100, check: bool = True) -> NeuronInterpolant:
    r""":func:`q_delta_interpolant` for a batch of initializations, in one jitted ``vmap`` call.

    Args:
        X: ``(N, d)``; y: ``(N,)``.
        w0: ``(B, d)`` initial predictors ``w~(0)``.
        delta: ``(B,)`` (or a scalar for all) ``δ >= 0``.
        tol: as :func:`q_delta_interpolant`.
        max_iter: as :func:`q_delta_interpolant`.
        check: raise if some point did not converge (else inspect ``converged``).

    Returns:
        :class:`NeuronInterpolant` with a leading batch axis (``w (B, d)``, ``nu (B, N)``, ...).

    Example:
        >>> import numpy as np
        >>> X, y = np.array([[1.0, 1.0]]), np.array([2.0])
        >>> alphas = np.array([1e-6, 1.0, 1e6])
        >>> sol = q_delta_interpolant_batch(X, y, alphas[:, None] * np.array([1.0, 0.0]), 0.0)
        >>> sol.w.shape, bool(sol.converged.all())
        ((3, 2), True)
    """
    Xc = check_X(X)
    W0 = np.asarray(w0, dtype=np.float64)
    if W0.ndim != 2 or W0.shape[1] != Xc.shape[1] or W0.shape[0] == 0 or not np.all(np.isfinite(W0)):
        raise ValueError(f"w0 must be a finite array of shape (B, {Xc.shape[1]}); received shape {W0.shape}")
    D = np.broadcast_to(np.asarray(delta, dtype=np.float64), (W0.shape[0],)).copy()
    for dl in D:
        _check_delta(dl)
    if np.any((D == 0) & ~np.any(W0 != 0, axis=1)):
        raise ValueError("some points have w0 = 0 and delta = 0: the saddle (a, w) = (0, 0) that gradient flow never leaves")
    Xc, yc, back, sol, ts = _run(Xc, y, W0, D, tol, max_iter, batched=True)
    out = _finish(Xc, yc, sol, back, tol, ts)
    if check and not np.all(out.converged):
        bad = np.flatnonzero(~out.converged)
        raise ValueError(f"points {bad[:10].tolist()} (of {W0.shape[0]}): " + _failure(float(np.max(out.residual[bad])), float(np.min(tol * ts[bad]))))
    return out


# ----------------------------------------------------------------------------------------
# Single neuron with activation (Thm 8.1), multi-neuron and limits
# ----------------------------------------------------------------------------------------


def _inverse_activation(y, activation: str, slope):
    """``σ^{-1}(y)`` for the strictly monotone activations, with a range check naming the bad entries."""
    y = np.asarray(y, dtype=np.float64)

    def need(mask, what):
        bad = np.flatnonzero(~mask)
        if bad.size:
            raise ValueError(f"targets outside the range of {activation} ({what}) at indices {bad[:5].tolist()}: no zero-loss solution exists")

    if activation == "linear":
        return y.copy()
    if activation == "leaky_relu":
        if slope is None or not (math.isfinite(float(slope)) and float(slope) > 0):
            raise ValueError(f"leaky_relu needs slope > 0 (σ(x) = slope * x for x < 0; azulay2021 Thm 8.1 takes ρ > 0); received {slope!r}")
        return np.where(y >= 0, y, y / float(slope))
    if activation == "tanh":
        need(np.abs(y) < 1, "|y| < 1")
        return np.arctanh(y)
    if activation == "sigmoid":
        need((y > 0) & (y < 1), "0 < y < 1")
        return np.log(y) - np.log1p(-y)
    if activation == "softplus":
        need(y > 0, "y > 0")
        return np.where(y > 30, y + np.log1p(-np.exp(-np.minimum(y, 700))), np.log(np.expm1(np.maximum(y, 1e-300))))
    if activation == "relu":
        raise ValueError("relu is not strictly monotone, so no σ^{-1}(y) exists (vardi2022 §4.4): use relu_neuron_min_norm / relu_neuron_bound")
    raise ValueError(f"unknown activation {activation!r}: use linear, leaky_relu, tanh, sigmoid or softplus")


def fc_neuron_interpolant(X, y, params, *, activation: str = "linear", slope=None, tol: float = 1e-12, max_iter: int = 100) -> NeuronInterpolant:
    r"""Endpoint of gradient flow on ``x -> a σ(w^T x)`` from ``params`` (azulay2021 Thms 6.1 and 8.1).

    Linear ``σ``: :func:`q_delta_interpolant` with ``w~(0) = a(0) w(0)``, ``δ = a(0)^2 - ||w(0)||^2``.
    Leaky ReLU (``σ(x) = x`` for ``x >= 0``, ``slope * x`` otherwise, ``slope > 0``), Thm 8.1:
    ``a`` keeps its sign ``σ_a`` (``δ >= 0``) and ``a σ(w^T x) = σ_a σ(σ_a w~^T x)``, so the
    zero-loss condition is ``X w~ = y'`` with ``y' = σ^{-1}(y)`` if ``a(0) > 0`` and
    ``y' = -σ^{-1}(-y)`` if ``a(0) < 0``; the first layer still moves in the row space of ``X``
    and ``δ`` is conserved (σ is 1-homogeneous), so the endpoint is the q_δ interpolant of
    ``y'``. Also returns the final parameters: ``a(∞) = σ_a sqrt(p(||w~||))``,
    ``w(∞) = w~/a(∞)``.

    Args:
        X: ``(N, d)``; y: ``(N,)``.
        params: initial ``{"W1": (1, d), "W2": (1, 1)}`` of a
            :class:`~implicit_bias.models.FullyConnected` with ``widths=(1,)``, ``bias=False``.
        activation: ``"linear"`` or ``"leaky_relu"``.
        slope: the leaky-ReLU slope ``ρ > 0`` (required for ``leaky_relu``).
        tol: as :func:`q_delta_interpolant`.
        max_iter: as :func:`q_delta_interpolant`.

    Returns:
        :class:`NeuronInterpolant`; ``params`` gives ``{"W1", "W2"}`` at ``t = ∞``.

    Raises:
        ValueError: ``δ < 0`` (``|a(0)| < ||w(0)||``), ``a(0) w(0) = 0``, ReLU (``slope = 0``, no
            such characterization exists: Vardi & Shamir 2020), bad shapes, no convergence.

    Example:
        >>> import numpy as np
        >>> p0 = {"W1": np.array([[0.5, 0.0]]), "W2": np.array([[-1.0]])}
        >>> X, y = np.array([[1.0, 2.0]]), np.array([-0.3])
        >>> sol = fc_neuron_interpolant(X, y, p0, activation="leaky_relu", slope=0.1)
        >>> float(np.round(sol.output_weight, 6) < 0), float(np.round(X @ sol.w, 12)[0])  # -σ^{-1}(0.3) = -0.3
        (1.0, -0.3)
    """
    if activation not in ("linear", "leaky_relu"):
        raise ValueError(f"fc_neuron_interpolant covers activation 'linear' (Thm 6.1) and 'leaky_relu' (Thm 8.1); received {activation!r}")
    if activation == "leaky_relu" and slope is not None and float(slope) == 0:
        raise ValueError("slope = 0 is ReLU, which azulay2021 Thm 8.1 excludes: its implicit bias is not a function of the parameters (Vardi & Shamir 2020)")
    a, w = _neuron_params(params)
    Xc = check_X(X)
    yc = check_y(y, Xc.shape[0])
    if w.shape != (Xc.shape[1],):
        raise ValueError(f"W1 has {w.shape[0]} columns but X has {Xc.shape[1]}; make them equal")
    if a * float(np.linalg.norm(w)) == 0:
        raise ValueError("a(0) w(0) must be non-zero (azulay2021 Thms 6.1, 8.1 assume w~(0) != 0)")
    delta = a * a - float(w @ w)
    if 0 > delta >= -16 * _EPS * (a * a + float(w @ w)):
        delta = 0.0  # balanced up to round-off (e.g. the s = 0 init of FullyConnected)
    if delta < 0:
        raise ValueError(
            f"delta = a(0)^2 - ||w(0)||^2 = {delta:.6g} < 0: azulay2021 Thms 6.1/8.1 need |a(0)| >= ||w(0)|| (shape s >= 0), "
            "otherwise a can change sign and no q_δ describes the endpoint"
        )
    sgn = 1.0 if a > 0 else -1.0
    if activation == "leaky_relu":
        yt = _inverse_activation(yc, "leaky_relu", slope) if sgn > 0 else -_inverse_activation(-yc, "leaky_relu", slope)
    else:
        yt = yc
    w0 = a * w
    Xc, yt, back, sol, ts = _run(Xc, yt, w0, delta, tol, max_iter, batched=False)
    out = _finish(Xc, yt, sol, back, tol, ts, sign=sgn)
    if not bool(out.converged):
        raise ValueError(_failure(float(out.residual), float(tol * ts)))
    return out


def balanced_interpolant(X, y, w0, *, tol: float = 1e-12, max_iter: int = 100) -> np.ndarray:
    r"""Multi-neuron two-layer linear net, strictly balanced init (azulay2021 Prop 6.2).

    .. math:: \tilde w(\infty) = \arg\min_w \|w\|^{3/2} - \tfrac32 \|\tilde w(0)\|^{-1/2} \tilde w(0)^\top w
              \quad\text{s.t.}\quad X w = y.

    ``Δ = a a^T - W^T W = 0`` (paper's ``W = (w_1..w_m)``; ours ``W1 W1^T = W2^T W2``) forces
    ``w_i = a_i e`` for one unit vector ``e``; gradient flow keeps ``Δ = 0`` (Du et al. 2018
    Thm 2.2), and ``w~' = -(W W^T + ||a||^2 I) g = -(||w~|| I + w~ w~^T/||w~||) g`` is the
    single-neuron flow with ``δ = 0``. So this is :func:`q_delta_interpolant` with ``δ = 0``.

    Args:
        X: ``(N, d)``; y: ``(N,)``.
        w0: the initial end-to-end predictor ``w~(0) = W(0) a(0)``, ``(d,)``, non-zero
            (``FullyConnected(d, (m,), balanced=True, scale=α, orientation=u)`` gives ``α u``).
        tol: as :func:`q_delta_interpolant`.
        max_iter: as :func:`q_delta_interpolant`.

    Returns:
        ``w~(∞)``, ``(d,)`` (read-only NumPy array).

    Example:
        >>> import numpy as np
        >>> w = balanced_interpolant(np.array([[1.0, 0.0]]), np.array([1.0]), np.array([0.0, 1.0]))
        >>> float(w[0])
        1.0
    """
    return q_delta_interpolant(X, y, w0, 0.0, tol=tol, max_iter=max_iter).w


def vanishing_init_interpolant(X, y) -> np.ndarray:
    r"""``argmin ||w|| s.t. X w = y``: the vanishing-initialization ("anti-NTK") limit (azulay2021 Thm 6.3).

    For a multi-neuron two-layer linear network with ``0 != ||w~_i(0)|| -> 0`` for every
    neuron, the flow's interpolating endpoint tends to the min-l2 interpolant (not min-l1 as
    for diagonal nets). The q_δ route shows the rate for one neuron: ``α -> 0`` at fixed ``s``
    sends ``δ = 4αs/(1-s^2) -> 0`` and ``z -> 0`` (``||z|| = (3/2) α / sqrt(p(α)) = O(sqrt(α))``).

    Args:
        X: ``(N, d)``; y: ``(N,)``.

    Returns:
        ``(d,)`` float64.
    """
    return min_distance_interpolant(X, y)


def ntk_matrix(w0, delta) -> np.ndarray:
    r"""``B = I - (1-s)^2 / (2(1+s^2)) u u^T``, the NTK-limit metric of the single neuron (azulay2021 §7.2).

    ``u = w~(0)/||w~(0)||`` and ``s`` is the shape of ``(w~(0), δ)`` (:func:`neuron_scale_shape`).
    Derivation (App. G is not in our copy): ``∇^2 q_δ(w~(0)) = (3/2) p_0^{-1/2} (I - n_0/(p_0+n_0) u u^T)``
    with ``p_0 = a(0)^2``, ``n_0 = ||w(0)||^2``, and ``n_0/(p_0 + n_0) = 1/(1 + r^2) =
    (1-s)^2/(2(1+s^2))`` (``r = |a|/||w|| = (1+s)/(1-s)``): the paper's ``B`` up to a positive factor,
    independent of ``α``. The tangent kernel at initialization is ``x^T (a^2 I + w w^T) x'``
    ``∝ x^T B^{-1} x'`` (``B^{-1} = I + (n_0/p_0) u u^T``).

    Args:
        w0: ``w~(0)``, ``(d,)``, non-zero.
        delta: ``δ >= 0``.

    Returns:
        ``B``, ``(d, d)``.
    """
    w0 = np.asarray(w0, dtype=np.float64)
    _, s = neuron_scale_shape(w0, delta)
    u = w0 / np.linalg.norm(w0)
    return np.eye(w0.size) - (1 - s) ** 2 / (2 * (1 + s * s)) * np.outer(u, u)


def ntk_mahalanobis_interpolant(X, y, w0, delta) -> np.ndarray:
    r"""The NTK limit ``α -> ∞`` (fixed ``s``) of the single neuron (azulay2021 §7.2).

    .. math:: \arg\min_w (w - \tilde w(0))^\top B\, (w - \tilde w(0))\quad\text{s.t.}\quad X w = y,

    ``B`` of :func:`ntk_matrix`. Closed form ``w = w~(0) + B^{-1} X^T (X B^{-1} X^T)^+ (y - X w~(0))``,
    computed as ``w~(0) + B^{-1/2} (X B^{-1/2})^+ (y - X w~(0))`` (SVD, stable for rank-deficient
    ``X``). As ``s -> 1``, ``B -> I`` and this is ``argmin ||w - w~(0)||`` (the other NTK limit).

    Warning:
        The limit needs the distance to travel to stay small against the scale: the q_δ
        interpolant approaches this one, with relative error ``O(||y - X w~(0)|| / α)`` (measured:
        ``8e-4, 8e-6, 5e-7`` at ``α = 1e2, 1e4, 1e6`` for ``s = 0`` and a fixed residual
        ``y - X w~(0)``), when the residual ``y - X w~(0)`` is held fixed (or ``u`` is orthogonal to
        the rows of ``X``). With fixed ``y`` and ``w~(0) = α u`` the flow must travel ``O(α)`` and
        does not approach it (azulay2021 §7.2 leaves this condition implicit).

    Args:
        X: ``(N, d)``; y: ``(N,)``.
        w0: ``w~(0)``, ``(d,)``, non-zero.
        delta: ``δ >= 0``.

    Returns:
        ``(d,)`` float64.

    Example:
        >>> import numpy as np
        >>> w = ntk_mahalanobis_interpolant(np.array([[1.0, 1.0]]), np.array([2.0]), np.array([0.0, 1.0]), 0.0)
        >>> np.round(w * 3, 12)   # s = 0: B = diag(1, 1/2), w = w~(0) + B^{-1} x / 3
        array([1., 5.])
    """
    Xc = check_X(X)
    yc = check_y(y, Xc.shape[0])
    w0 = check_vector(w0, "w0", Xc.shape[1])
    if not np.any(w0 != 0):
        raise ValueError("w0 must be non-zero: the NTK limit is taken around w~(0) = α u")
    B = ntk_matrix(w0, delta)
    lam, Q = np.linalg.eigh(B)
    Bih = (Q / np.sqrt(lam)[None, :]) @ Q.T  # B^{-1/2}
    Z = Xc @ Bih
    reduce_rows(Z, yc - Xc @ w0)  # range check
    return w0 + Bih @ (np.linalg.pinv(Z, rcond=max(Z.shape) * _EPS) @ (yc - Xc @ w0))


# ----------------------------------------------------------------------------------------
# Single neuron x -> σ(w^T x) (vardi2022 §4.4)
# ----------------------------------------------------------------------------------------


def single_neuron_interpolant(X, y, w0=None, *, activation: str, slope=None) -> np.ndarray:
    r"""Endpoint of gradient flow on ``x -> σ(w^T x)``, ``σ`` strictly monotone (vardi2022 §4.4).

    .. math:: w(\infty) = \arg\min_w \|w - w(0)\|\quad\text{s.t.}\quad X w = \sigma^{-1}(y).

    Why: ``∇L = (1/N) Σ_n (σ(x_n^T w) - y_n) σ'(x_n^T w) x_n`` lies in the row space of ``X``, so
    ``w(t) - w(0)`` does too; at zero loss ``X w = σ^{-1}(y)``; the unique such point is the
    Euclidean projection of ``w(0)`` (:func:`~implicit_bias.theory.min_distance_interpolant`).
    Exact, for any ``w(0)``, assuming the flow reaches zero loss.

    Args:
        X: ``(N, d)``; y: ``(N,)`` in the range of ``σ``.
        w0: ``w(0)``, ``(d,)``; default 0.
        activation: ``linear``, ``leaky_relu`` (``slope > 0``), ``tanh``, ``sigmoid``, ``softplus``.
        slope: the leaky-ReLU slope.

    Returns:
        ``(d,)`` float64.

    Raises:
        ValueError: ``relu`` (not strictly monotone: see :func:`relu_neuron_bound`), targets outside
            the range of ``σ``, bad shapes.

    Example:
        >>> import numpy as np
        >>> w = single_neuron_interpolant(np.array([[2.0, 0.0]]), np.array([np.tanh(1.0)]), activation="tanh")
        >>> np.round(w, 12)
        array([0.5, 0. ])
    """
    Xc = check_X(X)
    yc = check_y(y, Xc.shape[0])
    return min_distance_interpolant(Xc, _inverse_activation(yc, activation, slope), w0)


def _relu_data(X, y):
    Xc = check_X(X)
    yc = check_y(y, Xc.shape[0])
    if np.any(yc < 0):
        bad = np.flatnonzero(yc < 0)
        raise ValueError(f"relu outputs are >= 0 but y is negative at indices {bad[:5].tolist()}: no zero-loss solution exists")
    return Xc, yc


def relu_neuron_min_norm(X, y) -> np.ndarray:
    r"""``w* = argmin ||w|| s.t. relu(X w) = y``: the min-norm zero-loss ReLU neuron (vardi2022 §4.4).

    The zero-loss set is convex: ``x_n^T w = y_n`` where ``y_n > 0`` and ``x_n^T w <= 0`` where
    ``y_n = 0``; so ``w*`` is a QP, solved by cvxpy (Clarabel, OSQP as fall-back; solver output
    silenced), then polished: the equality-constrained min-norm point on the solver's active
    set is kept if it is feasible and its multipliers of the active inequalities have the KKT
    sign (``w = Σ_{y_n>0} λ_n x_n - Σ_{active} μ_n x_n``, ``μ >= 0``).

    Args:
        X: ``(N, d)``; y: ``(N,)``, ``y >= 0``.

    Returns:
        ``w*``, ``(d,)`` float64.

    Raises:
        ValueError: negative targets or an infeasible problem (no zero-loss solution).

    Example:
        >>> import numpy as np
        >>> np.round(relu_neuron_min_norm(np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([1.0, 0.0])), 9)
        array([ 1., -1.])
    """
    import cvxpy as cp

    Xc, yc = _relu_data(X, y)
    pos, zero = yc > 0, yc == 0
    s = float(np.max(np.abs(Xc))) or 1.0
    ys = float(np.max(yc)) or 1.0
    if not pos.any():
        return np.zeros(Xc.shape[1])
    wv = cp.Variable(Xc.shape[1])
    cons = [(Xc[pos] / s) @ wv == yc[pos] / ys]
    if zero.any():
        cons.append((Xc[zero] / s) @ wv <= 0)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(wv)), cons)
    ok, last = solve_first_optimal(prob, wv, (cp.CLARABEL, cp.OSQP), stop_on_infeasible=True)
    if not ok and last in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
        raise ValueError("no w satisfies relu(X w) = y (the zero-loss set is empty)")
    if not ok:
        raise ValueError(f"the min-norm ReLU QP failed with every solver: {last}")
    w = np.asarray(wv.value, dtype=np.float64) * ys / s
    # polish on the active set
    m = Xc @ w
    scale = float(np.linalg.norm(Xc, axis=1).max()) * float(np.linalg.norm(w))
    for thr in (1e-9, 1e-7, 1e-5):
        act = zero & (m >= -thr * scale)
        rows = pos | act
        A = Xc[rows]
        lam = np.linalg.lstsq(A @ A.T, yc[rows], rcond=None)[0]
        cand = A.T @ lam
        mu = -lam[act[rows]]
        feas = np.all(np.abs(Xc[pos] @ cand - yc[pos]) <= 1e-12 * max(1.0, ys) * 10) and np.all(Xc[zero] @ cand <= 1e-12 * scale)
        if feas and np.all(mu >= -1e-9 * max(1.0, float(np.abs(lam).max()))):
            w = cand
            break
    w = w + 0.0
    _readonly(w)
    return w


class ReluNeuronBound(NamedTuple):
    """See :func:`relu_neuron_bound`."""

    w_star: np.ndarray  # min-norm zero-loss solution, (d,)
    norm_star: float  # ||w*||
    distance_bound: float  # ||w(0) - w*||: bound on ||w(∞) - w*||
    norm_bound: float  # ||w*|| + ||w(0) - w*||: bound on ||w(∞)||
    factor_two: float  # 2 ||w*||: Vardi & Shamir's bound (as w(0) -> 0)


def relu_neuron_bound(X, y, w0=None) -> ReluNeuronBound:
    r"""Bounds on the endpoint of gradient flow on ``x -> relu(w^T x)`` (vardi2022 §4.4, Vardi & Shamir 2020).

    vardi2022 §4.4 quotes ``||w(∞)|| <= 2 ||w*||`` (``w*`` of :func:`relu_neuron_min_norm`).
    The argument behind it, which we re-derive: for any zero-loss ``w*`` and any ``t``,
    ``d/dt ||w - w*||^2 = -(2/N) Σ_{n: x_n^T w > 0} (x_n^T w - relu(x_n^T w*))(x_n^T w - x_n^T w*) <= 0``
    (each term is a square if ``x_n^T w* >= 0``, and ``u(u - v) > 0`` for ``u > 0 > v`` otherwise),
    so ``||w(∞) - w*|| <= ||w(0) - w*||`` and ``||w(∞)|| <= ||w*|| + ||w(0) - w*||
    <= 2||w*|| + ||w(0)||``. The factor-2 statement is the limit ``w(0) -> 0``; from a large
    ``w(0)`` it fails (a component of ``w(0)`` orthogonal to every ``x_n`` never moves), so a
    check from random initializations should use ``norm_bound``.

    Args:
        X: ``(N, d)``; y: ``(N,)``, ``y >= 0``.
        w0: ``w(0)``, ``(d,)``; default 0.

    Returns:
        :class:`ReluNeuronBound` ``(w_star, norm_star, distance_bound, norm_bound, factor_two)``.

    Example:
        >>> import numpy as np
        >>> b = relu_neuron_bound(np.array([[1.0, 0.0]]), np.array([2.0]), w0=np.array([0.0, 1.0]))
        >>> b.norm_star, round(b.norm_bound, 6), b.factor_two
        (2.0, 4.236068, 4.0)
    """
    Xc, yc = _relu_data(X, y)
    w0 = np.zeros(Xc.shape[1]) if w0 is None else check_vector(w0, "w0", Xc.shape[1])
    ws = relu_neuron_min_norm(Xc, yc)
    ns = float(np.linalg.norm(ws))
    dist = float(np.linalg.norm(w0 - ws))
    return ReluNeuronBound(ws, ns, dist, ns + dist, 2.0 * ns)


# ----------------------------------------------------------------------------------------
# Hessian maps (azulay2021 eq. (7)) and the warping of §5
# ----------------------------------------------------------------------------------------


class HessianMapTest(NamedTuple):
    """Result of :func:`is_hessian_map`."""

    passed: bool
    asymmetry: np.ndarray  # (S,) relative violation of eq. (7) per sample
    max_asymmetry: float


def is_hessian_map(H: Callable, w_samples, *, g: Callable | None = None, rtol: float = 1e-8) -> HessianMapTest:
    r"""Numerical test of the Hessian-map condition (azulay2021 eq. (7)), optionally after warping by ``g`` (§5).

    ``G(w) = g(w) H(w)`` (or ``H(w)``) is the Hessian of some function on a simply connected
    domain iff it is symmetric and ``∂G_ij/∂w_k = ∂G_ik/∂w_j`` for all ``i, j, k``. With
    ``T = jax.jacfwd(G)(w)`` (``T[i, j, k] = ∂G_ij/∂w_k``), the violation at a sample is
    ``max_{ijk} |T_ijk - T_ikj| / max_{ijk} |T_ijk|`` (0 when ``G`` is constant). The test passes
    when every sample's violation is ``<= rtol``. A failure at one sample proves ``G`` is not a
    Hessian map; passing on samples is numerical evidence. In ``d = 1`` every metric passes.

    Args:
        H: the metric ``w (d,) -> (d, d)``, jax-traceable (e.g. :func:`fc_metric` with
            ``functools.partial``).
        w_samples: ``(S, d)`` (or ``(d,)``) points in the metric's domain.
        g: optional warping ``w (d,) -> ()`` (azulay2021 eq. (11)), e.g. :func:`fc_warping`.
        rtol: relative tolerance on the violation.

    Returns:
        :class:`HessianMapTest` ``(passed, asymmetry (S,), max_asymmetry)``.

    Example:
        >>> import functools, numpy as np
        >>> W = np.random.default_rng(0).normal(size=(5, 3))
        >>> is_hessian_map(identity_plus_outer_metric, W).passed            # Gunasekar et al. 2020
        False
        >>> is_hessian_map(functools.partial(fc_metric, delta=1.0), W, g=functools.partial(fc_warping, delta=1.0)).passed
        True
    """
    Ws = np.asarray(w_samples, dtype=np.float64)
    if Ws.ndim == 1:
        Ws = Ws[None, :]
    if Ws.ndim != 2 or Ws.shape[0] == 0 or Ws.shape[1] == 0 or not np.all(np.isfinite(Ws)):
        raise ValueError(f"w_samples must be a finite array of shape (S, d) or (d,); received shape {np.shape(w_samples)}")
    if not callable(H) or (g is not None and not callable(g)):
        raise ValueError("H (and g, if given) must be callables w -> (d, d) (and w -> scalar)")
    d = Ws.shape[1]
    out = jax.eval_shape(H, jax.ShapeDtypeStruct((d,), jnp.float64))
    if tuple(out.shape) != (d, d):
        raise ValueError(f"H must map w of shape ({d},) to a ({d}, {d}) matrix; it returns shape {tuple(out.shape)}")

    def G(w):
        M = H(w)
        return M if g is None else g(w) * M

    T = np.asarray(jax.vmap(jax.jacfwd(G))(jnp.asarray(Ws)))
    num = np.max(np.abs(T - np.swapaxes(T, 2, 3)), axis=(1, 2, 3))
    den = np.max(np.abs(T), axis=(1, 2, 3))
    asym = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    if not np.all(np.isfinite(asym)):
        raise ValueError("the metric's derivative is NaN/Inf at some samples: keep the samples inside its domain (e.g. w != 0 for delta = 0)")
    _readonly(asym)
    return HessianMapTest(bool(np.all(asym <= rtol)), asym, float(np.max(asym)))


def identity_plus_outer_metric(w):
    r"""``H(w) = I + w w^T``: not a Hessian map (Gunasekar et al. 2020; azulay2021 §3, footnote 3).

    ``∂_k H_ij = δ_ik w_j + w_i δ_jk`` differs from ``∂_j H_ik = δ_ij w_k + w_i δ_jk`` as soon as
    ``d >= 2`` and ``w != 0``. Args: ``w (d,)``. Returns ``(d, d)``.
    """
    w = jnp.asarray(w, dtype=jnp.float64)
    return jnp.eye(w.shape[-1]) + jnp.outer(w, w)


def fc_metric(w, delta):
    r"""Metric tensor ``H(w~)`` of the two-layer single linear neuron (azulay2021 eq. (3), §6).

    Gradient flow gives ``w~' = -(a^2 I + w w^T) g = -H(w~)^{-1} g`` with
    ``a^2 = p(||w~||) = sqrt(||w~||^2 + δ^2/4) + δ/2`` and ``w w^T = w~ w~^T / a^2``, so

    .. math:: H(\tilde w) = (p I + \tilde w\tilde w^\top/p)^{-1} = \frac1p\Big(I - \frac{\tilde w\tilde w^\top}{p^2 + \|\tilde w\|^2}\Big).

    Not a Hessian map for any ``δ >= 0`` (a radial metric ``α(r) I + β(r) w w^T`` is a Hessian
    iff ``β = α'/r``; here that would need ``||w||^2 = -δ/2``), which is why azulay2021 warps it (§5).

    Args:
        w: ``w~``, ``(d,)`` (``w != 0`` if ``δ = 0``).
        delta: ``δ >= 0``.

    Returns:
        ``(d, d)``.
    """
    w = jnp.asarray(w, dtype=jnp.float64)
    x2 = w @ w
    p = _p(jnp.sqrt(x2), delta)
    return (jnp.eye(w.shape[-1]) - jnp.outer(w, w) / (p * p + x2)) / p


def fc_warping(w, delta):
    r"""Warping function ``g(w~) = (3/2)|a| = (3/2) sqrt(p(||w~||))`` of the single neuron (azulay2021 §5, eq. (11)).

    Derived (App. C is not in our copy): ``g(w~) H(w~) = ∇^2 q_δ(w~)`` with ``H`` of :func:`fc_metric`
    and ``q_δ`` of :func:`q_delta`, i.e. the time warping ``τ(t) = int_0^t g`` turns the flow into
    an infinitesimal mirror descent with potential ``q_δ``. Any positive multiple works; ``3/2``
    matches the paper's normalisation of ``q_δ``. Args: ``w (d,)``, ``delta``. Returns a scalar.
    """
    w = jnp.asarray(w, dtype=jnp.float64)
    return 1.5 * jnp.sqrt(_p(_safe_norm(w), delta))


def warped_fc_metric(w, delta):
    r"""``g(w~) H(w~)`` (:func:`fc_warping` times :func:`fc_metric`) ``= ∇^2 q_δ(w~)``: a Hessian map.

    Args: ``w (d,)``, ``delta >= 0``. Returns ``(d, d)``.
    """
    return fc_warping(w, delta) * fc_metric(w, delta)


def diagonal_metric(w, k):
    r"""Metric of the unbiased untied two-layer diagonal net: ``H(w) = diag(1/sqrt(k_i + 4 w_i^2))`` (azulay2021 Thm 4.1).

    ``H = ∇^2 Q_k`` with ``q_k'(x) = (1/2) arcsinh(2x/sqrt(k))`` (eq. (10)): a Hessian map (each
    ``H_ii`` depends on ``w_i`` only), so IMD applies without warping (§4).
    ``sqrt(k_i) = 2(u_{+,i}(0)^2 + v_{+,i}(0)^2)``.

    Args:
        w: ``(d,)``.
        k: ``k_i > 0``, scalar or ``(d,)``.

    Returns:
        ``(d, d)``.
    """
    w = jnp.asarray(w, dtype=jnp.float64)
    return jnp.diag(1.0 / jnp.sqrt(jnp.asarray(k, dtype=jnp.float64) + 4.0 * w * w))
