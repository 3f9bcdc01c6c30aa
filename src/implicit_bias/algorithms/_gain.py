"""Gradient descent that carries the trajectory sums of the effective initialization (even2023).

The effective initialization of GD on a depth-2 diagonal network
(:func:`implicit_bias.theory.effective_initialization`) is a function of three per-coordinate
sums over the whole trajectory of the predictor gradients ``g_k = grad_w L(w_k)``. Recording the
predictor at every step to form them afterwards costs one compiled segment per step; this
algorithm accumulates them inside the training loop instead, as its state, so a run costs what
plain GD costs. The parameter update is :class:`GradientDescent`'s.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._base import AbstractDiscreteAlgorithm, as_float
from ._discrete import check_lr

__all__ = ["GainSums", "GainTrackedGD"]


class GainSums(NamedTuple):
    """Per-coordinate sums over the steps ``k = 0..K-1`` taken so far (each ``(d,)``, ``d`` the
    predictor dimension), with ``g_k = grad_w L(w_k)`` and ``eta = lr``.

    Attributes:
        grad: ``sum_k g_k``.
        log_minus: ``sum_k log|1 - 2 eta g_k|`` (the factors of the ``u_+`` branch).
        log_plus: ``sum_k log|1 + 2 eta g_k|`` (the factors of the ``u_-`` branch).
    """

    grad: jax.Array
    log_minus: jax.Array
    log_plus: jax.Array


class GainTrackedGD(AbstractDiscreteAlgorithm):
    r"""Full-batch GD, ``theta_{k+1} = theta_k - eta grad L(theta_k)``, carrying :class:`GainSums`.

    The state is the running :class:`GainSums` of the predictor gradients

    .. math:: g_k = \nabla_w \ell(X w, y)\big|_{w = w_k}, \qquad w_k = \text{model.predictor}(\theta_k),

    so the model must have a linear predictor (``apply(theta, X) = X w``; e.g.
    :class:`~implicit_bias.models.Diagonal`). ``Run.state`` at the end of training holds the sums
    of every step taken, which
    :func:`implicit_bias.theory.effective_initialization_from_sums` turns into the effective
    initialization (even2023 Thm 1) without recording the trajectory. A factor ``1 -+ 2 eta g_k
    = 0`` makes a sum ``-inf`` (the theory function then refuses it).

    Args:
        lr: step size ``eta > 0``.

    Example:
        >>> from implicit_bias.algorithms import GainTrackedGD
        >>> GainTrackedGD(lr=0.1).name
        'gain-gd'
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    name: ClassVar[str] = "gain-gd"

    def __check_init__(self):
        check_lr("GainTrackedGD", self.lr)

    def init_state(self, objective, params):
        if not objective.model.has_predictor:
            raise ValueError(f"GainTrackedGD needs a model with a linear predictor (e.g. Diagonal); {type(objective.model).__name__} has none")
        z = jnp.zeros_like(jnp.asarray(objective.model.predictor(params)))
        return GainSums(z, z, z)

    def step(self, objective, params, state, key):
        lv, g = jax.value_and_grad(objective.value)(params)
        w = objective.model.predictor(params)
        gw = jax.grad(lambda v: objective.loss(objective.X @ v, objective.y))(w)
        x = 2.0 * self.lr * gw
        sums = GainSums(state.grad + gw, state.log_minus + jnp.log(jnp.abs(1.0 - x)), state.log_plus + jnp.log(jnp.abs(1.0 + x)))
        new = jax.tree_util.tree_map(lambda p, gi: p - self.lr * gi, params, g)
        return new, sums, jnp.log(lv)
