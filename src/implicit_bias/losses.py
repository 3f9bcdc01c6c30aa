"""Losses, each with a log-domain value that never underflows.

Conventions (DESIGN.md): with model outputs ``f`` (N,) and targets ``y`` (N,),

- ``square``:      ``L = 1/(2N) sum_n (f_n - y_n)^2``  (azulay2021, mulayoff2021; the Hessian at
  an interpolant is ``Phi Phi^T / N``);
- ``exponential``: ``L = 1/N sum_n exp(-y_n f_n)``      (moroshko2020);
- ``logistic``:    ``L = 1/N sum_n log(1 + exp(-y_n f_n))``;
- ``polynomial``:  ``L = 1/N sum_n ell_k(y_n f_n)`` with ``ell_k(u) = (sqrt(1+u^2) - u)^k``, a
  smooth, convex, decreasing loss whose tail is polynomial, ``ell_k(u) ~ (2u)^{-k}``
  (vardi2022 §3.4: such tails do not lead to the l2 max-margin).

Every loss exposes ``log_loss(f, y) = log L`` computed in log domain (``logsumexp`` over
per-sample log-losses), so classification losses stay exact at margins of 1e12 and beyond where
``L`` itself underflows to 0. The *training accuracy* is ``gamma = -log L`` (moroshko2020).

Example:
    >>> import jax.numpy as jnp
    >>> from implicit_bias.losses import Exponential
    >>> f, y = jnp.array([1e12, 2e12]), jnp.array([1.0, 1.0])
    >>> float(Exponential().log_loss(f, y)) == -1e12 + float(jnp.log1p(jnp.exp(-1e12)) - jnp.log(2.0))
    True
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp

from . import _config  # noqa: F401

__all__ = [
    "AbstractLoss",
    "Square",
    "Exponential",
    "Logistic",
    "Polynomial",
    "get_loss",
    "LOSSES",
]


class AbstractLoss(eqx.Module):
    """A mean loss over samples with a log-domain value.

    Subclasses define ``per_sample_log(f, y)``: ``log ell(f_n, y_n)`` for each sample, shape
    (N,). Then ``log_loss = logsumexp(per_sample_log) - log N`` and ``value = exp(log_loss)``.
    The gradient of ``value`` is the gradient of the paper's loss; the gradient of
    ``log_loss`` is ``grad L / L`` (used by normalized GD), exact even when ``L`` underflows.
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = ""  # "regression" or "classification"

    @abc.abstractmethod
    def per_sample_log(self, f, y):
        """``log ell(f_n, y_n)``, shape (N,)."""

    def log_loss(self, f, y):
        """``log L(f, y)`` (scalar), computed as ``logsumexp(log ell_n) - log N``."""
        lp = self.per_sample_log(f, y)
        return jax.nn.logsumexp(lp) - jnp.log(lp.shape[0])

    def __call__(self, f, y):
        """``L(f, y)`` (scalar): the mean loss of DESIGN.md's convention."""
        return jnp.exp(self.log_loss(f, y))

    def training_accuracy(self, f, y):
        """``gamma = -log L`` (moroshko2020's training accuracy)."""
        return -self.log_loss(f, y)


def _log_of_square(r):
    # log(r^2 / 2) with log(0) = -inf handled (exact interpolation).
    return 2.0 * jnp.log(jnp.abs(r)) - jnp.log(2.0)


class Square(AbstractLoss):
    """``L = 1/(2N) sum_n (f_n - y_n)^2``.

    ``__call__`` evaluates the mean directly (not through ``exp(log_loss)``), so its
    gradient is the plain residual ``(f - y)/N``.
    """

    name: ClassVar[str] = "square"
    task: ClassVar[str] = "regression"

    def per_sample_log(self, f, y):
        return _log_of_square(f - y)

    def __call__(self, f, y):
        r = f - y
        return 0.5 * jnp.mean(r * r)

    def log_loss(self, f, y):
        r = f - y
        # Scale by the largest residual so that tiny losses (1e-300) do not underflow.
        m = jnp.max(jnp.abs(r))
        safe_m = jnp.where(m > 0, m, 1.0)
        val = jnp.log(safe_m) * 2.0 + jnp.log(0.5 * jnp.mean((r / safe_m) ** 2))
        # m == 0: exact interpolation (-inf); m NaN (outputs overflowed to inf - inf): NaN, so
        # that a non-finite model output is never read as a zero loss.
        return jnp.where(m > 0, val, jnp.where(m == 0, -jnp.inf, jnp.nan))


