"""What the theory modules share: input checks, the cvxpy plumbing and one damped dual-Newton routine.

A private module (imported by its siblings in :mod:`implicit_bias.theory`, not re-exported): the
names carry no leading underscore because other modules import them. Where things go:

* **Input checks** (:func:`check_X`, :func:`check_y`, :func:`check_vector`,
  :func:`check_classification_data`) and :func:`reduce_rows` (the orthonormal, full-row-rank
  system equivalent to ``X w = y``, which also decides "no interpolant").
* **Convex programs through cvxpy and SciPy's HiGHS**: :func:`solve_cvxpy` (first solver that
  does not error), :func:`solve_first_optimal` (first solver that ends optimal),
  :func:`quiet_stdout`, and the separability test of max-margin problems
  (:func:`separability_margin`, :func:`require_separable`).
* **One damped Newton routine on an N-dimensional convex dual**, :func:`dual_newton`, used by
  every dual solve of the theory layer (``diagonal``, ``linear_networks``, ``interpolants``,
  ``diagonal_margins``): each caller supplies its evaluation, Hessian and trial move; the routine
  owns the ridge, the fall-back to steepest descent, the backtracking rule and the stall rule.

Solver output never reaches standard output: solvers run with ``verbose=False`` and the
process-level file descriptor 1 is redirected to ``os.devnull`` around each solve (HiGHS prints
a banner otherwise). The redirection is process-wide, so do not print from other threads during a
solve.

Conventions: ``X`` is ``(N, d)``, ``y`` is ``(N,)``, vectors ``(d,)``; results float64.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
from typing import Any, Callable, NamedTuple

import numpy as np

__all__ = [
    "check_X",
    "check_y",
    "check_vector",
    "check_labels",
    "check_classification_data",
    "reduce_rows",
    "quiet_stdout",
    "solve_cvxpy",
    "solve_first_optimal",
    "separability_margin",
    "require_separable",
    "NOT_SEPARABLE",
    "ACTIVE_TOL",
    "NewtonResult",
    "dual_newton",
]

_EPS = np.finfo(np.float64).eps

# Relative tolerance of the test "y lies in the range of X" (after the rank cut-off).
_RANGE_RTOL = 1e-8

#: Constraints with margin ``<= 1 + ACTIVE_TOL`` count as active ("support vectors").
ACTIVE_TOL = 1e-6

#: The message of every max-margin prediction asked for on non-separable data.
NOT_SEPARABLE = (
    "data are not linearly separable: no w has y_n x_n^T w >= 1 for all n; "
    "a max-margin prediction needs separable data"
)


# ----------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------


def _as_float_array(a, name: str) -> np.ndarray:
    """``a`` as a float64 array, or ValueError naming ``name``."""
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a real numeric array; received an object of type {type(a).__name__}"
        ) from None
    return arr


def check_X(X) -> np.ndarray:
    """Validate the design matrix: 2-D ``(N, d)``, non-empty, finite; float64 copy-free view."""
    X = _as_float_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (N, d); received shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one row and one column; received shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or Inf")
    return X


def check_y(y, n_rows: int) -> np.ndarray:
    """Validate targets/labels: 1-D ``(N,)`` matching ``X``, finite."""
    y = _as_float_array(y, "y")
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (N,); received shape {y.shape}")
    if y.shape[0] != n_rows:
        raise ValueError(f"y has {y.shape[0]} entries but X has {n_rows} rows")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or Inf")
    return y


def check_vector(v, name: str, d: int) -> np.ndarray:
    """Validate a predictor-shaped vector ``(d,)`` named ``name``, finite."""
    v = _as_float_array(v, name)
    if v.shape != (d,):
        raise ValueError(
            f"{name} must have shape ({d},) to match X with {d} columns; received shape {v.shape}"
        )
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains NaN or Inf")
    return v


def check_labels(y: np.ndarray) -> None:
    """Raise ValueError unless every entry of ``y`` is ``-1`` or ``+1``."""
    bad = ~((y == 1.0) | (y == -1.0))
    if np.any(bad):
        vals = np.unique(y[bad])[:5].tolist()
        raise ValueError(f"y must contain only the labels -1 and +1; received other values {vals}")


def check_classification_data(X, y) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` checked for a classification prediction: shapes, finiteness, labels in ``{-1, +1}``."""
    X = check_X(X)
    y = check_y(y, X.shape[0])
    check_labels(y)
    return X, y


