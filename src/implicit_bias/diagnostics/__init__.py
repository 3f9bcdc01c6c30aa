"""Diagnostics: comparisons, margins and (later) sharpness, invariants and function tools."""

from ..theory.margins import normalized_margin as normalized_margin
from .sharpness import hessian_matrix as hessian_matrix, sharpness as sharpness
from .metrics import (
    cosine as cosine,
    direction_distance as direction_distance,
    relative_error as relative_error,
    unit as unit,
)

__all__ = ["relative_error", "cosine", "direction_distance", "unit", "normalized_margin", "sharpness", "hessian_matrix"]
