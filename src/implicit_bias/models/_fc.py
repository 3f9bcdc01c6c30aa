"""Fully-connected networks ``x -> W_L σ(... σ(W_1 x))`` and single neurons ``x -> σ(w^T x)``."""

from __future__ import annotations

import difflib
import math
from typing import Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._base import AbstractModel, check_params
from .init import as_key

__all__ = ["FullyConnected", "SingleNeuron", "ACTIVATIONS", "FC_ACTIVATIONS", "feedforward", "check_activation", "check_slope", "is_pos_int", "to_widths"]


class _Activation(NamedTuple):
    fn: Callable  # (x, slope) -> σ(x)
    homogeneous: bool  # σ(c x) = c σ(x) for c > 0
    strictly_monotone: bool


def _leaky(x, slope):
    return jnp.where(x >= 0, x, slope * x)


#: Activations by name: ``linear`` (identity), ``relu``, ``leaky_relu`` (``x`` for ``x >= 0``,
#: ``slope * x`` otherwise; azulay2021 §8 writes ``max(x, ρx)``, the same for ``0 < ρ <= 1``),
#: and, for :class:`SingleNeuron` (vardi2022 §4.4, strictly monotone σ), ``tanh``, ``sigmoid``,
#: ``softplus``.
ACTIVATIONS: dict[str, _Activation] = {
    "linear": _Activation(lambda x, s: x, True, True),
    "relu": _Activation(lambda x, s: jnp.maximum(x, 0.0), True, False),
    "leaky_relu": _Activation(_leaky, True, True),
    "tanh": _Activation(lambda x, s: jnp.tanh(x), False, True),
    "sigmoid": _Activation(lambda x, s: jax.nn.sigmoid(x), False, True),
    "softplus": _Activation(lambda x, s: jax.nn.softplus(x), False, True),
}
FC_ACTIVATIONS = ("linear", "relu", "leaky_relu")


def _to_array(x):
    return np.asarray(x, dtype=np.float64)


def check_activation(owner: str, name, allowed) -> None:
    if name not in allowed:
        hint = difflib.get_close_matches(str(name), allowed, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"{owner}: unknown activation {name!r}{extra}; use one of {', '.join(allowed)}")


def check_slope(owner: str, activation: str, slope) -> None:
    s = np.asarray(slope, dtype=float)
    if activation == "leaky_relu" and not (s.shape == () and math.isfinite(float(s)) and float(s) > 0):
        raise ValueError(f"{owner}: slope must be a finite number > 0 for leaky_relu (σ(x) = slope * x for x < 0); received {slope!r}")


def is_pos_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


def to_widths(w):
    if is_pos_int(w):
        return (int(w),)
    try:
        return tuple(w)
    except TypeError:
        return w  # rejected in __check_init__


def feedforward(params, X, depth: int, sigma: Callable, bias_layers=()):
    """The layer loop ``h_j = σ(W_j h_{j-1} + b_j)`` (no σ after the last layer), shared by
    :class:`FullyConnected` and :class:`~implicit_bias.models.MLP`.

    Args:
        params: ``{"W1": (m_1, d), ..., "WL": (m_L, m_{L-1})}`` and ``"bj": (m_j,)`` for ``j`` in
            ``bias_layers``.
        X: inputs ``(N, d)``.
        depth: ``L``.
        sigma: the activation, applied elementwise between layers.
        bias_layers: the layers ``j`` (1-based) that add a bias ``b_j``.

    Returns:
        The last layer's outputs ``(N, m_L)``.
    """
    h = X
    for j in range(1, depth + 1):
        h = h @ params[f"W{j}"].T
        if j in bias_layers:
            h = h + params[f"b{j}"][None, :]
        if j < depth:
            h = sigma(h)
    return h


def _unit(v, name, d):
    u = np.asarray(v, dtype=np.float64)
    if u.shape != (d,) or not np.all(np.isfinite(u)) or not np.any(u != 0):
        raise ValueError(f"{name} must be a finite, non-zero vector of shape ({d},); received {np.shape(v)}")
    return u / np.linalg.norm(u)


