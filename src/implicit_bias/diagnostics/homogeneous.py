r"""Margins in parameter space, KKT certificates and alignment for homogeneous models.

A model is homogeneous of degree ``D`` (``model.homogeneity``) when
``f(x; cθ) = c^D f(x; θ)`` for every ``c > 0``: ReLU / leaky-ReLU / linear networks without
biases except in the first layer (vardi2022 §3.3), the linear model (``D = 1``), diagonal
networks. With margins ``q_n(θ) = y_n f(x_n; θ)`` (labels ``y_n`` in ``{-1, +1}``, one output)
and ``ρ = ||θ||_2`` over all parameters, gradient flow on an exponentially tailed loss that
reaches a small loss converges in direction to a KKT point of (Lyu & Li 2020, Thm 4.4;
Ji & Telgarsky 2020; vardi2022 §3.3)

.. math:: \min_θ \tfrac12 ||θ||^2 \quad \text{s.t.}\quad q_n(θ) \ge 1 \ (n = 1..N),  \tag{P}

i.e. ``θ = Σ_n λ_n ∇q_n(θ)`` with ``λ_n >= 0`` and ``λ_n (q_n(θ) - 1) = 0``, the smoothed
normalized margin increases and ``θ`` aligns with ``-∇L``. This module measures each of these
on any model with a known degree (a non-homogeneous model is refused with a ``ValueError``):

- :func:`parameter_margin`: ``γ(θ) = min_n q_n(θ) / ρ^D`` (scale-invariant);
- :func:`smoothed_margin`: Lyu & Li's ``γ~(θ) = ℓ^{-1}(N L(θ)) / ρ^D <= γ(θ)``;
- :func:`kkt_certificate`: rescale to ``min_n q_n = 1``, fit ``λ >= 0`` by NNLS, report the
  relative stationarity residual, complementary slackness and the support of ``λ``; for
  two-layer ReLU / leaky-ReLU :class:`~implicit_bias.models.MLP` also the Clarke residual
  (vardi2022 footnote 2), where the activation derivative at near-kinks is free in its
  Clarke interval;
- :func:`alignment`: ``1 - cos(θ, -∇L(θ))`` (plain or Clarke);
- :func:`local_improvement`: a local-optimality test of a (KKT) point of (P): the smallest
  ``||θ'||^2`` a local solver finds among feasible ``θ'`` in a ball around the rescaled
  ``θ~``, every candidate rescaled to ``min_n q_n(θ') = 1`` exactly and verified (a positive
  reduction is a certificate that ``θ~`` is not a local minimum of (P); vardi2022 §3.3: KKT
  points of (P) need not be local optima, Vardi, Shamir & Srebro 2022).

**Why a Clarke variant.** Max-margin ReLU networks put kinks on data points
(``w_i^T x_n + b_i = 0``); gradient descent then zigzags across the kink and the one-sided
derivative it happens to see at the last iterate is a poor witness of stationarity: the plain
residual stalls while the Clarke residual (derivative ``σ'`` chosen in ``[slope, 1]`` for the
pairs ``(i, n)`` with ``|w_i^T x_n + b_i| <= kink_tol (||w_i|| ||x_n|| + |b_i|)``) keeps
falling. Both are reported; the Clarke one is the certificate of the Clarke-KKT conditions
under which Lyu & Li's theorem is stated for non-smooth networks.
"""

from __future__ import annotations

import dataclasses
import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy.optimize import minimize, nnls

from ..losses import AbstractLoss, get_loss
from ..models import MLP, AbstractModel
from ..theory._solvers import solve_cvxpy

__all__ = [
    "homogeneity_degree",
    "homogeneous_summary",
    "parameter_margin",
    "smoothed_margin",
    "KKTCertificate",
    "kkt_certificate",
    "alignment",
    "loss_weights",
    "LocalImprovement",
    "local_improvement",
]

#: relative pre-activation ``|z| / (||w|| ||x|| + |b|)`` below which a ReLU unit counts as at
#: its kink for the Clarke variants.
KINK_TOL = 1e-3


def homogeneity_degree(model: AbstractModel) -> int:
    """The degree ``D`` of ``model`` (``model.homogeneity``).

    Raises:
        ValueError: the model is not homogeneous (e.g. ``MLP(bias="all")``): margins in
            parameter space and the KKT conditions of (P) do not apply to it.
    """
    D = model.homogeneity
    if D is None:
        why = " (biases after the first layer break homogeneity; use bias='first' or 'none')" if isinstance(model, MLP) else ""
        raise ValueError(f"{type(model).__name__} is not homogeneous in its parameters{why}: the normalized margin, smoothed margin and KKT certificate of min ||θ||^2 s.t. y f(x; θ) >= 1 need f(x; cθ) = c^D f(x; θ)")
    return int(D)


@eqx.filter_jit
def _apply(model, params, X):
    return model.apply(params, X)


@eqx.filter_jit
def _flat_jacobian(model, params, X, y):
    """``(flat θ (P,), margins q (N,), J (N, P))`` in one compiled call."""
    flat, unravel = ravel_pytree(params)
    q = lambda t: y * model.apply(unravel(t), X)  # noqa: E731
    return flat, q(flat), jax.jacrev(q)(flat)


