"""The one training loop: ``train(model, data, loss, algorithm, stop, record) -> Run``.

Every experiment and the CLI train through :func:`train`; algorithms are plugged-in strategy
objects (diffrax's ``diffeqsolve`` pattern). The loop runs in *segments* between recording
points: a discrete algorithm advances inside one jitted ``lax.while_loop`` that checks the stop
target before every step (so it never steps past it), and gradient flow advances by one
diffrax solve per segment with an exact event on the target. Between segments the host
records the trajectory, checks wall-clock limits and updates the progress bar.

:func:`train_many` (and :func:`train`, one point of it) runs in four steps: ``_prepare``
(checks, defaults, initial parameters, the points stacked for ``vmap``), ``_start`` (``log L``
at initialization, step 0 recorded), ``_discrete_loop`` or ``_flow_loop``, and ``_build_runs``.
The seams it reads are declared on the abstract classes: ``AbstractDiscreteAlgorithm.lr`` and
``step``, ``AbstractFlow.solve_segment`` and ``max_steps``, ``AbstractModel.input_dim``, and the
segment codes :class:`~implicit_bias.algorithms.StepFlag` / :class:`~implicit_bias.algorithms.FlowCode`.

Statuses of a :class:`Run`:

- ``converged``: the loss or training-accuracy target of :class:`Stop` was reached;
- ``max_steps`` / ``max_time`` / ``max_wall_time``: a budget ran out first;
- ``diverged``: the loss or the parameters became NaN/Inf (e.g. a step size past
  ``2/sharpness``); the run keeps the last finite parameters and says so, it never returns NaN
  as a result;
- ``failed``: the ODE solver failed for another reason.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import time as _time
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from . import _config  # noqa: F401
from .algorithms import AbstractAlgorithm, AbstractDiscreteAlgorithm, AbstractFlow, FlowCode, GradientFlow, Objective, StepFlag
from .data import Dataset
from .losses import AbstractLoss, get_loss
from .models import AbstractModel, check_params

__all__ = ["Stop", "Record", "Run", "train", "train_many", "STATUSES", "as_seed"]

STATUSES = ("converged", "max_steps", "max_time", "max_wall_time", "diverged", "dead", "failed")
_NO_TARGET = -1e300  # a log-loss target that is never reached


@dataclasses.dataclass(frozen=True)
class Stop:
    """When to stop: the first of these reached.

    Args:
        loss: stop when ``L <= loss``.
        training_accuracy: stop when ``-log L >= training_accuracy`` (moroshko2020's gamma; may
            be astronomically large, e.g. 1e12: the loss is tracked in log domain).
        max_steps: algorithm steps (solver steps for gradient flow).
        max_time: training time (flow time ``t``; ``lr * steps`` for discrete algorithms).
        max_wall_time: seconds of wall clock (checked between recording segments).
    """

    loss: float | None = None
    training_accuracy: float | None = None
    max_steps: int | None = 100_000
    max_time: float | None = None
    max_wall_time: float | None = None

    def __post_init__(self):
        for name in ("loss", "max_time", "max_wall_time"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"Stop: {name} must be a finite number > 0; received {v!r}")
        if self.training_accuracy is not None and not (math.isfinite(self.training_accuracy)):
            raise ValueError(f"Stop: training_accuracy must be finite; received {self.training_accuracy!r}")
        if self.max_steps is not None and not (isinstance(self.max_steps, (int, np.integer)) and self.max_steps >= 0):
            raise ValueError(f"Stop: max_steps must be a non-negative integer; received {self.max_steps!r}")

    @property
    def target_log_loss(self) -> float:
        """``log`` of the loss target implied by ``loss`` and ``training_accuracy``."""
        t = []
        if self.loss is not None:
            t.append(math.log(self.loss))
        if self.training_accuracy is not None:
            t.append(-float(self.training_accuracy))
        return max(t) if t else _NO_TARGET

    @property
    def has_target(self) -> bool:
        return self.loss is not None or self.training_accuracy is not None


@dataclasses.dataclass(frozen=True)
class Record:
    """What to record along training, and when.

    Args:
        fields: any of ``loss``, ``log_loss``, ``training_accuracy``, ``predictor``,
            ``params``, ``outputs`` (model outputs on the training inputs).
        steps: explicit step counts to record at (discrete algorithms).
        times: explicit training times to record at (flow time; ``lr * steps`` for discrete).
        growth: otherwise record on a geometric grid: step/time ``first * growth^k``.
        first: first non-zero recording time for gradient flow (steps start at 1).

    Step 0 (time 0) and the final state are always recorded.
    """

    fields: tuple = ("loss", "log_loss", "training_accuracy", "predictor")
    steps: Sequence[int] | None = None
    times: Sequence[float] | None = None
    growth: float = 1.1
    first: float = 1e-2

    _ALLOWED = ("loss", "log_loss", "training_accuracy", "predictor", "params", "outputs")

    def __post_init__(self):
        bad = [f for f in self.fields if f not in self._ALLOWED]
        if bad:
            raise ValueError(f"Record: unknown field(s) {bad}; allowed: {', '.join(self._ALLOWED)}")
        if not self.growth > 1:
            raise ValueError(f"Record: growth must be > 1; received {self.growth}")
        object.__setattr__(self, "fields", tuple(self.fields))

    @classmethod
    def coerce(cls, record) -> "Record":
        if record is None:
            return cls()
        if isinstance(record, Record):
            return record
        if isinstance(record, str):
            record = (record,)
        return cls(fields=tuple(record))

    def schedule(self, continuous: bool, lr: float):
        """Yield the recording points (steps for discrete, times for flows), increasing."""
        if self.times is not None:
            pts = sorted(float(t) for t in self.times if t > 0)
            if continuous:
                yield from pts
            else:
                yield from sorted({int(round(t / lr)) for t in pts if round(t / lr) > 0})
            return
        if self.steps is not None:
            if continuous:
                raise ValueError("Record(steps=...) applies to discrete algorithms; use Record(times=...) for gradient flow")
            if isinstance(self.steps, range) and self.steps.step > 0:  # increasing already: lazily
                yield from (s for s in self.steps if s > 0)
                return
            yield from sorted({int(s) for s in self.steps if s > 0})
            return
        if continuous:
            t = float(self.first)
            while True:
                yield t
                t *= self.growth
        else:
            s = 1
            while True:
                yield s
                s = max(s + 1, int(math.ceil(s * self.growth)))


class _Lazy:
    """A dataclass field that may be given as a zero-argument callable, called on first access
    and cached: ``Run.trajectory`` is built only when asked for (the first ``xarray.Dataset`` of
    a process imports dask.array and pandas, ~0.3 s, which a run that is only read for its final
    parameters need not pay)."""

    def __set_name__(self, owner, name):
        self.slot = "_lazy_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            raise AttributeError(self.slot)  # no default value for the dataclass field
        v = obj.__dict__[self.slot]
        if callable(v):
            v = v()
            obj.__dict__[self.slot] = v
        return v

    def __set__(self, obj, value):
        obj.__dict__[self.slot] = value


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """The result of :func:`train`.

    Attributes:
        status: one of ``STATUSES``.
        message: a readable sentence on why the run stopped.
        params: final parameters (dict of float64 numpy arrays, the same kind as ``predictor``;
            the last finite ones on divergence).
        final_loss, final_log_loss: ``L`` and ``log L`` at the final parameters.
        training_accuracy: ``-log L`` for classification losses, else ``None``.
        steps: algorithm (or solver) steps taken; time: training time reached;
        wall_time: seconds.
        trajectory: ``xarray.Dataset`` over the record dimension ``t`` with coordinates
            ``step`` and ``time`` and the recorded fields.
        model, loss, algorithm, data: what was trained.
        state: the algorithm's state after the last step taken (its ``init_state`` pytree, e.g.
            :class:`~implicit_bias.algorithms.GainSums`; ``()`` for stateless algorithms).
    """

    status: str
    message: str
    params: dict
    final_loss: float
    final_log_loss: float
    training_accuracy: float | None
    steps: int
    time: float
    wall_time: float
    trajectory: xr.Dataset = _Lazy()
    model: AbstractModel
    loss: AbstractLoss
    algorithm: AbstractAlgorithm
    data: Dataset
    state: object = ()

    @property
    def predictor(self) -> np.ndarray | None:
        """Equivalent linear predictor ``(d,)``, or ``None`` if the model has none."""
        if not self.model.has_predictor:
            return None
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged run's non-finite entries: its status says so, not a warning
            return np.asarray(self.model.predictor(self.params))

    def outputs(self, X) -> np.ndarray:
        """Model outputs at ``X (M, d)``."""
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite outputs of a diverged run: its status says so
            return np.asarray(self.model.apply(self.params, jnp.asarray(X, dtype=jnp.float64)))

    @property
    def converged(self) -> bool:
        return self.status == "converged"


# ----------------------------------------------------------------------------- jitted pieces


def _advance_core(algorithm: AbstractDiscreteAlgorithm, objective: Objective, params, state, seed, step0, until, target_log):
    """Run ``algorithm`` from ``step0`` until ``until`` steps or the target.

    Returns ``(params, state, step, flag, log_loss)``; ``flag`` a :class:`StepFlag`: ``BUDGET``
    (``until`` reached), ``TARGET`` (target reached), ``NONFINITE`` (non-finite loss or
    parameters; the returned parameters are the last finite ones); ``log_loss`` is ``log L`` at the returned parameters (with ``until = step0``: at the
    given ones), so that no second compiled program is needed for it. The algorithm's key,
    ``fold_in(key(seed), 1)``, is derived here, inside the compiled program (no host-side
    threefry compilations on a first call).
    """
    key = jax.random.fold_in(jax.random.key(seed), 1)

    def finite_tree(t):
        leaves = jax.tree_util.tree_leaves(t)
        return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(x)) for x in leaves]))

    def cond(c):
        _, _, step, flag = c
        return (flag == StepFlag.BUDGET) & (step < until)

    def body(c):
        p, s, step, _ = c
        k = jax.random.fold_in(key, step) if algorithm.stochastic else key  # deterministic: no per-step key
        p_new, s_new, lv = algorithm.step(objective, p, s, k)
        reached = lv <= target_log
        bad = jnp.isnan(lv) | (lv == jnp.inf)
        if not algorithm.checks_finite:  # else the step's lv is NaN for non-finite new parameters
            bad = bad | ~finite_tree(p_new)
        flag = jnp.where(reached, StepFlag.TARGET, jnp.where(bad, StepFlag.NONFINITE, StepFlag.BUDGET)).astype(jnp.int64)
        keep = flag != StepFlag.BUDGET
        p = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), p, p_new)
        s = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), s, s_new)
        return p, s, step + jnp.where(keep, 0, 1), flag

    p, s, step, flag = jax.lax.while_loop(cond, body, (params, state, step0, jnp.zeros((), dtype=jnp.int64)))  # flag BUDGET
    return p, s, step, flag, objective.log_value(p)


def _flow_core(algorithm: AbstractFlow, objective: Objective, params, state, t0, t1, target_log):
    return algorithm.solve_segment(objective, params, state, t0, t1, target_log)


def _log_value_core(params, objective: Objective):  # objective second, as in the other cores
    return objective.log_value(params)


# One jitted, vmapped function per (core, objective batched or shared, fast math); eqx caches
# compilations by argument structure, so a second call with new data of the same shapes does not
# recompile.
_BATCHED = {}

# XLA CPU options of ``train(..., fast_math=True)``: floating-point reassociation (and contraction,
# no signed zeros) only; NaN and Inf semantics, divisions and elementary functions stay exact, so
# divergence is still detected and reported. Ignored by other backends.
_FAST_MATH = {
    "xla_cpu_enable_fast_math": True,
    "xla_cpu_fast_math_honor_nans": True,
    "xla_cpu_fast_math_honor_infs": True,
    "xla_cpu_fast_math_honor_division": True,
    "xla_cpu_fast_math_honor_functions": True,
}


def _array_axis(leaf):
    return 0 if eqx.is_array(leaf) else None


def _batched(core, shared_data: bool, fast_math: bool = False):
    """``jit(vmap(core))`` with every argument batched on axis 0, except the data (and loss)
    inside the objective (argument 1) when all points share them."""
    k = (core, shared_data, fast_math)
    if k not in _BATCHED:
        n = core.__code__.co_argcount
        # Map array leaves only: non-array leaves (diffrax's implicit-solver tolerance
        # sentinels, Python constants) are the same for every point and stay unbatched.
        obj_axis = Objective(model=_array_axis, loss=None, X=None, y=None) if shared_data else _array_axis
        axes = tuple(obj_axis if i == 1 else _array_axis for i in range(n))
        _BATCHED[k] = eqx.filter_jit(eqx.filter_vmap(core, in_axes=axes), compiler_options=dict(_FAST_MATH) if fast_math else None)
    return _BATCHED[k]


def _stack(trees, what):
    """Stack the array leaves of equally structured pytrees along a new axis 0; other leaves
    (Python constants, solver sentinels, functions) must be equal across the trees and are
    kept once, unbatched."""
    dyn = [eqx.filter(t, eqx.is_array) for t in trees]
    static = eqx.filter(trees[0], eqx.is_array, inverse=True)
    for t in trees[1:]:
        if not eqx.tree_equal(eqx.filter(t, eqx.is_array, inverse=True), static):
            raise ValueError(f"these points cannot run as one vectorised batch: their {what} differ in non-numeric settings; run them separately")
    try:
        stacked = jax.tree_util.tree_map(_stack_leaves, *dyn)
    except ValueError as e:
        raise ValueError(f"these points cannot run as one vectorised batch: their {what} differ in structure ({str(e).splitlines()[0][:120]}); run them separately") from None
    return eqx.combine(stacked, static)


def _on_host(x) -> bool:
    """A numpy array, or a jax array in host memory without weak type (its numpy view is free
    and keeps its dtype)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return True
    return isinstance(x, jax.Array) and not x.weak_type and x.is_fully_addressable and all(d.platform == "cpu" for d in x.devices())


