"""Loading, looking up, running and saving the registered experiments.

The paper modules (one per family: ``diagonal``, ``fc``, ``splines``, ``wide``, ``discrete``, ...,
one import line each in :func:`load_all`) register their experiments into :data:`~implicit_bias.experiments.registry.REGISTRY`
when they are imported; :func:`load_all` imports them and puts the registry in one order (by
module, then by place in the module), whatever order the modules were imported in. Every lookup here (:func:`get`,
:func:`select`, :func:`run`) loads them first, so ``ibias list/run/verify`` and the report see
every experiment. A new paper module is added to the import in :func:`load_all`.

``ibias list`` reads the static index ``experiments/_index.json`` (:func:`index`, :func:`listing`:
id, kind, paper, where and title of every experiment, in registry order) instead of importing
the paper modules, which import JAX; ``tests/experiments/test_runner.py`` checks that it equals
the live registry, and ``make experiments-index`` (:func:`write_index`) regenerates it. Every
command that runs an experiment loads the real modules.

Import direction: ``runner`` -> paper modules -> ``registry``; the registry imports no paper.

Example:
    >>> from implicit_bias.experiments import runner
    >>> runner.get("montufar2024-thm1-min-distance").paper
    'montufar2024'
"""

from __future__ import annotations

import concurrent.futures
import difflib
import fnmatch
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence

from .._json import dumps
from .registry import REGISTRY, Experiment, ExperimentResult

__all__ = ["load_all", "get", "select", "run", "save", "run_saved", "run_many", "usable_cores", "index", "live_index", "write_index", "listing", "INDEX_PATH", "INDEX_FIELDS", "INDEX_COMMAND", "COSTS_PATH", "expected_seconds", "index_difference"]

#: The static index of the registry, shipped in the package (what ``ibias list`` prints).
INDEX_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_index.json")
#: The fields of each index entry (the :class:`~implicit_bias.experiments.registry.Experiment` fields but ``fn``).
INDEX_FIELDS = ("id", "kind", "paper", "where", "title")
#: Recorded quick-profile wall times ``{id: seconds}``: the order of ``ibias verify --jobs N`` (longest first).
COSTS_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_costs.json")
#: The command that regenerates the index after an experiment is added, removed or renamed.
INDEX_COMMAND = "make experiments-index"


def load_all() -> dict[str, Experiment]:
    """The registry with every paper module's experiments in it (they register when imported).

    The paper modules are imported here, on first use, and not when the package is: importing
    :mod:`implicit_bias.experiments` (e.g. for :class:`~implicit_bias.experiments.registry.CheckResult`)
    stays cheap. A new paper module is added to this import.
    """
    from . import conv  # noqa: F401
    from . import diagonal  # noqa: F401
    from . import diagonal_classification  # noqa: F401
    from . import discrete  # noqa: F401
    from . import double_descent  # noqa: F401
    from . import factorization  # noqa: F401
    from . import fc  # noqa: F401
    from . import homogeneous  # noqa: F401
    from . import linear  # noqa: F401
    from . import reconstruction  # noqa: F401
    from . import robustness  # noqa: F401
    from . import splines  # noqa: F401
    from . import stability  # noqa: F401
    from . import wide  # noqa: F401

    _canonical_order()
    return REGISTRY


def _canonical_order() -> None:
    """Put the registry in one order whatever order the paper modules were imported in (a test
    module or a user may import ``experiments.wide`` before ``experiments.conv``): by paper module
    (alphabetical, as :func:`load_all` imports them), then by where the function is defined in
    it. The static index, ``ibias list`` and ``ibias verify`` all follow this order."""
    def key(item):
        fn = item[1].fn
        code = getattr(fn, "__code__", None)
        return (getattr(fn, "__module__", "") or "", code.co_firstlineno if code is not None else 0, item[0])

    items = sorted(REGISTRY.items(), key=key)
    if list(REGISTRY) != [k for k, _ in items]:
        REGISTRY.clear()
        REGISTRY.update(items)