@eqx.filter_jit
def _log_loss_and_flat_grad(model, loss, params, X, y):
    flat, unravel = ravel_pytree(params)
    lv, g = jax.value_and_grad(lambda t: loss.log_loss(model.apply(unravel(t), X), y))(flat)
    return flat, lv, g


@eqx.filter_jit
def _weights_of_margins(loss, q, y):
    return jax.grad(lambda qq: -loss.log_loss(y * qq, y))(q)


def _margins(model, params, X, y):
    X = jnp.asarray(X, dtype=jnp.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have shape (N,) = ({X.shape[0]},); received {y.shape}")
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("y must hold binary labels -1/+1 (margins y_n f(x_n) of a one-output model)")
    f = _apply(model, params, X)
    if f.ndim != 1:
        raise ValueError(f"the model must have one output (f(X) of shape (N,)); received outputs of shape {f.shape}")
    return X, jnp.asarray(y), np.asarray(y * f)


def _norm(params) -> float:
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(v, dtype=np.float64)))) for v in jax.tree_util.tree_leaves(params))))


def parameter_margin(model: AbstractModel, params: dict, X, y) -> float:
    r"""Normalized margin in parameter space ``γ(θ) = min_n y_n f(x_n; θ) / ||θ||^D``.

    Scale-invariant for a model homogeneous of degree ``D``; along gradient flow on an
    exponentially tailed loss it converges to the value of (P) at a KKT point (Lyu & Li 2020,
    Thm 4.4). For the linear model (``D = 1``) it is the l2 normalized margin.

    Args:
        model: a homogeneous model with one output; params: its parameters;
        X: inputs ``(N, d)``; y: labels in ``{-1, +1}``, ``(N,)``.

    Raises:
        ValueError: a non-homogeneous model, bad labels, ``θ = 0``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Linear
        >>> parameter_margin(Linear(2), {"w": np.array([3.0, 4.0])}, np.array([[1.0, 0.0]]), np.array([1.0]))
        0.6
    """
    D = homogeneity_degree(model)
    _, _, q = _margins(model, params, X, y)
    rho = _norm(params)
    if rho == 0.0:
        raise ValueError("the parameters are all zero: the normalized margin is undefined")
    return float(np.min(q) / rho**D)


def _inverse_loss_of_log(loss: AbstractLoss, s: float) -> float:
    """``ℓ^{-1}(e^s)`` for the per-sample loss ``ℓ`` of ``loss`` (exponential or logistic)."""
    if loss.name == "exponential":  # ℓ(u) = e^{-u}
        return -s
    if loss.name == "logistic":  # ℓ(u) = log(1 + e^{-u})  =>  ℓ^{-1}(v) = -log(e^v - 1)
        if s < -30.0:  # e^v - 1 = v (1 + v/2 + ...), v = e^s: -log(...) = -s - log1p(v/2 + v^2/6)
            v = np.exp(s)
            return float(-s - np.log1p(v / 2 + v * v / 6))
        v = np.exp(s)
        if v > 30.0:  # -log(e^v - 1) = -v - log1p(-e^{-v}), no overflow
            return float(-v - np.log1p(-np.exp(-v)))
        return float(-np.log(np.expm1(v)))
    raise ValueError(f"the smoothed margin is defined here for the exponential and logistic losses; received {loss.name!r}")


def smoothed_margin(model: AbstractModel, params: dict, X, y, loss="logistic") -> float:
    r"""Lyu & Li's smoothed normalized margin ``γ~(θ) = ℓ^{-1}(N L(θ)) / ||θ||^D``.

    Lyu & Li 2020 (§4.1, eq. (4); the sum loss ``L_sum = Σ_n ℓ(q_n) = N L`` in this library's
    mean convention) write ``ℓ(q) = e^{-f(q)}`` and ``γ~ = g(log(1/L_sum)) / ρ^D`` with
    ``g = f^{-1}``:

    - exponential ``ℓ(q) = e^{-q}``: ``γ~ = (-log L - log N) / ρ^D``;
    - logistic ``ℓ(q) = log(1 + e^{-q})``: ``γ~ = -log(exp(N L) - 1) / ρ^D``.

    Since ``L_sum >= ℓ(min_n q_n)`` and ``ℓ`` decreases, ``γ~ <= γ`` (:func:`parameter_margin`),
    with ``γ - γ~ = O(log N / ρ^D)``. Lyu & Li 2020 Thm 4.1: once ``L_sum`` is below a
    threshold (all points classified correctly, ``L_sum < ℓ(0)``, for the exponential loss;
    a slightly smaller one for the logistic loss) ``γ~`` is non-decreasing along gradient flow.
    Computed from ``log L`` (log domain): exact at ``-log L`` in the thousands.

    Args:
        model: as :func:`parameter_margin`.
        params: as :func:`parameter_margin`.
        X: as :func:`parameter_margin`.
        y: as :func:`parameter_margin`.
        loss: ``"logistic"`` or ``"exponential"`` (or an instance).

    Raises:
        ValueError: a non-homogeneous model, another loss, bad labels, ``θ = 0``.
    """
    D = homogeneity_degree(model)
    loss = get_loss(loss)
    X, yj, _ = _margins(model, params, X, y)
    log_L = float(_log_loss_and_flat_grad(model, loss, params, X, yj)[1])
    rho = _norm(params)
    if rho == 0.0:
        raise ValueError("the parameters are all zero: the smoothed margin is undefined")
    return _inverse_loss_of_log(loss, log_L + np.log(X.shape[0])) / rho**D


