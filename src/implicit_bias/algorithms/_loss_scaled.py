"""Loss-scaled gradient descent: a step on ``-grad L / L`` that shrinks as ``-log L`` grows."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._base import AbstractDiscreteAlgorithm, as_float
from ._discrete import check_lr

__all__ = ["LossScaledGD"]


class LossScaledGD(AbstractDiscreteAlgorithm):
    r"""Gradient descent with a loss-based step (Lyu & Li 2020 §6), exact in log domain.

    .. math::

        \theta_{k+1} = \theta_k - \frac{\mathrm{lr}}{(1 + \gamma_k)^{p}}\,
            \frac{\nabla L(\theta_k)}{L(\theta_k)},
        \qquad \gamma_k = \max(0, -\log L(\theta_k)),

    with ``grad L / L = grad log L`` computed from the log-domain loss, so the step stays exact
    when ``L`` underflows (training accuracies ``-log L`` in the thousands, ``L < 1e-300``).

    **The schedule.** For a model homogeneous of degree ``D`` (``model.homogeneity``) with norm
    ``ρ = ||θ||`` in the separable regime, ``-log L ≈ ρ^D γ`` (``γ`` the normalized margin), the
    gradient ``grad log L`` has norm of order ``D ρ^{D-1}`` and the curvature of ``log L`` along
    the directions that balance the support points is of order ``ρ^{2D-2} ∝ (-log L)^{2-2/D}``.
    A step ``lr / L`` (``p = 0``, i.e. :class:`NormalizedGD`) is therefore stable for ``D = 1``
    (linear models, moroshko2020 §6) but its effective step on the curvature scale grows like
    ``(-log L)^{2-2/D}`` for ``D >= 2`` and the direction never settles. The default
    ``p = 2 - 2/D`` keeps ``step x curvature`` constant: ``-log L`` then grows by an O(1) amount
    per step (linearly in steps) while the direction moves by ``O(1/(-log L))`` per step, which
    is what lets the KKT residual and ``1 - cos(θ, -grad L)`` fall as ``-log L`` grows
    (measured in ``tests/algorithms/test_loss_scaled.py`` and the ``lyu-li2020-*`` checks).
    For models with no known degree, ``p = 1``.

    Args:
        lr: base step ``> 0``; training time is reported as ``lr * steps``.
        power: the exponent ``p >= 0``; ``None`` (default) means ``2 - 2/D`` from the model's
            homogeneity degree ``D`` (``1`` if it has none).

    Raises:
        ValueError: ``lr`` not a finite positive number, ``power`` negative or not finite.

    Example:
        >>> import implicit_bias as ib, numpy as np
        >>> X = np.array([[1.0, 0.5], [-1.0, -0.3]]); y = np.array([1.0, -1.0])
        >>> run = ib.train(ib.models.MLP(2, (4,)), (X, y), "logistic", ib.algorithms.LossScaledGD(lr=0.2),
        ...                ib.Stop(training_accuracy=500, max_steps=20_000), seed=0)
        >>> run.status, run.training_accuracy >= 500, run.final_log_loss > -510
        ('converged', True, True)
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    power: float | None = eqx.field(default=None, static=True)
    name: ClassVar[str] = "loss-scaled-gd"

    def __check_init__(self):
        check_lr("LossScaledGD", self.lr)
        if self.power is not None and not (np.isfinite(self.power) and self.power >= 0):
            raise ValueError(f"LossScaledGD: power must be a finite number >= 0 (or None for 2 - 2/D); received {self.power!r}")

    def exponent(self, model) -> float:
        """The exponent ``p`` used for ``model``: ``power``, else ``2 - 2/D`` (``1`` without a degree ``D``)."""
        if self.power is not None:
            return float(self.power)
        D = model.homogeneity
        return 1.0 if D is None else 2.0 - 2.0 / D

    def step(self, objective, params, state, key):
        lv, g = jax.value_and_grad(objective.log_value)(params)
        eta = self.lr / (1.0 + jnp.maximum(-lv, 0.0)) ** self.exponent(objective.model)
        return jax.tree_util.tree_map(lambda p, gi: p - eta * gi, params, g), state, lv
