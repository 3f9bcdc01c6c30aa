r"""The implicit bias of minima stability for univariate shallow ReLU nets (mulayoff2021).

SGD with step ``eta`` can stay at a minimum only if the minimum is flat enough: ``lambda_max(Hess
L) <= 2/eta`` (mulayoff2021 Lemma 1; eq. (35) for minima where ``L`` is not twice
differentiable). For the univariate one-hidden-layer ReLU net

    ``f(x) = sum_{i=1}^k w2_i relu(w1_i x + b1_i) + b2``                         (eq. (18))

trained on ``L = 1/(2n) sum_j (f(x_j) - y_j)^2`` (eq. (19), DESIGN.md's ``square``), the
flattest implementation of an interpolant ``f`` has (Lemma 4, eq. (30))

    ``min_{theta in Omega(f)} lambda_max(Hess L) >= 1 + 2 int |f''(x)| g(x) dx``,

so a stable interpolant has ``int |f''| g <= 1/eta - 1/2`` (Thm 1, eq. (21)), up to a slack
``Delta`` (eq. (25)) when knots sit on data points (Thm 2). The weight ``g`` (eqs. (22)-(23)) is

    ``g(x) = min(g^-(x), g^+(x))`` on ``[x_min, x_max]``, 0 outside, with
    ``g^-(x) = P(X < x)^2 E[x - X | X < x] sqrt(1 + E[X | X < x]^2)``,
    ``g^+(x) = P(X > x)^2 E[X - x | X > x] sqrt(1 + E[X | X > x]^2)``,

``X`` drawn uniformly from the training inputs ``x_1..x_n``.

Constants and normalisation (checked against the proof of Lemma 4, re-derived here):
at an interpolant ``Hess L = Phi Phi^T / n`` (eq. (27)) and ``lambda_max = max_{|u|=1}
||Phi u||^2 / n`` (eq. (28)). With ``u = 1/sqrt(n)`` the ``b2`` row gives exactly ``1``, and
neuron ``i`` (knot ``t_i = -b1_i/w1_i``, say ``w1_i > 0``) gives
``w1_i^2 P^2 E[X - t|X > t]^2 + w2_i^2 P^2 (1 + E[X|X > t]^2) >= 2 |w2_i w1_i| g^+(t_i)`` by
``a^2 + b^2 >= 2ab``; ``w2_i |w1_i|`` is the jump of ``f'`` at ``t_i``. So the ``1`` comes from
the output bias ``b2`` and the ``2`` from the ``1/(2n)`` loss (with ``1/n sum`` both double).
The inputs are used as they are: ``g`` is *not* shift invariant (the ``1 +`` under the root is
the bias gradient), and the theorem needs no standardisation; mulayoff2021 Fig. 2 standardises
the samples (mean 0, std 1) only to compare distributions. The built-in population
distributions here are standardised in the same way.

Everything here is computed without training; this module never imports ``algorithms`` or
``train``. Conventions: ``X`` is ``(n, 1)`` (or ``(n,)`` where a sample is expected), params are
the dict ``{"w1" (k, 1), "b1" (k,), "w2" (k,), "b2" ()}`` of
:class:`~implicit_bias.models.ShallowReLU` (plus ``"skip" (d,)`` where stated).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..univariate import knots, slope_jumps
from ..univariate import weighted_curvature as univariate_weighted_curvature

__all__ = [
    "WeightFunction",
    "empirical_weight_function",
    "population_weight_function",
    "standard_distribution",
    "GaussianMixture",
    "relu_knots",
    "weighted_curvature",
    "sharpness_lower_bound",
    "max_stable_sharpness",
    "is_stable_necessary",
    "curvature_bound",
    "gradient_bound_constant",
    "curvature_slack",
    "curvature_bound_nondifferentiable",
    "max_stable_sharpness_nondifferentiable",
    "FlattestImplementation",
    "rescale_neurons",
    "flattest_implementation",
    "FlattestBatch",
    "flattest_sharpness_batch",
]


# ----------------------------------------------------------------------------------------
# The weight function g (Thm 1, eqs. (22)-(23))
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightFunction:
    """The weight ``g = min(g^-, g^+)`` of mulayoff2021 eq. (22), as a vectorised callable.

    Built by :func:`empirical_weight_function` (exact, piecewise) or
    :func:`population_weight_function` (quadrature). ``g(x)``, ``g.g_minus(x)`` and
    ``g.g_plus(x)`` take a scalar or an array and return a float64 array of the same shape.

    Attributes:
        g_minus: ``x -> g^-(x)`` (eq. (23)).
        g_plus: ``x -> g^+(x)`` (eq. (23)).
        support: ``(x_min, x_max)``; ``g = 0`` outside (eq. (22)).
        kind: ``"empirical"`` or ``"population"``.
    """

    g_minus: Callable
    g_plus: Callable
    support: tuple
    kind: str

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        lo, hi = self.support
        inside = (x >= lo) & (x <= hi)
        return np.where(inside, np.minimum(self.g_minus(x), self.g_plus(x)), 0.0)


def _sample_1d(x, name: str = "x") -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 2 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty univariate sample of shape (n,) or (n, 1); received shape {np.shape(x)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or Inf")
    return a


def empirical_weight_function(x) -> WeightFunction:
    r"""The weight ``g`` of mulayoff2021 Thm 1 (eqs. (22)-(23)) for the empirical distribution of ``x``.

    With ``n_-(t) = #{j : x_j < t}``, ``m_-(t)`` the mean of those ``x_j`` (and ``n_+``, ``m_+``
    for ``x_j > t``), eq. (23) reads exactly

        ``g^-(t) = (n_-/n)^2 (t - m_-) sqrt(1 + m_-^2)``,  ``g^+(t) = (n_+/n)^2 (m_+ - t) sqrt(1 + m_+^2)``

    (0 when the side is empty): linear in ``t`` between consecutive data points, with jumps at
    the data points themselves (there ``n_-`` and ``m_-`` change while ``t - x_j = 0``); at
    ``t = x_j`` the strict inequalities of eq. (23) leave ``x_j`` out of both sides, which is
    the convention under which eq. (37) holds for knots on data points (the mode with the
    toggling neurons inactive). ``g(t) = min(g^-, g^+)`` on ``[min x, max x]``, 0 outside
    (eq. (22)). Prefix sums make one evaluation ``O(log n)``.

    Args:
        x: training inputs ``(n,)`` or ``(n, 1)``, used as they are (no standardisation).

    Returns:
        :class:`WeightFunction` (``kind="empirical"``).

    Example:
        >>> from implicit_bias.theory import empirical_weight_function
        >>> g = empirical_weight_function([0.0, 1.0])   # on (0, 1): min(t/4, sqrt(2)(1-t)/4)
        >>> float(g(0.5)), float(g(2.0))
        (0.125, 0.0)
    """
    xs = np.sort(_sample_1d(x))
    n = xs.size
    cs = np.concatenate([[0.0], np.cumsum(xs)])

    def g_minus(t):
        t = np.asarray(t, dtype=np.float64)
        c = np.searchsorted(xs, t, side="left")  # number of x_j < t
        mean = cs[c] / np.maximum(c, 1)
        val = (c / n) ** 2 * (t - mean) * np.sqrt(1.0 + mean**2)
        return np.where(c > 0, val, 0.0)

    def g_plus(t):
        t = np.asarray(t, dtype=np.float64)
        c = n - np.searchsorted(xs, t, side="right")  # number of x_j > t
        mean = (cs[n] - cs[n - c]) / np.maximum(c, 1)
        val = (c / n) ** 2 * (mean - t) * np.sqrt(1.0 + mean**2)
        return np.where(c > 0, val, 0.0)

    return WeightFunction(g_minus, g_plus, (float(xs[0]), float(xs[-1])), "empirical")


class GaussianMixture:
    """A univariate Gaussian mixture with ``pdf``, ``cdf``, ``sf``, ``support``, ``mean``, ``std``.

    Args:
        weights: mixture weights ``(K,)`` (normalised to sum 1).
        means: component means ``(K,)``.
        stds: component standard deviations ``(K,)``, positive.
    """

    def __init__(self, weights, means, stds):
        from scipy import stats

        self.weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.means = np.asarray(means, dtype=np.float64)
        self.stds = np.asarray(stds, dtype=np.float64)
        if not (self.weights.shape == self.means.shape == self.stds.shape) or np.any(self.stds <= 0) or np.any(self.weights < 0):
            raise ValueError("GaussianMixture needs weights, means, stds of equal length, weights >= 0, stds > 0")
        self._components = [stats.norm(m, s) for m, s in zip(self.means, self.stds)]

    def pdf(self, x):
        return sum(w * c.pdf(x) for w, c in zip(self.weights, self._components))

    def cdf(self, x):
        return sum(w * c.cdf(x) for w, c in zip(self.weights, self._components))

    def sf(self, x):
        return sum(w * c.sf(x) for w, c in zip(self.weights, self._components))

    def rvs(self, size, random_state=None):
        rng = np.random.default_rng(random_state)
        comp = rng.choice(len(self.weights), size=size, p=self.weights)
        return rng.normal(self.means[comp], self.stds[comp])

    def support(self):
        return (-np.inf, np.inf)

    def mean(self):
        return float(self.weights @ self.means)

    def std(self):
        m = self.mean()
        return float(np.sqrt(self.weights @ (self.stds**2 + self.means**2) - m**2))


def standard_distribution(name: str, *, bimodal_std: float = 0.5):
    """A built-in distribution with mean 0 and variance 1 (the normalisation of mulayoff2021 Fig. 2).

    Args:
        name: ``"uniform"`` (on ``[-sqrt 3, sqrt 3]``), ``"gaussian"`` (alias ``"normal"``),
            ``"laplace"`` (scale ``1/sqrt 2``), ``"bimodal"`` (``N(-mu, s^2)/2 + N(mu, s^2)/2``
            with ``s = bimodal_std`` and ``mu = sqrt(1 - s^2)``).
        bimodal_std: the component standard deviation ``s`` of ``"bimodal"``, in ``(0, 1)``.

    Returns:
        a frozen ``scipy.stats`` distribution, or a :class:`GaussianMixture`.
    """
    from scipy import stats

    key = str(name).strip().lower()
    if key == "uniform":
        return stats.uniform(loc=-math.sqrt(3.0), scale=2 * math.sqrt(3.0))
    if key in ("gaussian", "normal"):
        return stats.norm()
    if key == "laplace":
        return stats.laplace(scale=1 / math.sqrt(2.0))
    if key == "bimodal":
        if not 0.0 < bimodal_std < 1.0:
            raise ValueError(f"bimodal_std must be in (0, 1) (unit total variance); received {bimodal_std}")
        mu = math.sqrt(1.0 - bimodal_std**2)
        return GaussianMixture([0.5, 0.5], [-mu, mu], [bimodal_std, bimodal_std])
    raise ValueError(f"unknown distribution {name!r}: use uniform, gaussian, laplace, bimodal, or pass an object with a pdf")


def population_weight_function(distribution="gaussian", *, bimodal_std: float = 0.5, epsabs: float = 1e-13, epsrel: float = 1e-11) -> WeightFunction:
    r"""The weight ``g`` of mulayoff2021 eqs. (22)-(23) for a population distribution, by quadrature.

    With density ``p`` and ``F(t) = P(X < t)``:
    ``g^-(t) = F(t) A^-(t) sqrt(1 + (M^-(t)/F(t))^2)`` where ``A^-(t) = int_{-inf}^t (t - s) p(s) ds``
    (so ``P^2 E[t - X | X < t] = F A^-``) and ``M^-(t) = int_{-inf}^t s p(s) ds``; ``g^+`` likewise
    on ``(t, inf)``. ``A^-`` and ``M^-`` come from ``scipy.integrate.quad``, ``F`` from the
    distribution's ``cdf``/``sf`` when it has them (else quadrature of the pdf). ``g = 0`` outside
    the support. This is the "theoretical graph" of mulayoff2021 Fig. 2; the empirical ``g`` of
    ``n`` i.i.d. samples converges to it (at rate ``~n^{-1/2}``).

    Args:
        distribution: a name of :func:`standard_distribution` (mean 0, variance 1) or any
            scipy.stats-like object with ``pdf`` (and optionally ``cdf``, ``sf``, ``support()``).
        bimodal_std: passed to :func:`standard_distribution` for ``"bimodal"``.
        epsabs: absolute quadrature tolerance.
        epsrel: relative quadrature tolerance.

    Returns:
        :class:`WeightFunction` (``kind="population"``); each evaluation runs a few quadratures
        per point (about a millisecond).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory import population_weight_function
        >>> g = population_weight_function("uniform")   # symmetric, peaked at the centre
        >>> bool(np.isclose(g(0.3), g(-0.3), rtol=1e-9)) and bool(g(0.0) > g(1.0) > 0)
        True
    """
    from scipy import integrate

    dist = standard_distribution(distribution, bimodal_std=bimodal_std) if isinstance(distribution, str) else distribution
    if not hasattr(dist, "pdf"):
        raise ValueError(f"distribution must be a name or an object with a pdf method; received {type(distribution).__name__}")
    lo, hi = (float(v) for v in dist.support()) if hasattr(dist, "support") else (-np.inf, np.inf)
    pdf = dist.pdf

    def quad(fun, a, b):
        if not a < b:
            return 0.0
        return integrate.quad(fun, a, b, epsabs=epsabs, epsrel=epsrel, limit=200)[0]

    def cdf(t):
        return float(dist.cdf(t)) if hasattr(dist, "cdf") else quad(pdf, lo, t)

    def sf(t):
        return float(dist.sf(t)) if hasattr(dist, "sf") else quad(pdf, t, hi)

    def side(t, lower: bool):
        t = float(t)
        if lower:
            F = cdf(t)
            if F <= 0.0:
                return 0.0
            A = quad(lambda s: (t - s) * pdf(s), lo, t)
            M = quad(lambda s: s * pdf(s), lo, t)
        else:
            F = sf(t)
            if F <= 0.0:
                return 0.0
            A = quad(lambda s: (s - t) * pdf(s), t, hi)
            M = quad(lambda s: s * pdf(s), t, hi)
        return F * A * math.sqrt(1.0 + (M / F) ** 2)

    def vec(lower):
        def fn(t):
            t = np.asarray(t, dtype=np.float64)
            out = np.array([side(v, lower) for v in t.ravel()], dtype=np.float64)
            return out.reshape(t.shape)

        return fn

    return WeightFunction(vec(True), vec(False), (lo, hi), "population")


# ----------------------------------------------------------------------------------------
# f'' of a univariate shallow ReLU net and its weighted L1 norm
# ----------------------------------------------------------------------------------------


def _univariate_params(params) -> dict:
    names = {"w1", "b1", "w2", "b2"}
    if not isinstance(params, Mapping) or not names <= set(params):
        raise ValueError(f"expected shallow ReLU params with keys {sorted(names)}; received {sorted(params) if isinstance(params, Mapping) else type(params).__name__}")
    w1 = np.asarray(params["w1"], dtype=np.float64)
    if w1.ndim == 2:
        if w1.shape[1] != 1:
            raise ValueError(f"the stability results of mulayoff2021 are for univariate nets: w1 must be (k, 1); received {w1.shape}")
        w1 = w1[:, 0]
    b1 = np.asarray(params["b1"], dtype=np.float64)
    w2 = np.asarray(params["w2"], dtype=np.float64)
    if not (w1.shape == b1.shape == w2.shape) or w1.ndim != 1:
        raise ValueError(f"w1, b1, w2 must have shapes (k, 1), (k,), (k,); received {np.shape(params['w1'])}, {b1.shape}, {w2.shape}")
    return {"w1": w1, "b1": b1, "w2": w2}


def relu_knots(params) -> tuple[np.ndarray, np.ndarray]:
    r"""Knots and slope jumps of a univariate shallow ReLU net, neuron by neuron.

    Neuron ``i`` with ``w1_i != 0`` puts a knot at ``t_i = -b1_i / w1_i`` where ``f'`` jumps by
    ``w2_i |w1_i|`` (so ``f'' = sum_i w2_i |w1_i| delta(x - t_i)`` in the weak sense); neurons with
    ``w1_i = 0`` are constant and have no knot. A skip connection adds no knot.
    (:func:`implicit_bias.univariate.knots` and :func:`~implicit_bias.univariate.slope_jumps`.)

    Args:
        params: ``{"w1" (k, 1), "b1" (k,), "w2" (k,), ...}``.

    Returns:
        ``(knots (k',), jumps (k',))``, one entry per neuron with ``w1_i != 0`` (coincident knots
        are not merged; :func:`weighted_curvature` merges them).
    """
    _univariate_params(params)  # validates: univariate input
    return knots(params), slope_jumps(params)


def weighted_curvature(knots, jumps=None, g=None, *, merge_tol: float = 1e-9) -> float:
    r"""``int |f''(x)| g(x) dx`` for a piecewise-linear ``f`` (mulayoff2021 eq. (21)).

    :func:`implicit_bias.univariate.weighted_curvature` (the one implementation: same call
    forms, same merging of coincident knots with ``merge_tol``, same result), with one
    convenience: ``g`` may also be a training sample, whose :func:`empirical_weight_function`
    is used. ``ib.diagnostics.weighted_curvature`` is this function.

    ``f'' = sum_t J_t delta(x - t)`` (``J_t`` the jump of ``f'`` at knot ``t``), so the integral is
    ``sum_t |J_t| g(t)``. Knots closer than ``merge_tol * (1 + |t|)`` are merged first (their
    jumps add before the absolute value: two neurons with opposite jumps at one knot cancel).

    Args:
        knots: knot locations ``(K,)``; or a univariate shallow ReLU params dict (then ``jumps``
            must be omitted and knots/jumps come from :func:`relu_knots`).
        jumps: jumps of ``f'`` at the knots ``(K,)``.
        g: a :class:`WeightFunction` (or any vectorised callable), or a training sample
            ``(n,)``/``(n, 1)`` whose :func:`empirical_weight_function` is used.
        merge_tol: relative tolerance for coincident knots (``1e-9``, as every knot tool of
            :mod:`implicit_bias.univariate`; this function used ``merge_rtol=1e-12`` before).

    Returns:
        the weighted curvature (float).

    Example:
        >>> from implicit_bias.theory import weighted_curvature
        >>> weighted_curvature([0.5], [2.0], [0.0, 1.0])   # 2 g(0.5) = 2 * 0.125
        0.25
    """
    if isinstance(knots, Mapping) and jumps is not None and g is None:
        jumps, g = None, jumps  # weighted_curvature(params, g)
    if g is not None and not callable(g):
        g = empirical_weight_function(g)
    return univariate_weighted_curvature(knots, jumps, g, merge_tol=merge_tol)


def sharpness_lower_bound(params, X) -> float:
    r"""Lemma 4 of mulayoff2021 (eq. (30)): ``1 + 2 int |f''| g``, a lower bound on every implementation's sharpness.

    For an interpolant ``f`` (``f(x_j) = y_j``) of a univariate shallow ReLU net *with output bias*
    ``b2`` and the loss ``1/(2n) sum (f - y)^2``,
    ``min_{theta in Omega(f)} lambda_max(Hess L(theta)) >= 1 + 2 int |f''(x)| g(x) dx`` with
    ``g`` the empirical weight of ``X`` (module docstring: the ``1`` is the ``b2`` direction, the
    ``2`` comes from the ``1/(2n)`` normalisation). Lemma 4 states it for twice-differentiable
    minima; eq. (37) extends it to ``lambda_max^upper`` (the sharpest mode) when knots sit on
    data points. A skip connection only adds to ``lambda_max`` (the bound still holds).

    Args:
        params: univariate shallow ReLU params ``{"w1" (k, 1), "b1" (k,), "w2" (k,), "b2" (), ...}``.
        X: training inputs ``(n, 1)`` or ``(n,)``.

    Returns:
        the bound (float).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory import sharpness_lower_bound
        >>> p = {"w1": np.ones((1, 1)), "b1": np.array([-0.5]), "w2": np.array([2.0]), "b2": np.array(0.0)}
        >>> sharpness_lower_bound(p, [0.0, 1.0])   # 1 + 2 * 2 * g(0.5) = 1 + 4 * 0.125
        1.5
    """
    return 1.0 + 2.0 * weighted_curvature(params, g=empirical_weight_function(X))


# ----------------------------------------------------------------------------------------
# Stability bounds (Lemma 1, Thm 1, Thm 2)
# ----------------------------------------------------------------------------------------


def _positive(x, name):
    a = np.asarray(x, dtype=np.float64)
    if np.any(~(a > 0)):
        raise ValueError(f"{name} must be positive; received {x}")
    return a


def _out(a):
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def max_stable_sharpness(lr):
    r"""``2 / eta``: the largest ``lambda_max(Hess L(theta*))`` at a stable minimum (mulayoff2021 Lemma 1, eq. (7)).

    Lemma 1 (necessary): if ``theta*`` is a linearly stable minimum of SGD with step ``eta`` and
    batches of any size ``B`` drawn uniformly and independently across iterations, then
    ``lambda_max(Hess L(theta*)) <= 2/eta``. The batch size does not enter (the proof uses only
    that GD's iterates are the expectation of SGD's, ``E[grad L_t(theta*)] = 0``). For GD
    (``B = n``) the condition is also sufficient; at non-differentiable minima the sufficient
    condition (Lemma 3, eq. (17)) is ``max_m lambda_max(H_m) <= 2/eta`` over the mode Hessians.

    Args:
        lr: step size ``eta > 0`` (scalar or array).

    Returns:
        ``2 / eta`` (float or array).

    Example:
        >>> from implicit_bias.theory import max_stable_sharpness
        >>> max_stable_sharpness(0.1)
        20.0
    """
    return _out(2.0 / _positive(lr, "lr"))


def is_stable_necessary(sharpness, lr):
    """Lemma 1's necessary condition ``lambda_max <= 2/eta`` (mulayoff2021 eq. (7)), elementwise.

    ``False`` proves that SGD (any batch size) with step ``lr`` cannot be linearly stable at the
    minimum; ``True`` proves stability only for full-batch GD.

    Args:
        sharpness: ``lambda_max(Hess L(theta*))`` (scalar or array).
        lr: step size ``eta`` (scalar or array).

    Returns:
        bool or bool array.

    Example:
        >>> from implicit_bias.theory import is_stable_necessary
        >>> is_stable_necessary(19.0, 0.1), is_stable_necessary(21.0, 0.1)
        (True, False)
    """
    ok = np.asarray(sharpness, dtype=np.float64) <= 2.0 / _positive(lr, "lr")
    return bool(ok) if ok.ndim == 0 else ok


def curvature_bound(lr):
    r"""Thm 1 of mulayoff2021 (eq. (21)): a stable interpolant has ``int |f''| g <= 1/eta - 1/2``.

    From Lemma 4 (``lambda_max >= 1 + 2 int |f''| g`` for every implementation) and Lemma 1
    (``lambda_max <= 2/eta``), for knots off the data points. Non-positive for ``eta >= 2``: then
    no interpolant is stable (the ``b2`` direction alone has curvature 1).

    Args:
        lr: step size ``eta > 0`` (scalar or array).

    Returns:
        ``1/eta - 1/2``.

    Example:
        >>> from implicit_bias.theory import curvature_bound
        >>> curvature_bound(0.5)
        1.5
    """
    return _out(1.0 / _positive(lr, "lr") - 0.5)


def gradient_bound_constant(params, X) -> float:
    r"""``C = max{1, rho (1 + M)}`` of mulayoff2021 Thm 2, with ``rho = ||theta||_inf`` and ``M = max_j |x_j|``.

    It bounds ``||grad_theta phi(x_j, theta, m_j)||_inf`` for every sample and mode (§4.2).

    Args:
        params: shallow ReLU params (any ``d``; ``rho`` is taken over all entries).
        X: inputs ``(n, d)`` or ``(n,)``.

    Returns:
        ``C`` (float).
    """
    flat, _ = ravel_pytree({k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()})
    rho = float(jnp.max(jnp.abs(flat)))
    M = float(np.max(np.abs(np.asarray(X, dtype=np.float64))))
    return max(1.0, rho * (1.0 + M))


def _excess(lr, r, C):
    """``3 C^2 r + C sqrt(3 r (3 C^2 r + 2/eta))``: eq. (35)'s excess over ``2/eta`` as printed."""
    return 3.0 * C**2 * r + C * np.sqrt(3.0 * r * (3.0 * C**2 * r + 2.0 / lr))


_VARIANTS = {"paper": 1.0, "rederived": 2.0}


def _variant(variant):
    if variant not in _VARIANTS:
        raise ValueError(f"variant must be 'paper' or 'rederived'; received {variant!r}")
    return _VARIANTS[variant]


def max_stable_sharpness_nondifferentiable(lr, *, n: int, p_max: int, C: float, variant: str = "paper"):
    r"""Eq. (35) of mulayoff2021: the largest ``lambda_max^upper`` at a strongly stable non-differentiable minimum.

    ``lambda_max^upper <= 2/eta + 3 C^2 p_max/n + C sqrt(3 (p_max/n)(3 C^2 p_max/n + 2/eta))``
    (``variant="paper"``, as printed), from Lemma 2 with ``gamma = 0`` and Lemma 5's
    ``delta = 2 sqrt(3) C sqrt(lambda^upper) sqrt(p_max/n)`` (eq. (34)).

    Warning:
        Solving ``lambda <= 2/eta + delta(lambda)`` for that ``delta`` (a quadratic in
        ``sqrt(lambda)``) gives ``lambda <= 2/eta + 6 C^2 r + 2 C sqrt(3 r (3 C^2 r + 2/eta))``
        (``r = p_max/n``): twice the printed excess. ``variant="rederived"`` returns that. The
        derivation (Appendix IX) is not in the text we have, so we cannot say which step differs;
        the printed bound is the stronger (smaller) claim.

    Args:
        lr: step size ``eta`` (scalar or array).
        n: number of training samples.
        p_max: most neurons toggling on one sample (:class:`~implicit_bias.diagnostics.ModeHessians`).
        C: the gradient bound (:func:`gradient_bound_constant`).
        variant: ``"paper"`` or ``"rederived"``.

    Returns:
        the bound on ``lambda_max^upper``.

    Example:
        >>> from implicit_bias.theory import max_stable_sharpness_nondifferentiable
        >>> max_stable_sharpness_nondifferentiable(0.1, n=10, p_max=0, C=1.0)   # no toggles: 2/eta
        20.0
    """
    lr = _positive(lr, "lr")
    return _out(2.0 / lr + _variant(variant) * _excess(lr, p_max / n, C))


def curvature_slack(lr, *, n: int, width: int, num_knots: int, C: float, variant: str = "paper"):
    r"""``Delta`` of mulayoff2021 Thm 2, eq. (25).

    ``Delta = (3/2) C^2 r + C sqrt((3/4) r (3 C^2 r + 2/eta))`` with ``r = (1 + k - L)/n``
    (``k`` neurons, ``L`` knots of ``f``, ``p_max <= 1 + k - L``): half the excess of eq. (36) over
    ``2/eta``, as the ``1 + 2 int |f''| g <= lambda^upper`` of eq. (37) requires.
    ``variant="rederived"`` doubles it (see :func:`max_stable_sharpness_nondifferentiable`).

    Args:
        lr: step size ``eta``.
        n: number of samples.
        width: number of neurons ``k``.
        num_knots: number of knots ``L <= k`` of ``f``.
        C: ``max{1, rho (1 + M)}`` (:func:`gradient_bound_constant`).
        variant: ``"paper"`` or ``"rederived"``.

    Returns:
        ``Delta`` (float or array).

    Example:
        >>> from implicit_bias.theory import curvature_slack
        >>> round(curvature_slack(0.1, n=100, width=10, num_knots=10, C=1.0), 6)   # r = 0.01
        0.402589
    """
    if not 0 <= num_knots <= width:
        raise ValueError(f"num_knots must be in [0, width={width}]; received {num_knots}")
    lr = _positive(lr, "lr")
    return _out(0.5 * _variant(variant) * _excess(lr, (1 + width - num_knots) / n, C))


def curvature_bound_nondifferentiable(lr, *, n: int, width: int, num_knots: int, C: float, variant: str = "paper"):
    r"""Thm 2 of mulayoff2021 (eq. (24)): ``int |f''| g <= 1/eta - 1/2 + Delta`` for strongly stable solutions.

    Holds for an ``L``-knot interpolant with an implementation of ``||theta*||_inf <= rho``, knots
    possibly on data points; ``Delta`` from :func:`curvature_slack` (eq. (25)).

    Args:
        lr: step size ``eta``.
        n: number of samples.
        width: number of neurons ``k``.
        num_knots: number of knots ``L <= k`` of ``f``.
        C: ``max{1, rho (1 + M)}`` (:func:`gradient_bound_constant`).
        variant: ``"paper"`` or ``"rederived"`` (:func:`curvature_slack`).

    Returns:
        the bound (float or array).

    Example:
        >>> from implicit_bias.theory import curvature_bound_nondifferentiable
        >>> round(curvature_bound_nondifferentiable(0.1, n=100, width=10, num_knots=10, C=1.0), 6)
        9.902589
    """
    return _out(curvature_bound(lr) + curvature_slack(lr, n=n, width=width, num_knots=num_knots, C=C, variant=variant))


# ----------------------------------------------------------------------------------------
# The flattest implementation (Appendix XI)
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlattestImplementation:
    """Result of :func:`flattest_implementation`.

    Attributes:
        sharpness: ``lambda_max`` of the rescaled implementation (``max`` over the given mode
            Hessians if any), evaluated by a dense eigendecomposition.
        params: the rescaled parameters (same function).
        log_scales: ``log c_i`` per neuron, ``(k,)``.
        original_sharpness: ``lambda_max`` before rescaling.
        method: ``"sdp"`` or ``"lbfgs"``.
    """

    sharpness: float
    params: dict
    log_scales: np.ndarray
    original_sharpness: float
    method: str


def _relu_apply(params, X):
    out = jax.nn.relu(X @ params["w1"].T + params["b1"][None, :]) @ params["w2"] + params["b2"]
    if "skip" in params:
        out = out + X @ params["skip"]
    return out


@jax.jit
def _loss_hessian(p, X, y):
    """Dense Hessian of ``1/(2n) sum (f - y)^2`` in ``ravel_pytree(p)`` order, ``(P, P)``."""
    flat, unravel = ravel_pytree(p)
    return jax.hessian(lambda v: 0.5 * jnp.mean((_relu_apply(unravel(v), X) - y) ** 2))(flat)


def _check_relu(params, X, y=None):
    names = {"w1", "b1", "w2", "b2"}
    if not isinstance(params, Mapping) or not names <= set(params) or not set(params) <= names | {"skip"}:
        raise ValueError(f"expected shallow ReLU params {{'w1' (k, d), 'b1' (k,), 'w2' (k,), 'b2' (), ['skip' (d,)]}}; received {sorted(params) if isinstance(params, Mapping) else type(params).__name__}")
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}
    if p["w1"].ndim != 2:
        raise ValueError(f"params['w1'] must be (k, d); received shape {p['w1'].shape}")
    k, d = p["w1"].shape
    for name, shape in (("b1", (k,)), ("w2", (k,)), ("b2", ())):
        if p[name].shape != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape}; received {p[name].shape}")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1 and d == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[1] != d:
        raise ValueError(f"X must be (n, {d}) to match w1 {(k, d)}; received shape {X.shape}")
    if y is not None:
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},); received {y.shape}")
    return p, X, y


