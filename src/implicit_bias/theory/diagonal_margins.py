"""Implicit bias of diagonal networks in classification (moroshko2020): the Q^D_mu max-margin and its path.

For depth-``D`` diagonal networks trained on the exponential loss (moroshko2020), the
direction reached depends on how the initialization scale ``alpha`` compares with the training
accuracy ``log(1/eps)``: the l2 max-margin (Thm 4), the Q^D_mu max-margin with
``mu = alpha^D / log(1/eps)`` (Thm 6; :func:`q_mu_max_margin`, :func:`q_mu_path`), the l1
max-margin (Thm 7), or, at fixed ``alpha``, a KKT point of the l_{2/D} max-margin problem
(Thm 2; :func:`l2d_stationary_points`, :func:`l2d_stationarity`). :func:`lemma3_loss_bound` is
the paper's Lemma 3.

The classification counterpart of :mod:`implicit_bias.theory.diagonal` (regression: the
potentials ``q^D`` and their interpolants), which it imports (one way); the l2 and l1
max-margin limits come from :mod:`implicit_bias.theory.margins`, the damped dual-Newton routine,
input checks and solver plumbing from :mod:`implicit_bias.theory._solvers`. Everything is
computed directly (a jitted dual Newton method with continuation in ``mu``, local solves for
the non-convex l_{2/D} problem), never by training: this module does not import
:mod:`implicit_bias.algorithms` or :mod:`implicit_bias.train`.

Conventions: ``X`` has shape ``(N, d)`` (one row per sample), labels ``y`` have shape ``(N,)``
with entries in ``{-1, +1}``, predictors ``w`` have shape ``(d,)``; results are float64
NumPy arrays. The margin of sample ``n`` is ``y_n x_n^T w``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _config  # noqa: F401  (float64)
from ._solvers import (
    ACTIVE_TOL,
    NOT_SEPARABLE,
    check_classification_data,
    check_vector,
    dual_newton,
    quiet_stdout,
    require_separable,
)
from .diagonal import power_remainder
from .margins import MaxMargin, max_margin

__all__ = [
    "QMuMaxMargin",
    "QMuDualSolution",
    "q_mu_max_margin",
    "solve_q_mu_max_margin",
    "QMuPath",
    "q_mu_path",
    "L2DStationaryPoint",
    "l2d_stationarity",
    "l2d_stationary_points",
    "lemma3_loss_bound",
]

# ----------------------------------------------------------------------------------------
# The Q^D_mu max-margin: a dual Newton method with continuation in mu
# ----------------------------------------------------------------------------------------
#
# Derivation of the dual used below (moroshko2020 eq. (6) and Thm 6).
#
# Primal, with Z = y[:, None] * X (rows z_n = y_n x_n) and q = q^D of eq. (6):
#
#     min_w  Q^D_mu(w) = sum_i q(w_i / mu)   s.t.   Z w >= 1.
#
# q is strictly convex, even, with q' = h^{-1} (h = h_D of eq. (6); h_2(s) = 2 sinh s), so the
# Lagrangian stationarity (1/mu) q'(w_i/mu) = (Z^T nu)_i gives w_i = mu h(s_i) with
# s = mu Z^T nu. Writing lam = mu nu (the scaled multipliers), s = Z^T lam and the dual is
#
#     min_{lam >= 0}  Phi(lam) = mu sum_i H(s_i) - 1^T lam,     H(s) = int_0^s h = q^*(s),
#
# a smooth convex function on an N-dimensional orthant (D > 2: on |s_i| < 1, where H blows
# up), with grad Phi = Z w - 1 (the margins minus one) and Hessian mu Z diag(h'(s)) Z^T.
# Its KKT conditions (lam >= 0, Z w >= 1, lam_n (z_n^T w - 1) = 0) are exactly those of Thm 6
# with nu = lam / mu. Strong duality holds (Slater: separable data); the dual minimiser exists,
# w is unique (Q strictly convex), lam may not be (dependent support vectors).
#
#     D = 2:  h(s) = 2 sinh s,  h' = 2 cosh s,  H(s) = 4 sinh^2(s/2);
#     D > 2:  h(s) = (1-s)^{-p} - (1+s)^{-p},  p = D/(D-2),  h' = p((1-s)^{-p-1} + (1+s)^{-p-1}),
#             H(s) = ((1-s)^{-m} + (1+s)^{-m} - 2)/m,  m = 2/(D-2).
#
# Solver (the shared damped Newton routine of _solvers.dual_newton, one call per stage):
# projected Newton (Bertsekas 1982) on Phi with an epsilon-active set, Levenberg-
# Marquardt damping of the free block (dependent support vectors make it singular), Armijo
# backtracking along the projected arc (or a decrease of the KKT residual, which keeps
# measuring progress once Phi differences reach rounding), a fraction-to-boundary rule for the
# D > 2 domain, and continuation in mu: the solve starts at mu_hi = 1e8 (in units where
# max |z_nj| = 1: the quadratic, l2 regime) and divides mu by a factor per stage down to the
# target (10 at first; x10 after a stage that took <= 2 steps, up to 1e6; /10 after one that
# took >= 8), warm-starting each stage from lam scaled along its ray to restore
# complementarity (lam^T (Z w - 1) = 0; exact in the quadratic regime, so those stages cost
# nothing). Without continuation, an active set far from the start is found one constraint at
# a time (300+ steps, no convergence, at N = 40, D = 5, mu = 1e-6; measured), with it a few
# steps per stage. For D > 2 the distances 1 -+ s to the ends of the domain are advanced by
# increments, as in theory/diagonal.py (also through the warm start), so that w keeps its
# relative accuracy when mu -> 0 pushes s to +-1.

_QMU_MU_HI = 1e8  # first continuation stage, in units where max |y_n x_nj| = 1
_QMU_FACTOR = 10.0  # initial (and smallest) factor by which mu is divided per stage
_QMU_FACTOR_MAX = 1e6  # largest factor (stages that converge in <= 2 steps grow it 10x)
_QMU_STAGE_TOL = 1e-4  # KKT residual at which an intermediate stage hands over
_QMU_EPS_ACTIVE = 1e-2  # epsilon of the epsilon-active set (margin units)


def _check_qmu_depth(depth) -> float:
    if isinstance(depth, bool) or not isinstance(depth, (int, float, np.integer, np.floating)):
        raise ValueError(f"depth must be a number D >= 2 (the network depth of moroshko2020 eq. (6)); received {depth!r}")
    D = float(depth)
    if not (math.isfinite(D) and D >= 2.0):
        raise ValueError(f"depth must be a finite number D >= 2 (moroshko2020 eq. (6)); received {depth!r}")
    return D


def _qmu_kind(D: float) -> str:
    return "exp" if D == 2.0 else "power"


def _qmu_state(kind, s):
    """Per-coordinate state at ``s``: ``{"s"}`` plus, for D > 2, the distances ``1 - s``, ``1 + s``."""
    if kind == "exp":
        return {"s": s}
    return {"s": s, "da": 1.0 - s, "db": 1.0 + s}


def _qmu_advance(kind, st, s_new, ds):
    if kind == "exp":
        return {"s": s_new}
    return {"s": s_new, "da": st["da"] - ds, "db": st["db"] + ds}


def _qmu_logs(st):
    """``(log(1 - s), log(1 + s), in_domain)``: ``log1p`` near 0, tracked distances elsewhere."""
    s = st["s"]
    ok = (st["da"] > 0) & (st["db"] > 0)
    near0 = jnp.abs(s) < 0.5
    s0 = jnp.where(near0, s, 0.0)
    La = jnp.where(near0, jnp.log1p(-s0), jnp.log(jnp.where(ok & ~near0, st["da"], 1.0)))
    Lb = jnp.where(near0, jnp.log1p(s0), jnp.log(jnp.where(ok & ~near0, st["db"], 1.0)))
    return jnp.where(ok, La, 0.0), jnp.where(ok, Lb, 0.0), ok


def _qmu_h(kind, st, D):
    """``(h_D(s), in_domain)`` with ``h_2 = 2 sinh``; ``D > 2`` written without cancellation."""
    s = st["s"]
    if kind == "exp":
        return 2.0 * jnp.sinh(s), jnp.ones(s.shape, dtype=bool)
    p = D / (D - 2.0)
    La, Lb, ok = _qmu_logs(st)
    return jnp.where(ok, jnp.expm1(-p * La) - jnp.expm1(-p * Lb), jnp.nan), ok


def _qmu_dh(kind, st, D):
    """``h_D'(s) > 0``."""
    s = st["s"]
    if kind == "exp":
        return 2.0 * jnp.cosh(s)
    p = D / (D - 2.0)
    La, Lb, _ = _qmu_logs(st)
    return p * (jnp.exp(-(p + 1.0) * La) + jnp.exp(-(p + 1.0) * Lb))


