r"""Sharpness: the top eigenvalue of the training loss's Hessian, from Hessian-vector products.

Three routes to ``lambda_max(Hess L(theta))``, the quantity that decides whether gradient
descent with step ``eta`` can stay at a minimum (``lambda_max <= 2/eta``; mulayoff2021 Lemma 1,
vardi2022 §5):

* :func:`hessian_matrix` + ``numpy.linalg.eigh``: the dense Hessian, for small models and as
  the oracle of the tests;
* :func:`lanczos` / :func:`top_hessian_eigenpair` / :func:`sharpness_batch`: Lanczos with full
  reorthogonalisation on Hessian-vector products (HVPs), pure JAX (jit- and vmap-able), never
  forming the Hessian. It returns the largest *algebraic* eigenvalue, its eigenvector, the
  residual ``||H v - lambda v||`` and the number of HVPs, and takes a warm-start vector (the
  previous eigenvector, when sharpness is tracked during training);
* :func:`power_iteration`: the baseline most sharpness tools use (PyHessian-style: stop when
  the Rayleigh quotient changes by less than ``1e-3`` relatively, at most 100 HVPs). It finds
  the eigenvalue of largest *magnitude*, which is not ``lambda_max`` when the spectrum is
  dominated by a negative eigenvalue (saddles, early training).

At minima where the loss is not twice differentiable (ReLU knots exactly on data points),
:func:`mode_hessians` returns the Hessians of the smooth "modes" of mulayoff2021 §2.2 and §4.2
and their top eigenvalues.

Flat parameter vectors follow ``jax.flatten_util.ravel_pytree`` (dict keys in sorted order:
``b1, b2, skip, w1, w2`` for a shallow ReLU net).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.scipy.linalg import eigh_tridiagonal

__all__ = [
    "sharpness",
    "hessian_matrix",
    "LanczosResult",
    "lanczos",
    "top_hessian_eigenpair",
    "sharpness_batch",
    "PowerIterationResult",
    "power_iteration",
    "ModeHessians",
    "mode_hessians",
]


def _flat_loss(objective, params):
    flat, unravel = ravel_pytree(params)
    return (lambda v: objective.value(unravel(v))), flat


@eqx.filter_jit
def _hessian_jit(objective, params):
    f, flat = _flat_loss(objective, params)
    return jax.hessian(f)(flat)


def hessian_matrix(objective, params) -> np.ndarray:
    """Dense Hessian of ``L`` w.r.t. the flattened parameters, shape ``(P, P)`` (small models only).

    Args:
        objective: an :class:`~implicit_bias.algorithms.Objective` (anything with
            ``.value(params)``).
        params: parameters (pytree); flattened with ``ravel_pytree``.

    Returns:
        ``Hess L(params)`` as a float64 NumPy array ``(P, P)``.
    """
    return np.asarray(_hessian_jit(objective, params))


# ----------------------------------------------------------------------------------------
# Lanczos (pure JAX)
# ----------------------------------------------------------------------------------------


class LanczosResult(NamedTuple):
    """Top eigenpair from :func:`lanczos` (a pytree: batched by ``vmap`` along a leading axis).

    Attributes:
        eigenvalue: the largest algebraic Ritz value, the Rayleigh quotient ``v^T H v``, ``()``.
        eigenvector: the unit Ritz vector ``v``, ``(P,)`` (flattened as ``ravel_pytree``).
        residual: ``||H v - eigenvalue * v||``, computed with one extra product, ``()``.
        num_hvps: number of matrix-vector (Hessian-vector) products used, including the one for
            the residual, ``()`` int.
        converged: ``residual <= max(rtol * |eigenvalue|, atol)``, ``()`` bool.
    """

    eigenvalue: jax.Array
    eigenvector: jax.Array
    residual: jax.Array
    num_hvps: jax.Array
    converged: jax.Array


def _top_ritz(alpha, beta, j, m):
    """Top eigenpair of the ``j x j`` Lanczos tridiagonal ``T_j``, padded to ``m x m``.

    The padded block is decoupled and its diagonal is set below the Gershgorin lower bound of
    ``T_j``, so the top eigenpair of the padded matrix is that of ``T_j`` (zeros appended). The
    eigenvalue comes from bisection (``eigh_tridiagonal``, ``O(m)`` per step), the eigenvector
    from three steps of inverse iteration with the shift just above it (tridiagonal solves):
    a dense ``eigh`` of ``T`` at every Lanczos step costs ~100x more on CPU for ``m = 100``.
    """
    if m == 1:  # T_1 = [alpha_0]
        return alpha[0], jnp.ones((1,), alpha.dtype)
    idx = jnp.arange(m)
    active = idx < j
    off_active = idx[:-1] < j - 1
    a = jnp.where(active, alpha, 0.0)
    b = jnp.where(off_active, beta[:-1], 0.0)
    scale = jnp.maximum(jnp.max(jnp.abs(a)), jnp.max(jnp.abs(b)))
    scale = jnp.where(scale > 0, scale, 1.0)
    a_min = jnp.min(jnp.where(active, alpha, jnp.inf))
    pad = a_min - 2.0 * jnp.max(jnp.abs(b)) - scale
    diag = jnp.where(active, alpha, pad)
    theta = eigh_tridiagonal(diag, b, eigvals_only=True, select="i", select_range=(m - 1, m - 1))[0]
    mu = theta + 1e-10 * scale
    dl = jnp.concatenate([jnp.zeros((1,), b.dtype), b])
    du = jnp.concatenate([b, jnp.zeros((1,), b.dtype)])
    s = jnp.where(active, 1.0 + 0.25 * jnp.cos(1.3 * idx), 0.0).astype(diag.dtype)
    for _ in range(3):
        s = jax.lax.linalg.tridiagonal_solve(dl, diag - mu, du, s[:, None])[:, 0]
        s = jnp.where(active, s, 0.0)
        s = s / jnp.linalg.norm(s)
    return theta, s


_CHUNK = 16  # the basis rows read by the reorthogonalisation grow in blocks of 16, 32, 64, ... rows
_FIRST_PHASE = 16  # Lanczos steps before the full basis is allocated (see _lanczos)


def _chunk_rows(m: int) -> list[int]:
    """Row counts ``r_c = min(16 * 2^c, m) + 1`` of the basis prefixes used for steps ``j < r_c - 1``."""
    rows, stop = [], _CHUNK
    while True:
        rows.append(min(stop, m) + 1)
        if stop >= m:
            return rows
        stop *= 2


def _lanczos(matvec, v0, max_iter: int, rtol, atol) -> LanczosResult:
    r"""Lanczos with full reorthogonalisation over a preallocated basis ``V`` (``(m+1, P)``), one ``lax.while_loop``.

    Step ``j`` (0-based): ``w = A v_j - alpha_j v_j - beta_{j-1} v_{j-1}``, then classical
    Gram-Schmidt against the basis done twice ("twice is enough"): ``w -= V_r^T (V_r w)``, two
    matrix-vector products with the leading ``r`` rows of ``V`` (rows beyond ``j`` are zero).
    ``r`` is the smallest of ``17, 33, 65, ..., m + 1`` above ``j`` (``lax.switch`` over static
    slices), so a step reads at most twice the rows it needs: ``O(j P)`` memory traffic, not
    ``O(m P)``. (Under ``vmap`` the switch evaluates every branch: ``O(m P)`` per step.) The top
    Ritz pair ``(theta, s)`` of ``T_{j+1}`` gives the residual bound
    ``||A V s - theta V s|| = beta_j |s_j|`` at no product; stop when it is
    ``<= max(rtol |theta|, atol)`` or on an invariant subspace (``beta_j ~ 0``).

    Two phases: the first ``_FIRST_PHASE`` steps run on a basis of that size; only if they do
    not converge is the full ``(m+1, P)`` basis allocated (``lax.cond``) and the same iteration
    continued in it. Zero-filling a fresh basis costs about as much as an HVP per 10 MB
    (measured: 18 ms for ``m = 100``, ``P = 1e5``; 54 ms for ``m = 300``), which dominated
    calls that converge in a few steps.
    """
    P = v0.shape[0]
    m = int(min(max_iter, P))
    dtype = v0.dtype
    v0 = v0 / jnp.linalg.norm(v0)
    m1 = min(m, _FIRST_PHASE)
    state = _lanczos_steps(matvec, (jnp.asarray(0), jnp.zeros((m1 + 1, P), dtype).at[0].set(v0), *(jnp.zeros((m1,), dtype) for _ in range(3)), jnp.asarray(False)), m1, rtol, atol)
    if m1 == m:
        return _lanczos_result(matvec, state, m, rtol, atol)

    def more(state):
        j, V, alpha, beta, s, done = state
        pad = lambda a: jnp.zeros((m,), dtype).at[:m1].set(a)  # noqa: E731
        big = (j, jnp.zeros((m + 1, P), dtype).at[: m1 + 1].set(V), pad(alpha), pad(beta), pad(s), done)
        return _lanczos_result(matvec, _lanczos_steps(matvec, big, m, rtol, atol), m, rtol, atol)

    return jax.lax.cond(state[5], lambda st: _lanczos_result(matvec, st, m1, rtol, atol), more, state)


def _lanczos_steps(matvec, state, m: int, rtol, atol):
    """Lanczos steps on the ``(m+1, P)`` basis of ``state = (j, V, alpha, beta, s, done)`` until
    ``j = m`` or ``done`` (see :func:`_lanczos`)."""
    dtype = state[1].dtype
    tiny = jnp.finfo(dtype).eps
    rows = _chunk_rows(m)
    bounds = jnp.asarray([r - 1 for r in rows])  # branch c serves steps j < bounds[c]

    def reorth_branch(r):
        def f(V, w):
            Vr = V[:r]
            w = w - (Vr @ w) @ Vr
            return w - (Vr @ w) @ Vr

        return f

    def cond(state):
        j, _, _, _, _, done = state
        return jnp.logical_and(j < m, jnp.logical_not(done))

    def body(state):
        j, V, alpha, beta, _, _ = state
        v = V[j]
        w = matvec(v)
        a = jnp.vdot(v, w)
        b_prev = jnp.where(j > 0, beta[j - 1], 0.0)
        w = w - a * v - b_prev * V[jnp.maximum(j - 1, 0)]
        w = jax.lax.switch(_branch(j, bounds, rows), [reorth_branch(r) for r in rows], V, w)
        b = jnp.linalg.norm(w)
        alpha = alpha.at[j].set(a)
        beta = beta.at[j].set(b)
        theta, s = _top_ritz(alpha, beta, j + 1, m)
        res_est = b * jnp.abs(s[j])
        ok_norm = jnp.maximum(jnp.abs(theta), jnp.max(jnp.abs(alpha)))
        done = (res_est <= jnp.maximum(rtol * jnp.abs(theta), atol)) | (b <= 10 * tiny * ok_norm)
        V = V.at[j + 1].set(w / jnp.where(b > 0, b, 1.0))
        return j + 1, V, alpha, beta, s, done

    return jax.lax.while_loop(cond, body, state)


def _branch(j, bounds, rows):
    return jnp.minimum(jnp.sum(j >= bounds), len(rows) - 1)


def _lanczos_result(matvec, state, m: int, rtol, atol) -> LanczosResult:
    """The Ritz vector ``V s`` of a finished :func:`_lanczos_steps` state, its Rayleigh quotient
    and true residual (one more product)."""
    j, V, _, _, s, _ = state
    rows = _chunk_rows(m)
    bounds = jnp.asarray([r - 1 for r in rows])
    x = jax.lax.switch(_branch(j - 1, bounds, rows), [(lambda V, s, r=r: s[: r - 1] @ V[: r - 1]) for r in rows], V, s)  # s is zero beyond j
    x = x / jnp.linalg.norm(x)
    hx = matvec(x)
    lam = jnp.vdot(x, hx)
    res = jnp.linalg.norm(hx - lam * x)
    converged = res <= jnp.maximum(rtol * jnp.abs(lam), atol)
    return LanczosResult(lam, x, res, j + 1, converged)


def _check_lanczos_args(max_iter, rtol, atol) -> int:
    """``max_iter`` as an int >= 1; ``rtol``, ``atol`` >= 0 when given as numbers (one-line ValueErrors)."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1; received {max_iter!r}")
    for name, val in (("rtol", rtol), ("atol", atol)):
        if isinstance(val, (int, float, np.number)) and not (np.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; received {val!r}")
    return int(max_iter)


def lanczos(matvec: Callable, v0, *, max_iter: int = 100, rtol=1e-6, atol=0.0) -> LanczosResult:
    r"""Largest algebraic eigenvalue of a symmetric operator by Lanczos with full reorthogonalisation.

    Builds the Krylov basis ``V_j = [v_0, ..., v_{j-1}]`` of ``span{v0, A v0, ..., A^{j-1} v0}``
    (each new vector orthogonalised against *all* previous ones, twice) and the tridiagonal
    ``T_j = V_j^T A V_j``; the top Ritz pair ``(theta, V_j s)`` of ``T_j`` approximates the top
    eigenpair of ``A``. The Lanczos residual ``||A V_j s - theta V_j s|| = beta_j |s_j|`` costs no
    product; iteration stops when it is ``<= max(rtol |theta|, atol)``, after ``max_iter``
    products, or on an invariant subspace. One last product gives the true residual reported.

    Since ``theta`` is a Rayleigh quotient, ``theta <= lambda_max(A)``, and some eigenvalue lies
    within ``residual`` of ``theta`` (within ``residual^2 / gap`` once the top one is isolated by
    a gap): ``rtol = 1e-6`` guarantees at least 6 correct digits of that eigenvalue.

    Cost per step: one product plus the reorthogonalisation, two passes of classical
    Gram-Schmidt as matrix-vector products with the leading rows of the preallocated basis
    (blocks of 17, 33, 65, ... rows, at most twice the ``j + 1`` rows in use), and the top Ritz
    pair of ``T_j`` (bisection + inverse iteration on the tridiagonal, ``O(max_iter)``). All in one
    ``lax.while_loop``, compiled once per ``max_iter``.

    Pure JAX: jit-able (``max_iter`` static) and vmappable over batches of ``v0`` (and of
    operators closed over by ``matvec``); under ``vmap`` every item stops on its own criterion
    (and each step reads the whole basis). Memory ``(max_iter + 1) * P`` floats for the basis,
    allocated only if 16 steps do not converge (a first phase runs on a 17-row basis:
    zero-filling 80 MB costs ~18 ms).

    Raises:
        ValueError: ``max_iter`` not an integer ``>= 1``, negative ``rtol``/``atol``, or ``v0``
            not a non-empty flat vector.

    Args:
        matvec: ``v -> A v`` for a symmetric ``A``, ``(P,) -> (P,)``.
        v0: start vector ``(P,)`` (non-zero, need not be normalised; must not be orthogonal to
            the top eigenvector). A warm start (a previous eigenvector) cuts the number of products.
        max_iter: maximal number of Lanczos steps (clipped to ``P``).
        rtol: relative residual tolerance (w.r.t. ``|lambda|``).
        atol: absolute residual tolerance (set it if ``lambda_max`` may be close to 0).

    Returns:
        :class:`LanczosResult` ``(eigenvalue, eigenvector, residual, num_hvps, converged)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from implicit_bias.diagnostics import lanczos
        >>> A = jnp.diag(jnp.array([-5.0, 1.0, 2.0, 3.0]))
        >>> r = lanczos(lambda v: A @ v, jnp.ones(4), rtol=1e-12)
        >>> round(float(r.eigenvalue), 10), bool(r.converged), int(r.num_hvps) <= 5
        (3.0, True, True)
    """
    max_iter = _check_lanczos_args(max_iter, rtol, atol)
    v0 = jnp.asarray(v0)
    if v0.ndim != 1 or v0.shape[0] == 0:
        raise ValueError(f"v0 must be a non-empty flat vector (P,); received shape {v0.shape}")
    return _lanczos(matvec, v0, max_iter, jnp.asarray(rtol, v0.dtype), jnp.asarray(atol, v0.dtype))


def _hvp_fn(objective, params):
    """``v -> Hess L(params) v`` on flat vectors (forward-over-reverse, linearised once)."""
    f, flat = _flat_loss(objective, params)
    _, hvp = jax.linearize(jax.grad(f), flat)
    return hvp, flat


@eqx.filter_jit
def _top_eigenpair_jit(objective, params, v0, rtol, atol, max_iter):
    hvp, _ = _hvp_fn(objective, params)
    return _lanczos(hvp, v0, max_iter, rtol, atol)


@eqx.filter_jit
def _top_eigenpair_batch_jit(objective, params_batch, v0_batch, rtol, atol, max_iter):
    def one(params, v0):
        hvp, _ = _hvp_fn(objective, params)
        return _lanczos(hvp, v0, max_iter, rtol, atol)

    return jax.vmap(one)(params_batch, v0_batch)


def _start_vector(v0, P: int, seed: int, name: str = "v0"):
    if v0 is None:
        return jax.random.normal(jax.random.PRNGKey(seed), (P,), dtype=jnp.float64)
    if not isinstance(v0, (np.ndarray, jax.Array)) and not np.isscalar(v0):
        v0, _ = ravel_pytree(v0)  # a params-shaped pytree
    v0 = jnp.asarray(v0, dtype=jnp.float64)
    if v0.shape != (P,):
        raise ValueError(f"{name} must be a flat vector of shape ({P},) (or a params-shaped pytree); received shape {v0.shape}")
    if not bool(jnp.all(jnp.isfinite(v0))) or float(jnp.linalg.norm(v0)) == 0.0:
        raise ValueError(f"{name} must be finite and non-zero")
    return v0


def top_hessian_eigenpair(objective, params, *, v0=None, seed: int = 0, rtol: float = 1e-6, atol: float = 0.0, max_iter: int = 100) -> LanczosResult:
    r"""Top (largest algebraic) eigenpair of ``Hess L(params)`` by :func:`lanczos` on jitted HVPs.

    ``H v = d/de grad L(theta + e v)`` (forward-over-reverse, the forward pass linearised once);
    the Hessian is never formed. Compiled once per objective structure and ``max_iter``; new
    ``params``, ``v0``, ``rtol`` or ``atol`` values do not recompile.

    Args:
        objective: an :class:`~implicit_bias.algorithms.Objective` (anything with
            ``.value(params)`` that JAX can differentiate twice).
        params: parameters (pytree) ``theta``.
        v0: warm start, a flat ``(P,)`` vector (e.g. the ``eigenvector`` of a previous call) or
            a params-shaped pytree; default a standard normal vector from ``seed``.
        seed: seed of the random start vector.
        rtol: stop when ``||H v - lambda v|| <= max(rtol |lambda|, atol)``.
        atol: absolute residual tolerance.
        max_iter: maximal number of Lanczos steps.

    Returns:
        :class:`LanczosResult`; ``eigenvector`` is flat in ``ravel_pytree(params)`` order.

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> import implicit_bias as ib
        >>> from implicit_bias.algorithms import Objective
        >>> X = jnp.asarray(np.random.default_rng(0).standard_normal((20, 5)))
        >>> obj = Objective(ib.models.Linear(5), ib.losses.Square(), X, X[:, 0])
        >>> r = ib.diagnostics.top_hessian_eigenpair(obj, {"w": jnp.zeros(5)}, rtol=1e-10)
        >>> bool(np.isclose(r.eigenvalue, np.linalg.eigvalsh(X.T @ X / 20).max(), rtol=1e-12))
        True
    """
    max_iter = _check_lanczos_args(max_iter, rtol, atol)
    flat, _ = ravel_pytree(params)
    v0 = _start_vector(v0, flat.shape[0], seed)
    return _top_eigenpair_jit(objective, params, v0, jnp.asarray(rtol, jnp.float64), jnp.asarray(atol, jnp.float64), int(max_iter))


def sharpness_batch(objective, params_batch, *, v0=None, seed: int = 0, rtol: float = 1e-6, atol: float = 0.0, max_iter: int = 100) -> LanczosResult:
    r""":func:`top_hessian_eigenpair` for a batch of parameter sets, in one jitted ``vmap``.

    Args:
        objective: the objective, shared by the batch (data, model, loss).
        params_batch: a params pytree whose every leaf has a leading batch axis ``B``.
        v0: warm starts ``(B, P)``; default independent standard normal vectors from ``seed``.
        seed: seed of the random start vectors.
        rtol: relative residual tolerance (:func:`top_hessian_eigenpair`).
        atol: absolute residual tolerance.
        max_iter: maximal number of Lanczos steps.

    Returns:
        :class:`LanczosResult` with a leading axis ``B`` on every field (``eigenvalue (B,)``,
        ``eigenvector (B, P)``, ...). Each item stops on its own criterion and reports its own
        ``num_hvps``; the batch runs until the slowest item stops.

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> import implicit_bias as ib
        >>> from implicit_bias.algorithms import Objective
        >>> X = jnp.asarray(np.random.default_rng(0).standard_normal((20, 5)))
        >>> obj = Objective(ib.models.Linear(5), ib.losses.Square(), X, X[:, 0])
        >>> r = ib.diagnostics.sharpness_batch(obj, {"w": jnp.zeros((3, 5))})
        >>> r.eigenvalue.shape
        (3,)
    """
    max_iter = _check_lanczos_args(max_iter, rtol, atol)
    leaves = jax.tree_util.tree_leaves(params_batch)
    if not leaves:
        raise ValueError("params_batch has no arrays")
    B = int(np.shape(leaves[0])[0]) if np.ndim(leaves[0]) else None
    if B is None or any(np.ndim(leaf) == 0 or np.shape(leaf)[0] != B for leaf in leaves):
        raise ValueError(f"every leaf of params_batch needs the same leading batch axis; received shapes {[np.shape(leaf) for leaf in leaves]}")
    first = jax.tree_util.tree_map(lambda a: a[0], params_batch)
    P = ravel_pytree(first)[0].shape[0]
    if v0 is None:
        v0 = jax.random.normal(jax.random.PRNGKey(seed), (B, P), dtype=jnp.float64)
    else:
        v0 = jnp.asarray(v0, dtype=jnp.float64)
        if v0.shape != (B, P):
            raise ValueError(f"v0 must have shape (B, P) = ({B}, {P}); received {v0.shape}")
    return _top_eigenpair_batch_jit(objective, params_batch, v0, jnp.asarray(rtol, jnp.float64), jnp.asarray(atol, jnp.float64), int(max_iter))


def sharpness(objective, params, *, dense_below: int = 400, tol: float = 1e-10, seed: int = 0, v0=None, max_iter: int = 100) -> float:
    """Largest *algebraic* eigenvalue ``lambda_max`` of ``Hess L(params)``.

    For at most ``dense_below`` parameters the dense Hessian and ``numpy.linalg.eigvalsh`` are
    used; otherwise :func:`top_hessian_eigenpair` (Lanczos on jitted Hessian-vector products,
    never forming the Hessian) with relative residual tolerance ``tol``. GD with step ``eta``
    is stable near a minimum only if ``lambda_max <= 2/eta`` (vardi2022 §5; mulayoff2021 Lemma 1).

    Args:
        objective: an :class:`~implicit_bias.algorithms.Objective` (model, loss, data).
        params: parameters (pytree).
        dense_below: parameter count up to which the dense route is used.
        tol: Lanczos stops when ``||H v - lambda v|| <= tol |lambda|`` (the eigenvalue is then
            accurate to ``tol`` relatively at worst, ``~tol^2`` with a spectral gap).
        seed: seed of the random Lanczos start vector.
        v0: warm-start vector for Lanczos (flat ``(P,)`` or params-shaped).
        max_iter: maximal number of Lanczos steps; a warning is issued if ``tol`` is not reached.

    Returns:
        ``lambda_max`` (float).
    """
    flat, _ = ravel_pytree(params)
    P = flat.shape[0]
    if P <= dense_below:
        return float(np.linalg.eigvalsh(hessian_matrix(objective, params)).max())
    r = top_hessian_eigenpair(objective, params, v0=v0, seed=seed, rtol=tol, max_iter=max_iter)
    if not bool(r.converged):
        warnings.warn(
            f"sharpness: Lanczos stopped after {int(r.num_hvps)} HVPs with relative residual "
            f"{float(r.residual) / max(abs(float(r.eigenvalue)), 1e-300):.2e} > tol={tol:.1e}; increase max_iter",
            stacklevel=2,
        )
    return float(r.eigenvalue)


# ----------------------------------------------------------------------------------------
# Power iteration (the usual baseline)
# ----------------------------------------------------------------------------------------


class PowerIterationResult(NamedTuple):
    """Result of :func:`power_iteration`.

    Attributes:
        eigenvalue: the last Rayleigh quotient ``v^T H v``, ``()``.
        eigenvector: the unit vector ``v``, ``(P,)``.
        num_hvps: Hessian-vector products used, ``()`` int.
        converged: whether the relative-change criterion was met within the budget, ``()`` bool.
    """

    eigenvalue: jax.Array
    eigenvector: jax.Array
    num_hvps: jax.Array
    converged: jax.Array


def _power(matvec, v0, rtol, max_hvps: int):
    v0 = v0 / jnp.linalg.norm(v0)

    def cond(state):
        i, _, _, _, done = state
        return jnp.logical_and(i < max_hvps, jnp.logical_not(done))

    def body(state):
        i, v, lam_prev, _, _ = state
        w = matvec(v)
        lam = jnp.vdot(v, w)
        nw = jnp.linalg.norm(w)
        v_new = w / jnp.where(nw > 0, nw, 1.0)
        done = (i > 0) & (jnp.abs(lam - lam_prev) <= rtol * jnp.abs(lam_prev))
        return i + 1, v_new, lam, lam, done

    zero = jnp.zeros((), v0.dtype)
    i, v, lam, _, done = jax.lax.while_loop(cond, body, (jnp.asarray(0), v0, zero, zero, jnp.asarray(False)))
    return PowerIterationResult(lam, v, i, done)


@eqx.filter_jit
def _power_jit(objective, params, v0, rtol, max_hvps):
    hvp, _ = _hvp_fn(objective, params)
    return _power(hvp, v0, rtol, max_hvps)


def power_iteration(objective, params, *, rtol: float = 1e-3, max_hvps: int = 100, v0=None, seed: int = 0) -> PowerIterationResult:
    r"""Power iteration on HVPs, the baseline of common sharpness tools (e.g. PyHessian).

    ``w = H v_i``, ``lambda_i = v_i^T w``, ``v_{i+1} = w / ||w||``; stop when
    ``|lambda_i - lambda_{i-1}| <= rtol |lambda_{i-1}|`` or after ``max_hvps`` products.

    Warning:
        It converges to the eigenvalue of largest *magnitude*, which is ``lambda_max`` only if
        ``lambda_max >= |lambda_min|``; and the relative-change rule says little about the error
        (linear convergence at rate ``|lambda_2/lambda_1|`` can stall with small changes far
        from the limit). Use :func:`top_hessian_eigenpair` for a certified ``lambda_max``.

    Args:
        objective: the objective (``.value(params)``).
        params: parameters (pytree).
        rtol: relative-change tolerance (default ``1e-3``, PyHessian's).
        max_hvps: maximal number of HVPs (default 100, PyHessian's ``maxIter``).
        v0: start vector (flat or params-shaped); default standard normal from ``seed``.
        seed: seed of the random start.

    Returns:
        :class:`PowerIterationResult` ``(eigenvalue, eigenvector, num_hvps, converged)``.

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> import implicit_bias as ib
        >>> from implicit_bias.algorithms import Objective
        >>> X = jnp.asarray(np.random.default_rng(0).standard_normal((20, 5)))
        >>> obj = Objective(ib.models.Linear(5), ib.losses.Square(), X, X[:, 0])
        >>> r = ib.diagnostics.power_iteration(obj, {"w": jnp.zeros(5)})
        >>> bool(abs(r.eigenvalue / np.linalg.eigvalsh(X.T @ X / 20).max() - 1) < 1e-2), int(r.num_hvps) <= 100
        (True, True)
    """
    flat, _ = ravel_pytree(params)
    v0 = _start_vector(v0, flat.shape[0], seed)
    return _power_jit(objective, params, v0, jnp.asarray(rtol, jnp.float64), int(max_hvps))


# ----------------------------------------------------------------------------------------
# Mode Hessians at non-differentiable minima (mulayoff2021 §2.2, §4.2)
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModeHessians:
    """The mode Hessians ``H_m = Hess psi_m(theta*)`` of a shallow ReLU net (:func:`mode_hessians`).

    Attributes:
        hessians: ``(M, P, P)``, one per mode (flat order of ``ravel_pytree(params)``).
        top_eigenvalues: ``lambda_max(H_m)``, ``(M,)``.
        top_eigenvectors: unit top eigenvectors, ``(M, P)``.
        patterns: activation patterns ``(M, N, k)`` bool (entry ``[m, j, i]``: neuron ``i`` active
            on sample ``j`` in mode ``m``).
        toggles: ``(p, 2)`` int, the ``(sample j, neuron i)`` pairs with ``w1_i^T x_j + b1_i = 0``.
        upper: ``lambda_max^upper = max_m lambda_max(H_m)`` (mulayoff2021 eq. (16)).
        common_residuals: ``||H_m q - upper q||`` with ``q`` the top eigenvector of the sharpest
            mode, ``(M,)`` (the left side of Lemma 5, eq. (33)/(34)).
        p_max: the most neurons toggling on one sample (Lemma 5).
        gradient_bound: ``max_{m, j} ||grad_theta phi(x_j, theta*, m_j)||_inf`` (Lemma 5's ``C``,
            measured).
    """

    hessians: np.ndarray
    top_eigenvalues: np.ndarray
    top_eigenvectors: np.ndarray
    patterns: np.ndarray
    toggles: np.ndarray
    upper: float
    common_residuals: np.ndarray
    p_max: int
    gradient_bound: float

    @property
    def num_modes(self) -> int:
        return int(self.top_eigenvalues.shape[0])


def _relu_params(params) -> dict:
    names = {"w1", "b1", "w2", "b2"}
    if not isinstance(params, dict) or not names <= set(params) or not set(params) <= names | {"skip"}:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"expected shallow ReLU params {{'w1' (k, d), 'b1' (k,), 'w2' (k,), 'b2' (), ['skip' (d,)]}}; received {got}")
    p = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in params.items()}
    if p["w1"].ndim == 1:
        raise ValueError(f"params['w1'] must have shape (k, d); received {p['w1'].shape} (use w1[:, None] for d = 1)")
    k, d = p["w1"].shape
    for name, shape in (("b1", (k,)), ("w2", (k,)), ("b2", ())):
        if p[name].shape != shape:
            raise ValueError(f"params[{name!r}] must have shape {shape} for w1 of shape {(k, d)}; received {p[name].shape}")
    if "skip" in p and p["skip"].shape != (d,):
        raise ValueError(f"params['skip'] must have shape ({d},); received {p['skip'].shape}")
    return p


