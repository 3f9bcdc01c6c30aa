r"""Predictions for matrix factorization: minimum-norm completions and the commuting case.

Data are :class:`~implicit_bias.matrix_data.MatrixDataset` observations of ``W* (m, n)``:
completion (``W[i_k, j_k] = y_k``) or sensing (``<A_k, W> = y_k``). Every function here is
computed without training (closed forms, cvxpy, a damped Newton solve of a convex dual).

**Commuting symmetric sensing, finite initialization (gunasekar2017, §3 and Thm 1).** Let
``A_k = Q diag(a_k) Q^T`` (symmetric, pairwise commuting, common orthonormal eigenbasis ``Q``),
the model ``W = U U^T`` with ``U (n, n)``, ``U(0) = alpha I`` (``alpha`` = ``scale``), and the
DESIGN loss ``L(U) = 1/(2N) sum_k (<A_k, U U^T> - y_k)^2``. With residuals
``r_k = <A_k, U U^T> - y_k`` and ``S = sum_k r_k A_k`` (symmetric),

.. math:: \nabla_U L = \tfrac1N \textstyle\sum_k r_k (A_k + A_k^\top) U = \tfrac2N S U,
          \qquad U' = -\tfrac2N S(t)\, U.

``U(0) = alpha I`` commutes with every ``A_k``, so ``U(t) = Q diag(u(t)) Q^T`` for all ``t``, with
``u_k' = -(2/N) s_k u_k`` and ``s = sum_k r_k a_k = A^T r`` (``A (N, n)`` the eigenvalue matrix,
row ``k`` = ``a_k``). The eigenvalues of ``W`` are ``w = u^2``:

.. math:: w' = -\tfrac4N\, (A^\top r) \odot w \quad\Longrightarrow\quad
          w(t) = \alpha^2 \exp\!\big(A^\top \nu(t)\big),\qquad
          \nu(t) = -\tfrac4N \textstyle\int_0^t r(s)\,ds.

This is the entropic mirror flow with potential ``psi(w) = sum_k w_k log(w_k / alpha^2) - w_k``
(``grad psi(w) = log(w / alpha^2)``, which stays in the row space of ``A``). If the flow reaches
zero loss, ``A w(inf) = y`` and ``log(w(inf) / alpha^2) = A^T nu`` are exactly the KKT
conditions of

.. math:: w(\infty) = \arg\min_{w > 0} \textstyle\sum_k w_k \log(w_k/\alpha^2) - w_k
          \quad\text{s.t.}\quad A w = y,

whose strict convexity makes the limit unique: ``W(inf) = Q diag(w(inf)) Q^T``. The constants:
the reference point is ``alpha^2`` (``W(0) = alpha^2 I``, since ``W = U U^T``); the loss's
``1/(2N)`` and the factor 2 of the symmetric gradient only give the time factor ``4/N``, which
does not change the limit. The solution needs a strictly positive interpolant (``w > 0`` with
``A w = y``); ``W`` stays positive definite along the flow. As ``alpha -> 0`` the entropy is
dominated by ``log(1/alpha^2) sum_k w_k``: the limit tends to ``argmin tr W`` over PSD
interpolants, the minimum nuclear norm PSD solution (gunasekar2017 Thm 1), slowly, with error
``O(1 / log(1/alpha))``.

Solved by the dual: ``nu* = argmin_nu  sum_k exp((A^T nu)_k + 2 log alpha) - y^T nu`` (smooth,
convex), by damped Newton steps in numpy; ``w = exp(A^T nu* + 2 log alpha)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..matrix_data import MatrixDataset
from ._solvers import dual_newton, solve_cvxpy

__all__ = [
    "MatrixPrediction",
    "min_nuclear_norm",
    "min_frobenius_norm",
    "singular_values",
    "effective_rank",
    "stable_rank",
    "commuting_eigenbasis",
    "CommutingLimit",
    "commuting_limit",
    "matrix_data_of",
    "MATRIX_PREDICTIONS",
    "matrix_prediction",
    "square_loss_gradient",
    "singular_value_velocity",
]


@dataclasses.dataclass(frozen=True)
class MatrixPrediction:
    """A predicted matrix.

    Attributes:
        W: the matrix ``(m, n)``.
        value: the optimal objective (nuclear norm, Frobenius norm, entropy, ...).
        name: what was solved.
        residual: ``max_k |measure(W)_k - y_k|`` (how exactly the constraints hold).
    """

    W: np.ndarray
    value: float
    name: str
    residual: float

    @property
    def predictor(self) -> np.ndarray:
        """``vec(W)`` row-major ``(m n,)`` (as :meth:`MatrixFactorization.predictor`)."""
        return self.W.reshape(-1)


def _check_data(data) -> MatrixDataset:
    if not isinstance(data, MatrixDataset):
        raise ValueError(f"data must be an implicit_bias.matrix_data.MatrixDataset (entries/y/shape or A/y); received {type(data).__name__}")
    return data


_SOLVER_OPTIONS = {"CLARABEL": dict(tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, tol_ktratio=1e-10, max_iter=400), "SCS": dict(eps=1e-9, max_iters=100_000)}


def _solve_accepting(problem, solvers, accept):
    """Solve with the first solver whose answer is optimal, or "optimal_inaccurate" with
    ``accept()`` true (tight tolerances often end there with a better point than the defaults).
    Each attempt goes through :func:`~implicit_bias.theory._solvers.solve_cvxpy` (stdout kept
    quiet for ``fit --json``)."""
    import cvxpy as cp

    last = None
    for solver in solvers:
        try:
            status = solve_cvxpy(problem, [(solver, _SOLVER_OPTIONS.get(solver, {}))])
        except (RuntimeError, ValueError) as e:
            last = e
            continue
        if status == cp.OPTIMAL or (status == cp.OPTIMAL_INACCURATE and accept()):
            return solver
        last = status
    raise ValueError(f"the convex program could not be solved to optimality (last outcome: {last}); check that the observations are consistent")


def min_nuclear_norm(data: MatrixDataset, *, psd: bool = False, solvers=("CLARABEL", "SCS")) -> MatrixPrediction:
    r"""Minimum nuclear norm completion: ``argmin ||W||_* s.t. the observations hold exactly``.

    .. math:: \min_W \|W\|_* = \textstyle\sum_r \sigma_r(W) \quad\text{s.t.}\quad
              W[i_k, j_k] = y_k \ \text{(completion)} \quad\text{or}\quad
              \langle A_k, W\rangle = y_k \ \text{(sensing)},

    with ``psd=True`` additionally ``W = W^T >= 0`` (then ``||W||_* = tr W``; gunasekar2017
    Thm 1's limit). The conjectured small-initialization limit of (deep) matrix factorization
    (gunasekar2017; refuted in general by Razin & Cohen 2020, Li et al. 2021; vardi2022 §4.3).
    Solved by cvxpy as an SDP (Clarabel at tolerances 1e-10, SCS as fall-back), equality
    constraints exact (residual <= 1e-8 (1 + max|y|) required). Clarabel, an interior-point
    method, holds a dense block of the size of the ``(m + n)``-square PSD cone squared: measured
    past 14 GB on a 100 x 100 completion; pass ``solvers=("SCS",)`` there (first-order, at
    ``eps = 1e-9``: 9 s and residual 1e-11 on 100 x 100 from 2000 entries). Accuracy: the objective to
    ~1e-10; ``W`` only to ~1e-5 where the objective grows quadratically away from the optimum
    (e.g. ``[[1, 1], [1, x]]``: ``||.||_* = 2 + (x - 1)^2 / 4`` for ``x < 1``).

    Args:
        data: completion or sensing observations of an ``(m, n)`` matrix.
        psd: restrict to symmetric PSD matrices (needs ``m = n``).
        solvers: cvxpy solver names tried in order until one ends optimal.

    Returns:
        :class:`MatrixPrediction` with ``W (m, n)`` and ``value = ||W||_*``.

    Raises:
        ValueError: not a ``MatrixDataset``; ``psd`` with a non-square shape; an infeasible
            or unsolvable program.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.matrix_data import MatrixDataset
        >>> d = MatrixDataset(np.array([1.0, 2.0]), entries=[[0, 0], [1, 1]], shape=(2, 2))
        >>> round(min_nuclear_norm(d).value, 6)       # the diagonal completion, zeros elsewhere
        3.0
    """
    import cvxpy as cp

    data = _check_data(data)
    m, n = data.shape
    if psd and m != n:
        raise ValueError(f"psd=True needs a square matrix; the data are of a {m} x {n} matrix")
    W = cp.Variable((m, n), symmetric=True) if psd else cp.Variable((m, n))
    if data.kind == "completion":
        cons = [W[data.entries[:, 0], data.entries[:, 1]] == data.y]
    else:
        cons = [data.A.reshape(data.n, -1) @ cp.vec(W, order="C") == data.y]
    if psd:
        cons.append(W >> 0)
    obj = cp.trace(W) if psd else cp.normNuc(W)
    problem = cp.Problem(cp.Minimize(obj), cons)
    tol = 1e-8 * (1.0 + float(np.max(np.abs(data.y))))
    _solve_accepting(problem, list(solvers), lambda: W.value is not None and _residual(data, np.asarray(W.value)) <= tol)
    Wv = np.asarray(W.value, dtype=np.float64)
    return MatrixPrediction(Wv, float(np.sum(np.linalg.svd(Wv, compute_uv=False))), "min-nuclear-psd" if psd else "min-nuclear", _residual(data, Wv))


def min_frobenius_norm(data: MatrixDataset) -> MatrixPrediction:
    """Minimum Frobenius norm interpolant: ``argmin ||W||_F`` s.t. the observations hold.

    The kernel (lazy) regime's answer, e.g. a depth-1 factorization from ``W(0) = 0``. Closed
    forms: completion -> the observed entries, zeros elsewhere; sensing ->
    ``vec(W) = A_flat^+ y`` (``A_flat (N, m n)``, pseudo-inverse by least squares).

    Returns:
        :class:`MatrixPrediction` with ``W (m, n)`` and ``value = ||W||_F``.
    """
    data = _check_data(data)
    m, n = data.shape
    if data.kind == "completion":
        W = np.zeros((m, n))
        W[data.entries[:, 0], data.entries[:, 1]] = data.y
    else:
        W = np.linalg.lstsq(data.A.reshape(data.n, -1), data.y, rcond=None)[0].reshape(m, n)
    return MatrixPrediction(W, float(np.linalg.norm(W)), "min-frobenius", _residual(data, W))


def _residual(data, W) -> float:
    return float(np.max(np.abs(data.measure(W) - data.y)))


def singular_values(W) -> np.ndarray:
    """Singular values of ``W (m, n)`` in decreasing order, ``(min(m, n),)``."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix (m, n); received shape {W.shape}")
    return np.linalg.svd(W, compute_uv=False)


