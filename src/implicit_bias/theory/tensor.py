r"""Predictions for CP tensor factorization (razin2021: implicit regularization towards low tensor rank).

For :class:`~implicit_bias.models.TensorFactorization` ``T = sum_r f^1_r (x) ... (x) f^p_r``
trained by gradient flow on a loss ``ell(T)`` of the end-to-end tensor, the factor flows are
``d f^j_r/dt = -grad ell(T) x_{k != j} f^k_r`` (contraction of the gradient tensor with every
other factor of the component). Hence

.. math:: \frac{d}{dt}\|f^j_r\| = \Big(\prod_{k\ne j}\|f^k_r\|\Big)
          \big\langle -\nabla\ell(T),\ \hat f^1_r\otimes\cdots\otimes\hat f^p_r\big\rangle,

so ``||f^j_r||^2 - ||f^k_r||^2`` is conserved, and for a *balanced* component
(``||f^1_r|| = ... = ||f^p_r||``, kept by the flow) the norm of the rank-one term
``sigma_r = prod_j ||f^j_r||`` obeys (razin2021, the component-norm dynamics; the tensor analogue of
arora2019's singular-value dynamics)

.. math:: \frac{d\sigma_r}{dt} = p\,\sigma_r^{2 - 2/p}\,
          \big\langle -\nabla\ell(T),\ \hat f^1_r\otimes\cdots\otimes\hat f^p_r\big\rangle .

A component of norm ``sigma`` grows like ``sigma^{2 - 2/p}`` times its alignment with the
negative gradient: from a small initialization the best-aligned component escapes first while the
others stay small, so components become active one at a time (an incremental, greedy rank
increase). Computed here from the state alone, without training.
"""

from __future__ import annotations

import numpy as np

__all__ = ["completion_gradient", "component_norm_velocity"]


def completion_gradient(shape, entries, y, T) -> np.ndarray:
    r"""``grad ell(T)`` of the completion square loss ``ell(T) = 1/(2N) sum_k (T[i_k] - y_k)^2``
    (DESIGN.md's convention): ``1/N sum_k (T[i_k] - y_k) e_{i_k}``, a tensor of ``shape``.

    Args:
        shape: ``(n_1, ..., n_p)``.
        entries: ``(N, p)`` integer indices.
        y: ``(N,)`` observed values.
        T: the current tensor, of ``shape``.

    Example:
        >>> completion_gradient((2, 2), [[0, 1]], [1.0], np.zeros((2, 2))).tolist()
        [[0.0, -1.0], [0.0, 0.0]]
    """
    T = np.asarray(T, dtype=np.float64)
    E = np.asarray(entries, dtype=np.int64)
    y = np.asarray(y, dtype=np.float64)
    if T.shape != tuple(shape) or E.ndim != 2 or E.shape[1] != len(shape) or E.shape[0] != y.shape[0]:
        raise ValueError(f"completion_gradient: T must have shape {tuple(shape)}, entries (N, {len(shape)}) and y (N,) with equal N; received T {T.shape}, entries {E.shape}, y {y.shape}")
    idx = tuple(E.T)
    G = np.zeros(T.shape)
    np.add.at(G, idx, (T[idx] - y) / y.shape[0])
    return G


def component_norm_velocity(factors, grad) -> tuple[np.ndarray, np.ndarray]:
    r"""``(sigma (R,), d sigma/dt (R,))`` by the formula of the module docstring:
    ``d sigma_r/dt = p sigma_r^{2-2/p} <-grad, f^1_r/|f^1_r| (x) ... (x) f^p_r/|f^p_r|>``.

    Args:
        factors: the ``p`` factor matrices ``F_j (R, n_j)`` (a list, in order).
        grad: ``grad ell(T)``, of shape ``(n_1, ..., n_p)``.

    Assumptions: every component balanced (``||f^j_r||`` equal over ``j``) and non-zero.

    Example:
        >>> import numpy as np
        >>> F = [np.array([[2.0, 0.0]]), np.array([[0.0, 2.0]])]          # sigma = 4, p = 2
        >>> G = -np.array([[0.0, 1.0], [0.0, 0.0]])
        >>> [v.tolist() for v in component_norm_velocity(F, G)]          # 2 * 4^1 * 1
        [[4.0], [8.0]]
    """
    F = [np.asarray(f, dtype=np.float64) for f in factors]
    G = np.asarray(grad, dtype=np.float64)
    p = len(F)
    if p < 2 or G.shape != tuple(f.shape[1] for f in F) or len({f.shape[0] for f in F}) != 1:
        raise ValueError(f"component_norm_velocity: factors must be p >= 2 matrices (R, n_j) with a common R and grad of shape (n_1, ..., n_p); received {[f.shape for f in F]} and {G.shape}")
    norms = np.stack([np.linalg.norm(f, axis=1) for f in F])  # (p, R)
    if np.any(norms == 0):
        raise ValueError("component_norm_velocity: a factor vector is zero; the formula needs non-zero components")
    U = [f / n[:, None] for f, n in zip(F, norms)]
    letters = "abcdefghij"[:p]
    proj = np.einsum(letters + "," + ",".join(f"r{c}" for c in letters) + "->r", -G, *U)
    sigma = np.prod(norms, axis=0)
    return sigma, p * sigma ** (2.0 - 2.0 / p) * proj