class Exponential(AbstractLoss):
    """``ell(u) = exp(-u)`` on the margin ``u = y f``: ``log ell = -u``."""

    name: ClassVar[str] = "exponential"
    task: ClassVar[str] = "classification"

    def per_sample_log(self, f, y):
        return -(y * f)


def _log_softplus(z):
    """``log(log(1 + e^z))`` for any real z, without overflow, underflow or NaN gradients."""
    # For z <= -20, log1p(e^z) = e^z (1 - e^z/2 + ...), so log = z + log1p(-e^z/2) to 1e-18.
    lo = z <= -20.0
    z_lo = jnp.where(lo, z, -20.0)
    z_hi = jnp.where(lo, 0.0, z)
    return jnp.where(lo, z_lo + jnp.log1p(-0.5 * jnp.exp(z_lo)), jnp.log(jax.nn.softplus(z_hi)))


class Logistic(AbstractLoss):
    """``ell(u) = log(1 + exp(-u))`` on the margin ``u = y f``, in log domain."""

    name: ClassVar[str] = "logistic"
    task: ClassVar[str] = "classification"

    def per_sample_log(self, f, y):
        return _log_softplus(-(y * f))


class Polynomial(AbstractLoss):
    """``ell_k(u) = (sqrt(1 + u^2) - u)^k``: smooth, convex, decreasing, ``~ (2u)^{-k}`` tail.

    A loss with a polynomial (not exponential) tail; gradient descent on separable data does
    not converge to the l2 max-margin direction with it (vardi2022 §3.4). ``k >= 1``.
    """

    k: float = 1.0
    name: ClassVar[str] = "polynomial"
    task: ClassVar[str] = "classification"

    def __check_init__(self):
        if not float(self.k) >= 1.0:
            raise ValueError(f"polynomial loss needs k >= 1 (convexity); received k={self.k}")

    def per_sample_log(self, f, y):
        u = y * f
        s = jnp.sqrt(1.0 + u * u)
        # sqrt(1+u^2) - u without cancellation for u > 0: 1 / (sqrt(1+u^2) + u).
        base = jnp.where(u > 0, 1.0 / (s + jnp.abs(u)), s - u)
        return self.k * jnp.log(base)


LOSSES = {"square": Square, "exponential": Exponential, "logistic": Logistic, "polynomial": Polynomial}


class CallableLoss(AbstractLoss):
    """A user's loss function ``fn(f, y) -> L``: the mean loss (a scalar, ``> 0`` away from a
    perfect fit) of outputs ``f (N,)`` against targets ``y (N,)``, written with ``jax.numpy``.

    ``log L = log fn(f, y)``: unlike the built-in losses this is *not* log-domain exact (``L``
    underflows to 0 below ~1e-308, where the log loss becomes ``-inf``), so it suits regression-
    style targets such as ``Stop(loss=1e-12)``; for astronomically small classification losses
    write a subclass of :class:`AbstractLoss` with ``per_sample_log``. ``train``, ``fit`` and the
    algorithms call it exactly like the built-in losses (``get_loss`` wraps a callable in it).

    Args:
        fn: the loss function ``fn(f (N,), y (N,)) -> ()``; jit- and grad-able.
        task: ``"regression"`` (default) or ``"classification"`` (labels ``±1``; ``-log L`` is
            then reported as the training accuracy).

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.losses import get_loss
        >>> L = get_loss(lambda f, y: jnp.mean(jnp.abs(f - y) ** 3))
        >>> float(L(jnp.array([1.0, 2.0]), jnp.array([0.0, 2.0])))
        0.5
    """

    fn: object = eqx.field(static=True)
    task: str = eqx.field(static=True)
    name: ClassVar[str] = "callable"

    def __init__(self, fn, task: str = "regression"):
        self.fn = fn
        self.task = task

    def __check_init__(self):
        if not callable(self.fn):
            raise ValueError(f"CallableLoss: fn must be a function fn(f, y) -> mean loss; received {type(self.fn).__name__}")
        if self.task not in ("regression", "classification"):
            raise ValueError(f"CallableLoss: task must be 'regression' or 'classification'; received {self.task!r}")

    def per_sample_log(self, f, y):
        raise NotImplementedError("a CallableLoss has no per-sample terms: it knows only the mean loss fn(f, y)")

    def log_loss(self, f, y):
        return jnp.log(self.fn(f, y))

    def __call__(self, f, y):
        return self.fn(f, y)