def reduce_rows(X: np.ndarray, y: np.ndarray):
    """Orthonormalised, full-row-rank system equivalent to ``X w = y``.

    With the thin SVD ``X = U S V^T`` and rank ``r`` (singular values above
    ``s_max * max(N, d) * eps``) returns ``A = S_r^{-1} U_r^T X`` (``(r, d)``, orthonormal
    rows spanning the row space of ``X``; exact zeros where ``X`` has zero columns),
    ``b = S_r^{-1} U_r^T y`` and ``s_r``. ``A w = b`` has the same solutions as ``X w = y``.

    Raises:
        ValueError: ``y`` is not in the range of ``X`` (no interpolant).
    """
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    ynorm = float(np.linalg.norm(y))
    cut = (s[0] if s.size else 0.0) * max(X.shape) * _EPS
    r = int(np.sum(s > cut)) if s.size and s[0] > 0 else 0
    if r == 0:  # X == 0: only y == 0 is reachable
        if ynorm > 0:
            raise ValueError("no interpolant: X is zero but y is not, so no w satisfies X w = y")
        return np.zeros((0, X.shape[1])), np.zeros(0), np.zeros(0)
    Ur, sr = U[:, :r], s[:r]
    coef = Ur.T @ y
    off_range = float(np.linalg.norm(y - Ur @ coef))
    if off_range > _RANGE_RTOL * ynorm:
        raise ValueError(
            "no interpolant: y is not in the range of X (least-squares residual "
            f"{off_range:.3g} vs ||y|| = {ynorm:.3g}), so no w satisfies X w = y"
        )
    A = (Ur.T @ X) / sr[:, None]
    b = coef / sr
    return A, b, sr


# ----------------------------------------------------------------------------------------
# Convex programs: cvxpy / HiGHS plumbing
# ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_stdout():
    """Silence standard output at the file-descriptor level (C/C++ solvers included)."""
    libc = None
    try:
        libc = ctypes.CDLL(None)
    except OSError:  # pragma: no cover - non-POSIX
        pass

    def c_flush():
        if libc is not None:
            try:
                libc.fflush(None)
            except Exception:  # pragma: no cover
                pass

    try:
        sys.stdout.flush()
    except Exception:  # pragma: no cover
        pass
    c_flush()
    try:
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:  # pragma: no cover - no fd 1: nothing to protect
        with contextlib.redirect_stdout(io.StringIO()):
            yield
        return
    try:
        os.dup2(devnull, 1)
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        c_flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def solve_cvxpy(problem, solvers) -> str:
    """Solve ``problem`` with the first of ``solvers`` (``(name, options)`` pairs) that does not error.

    Returns the solver status; raises RuntimeError if every solver raised ``SolverError``.
    """
    import cvxpy as cp

    last = None
    for solver, opts in solvers:
        try:
            with quiet_stdout():
                problem.solve(solver=solver, verbose=False, **opts)
            return problem.status
        except cp.error.SolverError as exc:  # try the next solver
            last = exc
    raise RuntimeError(f"all solvers failed on the max-margin problem: {last}")


def solve_first_optimal(problem, variable, solvers, *, stop_on_infeasible: bool = False):
    """Solve ``problem`` with each of ``solvers`` in turn until one ends optimal with a value.

    Returns ``(True, status)`` on success, else ``(False, last)`` with ``last`` the last status or
    solver error. With ``stop_on_infeasible`` an infeasible status ends the search at once (the
    caller reports it)."""
    import cvxpy as cp

    last = None
    for solver in solvers:
        try:
            with quiet_stdout():
                problem.solve(solver=solver, verbose=False)
        except cp.error.SolverError as exc:  # try the next solver
            last = exc
            continue
        if problem.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) and variable.value is not None:
            return True, problem.status
        last = problem.status
        if stop_on_infeasible and problem.status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            break
    return False, last