def _qmu_H(kind, st, D):
    """``H_D(s) = int_0^s h_D >= 0`` (the convex conjugate of ``q^D``); ``inf`` outside the domain."""
    s = st["s"]
    if kind == "exp":
        return 4.0 * jnp.sinh(0.5 * s) ** 2
    m = 2.0 / (D - 2.0)
    La, Lb, ok = _qmu_logs(st)

    def fm(x, L):  # (1-x)^{-m} - 1 - m x: series near 0, from log(1-x) elsewhere
        small = jnp.abs(x) * (m + 2.0) < 0.3
        return jnp.where(small, power_remainder(jnp.where(small, x, 0.0), m), jnp.expm1(-m * L) - m * x)

    return jnp.where(ok, (fm(s, La) + fm(-s, Lb)) / m, jnp.inf)


def _qmu_ray_scale(Z, lam, st, mu_new, ratio, D, kind, iters=60):
    """Warm start for a new stage: ``c > 0`` with ``lam^T (Z w(c lam) - 1) = 0`` at ``mu_new``.

    ``f(c) = mu_new sum_i s_i h(c s_i) - 1^T lam`` (``s = Z^T lam``) is increasing; ``f(1) <= 0``
    after a stage converged at ``mu_old = ratio * mu_new`` (complementarity), and
    ``f(ratio) >= 0`` (``h(r x) >= r h(x)`` for convex ``h``, ``x >= 0``, ``r >= 1``), so the
    root is bracketed by ``[1, ratio]`` (``D > 2``: also below the end of the domain).
    Bisection on ``log c``; the state at ``c`` is advanced from ``st`` by the increment
    ``(c - 1) s`` (keeps the distances ``1 -+ s`` accurate near the ends of the domain).
    """
    s = Z.T @ lam
    L = jnp.sum(lam)
    hi = jnp.asarray(ratio, dtype=Z.dtype)
    if kind != "exp":  # c s must stay inside: (c - 1) s_i < da_i (s_i > 0), < db_i (s_i < 0)
        room = jnp.where(s > 0, st["da"] / jnp.where(s > 0, s, 1.0), jnp.where(s < 0, st["db"] / jnp.where(s < 0, -s, 1.0), jnp.inf))
        hi = jnp.minimum(hi, 1.0 + 0.999 * jnp.min(room))

    def state_at(c):
        return _qmu_advance(kind, st, c * s, (c - 1.0) * s)

    def f(c):
        return mu_new * jnp.sum(s * _qmu_h(kind, state_at(c), D)[0]) - L

    def body(_, b):
        lo, hi = b
        mid = jnp.sqrt(lo * hi)
        pos = f(mid) > 0
        return jnp.where(pos, lo, mid), jnp.where(pos, mid, hi)

    lo, hi = jax.lax.fori_loop(0, iters, body, (jnp.minimum(1.0, hi), hi))
    c = jnp.sqrt(lo * hi)
    c = jnp.where((L > 0) & jnp.isfinite(c), c, 1.0)
    return c, state_at(c)


class _QMuStage(NamedTuple):
    """The callables of :func:`~._solvers.dual_newton` for the dual at one stage ``m``; iterate ``(lam, st)``."""

    evaluate: object
    hessian: object
    move: object
    predicted: object
    first_step: object


def _qmu_stage(Z, m, D, kind, tol) -> _QMuStage:
    """Projected Newton on the dual at the stage ``m``: the pieces :func:`~._solvers.dual_newton` plugs in.

    eps-active set ``A`` (computed with the evaluation), Levenberg-Marquardt damping of the free
    block (so the shared routine runs with ``ridge=0``), trials along the projected arc
    ``lam_t = max(lam + t step, 0)`` with the Armijo model of Bertsekas (1982), first trial
    length capped as described above.
    """
    absZ = jnp.abs(Z)
    Z2 = Z * Z

    def evaluate(x):
        lam, st = x
        h, ok = _qmu_h(kind, st, D)
        w = m * h
        g = Z @ w - 1.0
        phi = m * jnp.sum(_qmu_H(kind, st, D)) - jnp.sum(lam)
        dh = m * _qmu_dh(kind, st, D)
        Hd = Z2 @ dh
        res = jnp.max(jnp.abs(jnp.minimum(Hd * lam, g)))  # natural KKT residual, margin units
        tgt = tol * jnp.maximum(1.0, jnp.max(absZ @ jnp.abs(w)))  # rounding in Z w
        ok = jnp.all(ok) & jnp.all(jnp.isfinite(w)) & jnp.isfinite(phi) & jnp.isfinite(res)
        active = (Hd * lam <= jnp.maximum(g, jnp.minimum(_QMU_EPS_ACTIVE, res))) & (g > 0)  # eps-active
        return {"w": w, "F": g, "phi": phi, "dh": dh, "Hd": Hd, "res": res, "tgt": tgt, "ok": ok, "active": active}

    def hessian(x, ev):
        A, Hd = ev["active"], ev["Hd"]
        Ff = (~A).astype(Z.dtype)
        scale = jnp.sum(Hd * Ff) / jnp.maximum(jnp.sum(Ff), 1.0)
        reg = (1e-3 * jnp.minimum(ev["res"], 1.0) + 1e-14) * scale  # Levenberg-Marquardt
        Hm = (Z * ev["dh"][None, :]) @ Z.T
        return Hm * (Ff[:, None] * Ff[None, :]) + jnp.diag(jnp.where(A, Hd, reg))

    def arc(lam, step, t):  # the projected arc, unquantised
        return jnp.where(lam + t * step > 0.0, t * step, -lam)

    def move(x, step, t):
        lam, st = x
        dl = arc(lam, step, t)
        lam_t = jnp.maximum(lam + dl, 0.0)
        return lam_t, _qmu_advance(kind, st, Z.T @ lam_t, Z.T @ dl)

    def predicted(x, ev, step, t):  # Bertsekas' first-order model along the projected arc
        A, g = ev["active"], ev["F"]
        return t * jnp.sum(jnp.where(~A, g * step, 0.0)) + jnp.sum(jnp.where(A, g * arc(x[0], step, t), 0.0))

    def first_step(x, step):
        st = x[1]
        ds = Z.T @ step
        if kind == "exp":  # at most a factor e^40 in w per step
            return jnp.minimum(1.0, 40.0 / jnp.maximum(jnp.max(jnp.abs(ds)), 1e-300))
        ta = jnp.where(ds > 0, st["da"] / jnp.where(ds > 0, ds, 1.0), jnp.inf)  # fraction to the boundary of |s| < 1
        tb = jnp.where(ds < 0, st["db"] / jnp.where(ds < 0, -ds, 1.0), jnp.inf)
        return jnp.minimum(1.0, 0.99 * jnp.minimum(jnp.min(ta), jnp.min(tb)))

    return _QMuStage(evaluate, hessian, move, predicted, first_step)