def effective_rank(W) -> float:
    r"""Effective rank of Roy & Vetterli (2007): ``exp(H(p))``, ``p_r = sigma_r / sum sigma``.

    .. math:: \operatorname{erank}(W) = \exp\!\Big(-\textstyle\sum_r p_r \log p_r\Big),

    with ``0 log 0 = 0``; between 1 and ``rank(W)``, equal to ``r`` for ``r`` equal non-zero
    singular values (razin-cohen2020 use it to measure rank along training). ``W = 0`` -> 0.

    Example:
        >>> round(effective_rank(np.diag([2.0, 2.0, 0.0])), 12)
        2.0
    """
    s = singular_values(W)
    tot = float(np.sum(s))
    if tot == 0:
        return 0.0
    p = s[s > 0] / tot
    return float(np.exp(-np.sum(p * np.log(p))))


def stable_rank(W) -> float:
    """Stable rank ``||W||_F^2 / ||W||_2^2`` (0 for ``W = 0``)."""
    s = singular_values(W)
    return float(np.sum(s**2) / s[0] ** 2) if s[0] > 0 else 0.0


def commuting_eigenbasis(data: MatrixDataset, *, tol: float = 1e-9):
    """Common eigenbasis of commuting symmetric sensing matrices: ``A_k = Q diag(a_k) Q^T``.

    ``Q`` diagonalises a generic combination ``sum_k c_k A_k`` (random ``c``); the result is
    accepted when every ``Q^T A_k Q`` is diagonal to ``tol`` relative to ``max ||A_k||``.

    Returns:
        ``(Q (n, n), a (N, n))`` with row ``k`` of ``a`` the eigenvalues of ``A_k``.

    Raises:
        ValueError: completion data, non-symmetric or non-commuting ``A_k`` (no common basis).
    """
    data = _check_data(data)
    if data.kind != "sensing" or data.shape[0] != data.shape[1]:
        raise ValueError("the commuting-case prediction needs sensing data with square symmetric matrices A (N, n, n); received " + (f"{data.kind} data of shape {data.shape}"))
    A = data.A
    scale = float(np.max(np.abs(A))) or 1.0
    asym = float(np.max(np.abs(A - A.transpose(0, 2, 1)))) / scale
    if asym > tol:
        raise ValueError(f"the commuting-case prediction needs symmetric sensing matrices; max |A_k - A_k^T| / max|A| = {asym:.3g}")
    c = np.random.default_rng(0).standard_normal(data.n)
    _, Q = np.linalg.eigh(np.einsum("k,kij->ij", c, A))
    D = np.einsum("ia,kij,jb->kab", Q, A, Q)
    off = D - np.einsum("kaa,ab->kab", D, np.eye(D.shape[1]))
    err = float(np.max(np.abs(off))) / scale
    if err > tol:
        raise ValueError(f"the sensing matrices do not commute (no common eigenbasis: off-diagonal {err:.3g} relative); the commuting-case prediction applies only to A_k = Q diag(a_k) Q^T")
    return Q, np.einsum("kaa->ka", D)


