"""Deep matrix factorization ``W = W_L ... W_1`` and its symmetric PSD variant ``W = U U^T``."""

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

__all__ = ["MatrixFactorization"]

_INITS = ("gaussian", "identity", "balanced")
_OBSERVATIONS = ("auto", "completion", "sensing")


def _scale(x):
    return x if isinstance(x, jax.core.Tracer) else np.asarray(x, dtype=np.float64)


class MatrixFactorization(AbstractModel):
    r"""Deep matrix factorization for matrix sensing and completion.

    ``W = W_L W_{L-1} ... W_1`` with parameters ``W1 (k, n)``, ``Wj (k, k)`` (``1 < j < L``),
    ``WL (m, k)`` (``W1 (m, n)`` when ``L = 1``); the inner width ``k`` defaults to
    ``min(m, n)``, so the rank of ``W`` is not limited by the parametrization (full width).
    With ``symmetric=True`` the model is the PSD factorization ``W = U U^T``, ``U (n, n)``
    (``m = n``, depth 2), of gunasekar2017.

    Observations (:mod:`implicit_bias.matrix_data`): a row ``x`` of ``X`` is either an index
    pair ``(i, j)`` (``X (N, 2)``, completion: ``f(x) = W[i, j]``) or a row-major flattened
    sensing matrix (``X (N, m n)``: ``f(x) = <A, W> = x . vec(W)``). ``observations="auto"``
    decides by the number of columns of ``X`` (ambiguous only when ``m n = 2``: then set
    ``observations``).

    Initializations (``initialization``; ``scale > 0``; the field cannot be called ``init``,
    which is the model's ``init(key)`` method):

    - ``"gaussian"``: ``W_j = c G_j`` with iid ``N(0, 1)`` entries ``G_j`` and one common
      ``c > 0`` chosen so that ``||W(0)||_F = scale`` exactly (symmetric: ``U = c G``,
      ``||U U^T||_F = scale``). Not balanced.
    - ``"identity"``: every factor ``scale * I`` (rectangular identity ``eye(rows, cols)``):
      ``W(0) = scale^L eye(m, n)``; symmetric: ``U(0) = scale * I``, ``W(0) = scale^2 I``
      (gunasekar2017, Thm 1). Balanced when square.
    - ``"balanced"``: ``W(0) = scale * G / ||G||_F`` (``G`` Gaussian ``(m, n)``) split by its SVD
      ``P S R^T``: ``W1 = S^{1/L} R^T``, ``Wj = S^{1/L}``, ``WL = P S^{1/L}`` (zero-padded to
      width ``k``), so that ``W_j W_j^T = W_{j+1}^T W_{j+1}`` exactly (Arora et al. 2018) and
      ``||W(0)||_F = scale``.

    ``init_params`` (``--init FILE.npz``) sets the parameters by name and overrides the above.

    Args:
        shape: ``(m, n)``, the shape of ``W``.
        depth: number of factors ``L >= 1`` (2 for ``symmetric``).
        scale: initialization scale (see the table); may be traced (vmap over scales).
        initialization: ``"gaussian"``, ``"identity"`` or ``"balanced"``; default ``"identity"`` for the
            symmetric model, ``"gaussian"`` otherwise.
        symmetric: the PSD model ``W = U U^T``.
        width: inner width ``k`` (default ``min(m, n)``).
        observations: ``"auto"``, ``"completion"`` or ``"sensing"``.
        init_params: explicit initial parameters.

    Raises:
        ValueError: bad shape, depth, width, scale, initialization name; ``symmetric`` with ``m != n`` or
            depth other than 2.

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.models import MatrixFactorization
        >>> m = MatrixFactorization((3, 3), depth=2, scale=0.5, symmetric=True)
        >>> p = m.init(0)
        >>> m.matrix(p)[0].tolist()                               # U(0) U(0)^T = 0.25 I
        [0.25, 0.0, 0.0]
        >>> m.apply(p, jnp.array([[0.0, 0.0], [1.0, 2.0]])).tolist()   # entries (0,0), (1,2)
        [0.25, 0.0]
    """

    shape: tuple = eqx.field(static=True, converter=lambda s: tuple(int(v) for v in np.asarray(s).reshape(-1)))
    depth: int = eqx.field(static=True, default=2)
    scale: np.ndarray = eqx.field(default=1e-3, converter=_scale)
    initialization: str | None = eqx.field(static=True, default=None)
    symmetric: bool = eqx.field(static=True, default=False)
    width: int | None = eqx.field(static=True, default=None)
    observations: str = eqx.field(static=True, default="auto")
    init_params: dict | None = None

    has_predictor: ClassVar[bool] = True

    def __check_init__(self):
        s = self.shape
        if len(s) != 2 or min(s) < 1:
            raise ValueError(f"MatrixFactorization: shape must be two positive integers (m, n); received {self.shape!r}")
        if not isinstance(self.depth, (int, np.integer)) or isinstance(self.depth, bool) or self.depth < 1:
            raise ValueError(f"MatrixFactorization: depth must be an integer >= 1; received {self.depth!r}")
        if self.width is not None and not (isinstance(self.width, (int, np.integer)) and self.width >= min(s)):
            raise ValueError(f"MatrixFactorization: width must be an integer >= min(m, n) = {min(s)} (full width); received {self.width!r}")
        if self.initialization is not None and self.initialization not in _INITS:
            raise ValueError(f"MatrixFactorization: unknown initialization {self.initialization!r}; use one of {', '.join(_INITS)}")
        if self.observations not in _OBSERVATIONS:
            raise ValueError(f"MatrixFactorization: observations must be one of {', '.join(_OBSERVATIONS)}; received {self.observations!r}")
        if self.symmetric and (s[0] != s[1] or self.depth != 2):
            raise ValueError(f"MatrixFactorization: symmetric=True is W = U U^T: it needs a square shape and depth 2; received shape {s}, depth {self.depth}")
        if self.symmetric and self.initialization == "balanced":
            raise ValueError("MatrixFactorization: initialization='balanced' is for the non-symmetric factorization (U U^T is balanced by construction); use 'identity' or 'gaussian'")
        if not isinstance(self.scale, jax.core.Tracer) and self.init_params is None:
            sc = np.asarray(self.scale)
            if sc.shape != () or not (math.isfinite(float(sc)) and float(sc) > 0):
                raise ValueError(f"MatrixFactorization: scale must be a finite number > 0; received {self.scale!r}")

    # ------------------------------------------------------------------ shapes

    @property
    def k(self) -> int:
        """Inner width ``k``."""
        return int(self.width) if self.width is not None else min(self.shape)

    @property
    def init_name(self) -> str:
        """The initialization in use (``initialization`` or its default)."""
        return self.initialization if self.initialization is not None else ("identity" if self.symmetric else "gaussian")

    @property
    def dim(self) -> int | None:
        """Columns of ``X`` the model expects: 2 (completion), ``m n`` (sensing), ``None`` (auto)."""
        return {"auto": None, "completion": 2, "sensing": self.shape[0] * self.shape[1]}[self.observations]

    def param_shapes(self):
        m, n = self.shape
        if self.symmetric:
            return {"U": (n, n)}
        L, k = self.depth, self.k
        if L == 1:
            return {"W1": (m, n)}
        out = {"W1": (k, n)}
        out.update({f"W{j}": (k, k) for j in range(2, L)})
        out[f"W{L}"] = (m, k)
        return out

    # ------------------------------------------------------------------ init

    def init(self, key=None) -> dict:
        """Initial parameters (see the class docstring's table).

        Args:
            key: a ``jax.random`` key or an integer seed (unused by ``"identity"`` and
                ``init_params``).
        """
        return _init(self, key)

    def apply(self, params, X):
        """Outputs ``(N,)``: ``W[i, j]`` for index rows ``X (N, 2)``, ``<A, W>`` for ``X (N, m n)``."""
        X = jnp.asarray(X)
        m, n = self.shape
        kind = self.observations
        if kind == "auto":
            if m * n == 2:
                raise ValueError("MatrixFactorization: with m n = 2, X (N, 2) could be entries or sensing matrices; set observations='completion' or 'sensing'")
            kind = "completion" if X.shape[-1] == 2 else "sensing"
        W = self.matrix(params)
        if kind == "completion":
            if X.ndim != 2 or X.shape[1] != 2:
                raise ValueError(f"MatrixFactorization.apply: completion inputs must be index pairs X (N, 2); received {X.shape}")
            idx = X.astype(jnp.int32)
            return W[idx[:, 0], idx[:, 1]]
        if X.ndim != 2 or X.shape[1] != m * n:
            raise ValueError(f"MatrixFactorization.apply: X must be index pairs (N, 2) or flattened {m}x{n} sensing matrices (N, {m * n}); received {X.shape}")
        return X @ W.reshape(-1)

    def matrix(self, params):
        """The end-to-end matrix ``W = W_L ... W_1`` (or ``U U^T``), shape ``(m, n)``."""
        if self.symmetric:
            U = params["U"]
            return U @ U.T
        W = params["W1"]
        for j in range(2, self.depth + 1):
            W = params[f"W{j}"] @ W
        return W

    def predictor(self, params):
        """``vec(W)``: the end-to-end matrix flattened row-major, shape ``(m n,)``; for sensing
        data it is the equivalent linear predictor (``f(x) = x . vec(W)``). Reshape with
        ``.reshape(model.shape)`` (or use :meth:`matrix`)."""
        return self.matrix(params).reshape(-1)

    def balancedness(self, params) -> list:
        """``D_j = W_j W_j^T - W_{j+1}^T W_{j+1}`` for ``j = 1..L-1`` (each ``(k, k)``),
        conserved by gradient flow (Arora et al. 2018; vardi2022 §6); ``[]`` for the
        symmetric model and depth 1."""
        if self.symmetric:
            return []
        return [params[f"W{j}"] @ params[f"W{j}"].T - params[f"W{j + 1}"].T @ params[f"W{j + 1}"] for j in range(1, self.depth)]

    @property
    def homogeneity(self):
        return 2 if self.symmetric else self.depth


