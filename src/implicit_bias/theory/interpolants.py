"""Implicit-bias predictions for regression: the interpolant selected by (mirror) descent.

On an under-determined linear regression problem ``X w = y`` (``X`` of shape ``(N, d)``
with ``N < d``), gradient descent started at ``w0`` and driven to zero loss converges to the
interpolant closest to ``w0`` in Euclidean distance (montufar2024, Thm 1; vardi2022, §4.1),
and mirror descent with a potential ``psi`` converges to the interpolant closest to ``w0`` in
the Bregman divergence ``D_psi`` (montufar2024, Thm 2; Gunasekar et al. 2018a).

This module computes those interpolants *directly*, by convex optimisation, never by running
the training algorithms: the predictions are an independent route to the same answer and are
used to check training code. It never imports :mod:`implicit_bias.algorithms` or
:mod:`implicit_bias.train`.

Conventions: ``X`` has shape ``(N, d)`` (one row per sample), ``y`` has shape ``(N,)``,
predictors ``w`` and ``w0`` have shape ``(d,)``; all results are float64 NumPy arrays. The
input checks, the row reduction and the damped dual-Newton routine live in
:mod:`implicit_bias.theory._solvers` (shared with the other theory modules).
"""

from __future__ import annotations

import numpy as np

from ..potentials import AbstractPotential, NegativeEntropy, PNorm, SquaredL2, get_potential
from ._solvers import check_vector, check_X, check_y, dual_newton, reduce_rows

__all__ = ["min_distance_interpolant", "bregman_interpolant"]

# Relative tolerance of the feasibility test of the closed-form interpolant (as in reduce_rows).
_RANGE_RTOL = 1e-8

# ----------------------------------------------------------------------------------------
# Euclidean: closed form
# ----------------------------------------------------------------------------------------


def min_distance_interpolant(X, y, w0=None) -> np.ndarray:
    r"""Interpolant closest to ``w0`` in Euclidean distance (the implicit bias of GD).

    Solves

    .. math:: \hat w = \arg\min_w \|w - w_0\|_2 \quad\text{s.t.}\quad X w = y,

    with ``X`` the data ``X``, ``y`` the targets ``y`` and ``w_0`` the initialisation ``w0``.
    The solution is the closed form :math:`\hat w = w_0 + X^+ (y - X w_0)`, computed through
    the thin SVD of ``X`` with the rank cut-off ``s_max * max(N, d) * eps`` (no normal
    equations, so it is stable for ill-conditioned and rank-deficient ``X``). Only the
    component of ``w0`` in the row space of ``X`` is changed: the orthogonal complement of the
    row space keeps the initialisation.

    Gradient descent (and SGD) on the square loss of a linear model started at ``w0`` converges
    to this point whenever it reaches zero loss (montufar2024, Thm 1; vardi2022, §4.1).

    Args:
        X: data, shape ``(N, d)``, one row per sample.
        y: targets, shape ``(N,)``.
        w0: initialisation, shape ``(d,)``; ``None`` means zeros (then the answer is the
            minimum-norm interpolant ``X^+ y``).

    Returns:
        ``np.ndarray`` of shape ``(d,)``, float64: the interpolant.

    Raises:
        ValueError: malformed inputs (wrong shapes, NaN/Inf), or ``y`` not in the range of
            ``X`` up to relative tolerance ``1e-8`` ("no interpolant").

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.interpolants import min_distance_interpolant
        >>> X = np.array([[1.0, 1.0]])
        >>> w = min_distance_interpolant(X, np.array([3.0]), w0=np.array([2.0, 0.0]))
        >>> np.round(w, 12)  # w0 + x (y - x^T w0) / ||x||^2
        array([2.5, 0.5])

    Assumptions: exact interpolation is required (the statement is about zero training
    loss); feasibility is judged after the rank cut-off, so a ``y`` within relative
    ``1e-8`` of the range of ``X`` counts as reachable and its off-range part is dropped.
    """
    X = check_X(X)
    N, d = X.shape
    y = check_y(y, N)
    w0 = np.zeros(d) if w0 is None else check_vector(w0, "w0", d)

    A, b, _ = reduce_rows(X, y)
    # Minimum ||w - w0|| over {A w = b}: A has orthonormal rows, so A^+ = A^T.
    w = w0 + A.T @ (b - A @ w0)

    # Feasibility in the original coordinates, relative to a backward-error scale.
    res = float(np.linalg.norm(X @ w - y))
    scale = float(np.linalg.norm(y)) + float(np.linalg.norm(X, 2)) * float(np.linalg.norm(w))
    if not np.all(np.isfinite(w)) or res > _RANGE_RTOL * max(scale, np.finfo(float).tiny):
        raise ValueError(
            f"no interpolant: the computed w leaves residual ||Xw - y|| = {res:.3g}, "
            "X is too ill-conditioned to interpolate y in float64"
        )
    return w


