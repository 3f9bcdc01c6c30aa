"""Initialization distributions for the shallow ReLU network (montufar2024, Thms 5-6, Prop 7).

Each hidden unit ``i`` of ``f(x) = sum_i w2_i relu(w1_i^T x + b1_i) + b2 [+ skip^T x]`` gets its
input weight and bias ``(w1_i, b1_i)`` as an independent draw of a random pair ``(W, B)``; for a
univariate input the unit has its breakpoint at ``C = -B/W``. Jin & Montufar (JMLR 2023),
presented in montufar2024 (slides "Theorem 5 (Univariate regression)" to "Proposition 7"), show
that wide networks trained by gradient descent on the square loss from such an initialization
solve a curvature-penalized spline problem with penalty ``1/zeta(x)``,

    zeta(x) = int |W|^3 p_{W,B}(W, -W x) dW,

so the law of ``(W, B)`` sets the implicit bias. Every distribution here exposes that joint
density as ``density(w, b)`` (``input_dim = 1``) for a module that integrates ``zeta``.

Available distributions (``get_init(name, **hyperparameters)``), hidden units ``(W, B)``:

- ``gaussian``: ``W ~ N(0, sigma_w^2 I_d)``, ``B ~ N(0, sigma_b^2)`` (montufar2024 Thm 6.1);
- ``uniform``: ``W ~ U(-a_w, a_w)^d``, ``B ~ U(-a_b, a_b)`` (Thm 6.3);
- ``binary-uniform``: ``W`` uniform on ``{-1, 1}^d``, ``B ~ U(-a_b, a_b)`` (Thm 6.2);
- ``breakpoints``: ``W ~ N(0, sigma_w^2)`` and ``C ~ p_C`` independent, ``B = -W C`` (Prop 7);
- ``pytorch``: ``W, B ~ U(-1/sqrt(d), 1/sqrt(d))``, PyTorch's ``nn.Linear`` default (our
  stand-in for mulayoff2021, whose text does not state its initialization).

Output layer (all but ``pytorch``): ``w2_i ~ N(0, output_scale^2 / width)`` i.i.d., ``b2 = 0``,
``skip = 0``. This is our reading of the "standard parametrization" that montufar2024 Thm 5
assumes (slide "Theorem 5 (Univariate regression)": "Assume standard parametrization"; network
on the slide "Implicit bias of gradient descent"): the forward map carries no ``1/sqrt(width)``
factor, and the output layer's scale sits in its initialization, variance ``1/width``, so that
``f(x, theta_0) = O(1)`` as the width grows. The slides do not state the output law; ``zeta``
(hence the predicted interpolant) does not depend on it, the speed of training does.
``pytorch`` draws ``w2, b2 ~ U(-output_scale/sqrt(width), output_scale/sqrt(width))`` as
PyTorch's ``nn.Linear(width, 1)`` does.

Antisymmetric initialization (``antisymmetric=True`` in ``sample``): ``width/2`` units are drawn
and copied; unit ``i + width/2`` has the same ``(w1, b1)`` as unit ``i`` and the opposite ``w2``,
and ``b2 = 0``, so ``f(., theta_0) = 0`` identically, up to rounding in the sum (the initial
function drops out of the spline problem of Thm 5). The width must be even.

Example:
    >>> import jax
    >>> from implicit_bias.models.init import get_init
    >>> dist = get_init("gaussian", sigma_w=1.0, sigma_b=0.5)
    >>> p = dist.sample(jax.random.key(0), width=4, input_dim=1)
    >>> {k: v.shape for k, v in p.items()}
    {'w1': (4, 1), 'b1': (4,), 'w2': (4,), 'b2': ()}
"""

from __future__ import annotations

import abc
import dataclasses
import difflib
import functools
import math
from typing import Callable, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)

__all__ = [
    "AbstractInit",
    "Gaussian",
    "Uniform",
    "BinaryUniform",
    "Breakpoints",
    "PyTorchUniform",
    "INITS",
    "get_init",
    "hyperparameters",
]