def rescale_neurons(params, log_scales) -> dict:
    r"""The function-preserving rescaling ``(w1_i, b1_i, w2_i) -> (c_i w1_i, c_i b1_i, w2_i / c_i)``, ``c_i = e^{s_i}``.

    ReLU is positively homogeneous, so ``f`` is unchanged for every ``c_i > 0``.

    Args:
        params: shallow ReLU params ``{"w1" (k, d), "b1" (k,), "w2" (k,), "b2" (), ["skip"]}``.
        log_scales: ``s = log c``, ``(k,)``.

    Returns:
        the rescaled params (NumPy float64 arrays; ``b2``, ``skip`` unchanged).
    """
    s = np.asarray(log_scales, dtype=np.float64)
    c = np.exp(s)
    out = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    if s.shape != out["b1"].shape:
        raise ValueError(f"log_scales must have shape {out['b1'].shape} (one per neuron); received {s.shape}")
    out["w1"] = out["w1"] * c[:, None]
    out["b1"] = out["b1"] * c
    out["w2"] = out["w2"] / c
    return out


def _flat_structure(params):
    """Per flat coordinate: neuron index (-1 if none) and exponent e (+1 on w1/b1, -1 on w2, 0 else)."""
    k = params["b1"].shape[0]
    nrn = {name: np.full(np.shape(v), -1.0) for name, v in params.items()}
    ex = {name: np.zeros(np.shape(v)) for name, v in params.items()}
    nrn["w1"] = np.broadcast_to(np.arange(k)[:, None], params["w1"].shape).astype(float)
    nrn["b1"] = np.arange(k, dtype=float)
    nrn["w2"] = np.arange(k, dtype=float)
    ex["w1"] = np.ones(params["w1"].shape)
    ex["b1"] = np.ones(k)
    ex["w2"] = -np.ones(k)
    n_flat = np.asarray(ravel_pytree({a: jnp.asarray(b) for a, b in nrn.items()})[0]).astype(int)
    e_flat = np.asarray(ravel_pytree({a: jnp.asarray(b) for a, b in ex.items()})[0])
    return n_flat, e_flat