# ----------------------------------------------------------------------------------------
# Bregman: Newton in the dual
# ----------------------------------------------------------------------------------------


def _np(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _entropy_reachable(A: np.ndarray, b: np.ndarray) -> None:
    """Raise ``no interpolant`` unless some ``w > 0`` solves ``A w = b`` (LP, HiGHS)."""
    from scipy.optimize import linprog

    r, d = A.shape
    # maximise t  s.t.  A w = b,  t - w_i <= 0,  t <= 1   (variables [w, t])
    c = np.zeros(d + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-np.eye(d), np.ones((d, 1))])
    A_eq = np.hstack([A, np.zeros((r, 1))])
    bounds = [(None, None)] * d + [(None, 1.0)]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(d), A_eq=A_eq if r else None,
                  b_eq=b if r else None, bounds=bounds, method="highs")
    if res.status == 0 and -res.fun <= 0.0:
        raise ValueError(
            "no interpolant: no w with all entries > 0 satisfies X w = y, so the entropy "
            "potential (domain w > 0) has no interpolant"
        )


def bregman_interpolant(X, y, potential, w0=None, *, tol: float = 1e-12, max_iter: int = 200) -> np.ndarray:
    r"""Interpolant closest to ``w0`` in the Bregman divergence of ``potential`` (mirror descent).

    Solves

    .. math:: \hat w = \arg\min_w D_\psi(w, w_0) \quad\text{s.t.}\quad X w = y,
              \qquad D_\psi(w, w_0) = \psi(w) - \psi(w_0) - \langle\nabla\psi(w_0), w - w_0\rangle,

    with ``psi`` the separable potential ``potential``, ``X`` the data ``X``, ``y`` the targets
    ``y`` and ``w_0`` the initialisation ``w0``. Mirror descent with potential ``psi`` started
    at ``w0`` converges to this point whenever it reaches zero loss (montufar2024, Thm 2;
    Gunasekar et al. 2018a; vardi2022, §4.1).

    Route (dual Newton, independent of any training code): the optimality conditions
    :math:`\nabla\psi(w) = \nabla\psi(w_0) + X^T\nu` give :math:`w(\nu) =
    (\nabla\psi)^{-1}(\nabla\psi(w_0) + X^T\nu)`, and :math:`\nu` solves the ``N``-dimensional
    equation :math:`X w(\nu) = y`, the gradient of the convex dual function
    :math:`g(\nu) = \psi^*(\nabla\psi(w_0) + X^T\nu) - y^T\nu`. The rows of ``X`` are first
    orthonormalised by an SVD (rank cut-off ``s_max * max(N, d) * eps``), then a damped Newton
    method with Jacobian :math:`J = X\,\mathrm{diag}((\nabla\psi)^{-1\prime}(z))\,X^T` (the
    potential's ``inverse_hessian``) and backtracking runs until the residual
    :math:`\|X w - y\| \le` ``tol * max(1, ||y||)`` (measured on the projection of ``y`` onto
    the range of ``X``). A step is accepted when it gives Armijo decrease of ``g`` or
    sufficient decrease of the residual norm; non-finite trial points are rejected.

    ``PNorm(p)`` with ``p > 2`` instead uses a feasible primal Newton method (null-space
    steps, Hessian ``(p-1)|w|^{p-2}``, started at the Euclidean interpolant): there the dual
    map ``|z|^{1/(p-1)}`` has infinite slope at ``z = 0`` and amplifies rounding in small
    ``z``, which capped dual Newton at ~1e-9 for ``p = 10``. The primal route is also the
    fall-back if dual Newton fails. The built-in potentials are jointly homogeneous
    (``D(c u, c u0) = c^k D(u, u0)``), so the problem is solved at unit scale and rescaled,
    which keeps ``|w|^p`` in the float64 range for large ``p``. Very large ``p`` (>~ 20)
    combined with entries of ``w0`` spanning many decades remains ill-conditioned.

    Args:
        X: data, shape ``(N, d)``.
        y: targets, shape ``(N,)``.
        potential: an :class:`~implicit_bias.potentials.AbstractPotential` or a name accepted
            by :func:`~implicit_bias.potentials.get_potential` (``"quadratic"``, ``"entropy"``,
            ``"lp:P"``).
        w0: initialisation, shape ``(d,)``, in the potential's domain; ``None`` means ones for
            the entropy potential and zeros otherwise.
        tol: relative residual tolerance (``> 0``).
        max_iter: maximum number of Newton iterations (``>= 1``).

    Returns:
        ``np.ndarray`` of shape ``(d,)``, float64: the Bregman interpolant.

    Raises:
        ValueError: malformed inputs; ``w0`` outside the potential's domain (e.g. a
            non-positive entry for the entropy); ``y`` not in the range of ``X``, or (entropy)
            not reachable with ``w > 0``, or the Newton method failing to reach ``tol``
            ("no interpolant").

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.interpolants import bregman_interpolant
        >>> X = np.array([[1.0, 1.0]])
        >>> w = bregman_interpolant(X, np.array([6.0]), "entropy", w0=np.array([1.0, 2.0]))
        >>> np.round(w, 12)  # KL projection onto {w1 + w2 = 6}: a rescaling of w0
        array([2., 4.])
        >>> np.round(bregman_interpolant(X, np.array([2.0]), "quadratic"), 12)
        array([1., 1.])

    Assumptions: the potential is separable and strictly convex with an invertible mirror map
    (all potentials in :mod:`implicit_bias.potentials`); the answer is exact up to ``tol``
    (no approximation beyond float64 Newton convergence). For the entropy the existence of a
    positive interpolant is checked first by a linear program (HiGHS via SciPy).
    """
    X = check_X(X)
    N, d = X.shape
    y = check_y(y, N)
    pot = get_potential(potential)
    if not isinstance(pot, AbstractPotential):  # pragma: no cover - get_potential guarantees it
        raise ValueError(f"potential must be an AbstractPotential or a name; received {potential!r}")
    if not (isinstance(tol, (int, float)) and np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a positive finite number; received {tol!r}")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1; received {max_iter!r}")

    is_entropy = isinstance(pot, NegativeEntropy)
    if w0 is None:
        w0 = np.ones(d) if is_entropy else np.zeros(d)
    else:
        w0 = check_vector(w0, "w0", d)
    inside = np.asarray(pot.in_domain(w0), dtype=bool)
    if not np.all(inside):
        bad = np.flatnonzero(~inside)
        hint = " (the entropy potential needs all entries > 0)" if is_entropy else ""
        raise ValueError(
            f"w0 must lie in the domain of the {type(pot).__name__} potential{hint}; "
            f"received entries outside it at indices {bad[:5].tolist()}"
        )

    A, b, sr = reduce_rows(X, y)
    r = A.shape[0]
    if r == 0:  # X == 0 and y == 0: every w interpolates, w0 is the closest
        return w0.copy()
    if is_entropy:
        _entropy_reachable(A, b)

    target = tol * max(1.0, float(np.linalg.norm(y)))
    w_md = w0 + A.T @ (b - A @ w0)  # Euclidean interpolant: a feasible primal start

    # The built-in potentials are jointly homogeneous: D_psi(c u, c u0) = c^k D_psi(u, u0)
    # (k = p for PNorm, 2 for SquaredL2, 1 for the entropy), so the interpolant for (y, w0)
    # is c times the one for (y / c, w0 / c). Solving at unit scale keeps |w|^p inside the
    # float64 range for large p.
    c = 1.0
    if isinstance(pot, (PNorm, SquaredL2, NegativeEntropy)):
        c_try = max(float(np.max(np.abs(w_md))), float(np.max(np.abs(w0))))
        if np.isfinite(c_try) and c_try > 0:
            c = c_try
    u, res = _solve_dual_or_primal(pot, A, b / c, sr, w0 / c, w_md / c, target / c, max_iter)
    if res <= target / c:
        return c * u
    with np.errstate(all="ignore"):
        finite = np.isfinite(float(pot.value(w_md / c))) and np.isfinite(float(pot.value(w0 / c)))
    if not finite:
        raise ValueError(
            f"no interpolant could be computed: the {type(pot).__name__} potential overflows "
            "float64 at the scale of this problem; rescale X and y"
        )
    raise ValueError(
        f"no interpolant: Newton's method stopped at residual ||Xw - y|| = {c * res:.3g} "
        f"> tol * max(1, ||y||) = {target:.3g}; y may be unreachable within the domain of the "
        f"{type(pot).__name__} potential"
    )


