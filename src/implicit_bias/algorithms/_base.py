"""Algorithm protocol and the objective the algorithms act on.

The seams between the training loop (:mod:`implicit_bias.train`) and the algorithms are declared
here: :class:`AbstractDiscreteAlgorithm` (``step``, ``lr``), :class:`AbstractFlow`
(``solve_segment``, ``max_steps``), and the integer codes that cross the jitted boundary,
:class:`StepFlag` (how a discrete segment ended) and :class:`FlowCode` (how a flow segment
ended). A new algorithm subclasses one of the two abstract classes in its own module of this
package (discrete ones in ``_discrete.py``, ODE flows in ``_flow.py``).
"""

# no ``from __future__ import annotations`` here: equinox reads ``AbstractVar`` annotations at
# class creation, and a string annotation would make ``lr`` / ``max_steps`` the first field of
# every subclass (changing positional constructor arguments).
import abc
import enum
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..losses import AbstractLoss
from ..models import AbstractModel

__all__ = ["Objective", "AbstractAlgorithm", "AbstractDiscreteAlgorithm", "AbstractFlow", "StepFlag", "FlowCode", "as_float"]


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


class StepFlag(enum.IntEnum):
    """How a discrete segment of the training loop ended (an integer inside the jitted loop)."""

    BUDGET = 0  # the segment's step budget was reached (no other event)
    TARGET = 1  # the loss/accuracy target was reached
    NONFINITE = 2  # the loss or the new parameters became NaN/Inf; the last finite ones are kept


class FlowCode(enum.IntEnum):
    """How one flow segment (:meth:`AbstractFlow.solve_segment`) ended (an integer inside jit)."""

    OK = 0  # reached the segment's end time t1
    EVENT = 1  # the target event log L = target_log was reached
    MAX_STEPS = 2  # the solver used its max_steps in this segment
    FAILED = 3  # solver failure: non-finite values, step size collapse


class AbstractAlgorithm(eqx.Module):
    """A training algorithm plugged into :func:`implicit_bias.train`.

    Concrete algorithms subclass :class:`AbstractDiscreteAlgorithm` or :class:`AbstractFlow`,
    the two kinds the training loop runs.
    """

    name: ClassVar[str] = ""
    continuous: ClassVar[bool] = False
    stochastic: ClassVar[bool] = False  # uses the per-step random key (SGD, label noise, ...)

    def init_state(self, objective: Objective, params):
        """Algorithm state carried across steps or segments (default: none)."""
        return ()


class AbstractDiscreteAlgorithm(AbstractAlgorithm):
    """An iterative algorithm ``params_{k+1} = update(params_k)``.

    Subclasses declare the step size ``lr`` and define ``step`` (and ``init_state`` if they
    carry a state). ``step`` returns the new parameters and state and ``log L`` (full-batch,
    log domain) at the *input* parameters: the training loop uses it to stop before stepping
    past a target, at no extra cost for full-batch methods. One step advances the training time
    by ``lr`` (``time = lr * steps``).

    The training loop rejects a step whose new parameters are not finite (it returns the last
    finite ones with status ``diverged``) by checking every parameter after every step. A
    subclass that folds that check into its own step sets ``checks_finite = True`` and then
    must return ``log L = NaN`` whenever any new parameter is NaN or infinite; the loop skips
    its own check (a reduction over all parameters, which for a cheap step over many
    parameters can cost as much as the step itself).
    """

    lr: eqx.AbstractVar[np.ndarray]  # the step size: training time advances by lr per step
    checks_finite: ClassVar[bool] = False

    @abc.abstractmethod
    def step(self, objective: Objective, params, state, key):
        """One update: ``(params_new, state_new, log L(params))``."""


class AbstractFlow(AbstractAlgorithm):
    """A continuous-time flow, integrated by the training loop one segment at a time.

    Subclasses declare ``max_steps`` (solver steps allowed per segment) and define
    ``solve_segment``; the training time is the flow's own clock.
    """

    max_steps: eqx.AbstractVar[int]
    continuous: ClassVar[bool] = True

    @abc.abstractmethod
    def solve_segment(self, objective: Objective, params, state, t0, t1, target_log):
        """Integrate from ``t0`` to ``t1`` or to the event ``log L = target_log``.

        Returns ``(params, state, t_end, n_steps, code)`` with ``code`` a :class:`FlowCode`
        (``OK``: reached ``t1``; ``EVENT``: target reached; ``MAX_STEPS``: ``max_steps`` hit;
        ``FAILED``: non-finite values or step size collapse).
        """