def _neuron_options(x_points: np.ndarray, d: int, i: int) -> list[np.ndarray]:
    """Feasible activation patterns of one neuron on the samples where it toggles.

    Near ``theta*``, the pattern on the toggling samples ``x_j`` is ``sign(dw^T x_j + db) > 0``
    for a perturbation ``(dw, db)``. One toggling sample: 2 patterns. A neuron with
    ``w1_i = b1_i = 0`` toggles on every sample; for ``d = 1`` its patterns are the thresholds
    ``x > t`` and ``x < t`` (plus all and none).
    """
    q = x_points.shape[0]
    if q == 1:
        return [np.array([False]), np.array([True])]
    if d != 1:
        raise ValueError(
            f"neuron {i} toggles on {q} samples at once (w1_i^T x_j + b1_i = 0 for all of them) with input dimension "
            f"d = {d}; enumerating its feasible activation patterns is implemented for d = 1 only"
        )
    x = x_points[:, 0]
    u = np.unique(x)
    cuts = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2, [u[-1] + 1.0]])
    pats = {tuple(x > t) for t in cuts} | {tuple(x < t) for t in cuts}
    return [np.array(p) for p in sorted(pats)]


@jax.jit
def _mode_hessians_jit(p, X, y, pats):
    """Hessians of ``psi_m`` and Jacobians of ``phi(x_j, theta, m_j)`` for every pattern ``(M, N, k)``."""
    flat, unravel = ravel_pytree(p)

    def phi(theta, pat):
        q = unravel(theta)
        out = ((X @ q["w1"].T + q["b1"][None, :]) * pat) @ q["w2"] + q["b2"]
        if "skip" in q:
            out = out + X @ q["skip"]
        return out

    def psi(theta, pat):
        r = phi(theta, pat) - y
        return 0.5 * jnp.mean(r * r)

    return jax.vmap(lambda pat: (jax.hessian(psi)(flat, pat), jax.jacfwd(phi)(flat, pat)))(pats)