def separability_margin(Z: np.ndarray) -> float:
    """``max_w min_n z_n^T w`` over the box ``||w||_inf <= 1`` (LP, HiGHS); > 0 iff separable.

    ``Z`` is ``(N, d)`` with rows ``z_n = y_n x_n``.
    """
    from scipy.optimize import linprog

    N, d = Z.shape
    c = np.zeros(d + 1)
    c[-1] = -1.0  # maximise t
    A_ub = np.hstack([-Z, np.ones((N, 1))])  # t - z_n^T w <= 0
    bounds = [(-1.0, 1.0)] * d + [(None, None)]
    with quiet_stdout():
        res = linprog(c, A_ub=A_ub, b_ub=np.zeros(N), bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"separability LP failed: {res.message}")
    return -float(res.fun)


def require_separable(Z: np.ndarray) -> None:
    """Raise ValueError (:data:`NOT_SEPARABLE`) unless the rows of ``Z`` are strictly separable."""
    scale = float(np.max(np.abs(Z)))
    if separability_margin(Z) <= 1e-10 * max(scale, np.finfo(float).tiny):
        raise ValueError(NOT_SEPARABLE)


# ----------------------------------------------------------------------------------------
# Damped Newton on a convex dual
# ----------------------------------------------------------------------------------------


class NewtonResult(NamedTuple):
    """Output of :func:`dual_newton` (a pytree: batch axes come from ``jax.vmap``).

    Attributes:
        x: the last accepted iterate (the caller's pytree).
        ev: its evaluation (the caller's dict, with ``"F"``, ``"phi"``, ``"res"``, ``"ok"``).
        iterations: Newton steps taken, counted from the ``iterations`` argument.
        stalled: the last line search accepted no step.
    """

    x: Any
    ev: Any
    iterations: Any
    stalled: Any


class _Backend(NamedTuple):
    xp: Any
    while_loop: Callable
    select: Callable
    solve: Callable


def _py_while(cond, body, state):
    while cond(state):
        state = body(state)
    return state


def _np_solve(J, F):
    try:
        return np.linalg.solve(J, F)
    except np.linalg.LinAlgError:
        return np.full(F.shape, np.nan)


def _jax_backend() -> _Backend:
    import jax
    import jax.numpy as jnp

    def select(acc, a, b):
        return jax.tree_util.tree_map(lambda u, v: jnp.where(acc, u, v), a, b)

    def solve(J, F):
        return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(J, lower=True), F)

    return _Backend(jnp, jax.lax.while_loop, select, solve)


_NUMPY = _Backend(np, _py_while, lambda acc, a, b: a if acc else b, _np_solve)


