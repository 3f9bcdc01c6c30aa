r"""The implicit-gradient-regularization (IGR) modified loss of gradient descent (Barrett & Dherin 2021).

barrett-dherin2021: D. G. T. Barrett, B. Dherin, *Implicit Gradient Regularization*, ICLR 2021
(Thm 3.1); surveyed in vardi2022 §5. GD with step ``eta``, ``theta_{k+1} = theta_k - eta grad L``,
stays ``O(eta)`` close to the gradient flow of ``L`` at ``t = k eta`` but ``O(eta^2)`` close to the
gradient flow of the *modified loss*

.. math:: \tilde L(\theta) = L(\theta) + \frac{\eta}{4} \|\nabla L(\theta)\|^2,
          \qquad \nabla \tilde L = \nabla L + \frac{\eta}{2} H(\theta) \nabla L,

with ``H`` the Hessian of ``L``. *Derivation* (backward error analysis): look for a flow
``theta' = f_0 + eta f_1`` whose time-``eta`` map agrees with one GD step to ``O(eta^3)``; the
Taylor series of the flow gives ``theta(eta) = theta + eta f_0 + eta^2 (f_1 + (1/2) f_0' f_0) +
O(eta^3)``, so ``f_0 = -grad L`` and ``f_1 = -(1/2) H grad L = -(1/4) grad ||grad L||^2``.

The Hessian is never formed: ``H grad L`` is a Hessian-vector product, ``jax.jvp`` of ``grad L`` in
the direction ``grad L`` (forward over reverse: about two gradient evaluations).
:class:`~implicit_bias.algorithms.GradientFlow` follows the flow of ``L~`` with
``objective="igr", lr=eta``.
"""

from __future__ import annotations

import jax

from ._base import Objective

__all__ = ["FLOW_OBJECTIVES", "igr_loss", "igr_gradient"]

#: The objectives :class:`~implicit_bias.algorithms.GradientFlow` can follow (``algorithm.objective``
#: in configs, ``--objective`` in ``ibias fit``): ``loss`` (``L``) and ``igr`` (``L + (lr/4)
#: ||grad L||^2``, the modified loss of GD with step ``lr``).
FLOW_OBJECTIVES = ("loss", "igr")


def igr_loss(objective: Objective, params, lr):
    r"""The modified loss ``L~(theta) = L(theta) + (lr/4) ||grad L(theta)||^2`` (barrett-dherin2021 Eq. 1).

    Args:
        objective: the training objective ``L`` (:class:`~implicit_bias.algorithms.Objective`).
        params: the parameters (a pytree of arrays, the model's parameter names).
        lr: the step size ``eta`` of the GD whose modified loss this is (a scalar ``> 0``).

    Returns:
        the scalar ``L~(params)``.

    Example:
        >>> import numpy as np, implicit_bias as ib
        >>> from implicit_bias.algorithms import Objective, igr_loss
        >>> X, y = np.eye(2), np.zeros(2)
        >>> obj = Objective(ib.models.Linear(2), ib.losses.get_loss("square"), X, y)
        >>> # L = ||w||^2 / 4, grad L = w / 2: L~ = 1/4 + 0.1/4 * 1/4 at w = (1, 0)
        >>> round(float(igr_loss(obj, {"w": np.array([1.0, 0.0])}, 0.1)), 12)
        0.25625
    """
    g = jax.grad(objective.value)(params)
    sq = sum(jax.numpy.vdot(a, a) for a in jax.tree_util.tree_leaves(g))
    return objective.value(params) + 0.25 * lr * sq


def igr_gradient(objective: Objective, params, lr):
    r"""``grad L~ = grad L + (lr/2) H grad L``, the gradient of :func:`igr_loss`.

    ``H grad L`` is the Hessian-vector product ``jax.jvp(grad L, (params,), (grad L,))`` (forward
    over reverse; the Hessian is never formed).

    Args:
        objective: the training objective ``L``.
        params: the parameters (a pytree).
        lr: the step size ``eta`` (scalar).

    Returns:
        a pytree like ``params``.

    Example:
        >>> import numpy as np, implicit_bias as ib
        >>> from implicit_bias.algorithms import Objective, igr_gradient
        >>> obj = Objective(ib.models.Linear(2), ib.losses.get_loss("square"), np.eye(2), np.zeros(2))
        >>> # H = I/2: grad L~ = w/2 + 0.1/2 * w/4
        >>> [round(float(v), 12) for v in igr_gradient(obj, {"w": np.array([1.0, 0.0])}, 0.1)["w"]]
        [0.5125, 0.0]
    """
    grad = jax.grad(objective.value)
    g, hg = jax.jvp(grad, (params,), (grad(params),))
    return jax.tree_util.tree_map(lambda a, b: a + 0.5 * lr * b, g, hg)