def _qmu_newton(Z, mu, D, kind, tol, max_iter):
    """Continuation in ``mu`` around projected Newton on the dual (see the derivation above); unit-scaled ``Z``.

    Each stage warm-starts along the ray of ``lam`` (:func:`_qmu_ray_scale`) and runs
    :func:`_qmu_stage` to the stage tolerance (the KKT target at the last stage, ``mu``); a
    stage that stalls hands over too. ``max_iter`` caps the Newton steps over all stages.
    """
    N, d = Z.shape

    def stage(c):
        m, lam, st, _, it, fac, k = c
        # adaptive stage length: grow the factor after easy stages, shrink it after hard ones
        fac = jnp.where(k <= 2, jnp.minimum(fac * 10.0, _QMU_FACTOR_MAX), jnp.where(k >= 8, jnp.maximum(fac / 10.0, _QMU_FACTOR), fac))
        m_new = jnp.maximum(mu, m / fac)
        c_ray, st_ray = _qmu_ray_scale(Z, lam, st, m_new, m / m_new, D, kind)
        pb = _qmu_stage(Z, m_new, D, kind, tol)

        def target(e):
            return jnp.where(m_new > mu, _QMU_STAGE_TOL, e["tgt"])

        out = dual_newton(
            pb.evaluate, pb.hessian, pb.move, (c_ray * lam, st_ray), target=target, max_iter=max_iter,
            iterations=it, first_step=pb.first_step, predicted=pb.predicted, ridge=0.0,
        )
        return m_new, out.x[0], out.x[1], out.ev, out.iterations, fac, out.iterations - it

    def cond(c):
        m, _, _, _, it, _, _ = c
        return (m > mu) & (it < max_iter)

    # Start "one stage above" mu_hi with lam = 0: the first stage (factor 10) is mu_hi itself.
    m0 = jnp.maximum(mu, _QMU_MU_HI) * _QMU_FACTOR
    lam0 = jnp.zeros(N, dtype=Z.dtype)
    st0 = _qmu_state(kind, jnp.zeros(d, dtype=Z.dtype))
    ev0 = _qmu_stage(Z, m0, D, kind, tol).evaluate((lam0, st0))  # placeholder of the same structure
    c0 = (m0, lam0, st0, ev0, jnp.asarray(0), jnp.asarray(_QMU_FACTOR / 10.0), jnp.asarray(0))
    m, lam, _, ev, it, _, _ = jax.lax.while_loop(cond, stage, c0)
    return ev["w"], lam, it, ev["res"], (ev["res"] <= ev["tgt"]) & (m <= mu)


class QMuDualSolution(NamedTuple):
    """Raw output of :func:`solve_q_mu_max_margin` (jax arrays; batch axes from ``vmap``).

    Attributes:
        w: the minimiser, ``(d,)``.
        multipliers: ``nu``, ``(N,)``, ``>= 0``: ``grad Q^D_mu(w) = sum_n nu_n y_n x_n``
            (moroshko2020 Thm 6).
        iterations: Newton steps over all continuation stages, ``()``.
        residual: final natural KKT residual ``max_n |min(H_nn lam_n, y_n x_n^T w - 1)|``
            (margin units, ``lam = mu nu`` at unit data scale), ``()``.
        converged: ``residual <= tol * max(1, max_n sum_i |y_n x_ni w_i|)`` at the target ``mu``.
    """

    w: jax.Array
    multipliers: jax.Array
    iterations: jax.Array
    residual: jax.Array
    converged: jax.Array


def _qmu_core(X, y, mu, D, kind, tol, max_iter):
    X = jnp.asarray(X, dtype=jnp.float64)
    y = jnp.asarray(y, dtype=jnp.float64)
    Z = y[:, None] * X
    sc = jnp.max(jnp.abs(Z))  # Z w >= 1  <=>  (Z/sc)(sc w) >= 1, and Q_mu(w) = Q_{sc mu}(sc w)
    mus = jnp.asarray(mu, dtype=jnp.float64) * sc
    w, lam, it, res, conv = _qmu_newton(Z / sc, mus, D, kind, tol, max_iter)
    return QMuDualSolution(w / sc, lam / mus, it, res, conv)


def solve_q_mu_max_margin(X, y, mu, *, depth, tol: float = 1e-12, max_iter: int = 2000) -> QMuDualSolution:
    r"""Functional, jit- and vmap-able core of :func:`q_mu_max_margin` (pure jax, no input checks).

    Solves ``min_w sum_i q^D(w_i / mu) s.t. y_n x_n^T w >= 1`` through its ``N``-dimensional
    dual (derivation and method in the comment block above this function's source): projected
    Newton with continuation in ``mu``. Vectorise over ``mu`` (or data) with ``jax.vmap``, e.g.
    ``jax.vmap(lambda m: solve_q_mu_max_margin(X, y, m, depth=2))(mus)``; :func:`q_mu_max_margin`
    does this for a 1-D ``mu`` and adds checks and KKT residuals.

    Args:
        X: ``(N, d)``.
        y: ``(N,)`` labels in ``{-1, +1}`` (not checked here).
        mu: ``()`` scale ``> 0``.
        depth: ``D >= 2`` (a Python number; every ``D > 2`` shares one compilation).
        tol: KKT target, relative to margin 1.
        max_iter: Newton-step cap over all stages (a Python int).

    Returns:
        :class:`QMuDualSolution` ``(w (d,), multipliers (N,), iterations, residual, converged)``.
        Non-separable data: ``converged`` is False (the dual is unbounded below).
    """
    D = _check_qmu_depth(depth)
    return _qmu_core(X, y, mu, D, _qmu_kind(D), float(tol), int(max_iter))


@functools.partial(jax.jit, static_argnames=("kind", "max_iter"))
def _qmu_jit(X, y, mu, D, tol, *, kind, max_iter):
    return jax.vmap(lambda m: _qmu_core(X, y, m, D, kind, tol, max_iter))(mu)


def _qmu_solve(X, y, mu_arr, D, tol, max_iter):
    """Batched solve of ``mu_arr`` (1-D), padded to a power-of-two length (at least 8 for
    ``N <= 64``, where the extra lanes cost little) so that scalars and paths of similar
    lengths share one compilation per data shape and kind."""
    B = mu_arr.size
    Bp = max(1 << max(0, (B - 1).bit_length()), 8 if X.shape[0] <= 64 else 1)
    mu_p = np.concatenate([mu_arr, np.full(Bp - B, mu_arr[-1])])
    sol = _qmu_jit(jnp.asarray(X), jnp.asarray(y), jnp.asarray(mu_p), D, float(tol), kind=_qmu_kind(D), max_iter=int(max_iter))
    return QMuDualSolution(*(np.asarray(a)[:B] for a in sol))


@dataclass(frozen=True, eq=False)
class QMuMaxMargin:
    """The Q^D_mu max-margin predictor(s) (see :func:`q_mu_max_margin`).

    Attributes (with a leading batch axis ``(B, ...)`` when ``mu`` was a 1-D array):
        mu: the scale(s), ``()`` or ``(B,)``.
        depth: ``D`` (float).
        w: the minimiser, ``(d,)``; its smallest margin is 1 (to the KKT tolerance).
        direction: ``w / ||w||_2``, ``(d,)``.
        objective: ``Q^D_mu(w) = sum_i q^D(w_i / mu)`` (moroshko2020 eq. (6), no prefactor).
        multipliers: ``nu``, ``(N,)``: ``grad Q^D_mu(w) = sum_n nu_n y_n x_n``, ``nu >= 0``,
            ``nu_n = 0`` off the support (moroshko2020 Thm 6 KKT conditions).
        support: ``(N,)`` bool, ``y_n x_n^T w <= 1 + 1e-6`` (as :class:`MaxMargin`).
        iterations: Newton steps, over all continuation stages.
        converged: the dual solver met its tolerance.
        kkt_primal: ``max(0, 1 - min_n y_n x_n^T w)``.
        kkt_complementarity: ``max_n nu_n |y_n x_n^T w - 1| / sum_n nu_n``.
        kkt_stationarity: ``||grad Q^D_mu(w) - sum_n nu_n y_n x_n||_inf / ||grad Q^D_mu(w)||_inf``
            with ``grad Q^D_mu(w)_i = (q^D)'(w_i / mu) / mu`` evaluated independently of the solver
            (NumPy Newton inversion of ``h_D``, as ``q_woodworth_grad``; not the dual's map).
        kkt_residual: the largest of the three (dual feasibility ``nu >= 0`` holds exactly).

    The arrays are read-only NumPy arrays.
    """

    mu: np.ndarray
    depth: float
    w: np.ndarray
    direction: np.ndarray
    objective: np.ndarray
    multipliers: np.ndarray
    support: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    kkt_primal: np.ndarray
    kkt_complementarity: np.ndarray
    kkt_stationarity: np.ndarray
    kkt_residual: np.ndarray


def _check_mu(mu):
    try:
        arr = np.asarray(mu, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"mu must be a number > 0 or a 1-D array of them (the Q^D_mu scale); received {mu!r}") from None
    if arr.ndim > 1 or arr.size == 0:
        raise ValueError(f"mu must be a number > 0 or a non-empty 1-D array of them; received shape {arr.shape}")
    if not np.all(np.isfinite(arr) & (arr > 0)):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].reshape(-1)[:5].tolist()
        raise ValueError(f"mu must be finite and > 0 (the Q^D_mu scale; mu -> 0 is the l1 limit, see max_margin(..., 'l1')); received {bad}")
    return arr, arr.ndim == 1