def _solve_dual_or_primal(pot, A, b, sr, w0, w_md, target, max_iter):
    """Bregman projection of ``w0`` onto ``{A w = b}``; returns ``(w, residual)``."""
    r = A.shape[0]
    z0 = _np(pot.grad(w0))
    # PNorm with p > 2: w = |z|^{1/(p-1)} amplifies rounding in small dual variables z (a
    # relative error eps in z = w^{p-1} is an error eps / (p-1) in w, but cancellation in
    # z0 + X^T nu makes it eps * ||z|| / |z_i|), and the dual curvature is infinite at z = 0;
    # the primal Hessian (p-1)|w|^{p-2} is bounded there, so those potentials are solved by a
    # feasible primal Newton method. Everything else (p < 2, entropy, quadratic) by dual Newton,
    # whose Jacobian is bounded on bounded sets; the primal route is its fall-back.
    primal_first = isinstance(pot, PNorm) and float(pot.p) > 2.0

    w, res = None, np.inf
    if primal_first:
        w, res = _primal_newton(pot, A, b, sr, z0, w_md, max_iter)
    if res > target:
        starts = [np.zeros(r)]  # nu = 0, i.e. w = w0
        with np.errstate(all="ignore"):
            if np.all(np.asarray(pot.in_domain(w_md), dtype=bool)):
                nu_md = A @ (_np(pot.grad(w_md)) - z0)  # exact for the quadratic potential
                if np.all(np.isfinite(nu_md)):
                    starts.append(nu_md)
        w2, res2 = _dual_newton(pot, A, b, sr, z0, starts, target, max_iter)
        if res2 < res:
            w, res = w2, res2
    if res > target and not primal_first:
        w2, res2 = _primal_newton(pot, A, b, sr, z0, w_md, max_iter)
        if res2 < res:
            w, res = w2, res2
    return w, res