def _lam_max_scaled_raw(Hs, n_flat, e_flat, s):
    """``max_m lambda_max(D^{-1} H_m D^{-1})`` with ``D = diag(exp(e * s[neuron]))``."""
    sp = jnp.where(n_flat >= 0, s[jnp.maximum(n_flat, 0)], 0.0)
    dinv = jnp.exp(-e_flat * sp)
    Hsc = Hs * dinv[None, :, None] * dinv[None, None, :]
    return jnp.max(jnp.linalg.eigvalsh(Hsc)[:, -1])


_lam_max_scaled = jax.jit(_lam_max_scaled_raw)
_lam_max_scaled_and_grad = jax.jit(jax.value_and_grad(_lam_max_scaled_raw, argnums=3))


def _solve_sdp(Hs, n_flat, e_flat, k, max_log_scale, psd_tol, negative_tol):
    import cvxpy as cp

    lam0 = float(np.max(np.linalg.eigvalsh(Hs)[:, -1]))
    scale = lam0 if lam0 > 0 else 1.0
    a = cp.Variable(k, pos=True)  # c^{-2}: weight of the w1/b1 rows
    b = cp.Variable(k, pos=True)  # c^{+2}: weight of the w2 rows
    t = cp.Variable()
    cons = [cp.SOC(a + b, cp.vstack([2 * np.ones(k), a - b]), axis=0)]  # a_i b_i >= 1
    lo, hi = math.exp(-2 * max_log_scale), math.exp(2 * max_log_scale)
    cons += [a >= lo, a <= hi, b >= lo, b <= hi]
    for H in Hs:
        w, U = np.linalg.eigh(H / scale)
        if w.min() < -negative_tol * max(w.max(), 1.0):
            raise ValueError(
                f"the Hessian has a negative eigenvalue {w.min() * scale:.3e} (largest {w.max() * scale:.3e}): "
                "not a minimum, so minimising lambda_max over rescalings is not convex; use method='lbfgs' for a "
                "local search (or raise negative_tol if the negative part is residual noise)"
            )
        keep = w > psd_tol * max(w.max(), 1.0)
        G = U[:, keep] * np.sqrt(w[keep])[None, :]  # H = G G^T, rows g_p
        r = G.shape[1]
        if r == 0:
            continue
        # sum_p d_p g_p g_p^T with d_p = a_i (e=+1), b_i (e=-1), 1 (e=0)
        Ma = np.zeros((k, r, r))
        Mb = np.zeros((k, r, r))
        M0 = np.zeros((r, r))
        for pidx in range(G.shape[0]):
            outer = np.outer(G[pidx], G[pidx])
            i = n_flat[pidx]
            if e_flat[pidx] > 0:
                Ma[i] += outer
            elif e_flat[pidx] < 0:
                Mb[i] += outer
            else:
                M0 += outer
        S = M0 + cp.reshape(Ma.reshape(k, r * r).T @ a + Mb.reshape(k, r * r).T @ b, (r, r), order="C")
        cons.append(t * np.eye(r) - (S + S.T) / 2 >> 0)
    prob = cp.Problem(cp.Minimize(t), cons)
    try:
        prob.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        prob.solve(solver=cp.SCS, eps=1e-10, max_iters=200000)
    if prob.status not in ("optimal", "optimal_inaccurate") or a.value is None:
        raise RuntimeError(f"flattest_implementation: the SDP solver returned status {prob.status!r}")
    return 0.25 * (np.log(np.asarray(b.value)) - np.log(np.asarray(a.value)))