def _h_inverse_np(z, D):
    """``h_D^{-1}(z)`` in NumPy (``D > 2``): monotone Newton from the right, as in theory/diagonal.py.

    ``h_D`` is odd, increasing and convex on ``[0, 1)``; from ``t0 = 1 - (1 + |z|)^{-1/p}`` (right
    of the root since ``h_D(t) >= (1-t)^{-p} - 1``) Newton decreases monotonically to the root.
    """
    p = D / (D - 2.0)
    a = np.abs(z)
    t = -np.expm1(-np.log1p(a) / p)
    for _ in range(200):
        h = 2.0 * np.exp(-0.5 * p * np.log1p(-t * t)) * np.sinh(p * np.arctanh(t))
        dh = p * (np.exp(-(p + 1.0) * np.log1p(-t)) + np.exp(-(p + 1.0) * np.log1p(t)))
        dt = np.where(np.isfinite(h - a), (h - a) / dh, 0.0)
        t_new = np.clip(t - dt, 0.0, t)
        done = np.all(np.abs(t - t_new) <= 2.0 * _EPS_F * np.abs(t_new))
        t = t_new
        if done:
            break
    return np.sign(z) * t


def _q_grad_np(z, D):
    """``(q^D)'(z) = h_D^{-1}(z)`` (``arcsinh(z/2)`` for ``D = 2``), NumPy, elementwise."""
    return np.arcsinh(0.5 * z) if D == 2.0 else _h_inverse_np(z, D)


def _q_np(z, D):
    """``q^D(z)`` (moroshko2020 eq. (6)) in NumPy: closed form for ``D = 2``, ``z t - H_D(t)`` else."""
    if D == 2.0:
        return -z * z / (2.0 + np.sqrt(4.0 + z * z)) + z * np.arcsinh(0.5 * z)
    t = _h_inverse_np(z, D)
    m = 2.0 / (D - 2.0)
    small = np.abs(t) < 0.05
    ts = np.where(small, t, 0.0)
    # H_D(t) = sum_{k >= 1} 2 (m)_{2k} / (2k)! t^{2k} / m  (rising factorial), near 0
    ser, term = np.zeros_like(ts), (m + 1.0) * ts * ts  # k = 1: 2 m (m+1)/2 t^2 / m
    for k in range(1, 30):
        ser = ser + term
        term = term * (m + 2 * k) * (m + 2 * k + 1) / ((2 * k + 1) * (2 * k + 2)) * ts * ts
    tl = np.where(small, 0.5, t)
    direct = (np.expm1(-m * np.log1p(-tl)) + np.expm1(-m * np.log1p(tl))) / m
    return z * t - np.where(small, ser, direct)


_EPS_F = float(np.finfo(np.float64).eps)


_QMU_RANGE = {"exp": (1e-300, 1e150), "power": (1e-40, 1e150)}  # mu * max|y_n x_nj|


def _check_mu_range(mu_arr, scale, D):
    lo, hi = _QMU_RANGE[_qmu_kind(D)]
    ms = np.atleast_1d(mu_arr) * scale
    if np.all((ms >= lo) & (ms <= hi)):
        return
    bad = float(ms[(ms < lo) | (ms > hi)][0])
    end = "l1 max-margin (max_margin(X, y, 'l1'))" if bad < lo else "l2 max-margin (max_margin(X, y))"
    raise ValueError(
        f"mu out of range for depth {D:g}: mu * max|y_n x_nj| must lie in [{lo:g}, {hi:g}] (received {bad:.3g}); "
        f"that far out the Q^D_mu max-margin is the {end} to float64 precision"
    )