def _dual_newton(pot, A, b, sr, z0, starts, target, max_iter):
    """Damped Newton on ``A w(nu) = b``, ``w(nu) = grad_inverse(z0 + A^T nu)`` (:func:`~._solvers.dual_newton`, NumPy).

    The dual function is ``g(nu) = psi*(z0 + A^T nu) - b^T nu`` with Hessian
    ``A diag(inverse_hessian(z)) A^T`` (entries clipped to ``[0, 1e12 max]``). Starts from the
    candidate with the smallest residual; returns ``(w, residual)`` where the residual is
    ``||S_r (A w - b)|| = ||X w - proj_range(X)(y)||``.
    """

    def evaluate(nu):
        with np.errstate(all="ignore"):
            z = z0 + A.T @ nu
            w = _np(pot.grad_inverse(z))
            F = A @ w - b
            gval = float(np.sum(z * w - _np(pot.phi(w))) - b @ nu)  # psi*(z) - b^T nu
            res = float(np.linalg.norm(sr * F))
        ok = bool(np.all(np.isfinite(w)) and np.isfinite(gval) and np.isfinite(res))
        return {"z": z, "w": w, "F": F, "phi": gval, "res": res, "ok": ok}

    def hessian(nu, ev):
        with np.errstate(all="ignore"):
            h = _np(pot.inverse_hessian(ev["z"]))
        good = np.isfinite(h) & (h > 0)
        hmax = float(h[good].max()) if np.any(good) else 1.0
        h = np.where(np.isfinite(h), np.clip(h, 0.0, 1e12 * hmax), 1e12 * hmax)
        return (A * h) @ A.T  # Jacobian of A w(nu) = Hessian of the dual function

    best = None
    for nu_c in starts:
        ev = evaluate(nu_c)
        if ev["ok"] and (best is None or ev["res"] < best[1]["res"]):
            best = (nu_c, ev)
    if best is None:
        return None, np.inf
    out = dual_newton(
        evaluate, hessian, lambda nu, step, t: nu + t * step, best[0],
        ev0=best[1], target=target, max_iter=max_iter, backend="numpy",
    )
    return out.ev["w"], out.ev["res"]


