"""implicit-bias: the theory of the implicit bias of gradient-based training, runnable and checked.

Importing the package switches on float64 (``jax_enable_x64``).

Example:
    >>> import implicit_bias as ib
    >>> ds = ib.data.random_regression(n=5, d=20, seed=0)
    >>> run = ib.train(ib.models.Linear(20), ds, "square", ib.GradientFlow(), ib.Stop(loss=1e-14))
    >>> pred = ib.theory.min_distance_interpolant(ds.X, ds.y)
    >>> ib.diagnostics.relative_error(run.predictor, pred) < 1e-6
    True
"""

from . import _config  # noqa: F401  (must come first: float64 everywhere)
from . import algorithms, data, diagnostics, losses, models, potentials, theory
from ._config import enable_compilation_cache
from ._version import __version__
from .algorithms import (
    SGD,
    GradientDescent,
    GradientFlow,
    ReducedFlow,
    MirrorDescent,
    NormalizedGD,
    Optax,
    SteepestDescent,
)
from .train import Record, Run, Stop, train, train_many
from .store import Store
from .sweep import sweep  # noqa: E402  (the function; the module stays importable as implicit_bias.sweep)

__all__ = [
    "__version__",
    "enable_compilation_cache",
    "algorithms",
    "data",
    "diagnostics",
    "losses",
    "models",
    "potentials",
    "theory",
    "train",
    "train_many",
    "sweep",
    "Store",
    "Stop",
    "Record",
    "Run",
    "GradientFlow",
    "ReducedFlow",
    "GradientDescent",
    "SGD",
    "NormalizedGD",
    "MirrorDescent",
    "SteepestDescent",
    "Optax",
]
