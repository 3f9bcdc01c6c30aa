r"""Adversarial l2 perturbations of a trained binary classifier: two stated, deterministic attacks.

Both attacks return, for each point ``x_n`` with label ``y_n``, a perturbation ``δ_n`` with
``y_n f(x_n + δ_n) <= 0``: its norm is an *upper bound* on the smallest adversarial
perturbation ``min{||δ|| : y_n f(x_n + δ) <= 0}`` (``inf`` if the attack found none).

- :func:`line_attack`: the smallest ``t > 0`` with ``y_n f(x_n + t u_n) <= 0`` along a given
  unit direction ``u_n``, by a scan of ``grid`` points on ``(0, t_max]`` followed by bisection
  (``iters`` halvings) on the first bracket where the sign flips. The default direction is the
  one of Vardi, Yehudai & Shamir 2022 (vardi2022 §7, [77]): ``u_n = -y_n z / ||z||`` with the
  *universal* direction ``z = Σ_m y_m x_m`` (:func:`universal_direction`), along which every
  KKT point of the max-margin problem of a depth-2 ReLU net on nearly orthogonal data flips at
  distance ``O(sqrt(d/N))``. A crossing narrower than ``t_max / grid`` can be missed (then a
  later one is reported): a valid but looser bound.
- :func:`gradient_attack`: DeepFool for a binary classifier (Moosavi-Dezfooli, Fawzi & Frossard
  2016): from ``x = x_n`` repeat ``x <- x - (f(x) / ||∇f(x)||^2) ∇f(x)`` (the projection onto
  the linearized boundary; the accumulated step is overshot by ``1 + overshoot``) until the
  sign flips, then shrink ``δ`` to the first flip along the segment ``x_n -> x_n + δ`` (the line
  search above; if ``max_iter`` steps did not flip it, the search goes on along ``δ`` to
  ``2 ||δ||``). On a linear ``f(x) = w^T x + b`` it returns the exact minimum
  ``|f(x_n)| / ||w||`` (tested).

:func:`smallest_perturbation` takes, point by point, the smaller of the two. Points already
misclassified (``y_n f(x_n) <= 0``) get distance 0.

Works on any model whose ``apply(params, X)`` returns one score per row (``(N,)``); labels in
``{-1, +1}``. Certified lower bounds for two-layer ReLU nets are in
:func:`implicit_bias.theory.certified_radius`.
"""

from __future__ import annotations

from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ..models import AbstractModel

__all__ = ["AttackResult", "universal_direction", "line_attack", "gradient_attack", "smallest_perturbation"]


@dataclass(frozen=True)
class AttackResult:
    """Perturbations found by an attack.

    Attributes:
        distance: ``||δ_n||``, ``(N,)`` (``inf`` where the attack found no flip; 0 where ``x_n``
            is already misclassified).
        relative: ``||δ_n|| / ||x_n||``, ``(N,)``.
        perturbation: ``δ_n``, ``(N, d)`` (zero rows where ``distance`` is ``inf``).
        method: ``"line"``, ``"deepfool"`` or ``"min(line, deepfool)"``.
    """

    distance: np.ndarray
    relative: np.ndarray
    perturbation: np.ndarray
    method: str

    @property
    def median_relative(self) -> float:
        """Median over the points of ``||δ_n|| / ||x_n||``."""
        return float(np.median(self.relative))


