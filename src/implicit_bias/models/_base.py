"""The model protocol: a frozen set of hyperparameters acting on a params pytree.

:class:`AbstractModel` declares everything the training loop and the algorithms ask of a
model (``input_dim``, ``has_predictor``, ``has_flow_map``, ...); a new model is a final
subclass in its own module of this package.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["AbstractModel", "check_params"]


class AbstractModel(eqx.Module):
    """A model ``f(x; params)``: hyperparameters here, parameters in a dict pytree.

    Concrete models are final (never subclassed) and define:

    - ``init(key) -> params``: initial parameters (a dict of float64 arrays with the stable
      names of DESIGN.md), drawn from ``key`` where the init is random;
    - ``apply(params, X) -> (N,)``: outputs on inputs ``X (N, d)``;
    - ``param_shapes() -> {name: shape}``: the expected parameters (used to validate
      ``--init`` files);
    - ``predictor(params) -> (d,)``: the equivalent linear predictor, for models linear in
      ``x`` (``has_predictor = True``); others raise ``NotImplementedError``;
    - ``homogeneity``: the degree ``k`` with ``f(x; c params) = c^k f(x; params)`` (``None``
      if not homogeneous);
    - ``input_dim``: the input dimension ``d`` (``None``, the default, for a model that takes
      inputs of any dimension; every model of this package has one);
    - ``has_flow_map``: ``True`` for models whose gradient flow has a closed form
      (``flow_params``, ``flow_predictor``; used by :class:`~implicit_bias.ReducedFlow`).

    A model handles one parameter set; batches (over scales, shapes, seeds) use ``jax.vmap``.
    """

    has_predictor: ClassVar[bool] = False
    has_flow_map: ClassVar[bool] = False

    @abc.abstractmethod
    def init(self, key) -> dict:
        """Initial parameters."""

    @abc.abstractmethod
    def apply(self, params: dict, X) -> jax.Array:
        """Outputs ``f(X; params)``, shape ``(N,)``."""

    @abc.abstractmethod
    def param_shapes(self) -> dict:
        """``{name: shape}`` of the parameters."""

    def predictor(self, params: dict) -> jax.Array:
        """Equivalent linear predictor ``w`` with ``f(x) = w^T x``, shape ``(d,)``."""
        raise NotImplementedError(f"{type(self).__name__} is not linear in x; it has no equivalent linear predictor")

    @property
    def homogeneity(self) -> int | None:
        """Degree of positive homogeneity in the parameters (``None`` if not homogeneous)."""
        return None

    @property
    def input_dim(self) -> int | None:
        """Input dimension ``d`` (inputs ``X (N, d)``); ``None`` if the model takes any."""
        return None

    def dead_units(self, params: dict, X) -> tuple[int, int] | None:
        """``(dead, units)``: how many hidden units are inactive on every input of ``X (N, d)``,
        out of how many; ``None`` for models without ReLU-like units (the default).

        A unit whose pre-activation is ``<= 0`` on every training input has zero gradient (the
        package's convention ``relu'(0) = 0``) and, under a deterministic algorithm, never
        revives; a network all of whose units are dead is stuck (:func:`~implicit_bias.train`
        then reports the status ``dead``).
        """
        return None

    def flow_params(self, params0: dict, z) -> dict:
        """Closed-form gradient flow: the parameters as a function of ``z = X^T nu`` (models
        with ``has_flow_map`` only)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form gradient flow")

    def flow_predictor(self, params0: dict, z) -> jax.Array:
        """The predictor ``w`` of :meth:`flow_params` (models with ``has_flow_map`` only)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form gradient flow")


def check_params(model: AbstractModel, params: dict) -> dict:
    """Validate and convert explicit parameters against ``model.param_shapes()``.

    Raises:
        ValueError: a missing or unknown name, a wrong shape, or NaN/Inf values.
    """
    expected = model.param_shapes()
    if not isinstance(params, dict):
        raise ValueError(f"initial parameters must be a dict of arrays named {sorted(expected)}; received {type(params).__name__}")
    unknown = set(params) - set(expected)
    if unknown:
        raise ValueError(f"unknown parameter name(s) {sorted(unknown)} for {type(model).__name__}; expected {sorted(expected)}")
    missing = set(expected) - set(params)
    if missing:
        raise ValueError(f"missing parameter(s) {sorted(missing)} for {type(model).__name__}; expected {sorted(expected)}")
    out = {}
    for k, shape in expected.items():
        a = np.asarray(params[k], dtype=np.float64)
        if a.shape != tuple(shape):
            raise ValueError(f"parameter {k!r} has shape {a.shape}; {type(model).__name__} expects {tuple(shape)}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"parameter {k!r} contains NaN or Inf")
        out[k] = jax.device_put(a)  # not jnp.asarray: that compiles a small program per shape
    return out
