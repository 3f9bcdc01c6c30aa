r"""Full-width linear convolutional networks (Gunasekar et al. 2018b; vardi2022 §3.2).

Conventions (this package's; the paper's constants differ only by the normalisation of ``F``):

* the unitary DFT ``(F v)[m] = d^{-1/2} sum_n v[n] exp(-2 pi i m n / d)`` (``numpy.fft.fft(v,
  norm="ortho")``), so ``<F a, F b> = <a, b>`` (Parseval) with ``<u, v> = sum conj(u) v``;
* the circular convolution layer ``(w ⋆ h)[i] = d^{-1/2} sum_k w[k] h[(i + k) mod d]``;
* the network ``h_0 = x``, ``h_l = w_l ⋆ h_{l-1}`` (``l = 1..L-1``), ``f(x) = <w_L, h_{L-1}>``.

The constant. For real ``w``, ``sum_k w[k] exp(+2 pi i m k/d) = d^{1/2} conj((F w)[m])``, hence

    F(w ⋆ h)[m] = d^{-1} (d^{1/2} conj(F w)[m]) (d^{1/2} (F h)[m]) = conj(F w)[m] (F h)[m],

and by Parseval ``f(x) = <F w_L, F h_{L-1}> = sum_m conj(prod_{l=1}^{L} (F w_l)[m]) (F x)[m]``,
i.e. ``f(x) = <beta, x>`` with

    F beta = (F w_1) ⊙ (F w_2) ⊙ ... ⊙ (F w_L)        (constant 1, no conjugation).

Gunasekar et al. 2018b state ``F beta`` as the product of the layers' DFTs up to a power of
``sqrt(d)`` and a conjugation, both fixed by how the DFT and the convolution are normalised and
oriented; with the ``d^{-1/2}`` in the layer and the unitary ``F`` above the constant is exactly
1 (and with ``sum_k w[k] h[i - k]``, a convolution instead of a correlation, the factors would
be conjugated: ``F beta = conj(prod_{l<L} F w_l) ⊙ F w_L``). ``beta`` is real
(the product of DFTs of real vectors is Hermitian-symmetric), and ``beta`` is computed as
``F^{-1}`` of the product (``O(L d log d)``). Their theorem: gradient descent on an
exponential-tailed loss over separable data converges in direction to a first-order stationary
point of ``min ||F beta||_{2/L} s.t. y_n <beta, x_n> >= 1``; for ``L = 2`` (convex) the
``||F beta||_1`` max-margin predictor (:func:`implicit_bias.theory.linear_conv.dft_l1_max_margin`).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._base import AbstractModel, check_params
from .init import as_key

__all__ = ["LinearConv", "circular_layer"]


def circular_layer(w, h):
    """One full-width circular convolution layer ``(w ⋆ h)[i] = d^{-1/2} sum_k w[k] h[(i+k) mod d]``
    computed directly (no DFT): ``w (d,)``, ``h (..., d)`` -> ``(..., d)``. The reference route
    of :class:`LinearConv` (its tests compare it with the DFT route)."""
    w = jnp.asarray(w)
    d = w.shape[-1]
    idx = (jnp.arange(d)[:, None] + jnp.arange(d)[None, :]) % d  # [i, k] -> (i + k) mod d
    return jnp.einsum("k,...ik->...i", w, jnp.asarray(h)[..., idx]) / math.sqrt(d)


def _to_array(x):
    return np.asarray(x, dtype=np.float64)


class LinearConv(AbstractModel):
    r"""Linear convolutional network ``x -> <beta(theta), x>``: ``L - 1`` full-width circular 1-D
    convolution layers and a linear readout (Gunasekar et al. 2018b; vardi2022 §3.2).

    ``h_0 = x``, ``h_l = w_l ⋆ h_{l-1}`` with ``(w ⋆ h)[i] = d^{-1/2} sum_k w[k] h[(i+k) mod d]``
    (``l = 1..L-1``), ``f(x) = <w_L, h_{L-1}>``; the equivalent linear predictor ``beta`` has
    ``F beta = (F w_1) ⊙ ... ⊙ (F w_L)`` with ``F`` the unitary DFT (module docstring for the
    derivation of the constant). Parameters (DESIGN.md names): ``w1, ..., wL``, each ``(d,)``.
    Homogeneous of degree ``L`` in the parameters. ``depth=1`` is the linear model ``beta = w1``.

    Initialization (``init(key)``): ``init_params`` if given (``--init FILE.npz`` with
    ``w1..wL``); else i.i.d. ``w_l[k] ~ N(0, sigma^2)`` with ``sigma^2 = scale^{2/L} d^{-1/L}``.
    Then every ``(F w_l)[m]`` has ``E|.|^2 = sigma^2`` and, the layers being independent,
    ``E |(F beta)[m]|^2 = sigma^{2L} = scale^2 / d``, so ``E ||beta(0)||^2 = scale^2`` (the
    convention of :class:`~implicit_bias.models.FullyConnected`); ``scale -> 0`` is the regime
    of the theorem.

    Args:
        dim: input dimension ``d`` (the filter length: full width).
        depth: number of layers ``L >= 1`` (``L - 1`` convolutions and the readout).
        scale: initialization scale (``> 0``; see above).
        init_params: explicit initial parameters ``{"w1": (d,), ..., "wL": (d,)}``.

    Raises:
        ValueError: a non-positive ``dim``/``depth``, a bad ``scale``; wrong names or shapes in
            ``init_params`` (at ``init``), inputs of the wrong dimension (at ``apply``).

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.models import LinearConv
        >>> m = LinearConv(4, depth=2, init_params={"w1": jnp.array([1.0, 0, 0, 0]), "w2": jnp.array([0, 2.0, 0, 0])})
        >>> p = m.init()
        >>> [round(float(v), 12) for v in m.beta(p)]   # a delta filter shifts the readout
        [0.0, 1.0, 0.0, 0.0]
        >>> round(float(m.apply(p, jnp.array([[1.0, 2.0, 3.0, 4.0]]))[0]), 12)
        2.0
    """

    dim: int = eqx.field(static=True)
    depth: int = eqx.field(static=True, default=2)
    scale: np.ndarray = eqx.field(default=1.0, converter=_to_array)
    init_params: dict | None = None

    has_predictor = True

    def __check_init__(self):
        for name in ("dim", "depth"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1):
                raise ValueError(f"LinearConv: {name} must be a positive integer; received {v!r}")
        sc = np.asarray(self.scale, dtype=float)
        if self.init_params is None and (sc.shape != () or not (math.isfinite(float(sc)) and float(sc) > 0)):
            raise ValueError(f"LinearConv: scale must be a finite number > 0; received {self.scale!r}")

    def param_shapes(self):
        return {f"w{j}": (self.dim,) for j in range(1, self.depth + 1)}

    def init(self, key=None):
        """``init_params`` if given, else Gaussian filters of variance ``scale^{2/L} d^{-1/L}``
        drawn from ``key`` (a ``jax.random`` key or an integer seed); see the class docstring."""
        if self.init_params is not None:
            return check_params(self, dict(self.init_params))
        key = as_key(key)
        L, d = self.depth, self.dim
        sigma = jnp.asarray(self.scale, dtype=jnp.float64) ** (1.0 / L) * d ** (-0.5 / L)
        return {f"w{j}": sigma * jax.random.normal(jax.random.fold_in(key, j), (d,)) for j in range(1, L + 1)}

    def beta_dft(self, params):
        """``F beta = (F w_1) ⊙ ... ⊙ (F w_L)`` (unitary DFT), complex, shape ``(d,)``."""
        out = jnp.fft.fft(params["w1"], norm="ortho")
        for j in range(2, self.depth + 1):
            out = out * jnp.fft.fft(params[f"w{j}"], norm="ortho")
        return out

    def beta(self, params):
        """The linear predictor ``beta = F^{-1}((F w_1) ⊙ ... ⊙ (F w_L))``, real, shape ``(d,)``."""
        return jnp.real(jnp.fft.ifft(self.beta_dft(params), norm="ortho"))

    def predictor(self, params):
        """The equivalent linear predictor ``beta`` (:meth:`beta`): ``f(x) = <beta, x>``."""
        return self.beta(params)

    def apply(self, params, X):
        """Outputs ``X beta``, shape ``(N,)``, on inputs ``X (N, d)``."""
        X = jnp.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"LinearConv.apply: X must have shape (N, {self.dim}) (the filter length is the input dimension); received {X.shape}")
        return X @ self.beta(params)

    @property
    def input_dim(self) -> int:
        """Input dimension ``d`` (``dim``)."""
        return self.dim

    @property
    def homogeneity(self) -> int:
        """``L``: each ``F w_l`` is linear in ``w_l``, so ``beta(c theta) = c^L beta(theta)``."""
        return self.depth