class FullyConnected(AbstractModel):
    r"""Fully-connected network ``f(x) = W_L σ(W_{L-1} ... σ(W_1 x + b_1) ... + b_{L-1}) + b_L``.

    Parameters (DESIGN.md model table, row ``fc``): ``W1 (m_1, d)``, ..., ``Wj (m_j, m_{j-1})``,
    ..., ``WL (1, m_{L-1})`` with ``(m_1, ..., m_{L-1}) = widths`` and ``L = len(widths) + 1``;
    with ``bias=True`` also ``b1 (m_1,)``, ..., ``bL (1,)``. ``σ`` is ``activation``
    (``linear``, ``relu``, ``leaky_relu`` with ``slope``). With the linear activation and no bias
    the network is linear in ``x`` with the end-to-end predictor ``w~ = (W_L ... W_1)^T``
    (:meth:`predictor`). The two-layer single neuron ``x -> a σ(w^T x)`` of azulay2021 §6-§8 is
    ``widths=(1,)``, ``W1 = w^T``, ``W2 = [[a]]``.

    Initialization (``init(key)``), the first that applies:

    1. ``init_params``: explicit parameters by name (``--init FILE.npz``).
    2. One hidden neuron (``widths=(1,)``), azulay2021 §7.2: scale ``α = |a(0)| ||w(0)||``, shape
       ``s = (|a|/||w|| - 1)/(|a|/||w|| + 1)`` and orientation ``u = w(0)/||w(0)||``, i.e.
       ``||w(0)|| = sqrt(α (1-s)/(1+s))``, ``a(0) = sqrt(α (1+s)/(1-s)) > 0``; then
       ``w~(0) = α u`` and ``δ = a(0)^2 - ||w(0)||^2 = 4 α s / (1 - s^2)`` (``δ >= 0`` iff
       ``s >= 0``, the condition of azulay2021 Thm 6.1). ``u`` is ``orientation`` (normalised)
       or a uniformly random direction drawn from ``key``.
    3. ``balanced=True`` (any widths): the rank-one, strictly balanced initialization
       ``W_j = c v_j v_{j-1}^T`` with ``c = scale^{1/L}``, ``v_0 = u`` (as above), ``v_j`` unit
       vectors drawn from ``key`` (``+1`` where ``m_j = 1``) and ``v_L = 1``; then
       ``W_j W_j^T = W_{j+1}^T W_{j+1}`` for every ``j`` (``Δ = 0`` of azulay2021 Prop 6.2)
       and, for the linear activation, ``w~(0) = scale * u``.
    4. Otherwise i.i.d. Gaussian entries ``W_j[i, k] ~ N(0, scale^{2/L} / m_{j-1})``
       (``m_0 = d``), so that ``E ||w~(0)||^2 = scale^2`` for the linear network.

    Biases start at 0. ``shape`` must be 0 except in case 2.

    Args:
        dim: input dimension ``d``.
        widths: hidden widths ``(m_1, ..., m_{L-1})`` (an int means one hidden layer; ``()`` is
            the linear model ``x -> W1 x``).
        activation: ``"linear"``, ``"relu"`` or ``"leaky_relu"``.
        slope: negative-side slope of ``leaky_relu`` (``> 0``); ignored otherwise.
        bias: add biases ``b1..bL``.
        scale: ``α`` (case 2), the balanced scale (case 3) or the Gaussian scale (case 4); ``> 0``.
        shape: ``s`` in ``(-1, 1)`` (case 2 only).
        orientation: ``(d,)``, the direction ``u`` of the first layer (cases 2-3); default random.
        balanced: use the strictly balanced rank-one initialization (case 3).
        init_params: explicit initial parameters ``{"W1", ..., "WL"[, "b1", ..., "bL"]}``.

    Raises:
        ValueError: non-positive sizes, an unknown activation (with a did-you-mean hint), a bad
            slope/scale/shape/orientation, ``shape != 0`` outside case 2.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from implicit_bias.models import FullyConnected
        >>> m = FullyConnected(2, widths=(1,), scale=2.0, shape=0.5, orientation=jnp.array([0.6, 0.8]))
        >>> p = m.init()
        >>> [round(float(v), 12) for v in m.predictor(p)]       # w~(0) = α u
        [1.2, 1.6]
        >>> round(float(p["W2"][0, 0] ** 2 - jnp.sum(p["W1"] ** 2)), 12)   # δ = 4αs/(1-s^2)
        5.333333333333
    """

    dim: int = eqx.field(static=True)
    widths: tuple = eqx.field(static=True, default=(1,), converter=to_widths)
    activation: str = eqx.field(static=True, default="linear")
    slope: np.ndarray = eqx.field(default=0.01, converter=_to_array)
    bias: bool = eqx.field(static=True, default=False)
    scale: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    shape: np.ndarray = eqx.field(default=0.0, converter=_to_array)
    orientation: np.ndarray | None = eqx.field(default=None, converter=lambda v: None if v is None else _to_array(v))
    balanced: bool = eqx.field(static=True, default=False)
    init_params: dict | None = None

    def __check_init__(self):
        if not is_pos_int(self.dim):
            raise ValueError(f"FullyConnected: dim must be a positive integer; received {self.dim!r}")
        if not isinstance(self.widths, tuple) or not all(is_pos_int(m) for m in self.widths):
            raise ValueError(f"FullyConnected: widths must be a sequence of positive integers (hidden layer sizes); received {self.widths!r}")
        check_activation("FullyConnected", self.activation, FC_ACTIVATIONS)
        check_slope("FullyConnected", self.activation, self.slope)
        if self.init_params is not None:
            return
        sc, sh = np.asarray(self.scale, dtype=float), np.asarray(self.shape, dtype=float)
        if sc.shape != () or not (math.isfinite(float(sc)) and float(sc) > 0):
            raise ValueError(f"FullyConnected: scale must be a finite number > 0; received {self.scale!r}")
        if sh.shape != () or not abs(float(sh)) < 1:
            raise ValueError(f"FullyConnected: shape s must be a number in (-1, 1); received {self.shape!r}")
        if float(sh) != 0 and (self.widths != (1,) or self.balanced):
            raise ValueError(
                f"FullyConnected: shape is defined for one hidden neuron (widths=(1,), azulay2021 §7.2); received widths={self.widths}"
                + (" with balanced=True (shape 0)" if self.balanced else "")
                + "; use shape 0 or explicit init_params"
            )
        if self.orientation is not None:
            _unit(self.orientation, "FullyConnected: orientation", self.dim)

    @property
    def depth(self) -> int:
        """Number of weight layers ``L = len(widths) + 1``."""
        return len(self.widths) + 1

    @property
    def sizes(self) -> tuple:
        """``(d, m_1, ..., m_{L-1}, 1)``."""
        return (self.dim, *self.widths, 1)

    @property
    def has_predictor(self) -> bool:  # linear in x only for the identity activation and no bias
        return self.activation == "linear" and not self.bias

    def param_shapes(self):
        s = self.sizes
        shapes = {f"W{j}": (s[j], s[j - 1]) for j in range(1, self.depth + 1)}
        if self.bias:
            shapes.update({f"b{j}": (s[j],) for j in range(1, self.depth + 1)})
        return shapes

    def _direction(self, key):
        if self.orientation is not None:
            return jnp.asarray(_unit(self.orientation, "orientation", self.dim))
        if key is None:
            raise ValueError("FullyConnected: a random orientation needs a key: pass jax.random.key(seed) or an integer seed, or give orientation=")
        g = jax.random.normal(key, (self.dim,))
        return g / jnp.linalg.norm(g)

    def init(self, key=None):
        """Initial parameters (see the class docstring for the four cases).

        Args:
            key: a ``jax.random`` key or an integer seed; needed unless ``init_params`` is given
                or (cases 2-3) ``orientation`` is given and every hidden width is 1.
        """
        if self.init_params is not None:
            return check_params(self, dict(self.init_params))
        key = None if key is None else as_key(key)
        L, s = self.depth, self.sizes
        alpha = jnp.asarray(self.scale, dtype=jnp.float64)
        if self.widths == (1,) and not self.balanced:
            sh = jnp.asarray(self.shape, dtype=jnp.float64)
            r = (1.0 + sh) / (1.0 - sh)  # |a| / ||w||
            k0 = None if key is None else jax.random.fold_in(key, 0)
            params = {"W1": (jnp.sqrt(alpha / r) * self._direction(k0))[None, :], "W2": jnp.sqrt(alpha * r).reshape(1, 1)}
        elif self.balanced:
            c = alpha ** (1.0 / L)
            vs = [self._direction(None if key is None else jax.random.fold_in(key, 0))]
            for j in range(1, L):
                if s[j] == 1:
                    vs.append(jnp.ones(1))
                    continue
                if key is None:
                    raise ValueError("FullyConnected: balanced=True with hidden widths > 1 draws unit vectors: pass jax.random.key(seed) or an integer seed")
                g = jax.random.normal(jax.random.fold_in(key, j), (s[j],))
                vs.append(g / jnp.linalg.norm(g))
            vs.append(jnp.ones(1))
            params = {f"W{j}": c * jnp.outer(vs[j], vs[j - 1]) for j in range(1, L + 1)}
        else:
            key = as_key(key)
            c = alpha ** (1.0 / L)
            params = {f"W{j}": c / jnp.sqrt(s[j - 1]) * jax.random.normal(jax.random.fold_in(key, j), (s[j], s[j - 1])) for j in range(1, L + 1)}
        if self.bias:
            params.update({f"b{j}": jnp.zeros(s[j]) for j in range(1, L + 1)})
        return params

    def _sigma(self, x):
        return ACTIVATIONS[self.activation].fn(x, self.slope)

    def apply(self, params, X):
        """Outputs ``f(X) (N,)`` on inputs ``X (N, d)``."""
        h = jnp.asarray(X)
        if h.ndim != 2 or h.shape[1] != self.dim:
            raise ValueError(f"FullyConnected.apply: X must have shape (N, {self.dim}); received {h.shape}")
        bias_layers = range(1, self.depth + 1) if self.bias else ()
        return feedforward(params, h, self.depth, self._sigma, bias_layers)[:, 0]

    def predictor(self, params):
        """End-to-end linear predictor ``w~ = (W_L W_{L-1} ... W_1)^T``, shape ``(d,)``.

        Raises:
            NotImplementedError: the activation is not ``linear`` or the model has biases (the
                network is then not linear in ``x``).
        """
        if not self.has_predictor:
            why = "it has biases" if self.bias else f"its activation is {self.activation!r}"
            raise NotImplementedError(f"FullyConnected has no equivalent linear predictor: {why} (only activation='linear' without bias is linear in x)")
        P = params["W1"]
        for j in range(2, self.depth + 1):
            P = params[f"W{j}"] @ P
        return P[0]

    @property
    def input_dim(self) -> int:
        """Input dimension ``d`` (``dim``)."""
        return self.dim

    @property
    def homogeneity(self):
        """``L`` for ``linear``/``relu``/``leaky_relu`` without biases, else ``None``."""
        return None if self.bias else self.depth