@dataclasses.dataclass(frozen=True)
class KKTCertificate:
    """How far a direction is from a KKT point of (P) (see :func:`kkt_certificate`).

    Attributes:
        residual: ``||θ~ - Σ_n λ_n ∇q_n(θ~)|| / ||θ~||`` at the NNLS ``λ >= 0`` (plain gradients),
            with ``θ~`` the rescaling of ``θ`` to ``min_n q_n = 1``.
        clarke_residual: the same with the activation derivative free in its Clarke interval at
            near-kinks (two-layer (leaky-)ReLU MLPs), ``<= residual``; ``None`` where not
            implemented (other models).
        complementary_slackness: ``D Σ_n λ_n (q_n(θ~) - 1) / ||θ~||^2`` (0 iff ``λ`` lives on
            the minimum-margin points; relative: ``D Σ λ_n q_n = ||θ~||^2`` at a KKT point), for
            the plain fit.
        lam: ``λ (N,)`` of the plain fit (for ``θ~``); clarke_lam: that of the Clarke fit.
        support: indices ``n`` with ``λ_n > support_tol * max λ`` (plain fit).
        margins: ``q_n(θ~) (N,)``, the rescaled margins (minimum 1).
        n_kinks: number of (unit, sample) pairs treated as at the kink.
        clarke_complementary_slackness, clarke_support: the slackness and support of the Clarke
            fit (``None`` where there is no Clarke fit). Where the plain fit is poor (kinks on
            data points) its ``λ`` may sit on points far above the minimum margin; the Clarke
            ``λ`` is the multiplier to read.
    """

    residual: float
    clarke_residual: float | None
    complementary_slackness: float
    lam: np.ndarray
    clarke_lam: np.ndarray | None
    support: np.ndarray
    margins: np.ndarray
    n_kinks: int
    clarke_complementary_slackness: float | None = None
    clarke_support: np.ndarray | None = None


def _jacobian(model, params, X, y):
    """``J (N, P)``: rows ``∇_θ q_n(θ)``, the flat order of ``ravel_pytree(params)``."""
    flat, _, J = _flat_jacobian(model, params, X, y)
    return np.asarray(flat), np.asarray(J)


def _two_layer_clarke_parts(model: MLP, params, X, y, kink_tol):
    """For a two-layer MLP: ``J0 (N, P)`` with ``σ' = slope`` at near-kinks, and one column
    ``c_k (P,)`` per near-kink pair ``k = (i, n)`` with ``(1 - slope)`` times the extra
    gradient of ``q_n`` when ``σ'_{in} = 1``, so that ``∇q_n = J0[n] + Σ_{k: n} s_k c_k``,
    ``s_k ∈ [0, 1]``."""
    W1, a = np.asarray(params["W1"]), np.asarray(params["W2"])[0]
    b = np.asarray(params["b1"]) if "b1" in params else np.zeros(W1.shape[0])
    Xn, yn = np.asarray(X), np.asarray(y)
    Z = Xn @ W1.T + b  # (N, m)
    scale = np.linalg.norm(W1, axis=1)[None, :] * np.linalg.norm(Xn, axis=1)[:, None] + np.abs(b)[None, :]
    slope = float(model.slope) if model.activation == "leaky_relu" else 0.0
    kink = (np.abs(Z) <= kink_tol * scale) if model.activation != "linear" else np.zeros_like(Z, dtype=bool)
    if model.activation == "linear":
        dsig, sig = np.ones_like(Z), Z
    else:
        dsig = np.where(Z > 0, 1.0, slope)
        sig = np.where(Z > 0, Z, slope * Z)
    dsig = np.where(kink, slope, dsig)

    def flat_grad(gW1, ga, gb):  # ravel_pytree's order (the flattened leaves), in numpy: no per-call jax dispatch
        g = {"W1": gW1, "W2": ga[None, :]}
        if "b1" in params:
            g["b1"] = gb
        return np.concatenate([np.ravel(v) for v in jax.tree_util.tree_leaves(g)])

    J0 = np.stack([flat_grad(yn[n] * (a * dsig[n])[:, None] * Xn[n][None, :], yn[n] * sig[n], yn[n] * a * dsig[n]) for n in range(len(yn))])
    cols, owner = [], []
    for n, i in zip(*np.nonzero(kink)):
        gW1 = np.zeros_like(W1)
        gW1[i] = (1.0 - slope) * yn[n] * a[i] * Xn[n]
        gb = np.zeros_like(b)
        gb[i] = (1.0 - slope) * yn[n] * a[i]
        cols.append(flat_grad(gW1, np.zeros_like(a), gb))
        owner.append(n)
    C = np.stack(cols, axis=1) if cols else np.zeros((J0.shape[1], 0))
    return J0, C, np.asarray(owner, dtype=int)