def get(id: str) -> Experiment:
    """The experiment registered under ``id``.

    Raises:
        ValueError: unknown id (the message lists close matches).
    """
    table = load_all()
    if id not in table:
        close = difflib.get_close_matches(id, list(table), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `ibias list` for the ids"
        raise ValueError(f"unknown experiment id {id!r}{hint}")
    return table[id]


def _matches(id: str, e_kind: str, pattern: str | None, kind: str | None) -> bool:
    return (kind is None or e_kind == kind) and (not pattern or fnmatch.fnmatch(id, pattern) or pattern in id)


def select(pattern: str | None = None, kind: str | None = None) -> list[Experiment]:
    """Registered experiments whose id matches the glob or substring ``pattern`` (and ``kind``)."""
    return [e for e in load_all().values() if _matches(e.id, e.kind, pattern, kind)]


def live_index() -> list[dict]:
    """The index entries of the live registry (loads every paper module): one dict of
    :data:`INDEX_FIELDS` per experiment, in registry order."""
    return [{f: getattr(e, f) for f in INDEX_FIELDS} for e in load_all().values()]


def index() -> list[dict]:
    """The static index (``experiments/_index.json``), without importing any paper module.

    Example:
        >>> from implicit_bias.experiments import runner
        >>> runner.index()[0]["kind"] in ("check", "figure")
        True
    """
    with open(INDEX_PATH, encoding="utf-8") as fh:
        return json.load(fh)


def write_index(path: str | os.PathLike | None = None) -> str:
    """Write :func:`live_index` to ``path`` (default :data:`INDEX_PATH`) and return the path;
    what ``make experiments-index`` runs."""
    path = os.fspath(path or INDEX_PATH)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(dumps(live_index(), "index", indent=1) + "\n")
    return path


def index_difference(static: list[dict] | None = None, live: list[dict] | None = None) -> str:
    """What differs between the static index and the live registry (``""``: nothing): the ids
    missing from the index, the ids no longer registered, the entries that changed, the order;
    with the command that regenerates the index. Defaults: :func:`index` and :func:`live_index`.

    Example:
        >>> from implicit_bias.experiments import runner
        >>> print(runner.index_difference([], [{"id": "x", "kind": "check", "paper": "p", "where": "w", "title": "t"}]))
        experiments/_index.json is stale: not in it: x. Regenerate it with `make experiments-index`
    """
    static = index() if static is None else static
    live = live_index() if live is None else live
    if static == live:
        return ""
    s_ids, l_ids = [e["id"] for e in static], [e["id"] for e in live]
    by_id = {e["id"]: e for e in static}
    parts = []
    if missing := [i for i in l_ids if i not in by_id]:
        parts.append("not in it: " + ", ".join(missing))
    if gone := [i for i in s_ids if i not in set(l_ids)]:
        parts.append("no longer registered: " + ", ".join(gone))
    if changed := [e["id"] for e in live if e["id"] in by_id and by_id[e["id"]] != e]:
        parts.append("changed: " + ", ".join(changed))
    if not parts:
        parts.append("the order differs from the registry's")
    return f"experiments/_index.json is stale: {'; '.join(parts)}. Regenerate it with `{INDEX_COMMAND}`"


def listing(pattern: str | None = None, kind: str | None = None) -> list[dict]:
    """The static index entries whose id matches ``pattern`` (and ``kind``), as :func:`select`
    selects experiments, in registry order; cheap (no JAX). ``ibias list`` prints them."""
    return [e for e in index() if _matches(e["id"], e["kind"], pattern, kind)]


def run(id: str, profile: str = "quick") -> ExperimentResult:
    """Run the experiment ``id`` in ``profile``."""
    return get(id).run(profile)


def save(result: ExperimentResult, out_dir: str | os.PathLike) -> dict:
    """Write ``ID.png``, ``ID.svg``, ``ID.nc`` and ``ID.json`` to ``out_dir``; return the paths.

    ``ID.json`` holds ``id``, ``profile``, ``wall_time``, ``passed`` and ``checks``
    (:meth:`~implicit_bias.experiments.registry.CheckResult.to_dict`), in strict JSON: a
    non-finite number is written as ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``
    (:mod:`implicit_bias._json`). Dataset attributes that are not strings or numbers are
    written to ``ID.nc`` as JSON text.
    """
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(os.fspath(out_dir), result.id)
    paths = {}
    if result.figure is not None:
        for ext in ("png", "svg"):
            p = f"{base}.{ext}"
            result.figure.savefig(p, dpi=130 if ext == "png" else None, bbox_inches="tight")
            paths[ext] = p
    ds = result.data.copy()
    ds.attrs = {k: (dumps(v, f"attrs[{k!r}]", str_keys=True) if not isinstance(v, (str, int, float)) else v) for k, v in ds.attrs.items()}
    p = f"{base}.nc"
    ds.to_netcdf(p)
    paths["nc"] = p
    meta = {
        "id": result.id,
        "profile": result.profile,
        "wall_time": result.wall_time,
        "passed": result.passed,
        "checks": [c.to_dict() for c in result.checks],
    }
    p = f"{base}.json"
    with open(p, "w") as fh:
        fh.write(dumps(meta, "result", indent=2))
    paths["json"] = p
    return paths


# ------------------------------------------------------------------- running many, in parallel


def run_saved(id: str, profile: str, out_dir: str | os.PathLike) -> ExperimentResult:
    """Run ``id`` in ``profile``, :func:`save` its files to ``out_dir`` and close its figure.

    Returns the result without its figure and data (they are in the files): small and picklable,
    what a worker process of :func:`run_many` sends back. ``ibias run`` and ``ibias verify`` run
    every experiment through here, in-process or in workers alike.
    """
    res = get(id).run(profile)
    save(res, out_dir)
    if res.figure is not None:
        import matplotlib.pyplot as plt

        plt.close(res.figure)
    return ExperimentResult(data=None, checks=list(res.checks), figure=None, id=res.id, profile=res.profile, wall_time=res.wall_time)


def usable_cores() -> int:
    """The CPU cores this process may run on (``os.sched_getaffinity``; ``os.cpu_count`` where
    there is no affinity); the default of ``ibias verify --jobs``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _worker_init(cache_dir: str | None) -> None:
    """A worker of :func:`run_many`: Ctrl-C is the parent's to handle (it stops the workers);
    float64 and the parent's compilation cache folder, so that the workers share compiled programs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .._config import enable_compilation_cache

    if cache_dir:
        enable_compilation_cache(cache_dir)


def expected_seconds(ids: Sequence[str], profile: str, out_dir: str | os.PathLike | None = None) -> dict[str, float]:
    """The expected wall time of each experiment, for longest-first scheduling: its
    ``wall_time`` in ``out_dir/ID.json`` from an earlier run of the same profile, else the
    recorded quick-profile time (``experiments/_costs.json``, written by
    ``benchmarks/bench_quick_profile.py --record-costs``), else the longest of those known
    (an unknown experiment starts early). Only the order of the work depends on it."""
    try:
        with open(COSTS_PATH, encoding="utf-8") as fh:
            recorded = json.load(fh)
    except (OSError, ValueError):
        recorded = {}
    known = {}
    for i in ids:
        try:
            with open(os.path.join(os.fspath(out_dir), f"{i}.json"), encoding="utf-8") as fh:
                meta = json.load(fh)
            if meta.get("profile") == profile:
                known[i] = float(meta["wall_time"])
                continue
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if profile == "quick" and i in recorded:
            known[i] = float(recorded[i])
    longest = max(known.values(), default=0.0)
    return {i: known.get(i, longest) for i in ids}


def run_many(
    ids: Sequence[str],
    profile: str,
    out_dir: str | os.PathLike,
    *,
    jobs: int = 1,
    cache_dir: str | None = None,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[ExperimentResult], None] | None = None,
) -> list[ExperimentResult]:
    """Run the experiments ``ids`` with :func:`run_saved`; the results in the order of ``ids``.

    ``jobs == 1``: one after another in this process. ``jobs > 1``: in ``jobs`` worker
    processes (spawn; each imports the package once and keeps its compiled programs for the
    experiments it runs next), the longest expected first (:func:`expected_seconds`), with
    ``cache_dir`` (JAX's persistent compilation cache) shared by the workers. The files written
    and the results returned are the same for any ``jobs``.

    An experiment that raises stops the run with its exception (the other workers are stopped),
    as it does in-process; so does Ctrl-C (``KeyboardInterrupt``).

    Args:
        ids: experiment ids, e.g. ``[e.id for e in select("montufar2024-thm1*")]``.
        profile: ``quick`` or ``full``.
        out_dir: folder for ``ID.png``, ``ID.svg``, ``ID.nc``, ``ID.json``.
        jobs: number of processes (>= 1).
        cache_dir: compilation cache folder for the workers (``None``: none).
        on_start: called with each id when it starts (``jobs == 1`` only).
        on_done: called with each result as it finishes (in the order they finish).

    Example:
        >>> from implicit_bias.experiments import runner
        >>> res = runner.run_many(["montufar2024-thm1-min-distance"], "quick", "ibias-results")  # doctest: +SKIP
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1; received {jobs}")
    ids = list(ids)
    if jobs == 1 or len(ids) <= 1:
        out = []
        for i in ids:
            if on_start is not None:
                on_start(i)
            out.append(run_saved(i, profile, out_dir))
            if on_done is not None:
                on_done(out[-1])
        return out
    cost = expected_seconds(ids, profile, out_dir)
    order = sorted(ids, key=lambda i: -cost[i])  # stable: ties keep the registry order
    done: dict[str, ExperimentResult] = {}
    ctx = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=min(jobs, len(ids)), mp_context=ctx, initializer=_worker_init, initargs=(cache_dir,))
    try:
        futures = {pool.submit(run_saved, i, profile, os.fspath(out_dir)): i for i in order}
        for f in concurrent.futures.as_completed(futures):
            res = f.result()  # an experiment's exception is raised here, as in-process
            done[futures[f]] = res
            if on_done is not None:
                on_done(res)
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    return [done[i] for i in ids]


def _stop(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Cancel the queued work and end the running workers now (they ignore Ctrl-C)."""
    if hasattr(pool, "terminate_workers"):  # Python >= 3.14
        pool.terminate_workers()
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=10)
