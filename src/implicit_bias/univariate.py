r"""Function-space tools for univariate shallow ReLU networks (layer 0: numpy and jax only).

One home for what theory, algorithms, diagnostics and experiments need to know about the
*function* a univariate net computes. Parameters are the plain dict of
``implicit_bias.models.ShallowReLU(k, input_dim=1[, skip=True])``,
``{"w1" (k, 1), "b1" (k,), "w2" (k,), "b2" ()}`` plus ``"skip" (1,)``; this module does not
import the models (it sits below them), it validates the dict itself.

A network ``f(x) = sum_i w2_i relu(w1_i x + b1_i) + b2 [+ skip x]`` is piecewise linear. Unit
``i`` with ``w1_i != 0`` has its knot at ``x_i = -b1_i / w1_i`` and changes the slope there by
``c_i = |w1_i| w2_i`` (right slope minus left slope, whatever the sign of ``w1_i``), so in the
weak sense

    f''(x) = sum_i c_i delta(x - x_i),    c_i = w2_i |w1_i|.

Units with ``w1_i = 0`` are constant (``w2_i relu(b1_i)``) and have no knot; the skip term is
linear and has no curvature. Several units can share a knot: the measure ``|f''|`` then has mass
``|sum of their c_i|`` there, which ``curvature_measure`` obtains by merging knots closer than
``merge_tol * (1 + |x|)``. mulayoff2021 Thms 1-2 bound ``int |f''(x)| g(x) dx`` (eq. (21)),
``weighted_curvature`` here, for stable minima; their Figs. 1 and 3 plot a smoothed ``|f''|``
(``smoothed_abs_f2``).

Contents: the curvature measure (``knots``, ``slope_jumps``, ``merge_knots``,
``curvature_measure``, ``weighted_curvature``, ``n_linear_regions``, ``smoothed_abs_f2``);
evaluation (``evaluate``, batched over leading axes of the params); the affine part and
zero-padded batches of several widths (``fit_affine``, ``pad_units``, ``unpad_units``,
``active_width``), and for any input dimension and activation ``[.]_+^k``
(``evaluate_power_net``, ``fit_affine_power``). What builds on them lives above: the mulayoff2021 weight ``g`` and bounds in
:mod:`implicit_bias.theory.stability`, the width-scaled GD in
:mod:`implicit_bias.algorithms` (``WidthScaledGD``), the ReLU kernels in
:mod:`implicit_bias.theory.relu_kernels`. ``implicit_bias.diagnostics`` re-exports the
curvature tools and ``evaluate`` under the same names.

Example:
    >>> from implicit_bias.univariate import curvature_measure, weighted_curvature
    >>> p = {"w1": [[2.0], [-1.0]], "b1": [-1.0, 1.0], "w2": [3.0, 0.5], "b2": 0.0}
    >>> x, c = curvature_measure(p)
    >>> x.tolist(), c.tolist()
    ([0.5, 1.0], [6.0, 0.5])
    >>> weighted_curvature(p, lambda t: t)   # 6 * 0.5 + 0.5 * 1
    3.5
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "knots",
    "slope_jumps",
    "merge_knots",
    "curvature_measure",
    "weighted_curvature",
    "n_linear_regions",
    "smoothed_abs_f2",
    "evaluate",
    "fit_affine",
    "pad_units",
    "unpad_units",
    "active_width",
    "evaluate_power_net",
    "fit_affine_power",
]

_SHAPES = "{'w1' (k, 1), 'b1' (k,), 'w2' (k,), 'b2' ()} [+ 'skip' (1,)]"


def _params(params, *, batched: bool = False) -> dict:
    """Validated univariate shallow ReLU params as float64 numpy arrays.

    With ``batched`` the arrays may carry common leading axes ``(...)``: ``w1 (..., k, 1)``,
    ``b1, w2 (..., k)``, ``b2 (...)``, ``skip (..., 1)``. Raises ``ValueError`` naming the field,
    the expected and the received shape (as ``models.check_params``).
    """
    if not isinstance(params, Mapping) or "w1" not in params:
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"params must be a shallow ReLU parameter dict {_SHAPES}; received {got}")
    expected = {"w1", "b1", "w2", "b2"} | ({"skip"} & set(params))
    unknown = set(params) - expected
    if unknown:
        raise ValueError(f"unknown parameter name(s) {sorted(unknown)} for a univariate shallow ReLU net; expected {_SHAPES}")
    missing = expected - set(params)
    if missing:
        raise ValueError(f"missing parameter(s) {sorted(missing)} for a univariate shallow ReLU net; expected {_SHAPES}")
    p = {k: np.asarray(params[k], dtype=np.float64) for k in expected}
    shape = p["w1"].shape
    ok = len(shape) >= 2 and shape[-1] == 1 and shape[-2] >= 1 and (batched or len(shape) == 2)
    if not ok:
        raise ValueError(f"univariate tools need input_dim 1: 'w1' must have shape {'(..., k, 1)' if batched else '(k, 1)'} with k >= 1; received shape {shape}")
    lead = shape[:-2]
    want = {"b1": shape[:-1], "w2": shape[:-1], "b2": lead, "skip": lead + (1,)}
    for k in p:
        if k != "w1" and p[k].shape != want[k]:
            raise ValueError(f"parameter {k!r} has shape {p[k].shape}; with 'w1' of shape {shape} it must be {want[k]}")
        if not np.all(np.isfinite(p[k])):
            raise ValueError(f"parameter {k!r} contains NaN or Inf")
    return p


def _points(x) -> np.ndarray:
    xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if xs.ndim != 1:
        raise ValueError(f"x must be a scalar or one-dimensional (N,); received shape {xs.shape}")
    return xs


# ----------------------------------------------------------------------------------------
# f'' as a measure
# ----------------------------------------------------------------------------------------


def knots(params) -> np.ndarray:
    """Knot ``x_i = -b1_i / w1_i`` of every unit with ``w1_i != 0``, in unit order, shape ``(m,)``.

    Unmerged and unsorted; ``curvature_measure`` gives the knots of ``f`` (merged, sorted).

    Example:
        >>> from implicit_bias.univariate import knots
        >>> knots({"w1": [[2.0], [0.0], [-1.0]], "b1": [-1.0, 5.0, 1.0], "w2": [1.0, 1.0, 1.0], "b2": 0.0}).tolist()
        [0.5, 1.0]
    """
    p = _params(params)
    w, b = p["w1"][:, 0], p["b1"]
    on = w != 0
    return -b[on] / w[on]


def slope_jumps(params) -> np.ndarray:
    """Slope jump ``c_i = |w1_i| w2_i`` at each knot of ``knots(params)`` (same order), ``(m,)``.

    ``c_i = f'(x_i+) - f'(x_i-)`` for the unit alone (mulayoff2021 eq. (18) network).

    Example:
        >>> from implicit_bias.univariate import slope_jumps
        >>> slope_jumps({"w1": [[2.0], [-1.0]], "b1": [0.0, 0.0], "w2": [3.0, -1.0], "b2": 0.0}).tolist()
        [6.0, -1.0]
    """
    p = _params(params)
    w, a = p["w1"][:, 0], p["w2"]
    on = w != 0
    return np.abs(w[on]) * a[on]


def merge_knots(x, c, merge_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Sort knots ``x (K,)`` with jumps ``c (K,)`` and merge coincident ones.

    Chains of knots closer than ``merge_tol * (1 + |x|)`` to their neighbour become one knot at
    their mean with the summed jump; merged knots whose jump is exactly 0 are dropped.

    Example:
        >>> from implicit_bias.univariate import merge_knots
        >>> [a.tolist() for a in merge_knots([1.0, 0.0, 1.0], [2.0, -1.0, -2.0])]
        [[0.0], [-1.0]]
    """
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
        >>> from implicit_bias.univariate import curvature_measure
        >>> p = {"w1": [[1.0], [2.0], [1.0]], "b1": [-1.0, -2.0, 0.0], "w2": [1.0, 0.5, -2.0], "b2": 0.0}
        >>> [a.tolist() for a in curvature_measure(p)]   # units 0 and 1 share the knot x = 1
        [[0.0, 1.0], [-2.0, 2.0]]
    """
    return merge_knots(knots(params), slope_jumps(params), merge_tol)


def weighted_curvature(knots, jumps=None, g: Callable | None = None, *, merge_tol: float = 1e-9) -> float:
    r"""``int |f''(x)| g(x) dx = sum_j |c_j| g(x_j)`` over the merged knots (mulayoff2021 eq. (21)).

    Two call forms: ``weighted_curvature(params, g)`` for a univariate shallow ReLU net (knots
    and jumps from :func:`knots` and :func:`slope_jumps`), or ``weighted_curvature(knots, jumps,
    g)`` for any piecewise-linear ``f``. Knots closer than ``merge_tol * (1 + |x|)`` are merged
    first (:func:`merge_knots`: their jumps add before the absolute value, so two units with
    opposite jumps at one knot cancel).

    The tolerance ``1e-9`` is the one of every knot tool here (``curvature_measure``,
    ``n_linear_regions``, ``smoothed_abs_f2``), so the sum runs over exactly the knots
    ``curvature_measure`` reports. (``ib.theory.weighted_curvature`` used ``1e-12`` before the
    two were made one; no check depends on the difference: the experiments called the
    ``1e-9`` one, and knots of trained nets are ``O(1)`` apart or equal to round-off, which both
    merge.)

    Args:
        knots: knot locations ``(K,)``; or univariate shallow ReLU params (then pass ``g``
            second, or as ``g=``, and no ``jumps``).
        jumps: jumps of ``f'`` at the knots ``(K,)``.
        g: weight function, vectorised: ``g(x (L,)) -> (L,)`` (e.g. mulayoff2021 eq. (22),
            :func:`implicit_bias.theory.empirical_weight_function`, which
            ``ib.theory.weighted_curvature`` also builds from a training sample).
        merge_tol: relative tolerance for coincident knots.

    Returns:
        The weighted L1 norm of ``f''`` (a float; 0 for a linear ``f``).

    Raises:
        ValueError: params with ``jumps``, no ``g``, a ``g`` that is not vectorised, or params
            that are not univariate.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.univariate import weighted_curvature
        >>> p = {"w1": [[1.0], [1.0]], "b1": [0.0, 0.0], "w2": [1.0, -1.0], "b2": 0.0}
        >>> weighted_curvature(p, np.ones_like)   # the two units cancel: f is 0
        0.0
        >>> weighted_curvature([0.5, -0.5], [2.0, 1.0], np.abs)
        1.5
    """
    if isinstance(knots, Mapping):
        if jumps is not None and g is None:
            jumps, g = None, jumps  # weighted_curvature(params, g)
        if jumps is not None:
            raise ValueError("weighted_curvature: pass either (knots, jumps, g) or (params, g), not params with jumps")
        x, c = curvature_measure(knots, merge_tol)
    else:
        if jumps is None:
            raise ValueError("weighted_curvature: with knot locations, pass their jumps too: weighted_curvature(knots, jumps, g)")
        x, c = merge_knots(knots, jumps, merge_tol)
    if g is None:
        raise ValueError("weighted_curvature needs the weight g (a vectorised callable, e.g. a theory.WeightFunction)")
    if not callable(g):
        raise ValueError(f"weighted_curvature: g must be a vectorised callable; received {type(g).__name__} (ib.theory.weighted_curvature also takes a training sample)")
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
        >>> from implicit_bias.univariate import n_linear_regions
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
        >>> from implicit_bias.univariate import smoothed_abs_f2
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


# ----------------------------------------------------------------------------------------
# evaluation, the affine part, zero-padded batches
# ----------------------------------------------------------------------------------------


def evaluate(params, x) -> np.ndarray:
    """``f(x)`` (skip term included) at points ``x`` (scalar or ``(P,)``), in numpy float64.

    ``params`` may be batched on common leading axes (``w1 (..., k, 1)``, ``b1, w2 (..., k)``,
    ``b2 (...)``, ``skip (..., 1)``, e.g. a recorded trajectory): the result is then
    ``(..., P)``, else ``(P,)``. The same function as ``ShallowReLU(k, skip=...).apply`` up to
    summation order (round-off).

    Example:
        >>> from implicit_bias.univariate import evaluate
        >>> p = {"w1": [[2.0], [-1.0]], "b1": [-1.0, 1.0], "w2": [3.0, 0.5], "b2": 0.25, "skip": [1.0]}
        >>> evaluate(p, [0.0, 1.0]).tolist()   # 0.5 + 0.25 + 0;  3 + 0.25 + 1
        [0.75, 4.25]
    """
    p = _params(params, batched=True)
    x = _points(x)
    w1, b1, w2 = p["w1"][..., 0], p["b1"], p["w2"]
    pre = x[..., :, None] * w1[..., None, :] + b1[..., None, :]
    out = np.einsum("...pk,...k->...p", np.maximum(pre, 0.0), w2) + p["b2"][..., None]
    if "skip" in p:
        out = out + x * p["skip"][..., :1]
    return out


def fit_affine(params, X, y) -> dict:
    """``params`` with the affine part ``(skip, b2)`` set to the least-squares fit of ``y - f_hidden(X)``.

    ``f_hidden(x) = sum_i w2_i relu(w1_i x + b1_i)``; ``X (M, 1)`` or ``(M,)``, ``y (M,)``. Returns a
    new dict of float64 numpy arrays with ``"skip" (1,)`` and ``"b2" ()`` (added if absent).

    Example:
        >>> from implicit_bias.univariate import fit_affine
        >>> p = fit_affine({"w1": [[1.0]], "b1": [0.0], "w2": [0.0], "b2": 0.0}, [[0.0], [1.0]], [1.0, 3.0])
        >>> [round(float(p["skip"][0]), 12), round(float(p["b2"]), 12)]   # y = 2 x + 1
        [2.0, 1.0]
    """
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x = np.asarray(X, dtype=np.float64).reshape(-1)
    F = np.maximum(x[:, None] * p["w1"][None, :, 0] + p["b1"][None, :], 0.0) @ p["w2"]
    D = np.stack([x, np.ones(x.size)], axis=1)
    coef = np.linalg.lstsq(D, np.asarray(y, dtype=np.float64) - F, rcond=None)[0]
    p["skip"], p["b2"] = coef[:1], np.asarray(coef[1])
    return p


def pad_units(params, width: int) -> dict:
    """Append zero hidden units up to ``width`` (they have zero gradients under GD and stay zero).

    Nets of several widths padded to one width train as one vmapped batch; :func:`unpad_units`
    removes the padding and :func:`active_width` counts the units that are not padding.

    Example:
        >>> from implicit_bias.univariate import pad_units, unpad_units
        >>> p = pad_units({"w1": [[1.0]], "b1": [0.5], "w2": [2.0], "b2": 0.0}, 3)
        >>> p["w2"].tolist(), unpad_units(p)["w2"].tolist()
        ([2.0, 0.0, 0.0], [2.0])
    """
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    k = p["w2"].size
    if width < k:
        raise ValueError(f"pad_units: width {width} < current width {k}")
    extra = width - k
    p["w1"] = np.concatenate([p["w1"], np.zeros((extra, p["w1"].shape[1]))])
    p["b1"] = np.concatenate([p["b1"], np.zeros(extra)])
    p["w2"] = np.concatenate([p["w2"], np.zeros(extra)])
    return p


def unpad_units(params) -> dict:
    """Drop the units that are identically zero (``w1_i = 0``, ``b1_i = 0``, ``w2_i = 0``), as added by :func:`pad_units`."""
    p = {k: np.asarray(v) for k, v in params.items()}
    on = (p["w2"] != 0) | np.any(p["w1"] != 0, axis=-1) | (p["b1"] != 0)
    p["w1"], p["b1"], p["w2"] = p["w1"][on], p["b1"][on], p["w2"][on]
    return p


def active_width(params) -> jax.Array:
    """Number of hidden units that are not identically zero (zero-padded units are not counted); jit-compatible."""
    return jnp.sum((params["w2"] != 0) | jnp.any(params["w1"] != 0, axis=-1) | (params["b1"] != 0))


# ----------------------------------------------------------------------------------------
# the same for ShallowReLU(k, input_dim=d, skip=True, activation="relu" | "relu_power:p"), any d
# ----------------------------------------------------------------------------------------


def _inputs(x, params) -> np.ndarray:
    d = np.asarray(params["w1"]).shape[1]
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(-1, 1) if d == 1 else x.reshape(-1, d)


def evaluate_power_net(params, x, k: int = 1) -> np.ndarray:
    r"""``f(x) = sum_i w2_i [<w1_i, x> + b1_i]_+^k + b2 [+ <skip, x>]`` in numpy float64, any input dimension ``d``.

    ``params``: the dict of ``ShallowReLU(n, input_dim=d[, skip=True], activation=...)``
    (``w1 (n, d)``); ``x``: ``(P,)`` for ``d = 1``, else ``(P, d)``; ``k``: the activation's degree
    (1 = ReLU, ``models.activation_degree``). Returns ``(P,)``; the same function as the model's
    ``apply`` up to summation order. (Not batched over params; :func:`evaluate` is, for ReLU, d = 1.)

    Example:
        >>> from implicit_bias.univariate import evaluate_power_net
        >>> p = {"w1": [[1.0, 0.0]], "b1": [0.5], "w2": [2.0], "b2": 0.0, "skip": [0.0, 1.0]}
        >>> evaluate_power_net(p, [[1.0, 3.0]], k=2).tolist()   # 2 * 1.5^2 + 3
        [7.5]
    """
    p = {key: np.asarray(v, dtype=np.float64) for key, v in params.items()}
    X = _inputs(x, p)
    out = np.maximum(X @ p["w1"].T + p["b1"][None, :], 0.0) ** k @ p["w2"] + p["b2"]
    return out + X @ p["skip"] if "skip" in p else out


def fit_affine_power(params, X, y, k: int = 1) -> dict:
    """``params`` with ``(skip, b2)`` the least-squares fit of ``y - f_hidden(X)`` on ``[X, 1]``, any input dimension ``d``.

    ``f_hidden(x) = sum_i w2_i [<w1_i, x> + b1_i]_+^k``; ``X (M, d)`` (or ``(M,)`` for ``d = 1``),
    ``y (M,)``. For ``d = 1``, ``k = 1`` the same as :func:`fit_affine`. Returns a new dict of
    float64 numpy arrays with ``"skip" (d,)`` and ``"b2" ()``.

    Example:
        >>> from implicit_bias.univariate import fit_affine_power
        >>> p = {"w1": [[1.0, 0.0]], "b1": [0.0], "w2": [0.0], "b2": 0.0}
        >>> q = fit_affine_power(p, [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], [1.0, 3.0, 0.0], k=2)
        >>> [round(float(v), 12) for v in (*q["skip"], q["b2"])]   # y = 2 x1 - x2 + 1
        [2.0, -1.0, 1.0]
    """
    p = {key: np.asarray(v, dtype=np.float64) for key, v in params.items()}
    Xn = _inputs(X, p)
    F = np.maximum(Xn @ p["w1"].T + p["b1"][None, :], 0.0) ** k @ p["w2"]
    coef = np.linalg.lstsq(np.concatenate([Xn, np.ones((Xn.shape[0], 1))], 1), np.asarray(y, dtype=np.float64) - F, rcond=None)[0]
    p["skip"], p["b2"] = coef[:-1], np.asarray(coef[-1])
    return p