def mode_hessians(params, X, y, *, tol: float = 1e-12, max_modes: int = 1024) -> ModeHessians:
    r"""The mode Hessians of a shallow ReLU net at a (possibly non-differentiable) point.

    mulayoff2021 §2.2 and §4.2: with ``f(x) = sum_i w2_i relu(w1_i^T x + b1_i) + b2 [+ skip^T x]``
    and the square loss ``L = 1/(2n) sum_j (f(x_j) - y_j)^2`` (eq. (19)), fix the activation
    pattern ``m`` (``m_{ji} = 1`` if neuron ``i`` is active on sample ``j``); the loss becomes the
    analytic ``psi_m(theta) = 1/(2n) sum_j (phi(x_j, theta, m_j) - y_j)^2`` with
    ``phi(x_j, theta, m_j) = sum_i m_{ji} w2_i (w1_i^T x_j + b1_i) + b2 [+ skip^T x_j]``.
    Samples ``j`` with ``w1_i^T x_j + b1_i = 0`` (knot of neuron ``i`` on ``x_j``) *toggle*: the
    modes near ``theta*`` are all combinations of "active"/"inactive" of the ``p`` toggling pairs
    (``2^p`` modes, eq. (9), §4.2), and the mode Hessians are ``H_m = Hess psi_m(theta*)``
    (eq. (11)), here the full Hessians of ``psi_m`` (at an interpolant they are
    ``Phi_m Phi_m^T / n``). With no toggling pair there is one mode, the ordinary Hessian.

    Stability (Lemma 3): GD is strongly stable if ``upper = max_m lambda_max(H_m) <= 2/eta``;
    Lemma 2 needs an approximate common eigenvector, measured by ``common_residuals``.

    Args:
        params: ``{"w1" (k, d), "b1" (k,), "w2" (k,), "b2" (), ["skip" (d,)]}``.
        X: inputs ``(N, d)``; y: targets ``(N,)``.
        tol: a pair toggles if ``|w1_i^T x_j + b1_i| <= tol (|w1_i|^T |x_j| + |b1_i|)``.
        max_modes: refuse (ValueError) to enumerate more modes than this.

    Returns:
        :class:`ModeHessians`.

    Raises:
        ValueError: bad shapes, too many modes, or (``d > 1``) a neuron whose knot hyperplane
            holds several samples.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics import mode_hessians
        >>> X, y = np.array([[-1.0], [0.0], [1.0]]), np.array([1.0, 0.0, 1.0])
        >>> params = {"w1": np.array([[1.0], [-1.0]]), "b1": np.zeros(2), "w2": np.ones(2), "b2": np.array(0.0)}
        >>> mh = mode_hessians(params, X, y)   # f(x) = |x|: both knots sit on x = 0
        >>> mh.num_modes, mh.toggles.tolist()
        (4, [[1, 0], [1, 1]])
    """
    p = _relu_params(params)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (N, d); received shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X; received {y.shape}")
    w1 = np.asarray(p["w1"])
    b1 = np.asarray(p["b1"])
    k, d = w1.shape
    if X.shape[1] != d:
        raise ValueError(f"X has {X.shape[1]} columns but w1 has input dimension {d}")
    z = X @ w1.T + b1[None, :]
    scale = np.abs(X) @ np.abs(w1).T + np.abs(b1)[None, :]
    toggle = np.abs(z) <= tol * scale
    base = (z > 0) & ~toggle
    options = []  # per neuron: (sample indices, list of patterns on them)
    n_modes = 1
    for i in range(k):
        js = np.nonzero(toggle[:, i])[0]
        if js.size:
            opts = _neuron_options(X[js], d, i)
            options.append((js, i, opts))
            n_modes *= len(opts)
            if n_modes > max_modes:
                raise ValueError(f"more than max_modes={max_modes} modes ({int(toggle.sum())} toggling (sample, neuron) pairs); raise max_modes")
    patterns = []
    for combo in itertools.product(*[o[2] for o in options]):
        pat = base.copy()
        for (js, i, _), choice in zip(options, combo):
            pat[js, i] = choice
        patterns.append(pat)
    patterns = np.stack(patterns) if patterns else base[None]

    pats = jnp.asarray(patterns, dtype=jnp.float64)
    H, grads = (np.asarray(a) for a in _mode_hessians_jit(p, jnp.asarray(X), jnp.asarray(y), pats))  # (M, P, P), (M, N, P)
    evals, evecs = np.linalg.eigh(H)
    top = evals[:, -1]
    top_vecs = evecs[:, :, -1]
    m_up = int(np.argmax(top))
    upper = float(top[m_up])
    q = top_vecs[m_up]
    resid = np.linalg.norm(H @ q - upper * q[None, :], axis=1)
    p_j = toggle.sum(axis=1)
    return ModeHessians(
        hessians=H,
        top_eigenvalues=top,
        top_eigenvectors=top_vecs,
        patterns=patterns,
        toggles=np.argwhere(toggle).astype(np.int64),
        upper=upper,
        common_residuals=resid,
        p_max=int(p_j.max()) if p_j.size else 0,
        gradient_bound=float(np.abs(grads).max()),
    )