def _stack_leaves(*xs):
    # host arrays: numpy's stack and one transfer; jnp.stack would compile a small program per
    # shape (~20-40 ms each on a first call)
    if all(_on_host(x) for x in xs):
        return jax.device_put(np.stack([np.asarray(x) for x in xs]))
    return jnp.stack([jnp.asarray(x) for x in xs])


def _unstack(tree, i):
    # host arrays: a numpy view and one transfer (a[i] would compile a slice program per shape)
    return jax.tree_util.tree_map(lambda a: jax.device_put(np.asarray(a)[i]) if _on_host(a) else a[i], tree)


# ----------------------------------------------------------------------------- the loop


def _as_dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        return Dataset(*data)
    raise ValueError(f"data must be an implicit_bias.data.Dataset or a tuple (X, y); received {type(data).__name__}")


class _Recorder:
    def __init__(self, record: Record, model, X, classification):
        self.record, self.model, self.X = record, model, X
        self.classification = classification
        self.rows = []

    def __call__(self, step, t, wall, params, log_loss):
        """Record one row; ``params`` may be a zero-argument callable (fetched only if needed)."""
        row = {"step": int(step), "time": float(t), "wall_time": float(wall)}
        f = self.record.fields
        if callable(params) and any(k in f for k in ("predictor", "params", "outputs")):
            params = params()
        if "loss" in f:
            row["loss"] = _exp(log_loss)
        if "log_loss" in f:
            row["log_loss"] = float(log_loss)
        if "training_accuracy" in f and self.classification:
            row["training_accuracy"] = float(-log_loss)
        if "predictor" in f and self.model.has_predictor:
            row["predictor"] = np.asarray(self.model.predictor(params))
        if "params" in f:
            for k, v in params.items():
                row["param_" + k] = np.asarray(v)
        if "outputs" in f:
            row["outputs"] = np.asarray(self.model.apply(params, self.X))
        if self.rows and self.rows[-1]["step"] == row["step"] and self.rows[-1]["time"] == row["time"]:
            self.rows[-1] = row
        else:
            self.rows.append(row)

    def dataset(self, attrs) -> xr.Dataset:
        rows = self.rows
        coords = {
            "step": ("t", np.array([r["step"] for r in rows], dtype=np.int64)),
            "time": ("t", np.array([r["time"] for r in rows], dtype=np.float64)),
        }
        data_vars = {"wall_time": ("t", np.array([r["wall_time"] for r in rows]))}
        for k in rows[0]:
            if k in ("step", "time", "wall_time"):
                continue
            arr = np.stack([np.asarray(r[k]) for r in rows])
            if k == "predictor":
                dims = ("t", "dim")
            elif k == "outputs":
                dims = ("t", "sample")
            else:
                dims = ("t",) + tuple(f"{k}_{i}" for i in range(arr.ndim - 1))
            data_vars[k] = (dims, arr)
        return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def train(
    model: AbstractModel,
    data,
    loss="square",
    algorithm: AbstractAlgorithm | None = None,
    stop: Stop | None = None,
    record=None,
    seed=0,
    *,
    init: dict | None = None,
    progress: bool = False,
    fast_math: bool = False,
) -> Run:
    """Train ``model`` on ``data`` with ``algorithm`` until ``stop``; record a trajectory.

    Args:
        model: an :class:`~implicit_bias.models.AbstractModel`.
        data: a :class:`~implicit_bias.data.Dataset` or a tuple ``(X (N, d), y (N,))``.
        loss: a loss, its name (``square``, ``logistic``, ``exponential``, ``polynomial:K``,
            ``cross-entropy``) or a function ``fn(f (N,), y (N,)) -> L`` of the mean loss
            (:class:`~implicit_bias.losses.CallableLoss`).
        algorithm: default :class:`~implicit_bias.algorithms.GradientFlow`.
        stop: a :class:`Stop`; default ``Stop(loss=1e-12)`` for regression losses and
            ``Stop(training_accuracy=20)`` for classification losses.
        record: a :class:`Record` or a list of field names.
        seed: an integer or a ``jax.random`` key (:func:`as_seed`); seeds the initialization (``fold_in(key(seed), 0)``) and the algorithm's
            randomness (``fold_in(key(seed), 1)``): same seed, same numbers.
        init: explicit initial parameters by name (overrides the model's init).
        progress: show a rich progress bar on stderr.
        fast_math: compile the training loop with floating-point reassociation allowed (XLA
            CPU fast math with NaN/Inf, divisions and elementary functions kept exact): sums
            may be evaluated in another order, so results differ at round-off level from the
            default; reductions vectorise, e.g. 64 -> 41 us per step of a width-2^14 ReLU net
            (``benchmarks/bench_wide_relu.py``). Divergence is detected as before. Default off.

    Returns:
        A :class:`Run`.

    Raises:
        ValueError: a data/model dimension mismatch, a classification loss on real targets,
            a flow with no stopping rule, bad initial parameters.

    Example:
        >>> import implicit_bias as ib
        >>> ds = ib.data.random_regression(n=5, d=20, seed=0)
        >>> run = ib.train(ib.models.Linear(20), ds, "square", ib.GradientDescent(lr=1.0),
        ...                ib.Stop(loss=1e-20, max_steps=10_000))
        >>> run.status
        'converged'
    """
    return train_many([model], [data], loss, [algorithm], stop, record, [seed], inits=[init], progress=progress, fast_math=fast_math)[0]


