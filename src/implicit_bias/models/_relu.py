"""The shallow ReLU network ``x -> sum_i w2_i relu(w1_i^T x + b1_i) + b2 [+ skip^T x]``."""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ._base import AbstractModel, check_params
from ._power import activation_degree, power_activation
from .init import AbstractInit, Breakpoints, as_key, to_range, get_init, hyperparameters

__all__ = ["ShallowReLU"]


def _to_array(x):
    # numpy scalars, as in Diagonal: sweeps over them stack into one vmapped batch
    return np.asarray(x, dtype=np.float64)


class ShallowReLU(AbstractModel):
    """One-hidden-layer ReLU network of width ``k`` (DESIGN.md model table, row ``relu``).

    ``f(x) = sum_{i=1}^k w2_i relu(w1_i^T x + b1_i) + b2 [+ skip^T x]`` with params
    ``{"w1": (k, d), "b1": (k,), "w2": (k,), "b2": ()}`` plus ``"skip": (d,)`` if ``skip``.
    This is mulayoff2021 eq. (18) (``d = 1``, no skip) and the network of montufar2024 Thm 5
    (``d = 1`` with skip connection; Thm 8 for ``d > 1``). Standard parametrization: no
    ``1/sqrt(k)`` in the forward map; the output scale lives in the initialization.

    Initialization ``init(key)`` draws from ``init_dist`` (see ``implicit_bias.models.init``):
    ``gaussian`` (``sigma_w``, ``sigma_b``), ``uniform`` (``a_w``, ``a_b``), ``binary-uniform``
    (``a_b``), ``breakpoints`` (``breakpoint_density``, ``breakpoint_range``, ``sigma_w``;
    ``input_dim = 1``) or ``pytorch`` (PyTorch ``nn.Linear`` default, our stand-in for
    mulayoff2021, whose text does not state its init). All but ``pytorch`` draw
    ``w2 ~ N(0, output_scale^2 / k)``, ``b2 = 0``; ``skip`` starts at 0. Hyperparameters the
    chosen distribution does not take are ignored. ``antisymmetric=True`` pairs the units so
    that ``f(., theta_0) = 0`` up to rounding (``k`` even; ``ibias fit --antisymmetric``,
    ``model.antisymmetric`` in a config). ``init_params`` overrides all of this.

    Which function GD finds (montufar2024 Thm 5; measured in ``jin-montufar2023-parametrization``):
    trained by GD with step ``eta_bar/k`` on all parameters (standard parametrization), the hidden
    layer is a ~``1.7/k`` share of the tangent kernel, so training all layers or only ``w2``
    gives the same limit (difference ``O(1/k)``). That limit is kernel regression with
    ``K(x, x') = E[[Wx+B]_+ [Wx'+B]_+]``, which also charges the affine part, so the net
    converges to ``g_K``, not to eq. (5)'s ``g*`` (about 1% of the function for a Gaussian init,
    8% in a binary-uniform example). Reaching ``g*`` needs the skip weight and output bias at an
    infinitely larger step: ``algorithms.WidthScaledGD(affine="exact")`` refits them
    by least squares after every step (``ibias fit --model relu --skip --algorithm
    width-scaled-gd``; ``--predict weighted-spline`` / ``natural-spline`` compare with ``g*``).

    Hyperparameters are stored as numpy scalars (as in ``Diagonal``), so sweeps over them batch
    into one ``vmap``; jit through ``equinox.filter_jit`` or a closure
    (``jax.jit(lambda p, X: m.apply(p, X))``), not ``jax.jit(m.apply)``.

    Args:
        width: number of hidden units ``k``.
        input_dim: input dimension ``d``.
        skip: add the linear skip connection ``skip^T x`` (param ``"skip" (d,)``).
        init_dist: name of the initialization distribution (the CLI's ``--init NAME``; not
            called ``init``, which is the method drawing the parameters).
        sigma_w: std of input weights (``gaussian``, ``breakpoints``).
        sigma_b: std of biases (``gaussian``).
        a_w: ``W ~ U(-a_w, a_w)`` (``uniform``).
        a_b: ``B ~ U(-a_b, a_b)`` (``uniform``, ``binary-uniform``).
        output_scale: output-layer scale (all distributions).
        breakpoint_density: ``p_C``, vectorised callable ``>= 0`` (``breakpoints``).
        breakpoint_range: interval ``(lo, hi)`` carrying ``p_C`` (``breakpoints``).
        antisymmetric: antisymmetric pairing of units (``f(., theta_0) = 0``).
        init_params: explicit initial parameters by name (validated by ``check_params``).
        activation: ``"relu"`` (default) or ``"relu_power:k"``, the activation ``[x]_+^k``
            (montufar2024 Thm 9; ``theory.relu_power``). Parameter names are the same.

    Raises:
        ValueError: non-positive sizes, an unknown ``init_dist`` (did-you-mean hint), invalid
            hyperparameters, odd ``width`` with ``antisymmetric``, ``breakpoints`` with
            ``input_dim != 1``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from implicit_bias.models import ShallowReLU
        >>> m = ShallowReLU(8, init_dist="uniform", a_b=2.0, antisymmetric=True)
        >>> p = m.init(jax.random.key(0))
        >>> f0 = m.apply(p, jnp.linspace(-1, 1, 3)[:, None])   # f(., theta_0) = 0 up to rounding
        >>> bool(jnp.max(jnp.abs(f0)) < 1e-15)
        True
    """

    width: int = eqx.field(static=True)
    input_dim: int = eqx.field(static=True, default=1)
    skip: bool = eqx.field(static=True, default=False)
    init_dist: str = eqx.field(static=True, default="gaussian")
    sigma_w: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    sigma_b: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    a_w: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    a_b: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    output_scale: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    breakpoint_density: Callable | None = eqx.field(static=True, default=None)
    breakpoint_range: tuple[float, float] = eqx.field(static=True, default=(-1.0, 1.0), converter=to_range)
    antisymmetric: bool = eqx.field(static=True, default=False)
    init_params: dict | None = None
    activation: str = eqx.field(static=True, default="relu")

    def __check_init__(self):
        try:
            activation_degree(self.activation)
        except ValueError as e:
            raise ValueError(f"ShallowReLU: {e}") from None
        for name in ("width", "input_dim"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"ShallowReLU: {name} must be a positive integer; received {v!r}")
        if self.init_params is not None:
            return
        if self.antisymmetric and self.width % 2:
            raise ValueError(f"ShallowReLU: antisymmetric initialization pairs the hidden units, so width must be even; received width={self.width}")
        dist = self.distribution  # validates the name and the hyperparameters
        if isinstance(dist, Breakpoints) and self.input_dim != 1:
            raise ValueError(f"ShallowReLU: init_dist='breakpoints' is univariate (montufar2024 Prop 7): input_dim must be 1; received {self.input_dim}")

    @property
    def distribution(self) -> AbstractInit:
        """The initialization distribution built from ``init_dist`` and this model's hyperparameters."""
        kw = {h: getattr(self, h) for h in hyperparameters(self.init_dist) if hasattr(self, h)}
        return get_init(self.init_dist, **kw)

    def param_shapes(self):
        shapes = {"w1": (self.width, self.input_dim), "b1": (self.width,), "w2": (self.width,), "b2": ()}
        if self.skip:
            shapes["skip"] = (self.input_dim,)
        return shapes

    def init(self, key=None):
        """Initial parameters: ``init_params`` if given, else a draw from ``distribution``.

        Args:
            key: a ``jax.random`` key or an integer seed (required unless ``init_params``).
        """
        if self.init_params is not None:
            return check_params(self, dict(self.init_params))
        return self.distribution.sample(as_key(key), self.width, self.input_dim, skip=self.skip, antisymmetric=self.antisymmetric)

    def apply(self, params, X):
        """Outputs ``f(X) (N,)`` on inputs ``X (N, d)``."""
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.input_dim:
            raise ValueError(f"ShallowReLU.apply: X must have shape (N, {self.input_dim}); received {X.shape}")
        if self.activation != "relu":
            out = power_activation(X @ params["w1"].T + params["b1"][None, :], activation_degree(self.activation)) @ params["w2"]
        elif 0 < X.shape[0] <= _UNROLL_MAX_N and self.input_dim <= _UNROLL_MAX_D:
            out = _hidden_unrolled(params["w1"], params["b1"], params["w2"], X)
        else:
            out = jax.nn.relu(X @ params["w1"].T + params["b1"][None, :]) @ params["w2"]
        out = out + params["b2"]
        if self.skip:
            out = out + X @ params["skip"]
        return out

    def dead_units(self, params, X):
        """``(dead, k)``: the hidden units with pre-activation ``w1_i^T x_n + b1_i <= 0`` at every
        training input ``x_n`` (rows of ``X (N, d)``); their gradient is 0 (``relu'(0) = 0``, and
        ``[x]_+^k`` is flat for ``x <= 0`` too).

        Example:
            >>> import numpy as np
            >>> from implicit_bias.models import ShallowReLU
            >>> m = ShallowReLU(2, input_dim=1)
            >>> p = {"w1": np.array([[1.0], [-1.0]]), "b1": np.array([0.0, 0.0]), "w2": np.ones(2), "b2": np.array(0.0)}
            >>> m.dead_units(p, np.array([[0.5], [1.0]]))
            (1, 2)
        """
        pre = np.asarray(X, dtype=np.float64) @ np.asarray(params["w1"], dtype=np.float64).T + np.asarray(params["b1"], dtype=np.float64)[None, :]
        dead = np.all(pre <= 0.0, axis=0)
        return int(dead.sum()), int(dead.size)