@dataclasses.dataclass(frozen=True)
class CommutingLimit:
    """Predictor factory for gunasekar2017's commuting case (module docstring): call it with the
    initialization scale ``alpha`` (``U(0) = alpha I``) to get the gradient-flow limit.

    Attributes:
        Q: common eigenbasis ``(n, n)``; a: eigenvalue matrix ``(N, n)``; y: targets ``(N,)``.
        data: the observations.
    """

    Q: np.ndarray
    a: np.ndarray
    y: np.ndarray
    data: MatrixDataset

    def eigenvalues(self, scale: float, *, tol: float = 1e-12, max_iter: int = 500) -> np.ndarray:
        """``w(alpha) = argmin sum_k w_k log(w_k/alpha^2) - w_k s.t. A w = y``, ``(n,)``.

        The shared damped dual Newton (:func:`~implicit_bias.theory._solvers.dual_newton`,
        NumPy backend: relative ridge, steepest-descent fallback, Armijo-or-residual backtracking,
        stall rule) on the dual ``g(nu) = sum_k exp((A^T nu)_k + 2 log alpha) - y^T nu`` (convex),
        from ``nu0`` minimising ``||A^T nu + 2 log alpha||``, each first trial changing ``log w`` by
        at most 20, until ``||A w - y|| <= tol (||y|| + 1)``; a stall (no step accepted) counts as
        converged when ``||A w - y|| <= 1e3 tol (||y|| + 1)`` (round-off level).

        Raises:
            ValueError: ``scale <= 0``, or the dual diverges (no positive interpolant).
        """
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be a finite number > 0 (use limit_zero() for alpha -> 0); received {scale!r}")
        A, y = self.a, self.y
        c = 2.0 * math.log(scale)
        nu0 = np.linalg.lstsq(A.T, -c * np.ones(A.shape[1]), rcond=None)[0]  # w(nu0) ~ 1 where possible
        bound = tol * (np.linalg.norm(y) + 1.0)

        def evaluate(v):
            with np.errstate(over="ignore", invalid="ignore"):
                w = np.exp(A.T @ v + c)
                F = A @ w - y
                phi = float(np.sum(w) - y @ v)
            ok = bool(np.all(np.isfinite(w)) and math.isfinite(phi))
            return {"F": F, "phi": phi if ok else np.inf, "res": float(np.linalg.norm(F)) if ok else np.inf, "ok": ok, "w": w}

        def first_step(v, d):  # a step changes any log w_k by at most 20 (Newton steps from tiny w are huge)
            return min(1.0, 20.0 / max(float(np.max(np.abs(A.T @ d))), 1e-300))

        out = dual_newton(evaluate, lambda v, ev: (A * ev["w"][None, :]) @ A.T, lambda v, d, t: v + t * d, nu0,
                          target=bound, max_iter=max_iter, first_step=first_step, max_backtrack=54, backend="numpy")
        res = out.ev["res"]
        if res <= bound or (bool(out.stalled) and res <= 1e3 * bound):  # a stall at round-off level is convergence
            return out.ev["w"]
        raise ValueError("the entropic problem has no solution to tolerance: there may be no strictly positive interpolant w > 0 with A w = y (check the data)")

    def __call__(self, scale: float) -> MatrixPrediction:
        """``W(inf) = Q diag(w(alpha)) Q^T`` for ``U(0) = alpha I``; ``value`` is the entropy."""
        w = self.eigenvalues(float(scale))
        W = (self.Q * w[None, :]) @ self.Q.T
        W = 0.5 * (W + W.T)
        ent = float(np.sum(w * (np.log(w) - 2.0 * math.log(scale)) - w))
        return MatrixPrediction(W, ent, f"commuting-limit(alpha={scale:g})", _residual(self.data, W))

    def limit_zero(self) -> MatrixPrediction:
        """The ``alpha -> 0`` limit: ``argmin tr W = sum_k w_k`` s.t. ``A w = y``, ``w >= 0``
        (an LP in the eigenbasis, scipy HiGHS), i.e. the min nuclear norm PSD interpolant."""
        from scipy.optimize import linprog

        res = linprog(np.ones(self.a.shape[1]), A_eq=self.a, b_eq=self.y, bounds=(0, None), method="highs")
        if res.status != 0:
            raise ValueError(f"no PSD interpolant in the common eigenbasis (linprog: {res.message})")
        W = (self.Q * res.x[None, :]) @ self.Q.T
        return MatrixPrediction(0.5 * (W + W.T), float(res.fun), "commuting-limit(alpha->0)", _residual(self.data, W))


