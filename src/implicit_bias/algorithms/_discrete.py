"""Discrete first-order algorithms: GD, SGD, normalized GD, mirror descent, steepest descent."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from .._norms import parse_norm as _parse_norm
from ..potentials import AbstractPotential, get_potential
from ._base import AbstractDiscreteAlgorithm, Objective, as_float

__all__ = ["GradientDescent", "SGD", "NormalizedGD", "MirrorDescent", "SteepestDescent", "Optax", "parse_norm", "sample_batch", "steepest_descent_lr"]


def check_lr(name, lr):
    """One-line ValueError unless the step size ``lr`` of algorithm ``name`` is finite and > 0."""
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"{name}: learning rate lr must be a finite number > 0; received {float(lr)!r}")


def _tree_axpy(a, x, y):
    """``y + a x`` on pytrees."""
    return jax.tree_util.tree_map(lambda xi, yi: yi + a * xi, x, y)


class GradientDescent(AbstractDiscreteAlgorithm):
    """Full-batch gradient descent ``theta_{k+1} = theta_k - lr * grad L(theta_k)``.

    Args:
        lr: step size ``eta > 0``. On the square loss GD is stable for ``eta < 2 / lambda_max``
            of the Hessian (vardi2022 §5); past it the run is reported as ``diverged``.

    Example:
        >>> from implicit_bias.algorithms import GradientDescent
        >>> GradientDescent(lr=0.1).name
        'gd'
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    name: ClassVar[str] = "gd"

    def __check_init__(self):
        check_lr("GradientDescent", self.lr)

    def step(self, objective, params, state, key):
        lv, g = jax.value_and_grad(objective.value)(params)
        return _tree_axpy(-self.lr, g, params), state, jnp.log(lv)


def sample_batch(key, n: int, batch_size: int):
    """Indices ``(min(batch_size, n),)`` of a minibatch drawn without replacement from ``range(n)``
    with ``key`` (the per-step key the training loop passes to a stochastic algorithm's ``step``).
    Shared by :class:`SGD` and the noisy algorithms: same key, same batch. A full batch
    (``batch_size >= n``) is ``arange(n)``, drawing nothing: the mean then sums in data order,
    as full-batch GD does."""
    if batch_size >= n:
        return jnp.arange(n)
    return jax.random.permutation(key, n)[:batch_size]


SAMPLINGS = ("iid", "reshuffle")


class SGD(AbstractDiscreteAlgorithm):
    """Minibatch SGD: ``theta_{k+1} = theta_k - lr * grad L_B(theta_k)``, ``L_B`` the mean loss
    over a batch ``B`` of ``batch_size`` distinct samples.

    Two samplings of the batches (both deterministic by seed; ``batch_size >= N`` is full-batch
    GD for both):

    - ``"iid"`` (default): every step draws its batch afresh from ``fold_in(key, k)``, so
      successive batches are independent (sampling *with* replacement across steps; the SGD of
      Pesme et al. 2021 and HaoChen et al. 2021).
    - ``"reshuffle"``: random reshuffling, sampling *without* replacement: at the first step of
      each epoch the ``N`` indices are permuted (with that step's key) and the next
      ``floor(N / batch_size)`` steps take consecutive slices, so each sample is used once per
      epoch (the ``N mod batch_size`` left over are skipped that epoch). The permutation and the
      position in it are the algorithm's state.

    Args:
        lr: step size.
        batch_size: samples per step (``>= 1``).
        sampling: ``"iid"`` or ``"reshuffle"``.
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    batch_size: int = eqx.field(default=1, static=True)
    sampling: str = eqx.field(default="iid", static=True)
    name: ClassVar[str] = "sgd"
    stochastic: ClassVar[bool] = True

    def __check_init__(self):
        check_lr("SGD", self.lr)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"SGD: batch_size must be a positive integer; received {self.batch_size!r}")
        if self.sampling not in SAMPLINGS:
            raise ValueError(f"SGD: sampling must be one of {', '.join(SAMPLINGS)}; received {self.sampling!r}")

    def init_state(self, objective, params):
        if self.sampling == "iid" or self.batch_size >= objective.n:
            return ()
        return (jnp.arange(objective.n), jnp.zeros((), dtype=jnp.int32))  # (permutation, step within the epoch)

    def step(self, objective, params, state, key):
        n, b = objective.n, self.batch_size
        if state == ():
            idx = sample_batch(key, n, b)
        else:
            perm, pos = state
            perm = jnp.where(pos == 0, jax.random.permutation(key, n), perm)
            idx = jax.lax.dynamic_slice(perm, (pos * b,), (b,))
            state = (perm, (pos + 1) % (n // b))
        g = jax.grad(objective.batch_value)(params, idx)
        return _tree_axpy(-self.lr, g, params), state, objective.log_value(params)


class NormalizedGD(AbstractDiscreteAlgorithm):
    """Normalized GD: ``theta_{k+1} = theta_k - lr * grad L / L = theta_k - lr * grad log L``.

    The gradient divided by the loss (moroshko2020 §6; Nacson et al. 2019), computed as the
    gradient of the log-domain loss, so it stays exact when ``L`` underflows (training
    accuracies ``-log L`` of 1e12 and beyond).
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    name: ClassVar[str] = "normalized-gd"

    def __check_init__(self):
        check_lr("NormalizedGD", self.lr)

    def step(self, objective, params, state, key):
        lv, g = jax.value_and_grad(objective.log_value)(params)
        return _tree_axpy(-self.lr, g, params), state, lv


