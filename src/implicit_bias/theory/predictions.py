"""Named predictions for ``ibias fit --predict NAME``: which solution the theory says training finds.

Each entry computes a predicted linear predictor from the problem alone (data, initial
predictor, the algorithm's geometry), never from training. ``kind`` says how it is compared
with a trained predictor: ``interpolant`` (relative l2 error of the vectors) or ``direction``
(relative l2 error of the unit vectors, since classification predictors grow without bound).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .interpolants import bregman_interpolant, min_distance_interpolant
from .margins import max_margin, polynomial_tail_direction

__all__ = ["Prediction", "PREDICTIONS", "get_prediction", "Context"]


@dataclasses.dataclass(frozen=True)
class Context:
    """What a prediction may use: the data, the initial predictor and the algorithm's geometry."""

    X: np.ndarray
    y: np.ndarray
    w0: np.ndarray | None = None
    potential: str | None = None
    polynomial_k: float | None = None


@dataclasses.dataclass(frozen=True)
class Prediction:
    name: str
    paper: str
    where: str
    kind: str  # "interpolant" or "direction"
    task: str  # "regression" or "classification"
    description: str
    fn: Callable[[Context], np.ndarray]


def _min_distance(c: Context):
    return min_distance_interpolant(c.X, c.y, c.w0)


def _bregman(c: Context):
    if c.potential is None:
        raise ValueError("prediction 'bregman' needs a potential: use --algorithm mirror --potential entropy|quadratic|lp:P")
    return bregman_interpolant(c.X, c.y, c.potential, c.w0)


def _mm(norm):
    return lambda c: max_margin(c.X, c.y, norm).w


def _poly(c: Context):
    if c.polynomial_k is None:
        raise ValueError("prediction 'polynomial-tail' needs the polynomial loss: use --loss polynomial:K")
    return polynomial_tail_direction(c.X, c.y, c.polynomial_k)


PREDICTIONS: dict[str, Prediction] = {
    p.name: p
    for p in [
        Prediction("min-distance", "montufar2024", "Thm 1", "interpolant", "regression", "argmin ||w - w0|| s.t. Xw = y (GD/GF/SGD on linear least squares)", _min_distance),
        Prediction("bregman", "montufar2024", "Thm 2", "interpolant", "regression", "argmin D_psi(w, w0) s.t. Xw = y (mirror descent with --potential)", _bregman),
        Prediction("max-margin-l2", "vardi2022", "§3.1", "direction", "classification", "l2 max-margin direction (GD on exponential-tailed losses)", _mm("l2")),
        Prediction("max-margin-l1", "montufar2024", "Thm 4", "direction", "classification", "l1 max-margin direction (steepest descent w.r.t. l1)", _mm("l1")),
        Prediction("max-margin-linf", "montufar2024", "Thm 4", "direction", "classification", "l-inf max-margin direction (steepest descent w.r.t. l-inf)", _mm("linf")),
        Prediction("polynomial-tail", "vardi2022", "§3.4", "direction", "classification", "argmin_(||v||<=1) sum (y x^T v)^(-k) (GD on a polynomial-tailed loss)", _poly),
    ]
}


def get_prediction(name: str) -> Prediction:
    """The prediction called ``name``; ``ValueError`` listing the names otherwise."""
    if name not in PREDICTIONS:
        raise ValueError(f"unknown prediction {name!r}: use one of {', '.join(PREDICTIONS)} (ibias fit --list-predictions)")
    return PREDICTIONS[name]