def _clarke_solvers():
    """The cvxpy solvers of the Clarke fits, in order: Clarabel at tight tolerances, then SCS."""
    import cvxpy as cp

    return [(cp.CLARABEL, {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12}), (cp.SCS, {"eps": 1e-10})]


def _clarke_fit(J0, C, owner, target, pen):
    """``min ||J0^T λ + C μ - target||^2 + ||pen ⊙ λ||^2`` s.t. ``λ >= 0``, ``0 <= μ_k <= λ_{owner_k}``
    (cvxpy, Clarabel on the second-order-cone form, so the residual itself is solved to the
    solver's tolerance, not its square).

    The cone is built on the QR-reduced system, the same objective exactly: with
    ``A = [[J0^T, C], [diag(pen), 0]]`` (``P + N`` rows, ``N + K`` columns) ``= Q R`` and
    ``b = (target, 0)``, ``||A z - b||^2 = ||R z - Q^T b||^2 + ||b - Q Q^T b||^2``, so the cone
    has ``min(P + N, N + K) + 1`` entries instead of ``P + N`` (two-layer width-100 net on 200
    digits, ``P = 6600``, ``K = 170`` near-kinks: Clarabel 6.4 s -> 0.7 s, same ``λ`` to 5e-11
    relative). The QR runs on one BLAS thread: OpenBLAS threads on a busy 2-core machine took
    15-28 s for it instead of 0.7 s (measured)."""
    import cvxpy as cp
    from threadpoolctl import threadpool_limits

    N, K = J0.shape[0], C.shape[1]
    A = np.vstack([np.hstack([J0.T, C]), np.hstack([np.diag(pen), np.zeros((N, K))])])
    b = np.concatenate([target, np.zeros(N)])
    with threadpool_limits(limits=1, user_api="blas"):
        Q, R = np.linalg.qr(A)
        qb = Q.T @ b
        rest = float(np.linalg.norm(b - Q @ qb))
    lam = cp.Variable(N, nonneg=True)
    mu = cp.Variable(K, nonneg=True)
    cons = [mu <= lam[owner]] if K else []
    resid = cp.hstack([R @ cp.hstack([lam, mu]) - qb, np.array([rest])])
    prob = cp.Problem(cp.Minimize(cp.norm(resid)), cons)
    # An "inaccurate" solver status is harmless here: the residual is recomputed from the
    # returned (clipped, feasible) λ and μ, so it is an exact upper bound whatever the solver did.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        solve_cvxpy(prob, _clarke_solvers())
    lv = np.maximum(np.asarray(lam.value), 0.0)
    mv = np.clip(np.asarray(mu.value), 0.0, lv[owner]) if C.shape[1] else np.zeros(0)
    return lv, J0.T @ lv + C @ mv


def _clarke_supported(model) -> bool:
    return isinstance(model, MLP) and model.depth == 2 and model.outputs == 1 and model.homogeneity is not None