class MirrorDescent(AbstractDiscreteAlgorithm):
    """Mirror descent: ``grad psi(w_{k+1}) = grad psi(w_k) - lr * grad L(w_k)``.

    The dual iterate ``z = grad psi(w)`` is the state (no round trip through ``w``), and
    ``w = (grad psi)^{-1}(z)`` elementwise on every parameter leaf. From ``w_0`` on an
    underdetermined problem, MD reaches ``argmin D_psi(w, w_0)`` s.t. ``Xw = y``
    (montufar2024, Thm 2).

    Args:
        lr: step size.
        potential: an :class:`~implicit_bias.potentials.AbstractPotential` or its name
            (``entropy``, ``quadratic``, ``lp:P``). The initial parameters must lie in its
            domain (``w_0 > 0`` for ``entropy``).
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    potential: AbstractPotential = eqx.field(default="quadratic", converter=get_potential)
    name: ClassVar[str] = "mirror"

    def __check_init__(self):
        check_lr("MirrorDescent", self.lr)

    def init_state(self, objective, params):
        for k, v in params.items():
            if not bool(jnp.all(self.potential.in_domain(v))):
                raise ValueError(
                    f"MirrorDescent: initial parameter {k!r} lies outside the domain of the {self.potential.name} potential"
                    + (" (it needs w > 0); pass a positive initialization" if self.potential.name == "entropy" else "")
                )
        return jax.tree_util.tree_map(self.potential.grad, params)

    def step(self, objective, params, z, key):
        lv, g = jax.value_and_grad(objective.value)(params)
        z = _tree_axpy(-self.lr, g, z)
        return jax.tree_util.tree_map(self.potential.grad_inverse, z), z, jnp.log(lv)


def parse_norm(norm) -> float:
    """Norm spec -> p in [1, inf]: ``l1``, ``l2``, ``linf``, ``lp:P`` or a number p >= 1."""
    return _parse_norm(norm)[1]


def steepest_direction(g, p):
    """``Delta = argmin <g, v> + ||v||_p^2 / 2 = -||g||_q * s`` with ``s`` the unit-``p`` vector
    maximising ``<g, s>`` (q the dual exponent). Flat vectors."""
    if p == 1.0:
        # ||g||_inf times a signed coordinate vector at the largest |g_i| (coordinate descent).
        i = jnp.argmax(jnp.abs(g))
        return -jnp.zeros_like(g).at[i].set(jnp.sign(g[i]) * jnp.abs(g[i]))
    if np.isinf(p):
        return -jnp.sum(jnp.abs(g)) * jnp.sign(g)
    q = p / (p - 1.0)
    gq = jnp.linalg.norm(g, ord=q)
    safe = jnp.where(gq > 0, gq, 1.0)
    # s_i = sign(g_i) |g_i|^{q-1} / ||g||_q^{q-1};  Delta = -||g||_q s
    return -jnp.sign(g) * jnp.abs(g) ** (q - 1.0) * safe ** (2.0 - q)


def steepest_descent_lr(X, norm, *, normalize: bool = True, loss_at_init: float = 1.0) -> float:
    """The step ``1 / B^2`` with ``B = max_n ||x_n||_*`` for steepest descent on a linear model.

    For ``f(w) = X w`` and the square, exponential or logistic mean loss, the loss is
    ``beta``-smooth in the descent norm ``||.||`` (the dual norm ``||.||_*`` acting on the rows
    ``x_n`` of ``X``): ``<v, H v> <= max_n (x_n . v)^2 <= B^2 ||v||^2`` because the per-sample
    curvature satisfies ``ell'' <= 1`` (square), ``ell'' <= ell`` (exponential, logistic). So
    ``beta(log L) <= B^2`` (the normalized variant, ``grad log L``: ``H log L <= H L / L``) and
    ``beta(L) <= B^2 L(w_0)`` on the sublevel set of the start. With the step
    ``Delta = -||g||_* s`` of :class:`SteepestDescent`, the descent lemma gives
    ``F(w + lr Delta) <= F(w) - lr (1 - lr beta / 2) ||g||_*^2``: every step decreases the
    objective for ``lr < 2 / beta``, most for ``lr = 1 / beta`` (the returned value), and the
    iterates then converge in direction to the max-margin of the norm (Gunasekar et al. 2018a,
    Thm 5, whose step condition this is; montufar2024, Thm 4). Larger fixed steps carry no such
    guarantee: with the l-infinity norm, steps a few times ``2 / beta`` were measured to stall on a
    cycle at direction error ~1e-2 however long they ran, while ``1 / beta`` converges at the
    ``O(1/t)`` rate of the normalized margin.

    Args:
        X: inputs ``(N, d)`` (the rows ``x_n``).
        norm: the descent norm: ``l1``, ``l2``, ``linf``, ``lp:P`` or a number ``p >= 1``.
        normalize: the step of ``SteepestDescent(normalize=True)`` (``beta = B^2``); else the
            step of the plain variant, ``1 / (B^2 * loss_at_init)``.
        loss_at_init: ``L(w_0)`` (the plain variant only); 1 for the exponential loss at
            ``w_0 = 0``, ``log 2`` for the logistic loss, ``1`` bounds the square loss's
            ``ell'' = 1``.

    Returns:
        ``1 / (B^2 * c)``, ``c = 1`` (normalized) or ``loss_at_init``.

    Example:
        >>> import numpy as np
        >>> X = np.array([[1.0, -2.0], [0.5, 0.5]])
        >>> steepest_descent_lr(X, "linf")   # B = max_n ||x_n||_1 = 3
        0.1111111111111111
        >>> steepest_descent_lr(X, "l1")     # B = max_n ||x_n||_inf = 2
        0.25
    """
    p = parse_norm(norm)
    q = 1.0 if np.isinf(p) else (np.inf if p == 1.0 else p / (p - 1.0))
    X = np.asarray(X, dtype=np.float64)
    B = float(np.max(np.linalg.norm(X.reshape(X.shape[0], -1), ord=q, axis=1)))
    c = 1.0 if normalize else float(loss_at_init)
    if not (np.isfinite(B) and B > 0 and np.isfinite(c) and c > 0):
        raise ValueError(f"steepest_descent_lr: needs finite inputs, not all zero, and loss_at_init > 0; received max_n ||x_n||_* = {B}, loss_at_init = {c}")
    return 1.0 / (B * B * c)


class SteepestDescent(AbstractDiscreteAlgorithm):
    """Steepest descent w.r.t. a norm: ``w_{k+1} = w_k + lr * Delta_k``,
    ``Delta_k = argmin_v <grad L(w_k), v> + ||v||^2 / 2`` (montufar2024, Thm 4; Gunasekar et al. 2018a).

    ``Delta = -||g||_* s`` with ``||s|| = 1`` maximising ``<g, s>``: coordinate descent for
    ``l1``, sign descent scaled by ``||g||_1`` for ``l-infinity``, and
    ``-sign(g)|g|^{q-1} ||g||_q^{2-q}`` for ``lp`` (``1/p + 1/q = 1``). The norm acts on all
    parameters flattened into one vector.

    Args:
        lr: step size. The theorem's guarantee needs ``lr`` below ``2 / beta``, ``beta`` the
            smoothness of the objective in the norm; for a linear model
            :func:`steepest_descent_lr` gives ``1 / beta`` (the default of ``ibias fit``).
        norm: ``l1``, ``l2``, ``linf``, ``lp:P`` or a number ``p >= 1``.
        normalize: divide the gradient by the loss (use ``grad log L``), the normalized variant
            whose margin converges at rate ``O(1/t)`` instead of ``O(1/log t)`` on separable
            data with the exponential loss (Nacson et al. 2019). Recommended for classification.
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    norm: float = eqx.field(default=2.0, converter=parse_norm, static=True)
    normalize: bool = eqx.field(default=False, static=True)
    name: ClassVar[str] = "steepest"

    def __check_init__(self):
        check_lr("SteepestDescent", self.lr)

    def step(self, objective, params, state, key):
        if self.normalize:
            lv, g = jax.value_and_grad(objective.log_value)(params)
        else:
            v, g = jax.value_and_grad(objective.value)(params)
            lv = jnp.log(v)
        flat, unravel = ravel_pytree(g)
        pflat, _ = ravel_pytree(params)
        return unravel(pflat + self.lr * steepest_direction(flat, self.norm)), state, lv


class Optax(AbstractDiscreteAlgorithm):
    """Any optax gradient transformation as a training algorithm.

    Args:
        optimizer: an ``optax.GradientTransformation`` (e.g. ``optax.adam(1e-3)``).
        lr: the step size used only to convert steps to training time (``time = lr * steps``).
    """

    optimizer: object = eqx.field(default=None, static=True)
    lr: np.ndarray = eqx.field(default=1.0, converter=as_float)
    name: ClassVar[str] = "optax"

    def __check_init__(self):
        if self.optimizer is None or not hasattr(self.optimizer, "update"):
            raise ValueError("Optax: pass an optax.GradientTransformation, e.g. Optax(optax.adam(1e-3))")

    def init_state(self, objective, params):
        return self.optimizer.init(params)

    def step(self, objective, params, state, key):
        import optax

        lv, g = jax.value_and_grad(objective.value)(params)
        updates, state = self.optimizer.update(g, state, params)
        return optax.apply_updates(params, updates), state, jnp.log(lv)