def _solve_lbfgs(Hs, n_flat, e_flat, k, max_log_scale):
    from scipy.optimize import minimize

    Hj = jnp.asarray(Hs)
    nj, ej = jnp.asarray(n_flat), jnp.asarray(e_flat)

    def fun(s):
        v, g = _lam_max_scaled_and_grad(Hj, nj, ej, jnp.asarray(s))
        return float(v), np.asarray(g, dtype=np.float64)

    res = minimize(fun, np.zeros(k), jac=True, method="L-BFGS-B", bounds=[(-max_log_scale, max_log_scale)] * k, options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-12})
    return np.asarray(res.x)


def flattest_implementation(params, X, y, *, hessians=None, method: str = "sdp", max_log_scale: float = 10.0, psd_tol: float = 1e-10, negative_tol: float = 1e-6, knot_tol: float = 1e-12) -> FlattestImplementation:
    r"""The flattest implementation of a shallow ReLU net over per-neuron rescalings (mulayoff2021 Appendix XI, Fig. 3c).

    Minimises ``lambda(s) = lambda_max(Hess L(theta(s)))`` over ``s = log c in R^k``, with
    ``theta(s) = (c_i w1_i, c_i b1_i, w2_i / c_i)_i, b2`` (:func:`rescale_neurons`), which leaves
    ``f`` unchanged; ``L = 1/(2n) sum_j (f(x_j) - y_j)^2``.

    Derivation (ours: Appendix XI is not in the text we have). ``f(x; theta(s)) = f(x; theta)``
    for all ``x`` gives ``Hess L(theta(s)) = D^{-1} H D^{-1}`` with ``H = Hess L(theta)`` and
    ``D = diag(e^{s_i})`` on ``w1_i, b1_i``, ``diag(e^{-s_i})`` on ``w2_i``, ``1`` on ``b2``: one
    Hessian, computed once. At a minimum ``H = G G^T`` is PSD, so
    ``lambda(s) = lambda_max(G^T D^{-2} G) = max_{|u|=1} sum_p d_p (g_p^T u)^2`` with
    ``d_p = e^{-2 s_i}`` or ``e^{2 s_i}``: a maximum of positive sums of exponentials of linear
    functions of ``s``, hence **convex** in ``s`` (a local minimum is global). In the variables
    ``a_i = e^{-2 s_i}``, ``b_i = e^{2 s_i}`` it is the semidefinite program
    ``min t  s.t.  sum_p d_p g_p g_p^T <= t I,  a_i b_i >= 1`` (the relaxation ``a_i b_i >= 1`` is
    tight because ``lambda_max`` is non-decreasing in every ``d_p``), solved by Clarabel
    (``method="sdp"``, default). The optimum of a max-eigenvalue problem typically has a repeated
    top eigenvalue, where ``lambda(s)`` is not differentiable; ``method="lbfgs"`` (L-BFGS-B on
    ``s`` with the gradient ``v^T (d/ds) H(s) v``) is the alternative for small ``k`` and for
    non-PSD ``H``, and may stop slightly above the optimum at such kinks. Both start from the
    per-neuron balance minimising the trace, ``s_i = log(A_i / B_i) / 4`` (``A_i``, ``B_i`` the
    diagonal mass of neuron ``i``'s ``w1, b1`` and ``w2`` rows), and re-solve from their answer
    until it stops improving (at most 4 solves): the SDP solver alone loses accuracy when the
    optimal ``c_i`` span orders of magnitude (measured: 73.2 instead of 45.7 on a 6-point
    interpolant, fixed by one re-solve).

    Non-differentiable minima (knots on data points): pass the mode Hessians
    (``hessians=ib.diagnostics.mode_hessians(params, X, y).hessians``) to minimise
    ``lambda_max^upper = max_m lambda_max(H_m)`` (eqs. (16), (37)); the SDP takes one constraint
    per mode. Without them, the Hessian of JAX's ReLU (``relu'(0) = 0``: toggling neurons
    inactive) is used, with a warning.

    Guarantees: ``sharpness <= original_sharpness`` (the result is never worse than ``s = 0``),
    and, for interpolants of univariate nets, ``sharpness >= 1 + 2 int |f''| g``
    (:func:`sharpness_lower_bound`, Lemma 4), since rescalings are a subset of ``Omega(f)``.

    Args:
        params: shallow ReLU params ``{"w1" (k, d), "b1" (k,), "w2" (k,), "b2" (), ["skip" (d,)]}``.
        X: inputs ``(n, d)`` (``(n,)`` for ``d = 1``); y: targets ``(n,)``.
        hessians: optional ``(P, P)`` or ``(M, P, P)`` Hessian(s) at ``params`` in
            ``ravel_pytree(params)`` order (e.g. the mode Hessians); default the loss Hessian.
        method: ``"sdp"`` (global, needs PSD Hessians) or ``"lbfgs"`` (local).
        max_log_scale: bound on ``|log c_i|`` (dead neurons or ``w2_i = 0`` have no finite optimum).
        psd_tol: eigenvalues below ``psd_tol * lambda_max`` count as zero (``"sdp"``).
        negative_tol: ``"sdp"`` raises if an eigenvalue is below ``-negative_tol * lambda_max``
            (not a minimum); smaller negative parts (residual noise near an interpolant) are
            dropped from the convex surrogate, never from the reported sharpness.
        knot_tol: relative tolerance for "knot on a data point" (warning only).

    Returns:
        :class:`FlattestImplementation`.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory import flattest_implementation, sharpness_lower_bound
        >>> X, y = np.array([[-1.0], [0.0], [1.0]]), np.array([0.0, 1.0, 0.0])
        >>> p = {"w1": np.array([[1.0], [1.0], [1.0]]), "b1": np.array([2.0, 0.5, -0.5]),
        ...      "w2": np.array([2.0, -2.0, -2.0]), "b2": np.array(-2.0)}   # interpolates the hat
        >>> fl = flattest_implementation(p, X, y)
        >>> bool(sharpness_lower_bound(p, X) <= fl.sharpness <= fl.original_sharpness)
        True
    """
    p, X, y = _check_relu(params, X, y)
    if method not in ("sdp", "lbfgs"):
        raise ValueError(f"method must be 'sdp' or 'lbfgs'; received {method!r}")
    k = p["b1"].shape[0]
    flat, _ = ravel_pytree(p)
    P = flat.shape[0]
    if hessians is None:
        z = X @ np.asarray(p["w1"]).T + np.asarray(p["b1"])[None, :]
        sc = np.abs(X) @ np.abs(np.asarray(p["w1"])).T + np.abs(np.asarray(p["b1"]))[None, :]
        if np.any(np.abs(z) <= knot_tol * sc):
            warnings.warn(
                "flattest_implementation: a knot sits on a data point, where the loss is not twice differentiable; "
                "the Hessian used is that of the mode with the toggling neurons inactive (relu'(0) = 0). Pass "
                "hessians=implicit_bias.diagnostics.mode_hessians(params, X, y).hessians to minimise the sharpest mode "
                "(mulayoff2021 eqs. (16), (37)).",
                stacklevel=2,
            )
        Hs = np.asarray(_loss_hessian(p, jnp.asarray(X), jnp.asarray(y)))[None]
    else:
        Hs = np.asarray(hessians, dtype=np.float64)
        if Hs.ndim == 2:
            Hs = Hs[None]
        if Hs.ndim != 3 or Hs.shape[1:] != (P, P):
            raise ValueError(f"hessians must have shape (P, P) or (M, P, P) with P = {P}; received {np.shape(hessians)}")
    Hs = 0.5 * (Hs + np.swapaxes(Hs, 1, 2))
    n_flat, e_flat = _flat_structure({a: np.asarray(b) for a, b in p.items()})
    lam = lambda s: float(_lam_max_scaled(jnp.asarray(Hs), jnp.asarray(n_flat), jnp.asarray(e_flat), jnp.asarray(s)))  # noqa: E731
    lam0 = lam(np.zeros(k))
    # Start from the per-neuron balance that minimises the trace (sum of all eigenvalues):
    # tr = sum_i e^{-2 s_i} A_i + e^{2 s_i} B_i is smallest at s_i = log(A_i / B_i) / 4. The
    # solver then works on the rescaled (well-conditioned) Hessians; a second solve from its
    # answer polishes what the first left (SDP solvers lose accuracy when the optimal c_i
    # span orders of magnitude).
    diagH = np.max(np.diagonal(Hs, axis1=1, axis2=2), axis=0)
    A = np.bincount(n_flat[e_flat > 0], weights=diagH[e_flat > 0], minlength=k)
    B = np.bincount(n_flat[e_flat < 0], weights=diagH[e_flat < 0], minlength=k)
    s = np.where((A > 0) & (B > 0), 0.25 * np.log(np.where(A > 0, A, 1.0) / np.where(B > 0, B, 1.0)), 0.0)
    s = np.clip(s, -max_log_scale, max_log_scale)
    best_s, best = (s, lam(s)) if lam(s) < lam0 else (np.zeros(k), lam0)
    for _ in range(4):
        sp = np.where(n_flat >= 0, best_s[np.maximum(n_flat, 0)], 0.0)
        dinv = np.exp(-e_flat * sp)
        Hcur = Hs * dinv[None, :, None] * dinv[None, None, :]
        solver = _solve_sdp if method == "sdp" else _solve_lbfgs
        args = (psd_tol, negative_tol) if method == "sdp" else ()
        cand = np.clip(best_s + solver(Hcur, n_flat, e_flat, k, max_log_scale, *args), -max_log_scale, max_log_scale)
        val = lam(cand)
        improved = val < best * (1 - 1e-10)
        if val < best:
            best_s, best = cand, val
        if not improved:
            break
    s = best_s
    s = np.clip(s, -max_log_scale, max_log_scale)
    # neurons that do not enter the Hessian at all keep their scale
    for i in range(k):
        rows = n_flat == i
        if not np.any(Hs[:, rows, :]):
            s[i] = 0.0
    lam_s = lam(s)
    if lam_s > lam0:
        s, lam_s = np.zeros(k), lam0
    return FlattestImplementation(
        sharpness=lam_s,
        params=rescale_neurons(params, s),
        log_scales=s,
        original_sharpness=lam0,
        method=method,
    )


