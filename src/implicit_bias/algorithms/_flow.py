"""Gradient flow ``d theta / dt = -grad L(theta)`` as an ODE solved by diffrax: the concrete
:class:`~implicit_bias.algorithms.AbstractFlow` algorithms (:class:`GradientFlow`, the reduced
:class:`ReducedFlow`), their solvers (:data:`SOLVERS`) and time variables (:data:`CLOCKS`)."""

from __future__ import annotations

from typing import ClassVar

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

from ..models import Diagonal
from ._base import AbstractFlow, FlowCode, Objective, as_float
from ._modified import FLOW_OBJECTIVES, igr_gradient

__all__ = ["GradientFlow", "ReducedFlow", "SOLVERS", "CLOCKS", "get_solver"]

#: ODE solvers by name (``algorithm.solver`` in configs, ``--solver`` in ``ibias fit``):
#: explicit Runge-Kutta for non-stiff flows, ``kvaerno5`` (implicit, L-stable) for stiff ones
#: (diagonal nets at large depth and scale, ``|s| -> 1``, tiny scales).
SOLVERS = {"tsit5": diffrax.Tsit5, "dopri5": diffrax.Dopri5, "dopri8": diffrax.Dopri8, "kvaerno5": diffrax.Kvaerno5}


def get_solver(name: str) -> diffrax.AbstractSolver:
    """A diffrax solver from its name in :data:`SOLVERS`."""
    if name not in SOLVERS:
        raise ValueError(f"unknown ODE solver {name!r}: use one of {', '.join(SOLVERS)}")
    return SOLVERS[name]()

#: The flows' time variables (``algorithm.clock`` in configs, ``--clock`` in ``ibias fit``): see
#: :class:`GradientFlow`.
CLOCKS = ("time", "normalized", "accuracy")


def _optional_float(x):
    """``None`` or a float64 numpy scalar (see :func:`~implicit_bias.algorithms.as_float`)."""
    return None if x is None else as_float(x)


