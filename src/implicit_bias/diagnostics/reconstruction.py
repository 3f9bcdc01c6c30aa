r"""Reconstructing training data from a trained network's parameters (Haim et al. 2022).

Haim, Vardi, Yehudai, Shamir & Irani, *Reconstructing training data from trained neural
networks* (NeurIPS 2022; cited as [26] in vardi2022 §7). A homogeneous network trained by
gradient flow on an exponentially tailed loss to a small loss is, in direction, a KKT point of
``min ||θ||^2/2 s.t. y_n f(θ; x_n) >= 1`` (Lyu & Li 2020; Ji & Telgarsky 2020), so

.. math:: θ = \sum_{n} λ_n y_n ∇_θ f(θ; x_n), \qquad λ_n \ge 0,

with ``λ_n > 0`` only on margin points. The attack treats the ``x_n`` as unknowns: it
optimizes ``K`` candidate inputs ``x_1..x_K`` (labels ``y_i`` fixed, half of each class by
default) and multipliers ``λ_i`` to minimize

.. math::
    \Big\| \hat θ - \sum_{i=1}^K λ_i y_i ∇_θ f_β(\hat θ; x_i) \Big\|^2
    + α_{box} \sum_{i,k} \big([x_{ik} - hi]_+ + [lo - x_{ik}]_+\big)
    + α_λ \sum_i [λ_{min} - λ_i]_+ ,

the paper's stationarity loss, input prior (a box ``[lo, hi]``) and ``λ_min`` penalty. Symbols:

- ``\hat θ = θ / ||θ||_2`` (all parameters flattened): **our normalization**. The paper uses
  the raw ``θ``; unit norm makes the loss scale-free. For a degree-``D`` homogeneous model the
  stationarity condition at ``cθ`` holds with ``λ c^{2-D}`` (``∇f`` has degree ``D-1``), so
  for two-layer nets (``D = 2``) the ``λ`` are the same for ``θ`` and ``\hat θ``; in general
  the returned ``λ`` belong to ``\hat θ``. With ``\hat θ`` on the sphere,
  ``D Σ_n λ_n q_n(\hat θ) = 1`` at an exact KKT point, i.e. ``Σ λ_n = 1 / (D γ)`` with ``γ``
  the normalized margin: the ``λ`` of a well-trained net are large when its margin is small.
- ``f_β``: the model with ReLU replaced by ``softplus_β(z) = log(1 + e^{βz}) / β`` (leaky ReLU
  by ``slope z + (1 - slope) softplus_β(z)``), the paper's smooth surrogate: with the plain
  ReLU the activation pattern of a candidate, hence most of ``∇_θ f``, is piecewise constant in
  ``x`` and gives no signal to move it. Applies to :class:`~implicit_bias.models.MLP`; any other
  model (one output, ``apply(params, X) -> (N,)``) is differentiated as it is.

``Σ_i λ_i y_i ∇_θ f(θ; x_i)`` is computed as one gradient, ``∇_θ Σ_i λ_i y_i f(θ; x_i)``; the
loss is minimized by Adam (cosine-decayed step) from ``S`` random starts (``x`` i.i.d.
``N(0, init_scale^2)`` as in the paper, ``λ = λ_init``), compiled once (``jax.lax.scan`` over
steps, ``jax.vmap`` over starts), float64. The start with the smallest final loss is returned.
The reported :attr:`Reconstruction.residual` is the *exact* relative stationarity residual
``||\hat θ - Σ λ_i y_i ∇_θ f(\hat θ; x_i)||`` with the model's own activation (no surrogate)
at the returned candidates (``λ`` clipped at 0).

Matching and scores (:func:`match_candidates`, :func:`ssim`, :func:`normalized_distance`):
each training point gets its nearest candidate (Euclidean); images are scored by SSIM (8x8
digits: :func:`ssim`), other inputs by ``||x̂ - x|| / ||x||``.
"""

from __future__ import annotations

import dataclasses
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from .. import _config  # noqa: F401  (float64)
from ..models import MLP, AbstractModel, check_params
from ..models._fc import feedforward

__all__ = ["Reconstruction", "Matching", "reconstruct", "match_candidates", "ssim", "normalized_distance", "candidate_labels"]