# ----------------------------------------------------------------------------------------
# The flattest implementation, vectorised (pure JAX): smoothed max-eigenvalue + L-BFGS
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlattestBatch:
    """Result of :func:`flattest_sharpness_batch`.

    Attributes:
        sharpness: ``min_s lambda_max`` reached, ``(B,)`` (exact ``lambda_max`` of the rescaled
            Hessians at the returned scales: an upper bound on the optimum).
        log_scales: ``s = log c`` per neuron, ``(B, k)``.
        original_sharpness: ``lambda_max`` at ``s = 0`` (of the PSD part), ``(B,)``.
    """

    sharpness: np.ndarray
    log_scales: np.ndarray
    original_sharpness: np.ndarray


@jax.custom_vjp
def _soft_lam(s, G, n_flat, e_flat, tau):
    return _soft_lam_fwd(s, G, n_flat, e_flat, tau)[0]


def _soft_lam_fwd(s, G, n_flat, e_flat, tau):
    """``F_tau(s) = tau log sum_{m,j} exp(lambda_{mj}(s)/tau)`` and its gradient in closed form.

    ``M_m(s) = G_m^T diag(d(s)) G_m`` (``r x r``) has the non-zero spectrum of the rescaled
    Hessian ``D^{-1} G_m G_m^T D^{-1}`` with ``d_p = exp(-2 e_p s_{i(p)})``. The gradient of the
    spectral soft-max is ``sum_{m,j} w_{mj} (g_{mp}^T v_{mj})^2`` w.r.t. ``d_p`` (``w`` the
    soft-max weights): no eigenvector derivative, so it is exact at repeated eigenvalues.
    """
    k = s.shape[0]
    sp = jnp.where(n_flat >= 0, s[jnp.maximum(n_flat, 0)], 0.0)
    d = jnp.exp(-2.0 * e_flat * sp)
    Ms = jnp.einsum("mpr,p,mpq->mrq", G, d, G)
    lam, V = jnp.linalg.eigh(Ms)
    c = jnp.max(lam)
    z = jnp.exp((lam - c) / tau)
    Z = jnp.sum(z)
    val = c + tau * jnp.log(Z)
    w = z / Z
    proj = jnp.einsum("mpr,mrj->mpj", G, V)
    dFdd = jnp.einsum("mj,mpj->p", w, proj**2)
    contrib = jnp.where(n_flat >= 0, dFdd * (-2.0 * e_flat * d), 0.0)
    grad = jax.ops.segment_sum(contrib, jnp.maximum(n_flat, 0), num_segments=k)
    return val, grad