def _primal_newton(pot, A, b, sr, z0, w, max_iter):
    """Feasible-start projected Newton on ``min psi(w) - z0^T w`` s.t. ``A w = b``.

    ``A`` has orthonormal rows and the start ``w`` is feasible; every iterate is re-projected
    onto ``{A w = b}``. The Hessian ``diag(phi''(w)) = 1 / inverse_hessian(grad(w))`` is
    clipped below at ``1e-12`` times its largest entry, and the Newton system is solved in an
    orthonormal basis of the null space of ``A`` (``O(d^3)`` once, ``O(d (d-r)^2)`` per
    step). Backtracking: Armijo on the objective, or sufficient decrease of the projected
    gradient (which keeps measuring progress once objective differences drop below
    rounding); trial points outside the potential's domain are rejected. Stops when the step
    is at rounding level or no decrease is possible. Returns ``(w, residual)``, or
    ``(None, inf)`` if the start is unusable.
    """

    def fval(v):
        with np.errstate(all="ignore"):
            ok = bool(np.all(np.asarray(pot.in_domain(v), dtype=bool)))
            val = float(np.sum(_np(pot.phi(v))) - z0 @ v) if ok else np.inf
        return val if np.isfinite(val) else np.inf

    # Orthonormal basis of the null space of A: Newton steps are solved in it (the range-space
    # formula through (A H^{-1} A^T)^{-1} loses ~cond digits when H spans many decades, as
    # it does for large p).
    Nb = np.linalg.svd(A, full_matrices=True)[2][A.shape[0]:].T  # (d, d - r)
    if Nb.shape[1] == 0:  # square system: the feasible point is the answer
        return w, float(np.linalg.norm(sr * (A @ w - b)))

    def pgrad(v):  # objective gradient and the norm of its null-space component
        with np.errstate(all="ignore"):
            g = _np(pot.grad(v)) - z0
        return g, float(np.linalg.norm(Nb.T @ g))

    f = fval(w)
    if not np.isfinite(f):
        return None, np.inf
    g, gn = pgrad(w)
    for _ in range(max_iter):
        if not np.isfinite(gn) or gn == 0.0:
            break
        with np.errstate(all="ignore"):
            H = 1.0 / _np(pot.inverse_hessian(g + z0))
        good = np.isfinite(H) & (H > 0)
        hmax = float(H[good].max()) if np.any(good) else 1.0
        H = np.where(np.isfinite(H), np.clip(H, 1e-12 * hmax, None), hmax)
        gN = Nb.T @ g
        try:
            step = Nb @ -np.linalg.solve((Nb.T * H) @ Nb, gN)  # Newton step in null(A)
        except np.linalg.LinAlgError:
            break
        slope = float(gN @ (Nb.T @ step))
        if not (np.all(np.isfinite(step)) and slope < 0):
            break
        # Armijo on the objective, or (near the solution, where objective differences are
        # below rounding) sufficient decrease of the projected gradient.
        t, accepted = 1.0, False
        for _ in range(60):
            w_new = w + t * step
            w_new = w_new + A.T @ (b - A @ w_new)  # stay feasible despite rounding
            f_new = fval(w_new)
            if np.isfinite(f_new):
                g_new, gn_new = pgrad(w_new)
                if f_new <= f + 1e-4 * t * slope or gn_new <= (1.0 - 1e-4 * t) * gn:
                    accepted = True
                    break
            t *= 0.5
        if not accepted:
            break
        w, f, g, gn = w_new, f_new, g_new, gn_new
        if t * float(np.linalg.norm(step)) <= 1e-15 * float(np.linalg.norm(w)):
            break
    res = float(np.linalg.norm(sr * (A @ w - b)))
    return w, res
