"""Function-space tools for univariate shallow ReLU networks (mulayoff2021 §3).

A network ``f(x) = sum_i w2_i relu(w1_i x + b1_i) + b2 [+ skip x]`` (params of
``implicit_bias.models.ShallowReLU`` with ``input_dim = 1``) is piecewise linear. Unit ``i``
with ``w1_i != 0`` has its knot at ``x_i = -b1_i / w1_i`` and changes the slope there by
``c_i = |w1_i| w2_i`` (right slope minus left slope, whatever the sign of ``w1_i``), so in the
weak sense

    f''(x) = sum_i c_i delta(x - x_i),    c_i = w2_i |w1_i|.

Units with ``w1_i = 0`` are constant (``w2_i relu(b1_i)``) and have no knot; the skip term is
linear and has no curvature. Several units can share a knot: the measure ``|f''|`` then has mass
``|sum of their c_i|`` there, which ``curvature_measure`` obtains by merging knots closer than
``merge_tol * (1 + |x|)``. mulayoff2021 Thms 1-2 bound ``int |f''(x)| g(x) dx`` (eq. (21)),
``weighted_curvature`` here, for stable minima; their Figs. 1 and 3 plot a smoothed ``|f''|``
(``smoothed_abs_f2``).

Example:
    >>> from implicit_bias.diagnostics import curvature_measure, weighted_curvature
    >>> p = {"w1": [[2.0], [-1.0]], "b1": [-1.0, 1.0], "w2": [3.0, 0.5], "b2": 0.0}
    >>> x, c = curvature_measure(p)
    >>> x.tolist(), c.tolist()
    ([0.5, 1.0], [6.0, 0.5])
    >>> weighted_curvature(p, lambda t: t)   # 6 * 0.5 + 0.5 * 1
    3.5
"""

from __future__ import annotations

from typing import Callable

import jax.numpy as jnp
import numpy as np

from ..models import ShallowReLU, check_params

__all__ = [
    "knots",
    "slope_jumps",
    "curvature_measure",
    "weighted_curvature",
    "n_linear_regions",
    "smoothed_abs_f2",
    "evaluate",
]


def _net(params) -> tuple[ShallowReLU, dict]:
    """The univariate model matching ``params`` and the validated params (numpy float64)."""
    if not isinstance(params, dict) or "w1" not in params:
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a shallow ReLU parameter dict {{'w1' (k, 1), 'b1' (k,), 'w2' (k,), 'b2' ()}} [+ 'skip' (1,)]; received {got}")
    shape = np.shape(params["w1"])
    if len(shape) != 2 or shape[1] != 1 or shape[0] < 1:
        raise ValueError(f"univariate tools need input_dim 1: 'w1' must have shape (k, 1) with k >= 1; received shape {shape}")
    model = ShallowReLU(shape[0], skip="skip" in params)
    return model, {k: np.asarray(v) for k, v in check_params(model, params).items()}


def knots(params) -> np.ndarray:
    """Knot ``x_i = -b1_i / w1_i`` of every unit with ``w1_i != 0``, in unit order, shape ``(m,)``.

    Unmerged and unsorted; ``curvature_measure`` gives the knots of ``f`` (merged, sorted).

    Example:
        >>> from implicit_bias.diagnostics import knots
        >>> knots({"w1": [[2.0], [0.0], [-1.0]], "b1": [-1.0, 5.0, 1.0], "w2": [1.0, 1.0, 1.0], "b2": 0.0}).tolist()
        [0.5, 1.0]
    """
    _, p = _net(params)
    w, b = p["w1"][:, 0], p["b1"]
    on = w != 0
    return -b[on] / w[on]