def as_key(key):
    """A PRNG key from a key or an integer seed."""
    if key is None:
        raise ValueError("a random initialization needs a key: pass jax.random.key(seed) or an integer seed")
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    return key


def _to_float(x):
    """Converter of float hyperparameters; traced values pass through (a model jitted or vmapped over it)."""
    return x if isinstance(x, jax.core.Tracer) else float(x)


def to_range(r):
    """Converter of ``breakpoint_range``: a hashable ``(lo, hi)`` of floats."""
    try:
        return tuple(float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"breakpoint_range must be an interval (lo, hi) of two numbers; received {r!r}") from None


def _check_positive(owner: str, **values):
    for name, v in values.items():
        if isinstance(v, jax.core.Tracer):
            continue  # validated where the value was concrete
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{owner}: {name} must be a finite number > 0; received {v!r}")


class AbstractInit(eqx.Module):
    """Law of the initial parameters of a shallow ReLU network.

    Concrete distributions are final and define ``sample_hidden`` (the law of ``(W, B)``) and
    ``density`` (its joint density for ``input_dim = 1``); ``sample_output`` (the output layer)
    defaults to ``w2 ~ N(0, output_scale^2 / width)``, ``b2 = 0``.

    ``w_atoms`` is ``None`` when ``W`` has a density in ``w``; for a discrete ``W`` it lists the
    values ``W`` takes and ``density(w, b)`` is then the density w.r.t. counting measure on
    ``w_atoms`` times Lebesgue measure on ``b`` (so ``zeta(x) = sum_{w in w_atoms} |w|^3
    density(w, -w x)``).

    Args:
        output_scale: keyword-only, every distribution: scale of the output layer (see the
            module docstring).
    """

    output_scale: float = eqx.field(default=1.0, converter=_to_float, kw_only=True)
    w_atoms: ClassVar[tuple[float, ...] | None] = None

    @abc.abstractmethod
    def sample_hidden(self, key, n: int, input_dim: int) -> tuple[jax.Array, jax.Array]:
        """``n`` i.i.d. draws of ``(W, B)``: ``w1 (n, input_dim)``, ``b1 (n,)``."""

    @abc.abstractmethod
    def density(self, w, b) -> np.ndarray:
        """Joint density ``p_{W,B}(w, b)`` for ``input_dim = 1``; numpy broadcasting of ``w``, ``b``."""

    def sample_output(self, key, n: int, width: int) -> tuple[jax.Array, jax.Array]:
        """``w2 (n,) ~ N(0, output_scale^2 / width)`` and ``b2 = 0``."""
        return self.output_scale / math.sqrt(width) * jax.random.normal(key, (n,)), jnp.zeros(())

    def sample(self, key, width: int, input_dim: int = 1, *, skip: bool = False, antisymmetric: bool = False) -> dict:
        """Initial parameters ``{"w1": (width, input_dim), "b1": (width,), "w2": (width,), "b2": ()}``.

        Args:
            key: a ``jax.random`` key or an integer seed (same key, same numbers bit for bit).
            width: number of hidden units ``k``.
            input_dim: input dimension ``d``.
            skip: also return ``"skip": zeros (d,)`` (the linear skip connection of Thm 5).
            antisymmetric: pair the units as in the module docstring so that ``f(., theta_0) = 0``.

        Raises:
            ValueError: non-positive ``width``/``input_dim``, or odd ``width`` with ``antisymmetric``.
        """
        for name, v in (("width", width), ("input_dim", input_dim)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{type(self).__name__}.sample: {name} must be a positive integer; received {v!r}")
        if antisymmetric and width % 2:
            raise ValueError(f"antisymmetric initialization pairs the hidden units: width must be even; received width={width}")
        kh, ko = jax.random.split(as_key(key))
        n = width // 2 if antisymmetric else width
        w1, b1 = self.sample_hidden(kh, n, input_dim)
        w2, b2 = self.sample_output(ko, n, width)
        if antisymmetric:
            w1, b1, w2, b2 = jnp.concatenate([w1, w1]), jnp.concatenate([b1, b1]), jnp.concatenate([w2, -w2]), jnp.zeros(())
        p = {"w1": w1, "b1": b1, "w2": w2, "b2": jnp.asarray(b2)}
        if skip:
            p["skip"] = jnp.zeros(input_dim)
        return {k: v.astype(jnp.float64) for k, v in p.items()}


def _normal_pdf(x, s):
    return np.exp(-0.5 * (np.asarray(x, dtype=np.float64) / s) ** 2) / (math.sqrt(2 * math.pi) * s)


def _box(x, a):
    return (np.abs(np.asarray(x, dtype=np.float64)) <= a) / (2.0 * a)


class Gaussian(AbstractInit):
    """``W ~ N(0, sigma_w^2 I_d)``, ``B ~ N(0, sigma_b^2)`` independent (montufar2024, Thm 6.1).

    For ``d = 1``, ``zeta(x) = 2 sigma_w^3 sigma_b^3 / (pi (sigma_b^2 + x^2 sigma_w^2)^2)``: the
    curvature penalty ``1/zeta`` grows like ``x^4`` away from 0, and a small ``sigma_b`` makes
    ``zeta`` peaked at 0 (curvier solutions there; montufar2024 Fig. 4).

    Args:
        sigma_w: standard deviation of each input weight.
        sigma_b: standard deviation of the bias.
        output_scale: ``w2 ~ N(0, output_scale^2 / width)``.

    Example:
        >>> from implicit_bias.models.init import Gaussian
        >>> round(float(Gaussian(sigma_w=1.0, sigma_b=1.0).density(0.0, 0.0)), 6)  # 1/(2 pi)
        0.159155
    """

    sigma_w: float = eqx.field(default=1.0, converter=_to_float)
    sigma_b: float = eqx.field(default=1.0, converter=_to_float)

    def __check_init__(self):
        _check_positive("gaussian init", sigma_w=self.sigma_w, sigma_b=self.sigma_b, output_scale=self.output_scale)

    def sample_hidden(self, key, n, input_dim):
        kw, kb = jax.random.split(key)
        return self.sigma_w * jax.random.normal(kw, (n, input_dim)), self.sigma_b * jax.random.normal(kb, (n,))

    def density(self, w, b):
        return _normal_pdf(w, self.sigma_w) * _normal_pdf(b, self.sigma_b)


class Uniform(AbstractInit):
    """``W ~ U(-a_w, a_w)^d``, ``B ~ U(-a_b, a_b)`` independent (montufar2024, Thm 6.3).

    For ``d = 1``, ``zeta`` is constant on ``[-L, L]`` when ``a_b / a_w >= L``: the implicit bias
    is then the natural cubic spline on data inside ``[-L, L]``.

    Args:
        a_w: half-width of the input-weight interval.
        a_b: half-width of the bias interval.
        output_scale: ``w2 ~ N(0, output_scale^2 / width)``.

    Example:
        >>> from implicit_bias.models.init import Uniform
        >>> float(Uniform(a_w=1.0, a_b=2.0).density(0.5, -1.0))  # 1 / (2 a_w * 2 a_b)
        0.125
    """

    a_w: float = eqx.field(default=1.0, converter=_to_float)
    a_b: float = eqx.field(default=1.0, converter=_to_float)

    def __check_init__(self):
        _check_positive("uniform init", a_w=self.a_w, a_b=self.a_b, output_scale=self.output_scale)

    def sample_hidden(self, key, n, input_dim):
        kw, kb = jax.random.split(key)
        w1 = jax.random.uniform(kw, (n, input_dim), minval=-self.a_w, maxval=self.a_w)
        return w1, jax.random.uniform(kb, (n,), minval=-self.a_b, maxval=self.a_b)

    def density(self, w, b):
        return _box(w, self.a_w) * _box(b, self.a_b)


class BinaryUniform(AbstractInit):
    """``W`` uniform on ``{-1, 1}^d``, ``B ~ U(-a_b, a_b)`` independent (montufar2024, Thm 6.2).

    For ``d = 1``, ``zeta`` is constant on ``[-L, L]`` when ``a_b >= L``. ``W`` is discrete:
    ``density(w, b)`` is ``1/2 * 1/(2 a_b)`` for ``w in {-1, 1}``, ``|b| <= a_b`` (density w.r.t.
    counting measure on ``w_atoms = (-1, 1)`` times Lebesgue measure in ``b``), else 0, and
    ``zeta(x) = sum_{w = +-1} |w|^3 density(w, -w x)``.

    Args:
        a_b: half-width of the bias interval.
        output_scale: ``w2 ~ N(0, output_scale^2 / width)``.

    Example:
        >>> from implicit_bias.models.init import BinaryUniform
        >>> d = BinaryUniform(a_b=2.0)
        >>> float(sum(d.density(w, 0.3) for w in d.w_atoms))  # zeta(-0.3) = 2 * 1/2 * 1/4
        0.25
    """

    a_b: float = eqx.field(default=1.0, converter=_to_float)

    w_atoms: ClassVar[tuple[float, ...]] = (-1.0, 1.0)

    def __check_init__(self):
        _check_positive("binary-uniform init", a_b=self.a_b, output_scale=self.output_scale)

    def sample_hidden(self, key, n, input_dim):
        kw, kb = jax.random.split(key)
        w1 = jax.random.rademacher(kw, (n, input_dim), dtype=jnp.float64)
        return w1, jax.random.uniform(kb, (n,), minval=-self.a_b, maxval=self.a_b)

    def density(self, w, b):
        return 0.5 * (np.abs(np.asarray(w, dtype=np.float64)) == 1.0) * _box(b, self.a_b)


@functools.lru_cache(maxsize=64)
def _breakpoint_table(fn, lo: float, hi: float, n: int):
    x = np.linspace(lo, hi, n)
    try:
        p = np.broadcast_to(np.asarray(fn(x), dtype=np.float64), x.shape)
    except Exception as e:  # a callable of the wrong kind: say so, naming the argument
        raise ValueError(f"breakpoints init: breakpoint_density must map an array x (n,) to densities (n,); calling it failed with {type(e).__name__}: {e}") from None
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("breakpoints init: breakpoint_density must be finite and >= 0 on breakpoint_range")
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (p[1:] + p[:-1]) * np.diff(x))])
    if not cdf[-1] > 0:
        raise ValueError(f"breakpoints init: breakpoint_density has zero mass on breakpoint_range {(lo, hi)}")
    out = (x, p / cdf[-1], cdf / cdf[-1])
    for a in out:
        a.setflags(write=False)
    return out


