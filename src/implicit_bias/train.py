"""The one training loop: ``train(model, data, loss, algorithm, stop, record) -> Run``.

Every experiment and the CLI train through :func:`train`; algorithms are plugged-in strategy
objects (diffrax's ``diffeqsolve`` pattern). The loop runs in *segments* between recording
points: a discrete algorithm advances inside one jitted ``lax.while_loop`` that checks the stop
target before every step (so it never steps past it), and gradient flow advances by one
diffrax solve per segment with an exact event on the target. Between segments the host
records the trajectory, checks wall-clock limits and updates the progress bar.

Statuses of a :class:`Run`:

- ``converged``: the loss or training-accuracy target of :class:`Stop` was reached;
- ``max_steps`` / ``max_time`` / ``max_wall_time``: a budget ran out first;
- ``diverged``: the loss or the parameters became NaN/Inf (e.g. a step size past
  ``2/sharpness``); the run keeps the last finite parameters and says so, it never returns NaN
  as a result;
- ``failed``: the ODE solver failed for another reason.
"""

from __future__ import annotations

import dataclasses
import math
import time as _time
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from . import _config  # noqa: F401
from .algorithms import AbstractAlgorithm, AbstractDiscreteAlgorithm, GradientFlow, Objective
from .data import Dataset
from .losses import AbstractLoss, get_loss
from .models import AbstractModel, check_params

__all__ = ["Stop", "Record", "Run", "train", "STATUSES"]

