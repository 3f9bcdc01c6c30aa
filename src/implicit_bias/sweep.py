"""Sweeps: a grid of configurations, run by one of three backends, kept in the run store.

``sweep(config, grid, backend, store)`` expands a :class:`~implicit_bias.config.SweepConfig`
(a cartesian product over ``grid`` axes, ``zip`` groups varied together, and ``seeds``) into
points, serves every point already in the store, and runs the others:

- ``vmap``: points that share structure (same model/algorithm classes and static
  hyperparameters, data of the same shapes) run as one jitted, vectorised call
  (:func:`~implicit_bias.train.train_many`), on CPU or GPU;
- ``local``: the same batches spread over a process pool (``workers`` processes);
- ``dask``: the same batches on a Dask cluster: ``scheduler="tcp://host:8786"`` or a
  ``LocalCluster`` of ``workers`` processes started here (listening on 127.0.0.1 only).

Points are partitioned into batches deterministically (at most ``batch`` points that share
structure, in grid order, over the whole grid), and every backend runs exactly these batches
with the same code, so the three give identical numbers, bit for bit, for the same seeds. A
batch's points are written to the store as soon as it finishes, in one atomic write (one zip,
one index record: :meth:`Store.put_batch`); an interrupted sweep (Ctrl-C, ``kill -9``, a lost
Dask worker) resumes where it stopped: finished points are read back, not recomputed.

Determinism, stated exactly (issue 20 item 8). A point's numbers are a function of its config
*and of the vectorised call it runs in* (XLA's batched kernels may sum in another order for
another batch: the same point alone and in a batch can differ in the last bits). So a point is
always computed in the same call (:func:`plan_batches`): a resumed sweep reruns the calls of the
whole grid's partition that hold its missing points (recomputing, not rewriting, their finished
points), and a point the store has a recorded batch for (:meth:`Store.batch_keys`: removed with
``ibias runs rm``, or damaged) is recomputed in that recorded batch, whatever ``batch`` is now.
A resumed or repaired sweep therefore equals an uninterrupted one bit for bit (same machine,
same versions).

At scale (issue 20). The point count is known before any work (:func:`count_points`); a sweep
of more than ``max_points`` (default 10^5, ``--max-points``) is refused in one line. Every grid
value is validated against the run schema, ranges included, per axis value before the first
point (:func:`validate_grid`). Points and batches are generated lazily (:func:`iter_points`,
:func:`iter_batches`; the local and Dask backends keep a bounded window of batches in flight).
A sweep name taken by a different config is refused unless ``replace=True`` (``--replace``).
Each point is claimed in the store before it is computed (:meth:`Store.claim`), so two sweeps
into one store never compute a point twice. Point statuses use one vocabulary everywhere
(:data:`STATUSES`): a run's own status, ``failed`` (its batch raised), ``pending`` (not
computed), ``damaged`` (stored files unreadable; recomputed on resume); a diverged point keeps
its non-finite loss. Ctrl-C stops a sweep between steps: a discrete-step batch returns to
Python every :data:`INTERRUPT_STEPS` steps (bit-identical numbers), where the interrupt is
raised (a gradient-flow batch between solver segments); the interrupted batch is not written,
worker processes of the ``local`` backend are terminated, and an interrupt that JAX swallowed
is raised again after the call. An unreachable scheduler fails within ``connect_timeout`` s.

SLURM: with ``dask-jobqueue`` installed, start a cluster and pass its scheduler address::

    from dask_jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=2, memory="8GB", walltime="02:00:00",
                           job_script_prologue=["export JAX_ENABLE_X64=1"])
    cluster.scale(jobs=10)
    ib.sweep("fig71.yaml", backend="dask", scheduler=cluster.scheduler_address)

(or ``ibias sweep fig71.yaml --backend dask --scheduler tcp://...``). Workers must import
``implicit_bias`` (it switches on float64) or have ``JAX_ENABLE_X64=1``.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import json
import math
import os
import time
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from . import _config  # noqa: F401  (float64, in worker processes too)
from ._json import dumps
from .config import RunConfig, SweepConfig, build, load_sweep_config
from .store import Store

__all__ = ["sweep", "expand", "iter_points", "iter_batches", "count_points", "describe_points", "check_size", "validate_grid", "DEFAULT_MAX_POINTS", "INTERRUPT_STEPS", "STATUSES", "run_batch", "plan_batches", "point_run", "load_sweep", "local_cluster", "SweepSummary", "BACKENDS", "SweepProgress", "sweep_eta", "SWEEP_COMPILING"]

BACKENDS = ("vmap", "local", "dask")
#: The status words of a sweep's points, the same in ``ibias sweep``, ``runs ls``, ``runs show``
#: and ``runs export``: a run's own status, or one of these for a point without a result.
STATUSES = ("converged", "max_steps", "max_time", "max_wall_time", "diverged", "dead", "failed", "pending", "damaged")
#: A discrete-step batch returns to Python every this many steps, so Ctrl-C stops it there (between
#: steps, not at the end of the batch); the segments do not change the numbers.
INTERRUPT_STEPS = 1000
#: Sweeps with more points than this are refused unless ``max_points`` (``--max-points``) allows them.
DEFAULT_MAX_POINTS = 100_000
# Fields that may differ inside one vectorised batch (they are data, not structure).
_VMAPPABLE = {("model", "scale"), ("model", "shape"), ("algorithm", "lr"), ("data", "seed"), ("data", "noise_var"), ("data", "margin"), ("seed",)}
_SCALARS = ("final_loss", "log_loss", "training_accuracy", "test_error", "steps", "time", "wall_time")


@dataclasses.dataclass
class SweepSummary:
    """Counts of a sweep run: points done now, served from the store, failed (with reasons)."""

    total: int = 0
    done: int = 0
    cached: int = 0
    failed: dict = dataclasses.field(default_factory=dict)  # key -> reason
    wall_time: float = 0.0


def _axes(cfg: SweepConfig):
    """``[(dim name, [(field key, values)])]``: one entry per grid axis, per zip group, and seeds."""
    axes = [(k, [(k, list(v))]) for k, v in cfg.grid.items()]
    for group in cfg.zip:
        keys = list(group)
        axes.append(("+".join(keys), [(k, list(group[k])) for k in keys]))
    axes.append(("seed", [("seed", list(cfg.seeds))]))
    return axes


def _set(d: dict, key: str, value):
    if key in ("seed", "loss"):
        d[key] = value
        return
    section, field = key.split(".")
    d[section] = dict(d.get(section) or {})
    d[section][field] = value


def count_points(config) -> int:
    """The number of points of a sweep: the product of its axis lengths (grid axes, zip groups,
    seeds), computed without generating any point."""
    cfg = load_sweep_config(config)
    return math.prod(len(fields[0][1]) for _, fields in _axes(cfg))


def describe_points(config) -> str:
    """``"N points (a model.scale x b model.shape x c seed)"``: the count and its factors."""
    cfg = load_sweep_config(config)
    axes = _axes(cfg)
    n = math.prod(len(fields[0][1]) for _, fields in axes)
    return f"{n:,} point{'s' if n != 1 else ''} (" + " x ".join(f"{len(fields[0][1])} {name}" for name, fields in axes) + ")"


def check_size(config, max_points: int | None = DEFAULT_MAX_POINTS) -> int:
    """The point count of ``config``; ``ValueError`` (one line naming ``--max-points``) above
    ``max_points`` (``None``: no limit)."""
    cfg = load_sweep_config(config)
    n = count_points(cfg)
    if max_points is not None and n > max_points:
        raise ValueError(f"sweep {cfg.name} has {describe_points(cfg)}, more than the limit of {max_points:,}; to run it anyway pass --max-points {n} (max_points={n} in Python)")
    return n


def validate_grid(config) -> None:
    """Validate every grid value against the run schema (ranges included) before any point runs.

    Each axis value (each row of a ``zip`` group) is set on the base config and validated as a
    :class:`~implicit_bias.config.RunConfig`: the cost is the sum of the axis lengths, not their
    product, so a 10^6-point grid is checked in milliseconds.

    Raises:
        ValueError: one line naming the axis, the value and the rule, e.g. ``grid model.scale =
            -0.01: model.scale must be > 0``.
    """
    from pydantic import ValidationError

    from .config import format_validation_error

    cfg = load_sweep_config(config)
    base = _base(cfg)
    for name, fields in _axes(cfg):
        if name == "seed":
            continue
        for i in range(len(fields[0][1])):
            d = _point_dict(base, [(name, fields)], (i,))
            try:
                RunConfig.model_validate(d)
            except ValidationError as e:
                value = ", ".join(f"{k} = {v[i]!r}" for k, v in fields)
                raise ValueError(format_validation_error(e, RunConfig, f"{cfg.name}: grid {value}")) from None


def _base(cfg: SweepConfig) -> dict:
    return cfg.model_dump(exclude={"name", "record", "grid", "zip", "seeds"})


def _point_dict(base: dict, axes, idx) -> dict:
    d = dict(base)  # _set copies the sections it changes: base stays untouched
    for (_name, fields), i in zip(axes, idx):
        for key, values in fields:
            _set(d, key, values[i])
    return d


def iter_points(config):
    """Yield the points of a sweep lazily, one ``(index tuple, run config dict)`` at a time.

    The order is C order over the axes (the last axis, ``seed``, fastest); each run dict is
    validated as a :class:`~implicit_bias.config.RunConfig` when it is generated, so memory
    stays bounded by one point whatever the grid size.
    """
    cfg = load_sweep_config(config)
    base = _base(cfg)
    axes = _axes(cfg)
    sizes = [len(fields[0][1]) for _, fields in axes]
    for idx in itertools.product(*[range(n) for n in sizes]):
        d = _point_dict(base, axes, idx)
        try:
            run = RunConfig.model_validate(d)
        except Exception as e:
            from .config import format_validation_error

            raise ValueError(format_validation_error(e, RunConfig, f"point {dict(zip([a for a, _ in axes], idx))}")) from None
        yield idx, run.model_dump()


def expand(config) -> tuple[list, list[tuple[tuple, dict]]]:
    """Expand a sweep config into ``(axes, points)`` (all points in memory: see :func:`iter_points`).

    Returns:
        ``axes``: ``[(dim name, [(field key, values)])]``; ``points``: ``[(index tuple, run
        config dict)]`` in C order over the axes (the last axis, ``seed``, fastest). Each run
        dict validates as a :class:`~implicit_bias.config.RunConfig`.
    """
    cfg = load_sweep_config(config)
    return _axes(cfg), list(iter_points(cfg))


def iter_batches(config, batch: int = 32, skip=None):
    """Yield the batches of a sweep lazily: lists of ``(flat point index, run config dict)``.

    A batch holds at most ``batch`` points that share structure, in grid order; a batch is
    yielded as soon as it is full, and the unfilled ones at the end (in order of their first
    point). The composition of every batch is that of grouping all points by structure and
    cutting each group into runs of ``batch``: the same partition for every backend. Memory is
    bounded by ``batch`` points per structure, so the first batch of a 10^6-point grid starts at
    once. ``skip(flat index, run)`` drops points (e.g. those already in the store).
    """
    groups: dict[str, list] = {}
    for i, (_idx, run) in enumerate(iter_points(config)):
        if skip is not None and skip(i, run):
            continue
        sig = _signature(run)
        g = groups.setdefault(sig, [])
        g.append((i, run))
        if len(g) == batch:
            yield g
            groups[sig] = []
    for g in groups.values():
        if g:
            yield g


def point_run(config, i: int) -> dict:
    """The run config dict of the point with flat index ``i`` (C order over the axes, as
    :func:`iter_points`), validated, without generating the others.

    Example:
        >>> cfg = {"name": "x", "data": {"generator": "sparse_regression", "n": 4, "d": 5, "sparsity": 1},
        ...        "model": {"name": "diagonal"}, "grid": {"model.scale": [0.1, 1.0]}, "seeds": [0, 1]}
        >>> r = point_run(cfg, 3); r["model"]["scale"], r["seed"]
        (1.0, 1)
    """
    cfg = load_sweep_config(config)
    axes = _axes(cfg)
    idx = np.unravel_index(int(i), [len(fields[0][1]) for _, fields in axes])
    return RunConfig.model_validate(_point_dict(_base(cfg), axes, tuple(int(j) for j in idx))).model_dump()


def plan_batches(config, batch: int, keys: Sequence[str], todo, store=None):
    """Yield the vectorised calls that compute the points ``todo`` (flat indices), each as
    ``[(flat index, run config dict, write)]``: the whole call, ``write`` marking its points in
    ``todo`` (the others are recomputed for the call's sake and not written).

    Determinism (issue 20 item 8): a point's numbers depend on the call it runs in (XLA's batched
    kernels may sum in another order for another batch), so a point is always computed in the
    same call. A point the store has a recorded batch for (:meth:`Store.batch_keys`, e.g. after
    ``ibias runs rm`` or damage) is recomputed in that recorded batch, whatever ``batch`` is now
    (if every point of it belongs to this sweep); any other point in its batch of the partition of
    the *whole* grid (:func:`iter_batches` without ``skip``), never in a batch of the points left
    over, so a resumed or repaired sweep equals an uninterrupted one bit for bit.

    Example:
        >>> cfg = {"name": "x", "data": {"generator": "sparse_regression", "n": 4, "d": 5, "sparsity": 1},
        ...        "model": {"name": "diagonal"}, "grid": {"model.scale": [0.1, 0.2, 0.5, 1.0]}, "seeds": [0]}
        >>> keys = ["k0", "k1", "k2", "k3"]
        >>> [[(i, w) for i, _run, w in call] for call in plan_batches(cfg, 2, keys, {3})]
        [[(2, False), (3, True)]]
    """
    cfg = load_sweep_config(config)
    todo = set(todo)
    covered: set[int] = set()
    index_of = None
    batch_keys = getattr(store, "batch_keys", None)
    for i in sorted(todo) if batch_keys is not None else ():
        comp = None if i in covered else batch_keys(keys[i])
        if not comp:
            continue
        if index_of is None:
            index_of = {k: j for j, k in enumerate(keys)}
        idx = [index_of.get(k) for k in comp]
        if any(j is None for j in idx):  # recorded with points of another sweep: fresh partition
            continue
        write = {j for j in idx if j in todo and j not in covered}
        covered |= write
        yield [(j, point_run(cfg, j), j in write) for j in idx]
    rest = todo - covered
    if rest:
        for b in iter_batches(cfg, batch):
            write = [i for i, _ in b if i in rest]
            if write:
                yield [(i, run, i in rest) for i, run in b]


def _signature(run: dict) -> str:
    d = json.loads(json.dumps(run))
    for path in _VMAPPABLE:
        cur = d
        for p in path[:-1]:
            cur = cur.get(p, {})
        cur.pop(path[-1], None)
    return json.dumps(d, sort_keys=True)


def run_batch(runs: Sequence[dict]) -> list[dict]:
    """Run a batch of points (run config dicts sharing structure) as one vectorised call.

    Top-level and importable so that process pools and Dask workers can run it. Returns, per
    point, ``{"arrays": {name: (dims, array)}, "attrs": {...}}`` with ``attrs["status"]``.
    Configuration errors of the whole batch are raised as ``ValueError``.
    """
    from .algorithms import AbstractFlow
    from .train import Record, train_many

    cfgs = [RunConfig.model_validate(r) for r in runs]
    data_cache: dict[str, object] = {}
    built = []
    for c in cfgs:
        dkey = c.data.model_dump_json()
        ds, model, loss, alg, stop = build(c)
        ds = data_cache.setdefault(dkey, ds)
        built.append((ds, model, loss, alg, stop))
    ds0, _, loss, alg0, stop = built[0]
    if isinstance(alg0, AbstractFlow):
        record = Record(fields=("loss",), steps=(), times=())
    else:  # segments of INTERRUPT_STEPS steps: Ctrl-C is seen between them (same numbers, bit for bit)
        record = Record(fields=("loss",), steps=range(INTERRUPT_STEPS, int(stop.max_steps or 10**7), INTERRUPT_STEPS), times=None)
    res = train_many([b[1] for b in built], [b[0] for b in built], loss, [b[3] for b in built], stop, record=record, seeds=[c.seed for c in cfgs])
    out = []
    for run, (ds, *_rest) in zip(res, built):
        arrays = {}
        w = run.predictor
        if w is not None:
            arrays["predictor"] = (("dim",), np.asarray(w, dtype=np.float64))
        for k, v in run.params.items():
            v = np.asarray(v, dtype=np.float64)
            arrays["param_" + k] = (tuple(f"param_{k}_{j}" for j in range(v.ndim)), v)
        test_error = float("nan")
        if ds.X_test is not None:  # a held-out set in the data file: the error on it
            test_error = ds.test_error(run.outputs(ds.X_test))
        elif w is not None and ds.w_star is not None and ds.task == "regression":
            test_error = ds.population_error(w)
        final_loss, log_loss = float(run.final_loss), float(run.final_log_loss)
        accuracy = float("nan") if run.training_accuracy is None else float(run.training_accuracy)
        if run.status == "diverged" and not math.isfinite(log_loss):
            # a NaN/Inf loss is reported as such (inf if it overflowed, else NaN), never as
            # exp(-inf) = 0 (a perfect fit) nor as an infinite training accuracy
            log_loss = math.inf if log_loss == math.inf else math.nan
            final_loss, accuracy = log_loss, math.nan
        attrs = {
            "status": run.status,
            "message": run.message,
            "final_loss": final_loss,
            "log_loss": log_loss,
            "training_accuracy": accuracy,
            "test_error": test_error,
            "steps": int(run.steps),
            "time": float(run.time),
            "wall_time": float(run.wall_time),
        }
        out.append({"arrays": arrays, "attrs": attrs})
    return out


class _MemoryStore:
    """A store that keeps results in memory (``store=None``): nothing persists."""

    def __init__(self):
        self._d, self._sweeps = {}, {}

    key = staticmethod(Store.key)

    def has(self, key):
        return key in self._d

    def state(self, key):
        return "present" if key in self._d else "missing"

    def claim(self, key):
        return True

    def release(self, key):
        pass

    def remove(self, key):
        return self._d.pop(key, None) is not None

    def put(self, key, arrays, attrs, index=None):
        self._d[key] = (dict(arrays), dict(attrs))
        return True

    def put_batch(self, items, call=None):
        return [self.put(*item) for item in items]

    def batch_keys(self, key):
        return None

    def get(self, key):
        arrays, attrs = self._d[key]
        return dataclasses.make_dataclass("R", ["key", "arrays", "attrs"])(key, arrays, attrs)

    root = "(memory)"

    def put_sweep(self, name, meta):
        self._sweeps[name] = dict(meta)

    def has_sweep(self, name):
        return name in self._sweeps

    def get_sweep(self, name):
        return self._sweeps[name]


def _as_store(store):
    if store is None:
        return _MemoryStore()
    if isinstance(store, (Store, _MemoryStore)):
        return store
    return Store(store)


def sweep(
    config,
    grid: Mapping[str, Sequence] | None = None,
    *,
    backend: str = "vmap",
    store="ibias-runs",
    workers: int | None = None,
    scheduler: str | None = None,
    batch: int = 32,
    progress: bool = True,
    summary: SweepSummary | None = None,
    max_points: int | None = DEFAULT_MAX_POINTS,
    replace: bool = False,
    connect_timeout: float = 10.0,
) -> xr.Dataset:
    """Run a sweep and return its dataset (one dimension per grid axis plus ``seed``).

    Args:
        config: a :class:`~implicit_bias.config.SweepConfig`, a dict, a YAML string or a path.
        grid: axes that replace the config's ``grid`` (``{"model.scale": [...], ...}``).
        backend: ``vmap``, ``local`` or ``dask`` (see the module docstring).
        store: a :class:`~implicit_bias.store.Store`, a folder (default ``ibias-runs``), or
            ``None`` to keep nothing.
        workers: processes for ``local`` / the ``LocalCluster`` of ``dask`` (default: cores).
        scheduler: a Dask scheduler address (``dask`` only); without it a ``LocalCluster``
            bound to 127.0.0.1 is started and closed.
        batch: at most this many structurally equal points per vectorised call (the same
            partition for every backend, hence identical numbers).
        progress: a rich progress bar (points done, failures) on stderr.
        summary: a :class:`SweepSummary` filled in with counts and failure reasons.
        max_points: refuse (``ValueError``, before any work) a sweep of more points than this
            (default :data:`DEFAULT_MAX_POINTS`, 10^5; ``None``: no limit). Points are generated
            and batched lazily, so memory does not grow with the grid beyond its keys.
        connect_timeout: seconds to reach ``scheduler`` before giving up with a ``ValueError``
            (one line: unreachable scheduler).
        replace: a sweep of this name with a different config in the store is replaced (its
            points stay in the store). Without it such a sweep is refused (``ValueError``): a
            sweep record is identified by its full config, never silently replaced.

    Returns:
        ``xarray.Dataset`` with the recorded fields (``predictor`` gains a ``dim`` axis;
        ``status`` is a string array: a run's own status (``converged``, ``max_steps``,
        ``diverged``, ...) for a stored point, ``failed`` for a point whose batch raised an
        error in this call, ``pending`` for a point not computed yet, ``damaged`` for one whose
        stored files cannot be read (a resumed sweep recomputes it); the same words as
        ``ibias runs ls|show`` (:data:`STATUSES`). Points without a result are NaN; a diverged
        point keeps its non-finite loss (NaN or inf), never 0).

    Raises:
        ValueError: invalid config, unknown backend, a scheduler address without ``dask``,
            more than ``max_points`` points, a name taken by a different config.
    """
    cfg = load_sweep_config(config)
    if grid is not None:
        cfg = load_sweep_config({**cfg.model_dump(), "grid": dict(grid)})
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise ValueError("--scheduler applies to the dask backend only; add --backend dask")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1; received {workers}")
    if batch < 1:
        raise ValueError(f"batch must be >= 1; received {batch}")
    if not connect_timeout > 0:
        raise ValueError(f"connect_timeout must be > 0 seconds; received {connect_timeout}")
    n_points = check_size(cfg, max_points)
    validate_grid(cfg)
    st = _as_store(store)
    if isinstance(st, Store) and not st.local:
        import sys

        sys.stderr.write(f"ibias: store {st.root} is a URL: points are not claimed there (claims need a local folder), so run one sweep at a time into it\n")
    if not replace:
        _check_identity(st, cfg)
    # an unreachable scheduler is reported before anything is written
    client = _connect(scheduler, connect_timeout) if scheduler is not None else None
    try:
        return _sweep(cfg, st, n_points=n_points, backend=backend, workers=workers, client=client, batch=batch, progress=progress, summary=summary)
    finally:
        if client is not None:
            client.close()


def _sweep(cfg, st, *, n_points, backend, workers, client, batch, progress, summary):
    """The body of :func:`sweep` once the config, size, grid, name and scheduler are checked."""
    axes = _axes(cfg)
    keys = [st.key(r) for _, r in iter_points(cfg)]
    states = [st.state(k) for k in keys]
    for k, state in zip(keys, states):
        if state == "damaged":  # unreadable files: removed here, recomputed below
            st.remove(k)
    cached = np.fromiter((state == "present" for state in states), dtype=bool, count=n_points)
    summ = summary if summary is not None else SweepSummary()
    summ.total = n_points
    t0 = time.perf_counter()
    summ.cached = int(cached.sum())
    meta = {
        "config": cfg.model_dump(),
        "axes": [[name, [[k, v] for k, v in fields]] for name, fields in axes],
        "keys": keys,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "backend": backend,
    }
    st.put_sweep(cfg.name, meta)
    bar = SweepProgress(progress, n_points, summ.cached)
    held: set[str] = set()  # claims this call holds
    others: list[int] = []  # points another live sweep is computing

    def take(i) -> bool:
        """Claim point ``i`` to compute it; ``False`` if it is done or another sweep has it."""
        k = keys[i]
        if not st.claim(k):
            others.append(i)
            return False
        if st.has(k):  # finished by another sweep since we looked
            st.release(k)
            return False
        held.add(k)
        return True

    def claimed(plan):
        """The planned batches with their points to write claimed; batches with none dropped."""
        for b in plan:
            b = [(i, run, write and take(i)) for i, run, write in b]
            if any(w for _, _, w in b):
                yield b

    def finish(items, results=None, error=None):
        mine = [(i, run, r) for (i, run, write), r in zip(items, results or [None] * len(items)) if write]
        if error is None:  # the batch's points in one atomic write (one zip, one index record)
            st.put_batch([(keys[i], r["arrays"], {**r["attrs"], "run_config": run}, {"sweep": cfg.name, "status": r["attrs"]["status"]}) for i, run, r in mine], call=[keys[i] for i, _, _ in items])
        for i, _run, _r in mine:
            if error is not None:
                summ.failed[keys[i]] = error
            else:
                summ.done += 1
            st.release(keys[i])
            held.discard(keys[i])
        if mine:
            bar.advance(len(mine), failed=error is not None)

    def run_round(batches):
        if backend == "vmap":
            for b in batches:
                try:
                    res = run_batch([run for _, run, _ in b])
                except Exception as e:
                    intr.check()  # an interrupt turned into another error inside JAX
                    if not isinstance(e, ValueError):
                        raise
                    finish(b, error=str(e))
                    continue
                intr.check()  # an interrupt swallowed inside JAX: stop before writing
                finish(b, res)
        elif backend == "local":
            _run_local(batches, workers, finish, intr)
        else:
            _run_dask(batches, workers, client, finish, intr)

    intr = _Interrupts()
    try:
        with intr:
            todo = set(np.flatnonzero(~cached).tolist())
            run_round(claimed(plan_batches(cfg, batch, keys, todo, st)))
            # points another sweep was computing: wait for them; compute those it abandons
            while others:
                waiting, others[:] = list(others), []
                free = set()
                for i in waiting:
                    if st.has(keys[i]):
                        continue
                    if st.claimed(keys[i]):
                        others.append(i)
                    else:
                        free.add(i)
                if free:  # abandoned by the other sweep: computed here, in their own batches
                    run_round(claimed(plan_batches(cfg, batch, keys, free, st)))
                left = [i for i in others if not st.has(keys[i])]
                others[:] = left
                if left:
                    intr.check()
                    time.sleep(0.2)
        summ.cached = n_points - summ.done - len(summ.failed)  # incl. points another sweep wrote
    finally:
        for k in list(held):  # interrupted: give the points back
            st.release(k)
        bar.close()
        summ.wall_time = time.perf_counter() - t0
    return _assemble(cfg, axes, keys, st, summ.failed)


class _Interrupts:
    """Ctrl-C during a sweep is never lost: SIGINT sets a flag (and raises KeyboardInterrupt as
    usual); :meth:`check`, called between batches, raises it again if JAX swallowed it or turned
    it into another error inside a callback. Only in the main thread, only over Python's own
    default handler."""

    def __init__(self):
        self.hit = False
        self._prev = None

    def _handler(self, signum, frame):
        self.hit = True
        raise KeyboardInterrupt

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._prev = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        import signal

        if self._prev is not None:
            signal.signal(signal.SIGINT, self._prev)
            self._prev = None
        if self.hit and exc[0] is None:
            raise KeyboardInterrupt
        return False

    def check(self):
        if self.hit:
            raise KeyboardInterrupt


def _check_identity(st, cfg: SweepConfig) -> None:
    """Refuse (one line naming the fix) to reuse a sweep name for a different config."""
    if not st.has_sweep(cfg.name):
        return
    fix = "give this sweep a new name, or pass --replace (replace=True) to replace the stored one (its points stay in the store)"
    try:
        old = st.get_sweep(cfg.name).get("config")
    except ValueError:
        raise ValueError(f"sweep {cfg.name} in store {st.root} has damaged metadata; {fix}") from None
    new = cfg.model_dump()
    if not isinstance(old, dict) or Store.key(old) != Store.key(new):
        differ = sorted(k for k in set(new) | set(old if isinstance(old, dict) else {}) if not isinstance(old, dict) or Store.key({"v": old.get(k)}) != Store.key({"v": new.get(k)}))
        raise ValueError(f"sweep {cfg.name} already exists in store {st.root} with a different config ({', '.join(differ) or 'config'} differ); {fix}")


def _run_local(batches, workers, finish, intr):
    import concurrent.futures as cf
    import multiprocessing as mp

    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return
    n = workers or os.cpu_count() or 1
    env_before = os.environ.get("JAX_ENABLE_X64")
    os.environ["JAX_ENABLE_X64"] = "1"
    ex = cf.ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn"))
    try:
        futs = {ex.submit(run_batch, [it[1] for it in first]): first}
        for b in itertools.islice(batches, 2 * n - 1):
            futs[ex.submit(run_batch, [it[1] for it in b])] = b
        while futs:
            done, _ = cf.wait(futs, return_when=cf.FIRST_COMPLETED)
            intr.check()
            for f in done:
                b = futs.pop(f)
                try:
                    res = f.result()
                except Exception as e:  # a failed batch is reported, the others go on
                    finish(b, error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
                else:
                    finish(b, res)
                nxt = next(batches, None)
                if nxt is not None:
                    futs[ex.submit(run_batch, [it[1] for it in nxt])] = nxt
    except BaseException:  # Ctrl-C: the workers' batches are dropped (nothing partial is written)
        for proc in list((getattr(ex, "_processes", None) or {}).values()):
            proc.terminate()  # (else interpreter exit would wait for their batches)
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        ex.shutdown(wait=True)
    finally:
        if env_before is None:
            os.environ.pop("JAX_ENABLE_X64", None)


def local_cluster(workers: int | None = None):
    """A Dask ``LocalCluster`` of ``workers`` single-threaded worker processes whose scheduler
    and workers listen on 127.0.0.1 only (no dashboard), with ``JAX_ENABLE_X64=1``."""
    from dask.distributed import LocalCluster

    return LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env={"JAX_ENABLE_X64": "1"},
    )


def _connect(scheduler: str, timeout: float):
    """A ``distributed.Client`` of ``scheduler``, or ``ValueError`` (one line) after ``timeout`` s."""
    import logging

    from dask.distributed import Client

    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.core", "distributed.comm")]
    levels = [lg.level for lg in quiet]
    for lg in quiet:
        lg.setLevel(logging.CRITICAL)
    try:
        return Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as e:
        why = type(e).__name__
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({why}); check the address and that the scheduler runs, or raise --connect-timeout") from None
    finally:
        for lg, lv in zip(quiet, levels):
            lg.setLevel(lv)


def _run_dask(batches, workers, client, finish, intr):
    from dask.distributed import Client, as_completed

    batches = iter(batches)
    first = next(batches, None)
    if first is None:
        return
    cluster = None
    if client is None:
        cluster = local_cluster(workers)
        client = Client(cluster)
    try:
        n = sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values()) or (workers or os.cpu_count() or 1)

        def submit(b):
            f = client.submit(run_batch, [it[1] for it in b], pure=False, retries=2)
            futs[f.key] = b
            return f

        futs = {}
        ac = as_completed([submit(first)] + [submit(b) for b in itertools.islice(batches, 4 * n - 1)])
        for f in ac:
            intr.check()
            b = futs.pop(f.key)
            try:
                res = f.result()
            except Exception as e:
                finish(b, error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            else:
                finish(b, res)
            nxt = next(batches, None)
            if nxt is not None:
                ac.add(submit(nxt))
    finally:
        if cluster is not None:  # (a client of a scheduler given by address: closed by sweep)
            client.close()
            cluster.close()


def _assemble(cfg: SweepConfig, axes, keys, st, failed: Mapping[str, str]) -> xr.Dataset:
    dims = [name for name, _ in axes]
    shape = [len(fields[0][1]) for _, fields in axes]
    n = int(np.prod(shape))
    record = set(cfg.record)
    scal = {k: np.full(n, np.nan) for k in _SCALARS}
    status = np.empty(n, dtype=object)
    message = np.empty(n, dtype=object)
    vecs: dict[str, list] = {}
    for i, k in enumerate(keys):
        state = st.state(k)
        r = None
        if state == "present":
            try:
                r = st.get(k)
            except ValueError as e:  # arrays unreadable although the metadata parses
                state, why = "damaged", str(e)
        else:
            why = f"result {k} in store {getattr(st, 'root', '?')} is damaged (unreadable index entry or group); rerun the sweep to recompute it"
        if r is not None:
            for s in _SCALARS:
                v = r.attrs.get(s)
                scal[s][i] = np.nan if v is None else float(v)
            status[i] = r.attrs.get("status", "unknown")
            message[i] = r.attrs.get("message", "")
            for name, (adims, arr) in r.arrays.items():
                vecs.setdefault(name, [None] * n)[i] = (tuple(adims), np.asarray(arr))
        elif state == "damaged":
            status[i] = "damaged"
            message[i] = why
        elif k in failed:
            status[i] = "failed"
            message[i] = failed[k]
        else:
            status[i] = "pending"
            message[i] = "not computed yet"
    coords = {}
    for name, fields in axes:
        if len(fields) == 1:
            coords[name] = (name, np.asarray(fields[0][1]))
        else:
            coords[name] = (name, np.arange(len(fields[0][1])))
            for key, values in fields:
                coords[key] = (name, np.asarray(values))
    data_vars = {}
    if "status" in record:
        data_vars["status"] = (dims, status.reshape(shape))
        data_vars["message"] = (dims, message.reshape(shape))
    for s in _SCALARS:
        if s in record or (s == "final_loss" and "final_loss" in record):
            data_vars[s] = (dims, scal[s].reshape(shape))
    wanted = []
    if "predictor" in record:
        wanted.append("predictor")
    if "params" in record:
        wanted += [k for k in vecs if k.startswith("param_")]
    for name in wanted:
        items = vecs.get(name)
        if not items:
            continue
        proto = next(x for x in items if x is not None)
        adims, arr0 = proto
        # points of different shapes (a width axis) are NaN-padded to the largest along each axis
        big = tuple(max(x[1].shape[j] for x in items if x is not None and x[1].ndim == arr0.ndim) for j in range(arr0.ndim))
        full = np.full((n,) + big, np.nan)
        for i, x in enumerate(items):
            if x is not None and x[1].ndim == arr0.ndim:
                full[(i,) + tuple(slice(0, m) for m in x[1].shape)] = x[1]
        data_vars[name] = (dims + list(adims), full.reshape(shape + list(big)))
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update({"sweep": cfg.name, "config": dumps(cfg.model_dump(), "config"), "keys": dumps(keys, "keys")})
    return ds


def load_sweep(name: str, store="ibias-runs") -> xr.Dataset:
    """The dataset of a sweep already in the store (what ``ibias runs export`` writes).

    Raises:
        ValueError: no sweep of that name in the store.
    """
    st = _as_store(store)
    meta = st.get_sweep(name)
    cfg = load_sweep_config(meta["config"])
    axes = [(a[0], [(k, v) for k, v in a[1]]) for a in meta["axes"]]
    return _assemble(cfg, axes, meta["keys"], st, {})


#: What the sweep bar says until its first batch returns (tracing and compiling the batch's program).
SWEEP_COMPILING = "compiling and running the first batch"


def sweep_eta(left: int, done: int, elapsed: float, first: tuple[int, float] | None = None) -> float | None:
    """Seconds until the ``left`` points still to compute are done, from measured rates.

    ``done`` points were computed in ``elapsed`` seconds; ``first = (n1, t1)``: the first batch
    (whose time includes tracing and compiling) returned ``n1`` points at ``t1`` seconds. Once a
    later batch has returned, the rate is the one since then, ``(done - n1) / (elapsed - t1)``
    (compilation excluded); before, the overall rate ``done / elapsed`` (an upper bound on the
    time left). ``None`` before any point is done: nothing measured yet.

    Example:
        >>> sweep_eta(208, 32, 19.0, (32, 19.0))  # only the first batch (19 s, compilation included)
        123.5
        >>> sweep_eta(176, 64, 21.0, (32, 19.0))  # the second batch took 2 s: 16 points/s from here
        11.0
    """
    if done <= 0 or elapsed <= 0:
        return None
    if first is not None and done > first[0] and elapsed > first[1]:
        rate = (done - first[0]) / (elapsed - first[1])
    else:
        rate = done / elapsed
    return left / rate


class SweepProgress:
    """The sweep's bar: points done of all (cached included), a compile phase until the first
    batch returns, and an ETA from measured rates (:func:`sweep_eta`)."""

    def __init__(self, enabled, total, cached):
        self.p = None
        self.failed = 0
        self.total, self.cached, self.done = total, cached, 0
        self.t0 = time.perf_counter()
        self.first = None
        if not enabled:
            return
        from ._progress import progress_bar

        self.p, self.task = progress_bar("sweep", "{task.completed}/{task.total} points", total, own_eta=True, completed=cached, info=f"{cached} cached; {SWEEP_COMPILING}" if cached < total else f"{cached} cached", eta="ETA -")

    def advance(self, n=1, failed=False):
        """``n`` points of one batch have finished (``failed``: with an error)."""
        self.done += n
        self.failed += n if failed else 0
        elapsed = time.perf_counter() - self.t0
        if self.first is None:
            self.first = (self.done, elapsed)
        if self.p is None:
            return
        eta = sweep_eta(self.total - self.cached - self.done, self.done, elapsed, self.first)
        self.p.update(self.task, advance=n, info=f"{self.cached} cached, {self.failed} failed", eta="ETA -" if eta is None else f"ETA {datetime.timedelta(seconds=round(eta))}")

    def close(self):
        if self.p is not None:
            self.p.stop()