def train_many(
    models: Sequence[AbstractModel],
    datas: Sequence,
    loss="square",
    algorithms: Sequence[AbstractAlgorithm | None] | None = None,
    stop: Stop | None = None,
    record=None,
    seeds: Sequence | None = None,
    *,
    inits: Sequence[dict | None] | None = None,
    progress: bool = False,
    fast_math: bool = False,
) -> list[Run]:
    """Train a batch of points as one jitted, vectorised (``vmap``) computation.

    Each point ``i`` is ``(models[i], datas[i], algorithms[i], seeds[i], inits[i])`` (a seed is
    an integer or a ``jax.random`` key, as for :func:`train`) with a
    shared loss, stop rule and recording. Points must share structure (the same model and
    algorithm classes with the same static hyperparameters, parameters and data of the same
    shapes); numeric hyperparameters (scale, shape, step size) and the data values may differ.
    When every point uses the same data, the data are passed once, not copied per point.

    The result is the list of :class:`Run`, identical (bit for bit on one machine, up to the
    usual floating-point reassociation of batched kernels) to calling :func:`train` on each
    point; points that stop early are frozen while the others continue.

    Raises:
        ValueError: as :func:`train`, or points that cannot be batched together.
    """
    if len(models) == 0:
        return []
    batch = _prepare(models, datas, loss, algorithms, stop, record, seeds, inits, fast_math)
    t_start = _time.perf_counter()
    points = _start(batch)
    bar = TrainProgress(progress, batch.stop, batch.classification, batch.size)
    if batch.continuous:
        _flow_loop(batch, points, t_start, bar)
    else:
        _discrete_loop(batch, points, t_start, bar)
    bar.close()
    _mark_dead(batch, points)
    _suggest_reduced(batch, points)
    return _build_runs(batch, points, _time.perf_counter() - t_start)


