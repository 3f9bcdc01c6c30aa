"""implicit-bias: the theory of the implicit bias of gradient-based training, runnable and checked.

The package imports lazily: ``import implicit_bias`` is cheap (no JAX, xarray or pydantic), and
each public name (``ib.models``, ``ib.train``, ``ib.GradientFlow``, ...) is imported the first
time it is used. Float64 is on before the first array: importing the package sets
``JAX_ENABLE_X64=1`` (when the environment does not set it) for the JAX imported after it, and
every name loaded here goes through :mod:`implicit_bias._config`, which switches
``jax_enable_x64`` on; when JAX is already imported, or the environment sets ``JAX_ENABLE_X64`` to
a false value, the package imports :mod:`implicit_bias._config` at once (float64 regardless).

Example:
    >>> import implicit_bias as ib
    >>> ds = ib.data.random_regression(n=5, d=20, seed=0)
    >>> run = ib.train(ib.models.Linear(20), ds, "square", ib.GradientFlow(), ib.Stop(loss=1e-14))
    >>> pred = ib.theory.min_distance_interpolant(ds.X, ds.y)
    >>> ib.diagnostics.relative_error(run.predictor, pred) < 1e-6
    True
"""

import importlib
import os
import sys
import types
from typing import TYPE_CHECKING

os.environ.setdefault("JAX_ENABLE_X64", "1")  # read by JAX when it is imported (float64 from the first array)
# Switch the flag on now when JAX came first (cheap, JAX is loaded), or when the environment turns
# float64 off (JAX_ENABLE_X64=0): the package is float64 everywhere, as _config makes it, and a flag
# switched later would leave float32 arrays made before it.
if "jax" in sys.modules or os.environ["JAX_ENABLE_X64"].lower() not in ("1", "true", "t", "yes", "y", "on"):
    from . import _config  # noqa: F401

from ._version import __version__

if TYPE_CHECKING:  # where the names come from, for type checkers and the API docs (griffe)
    from . import (
        algorithms as algorithms,
        data as data,
        diagnostics as diagnostics,
        losses as losses,
        matrix_data as matrix_data,
        models as models,
        potentials as potentials,
        theory as theory,
    )
    from ._config import enable_compilation_cache as enable_compilation_cache
    from .algorithms import (
        SGD as SGD,
        GradientDescent as GradientDescent,
        GradientFlow as GradientFlow,
        MirrorDescent as MirrorDescent,
        NormalizedGD as NormalizedGD,
        Optax as Optax,
        ReducedFlow as ReducedFlow,
        SteepestDescent as SteepestDescent,
    )
    from .store import Store as Store
    from .sweep import sweep as sweep
    from .train import (
        Record as Record,
        Run as Run,
        Stop as Stop,
        train as train,
        train_many as train_many,
    )

# The public names, for tools that read __all__ statically (the API docs).
__all__ = ['algorithms', 'data', 'diagnostics', 'losses', 'models', 'potentials', 'theory', 'enable_compilation_cache', '__version__', 'SGD', 'GradientDescent', 'GradientFlow', 'ReducedFlow', 'MirrorDescent', 'NormalizedGD', 'Optax', 'SteepestDescent', 'Record', 'Run', 'Stop', 'train', 'train_many', 'Store', 'sweep', 'matrix_data']

#: name -> (module, attribute): the module imported on first access of the name (attribute
#: ``None``: the name is the module itself).
_LAZY = {
    "algorithms": ("algorithms", None),
    "data": ("data", None),
    "diagnostics": ("diagnostics", None),
    "losses": ("losses", None),
    "matrix_data": ("matrix_data", None),
    "models": ("models", None),
    "potentials": ("potentials", None),
    "theory": ("theory", None),
    "enable_compilation_cache": ("_config", "enable_compilation_cache"),
    **{n: ("algorithms", n) for n in ("SGD", "GradientDescent", "GradientFlow", "ReducedFlow", "MirrorDescent", "NormalizedGD", "Optax", "SteepestDescent")},
    **{n: ("train", n) for n in ("Record", "Run", "Stop", "train", "train_many")},
    "Store": ("store", "Store"),
    "sweep": ("sweep", "sweep"),
}

#: Functions named like the module they live in: ``ib.train`` and ``ib.sweep`` are the functions,
#: also after ``import implicit_bias.train`` (which binds the module to the package attribute).
_FUNCTION_OVER_MODULE = ("train", "sweep")


def __getattr__(name):
    """Import the module of a public name on its first access (PEP 562), then keep the name."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    importlib.import_module(f"{__name__}._config")  # float64 before the module's first array
    mod = importlib.import_module(f"{__name__}.{module}")
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """The package's module type: binding the submodule ``train`` (or ``sweep``) to the package
    attribute, as every import of the submodule does, keeps the function of the same name."""

    def __setattr__(self, name, value):
        if name in _FUNCTION_OVER_MODULE and isinstance(value, types.ModuleType) and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
