"""Algorithm protocol and the objective the algorithms act on."""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..losses import AbstractLoss
from ..models import AbstractModel

__all__ = ["Objective", "AbstractAlgorithm", "AbstractDiscreteAlgorithm", "as_float"]


def as_float(x):
    """Converter for numeric hyperparameters: a float64 numpy scalar, so that jit treats it as
    data and a new value does not trigger recompilation."""
    return np.asarray(x, dtype=np.float64)


class Objective(eqx.Module):
    """The training objective ``L(params) = loss(model.apply(params, X), y)``.

    Args:
        model: the model.
        loss: the loss (mean over samples, DESIGN.md conventions).
        X: inputs ``(N, d)``; y: targets ``(N,)``.
    """

    model: AbstractModel
    loss: AbstractLoss
    X: jax.Array
    y: jax.Array

    @property
    def n(self) -> int:
        return self.X.shape[0]

    def value(self, params):
        """``L(params)``."""
        return self.loss(self.model.apply(params, self.X), self.y)

    def log_value(self, params):
        """``log L(params)`` in log domain."""
        return self.loss.log_loss(self.model.apply(params, self.X), self.y)

    def batch_value(self, params, idx):
        """Mean loss over the samples ``idx`` (a minibatch)."""
        return self.loss(self.model.apply(params, self.X[idx]), self.y[idx])


class AbstractAlgorithm(eqx.Module):
    """A training algorithm plugged into :func:`implicit_bias.train`."""

    name: ClassVar[str] = ""
    continuous: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False  # uses the per-step random key (SGD, label noise, ...)


class AbstractDiscreteAlgorithm(AbstractAlgorithm):
    """An iterative algorithm ``params_{k+1} = update(params_k)``.

    Subclasses define ``init_state`` and ``step``. ``step`` returns the new parameters and
    state and ``log L`` (full-batch, log domain) at the *input* parameters: the training loop
    uses it to stop before stepping past a target, at no extra cost for full-batch methods.
    One step advances the training time by ``lr`` (``time = lr * steps``).

    The training loop rejects a step whose new parameters are not finite (it returns the last
    finite ones with status ``diverged``) by checking every parameter after every step. A
    subclass that folds that check into its own step sets ``checks_finite = True`` and then
    must return ``log L = NaN`` whenever any new parameter is NaN or infinite; the loop skips
    its own check (a reduction over all parameters, which for a cheap step over many
    parameters can cost as much as the step itself).
    """

    checks_finite: ClassVar[bool] = False

    def init_state(self, objective: Objective, params):
        """Algorithm state carried across steps (default: none)."""
        return ()

    @abc.abstractmethod
    def step(self, objective: Objective, params, state, key):
        """One update: ``(params_new, state_new, log L(params))``."""
