"""Predictions of the implicit bias, computed without training (closed forms, convex programs,
dual solves). This layer never imports ``algorithms`` or ``train``."""

from .interpolants import bregman_interpolant as bregman_interpolant, min_distance_interpolant as min_distance_interpolant
from .margins import (
    MaxMargin as MaxMargin,
    max_margin as max_margin,
    normalized_margin as normalized_margin,
    polynomial_tail_direction as polynomial_tail_direction,
)
from .predictions import PREDICTIONS as PREDICTIONS, Prediction as Prediction, get_prediction as get_prediction

__all__ = [
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