@dataclasses.dataclass(frozen=True)
class Reconstruction:
    """Result of :func:`reconstruct` (the best of the random starts).

    Attributes:
        candidates: reconstructed inputs ``x_i``, ``(K, d)``, clipped to the box.
        lam: multipliers ``λ_i`` (clipped at 0), ``(K,)``, for the unit-norm ``θ / ||θ||``.
        labels: candidate labels ``y_i`` in ``{-1, +1}``, ``(K,)``.
        residual: exact relative stationarity residual ``||θ^ - Σ λ_i y_i ∇_θ f(θ^; x_i)||``
            (``||θ^|| = 1``; the model's own activation, no surrogate).
        surrogate_residual: the same with the softplus surrogate (what was minimized).
        loss: the minimized objective at the returned start.
        start: index of the returned start.
        start_losses: final objective of every start, ``(S,)``.
    """

    candidates: np.ndarray
    lam: np.ndarray
    labels: np.ndarray
    residual: float
    surrogate_residual: float
    loss: float
    start: int
    start_losses: np.ndarray

    @property
    def order(self) -> np.ndarray:
        """Candidate indices by decreasing ``λ``."""
        return np.argsort(-self.lam, kind="stable")


@dataclasses.dataclass(frozen=True)
class Matching:
    """Result of :func:`match_candidates`.

    Attributes:
        candidate: for each training point ``n``, the index of its nearest candidate, ``(N,)``.
        distance: ``||x_n - x̂_{candidate[n]}||``, ``(N,)``.
        normalized_distance: ``distance / ||x_n||``, ``(N,)``.
        nearest_train: for each candidate, the index of its nearest training point, ``(K,)``.
    """

    candidate: np.ndarray
    distance: np.ndarray
    normalized_distance: np.ndarray
    nearest_train: np.ndarray


def _fail(msg):
    raise ValueError(f"reconstruct: {msg}")


def candidate_labels(k: int) -> np.ndarray:
    """The default candidate labels: ``+1, -1, +1, ...`` (half of each class, as the paper
    does when the labels of the training set are unknown).

    Example:
        >>> candidate_labels(3).tolist()
        [1.0, -1.0, 1.0]
    """
    return np.where(np.arange(k) % 2 == 0, 1.0, -1.0)


def _surrogate_apply(model, beta):
    """``(params, X) -> (N,)``: the model with ReLU replaced by ``softplus_β`` (MLP only)."""
    if not isinstance(model, MLP) or beta is None or model.activation == "linear":
        return model.apply

    slope = model.slope if model.activation == "leaky_relu" else 0.0

    def sigma(z):
        return slope * z + (1.0 - slope) * jax.nn.softplus(beta * z) / beta

    def apply(params, X):  # the MLP's own layer loop with the surrogate activation
        return feedforward(params, X, model.depth, sigma, model.bias_layers)[:, 0]

    return apply


def _stationarity(apply, params, labels, X, lam):
    """``θ - Σ_i λ_i y_i ∇_θ f(θ; x_i)`` (flat), as one gradient of ``Σ_i λ_i y_i f(θ; x_i)``."""
    theta, _ = ravel_pytree(params)
    g = jax.grad(lambda p: jnp.sum(lam * labels * apply(p, X)))(params)
    return theta - ravel_pytree(g)[0]


