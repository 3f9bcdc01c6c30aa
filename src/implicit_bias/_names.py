"""The names the configuration and the command line accept (``--model``, ``--algorithm``, ...).

Plain tuples, importable without pydantic or JAX, so that ``ibias --help`` stays fast;
:mod:`implicit_bias.config` re-exports them and maps each name to its object.

Example:
    >>> from implicit_bias._names import FLOW_NAMES
    >>> FLOW_NAMES
    ('flow', 'reduced')
"""

__all__ = ["MODEL_NAMES", "MATRIX_MODEL_NAMES", "MATRIX_INITS", "ALGORITHM_NAMES", "NOISE_NAMES", "FLOW_NAMES", "RELU_INITS"]

#: Model names (``ibias fit --model``, ``model.name``): the DESIGN.md model table.
MODEL_NAMES = ("linear", "diagonal", "fc", "neuron", "relu", "mlp", "factorization", "conv")
#: models of a matrix (their data are matrix observations, :mod:`implicit_bias.matrix_data`).
MATRIX_MODEL_NAMES = ("factorization",)
#: ``init`` values of ``factorization`` that name an initialization rather than an .npz file.
MATRIX_INITS = ("gaussian", "identity", "balanced")
#: Algorithm names (``ibias fit --algorithm``, ``algorithm.name``); the flows come first.
ALGORITHM_NAMES = ("flow", "reduced", "gd", "sgd", "normalized-gd", "mirror", "steepest", "label-noise-sgd", "param-noise-gd", "loss-scaled-gd", "width-scaled-gd")
#: The noisy algorithms (``noise`` applies to them: label-noise or parameter-noise standard deviation).
NOISE_NAMES = ("label-noise-sgd", "param-noise-gd")
#: The continuous-time algorithms (no step size; ``solver`` and ``clock`` apply to them).
FLOW_NAMES = ("flow", "reduced")
#: Initialization distributions of the shallow ReLU network (montufar2024 Thm 6); ``breakpoints``
#: needs a density function, so it is available from Python only.
RELU_INITS = ("gaussian", "uniform", "binary-uniform", "pytorch", "breakpoints")
