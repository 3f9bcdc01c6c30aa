"""CP tensor factorization ``T = sum_r f^1_r (x) f^2_r (x) ... (x) f^p_r`` for tensor completion."""

from __future__ import annotations

import math
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._base import AbstractModel, check_params
from .init import as_key

__all__ = ["TensorFactorization"]


def _scale(x):
    return x if isinstance(x, jax.core.Tracer) else np.asarray(x, dtype=np.float64)


class TensorFactorization(AbstractModel):
    r"""CP (canonical polyadic) factorization of an order-``p`` tensor (razin2021).

    .. math:: T = \sum_{r=1}^{R} f^{1}_r \otimes f^{2}_r \otimes \cdots \otimes f^{p}_r,
              \qquad f^{j}_r = F_j[r, :] \in \mathbb{R}^{n_j},

    with parameters ``F1 (R, n_1), ..., Fp (R, n_p)`` (``R`` = ``components``). Inputs are index
    tuples ``X (N, p)`` (float64 holding integers, exact below 2^53): ``f(x) = T[x_1, ..., x_p]``
    (tensor completion). Homogeneous of degree ``p`` in the parameters.

    Initialization (``scale > 0``): ``F_j = scale * G_j / sqrt(n_j)`` with iid ``N(0, 1)``
    entries ``G_j``, then each component rescaled to be balanced, ``||f^1_r|| = ... = ||f^p_r||``
    (the geometric mean of its factor norms; the product, the component tensor's norm
    ``||f^1_r|| ... ||f^p_r||``, is unchanged): every factor vector has norm ``~scale`` and every
    component tensor norm ``~scale^p``. Gradient flow conserves ``||f^j_r||^2 - ||f^k_r||^2``
    per component, so balanced components stay balanced (razin2021 §4).

    Args:
        shape: ``(n_1, ..., n_p)``, ``p >= 2`` (``p = 2`` is matrix factorization of depth 2).
        components: ``R >= 1``.
        scale: initialization scale (may be traced).
        init_params: explicit ``{"F1": ..., ...}`` (overrides the above).

    Raises:
        ValueError: bad shape, components or scale.

    Example:
        >>> import jax.numpy as jnp
        >>> m = TensorFactorization((2, 3, 4), components=1, scale=1.0,
        ...     init_params={"F1": jnp.ones((1, 2)), "F2": 2 * jnp.ones((1, 3)), "F3": jnp.arange(4.0)[None]})
        >>> m.apply(m.init(0), jnp.array([[0.0, 1.0, 3.0]])).tolist()   # 1 * 2 * 3
        [6.0]
    """

    shape: tuple = eqx.field(static=True, converter=lambda s: tuple(int(v) for v in np.asarray(s).reshape(-1)))
    components: int = eqx.field(static=True, default=1)
    scale: np.ndarray = eqx.field(default=1e-2, converter=_scale)
    init_params: dict | None = None

    has_predictor: ClassVar[bool] = False

    def __check_init__(self):
        if len(self.shape) < 2 or min(self.shape) < 1:
            raise ValueError(f"TensorFactorization: shape must be p >= 2 positive integers (n_1, ..., n_p); received {self.shape!r}")
        if not isinstance(self.components, (int, np.integer)) or isinstance(self.components, bool) or self.components < 1:
            raise ValueError(f"TensorFactorization: components must be an integer >= 1; received {self.components!r}")
        if not isinstance(self.scale, jax.core.Tracer) and self.init_params is None:
            sc = np.asarray(self.scale)
            if sc.shape != () or not (math.isfinite(float(sc)) and float(sc) > 0):
                raise ValueError(f"TensorFactorization: scale must be a finite number > 0; received {self.scale!r}")

    @property
    def order(self) -> int:
        """``p``."""
        return len(self.shape)

    @property
    def input_dim(self) -> int:
        return self.order

    @property
    def homogeneity(self) -> int:
        return self.order

    def param_shapes(self):
        return {f"F{j + 1}": (self.components, n) for j, n in enumerate(self.shape)}

    def init(self, key=None) -> dict:
        """Balanced Gaussian factors (class docstring) or ``init_params``."""
        if self.init_params is not None:
            return check_params(self, dict(self.init_params))
        key = as_key(key)
        scale = jnp.asarray(self.scale, dtype=jnp.float64)
        F = [scale * jax.random.normal(jax.random.fold_in(key, j), (self.components, n)) / math.sqrt(n) for j, n in enumerate(self.shape)]
        norms = jnp.stack([jnp.linalg.norm(f, axis=1) for f in F])  # (p, R)
        target = jnp.exp(jnp.mean(jnp.log(norms), axis=0))  # geometric mean per component
        return {f"F{j + 1}": f * (target / norms[j])[:, None] for j, f in enumerate(F)}

    def apply(self, params, X):
        """Entries ``T[X_k]`` ``(N,)`` for index rows ``X (N, p)``."""
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.order:
            raise ValueError(f"TensorFactorization.apply: X must be index tuples (N, {self.order}); received {X.shape}")
        idx = X.astype(jnp.int32)
        prod = params["F1"][:, idx[:, 0]]
        for j in range(1, self.order):
            prod = prod * params[f"F{j + 1}"][:, idx[:, j]]
        return jnp.sum(prod, axis=0)

    def tensor(self, params):
        """The full tensor ``T`` of shape ``shape``."""
        letters = "abcdefghij"[: self.order]
        spec = ",".join(f"r{c}" for c in letters) + "->" + letters
        return jnp.einsum(spec, *[params[f"F{j + 1}"] for j in range(self.order)])

    def component_norms(self, params):
        """``||f^1_r|| ... ||f^p_r||`` per component ``(R,)``: the Frobenius norm of each rank-one term."""
        return jnp.prod(jnp.stack([jnp.linalg.norm(params[f"F{j + 1}"], axis=1) for j in range(self.order)]), axis=0)
