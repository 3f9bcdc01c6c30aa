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
from .predictions import Assumption as Assumption, select_predictions as select_predictions


# mulayoff2021: minima stability of univariate shallow ReLU nets
from .stability import (
    FlattestBatch as FlattestBatch,
    FlattestImplementation as FlattestImplementation,
    flattest_sharpness_batch as flattest_sharpness_batch,
    GaussianMixture as GaussianMixture,
    WeightFunction as WeightFunction,
    curvature_bound as curvature_bound,
    curvature_bound_nondifferentiable as curvature_bound_nondifferentiable,
    curvature_slack as curvature_slack,
    empirical_weight_function as empirical_weight_function,
    flattest_implementation as flattest_implementation,
    gradient_bound_constant as gradient_bound_constant,
    is_stable_necessary as is_stable_necessary,
    max_stable_sharpness as max_stable_sharpness,
    max_stable_sharpness_nondifferentiable as max_stable_sharpness_nondifferentiable,
    population_weight_function as population_weight_function,
    relu_knots as relu_knots,
    rescale_neurons as rescale_neurons,
    sharpness_lower_bound as sharpness_lower_bound,
    standard_distribution as standard_distribution,
    weighted_curvature as weighted_curvature,
)


from .splines import (
    GreenSpline as GreenSpline,
    GreenSplinePath as GreenSplinePath,
    SmoothingSplinePath as SmoothingSplinePath,
    WeightedSpline as WeightedSpline,
    Zeta as Zeta,
    early_stopping_rate as early_stopping_rate,
    early_stopping_time as early_stopping_time,
    green_spline as green_spline,
    green_spline_path as green_spline_path,
    lambda_from_time as lambda_from_time,
    noiseless_rate as noiseless_rate,
    smoothing_spline as smoothing_spline,
    smoothing_spline_path as smoothing_spline_path,
    time_from_lambda as time_from_lambda,
    weighted_spline_interpolant as weighted_spline_interpolant,
    zeta as zeta,
    zeta_constant as zeta_constant,
    zeta_function as zeta_function,
)


# azulay2021 §5-§8, vardi2022 §4.4: fully-connected linear nets and single neurons
from .linear_networks import (
    neuron_delta as neuron_delta,
    neuron_scale_shape as neuron_scale_shape,
    NeuronInit as NeuronInit,
    neuron_init_quantities as neuron_init_quantities,
    q_delta as q_delta,
    q_delta_grad as q_delta_grad,
    NeuronInterpolant as NeuronInterpolant,
    solve_q_delta_interpolant as solve_q_delta_interpolant,
    q_delta_interpolant as q_delta_interpolant,
    q_delta_interpolant_batch as q_delta_interpolant_batch,
    fc_neuron_interpolant as fc_neuron_interpolant,
    balanced_interpolant as balanced_interpolant,
    vanishing_init_interpolant as vanishing_init_interpolant,
    ntk_matrix as ntk_matrix,
    ntk_mahalanobis_interpolant as ntk_mahalanobis_interpolant,
    single_neuron_interpolant as single_neuron_interpolant,
    relu_neuron_min_norm as relu_neuron_min_norm,
    ReluNeuronBound as ReluNeuronBound,
    relu_neuron_bound as relu_neuron_bound,
    HessianMapTest as HessianMapTest,
    is_hessian_map as is_hessian_map,
    identity_plus_outer_metric as identity_plus_outer_metric,
    fc_metric as fc_metric,
    fc_warping as fc_warping,
    warped_fc_metric as warped_fc_metric,
    diagonal_metric as diagonal_metric,
)


# moroshko2020: Q^D_mu max-margin path, l_{2/D} stationary points, Lemma 3
from .diagonal_margins import (
    QMuMaxMargin as QMuMaxMargin,
    QMuDualSolution as QMuDualSolution,
    q_mu_max_margin as q_mu_max_margin,
    solve_q_mu_max_margin as solve_q_mu_max_margin,
    QMuPath as QMuPath,
    q_mu_path as q_mu_path,
    L2DStationaryPoint as L2DStationaryPoint,
    l2d_stationarity as l2d_stationarity,
    l2d_stationary_points as l2d_stationary_points,
    lemma3_loss_bound as lemma3_loss_bound,
)


