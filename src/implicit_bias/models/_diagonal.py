"""Diagonal linear networks: ``x -> (u_+^D - u_-^D)^T x`` (tied) or products of layers (untied)."""

from __future__ import annotations

from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from ._base import AbstractModel, check_params

__all__ = ["Diagonal"]


class Diagonal(AbstractModel):
    """Depth-D diagonal linear network, linear in ``x`` with predictor ``w(params)``.

    - tied (``tied=True``): ``w = u_plus^D - u_minus^D`` with params ``u_plus (d,)``,
      ``u_minus (d,)`` (Woodworth et al. 2020; moroshko2020 eq. (2));
    - untied (``tied=False``): ``w = prod_l u_plus[l] - prod_l u_minus[l]`` with params
      ``u_plus (D, d)``, ``u_minus (D, d)`` (azulay2021 §4; ``D = 2`` is ``u∘v``).

    Initialisation (DESIGN.md model table), unbiased (``w(0) = 0``):

    - tied: ``u_plus(0) = u_minus(0) = scale`` (the effective scale is ``scale^D``);
    - untied, ``D = 2``: azulay2021 §7.1 with ``u = u_plus[0]``, ``v = u_plus[1]``:
      ``scale = alpha = |u||v|``, ``shape = s = (|v|/|u| - 1)/(|v|/|u| + 1)``, so
      ``|u| = sqrt(alpha (1-s)/(1+s))``, ``|v| = sqrt(alpha (1+s)/(1-s))``; ``u_minus(0) = u_plus(0)``;
    - untied, ``D > 2``: every layer ``scale^{1/D}`` (``shape`` must be 0);
    - ``init_params``: any explicit parameters by name (overrides scale and shape).

    ``scale`` and ``shape`` may be scalars or per-coordinate vectors ``(d,)``.

    Args:
        dim: input dimension ``d``.
        depth: ``D >= 1``.
        tied: tied (``u^D``) or untied (one vector per layer) parametrization.
        scale: initialization scale as above (scalar or ``(d,)``).
        shape: initialization shape as above (scalar or ``(d,)``; must be 0 unless untied with ``D = 2``).
        init_params: explicit initial parameters ``{"u_plus", "u_minus"}``.
        positive: if True the model is ``w = u_plus^D`` only (``u_minus`` fixed at 0): the
            reparametrization ``w = u∘u`` of montufar2024 when ``D = 2``.

    Example:
        >>> import jax
        >>> from implicit_bias.models import Diagonal
        >>> m = Diagonal(4, depth=2, scale=0.1)
        >>> m.predictor(m.init(jax.random.key(0))).tolist()
        [0.0, 0.0, 0.0, 0.0]
    """

    dim: int = eqx.field(static=True)
    depth: int = eqx.field(static=True, default=2)
    tied: bool = eqx.field(static=True, default=True)
    # numpy arrays, so that jit treats them as data (no recompilation per scale value)
    scale: np.ndarray = eqx.field(default=1.0, converter=lambda x: np.asarray(x, dtype=np.float64))
    shape: np.ndarray = eqx.field(default=0.0, converter=lambda x: np.asarray(x, dtype=np.float64))
    init_params: dict | None = None
    positive: bool = eqx.field(static=True, default=False)

    has_predictor: ClassVar[bool] = True

    def __check_init__(self):
        if not isinstance(self.dim, int) or self.dim < 1:
            raise ValueError(f"Diagonal: dim must be a positive integer; received {self.dim!r}")
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"Diagonal: depth must be a positive integer; received {self.depth!r}")
        if self.init_params is None:
            sc = np.asarray(self.scale, dtype=float)
            sh = np.asarray(self.shape, dtype=float)
            if not np.all(sc > 0):
                raise ValueError(f"Diagonal: scale must be > 0; received {self.scale!r}")
            if not np.all(np.abs(sh) < 1):
                raise ValueError(f"Diagonal: shape s must lie in (-1, 1); received {self.shape!r}")
            if (self.tied or self.depth != 2) and np.any(sh != 0):
                raise ValueError("Diagonal: shape is defined for the untied depth-2 model only (azulay2021 §7.1); use --untied --depth 2 or shape 0")

    def param_shapes(self):
        s = (self.dim,) if self.tied else (self.depth, self.dim)
        return {"u_plus": s, "u_minus": s}

    def init(self, key=None):
        if self.init_params is not None:
            return check_params(self, dict(self.init_params))
        d, D = self.dim, self.depth
        a = jnp.broadcast_to(jnp.asarray(self.scale, dtype=jnp.float64), (d,))
        if self.tied:
            u = a
        elif D == 2:
            s = jnp.broadcast_to(jnp.asarray(self.shape, dtype=jnp.float64), (d,))
            r = (1.0 + s) / (1.0 - s)  # |v| / |u|
            u = jnp.stack([jnp.sqrt(a / r), jnp.sqrt(a * r)])
        else:
            u = jnp.broadcast_to(a ** (1.0 / D), (D, d))
        um = jnp.zeros_like(u) if self.positive else u
        return {"u_plus": jnp.asarray(u), "u_minus": jnp.asarray(um)}

    def _layer_product(self, u):
        if self.tied:
            return u**self.depth
        return jnp.prod(u, axis=0)

    def predictor(self, params):
        w = self._layer_product(params["u_plus"])
        if self.positive:
            return w
        return w - self._layer_product(params["u_minus"])

    def apply(self, params, X):
        return X @ self.predictor(params)

    @property
    def homogeneity(self):
        return self.depth

    @property
    def input_dim(self) -> int:
        """Input dimension ``d`` (``dim``)."""
        return self.dim

    @property
    def has_flow_map(self) -> bool:
        """Whether :meth:`flow_params` has a closed form (tied any depth; untied depth <= 2)."""
        return self.tied or self.depth <= 2

    def flow_params(self, params0: dict, z) -> dict:
        r"""Closed-form gradient flow: the parameters as a function of ``z = X^T nu``.

        For any loss of the outputs, ``L(theta) = ell(X w(theta))``, write
        ``grad_w L = X^T g`` with ``g = grad_f ell (N,)`` and ``nu(t) = -int_0^t g``, so that
        ``z(t) = X^T nu(t) (d,)``. Each coordinate's flow then integrates in closed form
        (``sigma = sign u(0)``, ``z' = -X^T g``):

        - tied, ``u_+' = D u_+^{D-1} z'`` and ``u_-' = -D u_-^{D-1} z'``:
          ``D = 1``: ``u_± = u_±(0) ± z``; ``D = 2``: ``u_± = u_±(0) e^{±2z}``;
          ``D > 2``: ``|u_±|^{2-D} = |u_±(0)|^{2-D} ∓ D(D-2) sigma^D z`` (from
          ``(|u|^{2-D})' = (2-D)|u|^{1-D}|u|'``), valid until the right side reaches 0;
        - untied ``D = 2`` (``u, v = u_plus``; ``ū, v̄ = u_minus``), ``u' = v z'``,
          ``v' = u z'`` (and ``-z'`` for the minus pair): ``u = u(0) cosh z + v(0) sinh z``,
          ``v = v(0) cosh z + u(0) sinh z``, ``ū = ū(0) cosh z - v̄(0) sinh z``,
          ``v̄ = v̄(0) cosh z - ū(0) sinh z``.

        So the flow in ``P`` parameters reduces to the ``N``-dimensional ODE
        ``nu' = -grad_f ell(X w(z)),  z = X^T nu`` (:class:`~implicit_bias.algorithms.ReducedFlow`).
        Woodworth et al. (2020) and azulay2021 §4 (eq. (7)-(9)) use this form for ``D = 2``.

        Args:
            params0: the initial parameters (``theta(0)``).
            z: ``(d,)``, the dual coordinate ``X^T nu``.

        Returns:
            The parameters ``theta`` on the flow with ``X^T nu = z``.

        Raises:
            NotImplementedError: untied depth > 2 (no closed form).

        Example:
            >>> import jax.numpy as jnp
            >>> from implicit_bias.models import Diagonal
            >>> m = Diagonal(2, depth=2, scale=0.5)
            >>> m.predictor(m.flow_params(m.init(), jnp.array([0.0, 0.25]))).round(6).tolist()
            [0.0, 0.587601]
        """
        z = jnp.asarray(z)
        up, um = params0["u_plus"], params0["u_minus"]
        D = self.depth
        if D == 1:
            return {"u_plus": up + z, "u_minus": um - z}
        if not self.tied:
            if D != 2:
                raise NotImplementedError("the untied diagonal flow has a closed form for depth <= 2 only; use GradientFlow")
            c, s = jnp.cosh(z), jnp.sinh(z)
            plus = jnp.stack([up[0] * c + up[1] * s, up[1] * c + up[0] * s])
            minus = jnp.stack([um[0] * c - um[1] * s, um[1] * c - um[0] * s])
            return {"u_plus": plus, "u_minus": minus}
        if D == 2:
            return {"u_plus": up * jnp.exp(2 * z), "u_minus": um * jnp.exp(-2 * z)}

        def power(u0, zz):
            sig = jnp.sign(u0)
            a = jnp.abs(u0)
            safe = jnp.where(a > 0, a, 1.0)
            base = safe ** (2 - D) - D * (D - 2) * sig**D * zz
            return jnp.where(a > 0, sig * base ** (-1.0 / (D - 2)), 0.0)

        return {"u_plus": power(up, z), "u_minus": power(um, -z)}

    def flow_predictor(self, params0: dict, z):
        r"""``w(theta(z))`` on the closed-form flow, without cancellation.

        The same function as ``predictor(flow_params(params0, z))``, but written so that the
        difference of the ``+`` and ``-`` parts is never formed from two large, nearly equal
        numbers. In the kernel regime (large scale ``alpha``) ``w`` is tiny next to
        ``u_+^D ~ alpha^D``, and the naive difference loses ``log10(alpha^D/|w|)`` digits
        (e.g. 8 of 16 at ``alpha = 1e4``, ``D = 2``, ``|w| ~ 1``). Formulas
        (``A_± = u_±(0)^2`` etc.):

        - tied ``D = 2``: ``w = A_+ e^{4z} - A_- e^{-4z} = (A_+ - A_-) cosh 4z + (A_+ + A_-) sinh 4z``;
        - untied ``D = 2``: ``u v = u_0 v_0 cosh 2z + (u_0^2 + v_0^2)/2 sinh 2z`` and
          ``ū v̄ = ū_0 v̄_0 cosh 2z - (ū_0^2 + v̄_0^2)/2 sinh 2z``, so
          ``w = (u_0 v_0 - ū_0 v̄_0) cosh 2z + (u_0^2 + v_0^2 + ū_0^2 + v̄_0^2)/2 sinh 2z``;
        - tied ``D > 2``: ``u_±^D = sigma_±^D e^{ell_±}``, ``ell_± = -p log b_±``, ``p = D/(D-2)``,
          ``b_±`` the bases of :meth:`flow_params`; for equal signs
          ``w = sigma^D 2 e^{(ell_+ + ell_-)/2} sinh((ell_+ - ell_-)/2)`` with
          ``ell_+ - ell_- = -p log1p((b_+ - b_-)/b_-)`` and ``b_+ - b_-`` formed from the inputs.
          (Unbiased ``u_±(0) = a``: ``w = 2 a^D (1 - x^2)^{-p/2} sinh(p atanh x)``,
          ``x = D(D-2) a^{D-2} z``.)

        Args:
            params0: the initial parameters.
            z: ``(d,)``, the dual coordinate ``X^T nu``.

        Returns:
            ``(d,)``, the predictor.

        Example:
            >>> import jax.numpy as jnp
            >>> from implicit_bias.models import Diagonal
            >>> m = Diagonal(1, depth=2, scale=1e4)
            >>> float(m.flow_predictor(m.init(), jnp.array([1e-9])))  # 2 alpha^2 sinh(4z); naive: 0.79999998
            0.8
        """
        z = jnp.asarray(z)
        up, um = params0["u_plus"], params0["u_minus"]
        D = self.depth
        if self.positive or D == 1:
            return self.predictor(self.flow_params(params0, z))
        if not self.tied:
            if D != 2:
                raise NotImplementedError("the untied diagonal flow has a closed form for depth <= 2 only; use GradientFlow")
            a = up[0] * up[1] - um[0] * um[1]
            b = 0.5 * (up[0] ** 2 + up[1] ** 2 + um[0] ** 2 + um[1] ** 2)
            return a * jnp.cosh(2 * z) + b * jnp.sinh(2 * z)
        if D == 2:
            ap, am = up**2, um**2
            return (ap - am) * jnp.cosh(4 * z) + (ap + am) * jnp.sinh(4 * z)
        p = D / (D - 2)
        c = D * (D - 2)
        sp, sm = jnp.sign(up) ** D, jnp.sign(um) ** D
        ap, am = jnp.abs(up), jnp.abs(um)
        ip = jnp.where(ap > 0, ap, 1.0) ** (2 - D)
        im = jnp.where(am > 0, am, 1.0) ** (2 - D)
        bp = ip - c * sp * z
        bm = im + c * sm * z
        lp, lm = -p * jnp.log(bp), -p * jnp.log(bm)
        half = -0.5 * p * jnp.log1p(((ip - im) - c * (sp + sm) * z) / bm)
        same = 2.0 * jnp.exp(0.5 * (lp + lm)) * jnp.sinh(half)
        w = jnp.where(sp == sm, sp * same, sp * jnp.exp(lp) - sm * jnp.exp(lm))
        w = jnp.where(ap > 0, w, -sm * jnp.exp(lm))
        return jnp.where(am > 0, w, jnp.where(ap > 0, sp * jnp.exp(lp), 0.0))
