"""Registry of experiments (figures) and checks (theorems) and how to run and save them.

An experiment is a function ``fn(profile) -> ExperimentResult`` registered with
:func:`register`. A *check* trains a model the way a theorem says and compares the result with
a prediction computed by an independent route (closed form, convex program, dual solve), within
a stated tolerance; a *figure* regenerates a paper's figure (and may carry checks too).

Two profiles run the same code: ``quick`` (the whole of ``ibias verify`` in minutes on two
CPU cores) and ``full`` (the papers' sizes).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "Profile",
    "CheckResult",
    "ExperimentResult",
    "Experiment",
    "register",
    "REGISTRY",
    "get",
    "select",
    "run",
    "save",
    "PROFILES",
]

PROFILES = ("quick", "full")


@dataclasses.dataclass(frozen=True)
class Profile:
    """Run size: ``quick`` (CI-sized) or ``full`` (paper-sized)."""

    name: str = "quick"

    def __post_init__(self):
        if self.name not in PROFILES:
            raise ValueError(f"unknown profile {self.name!r}: use quick or full")

    @property
    def quick(self) -> bool:
        return self.name == "quick"

    def pick(self, quick, full):
        """``quick`` in the quick profile, ``full`` otherwise."""
        return quick if self.quick else full


def _jsonable(x):
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else str(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    return x


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One theorem checked numerically.

    Attributes:
        id: unique id, ``<experiment id>`` or ``<experiment id>/<case>``.
        claim: the statement in words.
        paper: paper key (``montufar2024``).
        where: theorem / equation / figure (``Thm 1``).
        measured: the measured quantity (a number).
        predicted: what the theory predicts for it.
        error: the discrepancy compared with ``tolerance`` (its definition is in ``claim``).
        tolerance: the stated tolerance; ``passed = error <= tolerance``.
        details: extra numbers (per-case errors, fitted slopes, ...).
    """

    id: str
    claim: str
    paper: str
    where: str
    measured: float
    predicted: float
    error: float
    tolerance: float
    passed: bool
    details: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def compare(cls, id, claim, paper, where, measured, predicted, error, tolerance, **details) -> "CheckResult":
        """Build a result with ``passed = error <= tolerance`` (NaN errors fail)."""
        err = float(error)
        return cls(
            id=id,
            claim=claim,
            paper=paper,
            where=where,
            measured=float(measured),
            predicted=float(predicted),
            error=err,
            tolerance=float(tolerance),
            passed=bool(math.isfinite(err) and err <= tolerance),
            details=details,
        )

    def to_dict(self) -> dict:
        return _jsonable(dataclasses.asdict(self))


@dataclasses.dataclass
class ExperimentResult:
    """What an experiment returns: data, checks and a figure."""

    data: xr.Dataset
    checks: list
    figure: Any = None
    id: str = ""
    profile: str = "quick"
    wall_time: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment or check."""

    id: str
    fn: Callable
    paper: str
    kind: str
    where: str
    title: str

    def run(self, profile: str | Profile = "quick") -> ExperimentResult:
        prof = profile if isinstance(profile, Profile) else Profile(profile)
        t0 = time.perf_counter()
        res = self.fn(prof)
        res.id = self.id
        res.profile = prof.name
        res.wall_time = time.perf_counter() - t0
        res.data.attrs.update({"experiment": self.id, "paper": self.paper, "where": self.where, "profile": prof.name})
        return res


REGISTRY: dict[str, Experiment] = {}


def register(id: str, *, paper: str, kind: str, where: str, title: str = ""):
    """Decorator registering ``fn(profile) -> ExperimentResult`` under ``id``.

    Args:
        id: ``paper-key-...`` (e.g. ``azulay2021-fig7.1``).
        paper: paper key.
        kind: ``check`` (a theorem) or ``figure`` (a figure of the paper).
        where: theorem / figure reference.
        title: one line for ``ibias list``.
    """
    if kind not in ("check", "figure"):
        raise ValueError(f"kind must be 'check' or 'figure'; received {kind!r}")

    def deco(fn):
        if id in REGISTRY:
            raise ValueError(f"experiment id {id!r} is registered twice")
        REGISTRY[id] = Experiment(id=id, fn=fn, paper=paper, kind=kind, where=where, title=title or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return deco


def _load_all():
    # Importing the paper modules registers their experiments.
    from . import diagonal, diagonal_classification, fc, linear, splines, stability  # noqa: F401


def get(id: str) -> Experiment:
    """The experiment registered under ``id``.

    Raises:
        ValueError: unknown id (the message lists close matches).
    """
    _load_all()
    if id not in REGISTRY:
        import difflib

        close = difflib.get_close_matches(id, list(REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `ibias list` for the ids"
        raise ValueError(f"unknown experiment id {id!r}{hint}")
    return REGISTRY[id]


def select(pattern: str | None = None, kind: str | None = None) -> list[Experiment]:
    """Registered experiments whose id matches the glob or substring ``pattern``."""
    _load_all()
    out = []
    for e in REGISTRY.values():
        if kind is not None and e.kind != kind:
            continue
        if pattern and not (fnmatch.fnmatch(e.id, pattern) or pattern in e.id):
            continue
        out.append(e)
    return out


def run(id: str, profile: str = "quick") -> ExperimentResult:
    """Run the experiment ``id`` in ``profile``."""
    return get(id).run(profile)


def save(result: ExperimentResult, out_dir: str | os.PathLike) -> dict:
    """Write ``ID.png``, ``ID.svg``, ``ID.nc`` and ``ID.json`` to ``out_dir``; return the paths."""
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(os.fspath(out_dir), result.id)
    paths = {}
    if result.figure is not None:
        for ext in ("png", "svg"):
            p = f"{base}.{ext}"
            result.figure.savefig(p, dpi=130 if ext == "png" else None, bbox_inches="tight")
            paths[ext] = p
    ds = result.data.copy()
    ds.attrs = {k: (json.dumps(_jsonable(v)) if not isinstance(v, (str, int, float)) else v) for k, v in ds.attrs.items()}
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
        json.dump(meta, fh, indent=2)
    paths["json"] = p
    return paths