def commuting_limit(data: MatrixDataset) -> CommutingLimit:
    """The exact finite-initialization limit of gradient flow on ``W = U U^T`` from
    ``U(0) = alpha I`` for commuting symmetric sensing (gunasekar2017 §3, Thm 1; derivation in
    the module docstring), as a predictor factory over ``alpha``.

    Assumptions: ``A_k`` symmetric and pairwise commuting; square loss ``1/(2N) sum (f - y)^2``
    (the constant does not change the limit); a strictly positive interpolant exists; the flow
    reaches zero loss.

    Raises:
        ValueError: completion data, non-symmetric or non-commuting sensing matrices, no
            strictly positive interpolant (checked by an LP).

    Warning:
        The dual solve loses accuracy when the limit has eigenvalues below ~1e-250 (``alpha``
        around 1e-30 and below on typical data): it then raises rather than return a guess.

    Example:
        >>> from implicit_bias.matrix_data import commuting_sensing
        >>> d = commuting_sensing(4, rank=2, n_obs=2, seed=0)
        >>> lim = commuting_limit(d)
        >>> bool(lim(1e-2).residual < 1e-10)
        True
    """
    from scipy.optimize import linprog

    Q, a = commuting_eigenbasis(data)
    N, n = a.shape
    # the largest t with w >= t, A w = y, t <= 1: a strictly positive interpolant iff t* > 0
    res = linprog(np.r_[np.zeros(n), -1.0], A_ub=np.hstack([-np.eye(n), np.ones((n, 1))]), b_ub=np.zeros(n),
                  A_eq=np.hstack([a, np.zeros((N, 1))]), b_eq=data.y, bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
    margin = -float(res.fun) if res.status == 0 else -np.inf
    if not margin > 1e-9 * max(1.0, float(np.max(np.abs(data.y)))):
        raise ValueError(f"no strictly positive interpolant (largest min_k w_k over A w = y is {margin:.3g}): the finite-initialization limit W = U U^T with U(0) = alpha I does not exist for these measurements")
    return CommutingLimit(Q, a, data.y.copy(), data)


def matrix_data_of(X, y, shape, observations: str = "auto") -> MatrixDataset:
    """The :class:`~implicit_bias.matrix_data.MatrixDataset` behind a matrix model's training view
    ``(X, y)`` (``X`` the index pairs ``(N, 2)`` of completion or the flattened sensing matrices
    ``(N, m n)``; ``observations`` as in :class:`~implicit_bias.models.MatrixFactorization`, ``auto``
    decided by the columns of ``X``).

    Raises:
        ValueError: ``X`` fits neither view of an ``m x n`` matrix.

    Example:
        >>> import numpy as np
        >>> matrix_data_of(np.array([[0.0, 1.0]]), np.array([2.0]), (2, 2)).kind
        'completion'
    """
    X = np.asarray(X, dtype=np.float64)
    m, n = (int(v) for v in shape)
    if observations == "auto":
        observations = "completion" if X.ndim == 2 and X.shape[1] == 2 and m * n != 2 else "sensing"
    if observations == "completion":
        return MatrixDataset(np.asarray(y), entries=np.rint(X).astype(np.int64), shape=(m, n))
    if X.ndim != 2 or X.shape[1] != m * n:
        raise ValueError(f"X of shape {X.shape} is neither completion entries (N, 2) nor sensing matrices (N, {m * n}) of a {m} x {n} matrix")
    return MatrixDataset(np.asarray(y), A=X.reshape(-1, m, n))


#: ``--predict`` names for matrix models: (paper, where, description).
MATRIX_PREDICTIONS = {
    "min-nuclear": ("gunasekar2017", "Conj. 1", "argmin ||W||_* s.t. the observations (cvxpy SDP; --model factorization)"),
    "min-nuclear-psd": ("gunasekar2017", "Thm 1", "argmin tr W over PSD W s.t. the observations (cvxpy SDP; --model factorization)"),
    "min-frobenius": ("vardi2022", "§4.3", "argmin ||W||_F s.t. the observations (kernel regime; closed form; --model factorization)"),
    "commuting-limit": ("gunasekar2017", "§3", "exact limit of U U^T from U(0) = scale I on commuting sensing (--model factorization --symmetric)"),
}


def matrix_prediction(name: str, data: MatrixDataset, scale: float | None = None) -> MatrixPrediction:
    """The prediction called ``name`` (a key of :data:`MATRIX_PREDICTIONS`) for ``data``;
    ``commuting-limit`` needs the initialization ``scale`` (``U(0) = scale I``).

    Raises:
        ValueError: unknown name; ``commuting-limit`` without a scale or on data it does not cover.

    Example:
        >>> import numpy as np
        >>> d = MatrixDataset(np.array([1.0, 2.0]), entries=[[0, 0], [1, 1]], shape=(2, 2))
        >>> round(matrix_prediction("min-frobenius", d).value ** 2, 6)
        5.0
    """
    if name == "min-nuclear":
        return min_nuclear_norm(data)
    if name == "min-nuclear-psd":
        return min_nuclear_norm(data, psd=True)
    if name == "min-frobenius":
        return min_frobenius_norm(data)
    if name == "commuting-limit":
        if scale is None:
            raise ValueError("prediction 'commuting-limit' needs the initialization scale (U(0) = scale I)")
        return commuting_limit(data)(scale)
    raise ValueError(f"unknown matrix prediction {name!r}: use one of {', '.join(MATRIX_PREDICTIONS)}")


def square_loss_gradient(data: MatrixDataset, W) -> np.ndarray:
    r"""Gradient in ``W`` of the square loss of the observations, as a function of the matrix.

    .. math:: \ell(W) = \frac{1}{2N}\sum_{k=1}^N (\mathcal{A}(W)_k - y_k)^2, \qquad
              \nabla\ell(W) = \frac1N \sum_k (\mathcal{A}(W)_k - y_k)\, A_k,

    with ``A_k = e_{i_k} e_{j_k}^T`` for completion (DESIGN.md's loss convention; ``N`` the
    number of observations).

    Args:
        data: the observations of an ``(m, n)`` matrix.
        W: ``(m, n)``.

    Returns:
        ``(m, n)``.

    Example:
        >>> import numpy as np
        >>> d = MatrixDataset(np.array([1.0, 2.0]), entries=[[0, 0], [1, 1]], shape=(2, 2))
        >>> square_loss_gradient(d, np.eye(2)).tolist()        # residuals 0 and -1, N = 2
        [[0.0, 0.0], [0.0, -0.5]]
    """
    data = _check_data(data)
    r = (data.measure(W) - data.y) / data.n
    if data.kind == "sensing":
        return np.einsum("k,kab->ab", r, data.A)
    G = np.zeros(data.shape)
    np.add.at(G, (data.entries[:, 0], data.entries[:, 1]), r)
    return G


def singular_value_velocity(W, grad, depth: int, *, top: int | None = None):
    r"""The singular-value dynamics of deep matrix factorization (arora2019, Thm 3), as a
    function of the state.

    .. math:: \frac{d\sigma_r}{dt} = -N\,(\sigma_r^2)^{1 - 1/N}\,
              \langle \nabla\ell(W),\, u_r v_r^T \rangle

    for gradient flow on ``W = W_N ... W_1`` (``N = depth``) from a balanced initialization
    (``W_{j+1}^T W_{j+1} = W_j W_j^T`` at ``t = 0``), ``W = sum_r sigma_r u_r v_r^T`` its SVD.
    Assumptions: balanced init; the singular values in question distinct and positive (then
    ``u_r, v_r`` are analytic in ``t``; the sign of each pair cancels in the inner product).
    ``depth = 1`` is gradient flow on ``W`` itself (``(sigma^2)^0 = 1``).

    Args:
        W: end-to-end matrix ``(m, n)``.
        grad: ``nabla l(W)`` ``(m, n)`` (e.g. :func:`square_loss_gradient`).
        depth: ``N >= 1``.
        top: number of leading singular values (default all ``min(m, n)``).

    Returns:
        ``(sigma, dsigma_dt)``, each ``(top,)``, singular values in decreasing order.

    Raises:
        ValueError: shapes differ, ``depth < 1``, ``top`` out of range.

    Example:
        >>> import numpy as np
        >>> s, v = singular_value_velocity(np.diag([3.0, 1.0]), np.array([[1.0, 5.0], [7.0, 2.0]]), 2)
        >>> v.tolist()      # -2 * sigma_r * G_rr
        [-6.0, -4.0]
    """
    W = np.asarray(W, dtype=np.float64)
    G = np.asarray(grad, dtype=np.float64)
    if W.ndim != 2 or G.shape != W.shape:
        raise ValueError(f"W and grad must be matrices of the same shape; received {W.shape} and {G.shape}")
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be an integer >= 1; received {depth!r}")
    k = min(W.shape) if top is None else int(top)
    if not 1 <= k <= min(W.shape):
        raise ValueError(f"top must be in 1..{min(W.shape)}; received {top!r}")
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    U, s, Vt = U[:, :k], s[:k], Vt[:k]
    proj = np.einsum("ar,ab,rb->r", U, G, Vt)  # <G, u_r v_r^T>
    N = int(depth)
    return s, -N * (s**2) ** (1.0 - 1.0 / N) * proj
