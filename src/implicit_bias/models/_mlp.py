"""Multi-layer perceptrons ``x -> W_L σ(... σ(W_1 x + b_1))``, homogeneous in their parameters
unless every layer has a bias (Lyu & Li 2020; Ji & Telgarsky 2020; vardi2022 §3.2)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._base import AbstractModel, check_params
from ._fc import ACTIVATIONS, FC_ACTIVATIONS, check_activation, check_slope, feedforward, is_pos_int, to_widths
from .init import as_key

__all__ = ["MLP", "BIAS_MODES"]

#: Where an :class:`MLP` has biases: ``first`` (``b1`` only; still homogeneous), ``none``, ``all``.
BIAS_MODES = ("first", "none", "all")


class MLP(AbstractModel):
    r"""Feed-forward network ``f(x) = W_L σ(W_{L-1} ... σ(W_1 x + b_1) ... )`` (DESIGN.md row ``mlp``).

    Parameters: ``W1 (m_1, d)``, ``Wj (m_j, m_{j-1})``, ..., ``WL (C, m_{L-1})`` with
    ``(m_1, ..., m_{L-1}) = widths``, ``L = len(widths) + 1`` and ``C = outputs``; ``b1 (m_1,)``
    unless ``bias="none"``; with ``bias="all"`` also ``b2 (m_2,)``, ..., ``bL (C,)``.

    **Homogeneity.** With ``σ`` positively homogeneous (``linear``, ``relu``, ``leaky_relu``) and
    ``bias="none"`` or ``"first"``, ``f(x; cθ) = c^L f(x; θ)`` for every ``c > 0``: a bias in the
    first layer scales with ``W1`` (``cW1 x + cb1``), so ``homogeneity_degree = L``. With
    ``bias="all"`` the later biases break it: ``homogeneity_degree = None`` and the KKT /
    normalized-margin diagnostics of :mod:`implicit_bias.diagnostics.homogeneous` refuse the
    model. Gradient flow on an exponentially tailed loss drives a homogeneous network in
    direction to a KKT point of ``min ||θ||^2/2 s.t. y_n f(x_n; θ) >= 1`` (Lyu & Li 2020, Thm
    4.4; Ji & Telgarsky 2020; vardi2022 §3.2).

    **Outputs.** ``apply`` returns ``(N,)`` for ``outputs=1`` (binary labels in ``{-1, +1}``)
    and the logits ``(N, C)`` for ``outputs=C > 1`` (multiclass cross-entropy, labels
    ``0..C-1``).

    **Initialization** (``init(key)``): ``init_params`` if given, else i.i.d.
    ``W_j[i, k] ~ N(0, scale^2 / m_{j-1})`` (``m_0 = d``) drawn from ``fold_in(key, j)``;
    biases start at 0.

    Args:
        dim: input dimension ``d``.
        widths: hidden widths ``(m_1, ..., m_{L-1})`` (an int means one hidden layer).
        activation: ``"relu"``, ``"leaky_relu"`` (``slope``) or ``"linear"``.
        bias: ``"first"``, ``"none"`` or ``"all"``.
        outputs: number of outputs ``C >= 1``.
        slope: negative-side slope of ``leaky_relu`` (``> 0``).
        scale: Gaussian init scale (``> 0``).
        init_params: explicit initial parameters by name.

    Raises:
        ValueError: bad sizes, an unknown activation or bias mode, a bad slope or scale.

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.models import MLP
        >>> m = MLP(2, widths=(3,), activation="relu", bias="first")
        >>> sorted(m.param_shapes().items()), m.homogeneity_degree
        ([('W1', (3, 2)), ('W2', (1, 3)), ('b1', (3,))], 2)
        >>> p = m.init(0); X = jnp.array([[1.0, -2.0]])
        >>> bool(jnp.allclose(m.apply({k: 3 * v for k, v in p.items()}, X), 9 * m.apply(p, X)))
        True
    """

    dim: int = eqx.field(static=True)
    widths: tuple = eqx.field(static=True, default=(16,), converter=to_widths)
    activation: str = eqx.field(static=True, default="relu")
    bias: str = eqx.field(static=True, default="first")
    outputs: int = eqx.field(static=True, default=1)
    slope: np.ndarray = eqx.field(default=0.01, converter=lambda v: np.asarray(v, dtype=np.float64))
    scale: np.ndarray = eqx.field(default=1.0, converter=lambda v: np.asarray(v, dtype=np.float64))
    init_params: dict | None = None

    def __check_init__(self):
        if not is_pos_int(self.dim):
            raise ValueError(f"MLP: dim must be a positive integer (the input dimension d); received {self.dim!r}")
        if not isinstance(self.widths, tuple) or not all(is_pos_int(m) for m in self.widths):
            raise ValueError(f"MLP: widths must be a sequence of positive integers (hidden layer sizes); received {self.widths!r}")
        if not is_pos_int(self.outputs):
            raise ValueError(f"MLP: outputs must be a positive integer (1 for binary labels, C for C classes); received {self.outputs!r}")
        check_activation("MLP", self.activation, FC_ACTIVATIONS)
        check_slope("MLP", self.activation, self.slope)
        if self.bias not in BIAS_MODES:
            raise ValueError(f"MLP: bias must be one of {', '.join(BIAS_MODES)} ('first' keeps the network homogeneous); received {self.bias!r}")
        sc = np.asarray(self.scale, dtype=float)
        if self.init_params is None and (sc.shape != () or not (math.isfinite(float(sc)) and float(sc) > 0)):
            raise ValueError(f"MLP: scale must be a finite number > 0; received {self.scale!r}")

    @property
    def depth(self) -> int:
        """Number of weight layers ``L = len(widths) + 1``."""
        return len(self.widths) + 1

    @property
    def sizes(self) -> tuple:
        """``(d, m_1, ..., m_{L-1}, C)``."""
        return (self.dim, *self.widths, self.outputs)

    @property
    def bias_layers(self) -> tuple:
        """The layers ``j`` (1-based) with a bias ``b_j``."""
        return {"none": (), "first": (1,), "all": tuple(range(1, self.depth + 1))}[self.bias]

    @property
    def homogeneity_degree(self) -> int | None:
        """``L`` for ``bias="first"`` or ``"none"`` (``f(x; cθ) = c^L f(x; θ)``, ``c > 0``);
        ``None`` for ``bias="all"`` (not homogeneous)."""
        return None if self.bias == "all" else self.depth

    @property
    def homogeneity(self) -> int | None:
        """Same as :attr:`homogeneity_degree` (the :class:`AbstractModel` contract's name)."""
        return self.homogeneity_degree

    @property
    def has_predictor(self) -> bool:  # linear in x only without bias, identity σ, one output
        return self.activation == "linear" and self.bias == "none" and self.outputs == 1

    def param_shapes(self):
        s = self.sizes
        shapes = {f"W{j}": (s[j], s[j - 1]) for j in range(1, self.depth + 1)}
        shapes.update({f"b{j}": (s[j],) for j in self.bias_layers})
        return shapes

    def init(self, key=None):
        """``init_params`` if given, else Gaussian weights from ``key`` (a key or an int seed), zero biases."""
        if self.init_params is not None:
            return check_params(self, dict(self.init_params))
        key = as_key(key)
        s = self.sizes
        sc = jnp.asarray(self.scale, dtype=jnp.float64)
        params = {f"W{j}": sc / math.sqrt(s[j - 1]) * jax.random.normal(jax.random.fold_in(key, j), (s[j], s[j - 1])) for j in range(1, self.depth + 1)}
        params.update({f"b{j}": jnp.zeros(s[j]) for j in self.bias_layers})
        return params

    @property
    def input_dim(self) -> int:
        """Input dimension ``d`` (``dim``)."""
        return self.dim

    def _sigma(self, x):
        return ACTIVATIONS[self.activation].fn(x, self.slope)

    def apply(self, params, X):
        """Outputs ``f(X)``: ``(N,)`` for one output, logits ``(N, C)`` for ``outputs=C > 1``; ``X (N, d)``."""
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"MLP.apply: X must have shape (N, {self.dim}); received {X.shape}")
        h = feedforward(params, X, self.depth, self._sigma, self.bias_layers)
        return h[:, 0] if self.outputs == 1 else h

    def predictor(self, params):
        """End-to-end ``(W_L ... W_1)^T``, shape ``(d,)``, for a linear, bias-free, one-output MLP.

        Raises:
            NotImplementedError: otherwise (the network is not linear in ``x``).
        """
        if not self.has_predictor:
            raise NotImplementedError(
                f"MLP has no equivalent linear predictor: activation={self.activation!r}, bias={self.bias!r}, outputs={self.outputs} "
                "(only activation='linear', bias='none', outputs=1 is a linear function of x)"
            )
        P = params["W1"]
        for j in range(2, self.depth + 1):
            P = params[f"W{j}"] @ P
        return P[0]