def dual_newton(
    evaluate: Callable,
    hessian: Callable,
    move: Callable,
    x0,
    *,
    target,
    max_iter: int,
    ev0=None,
    first_step: Callable | None = None,
    predicted: Callable | None = None,
    iterations=0,
    ridge: float = 1e-14,
    max_backtrack: int = 80,
    armijo: float = 1e-4,
    backend: str = "jax",
) -> NewtonResult:
    r"""Damped Newton with backtracking on a smooth convex (dual) function ``Phi`` of ``n`` variables.

    One step from the iterate ``x`` with evaluation ``ev = evaluate(x)`` (``ev["F"] = grad Phi``,
    ``(n,)``; ``ev["phi"] = Phi`` up to a constant; ``ev["res"] >= 0`` the residual that measures
    progress; ``ev["ok"]`` the point is usable):

    1. **Direction**: ``step = -(J + rho I)^{-1} F`` with ``J = hessian(x, ev)`` (``(n, n)``,
       positive semidefinite) and the relative ridge ``rho = ridge * tr(J) / n + 1e-300``; if
       ``tr(J)`` is not positive (no curvature information, e.g. a dual map with zero slope at
       the start), or ``step`` is not finite or not a descent direction (``F^T step >= 0``),
       steepest descent ``step = -F`` instead. ``slope = F^T step``.
    2. **Backtracking** from ``t = first_step(x, step)`` (default 1), halving up to
       ``max_backtrack`` times: the trial ``x_t = move(x, step, t)`` is accepted when
       ``evaluate(x_t)["ok"]`` and either Armijo decrease
       ``Phi(x_t) <= Phi(x) + armijo * t * slope`` (or ``+ armijo * predicted(x, ev, step, t)``,
       for moves that are not straight lines, e.g. projected arcs) or a sufficient decrease of
       the residual ``res(x_t) <= (1 - armijo * t) res(x)``, which keeps measuring progress once
       differences of ``Phi`` are below rounding.
    3. **Stop** when ``res <= target`` (a number, or a function of ``ev``), after ``max_iter``
       steps (counted from ``iterations``), or when no trial is accepted (**stall**: the last
       accepted iterate is returned).

    Args:
        evaluate: ``x -> ev``, a dict with at least ``"F"``, ``"phi"``, ``"res"``, ``"ok"``.
        hessian: ``(x, ev) -> J``, ``(n, n)``.
        move: ``(x, step, t) -> x_t``, the trial point (e.g. ``x + t step``, with any state
            the caller tracks by increments).
        x0: starting iterate (any pytree).
        target: residual target, a number or ``ev -> number``.
        max_iter: cap on ``iterations``.
        ev0: ``evaluate(x0)`` if already known.
        first_step: ``(x, step) -> t0``, the first trial length (e.g. a fraction to the boundary
            of the domain).
        predicted: ``(x, ev, step, t) -> `` first-order change of ``Phi`` along the trial, for
            the Armijo test (default ``t * slope``).
        iterations: starting value of the step counter (a global cap over several calls).
        ridge: relative ridge (``0`` for callers whose ``J`` is already damped).
        max_backtrack: halvings per line search.
        armijo: the sufficient-decrease constant of both tests.
        backend: ``"jax"`` (``jax.lax.while_loop``, Cholesky; jit- and vmap-able; callables must
            be traceable) or ``"numpy"`` (Python loops, LAPACK ``gesv``; for callables that call
            NumPy).

    Returns:
        :class:`NewtonResult` ``(x, ev, iterations, stalled)``.

    Example:
        >>> import numpy as np
        >>> A = np.array([[2.0, 0.0], [0.0, 1.0]]); b = np.array([2.0, 3.0])
        >>> ev = lambda x: {"F": A @ x - b, "phi": 0.5 * x @ A @ x - b @ x,
        ...                 "res": float(np.linalg.norm(A @ x - b)), "ok": True}
        >>> out = dual_newton(ev, lambda x, e: A, lambda x, s, t: x + t * s, np.zeros(2),
        ...                   target=1e-12, max_iter=20, backend="numpy")
        >>> np.round(out.x, 12), int(out.iterations)
        (array([1., 3.]), 1)
    """
    if backend not in ("jax", "numpy"):
        raise ValueError(f"backend must be 'jax' or 'numpy'; received {backend!r}")
    be = _jax_backend() if backend == "jax" else _NUMPY
    xp = be.xp
    tgt = target if callable(target) else (lambda ev: target)

    def cond(s):
        _, ev, it, stalled = s
        return (ev["res"] > tgt(ev)) & (it < max_iter) & xp.logical_not(stalled)

    def body(s):
        x, ev, it, _ = s
        F, phi, res = ev["F"], ev["phi"], ev["res"]
        J = hessian(x, ev)
        n = J.shape[0]
        tr = xp.trace(J)
        step = -be.solve(J + (ridge * tr / n + 1e-300) * xp.eye(n), F)
        slope = F @ step
        bad = xp.logical_not(xp.all(xp.isfinite(step)) & (slope < 0) & (tr > 0))
        step = xp.where(bad, -F, step)
        slope = xp.where(bad, -(F @ F), slope)
        t0 = 1.0 if first_step is None else first_step(x, step)

        def ls_cond(ls):
            _, j, acc, _, _ = ls
            return xp.logical_not(acc) & (j < max_backtrack)

        def ls_body(ls):
            t, j, _, _, _ = ls
            x_t = move(x, step, t)
            ev_t = evaluate(x_t)
            lin = armijo * t * slope if predicted is None else armijo * predicted(x, ev, step, t)
            acc = ev_t["ok"] & ((ev_t["phi"] <= phi + lin) | (ev_t["res"] <= (1.0 - armijo * t) * res))
            return xp.where(acc, t, 0.5 * t), j + 1, acc, x_t, ev_t

        ls0 = (xp.asarray(t0), xp.asarray(0), xp.asarray(False), x, ev)
        _, _, acc, x_t, ev_t = be.while_loop(ls_cond, ls_body, ls0)
        return be.select(acc, x_t, x), be.select(acc, ev_t, ev), it + 1, xp.logical_not(acc)

    ev0 = evaluate(x0) if ev0 is None else ev0
    s0 = (x0, ev0, xp.asarray(iterations), xp.asarray(False))
    return NewtonResult(*be.while_loop(cond, body, s0))