def slope_jumps(params) -> np.ndarray:
    """Slope jump ``c_i = |w1_i| w2_i`` at each knot of ``knots(params)`` (same order), ``(m,)``.

    ``c_i = f'(x_i+) - f'(x_i-)`` for the unit alone (mulayoff2021 eq. (18) network).

    Example:
        >>> from implicit_bias.diagnostics import slope_jumps
        >>> slope_jumps({"w1": [[2.0], [-1.0]], "b1": [0.0, 0.0], "w2": [3.0, -1.0], "b2": 0.0}).tolist()
        [6.0, -1.0]
    """
    _, p = _net(params)
    w, a = p["w1"][:, 0], p["w2"]
    on = w != 0
    return np.abs(w[on]) * a[on]


def curvature_measure(params, merge_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """``f'' = sum_j c_j delta(x - x_j)`` as sorted knots ``x (L,)`` and jumps ``c (L,)``.

    Knots closer than ``merge_tol * (1 + |x|)`` to their neighbour are merged (chains are merged
    whole) into one knot at their mean position with the summed jump; merged knots whose jump
    is exactly 0 are dropped (e.g. units with ``w2_i = 0``).

    Args:
        params: univariate shallow ReLU params (``w1 (k, 1)``, ``b1``, ``w2``, ``b2`` [, ``skip``]).
        merge_tol: relative tolerance for coincident knots (``0`` merges exact ties only).

    Returns:
        ``(x, c)``: knot positions, increasing, and slope jumps ``f'(x_j+) - f'(x_j-)``.

    Example:
        >>> from implicit_bias.diagnostics import curvature_measure
        >>> p = {"w1": [[1.0], [2.0], [1.0]], "b1": [-1.0, -2.0, 0.0], "w2": [1.0, 0.5, -2.0], "b2": 0.0}
        >>> [a.tolist() for a in curvature_measure(p)]   # units 0 and 1 share the knot x = 1
        [[0.0, 1.0], [-2.0, 2.0]]
    """
    return merge_knots(knots(params), slope_jumps(params), merge_tol)


def merge_knots(x, c, merge_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Sort knots ``x (K,)`` with jumps ``c (K,)`` and merge coincident ones (as
    :func:`curvature_measure`): chains closer than ``merge_tol * (1 + |x|)`` become one knot at
    their mean with the summed jump; zero jumps are dropped."""
    if not merge_tol >= 0:
        raise ValueError(f"merge_tol must be >= 0; received {merge_tol!r}")
    x, c = np.asarray(x, dtype=np.float64).ravel(), np.asarray(c, dtype=np.float64).ravel()
    if x.shape != c.shape:
        raise ValueError(f"knots and jumps must have the same length; received {x.shape} and {c.shape}")
    order = np.argsort(x, kind="stable")
    x, c = x[order], c[order]
    if x.size == 0:
        return x, c
    new = np.concatenate([[True], np.diff(x) > merge_tol * (1.0 + np.abs(x[1:]))])
    group = np.cumsum(new) - 1
    n = group[-1] + 1
    xm = np.bincount(group, weights=x, minlength=n) / np.bincount(group, minlength=n)
    cm = np.bincount(group, weights=c, minlength=n)
    keep = cm != 0
    return xm[keep], cm[keep]


def weighted_curvature(params, g: Callable, merge_tol: float = 1e-9) -> float:
    """``int |f''(x)| g(x) dx = sum_j |c_j| g(x_j)`` over the merged knots (mulayoff2021 eq. (21)).

    Args:
        params: univariate shallow ReLU params.
        g: weight function, vectorised: ``g(x (L,)) -> (L,)`` (e.g. mulayoff2021 eq. (22)).
        merge_tol: as in ``curvature_measure``.

    Returns:
        The weighted L1 norm of ``f''`` (a float; 0 for a linear ``f``).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics import weighted_curvature
        >>> p = {"w1": [[1.0], [1.0]], "b1": [0.0, 0.0], "w2": [1.0, -1.0], "b2": 0.0}
        >>> weighted_curvature(p, np.ones_like)   # the two units cancel: f is 0
        0.0
    """
    x, c = curvature_measure(params, merge_tol)
    if x.size == 0:
        return 0.0
    gx = np.asarray(g(x), dtype=np.float64)
    if gx.shape != x.shape:
        raise ValueError(f"g must be vectorised, mapping knots of shape {x.shape} to weights of the same shape; received shape {gx.shape}")
    return float(np.sum(np.abs(c) * gx))


def n_linear_regions(params, x_range: tuple[float, float] | None = None, tol: float = 1e-9, merge_tol: float = 1e-9) -> int:
    """Number of linear pieces of ``f``: ``1 +`` the merged knots with ``|c_j| > tol``.

    With ``x_range = (lo, hi)`` only knots with ``lo < x_j < hi`` count (the pieces of ``f``
    restricted to ``[lo, hi]``). ``tol`` is an absolute slope change; choose it relative to the
    scale of ``f'`` in your problem.

    Example:
        >>> from implicit_bias.diagnostics import n_linear_regions
        >>> p = {"w1": [[2.0], [-1.0]], "b1": [-1.0, 1.0], "w2": [3.0, 0.5], "b2": 0.0}
        >>> n_linear_regions(p), n_linear_regions(p, x_range=(0.0, 0.8))
        (3, 2)
    """
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0; received {tol!r}")
    x, c = curvature_measure(params, merge_tol)
    on = np.abs(c) > tol
    if x_range is not None:
        lo, hi = (float(v) for v in x_range)
        if not lo < hi:
            raise ValueError(f"x_range must be (lo, hi) with lo < hi; received {x_range!r}")
        on &= (x > lo) & (x < hi)
    return 1 + int(np.sum(on))


def smoothed_abs_f2(params, x_grid, bandwidth: float, merge_tol: float = 1e-9) -> np.ndarray:
    """``|f''|`` convolved with a Gaussian kernel: ``sum_j |c_j| phi_h(x - x_j)`` on ``x_grid``.

    ``phi_h`` is the normal density with standard deviation ``h = bandwidth``, so the result
    integrates to ``int |f''| = sum_j |c_j|`` (total variation of ``f'``); it is the "smoothed
    ``|f''(x)|``" plotted in mulayoff2021 Figs. 1(c) and 3(b).

    Args:
        params: univariate shallow ReLU params.
        x_grid: points ``(G,)``.
        bandwidth: kernel standard deviation ``h > 0`` (same unit as ``x``).
        merge_tol: as in ``curvature_measure``.

    Returns:
        ``(G,)`` array.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics import smoothed_abs_f2
        >>> p = {"w1": [[1.0]], "b1": [0.0], "w2": [2.0], "b2": 0.0}
        >>> s = smoothed_abs_f2(p, np.array([0.0]), bandwidth=1.0)
        >>> round(float(s[0]), 6)   # 2 / sqrt(2 pi)
        0.797885
    """
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be > 0; received {bandwidth!r}")
    grid = np.asarray(x_grid, dtype=np.float64)
    if grid.ndim != 1:
        raise ValueError(f"x_grid must be one-dimensional (G,); received shape {grid.shape}")
    x, c = curvature_measure(params, merge_tol)
    z = (grid[:, None] - x[None, :]) / bandwidth
    return np.exp(-0.5 * z**2) @ np.abs(c) / (np.sqrt(2.0 * np.pi) * bandwidth)


def evaluate(params, x) -> np.ndarray:
    """``f(x)`` for univariate params (skip term included) at points ``x`` (scalar or ``(N,)``) -> ``(N,)``.

    Example:
        >>> from implicit_bias.diagnostics import evaluate
        >>> p = {"w1": [[2.0], [-1.0]], "b1": [-1.0, 1.0], "w2": [3.0, 0.5], "b2": 0.25, "skip": [1.0]}
        >>> evaluate(p, [0.0, 1.0]).tolist()   # 0.5 + 0.25 + 0;  3 + 0.25 + 1
        [0.75, 4.25]
    """
    model, p = _net(params)
    xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if xs.ndim != 1:
        raise ValueError(f"x must be a scalar or one-dimensional (N,); received shape {xs.shape}")
    return np.asarray(model.apply({k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(xs)[:, None]))