class SingleNeuron(AbstractModel):
    r"""Single neuron ``f(x) = σ(w^T x)`` with parameters ``{"w": (d,)}`` (DESIGN.md row ``neuron``).

    vardi2022 §4.4: for strictly monotone ``σ`` gradient flow on the square loss reaches the
    zero-loss solution closest to ``w(0)``; for ReLU no function of ``w`` alone describes the
    endpoint, but ``||w(∞)|| <= 2 ||w*||`` (Vardi & Shamir 2020; see
    :func:`implicit_bias.theory.linear_networks.relu_neuron_bound` for the constant).

    Initialization: ``init_params`` (``{"w"}``), else ``w ~ N(0, scale^2 / d I)`` from the key
    (``E ||w(0)||^2 = scale^2``).

    Args:
        dim: input dimension ``d``.
        activation: one of ``linear``, ``relu``, ``leaky_relu`` (``slope``), ``tanh``,
            ``sigmoid``, ``softplus``.
        slope: negative-side slope of ``leaky_relu`` (``> 0``).
        scale: scale of the random initialization (``> 0``).
        init_params: explicit initial parameters ``{"w": (d,)}``.

    Raises:
        ValueError: bad ``dim``, unknown activation, bad slope or scale.

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.models import SingleNeuron
        >>> m = SingleNeuron(2, "relu", init_params={"w": jnp.array([1.0, -1.0])})
        >>> m.apply(m.init(), jnp.array([[2.0, 1.0], [0.0, 1.0]])).tolist()
        [1.0, 0.0]
    """

    dim: int = eqx.field(static=True)
    activation: str = eqx.field(static=True, default="relu")
    slope: np.ndarray = eqx.field(default=0.01, converter=_to_array)
    scale: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    init_params: dict | None = None

    def __check_init__(self):
        if not is_pos_int(self.dim):
            raise ValueError(f"SingleNeuron: dim must be a positive integer; received {self.dim!r}")
        check_activation("SingleNeuron", self.activation, tuple(ACTIVATIONS))
        check_slope("SingleNeuron", self.activation, self.slope)
        sc = np.asarray(self.scale, dtype=float)
        if self.init_params is None and (sc.shape != () or not (math.isfinite(float(sc)) and float(sc) > 0)):
            raise ValueError(f"SingleNeuron: scale must be a finite number > 0; received {self.scale!r}")

    @property
    def has_predictor(self) -> bool:
        return self.activation == "linear"

    def param_shapes(self):
        return {"w": (self.dim,)}

    def init(self, key=None):
        """``init_params`` if given, else ``w ~ N(0, scale^2/d I)`` drawn from ``key`` (a key or an int seed)."""
        if self.init_params is not None:
            return check_params(self, dict(self.init_params))
        return {"w": jnp.asarray(self.scale) / math.sqrt(self.dim) * jax.random.normal(as_key(key), (self.dim,))}

    def apply(self, params, X):
        """Outputs ``σ(X w)``, shape ``(N,)``, on inputs ``X (N, d)``."""
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"SingleNeuron.apply: X must have shape (N, {self.dim}); received {X.shape}")
        return ACTIVATIONS[self.activation].fn(X @ params["w"], self.slope)

    def predictor(self, params):
        """``w`` for the linear activation; ``NotImplementedError`` otherwise (σ(w^T x) is not linear in x)."""
        if not self.has_predictor:
            raise NotImplementedError(f"SingleNeuron has no equivalent linear predictor: its activation is {self.activation!r} (only 'linear' is linear in x)")
        return params["w"]

    @property
    def input_dim(self) -> int:
        """Input dimension ``d`` (``dim``)."""
        return self.dim

    @property
    def homogeneity(self):
        """1 for ``linear``/``relu``/``leaky_relu``, else ``None``."""
        return 1 if ACTIVATIONS[self.activation].homogeneous else None