# jin-montufar2023: kernels of wide univariate ReLU nets and their lazy-training predictions
from .relu_kernels import (
    affine_projector as affine_projector,
    kernel_eta_bar as kernel_eta_bar,
    kernel_interpolant as kernel_interpolant,
    lazy_output_interpolant as lazy_output_interpolant,
    linearized_trajectory as linearized_trajectory,
    output_kernel as output_kernel,
    stable_eta_bar as stable_eta_bar,
    tangent_kernel_fractions as tangent_kernel_fractions,
)
from .relu_power import (
    NullSpacePolynomial as NullSpacePolynomial,
    PowerSpline as PowerSpline,
    null_space_polynomial as null_space_polynomial,
    relu_power_kernel as relu_power_kernel,
    relu_power_spline as relu_power_spline,
    relu_power_zeta as relu_power_zeta,
)
from .multivariate import (
    MultivariateInterpolant as MultivariateInterpolant,
    multivariate_interpolant as multivariate_interpolant,
    radon_minimizer as radon_minimizer,
    radon_zeta as radon_zeta,
    relu_feature_kernel as relu_feature_kernel,
)

# hastie2019: the ridgeless (min-norm least squares) risk curve, double descent
from .double_descent import (
    RidgelessRisk as RidgelessRisk,
    ridgeless_risk as ridgeless_risk,
    ridgeless_risk_curve as ridgeless_risk_curve,
    ridgeless_risk_finite as ridgeless_risk_finite,
)

# belkin2019: min-norm random-feature regression (random ReLU and Fourier features), double descent
from .double_descent import (
    RandomFeatureFit as RandomFeatureFit,
    RandomFeaturePath as RandomFeaturePath,
    RandomFeatureRiskCurve as RandomFeatureRiskCurve,
    RandomFeatures as RandomFeatures,
    min_norm_random_features as min_norm_random_features,
    random_features as random_features,
)

# even2023: the effective initialization of (S)GD on depth-2 diagonal networks (exact discrete form)
from .effective_init import (
    EffectiveInit as EffectiveInit,
    effective_init_interpolant as effective_init_interpolant,
    effective_initialization as effective_initialization,
    effective_initialization_from_sums as effective_initialization_from_sums,
    effective_scale_from_params as effective_scale_from_params,
    gd_gradients as gd_gradients,
)

# soudry2018 §4 (multiclass): the Crammer-Singer hard-margin predictor
from .multiclass import multiclass_max_margin as multiclass_max_margin

# matrix factorization: min nuclear norm, commuting case
from . import factorization as factorization  # noqa: E402

# gunasekar2018b: linear conv nets, frequency-domain max margin
from .linear_conv import DftMaxMargin as DftMaxMargin, active_frequencies as active_frequencies, dft_l1_max_margin as dft_l1_max_margin, dft_lp_stationary_points as dft_lp_stationary_points, dft_matrix as dft_matrix

# vardi2022 §7 [77] (Vardi, Yehudai & Shamir 2022): a robust two-layer ReLU net for nearly orthogonal data, certified radii
from .robustness import RobustNetwork as RobustNetwork, certified_radius as certified_radius, robust_network as robust_network, two_layer_parts as two_layer_parts

# li2021: Greedy Low-Rank Learning (the small-init limit of U U^T)
from . import glrl as glrl  # noqa: E402
from .glrl import GreedyLowRankPath as GreedyLowRankPath, greedy_low_rank as greedy_low_rank  # noqa: E402

# razin2021: CP tensor factorization, the component-norm dynamics
from . import tensor as tensor  # noqa: E402