def _init(self: MatrixFactorization, key) -> dict:
    if self.init_params is not None:
        return check_params(self, dict(self.init_params))
    m, n = self.shape
    L, k = self.depth, self.k
    scale = jnp.asarray(self.scale, dtype=jnp.float64)
    shapes = self.param_shapes()
    name = self.init_name
    if name == "identity":
        return {p: scale * jnp.eye(*s) for p, s in shapes.items()}
    key = as_key(key)
    if self.symmetric:
        G = jax.random.normal(key, (n, n))
        return {"U": jnp.sqrt(scale / jnp.linalg.norm(G @ G.T)) * G}
    if name == "gaussian":
        G = {p: jax.random.normal(jax.random.fold_in(key, j), s) for j, (p, s) in enumerate(shapes.items())}
        E = self.matrix(G)
        c = (scale / jnp.linalg.norm(E)) ** (1.0 / L)
        return {p: c * g for p, g in G.items()}
    G = jax.random.normal(key, (m, n))
    W0 = scale * G / jnp.linalg.norm(G)
    if L == 1:
        return {"W1": W0}
    P, S, Rt = jnp.linalg.svd(W0, full_matrices=False)  # P (m, p), S (p,), Rt (p, n)
    p = S.shape[0]
    r = S ** (1.0 / L)
    pad = jnp.zeros((k, k)).at[:p, :p].set(jnp.diag(r))
    out = {"W1": jnp.zeros((k, n)).at[:p, :].set(r[:, None] * Rt)}
    out.update({f"W{j}": pad for j in range(2, L)})
    out[f"W{L}"] = jnp.zeros((m, k)).at[:, :p].set(P * r[None, :])
    return out
