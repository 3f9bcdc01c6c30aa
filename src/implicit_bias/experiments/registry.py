"""The registry of experiments (figures) and checks (theorems): what an experiment is.

An experiment is a function ``fn(profile) -> ExperimentResult`` registered with
:func:`register`. A *check* trains a model the way a theorem says and compares the result with
a prediction computed by an independent route (closed form, convex program, dual solve), within
a stated tolerance; a *figure* regenerates a paper's figure (and may carry checks too).

Two profiles run the same code: ``quick`` (the whole of ``ibias verify`` in minutes on two
CPU cores) and ``full`` (the papers' sizes).

This module knows no paper: the paper modules (``experiments/diagonal.py``, ``fc.py``, ...)
import it and register into :data:`REGISTRY` when they are imported. Loading them all, looking
experiments up, running and saving them is :mod:`implicit_bias.experiments.runner`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._json import encode_json

if TYPE_CHECKING:  # (xarray is imported by the experiments, not by the registry: `ibias list` stays fast)
    import xarray as xr

__all__ = [
    "Profile",
    "CheckResult",
    "ExperimentResult",
    "Experiment",
    "register",
    "REGISTRY",
    "PROFILES",
    "status_failures",
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
    def compare(cls, id, claim, paper, where, measured, predicted, error, tolerance, *, statuses=None, require_status=("converged",), **details) -> "CheckResult":
        """Build a result with ``passed = error <= tolerance`` (NaN errors fail) and, when the
        check's runs are given, every run's status in ``require_status``.

        Args:
            statuses: the status (a string), the statuses, or the :class:`~implicit_bias.Run`
                objects of the runs the measured number comes from; recorded in ``details`` as
                ``statuses``. A check whose claim is about the end of training must pass them: a
                run stopped by a budget (``max_steps``, ...) has not reached the state the claim
                is about, however close its numbers look.
            require_status: the statuses the claim needs (default ``("converged",)``: the loss
                or accuracy target was reached); see :func:`status_failures`.
        """
        err = float(error)
        bad = status_failures(statuses, require_status)
        if statuses is not None:
            details = {**details, "statuses": _status_list(statuses), "required_status": list(require_status)}
        if bad:
            details["status_failures"] = bad
        return cls(
            id=id,
            claim=claim,
            paper=paper,
            where=where,
            measured=float(measured),
            predicted=float(predicted),
            error=err,
            tolerance=float(tolerance),
            passed=bool(math.isfinite(err) and err <= tolerance and not bad),
            details=details,
        )

    def to_dict(self) -> dict:
        """The result in strict JSON types (non-finite numbers as ``"NaN"``, ``"Infinity"``, ...)."""
        return encode_json(dataclasses.asdict(self), f"check {self.id!r}", str_keys=True)


def _status_list(statuses) -> list[str]:
    if isinstance(statuses, str) or hasattr(statuses, "status"):
        statuses = [statuses]
    return [str(getattr(s, "status", s)) for s in statuses]


def status_failures(statuses, require_status=("converged",)) -> list[str]:
    """The statuses among ``statuses`` (strings or runs) that are not in ``require_status``.

    The status requirement of a check, stated once: :meth:`CheckResult.compare` fails a check
    whose runs did not all end in a required status. ``statuses=None`` (a check without
    training runs, e.g. two closed forms compared) requires nothing.

    Example:
        >>> status_failures(["converged", "max_steps"])
        ['max_steps']
    """
    if statuses is None:
        return []
    if isinstance(require_status, str):
        raise ValueError(f"require_status must be a tuple of statuses, e.g. ({require_status!r},); received the string {require_status!r}")
    return [s for s in _status_list(statuses) if s not in require_status]


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