def kkt_certificate(model: AbstractModel, params: dict, X, y, *, kink_tol: float = KINK_TOL, support_tol: float = 1e-3) -> KKTCertificate:
    r"""KKT certificate of the direction of ``θ`` for (P) ``min ||θ||^2/2 s.t. y_n f(x_n; θ) >= 1``.

    Route (scale-invariant, Lyu & Li 2020 Def. of (approximate) KKT points; vardi2022 §3.3):

    1. rescale ``θ~ = θ / (min_n q_n(θ))^{1/D}`` so that ``min_n q_n(θ~) = 1`` (``D`` the
       degree);
    2. ``λ = argmin_{λ >= 0} ||θ~ - J^T λ||^2 / ||θ~||^2 + Σ_n (D λ_n (q_n - 1) / ||θ~||^2)^2``
       with ``J (N, P)`` the rows ``∇_θ q_n(θ~)`` (``scipy.optimize.nnls`` on the stacked
       system: stationarity and complementary slackness fitted together, since ``θ~ = J^T λ``
       alone has many solutions when ``N`` exceeds the rank);
    3. report ``residual = ||θ~ - J^T λ|| / ||θ~||``, complementary slackness
       ``D Σ λ_n (q_n - 1) / ||θ~||^2`` and the support of ``λ``.

    At an exact KKT point the residual and the slackness are 0; by homogeneity (Euler)
    ``||θ~||^2 = D Σ_n λ_n q_n(θ~)``. For two-layer ReLU / leaky-ReLU
    :class:`~implicit_bias.models.MLP` (one output) the Clarke residual lets
    ``σ'(w_i^T x_n + b_i)`` range over ``[slope, 1]`` for the pairs with
    ``|w_i^T x_n + b_i| <= kink_tol (||w_i|| ||x_n|| + |b_i|)``: with ``μ_{in} = λ_n s_{in}``
    the fit ``min ||θ~ - Σ λ_n ∇q_n(s)||`` over ``λ >= 0``, ``0 <= μ_{in} <= λ_n`` is a convex
    QP (cvxpy, Clarabel). It is never larger than the plain residual.

    Args:
        model: a homogeneous model with one output (``model.homogeneity`` not ``None``).
        params: its parameters; X: ``(N, d)``; y: labels in ``{-1, +1}``, ``(N,)``.
        kink_tol: relative pre-activation below which a unit is at its kink (Clarke variant).
        support_tol: ``λ_n > support_tol * max λ`` counts as support.

    Returns:
        A :class:`KKTCertificate`.

    Raises:
        ValueError: a non-homogeneous model (the KKT conditions of (P) need homogeneity), bad
            labels, or a ``θ`` that does not separate the data (``min_n q_n <= 0``: no rescaling
            makes it feasible).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Linear
        >>> X = np.array([[1.0, 1.0], [1.0, -1.0], [3.0, 0.0]]); y = np.array([1.0, 1.0, 1.0])
        >>> c = kkt_certificate(Linear(2), {"w": np.array([2.0, 0.0])}, X, y)   # the SVM direction
        >>> round(c.residual, 12), c.support.tolist(), np.round(c.lam, 12).tolist()
        (0.0, [0, 1], [0.5, 0.5, 0.0])
    """
    D = homogeneity_degree(model)
    X, yj, q = _margins(model, params, X, y)
    qmin = float(np.min(q))
    if not qmin > 0:
        raise ValueError(f"the parameters do not separate the data (min_n y_n f(x_n) = {qmin:.3g} <= 0): no rescaling is feasible for min ||θ||^2 s.t. y f >= 1; train further or check the labels")
    c = qmin ** (-1.0 / D)
    pt = jax.tree_util.tree_map(lambda v: c * jnp.asarray(v), params)
    flat, J = _jacobian(model, pt, X, yj)
    qt = q / qmin
    nrm = float(np.linalg.norm(flat))
    # Fit λ to stationarity and complementary slackness together (both relative): the rows
    # J^T λ / ||θ~|| ≈ θ~ / ||θ~|| and D λ_n (q_n - 1) / ||θ~||^2 ≈ 0 (a representation
    # θ~ = J^T λ alone is not unique when N > P - 1, e.g. the linear model, and NNLS may put λ
    # on non-support points).
    pen = D * (qt - 1.0) / nrm
    A = np.vstack([J.T, np.diag(pen)]) / nrm
    b = np.concatenate([flat, np.zeros_like(qt)]) / nrm
    lam, _ = nnls(A, b, maxiter=50 * A.shape[1])
    res = float(np.linalg.norm(flat - J.T @ lam)) / nrm
    slack = float(D * lam @ (qt - 1.0)) / nrm**2
    support = np.flatnonzero(lam > support_tol * lam.max()) if lam.max() > 0 else np.zeros(0, dtype=int)
    clarke_res, clarke_lam, n_kinks, clarke_slack, clarke_support = None, None, 0, None, None
    if _clarke_supported(model):
        J0, C, owner = _two_layer_clarke_parts(model, pt, X, yj, kink_tol)
        n_kinks = C.shape[1]
        if n_kinks == 0:  # no unit at a kink: the Clarke fit is the plain one (same stacked system)
            clarke_lam, clarke_res = lam, res
        else:
            clarke_lam, fit = _clarke_fit(J0 / nrm, C / nrm, owner, flat / nrm, pen / nrm)
            clarke_res = min(float(np.linalg.norm(flat - fit * nrm)) / nrm, res)
        clarke_slack = float(D * clarke_lam @ (qt - 1.0)) / nrm**2
        clarke_support = np.flatnonzero(clarke_lam > support_tol * clarke_lam.max()) if clarke_lam.max() > 0 else np.zeros(0, dtype=int)
    return KKTCertificate(res, clarke_res, slack, lam, clarke_lam, support, qt, n_kinks, clarke_slack, clarke_support)


def _loss_weights(model, params, X, y, loss):
    """``w_n = -∂ log L / ∂q_n >= 0`` (``-∇ log L = Σ_n w_n ∇q_n``), from the log-domain loss."""
    return np.asarray(_weights_of_margins(loss, y * _apply(model, params, X), y))


def loss_weights(model: AbstractModel, params: dict, X, y, loss="logistic") -> np.ndarray:
    r"""The loss weights ``w_n = -∂ log L / ∂q_n >= 0`` normalized to ``max_n w_n = 1``, ``(N,)``.

    ``-∇L / L = Σ_n w_n ∇q_n(θ)``; along gradient flow on an exponentially tailed loss the
    normalized weights converge to the (normalized) KKT multipliers ``λ`` of (P) (Lyu & Li 2020,
    proof of Thm 4.4): an independent route to the ``λ`` of :func:`kkt_certificate`.
    Computed in log domain (exact when ``L`` underflows).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Linear
        >>> X = np.array([[1.0, 0.0], [3.0, 0.0]]); y = np.array([1.0, 1.0])
        >>> w = loss_weights(Linear(2), {"w": np.array([100.0, 0.0])}, X, y, "exponential")
        >>> np.round(w, 12).tolist()
        [1.0, 0.0]
    """
    loss = get_loss(loss)
    X, yj, _ = _margins(model, params, X, y)
    w = _loss_weights(model, params, X, yj, loss)
    return w / np.max(w)