STATUSES = ("converged", "max_steps", "max_time", "max_wall_time", "diverged", "failed")
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


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """The result of :func:`train`.

    Attributes:
        status: one of ``STATUSES``.
        message: a readable sentence on why the run stopped.
        params: final parameters (dict of float64 arrays; the last finite ones on divergence).
        final_loss, final_log_loss: ``L`` and ``log L`` at the final parameters.
        training_accuracy: ``-log L`` for classification losses, else ``None``.
        steps: algorithm (or solver) steps taken; time: training time reached;
        wall_time: seconds.
        trajectory: ``xarray.Dataset`` over the record dimension ``t`` with coordinates
            ``step`` and ``time`` and the recorded fields.
        model, loss, algorithm, data: what was trained.
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
    trajectory: xr.Dataset
    model: AbstractModel
    loss: AbstractLoss
    algorithm: AbstractAlgorithm
    data: Dataset

    @property
    def predictor(self) -> np.ndarray | None:
        """Equivalent linear predictor ``(d,)``, or ``None`` if the model has none."""
        if not self.model.has_predictor:
            return None
        return np.asarray(self.model.predictor(self.params))

    def outputs(self, X) -> np.ndarray:
        """Model outputs at ``X (M, d)``."""
        return np.asarray(self.model.apply(self.params, jnp.asarray(X, dtype=jnp.float64)))

    @property
    def converged(self) -> bool:
        return self.status == "converged"


# ----------------------------------------------------------------------------- jitted pieces


@eqx.filter_jit
def _log_value(objective: Objective, params):
    return objective.log_value(params)


@eqx.filter_jit
def _advance(algorithm: AbstractDiscreteAlgorithm, objective: Objective, params, state, key, step0, until, target_log):
    """Run ``algorithm`` from ``step0`` until ``until`` steps or the target.

    Returns ``(params, state, step, flag)``; flag 0 = budget reached, 1 = target reached,
    2 = non-finite loss or parameters (the returned parameters are the last finite ones).
    """

    def finite_tree(t):
        leaves = jax.tree_util.tree_leaves(t)
        return jnp.all(jnp.asarray([jnp.all(jnp.isfinite(x)) for x in leaves]))

    def cond(c):
        _, _, step, flag = c
        return (flag == 0) & (step < until)

    def body(c):
        p, s, step, _ = c
        p_new, s_new, lv = algorithm.step(objective, p, s, jax.random.fold_in(key, step))
        reached = lv <= target_log
        bad = jnp.isnan(lv) | (lv == jnp.inf) | ~finite_tree(p_new)
        flag = jnp.where(reached, 1, jnp.where(bad, 2, 0))
        keep = flag != 0
        p = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), p, p_new)
        s = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), s, s_new)
        return p, s, step + jnp.where(keep, 0, 1), flag

    return jax.lax.while_loop(cond, body, (params, state, step0, jnp.asarray(0)))


# ----------------------------------------------------------------------------- the loop


def _as_dataset(data, X=None, y=None) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        return Dataset(*data)
    raise ValueError(f"data must be an implicit_bias.data.Dataset or a tuple (X, y); received {type(data).__name__}")


class _Recorder:
    def __init__(self, record: Record, model, objective, classification):
        self.record, self.model, self.objective = record, model, objective
        self.classification = classification
        self.rows = []

    def __call__(self, step, t, wall, params, log_loss):
        row = {"step": int(step), "time": float(t), "wall_time": float(wall)}
        f = self.record.fields
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
            row["outputs"] = np.asarray(self.model.apply(params, self.objective.X))
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
    seed: int = 0,
    *,
    init: dict | None = None,
    progress: bool = False,
) -> Run:
    """Train ``model`` on ``data`` with ``algorithm`` until ``stop``; record a trajectory.

    Args:
        model: an :class:`~implicit_bias.models.AbstractModel`.
        data: a :class:`~implicit_bias.data.Dataset` or a tuple ``(X (N, d), y (N,))``.
        loss: a loss or its name (``square``, ``logistic``, ``exponential``, ``polynomial:K``).
        algorithm: default :class:`~implicit_bias.algorithms.GradientFlow`.
        stop: a :class:`Stop`; default ``Stop(loss=1e-12)`` for regression losses and
            ``Stop(training_accuracy=20)`` for classification losses.
        record: a :class:`Record` or a list of field names.
        seed: seeds the initialization (``fold_in(key(seed), 0)``) and the algorithm's
            randomness (``fold_in(key(seed), 1)``): same seed, same numbers.
        init: explicit initial parameters by name (overrides the model's init).
        progress: show a rich progress bar on stderr.

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
    ds = _as_dataset(data)
    loss_obj = get_loss(loss)
    algorithm = GradientFlow() if algorithm is None else algorithm
    if not isinstance(algorithm, AbstractAlgorithm):
        raise ValueError(f"algorithm must be an implicit_bias algorithm (e.g. ib.GradientDescent(lr=0.1)); received {type(algorithm).__name__}")
    if not isinstance(model, AbstractModel):
        raise ValueError(f"model must be an implicit_bias model (e.g. ib.models.Linear(d)); received {type(model).__name__}")
    classification = loss_obj.task == "classification"
    if classification and ds.task != "classification":
        raise ValueError(f"the {loss_obj.name} loss needs labels in {{-1, +1}}; these targets are real-valued (use --loss square)")
    if stop is None:
        stop = Stop(training_accuracy=20.0) if classification else Stop(loss=1e-12)
    rec = Record.coerce(record)
    shapes = model.param_shapes()
    key = jax.random.key(int(seed))
    params = check_params(model, init) if init is not None else model.init(jax.random.fold_in(key, 0))
    in_dim = _input_dim(model)
    if in_dim is not None and in_dim != ds.dim:
        raise ValueError(f"the model expects inputs of dimension {in_dim} but X has {ds.dim} columns")
    del shapes
    X = jnp.asarray(ds.X)
    y = jnp.asarray(ds.y)
    objective = Objective(model, loss_obj, X, y)
    recorder = _Recorder(rec, model, objective, classification)
    target = stop.target_log_loss
    continuous = algorithm.continuous
    if continuous and not stop.has_target and stop.max_time is None:
        raise ValueError("gradient flow needs a stopping rule: give Stop(loss=...), Stop(training_accuracy=...) or Stop(max_time=...)")
    lr = float(getattr(algorithm, "lr", 1.0))
    max_steps = stop.max_steps if stop.max_steps is not None else np.iinfo(np.int64).max
    t_start = _time.perf_counter()
    lv = float(_log_value(objective, params))
    recorder(0, 0.0, 0.0, params, lv)
    bar = _Progress(progress, stop, classification)
    status, message = None, ""
    steps, t = 0, 0.0
    if not np.isfinite(lv) and not lv == -np.inf:
        status, message = "diverged", "the loss is NaN/Inf at the initial parameters"
    elif lv <= target:
        status, message = "converged", "the target was already met at initialization"
    sched = rec.schedule(continuous, lr)
    nxt = next(sched, None)
    if not continuous:
        state = algorithm.init_state(objective, params)
        tkey = jax.random.fold_in(key, 1)
        chunk = 20_000
        while status is None:
            until = max_steps if nxt is None else min(nxt, max_steps)
            if stop.max_time is not None:
                until = min(until, int(math.floor(stop.max_time / lr + 1e-9)))
            until = min(until, steps + chunk)
            params, state, step_arr, flag = _advance(algorithm, objective, params, state, tkey, jnp.asarray(steps), jnp.asarray(until), jnp.asarray(target))
            steps, flag = int(step_arr), int(flag)
            t = steps * lr
            lv = float(_log_value(objective, params))
            wall = _time.perf_counter() - t_start
            if flag == 2:
                status, message = "diverged", f"the loss or the parameters became NaN/Inf at step {steps} (step size too large for this problem?)"
            elif flag == 1:
                status, message = "converged", "reached the loss/accuracy target"
            elif steps >= max_steps:
                status, message = "max_steps", f"reached max_steps={max_steps} before the target"
            elif stop.max_time is not None and t >= stop.max_time * (1 - 1e-12):
                status, message = "max_time", f"reached max_time={stop.max_time}"
            elif stop.max_wall_time is not None and wall >= stop.max_wall_time:
                status, message = "max_wall_time", f"reached max_wall_time={stop.max_wall_time}s"
            while nxt is not None and nxt <= steps:
                nxt = next(sched, None)
            recorder(steps, t, wall, params, lv)
            bar.update(steps, t, lv)
    else:
        t_end_budget = stop.max_time if stop.max_time is not None else np.inf
        while status is None:
            t1 = t_end_budget if nxt is None else min(nxt, t_end_budget)
            if not np.isfinite(t1):
                t1 = max(2.0 * t, 1.0)
            p_new, t_new, n_acc, code = algorithm.solve_segment(objective, params, t, t1, target)
            code = int(code)
            p_ok = all(bool(jnp.all(jnp.isfinite(a))) for a in jax.tree_util.tree_leaves(p_new))
            if code == 3 or not p_ok:
                status, message = "diverged", f"the flow's solver failed near t={t:.6g} (non-finite values or step size collapse)"
            else:
                params, t = p_new, float(t_new)
            steps += int(n_acc)
            lv = float(_log_value(objective, params))
            wall = _time.perf_counter() - t_start
            if status is not None:
                pass
            elif code == 1 or lv <= target:
                status, message = "converged", "reached the loss/accuracy target"
            elif code == 2:
                status, message = f"max_steps", f"the solver used more than {algorithm.max_steps} steps in one segment (raise GradientFlow(max_steps=...) or loosen rtol)"
            elif steps >= max_steps:
                status, message = "max_steps", f"reached max_steps={max_steps} solver steps before the target"
            elif t >= t_end_budget * (1 - 1e-12):
                status, message = "max_time", f"reached max_time={stop.max_time}"
            elif stop.max_wall_time is not None and wall >= stop.max_wall_time:
                status, message = "max_wall_time", f"reached max_wall_time={stop.max_wall_time}s"
            elif not np.isfinite(lv):
                status, message = "diverged", f"the loss became NaN/Inf near t={t:.6g}"
            while nxt is not None and nxt <= t * (1 + 1e-12):
                nxt = next(sched, None)
            recorder(steps, t, wall, params, lv)
            bar.update(steps, t, lv)
    bar.close()
    wall = _time.perf_counter() - t_start
    attrs = {
        "status": status,
        "message": message,
        "model": type(model).__name__,
        "loss": loss_obj.name,
        "algorithm": algorithm.name,
        "seed": int(seed),
    }
    params = jax.tree_util.tree_map(lambda a: jnp.asarray(a), params)
    return Run(
        status=status,
        message=message,
        params=params,
        final_loss=_exp(lv),
        final_log_loss=float(lv),
        training_accuracy=float(-lv) if classification else None,
        steps=int(steps),
        time=float(t),
        wall_time=float(wall),
        trajectory=recorder.dataset(attrs),
        model=model,
        loss=loss_obj,
        algorithm=algorithm,
        data=ds,
    )


def _exp(lv: float) -> float:
    """``exp(lv)`` without overflow warnings (``inf`` past the float64 range)."""
    return float(np.exp(lv)) if lv < 709.0 else float("inf")


def _input_dim(model) -> int | None:
    d = getattr(model, "dim", None)
    if d is None:
        d = getattr(model, "input_dim", None)
    return int(d) if d is not None else None


class _Progress:
    """A rich progress bar (steps or time, loss, ETA) on stderr, or nothing."""

    def __init__(self, enabled, stop, classification):
        self.p = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.classification = classification
        total = stop.max_steps if stop.max_steps else None
        self.p = Progress(
            TextColumn("[bold]train"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} steps"),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.p.start()
        self.task = self.p.add_task("train", total=total, info="")

    def update(self, steps, t, lv):
        if self.p is None:
            return
        info = f"-log L={-lv:.4g}" if self.classification else f"loss={math.exp(lv) if lv > -700 else 0.0:.3e}"
        self.p.update(self.task, completed=steps, info=f"t={t:.4g} {info}")

    def close(self):
        if self.p is not None:
            self.p.stop()
