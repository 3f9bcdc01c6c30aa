r"""Multiclass hard-margin (Crammer–Singer without slack) for linear multiclass models.

Soudry et al. 2018 (§4, multiclass; vardi2022 §3.1): gradient descent on the cross-entropy
loss of a linear multiclass model ``f(x) = W x`` (``W (C, d)``) on separable data converges in
direction to the solution of

.. math:: \min_W \tfrac12 ||W||_F^2 \quad\text{s.t.}\quad (w_{y_n} - w_c)^T x_n \ge 1
          \ \ \forall n,\ c \ne y_n,

with the direction gap ``||W(t)/||W(t)|| - Ŵ/||Ŵ|| || = O(1/log t)``.
"""

from __future__ import annotations

import numpy as np

from ._solvers import solve_cvxpy

__all__ = ["multiclass_max_margin"]


def multiclass_max_margin(X, y, n_classes: int) -> np.ndarray:
    r"""The multiclass hard-margin solution ``Ŵ (C, d)`` (cvxpy, Clarabel).

    Args:
        X: inputs ``(N, d)``; y: labels ``(N,)`` in ``0..C-1``; n_classes: ``C >= 2``.

    Returns:
        ``Ŵ`` minimizing ``||W||_F^2 / 2`` s.t. ``(w_{y_n} - w_c)^T x_n >= 1`` for ``c != y_n``.

    Raises:
        ValueError: bad shapes or labels, or data that no linear multiclass model separates
            (the program is infeasible).

    Example:
        >>> import numpy as np
        >>> X = np.array([[1.0, 0.0], [-1.0, 0.0]]); y = np.array([0, 1])
        >>> np.round(multiclass_max_margin(X, y, 2), 6).tolist()   # w_0 = -w_1 = (1/2, 0)
        [[0.5, 0.0], [-0.5, 0.0]]
    """
    import cvxpy as cp

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (N, d) and y (N,); received {X.shape} and {y.shape}")
    if not (isinstance(n_classes, (int, np.integer)) and n_classes >= 2):
        raise ValueError(f"n_classes must be an integer >= 2; received {n_classes!r}")
    yi = y.astype(np.int64)
    if not np.all((yi == y) & (yi >= 0) & (yi < n_classes)):
        raise ValueError(f"labels y must be integers in 0..{n_classes - 1}")
    N, d = X.shape
    W = cp.Variable((n_classes, d))
    onehot = np.eye(n_classes)[yi]  # (N, C)
    F = X @ W.T  # (N, C)
    true = cp.sum(cp.multiply(onehot, F), axis=1)  # (N,)
    mask = 1.0 - onehot
    cons = [cp.multiply(mask, cp.reshape(true, (N, 1), order="C") @ np.ones((1, n_classes)) - F) >= mask]
    prob = cp.Problem(cp.Minimize(cp.sum_squares(W) / 2), cons)
    solve_cvxpy(prob, [(cp.CLARABEL, {}), (cp.SCS, {"eps": 1e-10})])
    if prob.status not in ("optimal", "optimal_inaccurate") or W.value is None:
        raise ValueError(f"the data are not linearly separable by a multiclass linear model (cvxpy status {prob.status}): the hard-margin problem is infeasible")
    return np.asarray(W.value)
