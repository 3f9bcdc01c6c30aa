"""Diagnostics: comparisons, margins, sharpness (Lanczos on HVPs, mode Hessians) and
function-space tools for univariate ReLU nets."""

from ..theory.margins import normalized_margin as normalized_margin
from .metrics import (
    cosine as cosine,
    direction_distance as direction_distance,
    relative_error as relative_error,
    unit as unit,
)
from .sharpness import (
    LanczosResult as LanczosResult,
    ModeHessians as ModeHessians,
    PowerIterationResult as PowerIterationResult,
    hessian_matrix as hessian_matrix,
    lanczos as lanczos,
    mode_hessians as mode_hessians,
    power_iteration as power_iteration,
    sharpness as sharpness,
    sharpness_batch as sharpness_batch,
    top_hessian_eigenpair as top_hessian_eigenpair,
)
from .univariate import (
    curvature_measure as curvature_measure,
    evaluate as evaluate,
    knots as knots,
    merge_knots as merge_knots,
    n_linear_regions as n_linear_regions,
    slope_jumps as slope_jumps,
    smoothed_abs_f2 as smoothed_abs_f2,
    weighted_curvature as weighted_curvature,
)

__all__ = [
    "relative_error",
    "cosine",
    "direction_distance",
    "unit",
    "normalized_margin",
    "sharpness",
    "hessian_matrix",
    "LanczosResult",
    "lanczos",
    "top_hessian_eigenpair",
    "sharpness_batch",
    "PowerIterationResult",
    "power_iteration",
    "ModeHessians",
    "mode_hessians",
    "knots",
    "slope_jumps",
    "curvature_measure",
    "merge_knots",
    "weighted_curvature",
    "n_linear_regions",
    "smoothed_abs_f2",
    "evaluate",
]