# Up to this many samples and input dimensions, ``apply`` evaluates the hidden layer one sample
# at a time (``_hidden_unrolled``); beyond, the matrix form (a matrix product reads ``w1`` once).
_UNROLL_MAX_N = 16
_UNROLL_MAX_D = 4


def _preactivations(w1, b1, X):
    """The ``N`` pre-activation vectors ``w1 x_n + b1`` (each ``(k,)``), elementwise in ``w1``'s columns."""
    pres = []
    for n in range(X.shape[0]):
        pre = b1
        for i in range(w1.shape[1]):
            pre = w1[:, i] * X[n, i] + pre
        pres.append(pre)
    return pres


@jax.custom_jvp
def _hidden_unrolled(w1, b1, w2, X):
    """``sum_i w2_i relu(w1_i^T x_n + b1_i)`` for each row ``x_n`` of ``X (N, d)``, one sample at a time.

    The same function as ``relu(X @ w1.T + b1) @ w2`` with the same value and derivatives up to
    summation order (``relu'(0) = 0``, as ``jax.nn.relu``). For a small number of samples ``N``
    (a static shape) and small ``d`` it works on ``N`` pre-activation vectors of length ``k``:
    the ``N`` sums are one variadic reduction, one pass over the units, and the derivative
    (``custom_jvp``, linear in the tangents, so reverse mode is its transpose) is elementwise
    per sample, which XLA fuses into one pass; the ``(N, k)`` matrix form materialises ``(N, k)``
    intermediates between unfused matrix products (a plain GD step about 2-3x slower at
    ``k = 2^14``, ``N = 6``, ``d = 1``; ``benchmarks/bench_wide_relu.py``).
    """
    terms = tuple(jax.nn.relu(pre) * w2 for pre in _preactivations(w1, b1, X))
    zeros = tuple(jnp.zeros((), w2.dtype) for _ in terms)
    return jnp.stack(jax.lax.reduce(terms, zeros, lambda a, b: tuple(u + v for u, v in zip(a, b)), (0,)))


@_hidden_unrolled.defjvp
def _hidden_unrolled_jvp(primals, tangents):
    w1, b1, w2, X = primals
    dw1, db1, dw2, dX = tangents
    out = _hidden_unrolled(w1, b1, w2, X)
    dpres = _preactivations(dw1, db1, X)
    dout = []
    for n, (pre, dpre) in enumerate(zip(_preactivations(w1, b1, X), dpres)):
        for i in range(w1.shape[1]):
            dpre = w1[:, i] * dX[n, i] + dpre
        # d relu(pre) = 1[pre > 0] d pre (relu'(0) = 0, as jax.nn.relu)
        dout.append(jnp.sum(dw2 * jax.nn.relu(pre) + w2 * jnp.where(pre > 0, dpre, 0.0)))
    return out, jnp.stack(dout)