def _check_inputs(model, params, labels, n_candidates, box, steps, starts):
    if not isinstance(model, AbstractModel):
        _fail(f"model must be an implicit_bias model with apply(params, X) and a parameter gradient; received {type(model).__name__}")
    if getattr(model, "outputs", 1) != 1:
        _fail(f"the model must have one output (binary labels in {{-1, +1}}); it has outputs={model.outputs}")
    d = model.input_dim
    if d is None:
        _fail(f"{type(model).__name__} has no fixed input dimension; reconstruction needs one")
    try:
        params = check_params(model, params)
    except ValueError as e:
        _fail(f"params do not fit the model: {e}")
    if not isinstance(n_candidates, (int, np.integer)) or isinstance(n_candidates, bool) or n_candidates < 1:
        _fail(f"n_candidates must be an integer >= 1; received {n_candidates!r}")
    if labels is None:
        labels = candidate_labels(int(n_candidates))
    labels = np.asarray(labels, dtype=np.float64)
    if labels.shape != (n_candidates,) or not np.all(np.isin(labels, (-1.0, 1.0))):
        _fail(f"labels must be None or an array of {n_candidates} values in {{-1, +1}} (one per candidate); received shape {labels.shape}")
    lo, hi = (float(b) for b in box)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        _fail(f"box must be (lo, hi) with finite lo < hi; received {box!r}")
    if not (isinstance(steps, (int, np.integer)) and steps >= 1 and isinstance(starts, (int, np.integer)) and starts >= 1):
        _fail(f"steps and starts must be integers >= 1; received steps={steps!r}, starts={starts!r}")
    flat, _ = ravel_pytree(params)
    if flat.size == 0 or not float(jnp.linalg.norm(flat)) > 0:
        _fail("the parameters are empty or zero: there is no direction θ/||θ|| to explain")
    return params, labels, d, lo, hi


@eqx.filter_jit
def _solve(model, beta, params, labels, X0, lam0, lo, hi, lam_min, box_weight, lam_weight, lr, steps):
    """Adam on ``(X, λ)`` from each start (leading axis of ``X0``, ``lam0``); returns the final
    ``X``, ``λ`` and objective of every start."""
    apply = _surrogate_apply(model, beta)

    def objective(z):
        X, lam = z
        r = _stationarity(apply, params, labels, X, lam)
        box = jnp.sum(jax.nn.relu(X - hi) + jax.nn.relu(lo - X))
        low = jnp.sum(jax.nn.relu(lam_min - lam))
        return jnp.sum(r * r) + box_weight * box + lam_weight * low

    opt = optax.adam(optax.cosine_decay_schedule(lr, steps, alpha=1e-2))

    def run(X, lam):
        z = (X, lam)

        def step(carry, _):
            z, state = carry
            g = jax.grad(objective)(z)
            upd, state = opt.update(g, state, z)
            return (optax.apply_updates(z, upd), state), None

        (z, _), _ = jax.lax.scan(step, (z, opt.init(z)), None, length=steps)
        return z[0], z[1], objective(z)

    return jax.vmap(run)(X0, lam0)


@eqx.filter_jit
def _residual(model, beta, params, labels, X, lam):
    return jnp.linalg.norm(_stationarity(_surrogate_apply(model, beta), params, labels, X, lam))