def _soft_lam_bwd(grad, ct):
    return (ct * grad, None, None, None, None)


_soft_lam.defvjp(lambda s, G, n_flat, e_flat, tau: _soft_lam_fwd(s, G, n_flat, e_flat, tau), _soft_lam_bwd)


def _exact_lam(s, G, n_flat, e_flat):
    sp = jnp.where(n_flat >= 0, s[jnp.maximum(n_flat, 0)], 0.0)
    d = jnp.exp(-2.0 * e_flat * sp)
    return jnp.max(jnp.linalg.eigvalsh(jnp.einsum("mpr,p,mpq->mrq", G, d, G)))


def _psd_factor(Hs, rank: int):
    """``G (M, P, rank)`` with ``G_m G_m^T`` the PSD part of ``H_m`` restricted to its top ``rank`` eigenpairs."""
    w, U = jnp.linalg.eigh(0.5 * (Hs + jnp.swapaxes(Hs, 1, 2)))
    w, U = w[:, -rank:], U[:, :, -rank:]
    return U * jnp.sqrt(jnp.maximum(w, 0.0))[:, None, :]


def _flattest_core(Hs, n_flat, e_flat, taus, iters, max_log_scale, rank, k):
    import optax

    G = _psd_factor(Hs, rank)
    diag = jnp.max(jnp.einsum("mpr,mpr->mp", G, G), axis=0)
    A = jax.ops.segment_sum(jnp.where(e_flat > 0, diag, 0.0), jnp.maximum(n_flat, 0), num_segments=k)
    B = jax.ops.segment_sum(jnp.where(e_flat < 0, diag, 0.0), jnp.maximum(n_flat, 0), num_segments=k)
    ok = (A > 0) & (B > 0)
    s0 = jnp.where(ok, 0.25 * jnp.log(jnp.where(ok, A, 1.0) / jnp.where(ok, B, 1.0)), 0.0)
    s0 = jnp.clip(s0, -0.99 * max_log_scale, 0.99 * max_log_scale)
    lam0 = _exact_lam(jnp.zeros(k), G, n_flat, e_flat)
    scale = jnp.maximum(_exact_lam(s0, G, n_flat, e_flat), 1e-300)

    def to_s(u):
        return max_log_scale * jnp.tanh(u / max_log_scale)

    u0 = max_log_scale * jnp.arctanh(s0 / max_log_scale)
    opt = optax.lbfgs(memory_size=20, linesearch=optax.scale_by_backtracking_linesearch(max_backtracking_steps=30, store_grad=True))

    def stage(carry, rel_tau):
        u, best_u, best_v = carry
        tau = rel_tau * scale

        def fn(u):
            return _soft_lam(to_s(u), G, n_flat, e_flat, tau) / scale

        vg = optax.value_and_grad_from_state(fn)

        def body(c, _):
            u, state, best_u, best_v = c
            v, g = vg(u, state=state)
            upd, state = opt.update(g, state, u, value=v, grad=g, value_fn=fn)
            u_new = optax.apply_updates(u, upd)
            u_new = jnp.where(jnp.all(jnp.isfinite(u_new)), u_new, u)
            # keep the best iterate by the exact lambda_max (a failed line search may step uphill)
            v_new = _exact_lam(to_s(u_new), G, n_flat, e_flat)
            better = v_new < best_v
            return (u_new, state, jnp.where(better, u_new, best_u), jnp.where(better, v_new, best_v)), None

        (_, _, best_u, best_v), _ = jax.lax.scan(body, (best_u, opt.init(best_u), best_u, best_v), None, length=iters)
        return (best_u, best_u, best_v), None

    v0 = _exact_lam(to_s(u0), G, n_flat, e_flat)
    (u, _, _), _ = jax.lax.scan(stage, (u0, u0, v0), taus)
    s = to_s(u)
    lam = _exact_lam(s, G, n_flat, e_flat)
    lam_s0 = _exact_lam(s0, G, n_flat, e_flat)
    best_s = jnp.where(lam <= lam_s0, s, s0)
    best = jnp.minimum(lam, lam_s0)
    best_s = jnp.where(best <= lam0, best_s, jnp.zeros(k))
    return jnp.minimum(best, lam0), best_s, lam0