def get_loss(spec) -> AbstractLoss:
    """Loss from a name (``square``, ``exponential``, ``logistic``, ``polynomial[:K]``,
    ``cross-entropy``), an instance, or a function ``fn(f, y) -> L`` (:class:`CallableLoss`)."""
    if isinstance(spec, AbstractLoss):
        return spec
    if callable(spec):
        return CallableLoss(spec)
    s = str(spec).strip().lower()
    if s.startswith("polynomial:"):
        try:
            return Polynomial(float(s.split(":", 1)[1]))
        except ValueError:
            raise ValueError(f"loss {spec!r}: expected polynomial:K with a number K >= 1") from None
    if s not in LOSSES:
        raise ValueError(f"unknown loss {spec!r}: use one of square, logistic, exponential, polynomial:K, cross-entropy")
    return LOSSES[s]()


class CrossEntropy(AbstractLoss):
    r"""Multiclass cross-entropy ``L = 1/N sum_n [logsumexp_c f_{n,c} - f_{n,y_n}]`` in log domain.

    Outputs ``f (N, C)`` (logits, ``C >= 2``) and labels ``y (N,)`` in ``0..C-1`` (integers,
    possibly stored as floats). With the class margins ``u_{n,c} = f_{n,y_n} - f_{n,c}``,
    ``ell_n = log(1 + sum_{c != y_n} exp(-u_{n,c})) = softplus(z_n)`` with
    ``z_n = logsumexp_{c != y_n}(-u_{n,c})``, so ``log ell_n = log softplus(z_n)`` is computed
    without forming ``ell_n``: exact at margins of 1e12 and beyond (Soudry et al. 2018 §4 and
    Lyu & Li 2020 use this loss for multiclass separable data). For ``C = 2`` it is the logistic
    loss of ``f_{n,1} - f_{n,0}`` with labels ``2 y - 1``.

    Labels are checked by :meth:`check_labels` (``ib.train`` calls it): integers in ``0..C-1``.
    """

    name: ClassVar[str] = "cross-entropy"
    task: ClassVar[str] = "multiclass"

    def per_sample_log(self, f, y):
        if f.ndim != 2 or f.shape[1] < 2:
            raise ValueError(f"cross-entropy needs logits of shape (N, C) with C >= 2 classes (a model with outputs=C); received outputs of shape {f.shape}")
        C = f.shape[1]
        onehot = jnp.arange(C)[None, :] == jnp.asarray(y).astype(jnp.int32)[:, None]
        f_true = jnp.sum(jnp.where(onehot, f, 0.0), axis=1)
        others = jnp.where(onehot, -jnp.inf, f - f_true[:, None])  # -u_{n,c}, the true class masked
        return _log_softplus(jax.nn.logsumexp(others, axis=1))

    @staticmethod
    def check_labels(y, n_classes: int) -> None:
        """Raise ``ValueError`` unless every label is an integer in ``0..n_classes-1``."""
        import numpy as np

        if n_classes < 2:
            raise ValueError(f"cross-entropy needs a model with C >= 2 outputs (e.g. MLP(..., outputs=C)); this model has {n_classes} output (use the logistic loss with labels -1/+1)")
        y = np.asarray(y, dtype=np.float64)
        bad = ~((y == np.round(y)) & (y >= 0) & (y <= n_classes - 1))
        if np.any(bad):
            v = y[bad][0]
            raise ValueError(f"cross-entropy labels y must be integers in 0..{n_classes - 1} (the model has outputs={n_classes}); received {v!r} at sample {int(np.flatnonzero(bad)[0])}")


LOSSES["cross-entropy"] = CrossEntropy
__all__ += ["CrossEntropy", "CallableLoss"]
