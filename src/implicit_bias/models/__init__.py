"""Models: frozen hyperparameters acting on dict pytrees of parameters (DESIGN.md model table)."""

from ._base import AbstractModel as AbstractModel, check_params as check_params
from ._diagonal import Diagonal as Diagonal
from ._linear import Linear as Linear
from ._relu import ShallowReLU as ShallowReLU
from . import init as init

from ._fc import ACTIVATIONS as ACTIVATIONS, FullyConnected as FullyConnected, SingleNeuron as SingleNeuron

from ._power import POWER_ACTIVATIONS as POWER_ACTIVATIONS, activation_degree as activation_degree, power_activation as power_activation
from ._mlp import MLP as MLP
from ._factorization import MatrixFactorization as MatrixFactorization
from ._conv import LinearConv as LinearConv
from ._sum import Sum as Sum
from ._tensor import TensorFactorization as TensorFactorization

# The public names above, for tools that read __all__ statically (the API docs).
__all__ = ['AbstractModel', 'check_params', 'Diagonal', 'Linear', 'ShallowReLU', 'init', 'ACTIVATIONS', 'FullyConnected', 'SingleNeuron', 'POWER_ACTIVATIONS', 'activation_degree', 'power_activation', 'MLP', 'MatrixFactorization', 'LinearConv', 'Sum', 'TensorFactorization']