@dataclasses.dataclass(eq=False)
class _Batch:
    """A checked batch of points, stacked for ``vmap``: what the training loops read."""

    models: list
    datas: list
    algorithms: list
    seeds: list
    loss: AbstractLoss
    classification: bool
    continuous: bool
    stop: Stop
    record: Record
    shared: bool  # every point uses the same data (passed once, unbatched)
    fast_math: bool
    inputs: list  # the inputs X of each point, on the device (for the recorders)
    params0: list  # the initial parameters of each point
    objectives: list  # the objective of each point
    objective: Objective  # the stacked objective (only the models stacked when shared)
    algorithm: AbstractAlgorithm  # the stacked algorithms
    params: object  # the stacked initial parameters
    seeds_b: np.ndarray
    target: float  # log-loss target
    target_b: np.ndarray
    max_steps: int

    @property
    def size(self) -> int:
        return len(self.models)


@dataclasses.dataclass(eq=False)
class _Points:
    """The state of a batch along training: stacked parameters and algorithm states on the
    device, per-point counters, statuses and recorders on the host (``status[i] is None``:
    point ``i`` is still running)."""

    params: object
    state: object
    steps: np.ndarray
    t: np.ndarray
    lv: np.ndarray
    status: list
    message: list
    recorders: list

    @property
    def running(self) -> bool:
        return any(s is None for s in self.status)