def alignment(model: AbstractModel, params: dict, X, y, loss="logistic", *, clarke: bool = False, kink_tol: float = KINK_TOL) -> float:
    r"""Alignment ``1 - cos(θ, -∇L(θ))`` (Ji & Telgarsky 2020: it tends to 0 along gradient flow
    for homogeneous networks on an exponentially tailed loss).

    ``-∇L / L = -∇ log L = Σ_n w_n ∇q_n`` with ``w_n = -∂ log L / ∂q_n >= 0`` from the
    log-domain loss (exact when ``L`` underflows). With ``clarke=True`` (two-layer (leaky-)ReLU
    MLPs) the activation derivative at near-kinks (as in :func:`kkt_certificate`) is chosen in
    its Clarke interval to best align: ``min_{c >= 0, 0 <= μ_k <= c w_{n_k}} ||θ/||θ|| - c J0^T w
    - C μ||`` (a convex QP), and the returned value is ``1 - cos(θ, v*)`` at its optimum ``v*``
    (never larger than the plain value).

    Args:
        model: any model (homogeneity is not needed for the plain value); params; X ``(N, d)``;
            y labels in ``{-1, +1}``; loss: a classification loss or its name.
        clarke: use the Clarke choice at near-kinks (two-layer MLPs only).
        kink_tol: as in :func:`kkt_certificate`.

    Raises:
        ValueError: ``clarke=True`` for a model other than a two-layer homogeneous MLP, bad labels.
    """
    loss = get_loss(loss)
    X, yj, _ = _margins(model, params, X, y)
    flat, _, g = _log_loss_and_flat_grad(model, loss, params, X, yj)
    g = np.asarray(g)
    th = np.asarray(flat)

    def one_minus_cos(v):
        return float(1.0 - (-v @ th) / (np.linalg.norm(v) * np.linalg.norm(th)))

    plain = one_minus_cos(g)
    if not clarke:
        return plain
    if not _clarke_supported(model):
        raise ValueError(f"alignment(clarke=True) is implemented for two-layer homogeneous MLPs with one output; received {type(model).__name__}")
    w = _loss_weights(model, params, X, yj, loss)
    J0, C, owner = _two_layer_clarke_parts(model, params, X, yj, kink_tol)
    # v = J0^T (c w) + C μ with 0 <= μ_k <= c w_{n_k}: the fit of _clarke_fit with λ = c w
    # and per-point caps; solve with λ restricted to the ray {c w}.
    import cvxpy as cp

    cvar = cp.Variable(nonneg=True)
    mu = cp.Variable(C.shape[1], nonneg=True)
    cons = [mu <= cvar * w[owner]] if C.shape[1] else []
    target = th / np.linalg.norm(th)
    prob = cp.Problem(cp.Minimize(cp.norm(cvar * (J0.T @ w) + C @ mu - target)), cons)
    with warnings.catch_warnings():  # the value is recomputed from the returned vector below
        warnings.filterwarnings("ignore", message="Solution may be inaccurate")
        solve_cvxpy(prob, _clarke_solvers())
    cv = max(float(cvar.value), 0.0)
    v = cv * (J0.T @ w) + (C @ np.clip(np.asarray(mu.value), 0.0, cv * w[owner]) if C.shape[1] else 0.0)
    if np.linalg.norm(v) == 0.0:
        return plain
    return min(plain, one_minus_cos(-v))