class Breakpoints(AbstractInit):
    """Breakpoints ``C = -B/W`` with a chosen density ``p_C``, ``W`` independent (montufar2024, Prop 7).

    ``W ~ N(0, sigma_w^2)``, ``C ~ p_C`` on ``breakpoint_range = (lo, hi)``, ``B = -W C``; then
    ``p_{W,B}(w, b) = p_W(w) p_C(-b/w) / |w|`` and ``zeta(x) = E[W^2] p_C(x) = sigma_w^2 p_C(x)``.
    To realise a target curvature penalty ``rho(x)`` (``1/zeta``, up to a constant) take
    ``p_C = 1/rho`` (normalised here; Prop 7 needs ``int 1/rho < inf``). Univariate only
    (``input_dim = 1``).

    ``C`` is sampled by inverse CDF on a grid of ``n_grid`` points over ``[lo, hi]`` (trapezoid
    CDF, linear interpolation of its inverse): the sampled law has the density ``p_C`` averaged
    over each grid cell, an error ``O(((hi - lo)/n_grid)^2)`` for smooth ``p_C``. ``density``
    uses the same normalised, linearly interpolated ``p_C`` (0 outside ``[lo, hi]``).

    Args:
        breakpoint_density: ``p_C``, a vectorised callable ``x (n,) -> (n,)``, ``>= 0``, with
            positive mass on ``breakpoint_range``; it need not be normalised.
        breakpoint_range: the interval ``(lo, hi)`` that carries ``p_C``.
        sigma_w: standard deviation of ``W``.
        output_scale: ``w2 ~ N(0, output_scale^2 / width)``.
        n_grid: grid size for the inverse CDF.

    Raises:
        ValueError: missing or invalid ``p_C`` (negative, NaN, zero mass), ``lo >= hi``, or
            sampling with ``input_dim != 1``.

    Example:
        >>> import jax, numpy as np
        >>> from implicit_bias.models.init import Breakpoints
        >>> dist = Breakpoints(lambda x: np.ones_like(x), breakpoint_range=(-1.0, 1.0))
        >>> p = dist.sample(jax.random.key(0), width=1000)
        >>> c = -p["b1"] / p["w1"][:, 0]
        >>> bool(np.all(np.abs(c) <= 1.0))
        True
    """

    breakpoint_density: Callable | None = eqx.field(default=None, static=True)
    breakpoint_range: tuple[float, float] = eqx.field(default=(-1.0, 1.0), static=True, converter=to_range)
    sigma_w: float = eqx.field(default=1.0, converter=_to_float)
    n_grid: int = eqx.field(default=4097, static=True)

    def __check_init__(self):
        _check_positive("breakpoints init", sigma_w=self.sigma_w, output_scale=self.output_scale)
        if self.breakpoint_density is None or not callable(self.breakpoint_density):
            raise ValueError(
                "breakpoints init needs breakpoint_density: a vectorised callable p_C(x) >= 0 on breakpoint_range "
                f"(montufar2024 Prop 7: p_C proportional to 1/rho gives curvature penalty rho); received {self.breakpoint_density!r}"
            )
        if len(self.breakpoint_range) != 2 or not all(map(math.isfinite, self.breakpoint_range)) or not self.breakpoint_range[0] < self.breakpoint_range[1]:
            raise ValueError(f"breakpoints init: breakpoint_range must be a finite interval (lo, hi) with lo < hi; received {self.breakpoint_range!r}")
        if not isinstance(self.n_grid, int) or self.n_grid < 3:
            raise ValueError(f"breakpoints init: n_grid must be an integer >= 3; received {self.n_grid!r}")
        self._table()  # validate p_C now, not at the first sample

    def _table(self):
        """Grid ``x``, normalised ``p_C(x)`` and CDF on ``breakpoint_range`` (cached)."""
        args = (self.breakpoint_density, *self.breakpoint_range, self.n_grid)
        try:
            hash(args)
        except TypeError:  # an unhashable callable: compute without the cache
            return _breakpoint_table.__wrapped__(*args)
        return _breakpoint_table(*args)

    def breakpoint_pdf(self, c) -> np.ndarray:
        """The normalised ``p_C(c)`` used by ``sample`` and ``density`` (0 outside the range)."""
        x, p, _ = self._table()
        return np.interp(np.asarray(c, dtype=np.float64), x, p, left=0.0, right=0.0)

    def sample_hidden(self, key, n, input_dim):
        if input_dim != 1:
            raise ValueError(f"breakpoints init places breakpoints C = -B/W of univariate units: input_dim must be 1; received {input_dim}")
        x, _, cdf = self._table()
        kw, kc = jax.random.split(key)
        w = self.sigma_w * jax.random.normal(kw, (n,))
        c = jnp.interp(jax.random.uniform(kc, (n,)), jnp.asarray(cdf), jnp.asarray(x))
        return w[:, None], -w * c

    def density(self, w, b):
        w, b = np.broadcast_arrays(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
        nz = w != 0  # W = 0 carries no mass (and no breakpoint)
        ws = np.where(nz, w, 1.0)
        return np.where(nz, _normal_pdf(w, self.sigma_w) * self.breakpoint_pdf(-b / ws) / np.abs(ws), 0.0)


class PyTorchUniform(AbstractInit):
    """PyTorch's default ``nn.Linear`` initialization, used for mulayoff2021 experiments.

    ``W ~ U(-1/sqrt(d), 1/sqrt(d))^d`` and ``B ~ U(-1/sqrt(d), 1/sqrt(d))`` (hidden layer,
    fan-in ``d``); ``w2, b2 ~ U(-s/sqrt(width), s/sqrt(width))`` with ``s = output_scale``
    (output layer, fan-in ``width``).

    Warning:
        mulayoff2021 does not state its initialization in the main text (it defers details to
        its Appendix I, not in our copy); this PyTorch default is our documented stand-in.
        Figures there are trained from one fixed initialization, so only qualitative agreement
        is expected.

    Args:
        output_scale: multiplies the output-layer bound ``1/sqrt(width)``.

    Example:
        >>> from implicit_bias.models.init import PyTorchUniform
        >>> float(PyTorchUniform().density(0.2, -0.9))  # 1/(2 * 2) on [-1, 1]^2
        0.25
    """


    def __check_init__(self):
        _check_positive("pytorch init", output_scale=self.output_scale)

    def sample_hidden(self, key, n, input_dim):
        a = 1.0 / math.sqrt(input_dim)
        kw, kb = jax.random.split(key)
        return jax.random.uniform(kw, (n, input_dim), minval=-a, maxval=a), jax.random.uniform(kb, (n,), minval=-a, maxval=a)

    def sample_output(self, key, n, width):
        a = self.output_scale / math.sqrt(width)
        kw, kb = jax.random.split(key)
        return jax.random.uniform(kw, (n,), minval=-a, maxval=a), jax.random.uniform(kb, (), minval=-a, maxval=a)

    def density(self, w, b):
        return _box(w, 1.0) * _box(b, 1.0)


INITS: dict[str, type[AbstractInit]] = {
    "gaussian": Gaussian,
    "uniform": Uniform,
    "binary-uniform": BinaryUniform,
    "breakpoints": Breakpoints,
    "pytorch": PyTorchUniform,
}


def _resolve(name) -> str:
    key = str(name).strip().lower().replace("_", "-")
    if key not in INITS:
        close = difflib.get_close_matches(key, list(INITS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown initialization {name!r}{hint} (available: {', '.join(INITS)})")
    return key


def hyperparameters(name: str) -> tuple[str, ...]:
    """Names of the hyperparameters the distribution ``name`` takes (its constructor arguments).

    Example:
        >>> from implicit_bias.models.init import hyperparameters
        >>> hyperparameters("uniform")
        ('a_w', 'a_b', 'output_scale')
    """
    fields = sorted(dataclasses.fields(INITS[_resolve(name)]), key=lambda f: f.kw_only)  # positional first
    return tuple(f.name for f in fields if f.init)


def get_init(name: str | AbstractInit, **kw) -> AbstractInit:
    """The distribution called ``name`` (see the module table) with hyperparameters ``kw``.

    Names are case-insensitive and ``_`` equals ``-`` (``binary_uniform``). An instance is
    returned unchanged.

    Raises:
        ValueError: an unknown name (with a did-you-mean hint), a hyperparameter the distribution
            does not take (naming the ones it does), or an invalid value.

    Example:
        >>> from implicit_bias.models.init import get_init
        >>> get_init("binary_uniform", a_b=2.0).a_b
        2.0
    """
    if isinstance(name, AbstractInit):
        if kw:
            raise ValueError(f"get_init: hyperparameters {sorted(kw)} given with a distribution instance; set them on the instance")
        return name
    key = _resolve(name)
    allowed = hyperparameters(key)
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise ValueError(f"initialization {key!r} does not take {unknown}; its hyperparameters are {list(allowed)}")
    return INITS[key](**kw)
