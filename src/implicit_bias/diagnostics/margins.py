r"""Margin diagnostics for linear classifiers: directions, sphere coordinates, excess l1 norm,
support vectors along a path, and the stability condition of moroshko2020 (Condition 5).

These functions take a predictor ``w`` of shape ``(d,)`` or a recorded trajectory / path of
predictors ``W`` of shape ``(T, d)`` (any leading batch shape ``(..., d)`` works), the data
``X`` ``(N, d)`` and labels ``y`` ``(N,)`` in ``{-1, +1}``. The margin of sample ``n`` is
``y_n x_n^T w`` and ``gamma(w) = min_n y_n x_n^T w`` (moroshko2020 §2). They serve the
moroshko2020 experiments (Figs. 3-5) and a user's own runs alike; the predictions they are
compared with come from :mod:`implicit_bias.theory.margins` (max-margin in a norm) and
:mod:`implicit_bias.theory.diagonal_margins` (the Q^D_mu path, l_{2/D} stationary points).

Results are float64 NumPy arrays; nothing here trains or imports :mod:`implicit_bias.algorithms`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .._norms import parse_norm as _parse_norm
from ..theory.diagonal_margins import q_mu_max_margin, q_mu_path
from ..theory.margins import max_margin

__all__ = [
    "normalized_predictor",
    "margin_normalized",
    "azimuth_pitch",
    "from_azimuth_pitch",
    "excess_l1_norm",
    "first_crossing",
    "support_vectors",
    "SupportChange",
    "support_changes",
    "support_change_points",
    "Condition5Check",
    "condition5_holds",
    "condition5_ratio",
]


# ----------------------------------------------------------------------------------------
# Input helpers
# ----------------------------------------------------------------------------------------


def _predictors(w, name="w", d=None) -> np.ndarray:
    """``w`` as a float64 array ``(..., d)`` (at least 1-D), finite, matching ``d`` if given."""
    try:
        a = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers of shape (d,) or (T, d); received {type(w).__name__}") from None
    if a.ndim == 0 or a.shape[-1] == 0:
        raise ValueError(f"{name} must have shape (d,) or (..., d) with d >= 1; received shape {a.shape}")
    if d is not None and a.shape[-1] != d:
        raise ValueError(f"{name} must have last dimension d = {d} to match X with {d} columns; received shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or Inf")
    return a


def _data(X, y):
    """Validated ``X (N, d)`` and ``y (N,)`` in ``{-1, +1}``, float64."""
    try:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("X and y must be arrays of numbers: X of shape (N, d), y of shape (N,)") from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be 2-D (N, d) with N, d >= 1; received shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X; received shape {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must not contain NaN or Inf")
    bad = ~((y == 1.0) | (y == -1.0))
    if np.any(bad):
        raise ValueError(f"y must contain only the labels -1 and +1; received other values {np.unique(y[bad])[:5].tolist()}")
    return X, y


def _default_grid(X, y) -> np.ndarray:
    """The default grid of :func:`~implicit_bias.theory.diagonal_margins.q_mu_path` (documented there)."""
    return np.geomspace(1e3, 1e-6, 91) * float(np.max(np.abs(max_margin(X, y, "l2").w)))


def _margins(X, y, W) -> np.ndarray:
    """``(..., N)``: ``y_n x_n^T w`` for every predictor."""
    return W @ (y[:, None] * X).T


# ----------------------------------------------------------------------------------------
# Normalisations
# ----------------------------------------------------------------------------------------


def normalized_predictor(w, norm="l2") -> np.ndarray:
    r"""The direction ``w / ||w||`` of a predictor or of each row of a trajectory.

    The decision boundary of a linear classifier depends only on this direction; moroshko2020
    plots ``w(t) / ||w(t)||_2`` on the sphere (Figs. 3-4).

    Args:
        w: ``(d,)`` or ``(..., d)``, no zero rows.
        norm: ``"l2"`` (default), ``"l1"``, ``"linf"``, a number ``p >= 1`` or ``"lp:P"``.

    Returns:
        Array of the shape of ``w`` with unit ``norm`` along the last axis.

    Raises:
        ValueError: a zero row, NaN/Inf, or an unknown norm.

    Example:
        >>> from implicit_bias.diagnostics.margins import normalized_predictor
        >>> normalized_predictor([3.0, 4.0]).tolist()
        [0.6, 0.8]
    """
    W = _predictors(w)
    _, p, _ = _parse_norm(norm)
    n = np.linalg.norm(W, ord=p, axis=-1, keepdims=True)
    if np.any(n == 0):
        raise ValueError("cannot normalize a zero predictor: w (or a row of it) is the zero vector")
    return W / n


def margin_normalized(X, y, w) -> np.ndarray:
    r"""``w / gamma(w)`` with ``gamma(w) = min_n y_n x_n^T w``: the predictor rescaled to smallest margin 1.

    This is moroshko2020's ``\hat w = w(T) / gamma(T)`` (§4), the normalisation under which the
    max-margin problems ``min ||w|| s.t. y_n x_n^T w >= 1`` are stated.

    Args:
        X: data ``(N, d)``.
        y: labels in ``{-1, +1}``, ``(N,)``.
        w: ``(d,)`` or ``(..., d)``, every row separating the data (``gamma > 0``).

    Returns:
        Array of the shape of ``w``.

    Raises:
        ValueError: bad inputs, or a row with ``gamma(w) <= 0`` (it does not separate the data;
            the message gives the first such row).
    """
    X, y = _data(X, y)
    W = _predictors(w, d=X.shape[1])
    g = _margins(X, y, W).min(axis=-1, keepdims=True)
    bad = g[..., 0] <= 0
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0]) if W.ndim > 1 else ()
        raise ValueError(
            f"w{list(first) if first else ''} does not separate the data (smallest margin {float(g[..., 0][bad].reshape(-1)[0]):.3g} <= 0): "
            "only separating predictors can be rescaled to margin 1"
        )
    return W / g


# ----------------------------------------------------------------------------------------
# Coordinates on the sphere (d = 3)
# ----------------------------------------------------------------------------------------


def _frame(reference, up):
    """Orthonormal right-handed frame ``(e1, e2, e3)``: ``e1 = reference``, ``e3`` towards ``up``."""
    if reference is None:
        if up is not None:
            raise ValueError("up needs a reference direction; pass reference=... as well")
        return np.eye(3)
    e1 = _predictors(reference, "reference", 3)
    if e1.ndim != 1:
        raise ValueError(f"reference must have shape (3,); received shape {e1.shape}")
    n1 = np.linalg.norm(e1)
    if n1 == 0:
        raise ValueError("reference must be nonzero")
    e1 = e1 / n1
    if up is None:
        up = np.array([0.0, 0.0, 1.0]) if abs(e1[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = _predictors(up, "up", 3)
    if u.ndim != 1:
        raise ValueError(f"up must have shape (3,); received shape {u.shape}")
    e3 = u - (u @ e1) * e1
    n3 = np.linalg.norm(e3)
    if n3 <= 1e-12 * max(np.linalg.norm(u), 1e-300):
        raise ValueError("up must not be parallel to reference")
    e3 = e3 / n3
    e2 = np.cross(e3, e1)
    return np.stack([e1, e2, e3])


def azimuth_pitch(w, reference=None, up=None, *, degrees: bool = True) -> tuple[np.ndarray, np.ndarray]:
    r"""Azimuth and pitch of the direction ``w / ||w||_2`` on the sphere in ``R^3``, around a reference.

    With an orthonormal right-handed frame ``(e1, e2, e3)``, ``e1 = reference / ||reference||``
    and ``e3`` the part of ``up`` orthogonal to ``e1``, and ``u = w / ||w||_2``:

    .. math:: \text{azimuth} = \operatorname{atan2}(u^T e_2,\ u^T e_1), \qquad
              \text{pitch} = \arcsin(u^T e_3),

    so ``reference`` sits at ``(0, 0)`` and nearby directions get nearly Cartesian
    coordinates: the "Azimuth-Pitch plane" of moroshko2020 Figs. 3-4 (which zoom in on a small
    part of the sphere). Without ``reference``, ``(e1, e2, e3)`` is the standard basis
    (azimuth in the ``x``-``y`` plane from ``e_x``, pitch = elevation towards ``e_z``).

    Args:
        w: ``(3,)`` or ``(..., 3)``, nonzero rows.
        reference: ``(3,)`` direction placed at the origin (e.g. the l2 max-margin direction),
            or ``None``.
        up: ``(3,)`` direction defining positive pitch (default ``e_z``, or ``e_x`` when the
            reference is within ~25 degrees of ``e_z``); not parallel to ``reference``.
        degrees: degrees (default) or radians.

    Returns:
        ``(azimuth, pitch)``, each of shape ``w.shape[:-1]``; azimuth in ``(-180, 180]``, pitch in
        ``[-90, 90]`` (degrees).

    Raises:
        ValueError: ``w`` not 3-dimensional (the coordinates are for ``d = 3``), zero rows, or a
            degenerate frame.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics.margins import azimuth_pitch
        >>> az, pitch = azimuth_pitch([0.0, 1.0, 1.0])
        >>> float(az), round(float(pitch), 9)
        (90.0, 45.0)
    """
    W = _predictors(w)
    if W.shape[-1] != 3:
        raise ValueError(f"azimuth/pitch coordinates are for d = 3 (points on the sphere in R^3); received w with shape {W.shape}")
    U = normalized_predictor(W)
    E = _frame(reference, up)
    c = U @ E.T
    az = np.arctan2(c[..., 1], c[..., 0])
    pitch = np.arcsin(np.clip(c[..., 2], -1.0, 1.0))
    if degrees:
        az, pitch = np.degrees(az), np.degrees(pitch)
    return az, pitch


def from_azimuth_pitch(azimuth, pitch, reference=None, up=None, *, degrees: bool = True) -> np.ndarray:
    r"""Inverse of :func:`azimuth_pitch`: the unit vector(s) ``cos(p) cos(a) e1 + cos(p) sin(a) e2 + sin(p) e3``.

    Args:
        azimuth: array-like of angles.
        pitch: array-like, broadcastable with ``azimuth``.
        reference: as :func:`azimuth_pitch`.
        up: as :func:`azimuth_pitch`.
        degrees: angles in degrees (default) or radians.

    Returns:
        ``(..., 3)`` unit vectors.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics.margins import from_azimuth_pitch
        >>> np.round(from_azimuth_pitch(90.0, 45.0), 6).tolist()
        [0.0, 0.707107, 0.707107]
    """
    a = np.asarray(azimuth, dtype=np.float64)
    p = np.asarray(pitch, dtype=np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(p))):
        raise ValueError("azimuth and pitch must be finite")
    if degrees:
        a, p = np.radians(a), np.radians(p)
    a, p = np.broadcast_arrays(a, p)
    E = _frame(reference, up)
    c = np.stack([np.cos(p) * np.cos(a), np.cos(p) * np.sin(a), np.sin(p)], axis=-1)
    return c @ E


# ----------------------------------------------------------------------------------------
# Excess l1 norm (moroshko2020 Fig. 5)
# ----------------------------------------------------------------------------------------


def excess_l1_norm(X, y, w, w_l1=None) -> np.ndarray:
    r"""Excess l1 norm of the margin-normalised predictor (moroshko2020 Fig. 5a).

    .. math:: \frac{\|w / \gamma(w)\|_1}{\|w_{\ell_1}\|_1} - 1, \qquad \gamma(w) = \min_n y_n x_n^T w,

    with ``x_n`` the rows of ``X``, ``y_n`` the labels ``y``, ``w`` the predictor(s) ``w`` and
    ``w_l1`` the l1 max-margin solution (``min ||w||_1 s.t. y_n x_n^T w >= 1``). Equivalently
    ``gamma_1^* / gamma_1(w) - 1`` with ``gamma_1`` the normalised l1 margin: ``>= 0``, and 0
    exactly at (any) l1 max-margin direction, so it measures closeness to the rich limit even
    when that is not unique. moroshko2020 Fig. 5b asks for the training accuracy at which it
    falls to 0.05.

    Args:
        X: data ``(N, d)``.
        y: labels in ``{-1, +1}``, ``(N,)``.
        w: ``(d,)`` or ``(..., d)``.
        w_l1: ``(d,)`` reference l1 max-margin predictor (any positive scaling; it is itself
            margin-normalised), default :func:`~implicit_bias.theory.margins.max_margin` in l1.
            Pass it when evaluating many trajectories, to solve the LP once.

    Returns:
        ``w.shape[:-1]`` float64; ``+inf`` for rows that do not separate the data
        (``gamma(w) <= 0``: infinitely far from a margin-1 predictor).

    Raises:
        ValueError: bad inputs, or non-separable data (when ``w_l1`` is computed).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics.margins import excess_l1_norm
        >>> X = np.array([[1.0, 2.0]]); y = np.array([1.0])   # l1 max-margin: (0, 1/2)
        >>> excess_l1_norm(X, y, [[0.0, 1.0], [1.0, 2.0], [-1.0, 0.0]]).tolist()
        [0.0, 0.19999999999999996, inf]
    """
    X, y = _data(X, y)
    W = _predictors(w, d=X.shape[1])
    if w_l1 is None:
        ref = np.asarray(max_margin(X, y, "l1").w)
    else:
        ref = _predictors(w_l1, "w_l1", X.shape[1])
        if ref.ndim != 1:
            raise ValueError(f"w_l1 must have shape ({X.shape[1]},); received shape {ref.shape}")
        gr = float(np.min(_margins(X, y, ref)))
        if not gr > 0:
            raise ValueError(f"w_l1 must separate the data (smallest margin {gr:.3g} <= 0)")
        ref = ref / gr
    g = _margins(X, y, W).min(axis=-1)
    l1 = np.abs(W).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(g > 0, l1 / np.where(g > 0, g, 1.0) / float(np.abs(ref).sum()) - 1.0, np.inf)
    return out


def first_crossing(x, values, level, *, log_x: bool = True) -> float:
    r"""The first ``x`` at which a recorded curve ``values(x)`` falls to ``level`` or below, by interpolation.

    Built for moroshko2020 Fig. 5b and §5: ``x`` is the training accuracy ``gamma = -log L`` at
    which a trajectory was recorded, ``values`` e.g. the excess l1 norm
    (:func:`excess_l1_norm`) there, and the result the accuracy ``gamma~`` needed to get within
    ``level`` (5%) of the l1 max-margin. With ``k`` the first index with
    ``values[k] <= level`` (``k >= 1``), the crossing is located on the segment
    ``[x[k-1], x[k]]`` by linear interpolation of ``values`` in ``log x`` (``log_x=True``) or
    in ``x``:

    .. math:: \log x^* = \log x_{k-1} + \frac{v_{k-1} - \text{level}}{v_{k-1} - v_k}
              (\log x_k - \log x_{k-1}).

    The curve need not be monotone: only the *first* crossing counts (later recrossings are
    ignored).

    Args:
        x: ``(T,)`` increasing recording points (``> 0`` if ``log_x``).
        values: ``(T,)`` the recorded values (``+inf`` allowed before the crossing, e.g. a
            non-separating predictor's excess).
        level: the threshold.
        log_x: interpolate in ``log x`` (default) or in ``x``.

    Returns:
        The crossing point ``x*``; ``x[0]`` if ``values[0] <= level``; ``nan`` if the curve never
        falls to ``level`` (the run was too short).

    Raises:
        ValueError: shapes differ, fewer than one point, ``x`` not strictly increasing, or
            ``x <= 0`` with ``log_x``.

    Example:
        >>> from implicit_bias.diagnostics.margins import first_crossing
        >>> round(first_crossing([1.0, 10.0, 100.0], [1.0, 0.5, 0.0], 0.25), 6)   # 10^1.5
        31.622777
    """
    xs = np.asarray(x, dtype=np.float64).reshape(-1)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if xs.shape != v.shape or xs.size == 0:
        raise ValueError(f"x and values must be 1-D of the same length >= 1; received shapes {np.shape(x)} and {np.shape(values)}")
    if not np.all(np.isfinite(xs)) or np.any(np.diff(xs) <= 0):
        raise ValueError("x must be finite and strictly increasing")
    if log_x and np.any(xs <= 0):
        raise ValueError("x must be > 0 to interpolate in log x (use log_x=False)")
    if np.any(np.isnan(v)):
        raise ValueError("values must not contain NaN")
    below = np.flatnonzero(v <= level)
    if below.size == 0:
        return math.nan
    k = int(below[0])
    if k == 0:
        return float(xs[0])
    v0, v1 = v[k - 1], v[k]
    if not np.isfinite(v0):  # coming from +inf (not yet separating): the crossing is at x[k]
        return float(xs[k])
    frac = (v0 - level) / (v0 - v1) if v0 != v1 else 1.0
    if log_x:
        return float(math.exp(math.log(xs[k - 1]) + frac * (math.log(xs[k]) - math.log(xs[k - 1]))))
    return float(xs[k - 1] + frac * (xs[k] - xs[k - 1]))


# ----------------------------------------------------------------------------------------
# Support vectors along a trajectory or path
# ----------------------------------------------------------------------------------------


def support_vectors(X, y, w, rtol: float = 1e-6) -> np.ndarray:
    r"""Support vectors of ``w``: samples attaining the smallest margin (moroshko2020 footnote 4).

    Sample ``n`` is a support vector of ``w`` if ``y_n x_n^T w = gamma(w) = min_m y_m x_m^T w``;
    numerically, if ``y_n x_n^T w <= gamma(w) + rtol |gamma(w)|``. On the Q^D_mu path (margin 1)
    this is the same test as the ``support`` of :class:`~implicit_bias.theory.diagonal_margins.QMuMaxMargin`
    with ``rtol = 1e-6``. Along a finite-time trajectory, margins are never exactly tied: choose
    ``rtol`` to the accuracy of the run.

    Args:
        X: data ``(N, d)``.
        y: labels in ``{-1, +1}``, ``(N,)``.
        w: ``(d,)`` or ``(..., d)``.
        rtol: relative tie tolerance ``>= 0``.

    Returns:
        Bool array ``w.shape[:-1] + (N,)``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics.margins import support_vectors
        >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]); y = np.ones(3)
        >>> support_vectors(X, y, [1.0, 1.0]).tolist()
        [True, True, False]
    """
    X, y = _data(X, y)
    W = _predictors(w, d=X.shape[1])
    if not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and rtol >= 0):
        raise ValueError(f"rtol must be a finite number >= 0; received {rtol!r}")
    m = _margins(X, y, W)
    g = m.min(axis=-1, keepdims=True)
    return m <= g + rtol * np.abs(g)


class SupportChange(NamedTuple):
    """A change of the support-vector set between consecutive points of a path or trajectory.

    Attributes:
        index: ``i``: the set differs between points ``i - 1`` and ``i``.
        before: the path parameter (``mu``, time, accuracy, ...) at point ``i - 1``.
        after: the path parameter at point ``i``.
        added: samples that become support vectors.
        removed: samples that stop being support vectors.
    """

    index: int
    before: float
    after: float
    added: tuple[int, ...]
    removed: tuple[int, ...]


def support_changes(supports, params=None) -> list[SupportChange]:
    r"""Where the support-vector set changes along a path (moroshko2020 Condition 5, Fig. 3d).

    Args:
        supports: ``(B, N)`` bool masks in path order (e.g. :func:`support_vectors` of a
            trajectory, or ``QMuPath.support``), or a
            :class:`~implicit_bias.theory.diagonal_margins.QMuPath` (then ``params`` are its ``mus``).
        params: ``(B,)`` path parameter for labelling (default ``0..B-1``).

    Returns:
        List of :class:`SupportChange`, in path order (empty if the set never changes).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics.margins import support_changes
        >>> S = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 1]], dtype=bool)
        >>> support_changes(S, params=[1.0, 0.1, 0.01])
        [SupportChange(index=2, before=0.1, after=0.01, added=(2,), removed=(1,))]
    """
    if hasattr(supports, "support") and hasattr(supports, "mus"):
        if params is None:
            params = supports.mus
        supports = supports.support
    S = np.asarray(supports)
    if S.ndim != 2:
        raise ValueError(f"supports must have shape (B, N); received shape {S.shape}")
    S = S.astype(bool)
    P = np.arange(S.shape[0], dtype=np.float64) if params is None else np.asarray(params, dtype=np.float64)
    if P.shape != (S.shape[0],):
        raise ValueError(f"params must have shape ({S.shape[0]},) like the path; received shape {P.shape}")
    out = []
    for i in range(1, S.shape[0]):
        if np.array_equal(S[i], S[i - 1]):
            continue
        added = tuple(int(k) for k in np.flatnonzero(S[i] & ~S[i - 1]))
        removed = tuple(int(k) for k in np.flatnonzero(S[i - 1] & ~S[i]))
        out.append(SupportChange(i, float(P[i - 1]), float(P[i]), added, removed))
    return out


def support_change_points(X, y, depth=2, mus=None, *, rtol: float = 1e-6) -> list[SupportChange]:
    r"""The values of ``mu`` where the support set of the Q^D_mu max-margin path changes, refined by bisection.

    The Q^D_mu path (:func:`~implicit_bias.theory.diagonal_margins.q_mu_path`) is smooth between
    changes of its support-vector set and has a kink where it changes (moroshko2020 Fig. 3d,
    ``mu_0 ~ 0.04`` there). This scans the grid ``mus`` for changes of the support set (margin
    ``<= 1 + 1e-6``) and bisects each in ``log mu`` (scalar
    :func:`~implicit_bias.theory.diagonal_margins.q_mu_max_margin` solves) until the bracket
    ``[after, before]`` has relative width ``rtol``. The bisection classifies by the strictly
    active set (multipliers ``nu_n > 1e-9 sum(nu)``), which changes exactly at the kink (a
    leaving sample's multiplier reaches 0 there); the margin test would place it off by about
    ``1e-6`` relative. Changes between grid points that cancel out are not seen; refine the
    grid.

    Args:
        X: data ``(N, d)``.
        y: labels in ``{-1, +1}``, ``(N,)``.
        depth: ``D >= 2``.
        mus: 1-D grid (default that of ``q_mu_path``).
        rtol: relative width of the final brackets.

    Returns:
        List of :class:`SupportChange` with ``before > after`` the bracketing ``mu`` values.
    """
    path = q_mu_path(X, y, mus, depth)
    X, y = _data(X, y)

    def active(nu):  # strictly active constraints: multiplier > 0 (exact zeros off the support)
        nu = np.asarray(nu)
        return nu > 1e-9 * float(np.sum(nu))

    out = []
    for ch in support_changes(path):
        hi, lo = ch.before, ch.after  # mu decreases along the path
        s_hi = active(path.points.multipliers[ch.index - 1])
        s_lo = active(path.points.multipliers[ch.index])
        by_nu = not np.array_equal(s_hi, s_lo)
        if not by_nu:  # only weakly active samples changed: fall back to the margin test
            s_hi, s_lo = path.support[ch.index - 1], path.support[ch.index]
        for _ in range(200):
            if lo >= hi * (1.0 - rtol):
                break
            mid = math.sqrt(hi * lo)
            sol = q_mu_max_margin(X, y, mid, depth)
            s_mid = active(sol.multipliers) if by_nu else np.asarray(sol.support)
            if np.array_equal(s_mid, s_hi):
                hi = mid
            else:
                lo, s_lo = mid, s_mid
        added = tuple(int(k) for k in np.flatnonzero(s_lo & ~s_hi))
        removed = tuple(int(k) for k in np.flatnonzero(s_hi & ~s_lo))
        out.append(SupportChange(ch.index, hi, lo, added, removed))
    return out


# ----------------------------------------------------------------------------------------
# Condition 5 (support-vector stability)
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Condition5Check:
    """Result of :func:`condition5_holds` (truthy iff ``holds``).

    Attributes:
        holds: the path form of Condition 5 holds (see :func:`condition5_holds`).
        rho0: the smallest normalised margin ``y_k x_k^T w / gamma(w)`` of the limit's
            non-support samples ``k`` along the checked part of the path (``> 1`` iff ``holds``;
            ``inf`` if every sample is a support vector of the limit). The paper's ``rho_0``.
        mu: the ``mu`` checked, or ``None`` for the uniform check.
        mu0: uniform check: the largest grid ``mu`` at which the condition fails (moroshko2020
            §5: "holds for mu > mu_0"), ``None`` if it never fails; ``None`` for a single ``mu``.
        violators: samples that are not support vectors of the limit but are support vectors
            somewhere earlier on the path.
        l1_l2d_stationary: uniform check with ``D > 2``: whether the l1 max-margin point is a
            KKT point of the l_{2/D} max-margin problem (KKT residual ``<= 1e-8``), which
            moroshko2020 (§4, after Thm 7) shows is necessary for Condition 5 to hold
            uniformly; ``None`` otherwise.
        mus: the grid used, decreasing.
    """

    holds: bool
    rho0: float
    mu: float | None
    mu0: float | None
    violators: tuple[int, ...]
    l1_l2d_stationary: bool | None
    mus: np.ndarray = field(repr=False)

    def __bool__(self) -> bool:
        return bool(self.holds)


def _rho_on_path(margins, k_mask):
    """``min`` over the path of the normalised margins of the samples in ``k_mask``."""
    if not k_mask.any():
        return math.inf
    g = margins.min(axis=-1, keepdims=True)
    return float(np.min(margins[:, k_mask] / g))


def condition5_holds(X, y, mu=None, depth=2, *, mus=None, margin_tol: float = 1e-6) -> Condition5Check:
    r"""Check moroshko2020 Condition 5 in its asymptotic (Q path) form.

    Condition 5 (moroshko2020 §4): for every sample ``k`` that is *not* a support vector of the
    limit ``\hat w`` (``y_k x_k^T \hat w > 1``), for large ``alpha``, its normalised margin stays
    ``>= rho_0 > 1`` along the trajectory while the loss lies in ``[eps(alpha), eps*(alpha)]``,
    ``eps* = exp(-o(alpha^D))``. "Uniformly": with one ``rho_0`` for all stopping functions
    ``eps = exp(-Omega(alpha^D))``.

    The paper gives no finite test. This function evaluates it on the asymptotic trajectory:
    by Thms 4 and 6, as ``alpha -> inf`` the normalised predictor at loss
    ``exp(-alpha^D / mu')`` is the Q^D_{mu'} max-margin point, so the window
    ``[eps(alpha), eps*(alpha)]`` with ``eps = exp(-alpha^D/mu)`` maps to the Q path for
    ``mu'`` from ``inf`` (the l2 max-margin) down to ``mu``. Hence (our derivation):

    * ``mu`` given: ``\hat w = \hat w_mu``; holds iff every non-support sample of
      ``\hat w_mu`` has normalised margin ``> 1`` at every path point ``mu' >= mu`` (grid
      ``mus``, plus the l2 max-margin), i.e. no sample that *leaves* the support set between
      ``inf`` and ``mu`` (samples joining it are harmless);
    * ``mu=None`` (uniform): the same for every ``mu`` of the grid, i.e. no sample ever leaves
      the support set along the whole path; ``mu0`` reports the largest failing ``mu``. For
      ``D > 2`` it also requires the l1 max-margin to be a KKT point of the l_{2/D} problem,
      the necessary condition moroshko2020 derives after Thm 7 (uniform Condition 5 covers the
      super-linear accuracies of Thm 7, whose limit is the l1 point, while Thm 2 makes every
      fixed-scale limit an l_{2/D} KKT point).

    This is a consistency check on the path, not a proof about a trajectory: where it fails the
    trajectory cannot both follow the path and satisfy the condition (moroshko2020 Fig. 3d);
    where it holds, Thm 6 applies if the trajectory does follow the path. For a finite-``alpha``
    run use :func:`condition5_ratio` on the recorded trajectory.

    Args:
        X: data ``(N, d)``.
        y: labels in ``{-1, +1}``, ``(N,)``.
        mu: the scale of the stopping function ``eps = exp(-alpha^D / mu)``, or ``None`` for the
            uniform check.
        depth: ``D >= 2``.
        mus: the grid of the path (default that of :func:`~implicit_bias.theory.diagonal_margins.q_mu_path`;
            ``mu`` is added to it). Changes between grid points can be missed: refine it.
        margin_tol: a sample is a support vector if its margin is ``<= 1 + margin_tol``.

    Returns:
        :class:`Condition5Check` (truthy iff it holds).

    Raises:
        ValueError: bad inputs, ``mu <= 0``, non-separable data.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.diagnostics.margins import condition5_holds
        >>> X = np.array([[1.0, 2.0], [2.0, 1.0]]); y = np.ones(2)   # both always support vectors
        >>> bool(condition5_holds(X, y, mu=0.1))
        True
    """
    X, y = _data(X, y)
    if not (isinstance(margin_tol, (int, float)) and math.isfinite(margin_tol) and margin_tol >= 0):
        raise ValueError(f"margin_tol must be a finite number >= 0; received {margin_tol!r}")
    if mu is not None:
        try:
            mu_f = float(mu)
        except (TypeError, ValueError):
            raise ValueError(f"mu must be a number > 0 or None (uniform check); received {mu!r}") from None
        if not (math.isfinite(mu_f) and mu_f > 0):
            raise ValueError(f"mu must be finite and > 0 (or None for the uniform check); received {mu!r}")
    grid = _default_grid(X, y) if mus is None else np.asarray(mus, dtype=np.float64).reshape(-1)
    path = q_mu_path(X, y, grid if mu is None else np.append(grid, mu_f), depth)
    Z = y[:, None] * X
    l2w = np.asarray(path.l2.w)
    M = np.vstack([l2w @ Z.T, path.w @ Z.T])  # (1 + B, N): the l2 end first, then mu decreasing
    mus_all = np.concatenate([[np.inf], path.mus])
    support = M <= M.min(axis=1, keepdims=True) * (1.0 + margin_tol)

    def check(j):  # condition for the limit at path index j (into M)
        K = ~support[j]
        rho = _rho_on_path(M[: j + 1], K)
        viol = tuple(int(k) for k in np.flatnonzero(K & support[: j + 1].any(axis=0)))
        return rho, viol

    if mu is not None:
        j = int(np.flatnonzero(mus_all == mu_f)[0])
        rho, viol = check(j)
        return Condition5Check(rho > 1.0 + margin_tol, rho, mu_f, None, viol, None, np.asarray(path.mus))
    rho_all, viol_all, mu0 = math.inf, set(), None
    for j in range(1, M.shape[0]):
        rho, viol = check(j)
        rho_all = min(rho_all, rho)
        viol_all.update(viol)
        if not rho > 1.0 + margin_tol and mu0 is None:
            mu0 = float(mus_all[j])
    l1_ok = None if path.l1_l2d_kkt_residual is None else bool(path.l1_l2d_kkt_residual <= 1e-8)
    holds = rho_all > 1.0 + margin_tol and l1_ok is not False
    return Condition5Check(holds, rho_all, None, mu0, tuple(sorted(viol_all)), l1_ok, np.asarray(path.mus))


def condition5_ratio(X, y, W, w_hat, *, margin_tol: float = 1e-6) -> float:
    r"""The empirical ``rho_0`` of Condition 5 on a recorded trajectory window (moroshko2020 §4).

    .. math:: \rho = \min_{t}\ \min_{k \notin S(\hat w)} \frac{y_k x_k^T w(t)}{\gamma(w(t))},
              \qquad S(\hat w) = \{k : y_k x_k^T \hat w \le (1 + \text{margin\_tol})\,\gamma(\hat w)\},

    over the rows ``w(t)`` of ``W`` (the trajectory between the losses ``eps*(alpha)`` and
    ``eps(alpha)``, chosen by the caller) and the non-support samples of the limit ``w_hat``
    (e.g. the Q^D_mu max-margin point). Condition 5 asks ``rho >= rho_0 > 1`` for all large
    ``alpha``; a value approaching 1 as ``alpha`` grows signals that it fails.

    Args:
        X: data ``(N, d)``.
        y: labels in ``{-1, +1}``, ``(N,)``.
        W: ``(T, d)`` predictors (separating: ``gamma > 0``).
        w_hat: ``(d,)`` the limit.
        margin_tol: support tolerance for ``w_hat``.

    Returns:
        ``rho`` (``inf`` if every sample is a support vector of ``w_hat``).

    Raises:
        ValueError: bad inputs or a row of ``W`` (or ``w_hat``) that does not separate the data.
    """
    X, y = _data(X, y)
    Wn = margin_normalized(X, y, np.atleast_2d(_predictors(W, "W", X.shape[1])))
    wh = margin_normalized(X, y, _predictors(w_hat, "w_hat", X.shape[1]))
    if wh.ndim != 1:
        raise ValueError(f"w_hat must have shape ({X.shape[1]},); received shape {wh.shape}")
    K = _margins(X, y, wh) > 1.0 + margin_tol
    return _rho_on_path(_margins(X, y, Wn.reshape(-1, X.shape[1])), K)