def _check(model, X, y, who):
    if not isinstance(model, AbstractModel):
        raise ValueError(f"{who}: model must be an implicit_bias model (with apply(params, X)); received {type(model).__name__}")
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{who}: X must have shape (N, d) with N >= 1; received {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{who}: y must have shape ({X.shape[0]},) (one label per row of X); received {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{who}: X has non-finite entries")
    if not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError(f"{who}: labels y must be -1 or +1 (a binary classifier's attack)")
    return X, y


@eqx.filter_jit
def _apply(model, params, Z):
    return model.apply(params, Z)


@eqx.filter_jit
def _value_and_grad(model, params, Z):
    return jax.vmap(jax.value_and_grad(lambda x: model.apply(params, x[None, :])[0]))(Z)


def _scorer(model, params, X, y, who):
    """``Z -> f(Z)`` as a NumPy array (one compiled function per model and batch shape, reused
    across parameters and calls), after checking that the model returns one score per row."""
    params = jax.tree_util.tree_map(jnp.asarray, params)

    def f(Z):
        return np.asarray(_apply(model, params, jnp.asarray(Z)))

    out = f(X)
    if out.shape != (X.shape[0],):
        raise ValueError(f"{who}: the model must return one score per row (a binary classifier, outputs=1); its output has shape {out.shape}")
    return f, params


def universal_direction(X, y) -> np.ndarray:
    """``z / ||z||`` with ``z = Σ_n y_n x_n``, shape ``(d,)``: the perturbation direction of
    Vardi, Yehudai & Shamir 2022 (vardi2022 §7, [77]), the same for every input.

    Raises:
        ValueError: ``z = 0`` (e.g. a point and its copy with opposite labels only).

    Example:
        >>> import numpy as np
        >>> universal_direction(np.eye(2), np.array([1.0, -1.0])).round(4).tolist()
        [0.7071, -0.7071]
    """
    X = np.asarray(X, dtype=np.float64)
    z = np.asarray(y, dtype=np.float64) @ X
    nz = float(np.linalg.norm(z))
    if not nz > 0:
        raise ValueError("universal_direction: z = sum_n y_n x_n is zero; give an explicit direction")
    return z / nz


#: grid points of the line scan evaluated per call (the scan stops once every row has flipped)
_CHUNK = 16


def _first_flip(f, X, y, U, t_max, grid, iters):
    """Smallest ``t in (0, t_max_n]`` with ``y_n f(x_n + t u_n) <= 0`` per row (``inf`` if none)."""
    n, d = X.shape
    ts = np.linspace(0.0, 1.0, grid + 1)[1:]
    first = np.full(n, -1)
    for start in range(0, grid, _CHUNK):
        c = ts[start : start + _CHUNK]
        c = np.concatenate([c, np.full(_CHUNK - c.size, c[-1])])  # one batch shape for every chunk
        P = X[:, None, :] + (c[None, :, None] * t_max[:, None, None]) * U[:, None, :]
        flips = (f(P.reshape(-1, d)).reshape(n, _CHUNK) * y[:, None] <= 0.0)[:, : min(_CHUNK, grid - start)]
        new = (first < 0) & flips.any(axis=1)
        first[new] = start + np.argmax(flips[new], axis=1)
        if np.all(first >= 0):
            break
    found = first >= 0
    hi = np.where(found, ts[np.maximum(first, 0)], 1.0) * t_max
    lo = np.where(first > 0, ts[np.maximum(first - 1, 0)], 0.0) * t_max
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        flip = f(X + mid[:, None] * U) * y <= 0.0
        hi, lo = np.where(flip, mid, hi), np.where(flip, lo, mid)
    return np.where(found, hi, np.inf)


def _result(X, y, f, t, U, method):
    t = np.where(f(X) * y <= 0.0, 0.0, t)
    ok = np.isfinite(t)
    delta = np.where(ok[:, None], np.where(ok, t, 0.0)[:, None] * U, 0.0)
    return AttackResult(distance=t, relative=t / np.linalg.norm(X, axis=1), perturbation=delta, method=method)


def line_attack(model: AbstractModel, params: dict, X, y, direction=None, *, t_max=None, grid: int = 256, iters: int = 60) -> AttackResult:
    r"""The smallest flip along a line: ``t_n = min{t > 0 : y_n f(x_n + t u_n) <= 0}``.

    ``u_n = -y_n z / ||z||`` for a shared direction ``z`` (``(d,)``; default
    :func:`universal_direction`, the direction of Vardi, Yehudai & Shamir 2022), or the rows of
    ``direction`` ``(N, d)`` normalized (used as given). Scan of ``grid`` points on
    ``(0, t_max_n]``, then ``iters`` bisection steps on the first bracket that flips (module
    docstring: a crossing narrower than ``t_max_n / grid`` can be missed).

    Args:
        model: the classifier (``apply`` returns ``(N,)`` scores).
        params: its parameters.
        X: points ``(N, d)``.
        y: labels ``(N,)`` in ``{-1, +1}``.
        direction: ``None``, a shared direction ``(d,)`` or per-point directions ``(N, d)``.
        t_max: search length, a number or ``(N,)``; default ``2 ||x_n||``.
        grid: scan points (``>= 1``).
        iters: bisection steps.

    Returns:
        :class:`AttackResult` (``method="line"``).

    Raises:
        ValueError: bad shapes or labels, a zero direction, a model with more than one output.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Linear
        >>> X = np.array([[2.0, 0.0], [0.0, -1.0]]); y = np.array([1.0, -1.0])
        >>> r = line_attack(Linear(2), {"w": np.array([1.0, 1.0])}, X, y)   # z = (2, 1)/sqrt(5)
        >>> np.round(r.distance, 6).tolist()                                   # |w.x| / |w.z|
        [1.490712, 0.745356]
    """
    X, y = _check(model, X, y, "line_attack")
    f, _ = _scorer(model, params, X, y, "line_attack")
    n, d = X.shape
    if direction is None:
        direction = universal_direction(X, y)
    D = np.asarray(direction, dtype=np.float64)
    if D.shape == (d,):
        U = -y[:, None] * D[None, :]
    elif D.shape == (n, d):
        U = D.copy()
    else:
        raise ValueError(f"line_attack: direction must have shape ({d},) or ({n}, {d}); received {D.shape}")
    norms = np.linalg.norm(U, axis=1)
    if not np.all(norms > 0):
        raise ValueError("line_attack: direction has a zero row; every point needs a non-zero direction")
    U = U / norms[:, None]
    tm = 2.0 * np.linalg.norm(X, axis=1) if t_max is None else np.broadcast_to(np.asarray(t_max, dtype=np.float64), (n,)).copy()
    if not np.all(np.isfinite(tm) & (tm > 0)):
        raise ValueError(f"line_attack: t_max must be finite and > 0; received {t_max!r}")
    if int(grid) < 1 or int(iters) < 0:
        raise ValueError(f"line_attack: grid must be >= 1 and iters >= 0; received grid={grid!r}, iters={iters!r}")
    return _result(X, y, f, _first_flip(f, X, y, U, tm, int(grid), int(iters)), U, "line")


def gradient_attack(model: AbstractModel, params: dict, X, y, *, max_iter: int = 50, overshoot: float = 0.02, grid: int = 64, iters: int = 60) -> AttackResult:
    r"""DeepFool (binary): linearize, step to the boundary, repeat; then shrink along the segment.

    From ``x^0 = x_n``: ``x^{k+1} = x_n + (1 + overshoot) Σ_{j <= k} r^j`` with
    ``r^j = -f(x^j) ∇f(x^j) / ||∇f(x^j)||^2`` until ``y_n f(x^k) <= 0`` (at most ``max_iter``
    steps), then the first flip along ``x_n + t δ/||δ||``, ``t in (0, ||δ||]`` (scan of ``grid``
    points and ``iters`` bisection steps; ``t in (0, 2||δ||]`` if ``max_iter`` steps did not
    flip). Exact on affine classifiers; on ReLU nets a local attack (a flip found, not the
    global minimum).

    Args:
        model: the classifier (``apply`` returns ``(N,)`` scores).
        params: its parameters.
        X: points ``(N, d)``.
        y: labels ``(N,)`` in ``{-1, +1}``.
        max_iter: DeepFool steps.
        overshoot: the step factor is ``1 + overshoot`` (``>= 0``).
        grid: scan points of the final line search on the segment.
        iters: its bisection steps.

    Returns:
        :class:`AttackResult` (``method="deepfool"``; ``inf`` where no flip within ``max_iter``).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.models import Linear
        >>> X = np.array([[2.0, 0.0], [0.0, -1.0]]); y = np.array([1.0, -1.0])
        >>> r = gradient_attack(Linear(2), {"w": np.array([1.0, 1.0])}, X, y)
        >>> np.round(r.distance, 6).tolist()                                   # |w.x| / ||w||
        [1.414214, 0.707107]
    """
    X, y = _check(model, X, y, "gradient_attack")
    f, jparams = _scorer(model, params, X, y, "gradient_attack")
    if not (np.isfinite(overshoot) and overshoot >= 0) or int(max_iter) < 1:
        raise ValueError(f"gradient_attack: overshoot must be >= 0 and max_iter >= 1; received overshoot={overshoot!r}, max_iter={max_iter!r}")
    r_tot = np.zeros_like(X)
    x = X.copy()
    done = f(X) * y <= 0.0
    for _ in range(int(max_iter)):
        if done.all():
            break
        v, g = (np.asarray(a) for a in _value_and_grad(model, jparams, jnp.asarray(x)))
        g2 = np.sum(g * g, axis=1)
        step = np.where((~done & (g2 > 0))[:, None], -(v / np.where(g2 > 0, g2, 1.0))[:, None] * g, 0.0)
        r_tot = r_tot + step
        x = np.where(done[:, None], x, X + (1.0 + overshoot) * r_tot)
        done = done | (f(x) * y <= 0.0)
    delta = x - X
    length = np.linalg.norm(delta, axis=1)
    moved = length > 0
    U = np.where(moved[:, None], delta / np.where(moved, length, 1.0)[:, None], 0.0)
    U[~moved, 0] = 1.0  # placeholder direction for points with nothing to refine
    # flipped: the first flip on the segment; not flipped within max_iter (DeepFool creeps up on a
    # boundary that bends at ReLU kinks): search on along its direction up to twice the length
    reach = np.where(done, length * (1.0 + 1e-12), 2.0 * length)
    t = _first_flip(f, X, y, U, np.where(moved, reach, 1.0), int(grid), int(iters))
    t = np.where(moved, np.where(done, np.minimum(t, length), t), np.inf)
    return _result(X, y, f, t, U, "deepfool")


def smallest_perturbation(model: AbstractModel, params: dict, X, y, **kwargs) -> AttackResult:
    """Per point, the smaller of :func:`line_attack` (universal direction) and
    :func:`gradient_attack` (keyword arguments go to both where they apply: ``grid``, ``iters``).

    Returns:
        :class:`AttackResult` with ``method="min(line, deepfool)"``.
    """
    a = line_attack(model, params, X, y, **kwargs)
    b = gradient_attack(model, params, X, y, **{k: v for k, v in kwargs.items() if k in ("grid", "iters")})
    pick = b.distance < a.distance
    return AttackResult(
        distance=np.where(pick, b.distance, a.distance),
        relative=np.where(pick, b.relative, a.relative),
        perturbation=np.where(pick[:, None], b.perturbation, a.perturbation),
        method="min(line, deepfool)",
    )
