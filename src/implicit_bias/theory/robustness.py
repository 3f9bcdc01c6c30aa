r"""Robust two-layer ReLU networks that exist for nearly orthogonal data, and certified radii.

Vardi, Yehudai & Shamir 2022 (*Gradient methods provably converge to non-robust networks*,
cited as [77] in vardi2022 §7) contrast two depth-2 ReLU networks on data ``x_1..x_N`` in
``R^d`` that are nearly orthogonal (``d >> N``, e.g. uniform on the sphere of radius
``sqrt(d)``): every KKT point of the max-margin problem (where gradient flow goes, Lyu & Li
2020) can be flipped at a training point by a perturbation of size ``O(sqrt(d/N))``, i.e.
``O(||x|| / sqrt(N))``, along the one direction ``sum_n y_n x_n``, while *some* network classifies
the same data correctly with every training point robust to perturbations of size
``Omega(||x||)``. This module builds such a robust network explicitly and certifies its radius,
without training (the non-robust side, an attack on a trained net, is
:mod:`implicit_bias.diagnostics.robustness`).

**The construction** (:func:`robust_network`, our own, stated here; the paper only needs one to
exist). With ``N <= d`` and ``X`` of full row rank, the dual basis ``V = X^+ (d, N)`` has
columns ``v_i`` with ``<v_i, x_k> = δ_ik``. One hidden unit per training point:

.. math::

    f(x) = \sum_{i=1}^N y_i\,\big[\langle u_i, x\rangle - \beta\,s_i\big]_+,
    \qquad u_i = v_i / \|v_i\|, \quad s_i = 1 / \|v_i\|,

so at ``x_k`` unit ``k`` has pre-activation ``(1 - β) s_k`` and every other unit ``-β s_i``: only
the unit of ``x_k`` fires and ``y_k f(x_k) = (1 - β) s_k > 0``. For orthogonal data ``s_i =
||x_i||``; for nearly orthogonal data ``s_i = ||x_i|| (1 - O(N/d))``.

**The certificate** (:func:`certified_radius`, any two-layer ReLU net). For ``f(x) = c +
Σ_j a_j [w_j^T x + b_j]_+`` and ``||δ|| <= r`` each pre-activation ``p_j = w_j^T x + b_j`` moves
by at most ``r ||w_j||`` and ``[.]_+`` is non-decreasing, so

.. math::

    y f(x + δ) \ge B(r) = y c + \sum_{j:\,y a_j > 0} |a_j| [p_j - r\|w_j\|]_+
        - \sum_{j:\,y a_j < 0} |a_j| [p_j + r\|w_j\|]_+ .

``B`` is continuous, non-increasing and piecewise linear in ``r``; the certified radius is its
root ``r* = sup{r : B(r) > 0}``, computed exactly from the breakpoints ``r = |p_j| / ||w_j||``
(0 if ``y f(x) <= 0``, ``inf`` if ``B`` never reaches 0). For :func:`robust_network` it is
at least ``min((1 - β) s_k, min_{i: y_i ≠ y_k} β s_i)`` (below that no opposite unit can fire
and unit ``k`` stays on), i.e. ``s / 2`` at ``β = 1/2`` for orthogonal data, and at
``β >= 1/2`` it is *exact*: ``δ = -(1 - β) s_k u_k`` has norm ``(1 - β) s_k`` and switches unit
``k`` off, which gives ``y_k f = 0`` (the other units stay off), so no certificate can be
larger (tests check both sides; for ``β < 1/2`` the bound, which lets every opposite unit rise
at full rate at once, is looser than the true radius). No classifier does better than half the distance to the nearest
point of the other label, ``≈ ||x|| / sqrt(2)`` here: the construction is within ``sqrt(2)``
of the best possible radius.

Conventions: ``X (N, d)``, ``y (N,)`` in ``{-1, +1}``; radii are Euclidean (l2) norms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _config  # noqa: F401  (float64)
from ..models import MLP, ShallowReLU
from ._solvers import check_classification_data

__all__ = ["RobustNetwork", "robust_network", "certified_radius", "two_layer_parts"]


@dataclass(frozen=True)
class RobustNetwork:
    """A two-layer ReLU network built to be robust at its training points.

    Attributes:
        model: an :class:`~implicit_bias.models.MLP` ``(d, (N,), "relu", bias="first")``
            (the architecture the homogeneous checks train; homogeneous of degree 2).
        params: ``{"W1": (N, d), "b1": (N,), "W2": (1, N)}``.
        radius: certified l2 radius at each training point, ``(N,)`` (:func:`certified_radius`).
        relative_radius: ``radius / ||x_n||``, ``(N,)``.
        threshold: the ``β`` of the construction.
    """

    model: MLP
    params: dict
    radius: np.ndarray
    relative_radius: np.ndarray
    threshold: float


def robust_network(X, y, *, threshold: float = 0.5) -> RobustNetwork:
    r"""The dual-basis network ``f(x) = Σ_i y_i [<u_i, x> - β s_i]_+`` (module docstring).

    Each training point ``x_k`` fires only its own unit, with pre-activation ``(1 - β) s_k``;
    the certified radius at ``x_k`` is at least ``min((1 - β) s_k, min_{y_i ≠ y_k} β s_i)`` with
    ``s_i = 1/||v_i||`` and ``v_i`` the ``i``-th column of ``X^+`` (``s_i = ||x_i||`` for
    orthogonal data). Source: the existence claim of Vardi, Yehudai & Shamir 2022 (vardi2022 §7,
    [77]); the construction is ours.

    Args:
        X: inputs ``(N, d)`` with ``N <= d`` and linearly independent rows.
        y: labels ``(N,)`` in ``{-1, +1}``.
        threshold: ``β`` in ``(0, 1)``; ``1/2`` balances the two ways to flip a point.

    Returns:
        :class:`RobustNetwork` (model, params, certified radii).

    Raises:
        ValueError: bad shapes or labels, ``threshold`` outside ``(0, 1)``, ``N > d`` or rows of
            ``X`` linearly dependent (no dual basis: the data are not nearly orthogonal).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory import robust_network
        >>> X = 3.0 * np.eye(4)[:3]; y = np.array([1.0, -1.0, 1.0])
        >>> net = robust_network(X, y)            # orthogonal rows of norm 3: radius 3/2
        >>> net.radius.tolist(), net.relative_radius.tolist()
        ([1.5, 1.5, 1.5], [0.5, 0.5, 0.5])
    """
    X, y = check_classification_data(X, y)
    n, d = X.shape
    if not (isinstance(threshold, (int, float, np.floating)) and 0.0 < float(threshold) < 1.0):
        raise ValueError(f"robust_network: threshold must be a number in (0, 1) (1/2 balances the radius); received {threshold!r}")
    if n > d:
        raise ValueError(f"robust_network: needs N <= d (nearly orthogonal data, d >> N); received N={n} points in d={d}")
    sv = np.linalg.svd(X, compute_uv=False)
    if sv[-1] <= 1e-10 * sv[0]:
        raise ValueError(f"robust_network: the rows of X are linearly dependent (smallest/largest singular value {sv[-1] / sv[0]:.2e}): no dual basis; the construction needs nearly orthogonal inputs")
    V = np.linalg.pinv(X)  # (d, N), X @ V = I
    s = 1.0 / np.linalg.norm(V, axis=0)
    U = (V * s[None, :]).T  # (N, d) unit rows
    model = MLP(d, (n,), activation="relu", bias="first")
    params = {"W1": U, "b1": -float(threshold) * s, "W2": y[None, :].astype(np.float64)}
    r = certified_radius(model, params, X, y)
    return RobustNetwork(model=model, params=params, radius=r, relative_radius=r / np.linalg.norm(X, axis=1), threshold=float(threshold))


def two_layer_parts(model, params) -> tuple:
    """``(W (k, d), b (k,), a (k,), c)`` with ``f(x) = c + Σ_j a_j [W_j x + b_j]_+`` for a
    two-layer ReLU :class:`~implicit_bias.models.MLP` (one output; any bias mode) or a
    :class:`~implicit_bias.models.ShallowReLU` (ReLU activation, no skip connection).

    Raises:
        ValueError: any other model (the certificate is for two-layer ReLU nets only).
    """
    if isinstance(model, MLP) and model.depth == 2 and model.activation == "relu" and model.outputs == 1:
        W = np.asarray(params["W1"], dtype=np.float64)
        b = np.asarray(params["b1"], dtype=np.float64) if "b1" in params else np.zeros(W.shape[0])
        c = float(np.asarray(params["b2"]).reshape(-1)[0]) if "b2" in params else 0.0
        return W, b, np.asarray(params["W2"], dtype=np.float64)[0], c
    if isinstance(model, ShallowReLU) and model.activation == "relu" and not model.skip:
        return (np.asarray(params["w1"], dtype=np.float64), np.asarray(params["b1"], dtype=np.float64), np.asarray(params["w2"], dtype=np.float64), float(params["b2"]))
    raise ValueError(
        f"certified_radius: the model must be a two-layer ReLU network with one output (MLP with one hidden layer and activation='relu', "
        f"or ShallowReLU without skip); received {type(model).__name__}"
    )


def _root(p, nw, ya, yc):
    """Root of ``B(r) = yc + Σ_{ya>0} ya [p - r nw]_+ + Σ_{ya<0} ya [p + r nw]_+`` (non-increasing)."""

    def B(r):
        pre = np.where(ya > 0, p - r * nw, p + r * nw)
        return yc + float(np.sum(ya * np.maximum(pre, 0.0)))

    if B(0.0) <= 0.0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        bps = np.where(nw > 0, np.abs(p) / nw, np.inf)
    bps = np.unique(bps[np.isfinite(bps) & (bps > 0)])
    lo, blo = 0.0, B(0.0)
    for r in bps:
        br = B(r)
        if br <= 0.0:
            return lo + (r - lo) * blo / (blo - br)  # B is linear on [lo, r]
        lo, blo = r, br
    slope = B(lo + 1.0) - blo  # B is linear past its last breakpoint
    return np.inf if slope >= 0.0 else lo + blo / -slope


def certified_radius(model, params, X, y) -> np.ndarray:
    r"""Certified l2 robustness radius of a two-layer ReLU net at each point (module docstring).

    ``r*_n = sup{r : B_n(r) > 0}`` with the interval lower bound ``B_n(r) <= min_{||δ|| <= r}
    y_n f(x_n + δ)``: no perturbation of norm ``< r*_n`` flips the sign of ``y_n f(x_n)``. A
    lower bound on the true minimal perturbation, exact when flipping one unit is the cheapest
    attack (e.g. a single unit: ``r* = |w^T x + b| / ||w||``, the distance to its hyperplane).

    Args:
        model: a two-layer ReLU :class:`~implicit_bias.models.MLP` (one output) or
            :class:`~implicit_bias.models.ShallowReLU` (no skip); see :func:`two_layer_parts`.
        params: its parameters.
        X: points ``(N, d)``.
        y: labels ``(N,)`` in ``{-1, +1}``.

    Returns:
        ``(N,)`` radii: 0 where ``y_n f(x_n) <= 0``, ``inf`` where no perturbation can flip.

    Raises:
        ValueError: another model, bad shapes or labels.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import MLP
        >>> from implicit_bias.theory import certified_radius
        >>> m = MLP(2, (1,), bias="first")           # f(x) = [3 x_1 + 4 x_2 - 5]_+
        >>> p = {"W1": np.array([[3.0, 4.0]]), "b1": np.array([-5.0]), "W2": np.array([[1.0]])}
        >>> certified_radius(m, p, np.array([[3.0, 4.0]]), np.array([1.0])).tolist()   # (25 - 5)/5
        [4.0]
    """
    W, b, a, c = two_layer_parts(model, params)
    X, y = check_classification_data(X, y)
    if X.shape[1] != W.shape[1]:
        raise ValueError(f"certified_radius: X must have shape (N, {W.shape[1]}) (the model's input dimension); received {X.shape}")
    P = X @ W.T + b[None, :]
    nw = np.linalg.norm(W, axis=1)
    return np.array([_root(P[n], nw, y[n] * a, y[n] * c) for n in range(X.shape[0])])