_flattest_batch_jit = jax.jit(jax.vmap(_flattest_core, in_axes=(0, None, None, None, None, None, None, None)), static_argnums=(4, 5, 6, 7))


@jax.jit
def _loss_hessians_batch(p, X, y):
    return jax.vmap(lambda q: _loss_hessian(q, X, y))(p)


def flattest_sharpness_batch(params_batch=None, X=None, y=None, *, hessians=None, structure=None, rank=None, taus=(1e-2, 1e-4, 1e-6, 1e-8), iters: int = 50, max_log_scale: float = 10.0) -> FlattestBatch:
    r"""The flattest implementation's sharpness for a batch of shallow ReLU nets, in one jitted ``vmap`` (mulayoff2021 Appendix XI, Fig. 3c).

    Same problem as :func:`flattest_implementation`: ``min_s lambda_max(D(s)^{-1} H D(s)^{-1})``
    over per-neuron log-scales ``s`` (``D = e^{s_i}`` on ``w1_i, b1_i``, ``e^{-s_i}`` on ``w2_i``),
    convex in ``s``; with several mode Hessians ``H_m`` the maximum over modes (eqs. (16), (37)).
    Route: factor the PSD part of each ``H_m = G_m G_m^T`` (top ``rank`` eigenpairs; at an
    interpolant ``H = Phi Phi^T / n`` has rank ``<= n``), so ``lambda_max`` is that of the small
    ``r x r`` matrix ``G_m^T D^{-2} G_m``; minimise the spectral soft-max
    ``F_tau(s) = tau log sum_{m,j} exp(lambda_{mj}(s)/tau)`` (``lambda_max <= F_tau <=
    lambda_max + tau log(M r)``, smooth, convex, gradient in closed form without eigenvector
    derivatives) by L-BFGS (optax, zoom line search) for ``tau`` decreasing through ``taus``
    (relative to the starting ``lambda_max``), ``iters`` iterations each, from the per-neuron
    trace balance ``s_i = log(A_i/B_i)/4``; ``s`` is kept in ``[-max_log_scale, max_log_scale]``
    by ``s = m tanh(u/m)``. Pure JAX: every item runs the same fixed number of iterations.

    The returned ``sharpness`` is the exact ``lambda_max`` at the returned scales, so it is never
    below the optimum; the tests compare it with the SDP of :func:`flattest_implementation`
    (agreement ~1e-7 relative). Negative eigenvalues of ``H`` (residual noise near an
    interpolant) are dropped, as in the SDP route.

    Args:
        params_batch: shallow ReLU params with a leading batch axis ``B`` (``w1 (B, k, d)``, ...);
            the Hessians of ``1/(2n) sum (f - y)^2`` are computed (vmapped); or
        X: the inputs ``(n, d)`` (with ``params_batch``).
        y: the targets ``(n,)`` (with ``params_batch``).
        hessians: instead of params: ``(B, P, P)`` or ``(B, M, P, P)`` Hessians (e.g. mode Hessians);
            then ``structure`` (any one params dict of the net, for the neuron layout) is needed.
        structure: a params dict giving the layout when ``hessians`` are passed.
        rank: number of eigenpairs kept (default ``n`` with params, else ``P``).
        taus: relative temperatures of the continuation.
        iters: L-BFGS iterations per temperature.
        max_log_scale: bound on ``|s_i|``.

    Returns:
        :class:`FlattestBatch` (NumPy arrays).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.stability import flattest_sharpness_batch, flattest_implementation
        >>> X, y = np.array([[-1.0], [0.0], [1.0]]), np.array([0.0, 1.0, 0.0])
        >>> p = {"w1": np.array([[1.0], [1.0], [1.0]]), "b1": np.array([2.0, 0.5, -0.5]),
        ...      "w2": np.array([2.0, -2.0, -2.0]), "b2": np.array(-2.0)}
        >>> fb = flattest_sharpness_batch({k: v[None] for k, v in p.items()}, X, y)
        >>> bool(abs(fb.sharpness[0] / flattest_implementation(p, X, y).sharpness - 1) < 1e-6)
        True
    """
    if hessians is None:
        if params_batch is None or X is None or y is None:
            raise ValueError("flattest_sharpness_batch needs params_batch, X and y, or hessians with structure")
        first = {k: np.asarray(v)[0] for k, v in params_batch.items()}
        p0, Xa, ya = _check_relu(first, X, y)
        pb = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params_batch.items()}
        Hs = _loss_hessians_batch(pb, jnp.asarray(Xa), jnp.asarray(ya))[:, None]
        struct = {k: np.asarray(v) for k, v in p0.items()}
        rank = Xa.shape[0] if rank is None else rank
    else:
        if structure is None:
            raise ValueError("pass structure= (one params dict of the net) with hessians=")
        Hs = jnp.asarray(hessians, dtype=jnp.float64)
        if Hs.ndim == 3:
            Hs = Hs[:, None]
        struct = {k: np.asarray(v) for k, v in structure.items()}
        rank = Hs.shape[-1] if rank is None else rank
    n_flat, e_flat = _flat_structure(struct)
    P = n_flat.shape[0]
    if Hs.ndim != 4 or Hs.shape[-2:] != (P, P):
        raise ValueError(f"hessians must be (B, P, P) or (B, M, P, P) with P = {P}; received {tuple(Hs.shape)}")
    rank = int(min(rank, P))
    lam, s, lam0 = _flattest_batch_jit(Hs, jnp.asarray(n_flat, dtype=jnp.int32), jnp.asarray(e_flat), jnp.asarray(taus, dtype=jnp.float64), int(iters), float(max_log_scale), rank, int(struct["b1"].shape[0]))
    return FlattestBatch(np.asarray(lam), np.asarray(s), np.asarray(lam0))