def _qmu_finish(Z, mu, D, sol, batched):
    """NumPy result with KKT residuals (independent evaluation of grad Q), batch axis kept."""
    w = np.atleast_2d(np.asarray(sol.w, dtype=np.float64))
    nu = np.atleast_2d(np.asarray(sol.multipliers, dtype=np.float64))
    mu_b = np.atleast_1d(mu)[:, None]
    margins = w @ Z.T
    primal = np.maximum(0.0, 1.0 - margins.min(axis=1))
    comp = np.max(nu * np.abs(margins - 1.0), axis=1) / np.maximum(nu.sum(axis=1), np.finfo(float).tiny)
    grad = _q_grad_np(w / mu_b, D) / mu_b
    stat = np.max(np.abs(grad - nu @ Z), axis=1) / np.maximum(np.max(np.abs(grad), axis=1), np.finfo(float).tiny)
    objective = np.sum(_q_np(w / mu_b, D), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = w / np.linalg.norm(w, axis=1, keepdims=True)
    fields = {
        "w": w + 0.0,
        "direction": direction,
        "objective": objective,
        "multipliers": nu,
        "support": margins <= 1.0 + ACTIVE_TOL,
        "iterations": np.asarray(sol.iterations).reshape(-1),
        "converged": np.asarray(sol.converged).reshape(-1),
        "kkt_primal": primal,
        "kkt_complementarity": comp,
        "kkt_stationarity": stat,
        "kkt_residual": np.maximum(np.maximum(primal, comp), stat),
    }
    if not batched:
        fields = {k: v[0] for k, v in fields.items()}
    out = QMuMaxMargin(mu=np.array(mu, dtype=np.float64), depth=D, **fields)
    for k in ("mu", *fields):
        a = getattr(out, k)
        if isinstance(a, np.ndarray):
            a.setflags(write=False)
    return out


def q_mu_max_margin(X, y, mu, depth=2, *, tol: float = 1e-12, max_iter: int = 2000, check: bool = True) -> QMuMaxMargin:
    r"""The Q^D_mu max-margin predictor: the implicit bias at the kernel-rich transition (moroshko2020 Thm 6).

    Solves

    .. math::

        \hat w_\mu = \arg\min_w Q^D_\mu(w) = \sum_{i=1}^d q^D\!\Big(\frac{w_i}{\mu}\Big)
        \quad\text{s.t.}\quad y_n x_n^T w \ge 1,\ n = 1..N,

    with ``q^D`` of moroshko2020 eq. (6) (:func:`~implicit_bias.theory.diagonal.q_woodworth`),
    ``x_n`` the rows of ``X``, ``y_n`` the labels ``y``, ``mu`` the scale ``mu`` and ``D`` the
    depth ``depth``. moroshko2020 Thm 6: for a depth-``D`` diagonal network (eq. (5)) trained by
    gradient flow on the exponential loss from ``u(0) = alpha 1``, stopped at loss
    ``eps(alpha)`` with ``alpha^D / log(1/eps) -> mu``, the margin-normalised predictor tends to
    ``\hat w_\mu`` as ``alpha -> inf``, under Condition 5
    (:func:`implicit_bias.diagnostics.condition5_holds`). Here ``alpha`` is the per-layer scale
    ``u_±(0) = alpha`` (the ``scale`` of a tied :class:`~implicit_bias.models.Diagonal`; an
    untied one with ``shape = 0`` starts every layer at ``scale ** (1/D)``, i.e. ``mu`` is then
    ``scale / log(1/eps)``), as for the regression potential (theory/diagonal.py).

    Scaling: eq. (6) defines ``Q^D_mu = sum_i q^D(w_i/mu)`` with no prefactor; a positive factor
    (e.g. ``mu Q^D_mu``, which tends to ``||w||_1`` as ``mu -> 0`` for ``D > 2``) would not move
    the minimiser, and ``objective`` reports eq. (6) as written. Limits: ``mu -> inf`` gives the
    l2 max-margin (``q^D(z) ~ z^2 (D-2)/(4D)``; ``z^2/4`` for ``D = 2``; error ``O(mu^-2)``),
    ``mu -> 0`` the l1 max-margin for every ``D`` (see :func:`q_mu_path`).

    Variational form (our derivation: ``q^D = H_D^*`` and ``H_D(s) = g(s) + g(-s)`` with
    ``g' = (1-s)^{-p}``, so ``q^D`` is an infimal convolution of ``g^*``):

    .. math::

        q^D(z) = (D-2) + \min_{a, b \ge 0,\ a - b = z} \Big[a + b - \tfrac D2 \big(a^{2/D} + b^{2/D}\big)\Big]
        \ (D > 2), \qquad
        q^2(z) = 2 + \min_{a - b = z} \big[a \log a - a + b \log b - b\big].

    It gives a conic (power / exponential cone) form of the primal, solved with cvxpy as the
    independent oracle in the tests, and the next-order term as ``mu -> 0``:
    ``mu Q^D_mu(w) = ||w||_1 - (D/2) mu^{(D-2)/D} sum_i |w_i|^{2/D} + ...`` (``D = 2``:
    ``log(1/mu) ||w||_1 + sum_i |w_i| log|w_i| - ||w||_1``), which breaks ties when the l1
    max-margin is not unique (the path ends at the least sparse l1 minimiser).

    Route: the ``N``-dimensional dual ``min_{lam >= 0} mu sum_i H_D((Z^T lam)_i) - 1^T lam``,
    ``w = mu h_D(Z^T lam)``, ``Z = diag(y) X`` (derivation in the source), by projected Newton
    with continuation in ``mu``, jitted; a 1-D ``mu`` is one ``vmap``-ed call (padded to a
    power-of-two length, at least 8 for ``N <= 64``, so that scalars and similar lengths share a
    compilation: one per data shape, batch bucket and ``D = 2`` vs ``D > 2``, ~1-5 s). The data are
    scaled to ``max |y_n x_nj| = 1`` inside. The returned KKT residuals are computed afterwards
    with an independent evaluation of ``grad Q^D_mu``.

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.
        mu: scale ``> 0``: a number, or a 1-D array ``(B,)`` (one jitted, vmapped solve).
        depth: ``D >= 2`` (real values allowed for ``D > 2``).
        tol: KKT target relative to margin 1 (achieved: ~1e-13 to 1e-11).
        max_iter: Newton-step cap over all continuation stages (measured: 15-45 steps for
            ``mu`` down to 1e-10 at ``N <= 10``, up to ~300 at ``N = 40``; the deep rich end of
            ``D > 2``, ``mu <= 1e-30``, can need ~2000).
        check: raise ``RuntimeError`` if some point did not converge (else see ``converged``).

    Returns:
        :class:`QMuMaxMargin`; arrays have a leading axis ``(B,)`` if ``mu`` was 1-D.

    Raises:
        ValueError: malformed inputs, labels outside ``{-1, +1}``, ``mu <= 0`` or not finite,
            ``depth < 2``, ``mu`` outside the solver's range (see below), or data that are not
            linearly separable.
        RuntimeError: no convergence within ``max_iter`` (with ``check=True``).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.diagonal_margins import q_mu_max_margin
        >>> X = np.array([[1.0, 2.0]]); y = np.array([1.0])
        >>> np.round(q_mu_max_margin(X, y, 1e4, depth=3).w, 6)  # kernel regime: the l2 max-margin (1, 2)/5
        array([0.2, 0.4])
        >>> np.round(q_mu_max_margin(X, y, 1e-8, depth=3).w, 5)  # rich: the l1 max-margin (0, 1/2)
        array([0. , 0.5])

    Assumptions: separable data; ``mu * max|y_n x_nj|`` in ``[1e-300, 1e150]`` (``D = 2``) or
    ``[1e-40, 1e150]`` (``D > 2``), else ``ValueError``: beyond, ``H_D`` underflows (large
    ``mu``) or continuation becomes slow (small ``mu``, ``D > 2``), and the path is at its
    l2 / l1 limit to float64 precision long before (measured direction errors ``~(|w|/mu)^2``
    and ``~mu``).
    """
    X, y = check_classification_data(X, y)
    D = _check_qmu_depth(depth)
    mu_arr, batched = _check_mu(mu)
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number; received {tol!r}")
    if isinstance(max_iter, bool) or not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1; received {max_iter!r}")
    Z = y[:, None] * X
    s = float(np.max(np.abs(Z)))
    if s == 0.0:
        raise ValueError(NOT_SEPARABLE)
    _check_mu_range(mu_arr, s, D)
    require_separable(Z / s)
    sol = _qmu_solve(X, y, np.atleast_1d(mu_arr), D, tol, max_iter)
    out = _qmu_finish(Z, mu_arr, D, sol, batched)
    if check and not np.all(out.converged):
        conv = np.atleast_1d(out.converged)
        bad = np.flatnonzero(~conv)
        mus = np.atleast_1d(mu_arr)[bad]
        res = np.atleast_1d(np.asarray(sol.residual))[bad]
        raise RuntimeError(
            f"q_mu_max_margin did not converge for mu = {mus[:5].tolist()} (KKT residual {float(np.max(res)):.2e} after "
            f"max_iter = {max_iter} Newton steps); raise max_iter, or tol if the residual is near rounding"
        )
    return out


# ----------------------------------------------------------------------------------------
# The Q_mu path, from the l2 max-margin (mu -> inf) to the l1 max-margin (mu -> 0)
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class QMuPath:
    """The Q^D_mu max-margin path (see :func:`q_mu_path`); ``B`` points, ``mus`` decreasing.

    Attributes:
        mus: ``(B,)``, strictly decreasing (from the kernel end to the rich end).
        depth: ``D``.
        points: :class:`QMuMaxMargin` with batch axis ``(B, ...)``: ``w``, ``direction``,
            ``multipliers``, ``support``, KKT residuals of each point.
        l2: :class:`MaxMargin` in l2, the limit ``mu -> inf``.
        l1: :class:`MaxMargin` in l1, the limit ``mu -> 0`` (for every ``D``; one vertex if the
            l1 max-margin is not unique, then the path's end may be another minimiser).
        distance_to_l2: ``(B,)``, ``||w_mu/||w_mu||_2 - l2.direction||_2``.
        distance_to_l1: ``(B,)``, ``||w_mu/||w_mu||_2 - l1.direction||_2``.
        excess_l1: ``(B,)``, ``||w_mu||_1 / ||w_l1||_1 - 1`` (``w_mu`` has smallest margin 1),
            the quantity of moroshko2020 Fig. 5a; ``-> 0`` as ``mu -> 0`` even when the l1
            max-margin is not unique.
        l1_l2d_kkt_residual: ``D > 2``: KKT residual of ``l1.w`` as a stationary point of the
            l_{2/D} max-margin problem (:func:`l2d_stationarity`); small iff the end of the
            Q path is also a possible rich limit of gradient flow at fixed scale. ``None``
            for ``D = 2`` (where l_{2/D} = l1).

    The arrays are read-only.
    """

    mus: np.ndarray
    depth: float
    points: QMuMaxMargin
    l2: MaxMargin
    l1: MaxMargin
    distance_to_l2: np.ndarray
    distance_to_l1: np.ndarray
    excess_l1: np.ndarray
    l1_l2d_kkt_residual: float | None

    @property
    def w(self) -> np.ndarray:
        """``(B, d)``: the Q^D_mu max-margin predictors (smallest margin 1)."""
        return self.points.w

    @property
    def directions(self) -> np.ndarray:
        """``(B, d)``: the normalised directions ``w / ||w||_2``."""
        return self.points.direction

    @property
    def support(self) -> np.ndarray:
        """``(B, N)`` bool: the support vectors along the path (moroshko2020 footnote 4)."""
        return self.points.support


def q_mu_path(X, y, mus=None, depth=2, *, tol: float = 1e-12, max_iter: int = 2000) -> QMuPath:
    r"""The Q^D_mu max-margin path for ``mu`` from ``inf`` to 0, with its two limits (moroshko2020 §4-§5).

    For each ``mu`` in ``mus`` (sorted decreasing), ``\hat w_\mu = argmin Q^D_mu(w) s.t.
    y_n x_n^T w >= 1`` (:func:`q_mu_max_margin`, all points in one jitted ``vmap`` call), their
    directions, and the limits

    * ``mu -> inf``: the l2 max-margin (kernel regime, moroshko2020 Thm 4); since
      ``q^D(z) = z^2 (D-2)/(4D) + O(z^4)`` (``z^2/4 + O(z^4)`` for ``D = 2``), the direction
      error is ``O(mu^-2)`` (measured slope -2.0 in the tests);
    * ``mu -> 0``: the l1 max-margin for every ``D >= 2`` (``mu q^D(w/mu) -> |w|`` for
      ``D > 2``; ``mu q^2(w/mu) / log(1/mu) -> |w|``), the rich end of the path (Thm 7 under
      Condition 5). Off-support coordinates decay like ``mu`` for ``D > 2`` and like
      ``mu^{1 - kappa}`` for ``D = 2`` (``kappa < 1`` a data-dependent dual gap), so ``D = 2``
      approaches l1 much more slowly (moroshko2020 §4 "Role of depth").

    Paper's Fig. 3-4 picture: with large initialization, gradient flow first reaches the l2
    max-margin, then follows this path as training accuracy grows (``mu = alpha^D / log(1/eps)``,
    Thm 6), when Condition 5 holds. For ``D > 2`` the rich limit of gradient flow at fixed
    ``alpha`` (``t -> inf``) is instead a KKT point of the l_{2/D} max-margin problem
    (moroshko2020 Thm 2 and §4 after Thm 7; vardi2022 §3.2; :func:`l2d_stationary_points`),
    which need not be the l1 point: the trajectory then leaves the path (Fig. 4).
    ``l1_l2d_kkt_residual`` says whether the l1 end is such a KKT point.

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.
        mus: 1-D array of scales ``> 0`` (sorted decreasing on output, duplicates removed).
            Default: 91 values ``geomspace(1e3, 1e-6) * max_i |w_l2,i|`` (the path turns where
            ``mu`` is comparable to the entries of ``w``).
        depth: ``D >= 2``.
        tol: as :func:`q_mu_max_margin`.
        max_iter: as :func:`q_mu_max_margin`.

    Returns:
        :class:`QMuPath`.

    Raises:
        ValueError: as :func:`q_mu_max_margin`.
        RuntimeError: some point did not converge.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.diagonal_margins import q_mu_path
        >>> X = np.array([[1.0, 2.0]]); y = np.array([1.0])
        >>> path = q_mu_path(X, y, [1e4, 1.0, 1e-8], depth=3)
        >>> np.round(path.distance_to_l2, 4), np.round(path.excess_l1, 4)
        (array([0.    , 0.0043, 0.4595]), array([0.2   , 0.1983, 0.    ]))
    """
    X, y = check_classification_data(X, y)
    D = _check_qmu_depth(depth)
    l2 = max_margin(X, y, "l2")  # raises if not separable
    l1 = max_margin(X, y, "l1")
    if mus is None:
        mus = np.geomspace(1e3, 1e-6, 91) * float(np.max(np.abs(l2.w)))
    mu_arr, batched = _check_mu(mus)
    if not batched:
        raise ValueError(f"mus must be a 1-D array of scales > 0; received a scalar {mus!r} (use q_mu_max_margin)")
    mu_arr = np.unique(mu_arr)[::-1].copy()
    pts = q_mu_max_margin(X, y, mu_arr, D, tol=tol, max_iter=max_iter)
    Z = y[:, None] * X
    w = pts.w / np.min(pts.w @ Z.T, axis=1, keepdims=True)
    dist2 = np.linalg.norm(pts.direction - l2.direction[None, :], axis=1)
    dist1 = np.linalg.norm(pts.direction - l1.direction[None, :], axis=1)
    excess = np.abs(w).sum(axis=1) / float(np.abs(l1.w).sum()) - 1.0
    l1_kkt = None if D == 2.0 else float(l2d_stationarity(X, y, l1.w, D).kkt_residual)
    for a in (mu_arr, dist2, dist1, excess):
        a.setflags(write=False)
    return QMuPath(mu_arr, D, pts, l2, l1, dist2, dist1, excess, l1_kkt)


# ----------------------------------------------------------------------------------------
# l_{2/D} max-margin: stationary (KKT) points of a non-convex problem, by local solves
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class L2DStationaryPoint:
    """A candidate KKT point of ``min ||w||_{2/D} s.t. y_n x_n^T w >= 1`` (see :func:`l2d_stationarity`).

    *Local*: the problem is non-convex for ``D > 2``; a stationary point need not be a global,
    or even a local, minimiser. Compare ``objective`` across points.

    Attributes:
        w: ``(d,)``, scaled so that its smallest margin is 1.
        depth: ``D``.
        objective: ``sum_i |w_i|^{2/D} = ||w||_{2/D}^{2/D}`` (the parameter-space ``||u||_2^2``
            of the min-norm factorisation ``w_i = ±u_i^D``).
        margin: ``1 / ||w||_{2/D}``, the normalised l_{2/D} margin.
        direction: ``w / ||w||_2``.
        support: ``(d,)`` bool, the nonzero coordinates ``S``.
        active: ``(N,)`` bool, margins ``<= 1 + 1e-6``.
        multipliers: ``(N,)``, ``nu >= 0`` (NNLS on the active set), zero off ``active``.
        kkt_primal: ``max(0, 1 - min_n y_n x_n^T w)`` (0 after scaling, kept for completeness).
        kkt_stationarity: ``||p |w_S|^{p-1} sign(w_S) - (Z^T nu)_S||_inf / ||p |w_S|^{p-1}||_inf``,
            ``p = 2/D``; for ``D = 2`` (``p = 1``) plus ``max(0, max_{i not in S} |Z^T nu|_i - 1)``.
        kkt_complementarity: ``max_n nu_n |y_n x_n^T w - 1| / sum_n nu_n``.
        kkt_residual: the largest of the three.
        start: which start the local solve came from (``"l1"``, ``"l2"``, ``"q_mu=..."``,
            ``"random-k"``, ``"given"``).
    """

    w: np.ndarray
    depth: float
    objective: float
    margin: float
    direction: np.ndarray
    support: np.ndarray
    active: np.ndarray
    multipliers: np.ndarray
    kkt_primal: float
    kkt_stationarity: float
    kkt_complementarity: float
    kkt_residual: float
    start: str


_L2D_ZERO = 1e-9  # |w_i| <= this * max|w| counts as zero


def _l2d_certify(Z, w, D, start, zero_tol=_L2D_ZERO):
    from scipy.optimize import nnls

    p = 2.0 / D
    m = Z @ w
    gmin = float(np.min(m))
    w = w / gmin
    m = m / gmin
    S = np.abs(w) > zero_tol * float(np.max(np.abs(w)))
    w = np.where(S, w, 0.0)
    m = Z @ w
    A = m <= 1.0 + ACTIVE_TOL
    grad = p * np.abs(w[S]) ** (p - 1.0) * np.sign(w[S])
    nu = np.zeros(Z.shape[0])
    if A.any():
        nu_A, _ = nnls(Z[np.ix_(A, S)].T, grad)
        nu[A] = nu_A
    s = Z.T @ nu
    gscale = float(np.max(np.abs(grad)))
    stat = float(np.max(np.abs(grad - s[S]))) / gscale
    if D == 2.0 and (~S).any():
        stat = max(stat, float(np.max(np.maximum(0.0, np.abs(s[~S]) - 1.0))))
    primal = max(0.0, 1.0 - float(np.min(m)))
    comp = float(np.max(nu * np.abs(m - 1.0)) / max(float(nu.sum()), np.finfo(float).tiny))
    obj = float(np.sum(np.abs(w) ** p))
    out_w = w + 0.0
    direction = w / float(np.linalg.norm(w))
    for a in (out_w, direction, S, A, nu):
        a.setflags(write=False)
    return L2DStationaryPoint(
        w=out_w, depth=D, objective=obj, margin=float(obj ** (-D / 2.0)), direction=direction,
        support=S, active=A, multipliers=nu, kkt_primal=primal, kkt_stationarity=stat,
        kkt_complementarity=comp, kkt_residual=max(primal, stat, comp), start=start,
    )


def l2d_stationarity(X, y, w, depth) -> L2DStationaryPoint:
    r"""KKT residuals of ``w`` as a stationary point of the l_{2/D} max-margin problem (moroshko2020 Thm 2, eq. (4)).

    The problem (``p = 2/D``, ``Z = diag(y) X``, rows ``z_n = y_n x_n``):

    .. math:: \min_w \sum_i |w_i|^{p} \quad\text{s.t.}\quad z_n^T w \ge 1,

    equivalent to ``min ||w||_{2/D}`` and, via the min-norm factorisation ``w_i = ±u_i^D``, to
    the parameter-space problem (3) of moroshko2020 for the diagonal network (5): ``R(w)^2 =
    sum_i |w_i|^{2/D}`` in eq. (4). Gradient flow at any fixed scale converges in direction to
    a KKT point of (3) (Thm 2, Lyu & Li); from the unbiased init ``u_±(0) = alpha 1 > 0`` the
    signs of ``u_±`` never change, so at most one of ``u_+i``, ``u_-i`` is nonzero in the limit
    and these KKT points are exactly the points ``w`` with, for some ``nu >= 0``,

    .. math:: p |w_i|^{p-1} \operatorname{sign}(w_i) = (Z^T \nu)_i\ (w_i \ne 0), \quad
              Z w \ge 1, \quad \nu_n (z_n^T w - 1) = 0,

    and no condition on coordinates with ``w_i = 0`` when ``p < 1`` (the term ``|w_i|^p`` has
    an unbounded subdifferential at 0; in parameter space the gradient there is 0). For
    ``D = 2`` (``p = 1``, convex: the l1 max-margin) the full KKT conditions add
    ``|(Z^T nu)_i| <= 1`` off the support. ``w`` is first scaled to smallest margin 1;
    coordinates with ``|w_i| <= 1e-9 max|w|`` count as zero; ``nu`` is fitted by non-negative
    least squares on the active constraints (for ``D = 2`` one choice among possibly several
    multipliers: a large residual there can be a false negative; use ``max_margin(X, y, "l1")``).

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.
        w: candidate, shape ``(d,)``, separating (all margins ``> 0``).
        depth: ``D >= 2``.

    Returns:
        :class:`L2DStationaryPoint` (``start="given"``).

    Raises:
        ValueError: malformed inputs, ``depth < 2`` or a ``w`` that does not separate the data.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.diagonal_margins import l2d_stationarity
        >>> X = np.array([[1.0, 2.0]]); y = np.array([1.0])
        >>> round(l2d_stationarity(X, y, [0.0, 0.5], depth=3).kkt_residual, 12)  # a sparse vertex
        0.0
        >>> l2d_stationarity(X, y, [0.2, 0.4], depth=3).kkt_residual > 0.1  # the l2 point is not
        True
    """
    X, y = check_classification_data(X, y)
    D = _check_qmu_depth(depth)
    w = check_vector(w, "w", X.shape[1])
    Z = y[:, None] * X
    if not np.min(Z @ w) > 0:
        raise ValueError(
            f"w must separate the data (all margins y_n x_n^T w > 0) to be an l_2/D max-margin candidate; "
            f"its smallest margin is {float(np.min(Z @ w)):.3g}"
        )
    return _l2d_certify(Z, w, D, "given")


def _l2d_slsqp(Z, D, w0, maxiter):
    """Local solve of ``min ||v||^2 s.t. Z phi(v) >= 1``, ``phi(v) = v |v|^{D-1}`` (smooth), from ``w0``."""
    from scipy.optimize import minimize

    v0 = np.sign(w0) * np.abs(w0) ** (1.0 / D)

    def phi(v):
        return v * np.abs(v) ** (D - 1.0)

    cons = {
        "type": "ineq",
        "fun": lambda v: Z @ phi(v) - 1.0,
        "jac": lambda v: Z * (D * np.abs(v) ** (D - 1.0))[None, :],
    }
    res = minimize(lambda v: (float(v @ v), 2.0 * v), v0, jac=True, method="SLSQP", constraints=[cons], options={"ftol": 1e-15, "maxiter": maxiter})
    return phi(res.x)


def _l2d_polish(Z, w, D):
    """Newton (least squares) on the KKT system of a guessed support ``S`` and active set ``A``.

    Unknowns ``(w_S, nu_A)``; equations ``Z_AS w_S = 1`` and
    ``p |w_S|^{p-1} sign(w_S) = Z_AS^T nu_A``. Several thresholds for ``S`` and ``A`` are tried;
    a candidate is kept if it solves the system to ~1e-13, keeps the signs of ``w_S``, stays
    feasible and has ``nu_A >= 0``.
    """
    from scipy.optimize import nnls

    p = 2.0 / D
    w = w / float(np.min(Z @ w))
    best = w
    for sthr in (1e-6, 1e-4, 1e-3, 1e-2):
        for athr in (1e-8, 1e-6, 1e-4, 1e-3):
            S = np.abs(w) > sthr * float(np.max(np.abs(w)))
            A = Z @ w <= 1.0 + athr
            if not A.any() or not S.any():
                continue
            ZAS = Z[np.ix_(A, S)]
            xs = w[S].copy()
            sg = np.sign(xs)
            nu = nnls(ZAS.T, p * np.abs(xs) ** (p - 1.0) * sg)[0]
            ok = False
            for _ in range(50):
                F = np.concatenate([ZAS @ xs - 1.0, p * np.abs(xs) ** (p - 1.0) * sg - ZAS.T @ nu])
                if np.max(np.abs(F)) <= 1e-13 * max(1.0, float(np.max(np.abs(p * np.abs(xs) ** (p - 1.0))))):
                    ok = True
                    break
                J = np.block([
                    [ZAS, np.zeros((ZAS.shape[0], ZAS.shape[0]))],
                    [np.diag(p * (p - 1.0) * np.abs(xs) ** (p - 2.0)), -ZAS.T],
                ])
                step = np.linalg.lstsq(J, -F, rcond=None)[0]
                xs_new = xs + step[: xs.size]
                if not np.all(np.sign(xs_new) == sg):
                    break
                xs, nu = xs_new, nu + step[xs.size:]
            if not ok or np.min(nu) < -1e-12 * max(1.0, float(np.max(np.abs(nu)))):
                continue
            cand = np.zeros_like(w)
            cand[S] = xs
            if float(np.min(Z @ cand)) < 1.0 - 1e-12:
                continue
            return cand
    return best


def _weighted_l1_vertex(Z, c):
    """A vertex of ``min sum_i c_i |w_i| s.t. Z w >= 1`` (HiGHS through scipy), or None."""
    from scipy.optimize import linprog

    N, d = Z.shape
    with quiet_stdout():
        res = linprog(np.concatenate([c, c]), A_ub=-np.hstack([Z, -Z]), b_ub=-np.ones(N), bounds=[(0, None)] * (2 * d), method="highs")
    if res.status != 0:  # pragma: no cover - feasible and bounded for separable data
        return None
    return res.x[:d] - res.x[d:]


def l2d_stationary_points(X, y, depth, *, starts=None, n_random: int = 8, seed: int = 0, kkt_tol: float = 1e-8, maxiter: int = 1000) -> tuple[L2DStationaryPoint, ...]:
    r"""Stationary (KKT) points of the l_{2/D} max-margin problem by local solves from several starts.

    The rich limit of gradient flow on a depth-``D`` diagonal network at fixed scale
    (moroshko2020 Thm 2 and eq. (4); vardi2022 §3.2) is the direction of a KKT point of
    ``min sum_i |w_i|^{2/D} s.t. y_n x_n^T w >= 1`` (see :func:`l2d_stationarity`), a
    non-convex problem for ``D > 2`` with, in general, several KKT points (moroshko2020 Fig. 4;
    App. H in the paper's supplement). **Every returned point is local**: a KKT point found
    from some start, not a certified global minimiser; which one gradient flow reaches depends
    on the initialization and the path (compare with :func:`q_mu_path` and training runs).

    Route, per start ``w0``: SLSQP (scipy) on the smooth parameter-space form
    ``min ||v||_2^2 s.t. Z (v |v|^{D-1}) >= 1`` (``w = v |v|^{D-1}``, the min-norm
    factorisation), then a Newton polish of the KKT system on the identified support and
    active set (exact zeros, ~1e-14 residuals), then :func:`l2d_stationarity` certifies it.
    Points with ``kkt_residual > kkt_tol`` are dropped; duplicates (directions within 1e-7)
    are merged, keeping the first start that found them.

    Starts (``starts=None``): ``"l1"`` and ``"l2"`` (the max-margin solutions), the Q^D_mu
    max-margin points at ``mu = {1, 1e-2} * max|w_l2|``, and ``n_random`` random separating
    directions (uniform on the sphere, rejection against the separating cone, ``seed``; falling
    back to random positive rescalings of the l2 solution when the cone is thin) for half of the
    ``n_random`` random starts, vertices of randomly weighted l1 max-margin LPs
    ``min sum_i c_i |w_i|`` (``log c_i`` standard normal) for the other half: sparse vertices
    are where l_p (``p < 1``) minimisers sit, and SLSQP from generic directions tends to fall
    into the same basin.

    Args:
        X: data, shape ``(N, d)``.
        y: labels in ``{-1, +1}``, shape ``(N,)``.
        depth: ``D >= 2`` (``D = 2`` is the convex l1 max-margin: one point, up to non-uniqueness).
        starts: optional extra starts: an array ``(K, d)`` or a dict ``{name: (d,)}``; added to
            the default ones.
        n_random: number of random starts.
        seed: seed of the random starts.
        kkt_tol: certification threshold on ``kkt_residual``.
        maxiter: SLSQP iteration cap per start.

    Returns:
        Tuple of :class:`L2DStationaryPoint`, sorted by ``objective`` (smallest first). May be
        empty if no start led to a certified point.

    Raises:
        ValueError: malformed inputs, ``depth < 2``, or data that are not linearly separable.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.diagonal_margins import l2d_stationary_points
        >>> X = np.array([[1.0, 2.0]]); y = np.array([1.0])
        >>> pts = l2d_stationary_points(X, y, depth=3, n_random=8, seed=0)
        >>> [(np.round(p.w, 6).tolist(), round(p.objective, 6)) for p in pts]  # two sparse vertices
        [([0.0, 0.5], 0.629961), ([1.0, 0.0], 1.0)]
    """
    X, y = check_classification_data(X, y)
    D = _check_qmu_depth(depth)
    if isinstance(n_random, bool) or not (isinstance(n_random, (int, np.integer)) and n_random >= 0):
        raise ValueError(f"n_random must be an integer >= 0; received {n_random!r}")
    Z = y[:, None] * X
    s = float(np.max(np.abs(Z)))
    if s == 0.0:
        raise ValueError(NOT_SEPARABLE)
    Zs = Z / s  # unit data scale; w_s = s w
    l2 = max_margin(X, y, "l2")  # raises if not separable
    l1 = max_margin(X, y, "l1")
    cands: list[tuple[str, np.ndarray]] = [("l1", l1.w), ("l2", l2.w)]
    wmax = float(np.max(np.abs(l2.w)))
    if D > 2.0:
        q = q_mu_max_margin(X, y, np.array([1.0, 1e-2]) * wmax, D, check=False)
        cands += [(f"q_mu={m:.3g}", q.w[k]) for k, m in enumerate(q.mu) if q.converged[k]]
    rng = np.random.default_rng(seed)
    n_dir = (n_random + 1) // 2
    found, tries = 0, 0
    while found < n_dir and tries < 200 * max(1, n_dir):
        u = rng.standard_normal(X.shape[1])
        tries += 1
        if np.min(Z @ u) > 0:
            cands.append((f"random-{found}", u))
            found += 1
    while found < n_dir:  # thin cone: perturb the l2 solution multiplicatively
        u = l2.w * np.exp(rng.standard_normal(X.shape[1]))
        if np.min(Z @ u) > 0:
            cands.append((f"random-{found}", u))
            found += 1
    for k in range(n_random - n_dir):  # vertices of randomly weighted l1 max-margin LPs
        v = _weighted_l1_vertex(Zs, np.exp(rng.standard_normal(X.shape[1])))
        if v is not None:
            cands.append((f"vertex-{k}", v / s))
    if starts is not None:
        extra = starts.items() if isinstance(starts, dict) else ((f"start-{k}", v) for k, v in enumerate(np.atleast_2d(np.asarray(starts, dtype=np.float64))))
        for name, v in extra:
            v = check_vector(v, f"starts[{name!r}]", X.shape[1])
            cands.append((str(name), v))

    points: list[L2DStationaryPoint] = []
    for name, w0 in cands:
        w0s = np.asarray(w0, dtype=np.float64) * s
        if not np.min(Zs @ w0s) > 0:
            w0s = w0s + np.asarray(l2.w) * s  # pull an infeasible start into the cone
        w0s = w0s / float(np.min(Zs @ w0s))
        try:
            ws = _l2d_slsqp(Zs, D, w0s, maxiter)
            if not (np.all(np.isfinite(ws)) and np.min(Zs @ ws) > 0):
                continue
            ws = _l2d_polish(Zs, ws, D)
        except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
            continue
        pt = _l2d_certify(Z, ws / s, D, name)
        if not pt.kkt_residual <= kkt_tol:
            continue
        if any(np.linalg.norm(pt.direction - o.direction) < 1e-7 for o in points):
            continue
        points.append(pt)
    return tuple(sorted(points, key=lambda p: p.objective))


# ----------------------------------------------------------------------------------------
# moroshko2020 Lemma 3: the loss bound along gradient flow
# ----------------------------------------------------------------------------------------


def lemma3_loss_bound(t, alpha, depth, gamma2, *, tied: bool = True, log: bool = False):
    r"""Upper bound on the training loss along gradient flow (moroshko2020 Lemma 3).

    .. math:: \mathcal L(u(t)) \le \frac{1}{1 + c\,t}, \qquad
              c = 2 D^2 \alpha^{2D-2} \gamma_2^2\ \text{(tied)}, \quad
              c = 2 D\, \alpha^{2D-2} \gamma_2^2\ \text{(untied, equal layers)},

    with ``t`` the gradient-flow time ``t``, ``alpha`` the per-layer initialization scale
    ``alpha`` (``u_±(0) = alpha 1``: the ``scale`` of a tied :class:`~implicit_bias.models.Diagonal`;
    an untied one with ``shape = 0`` starts every layer at ``scale ** (1/D)``),
    ``D`` the depth ``depth`` and ``gamma_2 = max_{||w||_2 = 1} min_n y_n x_n^T w`` the l2 margin
    of the data ``gamma2`` (``max_margin(X, y).margin``). The loss is the *mean* exponential
    loss ``L = (1/N) sum_n exp(-y_n x_n^T w)`` (moroshko2020 §2, our ``exponential``), so
    ``L(0) = 1`` at the unbiased init ``w(0) = 0``.

    Derivation (ours; the paper's App. D is not in our copy, and the constant agrees with the
    statement): with ``g = (1/N) sum_n l_n y_n x_n``, ``||grad_u L||^2 = D^2 sum_i g_i^2
    (u_+i^{2D-2} + u_-i^{2D-2})`` for the tied model (5). Along the flow ``u_+i^{2-D} +
    u_-i^{2-D} = 2 alpha^{2-D}`` (``D > 2``; ``u_+i u_-i = alpha^2`` for ``D = 2``), and by
    convexity of ``x -> x^{-(2D-2)/(D-2)}`` this gives ``u_+i^{2D-2} + u_-i^{2D-2} >=
    2 alpha^{2D-2}``; also ``||g||_2 >= g^T w_* >= gamma_2 L`` for the unit l2 max-margin
    ``w_*``. So ``dL/dt <= -c L^2``, and integrating, ``1/L(t) >= 1/L(0) + c t``.

    Warning (time units): the constant ``2 D^2`` is for the model (5) with shared layers
    (``Diagonal(tied=True)``: gradient w.r.t. the shared ``u``). moroshko2020 §3 notes that
    ``D`` separate layers initialised equal stay equal, but gradient flow on them runs ``D``
    times slower (each layer's gradient lacks the factor ``D``), so for
    ``Diagonal(tied=False)`` with equal layers use ``tied=False`` (constant ``2 D``).

    Args:
        t: time(s) ``>= 0``, array-like (broadcast with the other arguments).
        alpha: per-layer scale(s) ``> 0``.
        depth: ``D >= 2``.
        gamma2: l2 margin ``> 0`` of the data.
        tied: shared layers (the paper's model (5)); ``False`` for untied equal layers.
        log: return ``log`` of the bound, ``-log1p(c t)`` (no underflow at large ``t``; compare
            with ``-training_accuracy = log L``).

    Returns:
        The bound (or its log), float64 array of the broadcast shape (0-d for scalars).

    Raises:
        ValueError: ``t < 0``, ``alpha <= 0``, ``depth < 2``, ``gamma2 <= 0`` or non-finite values.

    Example:
        >>> from implicit_bias.theory.diagonal_margins import lemma3_loss_bound
        >>> float(lemma3_loss_bound(1.0, alpha=1.0, depth=2, gamma2=0.5))  # 1 / (1 + 2*4*1*0.25)
        0.3333333333333333
    """
    D = _check_qmu_depth(depth)
    arrs = {}
    for name, v, lo, strict in (("t", t, 0.0, False), ("alpha", alpha, 0.0, True), ("gamma2", gamma2, 0.0, True)):
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number or an array of numbers; received {v!r}") from None
        ok = np.isfinite(a) & ((a > lo) if strict else (a >= lo))
        if not np.all(ok):
            rel = ">" if strict else ">="
            raise ValueError(f"{name} must be finite and {rel} {lo:g}; received {a[~ok].reshape(-1)[:5].tolist()}")
        arrs[name] = a
    c = 2.0 * (D * D if tied else D) * arrs["alpha"] ** (2.0 * D - 2.0) * arrs["gamma2"] ** 2
    ct = c * arrs["t"]
    return -np.log1p(ct) if log else 1.0 / (1.0 + ct)
