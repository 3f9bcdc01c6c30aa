"""Sharpness: the top eigenvalue of the training loss's Hessian, from Hessian-vector products."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

__all__ = ["sharpness", "hessian_matrix"]


def _flat_loss(objective, params):
    flat, unravel = ravel_pytree(params)
    return (lambda v: objective.value(unravel(v))), flat


@eqx.filter_jit
def _hvp(objective, params, v):
    f, flat = _flat_loss(objective, params)
    return jax.jvp(jax.grad(f), (flat,), (v,))[1]


def hessian_matrix(objective, params) -> np.ndarray:
    """Dense Hessian of ``L`` w.r.t. the flattened parameters ``(P, P)`` (small models only)."""
    f, flat = _flat_loss(objective, params)
    return np.asarray(jax.hessian(f)(flat))


def sharpness(objective, params, *, dense_below: int = 400, tol: float = 1e-10, seed: int = 0) -> float:
    """Largest *algebraic* eigenvalue ``lambda_max`` of ``Hess L(params)``.

    For at most ``dense_below`` parameters the dense Hessian and ``numpy.linalg.eigvalsh`` are
    used; otherwise Lanczos (``scipy.sparse.linalg.eigsh``, ``which="LA"``) on jitted
    Hessian-vector products, never forming the Hessian. GD with step ``eta`` is stable near a
    minimum only if ``lambda_max <= 2/eta`` (vardi2022 §5).

    Args:
        objective: an :class:`~implicit_bias.algorithms.Objective` (model, loss, data).
        params: parameters (pytree).

    Returns:
        ``lambda_max`` (float).
    """
    flat, _ = ravel_pytree(params)
    P = flat.shape[0]
    if P <= dense_below:
        return float(np.linalg.eigvalsh(hessian_matrix(objective, params)).max())
    from scipy.sparse.linalg import LinearOperator, eigsh

    op = LinearOperator((P, P), matvec=lambda v: np.asarray(_hvp(objective, params, jnp.asarray(v, dtype=jnp.float64))), dtype=np.float64)
    v0 = np.random.default_rng(seed).standard_normal(P)
    vals = eigsh(op, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)
    return float(vals[0])