def reconstruct(
    model: AbstractModel,
    params: dict,
    labels=None,
    n_candidates: int = 100,
    *,
    steps: int = 2000,
    lr: float = 0.01,
    lambda_min: float = 0.05,
    lambda_init: float | None = None,
    box=(-1.0, 1.0),
    box_weight: float = 1.0,
    lambda_weight: float = 1.0,
    init_scale: float = 1e-2,
    starts: int = 4,
    seed: int = 0,
    smooth_relu_beta: float | None = 100.0,
) -> Reconstruction:
    r"""Reconstruct training inputs from ``params`` by the KKT stationarity condition (module docstring).

    Minimizes ``||θ^ - Σ_i λ_i y_i ∇_θ f_β(θ^; x_i)||^2 + box_weight * box hinge + lambda_weight
    * Σ_i [lambda_min - λ_i]_+`` over ``x (K, d)`` and ``λ (K,)`` by Adam (``steps``, base step
    ``lr`` cosine-decayed to ``lr/100``) from ``starts`` random starts (``x ~ N(0,
    init_scale^2)``, ``λ = lambda_init``, default ``lambda_min``), vmapped and compiled once.

    Args:
        model: a one-output model (``apply(params, X) -> (N,)``); for an
            :class:`~implicit_bias.models.MLP` with ReLU / leaky ReLU the gradient uses the
            ``softplus_β`` surrogate (``smooth_relu_beta=None``: the plain activation).
        params: its parameters (the trained ``θ``; normalized here to unit norm).
        labels: ``None`` (``+1, -1, ...``: :func:`candidate_labels`) or ``(K,)`` in ``{-1, +1}``.
        n_candidates: ``K >= 1`` (the paper uses about twice the number of training points).
        steps: Adam steps.
        lr: Adam base step.
        lambda_min: the ``λ_min`` of the paper's penalty ``L_λ``.
        lambda_weight: the weight of ``L_λ``.
        lambda_init: initial ``λ`` (default ``lambda_min``).
        box: the input prior ``(lo, hi)`` per coordinate.
        box_weight: the weight of the box hinge.
        init_scale: standard deviation of the initial candidates.
        starts: number of random starts ``S``.
        seed: their seed.
        smooth_relu_beta: ``β`` of the surrogate (``None`` for no surrogate).

    Returns:
        :class:`Reconstruction` of the start with the smallest objective.

    Raises:
        ValueError: not a model, more than one output, params that do not fit the model, zero
            parameters, a parameter gradient that is identically zero or not finite, bad
            labels, ``K < 1``, a bad box, steps or starts.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import MLP
        >>> m = MLP(2, (2,), bias="first")
        >>> x = np.array([0.6, 0.8]); lam = 1 / np.sqrt(2.0)       # one point, one active unit
        >>> p = {"W1": np.array([lam * x, -lam * x]), "b1": np.array([lam, -lam]), "W2": np.array([[1.0, 1.0]])}
        >>> r = reconstruct(m, p, [1.0], 1, steps=1500, lr=0.05, box=(-2, 2), lambda_init=0.5)
        >>> np.round(r.candidates[0], 3).tolist(), round(float(r.lam[0]), 3)
        ([0.6, 0.8], 0.707)
    """
    params, labels, d, lo, hi = _check_inputs(model, params, labels, n_candidates, box, steps, starts)
    flat, _ = ravel_pytree(params)
    nrm = jnp.linalg.norm(flat)
    unit = {k: v / nrm for k, v in params.items()}
    K = int(n_candidates)
    probe = jax.random.normal(jax.random.PRNGKey(seed + 12345), (min(K, 4), d))
    g = ravel_pytree(jax.grad(lambda p: jnp.sum(model.apply(p, probe)))(unit))[0]
    if not (bool(jnp.all(jnp.isfinite(g))) and float(jnp.linalg.norm(g)) > 0):
        _fail(f"{type(model).__name__} has no usable parameter gradient (∇_θ f is zero or not finite at random inputs)")
    beta = None if smooth_relu_beta is None else float(smooth_relu_beta)
    X0 = init_scale * jax.random.normal(jax.random.PRNGKey(seed), (starts, K, d))
    lam0 = jnp.full((starts, K), lambda_min if lambda_init is None else float(lambda_init))
    lab = jnp.asarray(labels)
    Xs, lams, losses = _solve(model, beta, unit, lab, X0, lam0, lo, hi, float(lambda_min), float(box_weight), float(lambda_weight), float(lr), int(steps))
    losses = np.asarray(losses)
    losses = np.where(np.isfinite(losses), losses, np.inf)
    best = int(np.argmin(losses))
    X = jnp.clip(Xs[best], lo, hi)
    lam = jnp.maximum(lams[best], 0.0)
    res = float(_residual(model, None, unit, lab, X, lam))
    sres = float(_residual(model, beta, unit, lab, X, lam))
    return Reconstruction(
        candidates=np.asarray(X), lam=np.asarray(lam), labels=labels, residual=res, surrogate_residual=sres,
        loss=float(losses[best]), start=best, start_losses=losses,
    )