# The public names above, for tools that read __all__ statically (the API docs).
__all__ = ['DiagonalInterpolant', 'diagonal_flow_map', 'diagonal_interpolant', 'diagonal_interpolant_batch', 'diagonal_potential', 'equivalent_scale', 'min_l1_interpolant', 'ntk_norm_interpolant', 'q_azulay', 'q_woodworth', 'q_woodworth_grad', 'q_woodworth_hess', 'solve_diagonal_interpolant', 'woodworth_h', 'bregman_interpolant', 'min_distance_interpolant', 'MaxMargin', 'max_margin', 'normalized_margin', 'polynomial_tail_direction', 'PREDICTIONS', 'Prediction', 'get_prediction', 'select_predictions', 'Assumption', 'FlattestBatch', 'FlattestImplementation', 'flattest_sharpness_batch', 'GaussianMixture', 'WeightFunction', 'curvature_bound', 'curvature_bound_nondifferentiable', 'curvature_slack', 'empirical_weight_function', 'flattest_implementation', 'gradient_bound_constant', 'is_stable_necessary', 'max_stable_sharpness', 'max_stable_sharpness_nondifferentiable', 'population_weight_function', 'relu_knots', 'rescale_neurons', 'sharpness_lower_bound', 'standard_distribution', 'weighted_curvature', 'GreenSpline', 'GreenSplinePath', 'SmoothingSplinePath', 'WeightedSpline', 'Zeta', 'early_stopping_rate', 'early_stopping_time', 'green_spline', 'green_spline_path', 'lambda_from_time', 'noiseless_rate', 'smoothing_spline', 'smoothing_spline_path', 'time_from_lambda', 'weighted_spline_interpolant', 'zeta', 'zeta_constant', 'zeta_function', 'neuron_delta', 'neuron_scale_shape', 'NeuronInit', 'neuron_init_quantities', 'q_delta', 'q_delta_grad', 'NeuronInterpolant', 'solve_q_delta_interpolant', 'q_delta_interpolant', 'q_delta_interpolant_batch', 'fc_neuron_interpolant', 'balanced_interpolant', 'vanishing_init_interpolant', 'ntk_matrix', 'ntk_mahalanobis_interpolant', 'single_neuron_interpolant', 'relu_neuron_min_norm', 'ReluNeuronBound', 'relu_neuron_bound', 'HessianMapTest', 'is_hessian_map', 'identity_plus_outer_metric', 'fc_metric', 'fc_warping', 'warped_fc_metric', 'diagonal_metric', 'QMuMaxMargin', 'QMuDualSolution', 'q_mu_max_margin', 'solve_q_mu_max_margin', 'QMuPath', 'q_mu_path', 'L2DStationaryPoint', 'l2d_stationarity', 'l2d_stationary_points', 'lemma3_loss_bound', 'affine_projector', 'kernel_eta_bar', 'kernel_interpolant', 'lazy_output_interpolant', 'linearized_trajectory', 'output_kernel', 'stable_eta_bar', 'tangent_kernel_fractions', 'NullSpacePolynomial', 'PowerSpline', 'null_space_polynomial', 'relu_power_kernel', 'relu_power_spline', 'relu_power_zeta', 'MultivariateInterpolant', 'multivariate_interpolant', 'radon_minimizer', 'radon_zeta', 'relu_feature_kernel', 'RidgelessRisk', 'ridgeless_risk', 'ridgeless_risk_curve', 'ridgeless_risk_finite', 'RandomFeatureFit', 'RandomFeaturePath', 'RandomFeatureRiskCurve', 'RandomFeatures', 'min_norm_random_features', 'random_features', 'EffectiveInit', 'effective_init_interpolant', 'effective_initialization', 'effective_initialization_from_sums', 'effective_scale_from_params', 'gd_gradients', 'multiclass_max_margin', 'factorization', 'DftMaxMargin', 'active_frequencies', 'dft_l1_max_margin', 'dft_lp_stationary_points', 'dft_matrix', 'RobustNetwork', 'certified_radius', 'robust_network', 'two_layer_parts', 'glrl', 'GreedyLowRankPath', 'greedy_low_rank', 'tensor']
