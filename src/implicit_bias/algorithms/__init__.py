"""Training algorithms plugged into :func:`implicit_bias.train`."""

from ._base import (
    AbstractAlgorithm as AbstractAlgorithm,
    AbstractDiscreteAlgorithm as AbstractDiscreteAlgorithm,
    Objective as Objective,
)
from ._discrete import (
    SGD as SGD,
    GradientDescent as GradientDescent,
    MirrorDescent as MirrorDescent,
    NormalizedGD as NormalizedGD,
    Optax as Optax,
    SteepestDescent as SteepestDescent,
    parse_norm as parse_norm,
    sample_batch as sample_batch,
    steepest_descent_lr as steepest_descent_lr,
)
from ._flow import SOLVERS as SOLVERS, GradientFlow as GradientFlow, ReducedFlow as ReducedFlow, get_solver as get_solver
from ._margin_path import MarginPath as MarginPath, exponential_flow_path as exponential_flow_path
from ._noise import LabelNoiseSGD as LabelNoiseSGD, ParamNoiseGD as ParamNoiseGD
from ._gain import GainSums as GainSums, GainTrackedGD as GainTrackedGD

from ._width_scaled import WidthScaledGD as WidthScaledGD, width_scaled_gd as width_scaled_gd
from ._width_scaled import PowerWidthScaledGD as PowerWidthScaledGD
from ._loss_scaled import LossScaledGD as LossScaledGD

# The declared seams of the training loop (train.py): the flow base, the segment codes, the clocks.
from ._base import AbstractFlow as AbstractFlow, FlowCode as FlowCode, StepFlag as StepFlag
from ._flow import CLOCKS as CLOCKS
from ._modified import FLOW_OBJECTIVES as FLOW_OBJECTIVES, igr_gradient as igr_gradient, igr_loss as igr_loss


def get_algorithm(name: str, **kwargs) -> AbstractAlgorithm:
    """Algorithm from its CLI name (``flow``, ``reduced``, ``gd``, ``sgd``, ``normalized-gd``,
    ``mirror``, ``steepest``, ``label-noise-sgd``, ``param-noise-gd``, ``loss-scaled-gd``,
    ``width-scaled-gd``) and keyword hyperparameters (``width-scaled-gd``: :class:`WidthScaledGD`'s
    ``X``, ``y``, ``eta_bar``, ``hidden``, ``affine``)."""
    table = {
        "flow": GradientFlow,
        "reduced": ReducedFlow,
        "gd": GradientDescent,
        "sgd": SGD,
        "normalized-gd": NormalizedGD,
        "mirror": MirrorDescent,
        "steepest": SteepestDescent,
        "label-noise-sgd": LabelNoiseSGD,
        "param-noise-gd": ParamNoiseGD,
        "loss-scaled-gd": LossScaledGD,
        "width-scaled-gd": WidthScaledGD,
    }
    if name not in table:
        raise ValueError(f"unknown algorithm {name!r}: use one of {', '.join(table)}")
    return table[name](**kwargs)

# The public names above, for tools that read __all__ statically (the API docs).
__all__ = ['AbstractAlgorithm', 'AbstractDiscreteAlgorithm', 'Objective', 'SGD', 'GradientDescent', 'MirrorDescent', 'NormalizedGD', 'Optax', 'SteepestDescent', 'parse_norm', 'sample_batch', 'steepest_descent_lr', 'SOLVERS', 'GradientFlow', 'ReducedFlow', 'get_solver', 'MarginPath', 'exponential_flow_path', 'LabelNoiseSGD', 'ParamNoiseGD', 'GainSums', 'GainTrackedGD', 'WidthScaledGD', 'width_scaled_gd', 'PowerWidthScaledGD', 'LossScaledGD', 'AbstractFlow', 'FlowCode', 'StepFlag', 'CLOCKS', 'FLOW_OBJECTIVES', 'igr_gradient', 'igr_loss', 'get_algorithm']
