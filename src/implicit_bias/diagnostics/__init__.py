"""Diagnostics: comparisons, margins, sharpness (Lanczos on HVPs, mode Hessians), invariants.

The function-space tools for univariate ReLU nets (knots, slope jumps, ``curvature_measure``,
``n_linear_regions``, ``smoothed_abs_f2``, ``evaluate``) live in :mod:`implicit_bias.univariate`
and are re-exported here under their names; ``weighted_curvature`` is
:func:`implicit_bias.theory.weighted_curvature` (it also takes a training sample as ``g``)."""

from ..theory.margins import normalized_margin as normalized_margin
from .metrics import (
    cosine as cosine,
    direction_distance as direction_distance,
    loglog_slope as loglog_slope,
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
from ..theory.stability import weighted_curvature as weighted_curvature
from ..univariate import (
    curvature_measure as curvature_measure,
    evaluate as evaluate,
    knots as knots,
    merge_knots as merge_knots,
    n_linear_regions as n_linear_regions,
    slope_jumps as slope_jumps,
    smoothed_abs_f2 as smoothed_abs_f2,
)


from .invariants import (
    layer_norm_gaps as layer_norm_gaps,
    neuron_norm_gaps as neuron_norm_gaps,
    layer_gram_gaps as layer_gram_gaps,
    InvariantDrift as InvariantDrift,
    invariant_drift as invariant_drift,
    PowerLaw as PowerLaw,
    growth_exponent as growth_exponent,
    stable_rank as stable_rank,
    layer_stable_ranks as layer_stable_ranks,
    layer_alignment as layer_alignment,
    input_alignment as input_alignment,
)


from .margins import (
    normalized_predictor as normalized_predictor,
    margin_normalized as margin_normalized,
    azimuth_pitch as azimuth_pitch,
    from_azimuth_pitch as from_azimuth_pitch,
    excess_l1_norm as excess_l1_norm,
    support_vectors as support_vectors,
    SupportChange as SupportChange,
    support_changes as support_changes,
    support_change_points as support_change_points,
    Condition5Check as Condition5Check,
    condition5_holds as condition5_holds,
    condition5_ratio as condition5_ratio,
)

from .homogeneous import (
    KKTCertificate as KKTCertificate,
    LocalImprovement as LocalImprovement,
    alignment as alignment,
    homogeneity_degree as homogeneity_degree,
    homogeneous_summary as homogeneous_summary,
    kkt_certificate as kkt_certificate,
    local_improvement as local_improvement,
    loss_weights as loss_weights,
    parameter_margin as parameter_margin,
    smoothed_margin as smoothed_margin,
)

# vardi2022 §7 [77]: adversarial l2 perturbations (line attack along sum y_n x_n, DeepFool)
from .robustness import (
    AttackResult as AttackResult,
    gradient_attack as gradient_attack,
    line_attack as line_attack,
    smallest_perturbation as smallest_perturbation,
    universal_direction as universal_direction,
)

# Haim et al. 2022 (vardi2022 §7 [26]): training data from the KKT stationarity condition
from .reconstruction import (
    Matching as Matching,
    Reconstruction as Reconstruction,
    candidate_labels as candidate_labels,
    match_candidates as match_candidates,
    normalized_distance as normalized_distance,
    reconstruct as reconstruct,
    ssim as ssim,
)

# The public names above, for tools that read __all__ statically (the API docs).
__all__ = ['normalized_margin', 'cosine', 'direction_distance', 'loglog_slope', 'relative_error', 'unit', 'LanczosResult', 'ModeHessians', 'PowerIterationResult', 'hessian_matrix', 'lanczos', 'mode_hessians', 'power_iteration', 'sharpness', 'sharpness_batch', 'top_hessian_eigenpair', 'weighted_curvature', 'curvature_measure', 'evaluate', 'knots', 'merge_knots', 'n_linear_regions', 'slope_jumps', 'smoothed_abs_f2', 'layer_norm_gaps', 'neuron_norm_gaps', 'layer_gram_gaps', 'InvariantDrift', 'invariant_drift', 'PowerLaw', 'growth_exponent', 'stable_rank', 'layer_stable_ranks', 'layer_alignment', 'input_alignment', 'normalized_predictor', 'margin_normalized', 'azimuth_pitch', 'from_azimuth_pitch', 'excess_l1_norm', 'support_vectors', 'SupportChange', 'support_changes', 'support_change_points', 'Condition5Check', 'condition5_holds', 'condition5_ratio', 'KKTCertificate', 'LocalImprovement', 'alignment', 'homogeneity_degree', 'homogeneous_summary', 'kkt_certificate', 'local_improvement', 'loss_weights', 'parameter_margin', 'smoothed_margin', 'AttackResult', 'gradient_attack', 'line_attack', 'smallest_perturbation', 'universal_direction', 'Matching', 'Reconstruction', 'candidate_labels', 'match_candidates', 'normalized_distance', 'reconstruct', 'ssim']
