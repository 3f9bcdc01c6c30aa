r"""Greedy Low-Rank Learning (Li, Luo & Lyu 2021, cited as ``li2021``; vardi2022 §4.3, ref. [40]).

The symmetric PSD factorization ``W = U U^T`` trained by gradient flow from an infinitesimal
initialization follows, in the limit, a different and explicit algorithm: Greedy Low-Rank
Learning (GLRL). With ``L(W) = 1/(2N) sum_k (A(W)_k - y_k)^2`` (DESIGN.md's square loss; ``A``
the completion or sensing operator of a :class:`~implicit_bias.matrix_data.MatrixDataset`) and
``S(W) = (grad L(W) + grad L(W)^T) / 2`` its symmetrised gradient:

1. ``U_0`` is the empty ``(n, 0)`` matrix (``W_0 = 0``).
2. Stage ``r = 1, 2, ...``: ``lambda_r, u_r`` = the top eigenpair of ``-S(W_{r-1})``. If
   ``lambda_r <= 0`` no rank-one direction decreases the loss to first order: stop. Otherwise
   start from ``U = [U_{r-1}, eps u_r]`` (``n x r``) and follow the rank-``r`` gradient flow

   .. math:: \dot U = -\nabla_U L(U U^\top) = -2\, S(U U^\top)\, U

   to convergence (``U_r``, ``W_r = U_r U_r^T``, a local minimum of ``L`` over rank ``<= r``
   PSD matrices reached from the saddle ``W_{r-1}``).
3. Stop when ``L(W_r) <= loss_tol * L(0)`` or ``r = n``.

Li et al. show (their depth-2 equivalence theorem; vardi2022 §4.3 summarises it) that, under their genericity assumptions,
gradient flow on the full ``n x n`` factor from ``U(0) = alpha U_bar`` converges, as
``alpha -> 0``, to this piecewise path: plateaus near the saddles ``W_1, W_2, ...`` ("saddle to
saddle"), and the limit point ``W_GLRL``. Because every stage only adds the greedy best rank-one
direction, ``W_GLRL`` need not minimise the nuclear norm among interpolants: on some instances
its trace exceeds the min-trace PSD interpolant's, which refutes the nuclear-norm conjecture
(gunasekar2017) for this model.

The rank-``r`` flows are integrated here with SciPy (``solve_ivp``, LSODA, dense output): no
training code, so this is an independent route to the trajectory of
:class:`~implicit_bias.models.MatrixFactorization` (``symmetric=True``). The path is returned as a
predictor factory over the **loss level**: the loss decreases monotonically along the path, so
``path(level)`` is the state where ``L = level`` (a root of the dense output), which is how a
gradient-flow run at a finite ``alpha`` is compared with it (matched loss levels, independent of
the flow's clock).

``eps`` is finite (default ``1e-10``, relative to ``sqrt(lambda_1)``): the ``eps -> 0`` limit
changes the path by ``O(eps)``-small amounts after each escape.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..matrix_data import MatrixDataset
from .factorization import MatrixPrediction, square_loss_gradient

__all__ = ["GLRLStage", "GreedyLowRankPath", "greedy_low_rank", "symmetric_loss"]


def symmetric_loss(data: MatrixDataset, W) -> float:
    """``L(W) = 1/(2N) sum_k (A(W)_k - y_k)^2`` (DESIGN.md's square loss) for ``W (n, n)``."""
    r = data.measure(np.asarray(W, dtype=np.float64)) - data.y
    return float(0.5 * np.mean(r**2))


def _sym_grad(data, W):
    G = square_loss_gradient(data, W)
    return 0.5 * (G + G.T)


@dataclasses.dataclass(frozen=True)
class GLRLStage:
    """One stage of :func:`greedy_low_rank`.

    Attributes:
        rank: ``r``.
        escape: ``lambda_r``, the top eigenvalue of ``-S(W_{r-1})`` (the new column grows like
            ``eps exp(2 lambda_r t)``).
        direction: its eigenvector ``u_r (n,)``.
        U: the stage's end point ``U_r (n, r)``.
        W: ``U_r U_r^T (n, n)``.
        loss: ``L(W_r)``.
        start_loss: ``L`` at the stage's start point ``[U_{r-1}, eps u_r]``.
        time: flow time the stage took (from its start).
        status: ``"converged"`` (gradient below tolerance), ``"zero-loss"`` (loss target reached).
        solution: the SciPy ``OdeSolution`` of ``U`` (flattened ``n r``) over ``[0, time]``.
    """

    rank: int
    escape: float
    direction: np.ndarray
    U: np.ndarray
    W: np.ndarray
    loss: float
    start_loss: float
    time: float
    status: str
    solution: object = dataclasses.field(repr=False)

    def state(self, t) -> np.ndarray:
        """``W(t) (n, n)`` at stage time ``t`` in ``[0, time]`` (dense output)."""
        n = self.U.shape[0]
        U = np.asarray(self.solution(float(t))).reshape(n, self.rank)
        return U @ U.T


@dataclasses.dataclass(frozen=True)
class GreedyLowRankPath:
    """The GLRL path (module docstring) as a predictor factory over the loss level: call it with
    a loss value to get the state on the path where ``L`` equals it.

    Attributes:
        stages: the :class:`GLRLStage` s in order.
        data: the observations.
        initial_loss: ``L(0)``.
        stop_reason: ``"zero-loss"``, ``"no-descent-direction"`` (``lambda <= 0``) or ``"max-rank"``.
    """

    stages: tuple
    data: MatrixDataset
    initial_loss: float
    stop_reason: str

    @property
    def W(self) -> np.ndarray:
        """The end point ``W_GLRL (n, n)``."""
        return self.stages[-1].W

    @property
    def stage_losses(self) -> np.ndarray:
        """``L(W_r)`` per stage, ``(R,)``: the plateau levels of small-init gradient flow."""
        return np.array([s.loss for s in self.stages])

    def at_loss(self, level: float) -> np.ndarray:
        """``W (n, n)`` on the path where ``L(W) = level``.

        Levels above the first stage's start give that start (``~0``), levels below the final
        loss give the end point, and a level between a stage's end and the next start (a gap of
        order ``eps^2``) gives the saddle ``W_r``. Inside a stage the state is located by Brent's
        method on the dense output (the loss decreases monotonically along a gradient flow).
        """
        from scipy.optimize import brentq

        level = float(level)
        if not math.isfinite(level):
            raise ValueError(f"level must be a finite loss value; received {level!r}")
        prev_W = np.zeros(self.data.shape)
        for s in self.stages:
            if level > s.start_loss:
                return prev_W
            if level >= s.loss:
                f = lambda t: symmetric_loss(self.data, s.state(t)) - level  # noqa: E731
                if f(0.0) <= 0:
                    return s.state(0.0)
                if f(s.time) >= 0:
                    return s.W
                t = brentq(f, 0.0, s.time, xtol=1e-12 * max(s.time, 1.0), rtol=1e-14, maxiter=200)
                return s.state(t)
            prev_W = s.W
        return self.W

    def __call__(self, level: float) -> MatrixPrediction:
        """The state at loss ``level`` as a :class:`~implicit_bias.theory.factorization.MatrixPrediction`."""
        W = self.at_loss(level)
        return MatrixPrediction(W, float(np.trace(W)), f"glrl(loss={level:g})", float(np.max(np.abs(self.data.measure(W) - self.data.y))))

    def sample(self, points: int = 200):
        """The path sampled on ``points`` stage times per stage (uniform in each stage's time):
        ``(loss (P,), W (P, n, n), stage (P,))`` for plots."""
        L, Ws, st = [], [], []
        for s in self.stages:
            for t in np.linspace(0.0, s.time, points):
                W = s.state(t)
                L.append(symmetric_loss(self.data, W))
                Ws.append(W)
                st.append(s.rank)
        return np.array(L), np.array(Ws), np.array(st)


def _stage(data, U0, lam, *, rtol, atol, grad_tol, loss_floor, t_max):
    """Integrate ``U' = -2 S(U U^T) U`` from ``U0 (n, r)`` until, after the escape from the saddle
    (the loss down by a relative 1e-6), the gradient norm falls below ``grad_tol * lambda^{3/2}``,
    or the loss reaches ``loss_floor``."""
    from scipy.integrate import solve_ivp

    n, r = U0.shape

    def rhs(t, u):
        U = u.reshape(n, r)
        return (-2.0 * _sym_grad(data, U @ U.T) @ U).ravel()

    g_star = grad_tol * lam**1.5
    U00 = U0
    start = symmetric_loss(data, U00 @ U00.T)
    escaped = start * (1.0 - 1e-6)  # the escape: the loss has fallen by a relative 1e-6 from the saddle

    def small_grad(t, u):  # < 0 only once the loss has fallen below `escaped` and the gradient below g_star
        U = u.reshape(n, r)
        g = math.log(float(np.linalg.norm(rhs(t, u))) + 1e-300) - math.log(g_star)
        return max(g, 1e3 * (symmetric_loss(data, U @ U.T) / escaped - 1.0))

    small_grad.terminal, small_grad.direction = True, -1.0

    def low_loss(t, u):
        U = u.reshape(n, r)
        return math.log(symmetric_loss(data, U @ U.T) + 1e-300) - math.log(loss_floor)

    low_loss.terminal, low_loss.direction = True, -1.0
    sol = solve_ivp(rhs, (0.0, t_max), U0.ravel(), method="LSODA", rtol=rtol, atol=atol, events=[small_grad, low_loss], dense_output=True)
    if sol.status == -1:
        raise ValueError(f"GLRL stage {r}: the ODE solver failed ({sol.message})")
    if sol.status == 0:
        raise ValueError(f"GLRL stage {r}: no convergence by flow time t_max = {t_max:g} (the escape rate lambda = {lam:.3g} is too small, or the stage has no isolated limit); raise t_max")
    status = "zero-loss" if len(sol.t_events[1]) else "converged"
    return sol.y[:, -1].reshape(n, r), float(sol.t[-1]), status, sol.sol


def greedy_low_rank(data: MatrixDataset, *, eps: float = 1e-10, max_rank: int | None = None, loss_tol: float = 1e-14,
                    grad_tol: float = 1e-9, rtol: float = 1e-10, t_max: float = 1e9) -> GreedyLowRankPath:
    r"""Greedy Low-Rank Learning (li2021, the GLRL algorithm; module docstring) on symmetric
    observations.

    Args:
        data: completion or sensing observations of a square ``n x n`` matrix (the model is
            ``W = U U^T``; only the symmetric part of each sensing matrix matters).
        eps: size of each new column ``eps * sqrt(lambda_1) * u_r`` (the limit is ``eps -> 0``).
        max_rank: at most this many stages (default ``n``).
        loss_tol: stop when ``L(W_r) <= loss_tol * L(0)``.
        grad_tol: a stage has converged when ``||grad_U L|| <= grad_tol * lambda_r^{3/2}``.
        rtol: relative tolerance of the LSODA integration (the absolute one is
            ``1e-6 * eps * sqrt(lambda_1)``, below the size of a new column).
        t_max: flow-time budget per stage.

    Returns:
        :class:`GreedyLowRankPath`.

    Raises:
        ValueError: not a ``MatrixDataset``, a non-square shape, bad ``eps``/``max_rank``,
            ``L(0) = 0``, or a stage that does not converge by ``t_max``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.matrix_data import MatrixDataset
        >>> M = np.diag([3.0, 1.0])                       # every entry observed
        >>> E = np.array([[i, j] for i in range(2) for j in range(2)])
        >>> path = greedy_low_rank(MatrixDataset(M[E[:, 0], E[:, 1]], entries=E, shape=(2, 2)))
        >>> [round(float(x), 6) for x in np.diag(path.stages[0].W)]   # stage 1: the top eigenpair
        [3.0, 0.0]
        >>> np.allclose(path.W, M, atol=1e-6)
        True
    """
    if not isinstance(data, MatrixDataset):
        raise ValueError(f"data must be an implicit_bias.matrix_data.MatrixDataset; received {type(data).__name__}")
    n, m = data.shape
    if n != m:
        raise ValueError(f"GLRL fits W = U U^T: the data must be of a square matrix; received {n} x {m}")
    if not (math.isfinite(eps) and 0 < eps < 1):
        raise ValueError(f"eps must be in (0, 1); received {eps!r}")
    R = n if max_rank is None else max_rank
    if not (isinstance(R, (int, np.integer)) and 1 <= R <= n):
        raise ValueError(f"max_rank must be an integer in 1..{n}; received {max_rank!r}")
    L0 = symmetric_loss(data, np.zeros((n, n)))
    if L0 == 0:
        raise ValueError("L(0) = 0: W = 0 already fits the observations; there is nothing to learn")
    U = np.zeros((n, 0))
    stages, reason, size = [], "max-rank", None
    for r in range(1, int(R) + 1):
        lam_all, V = np.linalg.eigh(-_sym_grad(data, U @ U.T))
        lam, u = float(lam_all[-1]), V[:, -1]
        if lam <= 1e-12 * max(float(np.max(np.abs(lam_all))), 1e-300):
            reason = "no-descent-direction"
            break
        size = size if size is not None else math.sqrt(lam)
        U0 = np.hstack([U, eps * size * u[:, None]])
        start = symmetric_loss(data, U0 @ U0.T)
        U, t, status, sol = _stage(data, U0, lam, rtol=rtol, atol=1e-6 * eps * size, grad_tol=grad_tol, loss_floor=loss_tol * L0, t_max=t_max)
        W = U @ U.T
        stages.append(GLRLStage(r, lam, u, U, W, symmetric_loss(data, W), start, t, status, sol))
        if status == "zero-loss" or stages[-1].loss <= loss_tol * L0:
            reason = "zero-loss"
            break
    if not stages:
        raise ValueError("GLRL: -grad L(0) has no positive eigenvalue, so no rank-one direction decreases the loss from W = 0")
    return GreedyLowRankPath(tuple(stages), data, L0, reason)