def homogeneous_summary(model: AbstractModel, params: dict, X, y, loss="logistic") -> dict:
    r"""The margin, KKT and alignment diagnostics of a trained homogeneous model, as one dict
    (the ``diagnostics`` of ``ibias fit --kkt --json``).

    Keys: ``homogeneity_degree`` (``D``); ``normalized_margin`` (:func:`parameter_margin`);
    ``smoothed_margin`` (:func:`smoothed_margin`; ``None`` for a loss other than logistic or
    exponential); ``kkt_residual`` (the Clarke residual of :func:`kkt_certificate` where it is
    implemented, two-layer (leaky-)ReLU MLPs, else the plain one), ``kkt_residual_plain``,
    ``kkt_complementary_slackness`` and ``kkt_support`` (indices of the multipliers' support,
    of the same fit as ``kkt_residual``); ``alignment`` (:func:`alignment`, Clarke where
    implemented). The KKT entries are ``None`` when ``θ`` does not separate the data
    (``min_n y_n f(x_n) <= 0``: training has not reached the separable regime).

    Args:
        model: a homogeneous model with one output; params: its parameters;
        X: ``(N, d)``; y: labels in ``{-1, +1}``, ``(N,)``; loss: the training loss (name or instance).

    Raises:
        ValueError: a non-homogeneous model (says why), labels not in ``{-1, +1}``, more than one
            output, ``θ = 0``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Linear
        >>> X = np.array([[1.0, 1.0], [1.0, -1.0], [3.0, 0.0]]); y = np.array([1.0, 1.0, 1.0])
        >>> s = homogeneous_summary(Linear(2), {"w": np.array([2.0, 0.0])}, X, y)
        >>> s["normalized_margin"], round(s["kkt_residual"], 12), s["kkt_support"]
        (1.0, 0.0, [0, 1])
    """
    D = homogeneity_degree(model)
    loss = get_loss(loss)
    out = {"homogeneity_degree": D, "normalized_margin": parameter_margin(model, params, X, y)}
    out["smoothed_margin"] = smoothed_margin(model, params, X, y, loss) if loss.name in ("logistic", "exponential") else None
    clarke = _clarke_supported(model)
    out["kkt_residual"] = out["kkt_residual_plain"] = out["kkt_complementary_slackness"] = out["kkt_support"] = None
    if out["normalized_margin"] > 0:
        c = kkt_certificate(model, params, X, y)
        use_clarke = c.clarke_residual is not None
        out["kkt_residual"] = c.clarke_residual if use_clarke else c.residual
        out["kkt_residual_plain"] = c.residual
        out["kkt_complementary_slackness"] = c.clarke_complementary_slackness if use_clarke else c.complementary_slackness
        out["kkt_support"] = [int(i) for i in (c.clarke_support if use_clarke else c.support)]
    out["alignment"] = alignment(model, params, X, y, loss, clarke=clarke)
    return out


@dataclasses.dataclass(frozen=True)
class LocalImprovement:
    """Result of :func:`local_improvement` (values are ``||θ||^2`` of points with minimum margin 1).

    Attributes:
        value: ``||θ~||^2``, the start rescaled to ``min_n q_n(θ~) = 1``.
        best_value: the smallest ``||θ'||^2`` over the candidates (``value`` if none is lower),
            each candidate rescaled to ``min_n q_n(θ') = 1`` and kept only inside the ball.
        reduction: ``(value - best_value) / value >= 0``.
        min_margin: ``min_n q_n(θ')`` of the best candidate as evaluated by the model (1 up to
            round-off: the rescaling makes it exact); ``margins`` ``(N,)`` all of them.
        distance: ``||θ' - θ~|| / ||θ~||`` of the best candidate (``<= radius``).
        radius: the ball's relative radius.
        params: ``θ'`` by name (the certificate: evaluate it to check the claim).
        start_values: ``||θ'||^2`` found from each start, ``(starts,)`` (``nan`` for a candidate
            that left the ball or does not separate the data).
    """

    value: float
    best_value: float
    reduction: float
    min_margin: float
    margins: np.ndarray
    distance: float
    radius: float
    params: dict
    start_values: np.ndarray


def _rescaled_to_unit_margin(t, q, D):
    """``t`` with margins ``q`` rescaled to ``min_n q_n = 1`` (``None`` if ``min q <= 0``), and its margins."""
    if not np.min(q) > 0:
        return None, q
    c = float(np.min(q)) ** (-1.0 / D)
    return c * np.asarray(t), q * c**D