def _check_points(models, datas, algorithms, loss_obj) -> None:
    classification = loss_obj.task == "classification"
    for model, ds, algorithm in zip(models, datas, algorithms):
        if not isinstance(algorithm, (AbstractDiscreteAlgorithm, AbstractFlow)):
            raise ValueError(f"algorithm must be an implicit_bias algorithm (e.g. ib.GradientDescent(lr=0.1)); received {type(algorithm).__name__}")
        if not isinstance(model, AbstractModel):
            raise ValueError(f"model must be an implicit_bias model (e.g. ib.models.Linear(d)); received {type(model).__name__}")
        if classification and ds.task != "classification":
            raise ValueError(f"the {loss_obj.name} loss needs labels in {{-1, +1}}; these targets are real-valued (use --loss square)")
        if model.input_dim is not None and model.input_dim != ds.dim:
            raise ValueError(f"the model expects inputs of dimension {model.input_dim} but X has {ds.dim} columns")
    if len({type(a) for a in algorithms}) != 1:
        raise ValueError("train_many: all points must use the same algorithm class")


def as_seed(seed) -> int:
    """The integer seed of ``seed``: an integer ``>= 0`` as is, a ``jax.random`` key (typed or
    raw ``uint32[2]``) turned into one by ``jax.random.bits(key, (), uint32)``, so a key gives
    the same numbers every time and different keys give independent-looking seeds.

    Example:
        >>> import jax
        >>> as_seed(3), as_seed(jax.random.key(0)) == as_seed(jax.random.key(0))
        (3, True)
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if int(seed) < 0:
            raise ValueError(f"seed must be an integer >= 0 or a jax.random key; received {int(seed)}")
        return int(seed)
    if isinstance(seed, jax.Array) and (jax.dtypes.issubdtype(seed.dtype, jax.dtypes.prng_key) or (seed.dtype == jnp.uint32 and seed.shape == (2,))):
        if seed.shape not in ((), (2,)):
            raise ValueError(f"seed: pass one jax.random key (shape ()), not a batch of shape {seed.shape}; train_many takes one seed per point")
        return int(jax.random.bits(seed, (), jnp.uint32))
    raise ValueError(f"seed must be an integer >= 0 or a jax.random key; received {type(seed).__name__} {seed!r}")


def _prepare(models, datas, loss, algorithms, stop, record, seeds, inits, fast_math) -> _Batch:
    """Check the points, fill in the defaults, draw the initial parameters and stack the
    models, data, parameters and algorithms for ``vmap``."""
    B = len(models)
    datas = [_as_dataset(d) for d in datas]
    if len(datas) != B:
        raise ValueError(f"train_many: {B} models but {len(datas)} datasets")
    algorithms = [GradientFlow() if a is None else a for a in (algorithms or [None] * B)]
    seeds = [as_seed(s) for s in seeds] if seeds is not None else [0] * B
    inits = list(inits) if inits is not None else [None] * B
    if not (len(algorithms) == len(seeds) == len(inits) == B):
        raise ValueError("train_many: models, datas, algorithms, seeds and inits must have the same length")
    loss_obj = get_loss(loss)
    classification = loss_obj.task in ("classification", "multiclass")  # -log L is the training accuracy
    _check_points(models, datas, algorithms, loss_obj)
    continuous = isinstance(algorithms[0], AbstractFlow)
    if stop is None:
        stop = Stop(training_accuracy=20.0) if classification else Stop(loss=1e-12)
    if continuous and not stop.has_target and stop.max_time is None:
        raise ValueError("gradient flow needs a stopping rule: give Stop(loss=...), Stop(training_accuracy=...) or Stop(max_time=...)")
    rec = Record.coerce(record)
    params_list = [check_params(m, i) if i is not None else m.init(jax.random.fold_in(jax.random.key(int(s)), 0)) for m, i, s in zip(models, inits, seeds)]
    if loss_obj.task == "multiclass":  # labels 0..C-1 with C the model's number of outputs (shape only, nothing compiled)
        for m, d, p in zip(models, datas, params_list):
            out = jax.eval_shape(m.apply, p, jax.ShapeDtypeStruct(d.X[:1].shape, jnp.float64))
            loss_obj.check_labels(d.y, out.shape[1] if len(out.shape) == 2 else 1)

    shared, objectives, obj_b = _objectives(models, datas, loss_obj)
    params_b = _stack(params_list, "parameters")
    alg_b = _stack(algorithms, "algorithms")
    target = stop.target_log_loss
    return _Batch(
        models=list(models),
        datas=datas,
        algorithms=algorithms,
        seeds=seeds,
        loss=loss_obj,
        classification=classification,
        continuous=continuous,
        stop=stop,
        record=rec,
        shared=shared,
        fast_math=fast_math,
        inputs=[o.X for o in objectives],
        params0=params_list,
        objectives=objectives,
        objective=obj_b,
        algorithm=alg_b,
        params=params_b,
        seeds_b=np.asarray([int(s) for s in seeds], dtype=np.int64),
        target=target,
        target_b=np.full((B,), target, dtype=np.float64),
        max_steps=stop.max_steps if stop.max_steps is not None else np.iinfo(np.int64).max,
    )


def _objectives(models, datas, loss_obj):
    """``(shared, objectives, stacked objective)``: the data go to the device once per distinct
    dataset; when every point has the same data they are passed once (``in_axes=None``) and
    only the models are stacked."""
    shared = all(d is datas[0] or (d.X.shape == datas[0].X.shape and np.array_equal(d.X, datas[0].X) and np.array_equal(d.y, datas[0].y)) for d in datas)
    dev = {}  # each distinct dataset goes to the device once (a sweep batch shares one)
    for d in datas:
        if id(d) not in dev:
            dev[id(d)] = (jax.device_put(d.X), jax.device_put(d.y)) if not (shared and dev) else next(iter(dev.values()))
    objectives = [Objective(m, loss_obj, *dev[id(d)]) for m, d in zip(models, datas)]
    if shared:
        obj_b = Objective(_stack(list(models), "models"), loss_obj, objectives[0].X, objectives[0].y)
    else:
        obj_b = _stack(objectives, "models or data")
    return shared, objectives, obj_b


def _start(batch: _Batch) -> _Points:
    """Initialise the algorithm states, evaluate ``log L`` at the initial parameters, record
    step 0 and mark the points that are done before any step (non-finite or on target)."""
    B = batch.size
    steps = np.zeros(B, dtype=np.int64)
    state_b = _stack([a.init_state(o, p) for a, o, p in zip(batch.algorithms, batch.objectives, batch.params0)], "algorithm states")
    if not batch.continuous:
        # the loss at the initial parameters from the training program itself (zero steps)
        advance_b = _batched(_advance_core, batch.shared, batch.fast_math)
        lv = np.asarray(advance_b(batch.algorithm, batch.objective, batch.params, state_b, batch.seeds_b, steps, steps, batch.target_b)[4], dtype=np.float64)
    else:
        log_value_b = _batched(_log_value_core, batch.shared, batch.fast_math)
        lv = np.asarray(log_value_b(batch.params, batch.objective), dtype=np.float64)
    recorders = [_Recorder(batch.record, m, X, batch.classification) for m, X in zip(batch.models, batch.inputs)]
    for i in range(B):
        recorders[i](0, 0.0, 0.0, batch.params0[i], lv[i])
    status = [None] * B
    message = [""] * B
    for i in range(B):
        if not np.isfinite(lv[i]) and not lv[i] == -np.inf:
            status[i], message[i] = "diverged", "the loss is NaN/Inf at the initial parameters (the model outputs overflow float64: lower the initialization scale or rescale the data)"
        elif lv[i] <= batch.target:
            status[i], message[i] = "converged", "the target was already met at initialization"
    return _Points(params=batch.params, state=state_b, steps=steps, t=np.zeros(B), lv=lv, status=status, message=message, recorders=recorders)


_CHUNK = 20_000  # most steps of one discrete segment (between host-side checks)


def _discrete_loop(batch: _Batch, pts: _Points, t_start: float, bar: TrainProgress) -> None:
    """Advance every running point to its next recording step (or budget) by one jitted call
    per segment; a point stops on its target, on non-finite values or on a budget."""
    B, stop, max_steps = batch.size, batch.stop, batch.max_steps
    lrs = [float(a.lr) for a in batch.algorithms]
    scheds = [batch.record.schedule(False, lr) for lr in lrs]
    nxt = [next(sc, None) for sc in scheds]
    advance_b = _batched(_advance_core, batch.shared, batch.fast_math)
    while pts.running:
        until = pts.steps.copy()
        for i in range(B):
            if pts.status[i] is not None:
                continue
            u = max_steps if nxt[i] is None else min(nxt[i], max_steps)
            if stop.max_time is not None:
                u = min(u, int(math.floor(stop.max_time / lrs[i] + 1e-9)))
            until[i] = min(u, pts.steps[i] + _CHUNK)
        pts.params, pts.state, step_arr, flag_arr, lv_arr = advance_b(batch.algorithm, batch.objective, pts.params, pts.state, batch.seeds_b, pts.steps, until, batch.target_b)
        new_steps, flags = np.asarray(step_arr, dtype=np.int64), np.asarray(flag_arr)
        pts.lv = np.asarray(lv_arr, dtype=np.float64)
        wall = _time.perf_counter() - t_start
        for i in range(B):
            if pts.status[i] is not None:
                continue
            pts.steps[i] = new_steps[i]
            pts.t[i] = pts.steps[i] * lrs[i]
            pts.status[i], pts.message[i] = _discrete_status(int(flags[i]), pts.steps[i], pts.t[i], wall, stop, max_steps)
            while nxt[i] is not None and nxt[i] <= pts.steps[i]:
                nxt[i] = next(scheds[i], None)
            pts.recorders[i](pts.steps[i], pts.t[i], wall, lambda i=i: _unstack(pts.params, i), pts.lv[i])
        bar.update(pts.steps, pts.t, pts.lv, pts.status)


def _flow_loop(batch: _Batch, pts: _Points, t_start: float, bar: TrainProgress) -> None:
    """Integrate every running point to its next recording time (or budget) by one jitted
    solve per segment; a segment whose solver failed or whose parameters are not finite is
    rejected (the point keeps its last parameters, status ``diverged``)."""
    B, stop = batch.size, batch.stop
    scheds = [batch.record.schedule(True, 1.0) for _ in range(B)]
    nxt = [next(sc, None) for sc in scheds]
    flow_b = _batched(_flow_core, batch.shared, batch.fast_math)
    log_value_b = _batched(_log_value_core, batch.shared, batch.fast_math)
    t_end_budget = stop.max_time if stop.max_time is not None else np.inf
    t = pts.t
    seg_cap = int(batch.algorithms[0].max_steps)  # the solver's steps per segment
    while pts.running:
        t1 = t.copy()
        for i in range(B):
            if pts.status[i] is not None:
                continue
            t1[i] = t_end_budget if nxt[i] is None else min(nxt[i], t_end_budget)
            if not np.isfinite(t1[i]):
                t1[i] = max(2.0 * t[i], 1.0)
        args = (batch.objective, pts.params, pts.state, jnp.asarray(t), jnp.asarray(t1), batch.target_b)
        p_new, s_new, t_new, n_acc, code = flow_b(batch.algorithm, *args)
        code, t_new, n_acc = np.asarray(code), np.asarray(t_new, dtype=np.float64), np.asarray(n_acc, dtype=np.int64)
        # The step budget is the total, exactly: a segment that went past the budget left is
        # solved again with that many solver steps at most (one more compilation, at the end of
        # a run); a segment cut short by it is no solver failure, the next one carries on.
        over = [int(batch.max_steps - pts.steps[i]) for i in range(B) if pts.status[i] is None and pts.steps[i] + n_acc[i] > batch.max_steps]
        cap = min(over) if over else seg_cap
        if over:
            p_new, s_new, t_new, n_acc, code = flow_b(_with_max_steps(batch.algorithm, cap), *args)
            code, t_new, n_acc = np.asarray(code), np.asarray(t_new, dtype=np.float64), np.asarray(n_acc, dtype=np.int64)
        ok = np.asarray(jnp.all(jnp.stack([jnp.all(jnp.isfinite(a.reshape(B, -1)), axis=1) for a in jax.tree_util.tree_leaves(p_new)]), axis=0))
        active = np.array([s is None for s in pts.status])
        take = jnp.asarray(active & ok & (code != FlowCode.FAILED))
        pts.params, pts.state = jax.tree_util.tree_map(lambda a, b: jnp.where(take.reshape((-1,) + (1,) * (a.ndim - 1)), b, a), (pts.params, pts.state), (p_new, s_new))
        pts.lv = np.asarray(log_value_b(pts.params, batch.objective), dtype=np.float64)
        wall = _time.perf_counter() - t_start
        for i in range(B):
            if not active[i]:
                continue
            c = int(code[i])
            if c == FlowCode.FAILED or not ok[i]:
                pts.status[i], pts.message[i] = "diverged", f"the flow's solver failed near t={t[i]:.6g} (non-finite values or step size collapse)"
            else:
                t[i] = float(t_new[i])
            pts.steps[i] += int(n_acc[i])
            if pts.status[i] is None:
                pts.status[i], pts.message[i] = _flow_status(c, pts.lv[i], batch.target, pts.steps[i], t[i], t_end_budget, wall, stop, batch.max_steps, batch.algorithms[i], cap)
                if pts.status[i] is None and c == FlowCode.MAX_STEPS and n_acc[i] == 0:  # a cut segment that made no progress
                    pts.status[i], pts.message[i] = "max_steps", f"stopped at {pts.steps[i]} of max_steps={batch.max_steps} solver steps: the last {cap} were all rejected"
            while nxt[i] is not None and nxt[i] <= t[i] * (1 + 1e-12):
                nxt[i] = next(scheds[i], None)
            pts.recorders[i](pts.steps[i], t[i], wall, lambda i=i: _unstack(pts.params, i), pts.lv[i])
        bar.update(pts.steps, t, pts.lv, pts.status)


_BUDGETS = ("max_steps", "max_time", "max_wall_time")


def _mark_dead(batch: _Batch, pts: _Points) -> None:
    """A run that ran out of budget with every hidden unit inactive on every training input
    (:meth:`~implicit_bias.models.AbstractModel.dead_units`) is reported ``dead``, not as a run
    that merely needed more steps: its hidden layer has zero gradient and cannot move again."""
    for i in range(batch.size):
        if pts.status[i] not in _BUDGETS:
            continue
        counts = batch.models[i].dead_units(_unstack(pts.params, i), np.asarray(batch.inputs[i]))
        if counts is not None and counts[1] > 0 and counts[0] == counts[1]:
            pts.status[i], pts.message[i] = (
                "dead",
                f"every one of the {counts[1]} hidden units is inactive on every training input (a dead ReLU network: the hidden layer's "
                f"gradient is 0, so more steps cannot reach the target; {pts.message[i]}): lower the step size or change the initialization",
            )


def _suggest_reduced(batch: _Batch, pts: _Points) -> None:
    """A parameter-space flow that ran out of budget on a model whose flow has a closed form
    (``has_flow_map``, e.g. diagonal nets) says in its message which route would reach the
    target: at large scales the parameter-space flow is stiff, the N-dimensional reduced flow
    is not (measured: scale 100, loss 1e-10: ``flow`` max_steps after 10 s, ``reduced`` 5.6 s)."""
    for i in range(batch.size):
        if pts.status[i] in _BUDGETS and batch.algorithms[i].name == "flow" and batch.models[i].has_flow_map:
            pts.message[i] += (
                "; this model's gradient flow has a closed form in the N-dimensional dual variable: "
                "--algorithm reduced (ib.ReducedFlow) integrates that flow, which stays non-stiff where the parameter-space flow is stiff"
            )


def _build_runs(batch: _Batch, pts: _Points, wall: float) -> list[Run]:
    """One :class:`Run` per point (the trajectories are built lazily, on first access)."""
    runs = []
    for i in range(batch.size):
        attrs = {
            "status": pts.status[i],
            "message": pts.message[i],
            "model": type(batch.models[i]).__name__,
            "loss": batch.loss.name,
            "algorithm": batch.algorithms[i].name,
            "seed": int(batch.seeds[i]),
        }
        lv = pts.lv[i]
        runs.append(
            Run(
                status=pts.status[i],
                message=pts.message[i],
                params=jax.tree_util.tree_map(np.asarray, _unstack(pts.params, i)),
                final_loss=_exp(lv),
                final_log_loss=float(lv),
                training_accuracy=float(-lv) if batch.classification else None,
                steps=int(pts.steps[i]),
                time=float(pts.t[i]),
                wall_time=float(wall),
                trajectory=functools.partial(pts.recorders[i].dataset, attrs),
                model=batch.models[i],
                loss=batch.loss,
                algorithm=batch.algorithms[i],
                data=batch.datas[i],
                state=jax.tree_util.tree_map(lambda a: np.asarray(a)[i] if eqx.is_array(a) else a, pts.state),
            )
        )
    return runs


def _discrete_status(flag, steps, t, wall, stop, max_steps):
    if flag == StepFlag.NONFINITE:
        return "diverged", f"the loss or the parameters became NaN/Inf at step {steps} (step size too large for this problem?)"
    if flag == StepFlag.TARGET:
        return "converged", "reached the loss/accuracy target"
    if steps >= max_steps:
        return "max_steps", f"reached max_steps={max_steps} before the target"
    if stop.max_time is not None and t >= stop.max_time * (1 - 1e-12):
        return "max_time", f"reached max_time={stop.max_time}"
    if stop.max_wall_time is not None and wall >= stop.max_wall_time:
        return "max_wall_time", f"reached max_wall_time={stop.max_wall_time}s"
    return None, ""


def _with_max_steps(algorithm: AbstractFlow, max_steps: int) -> AbstractFlow:
    """A copy of a (stacked) flow with another per-segment ``max_steps`` (a static field)."""
    out = copy.copy(algorithm)
    object.__setattr__(out, "max_steps", int(max_steps))
    return out


def _flow_status(code, lv, target, steps, t, t_end_budget, wall, stop, max_steps, algorithm, cap=None):
    if code == FlowCode.EVENT or lv <= target:
        return "converged", "reached the loss/accuracy target"
    if steps >= max_steps:
        return "max_steps", f"reached max_steps={max_steps} solver steps before the target"
    if code == FlowCode.MAX_STEPS and (cap is None or cap >= algorithm.max_steps):
        return "max_steps", f"the solver used more than {algorithm.max_steps} steps in one segment (raise GradientFlow(max_steps=...) or loosen rtol)"
    if t >= t_end_budget * (1 - 1e-12):
        return "max_time", f"reached max_time={stop.max_time}"
    if stop.max_wall_time is not None and wall >= stop.max_wall_time:
        return "max_wall_time", f"reached max_wall_time={stop.max_wall_time}s"
    if not np.isfinite(lv):
        return "diverged", f"the loss became NaN/Inf near t={t:.6g}"
    return None, ""


def _exp(lv: float) -> float:
    """``exp(lv)`` without overflow warnings (``inf`` past the float64 range)."""
    return float(np.exp(lv)) if lv < 709.0 else float("inf")


COMPILING = "compiling the training program (first call; cached afterwards)"


class TrainProgress:
    """A rich progress bar (steps, loss or training accuracy, ETA) on stderr, or nothing."""

    def __init__(self, enabled, stop, classification, n_points=1):
        self.p = None
        if not enabled:
            return
        from ._progress import progress_bar

        self.classification = classification
        self.n = n_points
        # until the first segment returns, the time goes to tracing and XLA compilation: say so
        self.p, self.task = progress_bar("train", "{task.completed:,.0f} steps", stop.max_steps if stop.max_steps else None, info=COMPILING)

    def update(self, steps, t, lv, status):
        if self.p is None:
            return
        best = float(np.min(lv))
        info = f"-log L={-best:.4g}" if self.classification else f"loss={_exp(best):.3e}"
        done = sum(s is not None for s in status)
        pts = f" points {done}/{self.n}" if self.n > 1 else ""
        self.p.update(self.task, completed=int(np.max(steps)), info=f"t={float(np.max(t)):.4g} {info}{pts}")

    def close(self):
        if self.p is not None:
            self.p.stop()
