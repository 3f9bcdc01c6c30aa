"""Models: frozen hyperparameters acting on dict pytrees of parameters (DESIGN.md model table)."""

from ._base import AbstractModel as AbstractModel, check_params as check_params
from ._diagonal import Diagonal as Diagonal
from ._linear import Linear as Linear

__all__ = ["AbstractModel", "Linear", "Diagonal", "check_params"]