def ssim(a, b, *, data_range: float = 2.0, win_size: int = 7, k1: float = 0.01, k2: float = 0.03) -> float:
    r"""Structural similarity of two grayscale images (Wang, Bovik, Sheikh & Simoncelli 2004).

    Mean over every ``win_size x win_size`` window fully inside the image (uniform weights) of

    .. math:: \frac{(2 μ_a μ_b + C_1)(2 σ_{ab} + C_2)}{(μ_a^2 + μ_b^2 + C_1)(σ_a^2 + σ_b^2 + C_2)},
        \quad C_1 = (k_1 R)^2,\ C_2 = (k_2 R)^2,

    with the window means ``μ``, *sample* (co)variances ``σ`` (divisor ``w^2 - 1``) and the
    data range ``R`` (``data_range``; 2 for pixels in ``[-1, 1]``). These are the defaults of
    ``skimage.metrics.structural_similarity`` (uniform 7x7 window, ``K1 = 0.01``,
    ``K2 = 0.03``, sample covariance): an 8x8 digit has 4 windows.

    Args:
        a: an image ``(H, W)`` with ``H, W >= win_size``, or a flat ``(H*W,)`` square image.
        b: the other image, same shape.
        data_range: ``R``, max - min of the pixel scale.
        win_size: the window side ``w``.
        k1: ``K1``.
        k2: ``K2``.

    Returns:
        SSIM in ``[-1, 1]`` (1 iff the images are equal).

    Raises:
        ValueError: different shapes, an image smaller than the window, ``data_range <= 0``.

    Example:
        >>> import numpy as np
        >>> a = np.linspace(-1, 1, 64).reshape(8, 8)
        >>> ssim(a, a)
        1.0
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"ssim: the images must have the same shape; received {a.shape} and {b.shape}")
    if a.ndim == 1:
        s = int(round(np.sqrt(a.size)))
        if s * s != a.size:
            raise ValueError(f"ssim: a flat image must have a square number of pixels (e.g. 64 for 8x8); received {a.size}")
        a, b = a.reshape(s, s), b.reshape(s, s)
    if a.ndim != 2 or min(a.shape) < win_size:
        raise ValueError(f"ssim: images must be 2-D and at least {win_size}x{win_size} (win_size); received {a.shape}")
    if not data_range > 0:
        raise ValueError(f"ssim: data_range must be > 0 (max - min of the pixel scale); received {data_range!r}")
    w = win_size
    win = np.lib.stride_tricks.sliding_window_view
    A, B = win(a, (w, w)).reshape(-1, w * w), win(b, (w, w)).reshape(-1, w * w)
    ma, mb = A.mean(1), B.mean(1)
    n = w * w
    va = ((A - ma[:, None]) ** 2).sum(1) / (n - 1)
    vb = ((B - mb[:, None]) ** 2).sum(1) / (n - 1)
    cab = ((A - ma[:, None]) * (B - mb[:, None])).sum(1) / (n - 1)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    s = (2 * ma * mb + c1) * (2 * cab + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    return float(s.mean())


def normalized_distance(x_hat, x) -> np.ndarray:
    """``||x̂_n - x_n|| / ||x_n||`` row by row (``(N, d)`` each; or one pair of vectors): the
    score for inputs that are not images (0 = exact recovery).

    Example:
        >>> normalized_distance([3.0, 4.0], [3.0, 0.0]).tolist()
        1.3333333333333333
    """
    x_hat = np.asarray(x_hat, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if x_hat.shape != x.shape:
        raise ValueError(f"normalized_distance: shapes differ: {x_hat.shape} and {x.shape}")
    return np.linalg.norm(x_hat - x, axis=-1) / np.linalg.norm(x, axis=-1)


def match_candidates(candidates, X_train) -> Matching:
    """Nearest-neighbour matching between candidates ``(K, d)`` and training points ``(N, d)``
    (Euclidean): each training point's nearest candidate and each candidate's nearest training
    point.

    Raises:
        ValueError: not 2-D, empty, or different input dimensions.

    Example:
        >>> import numpy as np
        >>> m = match_candidates(np.array([[0.0, 1.0], [5.0, 5.0]]), np.array([[0.0, 1.1], [4.0, 5.0]]))
        >>> m.candidate.tolist(), m.nearest_train.tolist()
        ([0, 1], [0, 1])
    """
    C = np.asarray(candidates, dtype=np.float64)
    X = np.asarray(X_train, dtype=np.float64)
    if C.ndim != 2 or X.ndim != 2 or C.shape[0] == 0 or X.shape[0] == 0 or C.shape[1] != X.shape[1]:
        raise ValueError(f"match_candidates: candidates (K, d) and X_train (N, d) must be non-empty 2-D arrays with the same d; received {C.shape} and {X.shape}")
    D = np.linalg.norm(X[:, None, :] - C[None, :, :], axis=2)
    cand = np.argmin(D, axis=1)
    dist = D[np.arange(X.shape[0]), cand]
    return Matching(candidate=cand, distance=dist, normalized_distance=dist / np.linalg.norm(X, axis=1), nearest_train=np.argmin(D, axis=0))
