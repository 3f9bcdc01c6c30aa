"""Predictions of the implicit bias, computed without training (closed forms, convex programs,
dual solves). This layer never imports ``algorithms`` or ``train``."""

from .diagonal import (
    DiagonalInterpolant as DiagonalInterpolant,
    diagonal_flow_map as diagonal_flow_map,
    diagonal_interpolant as diagonal_interpolant,
    diagonal_interpolant_batch as diagonal_interpolant_batch,
    diagonal_potential as diagonal_potential,
    equivalent_scale as equivalent_scale,
    min_l1_interpolant as min_l1_interpolant,
    ntk_norm_interpolant as ntk_norm_interpolant,
    q_azulay as q_azulay,
    q_woodworth as q_woodworth,
    q_woodworth_grad as q_woodworth_grad,
    q_woodworth_hess as q_woodworth_hess,
    solve_diagonal_interpolant as solve_diagonal_interpolant,
    woodworth_h as woodworth_h,
)
from .interpolants import bregman_interpolant as bregman_interpolant, min_distance_interpolant as min_distance_interpolant
from .margins import (
    MaxMargin as MaxMargin,
    max_margin as max_margin,
    normalized_margin as normalized_margin,
    polynomial_tail_direction as polynomial_tail_direction,
)
from .predictions import PREDICTIONS as PREDICTIONS, Prediction as Prediction, get_prediction as get_prediction

__all__ = [
    "woodworth_h",
    "q_woodworth",
    "q_woodworth_grad",
    "q_woodworth_hess",
    "q_azulay",
    "equivalent_scale",
    "diagonal_flow_map",
    "diagonal_potential",
    "DiagonalInterpolant",
    "diagonal_interpolant",
    "diagonal_interpolant_batch",
    "solve_diagonal_interpolant",
    "min_l1_interpolant",
    "ntk_norm_interpolant",
    "min_distance_interpolant",
    "bregman_interpolant",
    "MaxMargin",
    "max_margin",
    "normalized_margin",
    "polynomial_tail_direction",
    "PREDICTIONS",
    "Prediction",
    "get_prediction",
]
