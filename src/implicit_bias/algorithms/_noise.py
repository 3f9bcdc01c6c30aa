"""Noisy discrete algorithms: SGD with label noise, and GD with parameter noise (SGLD-style control).

Label noise (vardi2022 §5; Blanc et al. 2020; HaoChen et al. 2021; Damian et al. 2021;
Pillaud-Vivien et al. 2022): SGD on labels perturbed by fresh noise at every step has an implicit
bias of its own: on a diagonal linear network it finds sparse interpolants even from large
initializations, where noise-free training stays l2-like. Parameter noise of the same kind on
every weight (Langevin dynamics) is the control that does not. Both draw their randomness from
the per-step key of the one training loop (``fold_in(fold_in(key(seed), 1), step)``): same seed,
same numbers.
"""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._base import AbstractDiscreteAlgorithm, as_float
from ._discrete import check_lr, sample_batch

__all__ = ["LabelNoiseSGD", "ParamNoiseGD"]


def _check(name, lr, noise):
    check_lr(name, lr)
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"{name}: noise must be a finite number >= 0 (a standard deviation); received {float(noise)!r}")


class LabelNoiseSGD(AbstractDiscreteAlgorithm):
    r"""Minibatch SGD on labels perturbed by fresh Gaussian noise at every step.

    .. math:: \theta_{k+1} = \theta_k - \eta \nabla_\theta \frac{1}{|B_k|} \sum_{i \in B_k}
              \ell\big(f_\theta(x_i), y_i + \sigma \xi_{k,i}\big), \qquad \xi_{k,i} \sim N(0, 1),

    with ``eta = lr``, ``sigma = noise``, ``|B_k| = batch_size`` samples drawn without
    replacement as in :class:`SGD` (the same batch for the same key: :func:`sample_batch`), and
    the noise drawn from ``fold_in(key_k, 1)``, independent across steps. ``noise = 0`` is
    :class:`SGD` exactly; ``batch_size >= N`` is full-batch GD on noisy labels ("label-noise
    GD", HaoChen et al. 2021). Meant for the square loss (real-valued targets). The returned
    ``log L`` is the clean, full-batch loss at the input parameters; the loss does not go to
    zero, so stop on ``max_steps`` (or ``max_time``).

    Args:
        lr: step size ``eta > 0``.
        noise: label-noise standard deviation ``sigma >= 0``.
        batch_size: minibatch size ``>= 1``.

    Example:
        >>> from implicit_bias.algorithms import LabelNoiseSGD
        >>> LabelNoiseSGD(lr=0.01, noise=0.5, batch_size=4).name
        'label-noise-sgd'
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    noise: np.ndarray = eqx.field(default=0.1, converter=as_float)
    batch_size: int = eqx.field(default=1, static=True)
    name: ClassVar[str] = "label-noise-sgd"
    stochastic: ClassVar[bool] = True

    def __check_init__(self):
        _check("LabelNoiseSGD", self.lr, self.noise)
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"LabelNoiseSGD: batch_size must be a positive integer; received {self.batch_size!r}")

    def step(self, objective, params, state, key):
        idx = sample_batch(key, objective.n, self.batch_size)
        xi = jax.random.normal(jax.random.fold_in(key, 1), idx.shape, dtype=objective.y.dtype)
        noisy = eqx.tree_at(lambda o: o.y, objective, objective.y.at[idx].add(self.noise * xi))
        g = jax.grad(noisy.batch_value)(params, idx)
        new = jax.tree_util.tree_map(lambda p, gi: p - self.lr * gi, params, g)
        return new, state, objective.log_value(params)


class ParamNoiseGD(AbstractDiscreteAlgorithm):
    r"""Full-batch GD with isotropic Gaussian noise on every parameter (SGLD-style control).

    .. math:: \theta_{k+1} = \theta_k - \eta \nabla L(\theta_k) + \sigma \sqrt{\eta}\, \xi_k,
              \qquad \xi_k \sim N(0, I),

    ``eta = lr``, ``sigma = noise``: the Euler-Maruyama step of the Langevin diffusion
    ``d theta = -grad L dt + sigma dW`` (stochastic gradient Langevin dynamics at temperature
    ``sigma^2 / 2``), so runs with different ``lr`` see the same diffusion per unit of training
    time ``lr * steps``. ``noise = 0`` is :class:`GradientDescent` exactly. The noise of step
    ``k`` is drawn from the loop's per-step key.

    Args:
        lr: step size ``eta > 0``.
        noise: diffusion coefficient ``sigma >= 0``.

    Example:
        >>> from implicit_bias.algorithms import ParamNoiseGD
        >>> ParamNoiseGD(lr=0.01, noise=0.1).name
        'param-noise-gd'
    """

    lr: np.ndarray = eqx.field(default=0.1, converter=as_float)
    noise: np.ndarray = eqx.field(default=0.1, converter=as_float)
    name: ClassVar[str] = "param-noise-gd"
    stochastic: ClassVar[bool] = True

    def __check_init__(self):
        _check("ParamNoiseGD", self.lr, self.noise)

    def step(self, objective, params, state, key):
        lv, g = jax.value_and_grad(objective.value)(params)
        leaves, tree = jax.tree_util.tree_flatten(params)
        keys = jax.random.split(key, len(leaves))
        scale = self.noise * jnp.sqrt(self.lr)
        xi = jax.tree_util.tree_unflatten(tree, [jax.random.normal(k, p.shape, dtype=p.dtype) for k, p in zip(keys, leaves)])
        new = jax.tree_util.tree_map(lambda p, gi, z: p - self.lr * gi + scale * z, params, g, xi)
        return new, state, jnp.log(lv)
