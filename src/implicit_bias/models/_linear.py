"""The linear model ``x -> w^T x``."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from ._base import AbstractModel, check_params

__all__ = ["Linear"]


class Linear(AbstractModel):
    """Linear predictor ``f(x) = w^T x`` with parameters ``{"w": (d,)}``.

    Args:
        dim: input dimension ``d``.
        w0: initial predictor ``(d,)``; default 0. Gradient descent from ``w0`` on the square
            loss reaches ``argmin ||w - w0||`` s.t. ``Xw = y`` (montufar2024, Thm 1).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from implicit_bias.models import Linear
        >>> m = Linear(3, w0=jnp.array([1.0, 0.0, 0.0]))
        >>> p = m.init(jax.random.key(0))
        >>> m.apply(p, jnp.eye(3)).tolist()
        [1.0, 0.0, 0.0]
    """

    dim: int = eqx.field(static=True)
    w0: jnp.ndarray | None = None

    has_predictor: ClassVar[bool] = True

    def __check_init__(self):
        if not isinstance(self.dim, int) or self.dim < 1:
            raise ValueError(f"Linear: dim must be a positive integer; received {self.dim!r}")

    @property
    def input_dim(self) -> int:
        """Input dimension ``d`` (``dim``)."""
        return self.dim

    def param_shapes(self):
        return {"w": (self.dim,)}

    def init(self, key=None):
        if self.w0 is None:
            return {"w": jnp.zeros(self.dim)}
        return check_params(self, {"w": self.w0})

    def apply(self, params, X):
        return X @ params["w"]

    def predictor(self, params):
        return params["w"]

    @property
    def homogeneity(self):
        return 1
