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
from . import (
    algorithms as algorithms,
    data as data,
    diagnostics as diagnostics,
    losses as losses,
    models as models,
    potentials as potentials,
    theory as theory,
)
from ._config import enable_compilation_cache as enable_compilation_cache
from ._version import __version__
from .algorithms import (
    SGD as SGD,
    GradientDescent as GradientDescent,
    GradientFlow as GradientFlow,
    ReducedFlow as ReducedFlow,
    MirrorDescent as MirrorDescent,
    NormalizedGD as NormalizedGD,
    Optax as Optax,
    SteepestDescent as SteepestDescent,
)
from .train import (
    Record as Record,
    Run as Run,
    Stop as Stop,
    train as train,
    train_many as train_many,
)
from .store import Store as Store
from .sweep import sweep as sweep  # noqa: E402  (the function; the module stays importable as implicit_bias.sweep)

from . import matrix_data as matrix_data  # noqa: E402  (matrix completion / sensing data, layer 0)

# The public names above, for tools that read __all__ statically (the API docs).
__all__ = ['algorithms', 'data', 'diagnostics', 'losses', 'models', 'potentials', 'theory', 'enable_compilation_cache', '__version__', 'SGD', 'GradientDescent', 'GradientFlow', 'ReducedFlow', 'MirrorDescent', 'NormalizedGD', 'Optax', 'SteepestDescent', 'Record', 'Run', 'Stop', 'train', 'train_many', 'Store', 'sweep', 'matrix_data']