def local_improvement(model: AbstractModel, params: dict, X, y, *, radii=(0.01,), starts: int = 8, seed: int = 0, maxiter: int = 500) -> tuple:
    r"""Search balls around the direction of ``θ`` for feasible points of (P) with a smaller norm.

    (P) is ``min ||θ||^2 s.t. q_n(θ) = y_n f(x_n; θ) >= 1``. Route (a local-optimality test,
    independent of training), for each relative radius ``r`` in ``radii``:

    1. rescale ``θ~ = θ / (min_n q_n(θ))^{1/D}`` (``D`` the degree), so ``min_n q_n(θ~) = 1``;
    2. from ``starts`` points, ``θ~`` itself and ``θ~ + (r/2) ||θ~|| u_k`` with ``u_k``
       uniform on the unit sphere (``numpy.random.default_rng(seed)``), run
       ``scipy.optimize.minimize(method="SLSQP")`` on ``min ||θ||^2`` subject to
       ``q_n(θ) >= 1`` and ``||θ - θ~|| <= r ||θ~||`` (gradients and Jacobians by JAX, one
       compiled function shared by all radii);
    3. rescale every end point ``θ'`` to ``min_n q_n(θ') = 1`` exactly (homogeneity: this keeps
       it feasible whatever the solver's constraint tolerance; the solver's ball is ``1e-6``
       relative inside the reported one to leave room for that factor), discard it if it is
       outside the ball or does not separate the data, and keep the smallest ``||θ'||^2``.

    **How to read it.** A positive ``reduction`` is a certificate: ``params`` is an explicit
    point within ``r ||θ~||`` of ``θ~`` with every margin ``>= 1`` (re-evaluate it) and a
    smaller norm, so the direction of ``θ`` is not a local minimum of (P) *at that radius*; a
    reduction that stays positive as ``r -> 0`` (falling like ``r^2`` for a second-order
    descent direction) shows it is not a local minimum at all. A reduction of 0 is only
    evidence: SLSQP is a local method, random starts may miss a narrow descent cone, and ReLU
    networks are not differentiable at kinks. The search also removes any part of ``θ~`` that is
    wasted norm (e.g. a dead ReLU unit's frozen weights) or moves ``θ~`` to a nearby KKT point;
    compare ``reduction`` with the distance of ``θ~`` from an exact KKT point
    (:func:`kkt_certificate`), or compare ``best_value`` with the value of a known optimum.

    Args:
        model: a homogeneous model with one output; params: its parameters (``θ``, any scale);
        X: ``(N, d)``; y: labels in ``{-1, +1}``, ``(N,)``.
        radii: relative radii ``r > 0`` of the balls (a sequence; one result per radius).
        starts: number of starts per radius (``>= 1``; the first is ``θ~``).
        seed: seed of the random starts (the same starts' directions for every radius).
        maxiter: SLSQP iterations per start.

    Returns:
        A tuple of :class:`LocalImprovement`, one per radius, in the order of ``radii``.

    Raises:
        ValueError: a non-homogeneous model, bad labels, a ``θ`` that does not separate the data,
            a radius that is not a finite number ``> 0``, or ``starts < 1``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Linear
        >>> X = np.array([[1.0, 1.0], [1.0, -1.0]]); y = np.array([1.0, 1.0])
        >>> (r,) = local_improvement(Linear(2), {"w": np.array([1.0, 0.0])}, X, y, starts=3)
        >>> round(r.value, 12), round(r.reduction, 9)    # the SVM (convex (P)): no reduction
        (1.0, 0.0)
    """
    D = homogeneity_degree(model)
    radii = tuple(np.atleast_1d(np.asarray(radii, dtype=float)).tolist())
    if not radii or not all(np.isfinite(r) and r > 0 for r in radii):
        raise ValueError(f"radii must be finite numbers > 0 (relative to ||θ~||); received {radii!r}")
    if int(starts) != starts or starts < 1:
        raise ValueError(f"starts must be an integer >= 1; received {starts!r}")
    X, yj, q = _margins(model, params, X, y)
    if not np.min(q) > 0:
        raise ValueError(f"the parameters do not separate the data (min_n y_n f(x_n) = {float(np.min(q)):.3g} <= 0): (P) has no rescaled feasible point; train further")
    flat, unravel = ravel_pytree(jax.tree_util.tree_map(jnp.asarray, params))

    def margins(t):
        return yj * model.apply(unravel(t), X)

    q_and_jac_jit = jax.jit(lambda t: (margins(t), jax.jacrev(margins)(t)))  # ~40 us a call once compiled
    cache = {}

    def q_and_jac(t):  # one compiled call per point (SLSQP asks for the values and the Jacobian)
        key = t.tobytes()
        if key not in cache:
            cache.clear()
            qq, J = q_and_jac_jit(t)
            cache[key] = (np.asarray(qq), np.asarray(J))
        return cache[key]

    t0, _ = _rescaled_to_unit_margin(np.asarray(flat), q, D)
    value = float(t0 @ t0)
    rng = np.random.default_rng(seed)
    dirs = rng.normal(size=(int(starts), t0.size))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    out = []
    for radius in radii:
        R = radius * np.sqrt(value)
        cons = [
            {"type": "ineq", "fun": lambda t: q_and_jac(t)[0] - 1.0, "jac": lambda t: q_and_jac(t)[1]},
            # the solver's ball is 1e-6 (relative) inside the reported one, so that the exact
            # rescaling of step 3 (a factor 1 + O(solver tolerance)) does not push a candidate out
            {"type": "ineq", "fun": lambda t, R=R: np.array([(R * (1.0 - 1e-6)) ** 2 - (t - t0) @ (t - t0)]), "jac": lambda t: -2.0 * (t - t0)[None, :]},
        ]
        best, best_q, found = t0, q / np.min(q), np.full(int(starts), np.nan)
        for k in range(int(starts)):
            start = t0 if k == 0 else t0 + 0.5 * R * dirs[k]
            res = minimize(lambda t: float(t @ t), start, jac=lambda t: 2.0 * t, constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": int(maxiter)})
            t, qt = _rescaled_to_unit_margin(res.x, q_and_jac(res.x)[0], D)
            if t is None or np.linalg.norm(t - t0) > R:
                continue
            found[k] = float(t @ t)
            if found[k] < float(best @ best):
                best, best_q = t, qt
        best_value = float(best @ best)
        out.append(
            LocalImprovement(
                value=value,
                best_value=best_value,
                reduction=(value - best_value) / value,
                min_margin=float(np.min(best_q)),
                margins=np.asarray(best_q),
                distance=float(np.linalg.norm(best - t0)) / np.sqrt(value),
                radius=float(radius),
                params={k: np.asarray(v) for k, v in unravel(jnp.asarray(best)).items()},
                start_values=found,
            )
        )
    return tuple(out)
