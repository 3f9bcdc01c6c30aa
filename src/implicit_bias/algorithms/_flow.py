"""Gradient flow ``d theta / dt = -grad L(theta)`` as an ODE solved by diffrax."""

from __future__ import annotations

from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ._base import AbstractAlgorithm, Objective, as_float

__all__ = ["GradientFlow"]

# diffrax result codes mapped to our run statuses.
_OK, _EVENT, _MAX_STEPS, _FAILED = 0, 1, 2, 3


class GradientFlow(AbstractAlgorithm):
    """Gradient flow ``d theta/dt = -grad L(theta)``: the ``eta -> 0`` limit of GD.

    Solved by diffrax with an adaptive explicit Runge-Kutta method (``Tsit5``) and a PID
    step-size controller at relative/absolute tolerances ``rtol``/``atol``. A stopping target
    (``Stop(loss=...)`` or ``Stop(training_accuracy=...)``) is a continuous event on
    ``log L(theta(t)) - log L_target`` whose crossing time is located by a Newton root find,
    so the flow stops exactly on the target rather than at the end of a step (no overshoot).

    Time ``t`` is the flow time: GD with step ``eta`` after ``k`` steps approximates
    ``theta(k eta)`` with error ``O(eta)``.

    For models linear in the parameters every stage increment lies in the span of the data,
    so invariants such as ``P_ker(X) (w(t) - w(0)) = 0`` hold to round-off whatever the
    tolerance.

    Args:
        rtol: relative tolerance of the step-size controller.
        atol: absolute tolerance of the step-size controller.
        solver: a diffrax solver (default ``Tsit5()``; use ``Kvaerno5()`` for stiff problems,
            e.g. badly conditioned least squares).
        max_steps: solver steps allowed per recorded segment.

    Warning:
        A flow with no stopping target runs to ``Stop(max_time=...)``; without either,
        :func:`~implicit_bias.train` refuses to start.
    """

    rtol: np.ndarray = eqx.field(default=1e-10, converter=as_float)
    atol: np.ndarray = eqx.field(default=1e-12, converter=as_float)
    solver: diffrax.AbstractSolver = eqx.field(default_factory=diffrax.Tsit5)
    max_steps: int = eqx.field(default=100_000, static=True)
    name: ClassVar[str] = "flow"
    continuous: ClassVar[bool] = True

    def __check_init__(self):
        if not (self.rtol > 0 and self.atol > 0):
            raise ValueError(f"GradientFlow: rtol and atol must be > 0; received rtol={self.rtol}, atol={self.atol}")

    def solve_segment(self, objective: Objective, params, t0, t1, target_log):
        """Integrate from ``t0`` to ``t1`` or to the event ``log L = target_log``.

        Returns ``(params, t_end, n_steps, code)`` with ``code`` 0 (reached ``t1``), 1 (target
        reached), 2 (``max_steps`` hit), 3 (solver failure: non-finite values, step size
        collapse).
        """
        return _solve_segment(self, objective, params, jnp.asarray(t0, jnp.float64), jnp.asarray(t1, jnp.float64), jnp.asarray(target_log, jnp.float64))


@eqx.filter_jit
def _solve_segment(flow: GradientFlow, objective: Objective, params, t0, t1, target_log):
    def vf(t, p, args):
        g = jax.grad(objective.value)(p)
        return jax.tree_util.tree_map(jnp.negative, g)

    def cond_fn(t, y, args, **kwargs):  # diffrax passes t, y, args by keyword
        return objective.log_value(y) - target_log

    term = diffrax.ODETerm(vf)
    event = diffrax.Event(cond_fn, root_finder=optx.Newton(rtol=1e-7, atol=1e-7))
    ctrl = diffrax.PIDController(rtol=flow.rtol, atol=flow.atol)
    sol = diffrax.diffeqsolve(
        term,
        flow.solver,
        t0,
        t1,
        None,
        params,
        stepsize_controller=ctrl,
        saveat=diffrax.SaveAt(t1=True),
        event=event,
        max_steps=flow.max_steps,
        throw=False,
    )
    p_end = jax.tree_util.tree_map(lambda a: a[-1], sol.ys)
    t_end = sol.ts[-1]
    res = sol.result
    event_hit = jnp.any(jnp.asarray(jax.tree_util.tree_leaves(sol.event_mask))) if sol.event_mask is not None else jnp.array(False)
    # An event whose root find stopped short of its tolerance still ends inside the last step
    # (the time is then located to the interpolant's accuracy): count it as the event.
    code = jnp.where(
        event_hit | (res == diffrax.RESULTS.event_occurred),
        _EVENT,
        jnp.where(
            res == diffrax.RESULTS.successful,
            _OK,
            jnp.where(res == diffrax.RESULTS.max_steps_reached, _MAX_STEPS, _FAILED),
        ),
    )
    return p_end, t_end, sol.stats["num_accepted_steps"], code