class GradientFlow(AbstractFlow):
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
        clock: the flow's time variable (the *path* of the flow is the same for all three):
            ``"time"``: ``theta' = -grad L`` (flow time ``t``); ``"normalized"``:
            ``theta' = -grad L / L = -grad log L``, time ``tau = int L dt`` (the flow of
            :class:`~implicit_bias.algorithms.NormalizedGD`, moroshko2020); ``"accuracy"``:
            ``d theta/d gamma = -grad log L / ||grad log L||^2``, time = training accuracy
            gained, ``gamma(t) - gamma(0)`` with ``gamma = -log L``. For separable
            classification ``t`` grows like ``e^gamma``, so reaching ``gamma = 1e12`` in flow
            time is hopeless, while in ``"accuracy"`` time it is a path of length ``1e12``
            whose direction settles (the solver's steps grow geometrically). ``Stop(max_time=...)``
            and ``Record(times=...)`` refer to the chosen clock.
        objective: the function whose flow is followed (:data:`FLOW_OBJECTIVES`): ``"loss"``
            (default), ``L``; ``"igr"``, the modified loss ``L~ = L + (lr/4) ||grad L||^2`` of GD
            with step ``lr`` (barrett-dherin2021; :func:`~implicit_bias.algorithms.igr_gradient`):
            GD after ``k`` steps is ``O(lr^2)`` from this flow at ``t = k lr`` (``O(lr)`` from the
            flow of ``L``). Needs ``lr`` and the ``"time"`` clock. Stopping targets, recorded
            losses and statuses still refer to ``L``.
        lr: the step size ``eta`` of the modified loss (``objective="igr"`` only; ``>= 0``:
            ``lr = 0`` is the flow of ``L``, which lets one batch of :func:`~implicit_bias.train_many`
            hold both flows in one compiled program).

    Warning:
        A flow with no stopping target runs to ``Stop(max_time=...)``; without either,
        :func:`~implicit_bias.train` refuses to start.

    Example:
        >>> import implicit_bias as ib
        >>> ds = ib.data.random_regression(n=4, d=8, seed=0)
        >>> alg = ib.GradientFlow(objective="igr", lr=0.1, rtol=1e-12, atol=1e-14)
        >>> run = ib.train(ib.models.Diagonal(8, scale=0.5), ds, "square", alg, ib.Stop(max_time=1.0))
        >>> run.status, run.time
        ('max_time', 1.0)
    """

    rtol: np.ndarray = eqx.field(default=1e-10, converter=as_float)
    atol: np.ndarray = eqx.field(default=1e-12, converter=as_float)
    solver: diffrax.AbstractSolver = eqx.field(default_factory=diffrax.Tsit5)
    max_steps: int = eqx.field(default=100_000, static=True)
    clock: str = eqx.field(default="time", static=True)
    objective: str = eqx.field(default="loss", static=True)
    lr: np.ndarray | None = eqx.field(default=None, converter=_optional_float)
    name: ClassVar[str] = "flow"

    def __check_init__(self):
        if not (self.rtol > 0 and self.atol > 0):
            raise ValueError(f"GradientFlow: rtol and atol must be > 0; received rtol={self.rtol}, atol={self.atol}")
        _check_clock("GradientFlow", self.clock)
        _check_objective(self.objective, self.lr, self.clock)

    def solve_segment(self, objective: Objective, params, state, t0, t1, target_log):
        """Integrate from ``t0`` to ``t1`` or to the event ``log L = target_log``.

        Returns ``(params, state, t_end, n_steps, code)`` with ``code`` a
        :class:`~implicit_bias.algorithms.FlowCode`: ``OK`` (reached ``t1``), ``EVENT`` (target
        reached), ``MAX_STEPS`` (``max_steps`` hit), ``FAILED`` (non-finite values, step size
        collapse). The flow has no state: its state is the parameters.
        """
        return _solve_segment(self, objective, params, state, *_times(t0, t1, target_log))


class ReducedFlow(AbstractFlow):
    r"""Exact gradient flow of a diagonal network as an ``N``-dimensional ODE in ``nu``.

    For a model whose flow integrates per coordinate in closed form
    (:meth:`~implicit_bias.models.Diagonal.flow_params`: tied diagonal nets of any depth,
    untied of depth <= 2, any initialization), gradient flow on ``L = ell(X w(theta))`` is

    .. math:: \theta(t) = \Theta(\theta_0, X^\top \nu(t)), \qquad
              \nu' = -\nabla_f \ell\big(X\, w(\Theta(\theta_0, X^\top \nu))\big),
              \quad \nu(0) = 0,

    with ``nu (N,)``, ``X (N, d)``, ``w`` the model's predictor and ``Theta`` the closed form.
    *Derivation:* ``theta' = -grad_theta L = -J_w(theta)^T X^T g`` with ``g = grad_f ell``;
    for diagonal nets ``J_w`` is diagonal per coordinate, so each coordinate's ODE is driven
    by the scalar ``z_i' = -(X^T g)_i`` alone and integrates in closed form; ``z = X^T nu``
    with ``nu' = -g``. For the square loss ``1/(2N)||Xw - y||^2``, ``nu' = (y - X w)/N``.

    It is the same flow as :class:`GradientFlow` (tested to agree along whole trajectories),
    but in ``N`` instead of ``P = 2d`` (tied) or ``4d`` (untied) unknowns, so each step is
    cheap and an implicit (stiff) solver such as ``Kvaerno5`` only needs ``N x N`` Jacobians.
    Use it for long and extreme runs (tiny scales, ``|s| -> 1``, large ``N``/``d``); checks of
    the theory use the parameter-space route.

    Tolerances act on ``nu``, whose scale is that of ``w`` divided by ``W'(z) ||X||``: in the
    kernel regime (``W' ~ 4 alpha (1+s^2)/(1-s^2)`` large) ``nu`` is tiny, and an absolute
    tolerance of ``1e-12`` lets the local errors, amplified by ``W' X^T``, hold the loss above
    ~``1e-11`` for ever (measured: alpha = 10, s = 0.995, N = 100, d = 1000). Hence the tiny
    default ``atol``.

    Args:
        rtol: relative tolerance of the step-size controller (on ``nu``).
        atol: absolute tolerance of the step-size controller (on ``nu``).
        solver: a diffrax solver (default ``Tsit5()``, ~10x cheaper per step than
            ``Kvaerno5()`` when the flow is not stiff).
        max_steps: solver steps allowed per recorded segment.
        clock: ``"time"``, ``"normalized"`` or ``"accuracy"`` as for :class:`GradientFlow`; in
            the reduced coordinates ``nu' = -grad_f log ell`` (normalized) and
            ``d nu/d gamma = v / (v^T J v)`` with ``v = -grad_f log ell`` and
            ``J = d f/d nu = X W'(z) X^T`` (a Jacobian-vector product) for ``"accuracy"``.

    Example:
        >>> import implicit_bias as ib
        >>> ds = ib.data.sparse_regression(n=10, d=30, sparsity=2, seed=0)
        >>> m = ib.models.Diagonal(30, depth=2, tied=False, scale=0.01, shape=0.5)
        >>> run = ib.train(m, ds, "square", ib.ReducedFlow(), ib.Stop(loss=1e-20))
        >>> run.status
        'converged'
    """

    rtol: np.ndarray = eqx.field(default=1e-10, converter=as_float)
    atol: np.ndarray = eqx.field(default=1e-16, converter=as_float)
    solver: diffrax.AbstractSolver = eqx.field(default_factory=diffrax.Tsit5)
    max_steps: int = eqx.field(default=100_000, static=True)
    clock: str = eqx.field(default="time", static=True)
    name: ClassVar[str] = "reduced"

    def __check_init__(self):
        if not (self.rtol > 0 and self.atol > 0):
            raise ValueError(f"ReducedFlow: rtol and atol must be > 0; received rtol={self.rtol}, atol={self.atol}")
        _check_clock("ReducedFlow", self.clock)

    def init_state(self, objective: Objective, params):
        """``(theta_0, nu = 0)``; checks that the model has a closed-form flow."""
        model = objective.model
        if not model.has_flow_map:
            raise ValueError(
                f"ReducedFlow needs a model whose gradient flow has a closed form (tied diagonal nets, untied of depth <= 2); "
                f"{type(model).__name__}{f' (depth {model.depth}, untied)' if isinstance(model, Diagonal) else ''} has none: use --algorithm flow"
            )
        return (params, jnp.zeros(objective.X.shape[:-1], dtype=jnp.float64))

    def solve_segment(self, objective: Objective, params, state, t0, t1, target_log):
        """As :meth:`GradientFlow.solve_segment`, integrating ``nu``."""
        return _solve_reduced(self, objective, params, state, *_times(t0, t1, target_log))


def _check_objective(objective, lr, clock):
    if objective not in FLOW_OBJECTIVES:
        raise ValueError(f"GradientFlow: unknown objective {objective!r}; use one of {', '.join(FLOW_OBJECTIVES)}")
    if objective == "loss" and lr is not None:
        raise ValueError("GradientFlow: lr applies to objective='igr' (the modified loss of GD with step lr); drop lr or set objective='igr'")
    if objective == "igr":
        if lr is None or not (np.ndim(lr) == 0 and np.isfinite(lr) and lr >= 0):
            raise ValueError(f"GradientFlow: objective='igr' needs the step size it models: lr a finite number >= 0; received lr={None if lr is None else lr.tolist()}")
        if clock != "time":
            raise ValueError(f"GradientFlow: objective='igr' follows the flow in time t = k lr; use clock='time', not {clock!r}")


def _check_clock(who, clock):
    if clock not in CLOCKS:
        raise ValueError(f"{who}: unknown clock {clock!r}; use one of {', '.join(CLOCKS)}")


def _tree_dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def _times(t0, t1, target_log):
    return tuple(jnp.asarray(a, jnp.float64) for a in (t0, t1, target_log))


def _finite_rms_norm(tree):
    """diffrax's RMS norm, but ``inf`` where it is not finite.

    A trial step that overflows the vector field (e.g. ``cosh`` of a huge argument in a reduced
    flow) can give an error estimate ``inf - inf = nan``; with diffrax's default norm the PID
    controller then sets ``dt = nan`` and rejects every later step (measured: azulay2021
    Fig. 7.1 at alpha = 10, s = 0.9826, 100000 rejected steps). With ``inf`` the step is
    rejected and shrunk by ``factormin``, as for any too-large step."""
    r = optx.rms_norm(tree)
    return jnp.where(jnp.isfinite(r), r, jnp.inf)


def _integrate(method, vf, log_value, y0, t0, t1, target_log):
    """One diffrax solve of ``y' = vf(y)`` from ``t0`` to ``t1`` or the exact root of
    ``log_value(y) = target_log``: ``(y_end, t_end, n_steps, code)``."""

    def cond_fn(t, y, args, **kwargs):  # diffrax passes t, y, args by keyword
        return log_value(y) - target_log

    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, y, args: vf(y)),
        method.solver,
        t0,
        t1,
        None,
        y0,
        stepsize_controller=diffrax.PIDController(rtol=method.rtol, atol=method.atol, norm=_finite_rms_norm),
        saveat=diffrax.SaveAt(t1=True),
        event=diffrax.Event(cond_fn, root_finder=optx.Newton(rtol=1e-7, atol=1e-7)),
        max_steps=method.max_steps,
        throw=False,
    )
    y_end = jax.tree_util.tree_map(lambda a: a[-1], sol.ys)
    res = sol.result
    event_hit = jnp.any(jnp.asarray(jax.tree_util.tree_leaves(sol.event_mask))) if sol.event_mask is not None else jnp.array(False)
    # An event whose root find stopped short of its tolerance still ends inside the last step
    # (the time is then located to the interpolant's accuracy): count it as the event.
    code = jnp.where(
        event_hit | (res == diffrax.RESULTS.event_occurred),
        FlowCode.EVENT,
        jnp.where(
            res == diffrax.RESULTS.successful,
            FlowCode.OK,
            jnp.where(res == diffrax.RESULTS.max_steps_reached, FlowCode.MAX_STEPS, FlowCode.FAILED),
        ),
    )
    return y_end, sol.ts[-1], sol.stats["num_accepted_steps"], code


@eqx.filter_jit
def _solve_segment(flow: GradientFlow, objective: Objective, params, state, t0, t1, target_log):
    def vf(p):
        if flow.objective == "igr":
            return jax.tree_util.tree_map(jnp.negative, igr_gradient(objective, p, flow.lr))
        if flow.clock == "time":
            return jax.tree_util.tree_map(jnp.negative, jax.grad(objective.value)(p))
        g = jax.grad(objective.log_value)(p)
        scale = -1.0 if flow.clock == "normalized" else -1.0 / _tree_dot(g, g)
        return jax.tree_util.tree_map(lambda a: scale * a, g)

    p_end, t_end, n, code = _integrate(flow, vf, objective.log_value, params, t0, t1, target_log)
    return p_end, state, t_end, n, code


@eqx.filter_jit
def _solve_reduced(flow: ReducedFlow, objective: Objective, params, state, t0, t1, target_log):
    p0, nu0 = state
    model, X, y = objective.model, objective.X, objective.y

    def outputs(nu):
        return X @ model.flow_predictor(p0, X.T @ nu)

    def vf(nu):
        if flow.clock == "time":
            return -jax.grad(lambda f: objective.loss(f, y))(outputs(nu))
        v = -jax.grad(lambda f: objective.loss.log_loss(f, y))(outputs(nu))
        if flow.clock == "normalized":
            return v
        _, jv = jax.jvp(outputs, (nu,), (v,))
        return v / jnp.vdot(v, jv)

    def log_value(nu):
        return objective.loss.log_loss(outputs(nu), y)

    nu_end, t_end, n, code = _integrate(flow, vf, log_value, nu0, t0, t1, target_log)
    return model.flow_params(p0, X.T @ nu_end), (p0, nu_end), t_end, n, code
