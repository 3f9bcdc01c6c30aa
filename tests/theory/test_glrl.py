"""Greedy Low-Rank Learning (implicit_bias.theory.glrl): hand-solvable full observation, a direct
rank-r solver, the loss-level parametrisation and bad input."""

import numpy as np
import pytest
from scipy.optimize import minimize

from implicit_bias.matrix_data import MatrixDataset
from implicit_bias.theory import glrl


def _full_observation(M):
    n = M.shape[0]
    E = np.array([[i, j] for i in range(n) for j in range(n)])
    return MatrixDataset(M[E[:, 0], E[:, 1]], entries=E, shape=(n, n))


def _psd(eigs, seed=0):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((len(eigs), len(eigs))))
    return (Q * np.asarray(eigs)[None, :]) @ Q.T, Q


def _sensing(n=5, N=7, seed=1):
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n, 2))
    W = B @ B.T
    G = rng.standard_normal((N, n, n))
    A = (G + G.transpose(0, 2, 1)) / (2 * n)
    return MatrixDataset(np.einsum("kij,ij->k", A, W), A=A)


def test_full_observation_stages_are_the_top_r_eigendecompositions():
    # every entry observed: L(W) = ||W - M||_F^2 / (2 n^2); the best PSD rank-r approximation of a PSD M
    # is its top-r eigendecomposition (Eckart-Young), -grad L(W_{r-1}) = (M - W_{r-1}) / n^2 has top
    # eigenvalue lambda_r / n^2, and the stage losses are sum_{i > r} lambda_i^2 / (2 n^2).
    eigs = np.array([4.0, 2.0, 1.0, 0.0])
    M, Q = _psd(eigs)
    n = 4
    path = glrl.greedy_low_rank(_full_observation(M))
    assert path.stop_reason == "zero-loss" and [s.rank for s in path.stages] == [1, 2, 3]
    for r, s in enumerate(path.stages, start=1):
        best = (Q[:, :r] * eigs[:r]) @ Q[:, :r].T
        assert np.linalg.norm(s.W - best) <= 1e-6 * np.linalg.norm(M)
        assert s.escape == pytest.approx(eigs[r - 1] / n**2, rel=1e-8)
        assert abs(float(s.direction @ Q[:, r - 1])) == pytest.approx(1.0, abs=1e-8)
        assert s.loss == pytest.approx(np.sum(eigs[r:] ** 2) / (2 * n**2), abs=1e-12)
    assert np.allclose(path.W, M, atol=1e-6)


def test_stage_end_points_are_rank_r_minima_found_by_a_direct_solver():
    # each stage ends at a local minimum of the rank-r problem min_U L(U U^T), U in R^{n x r}: L-BFGS
    # started on the stage's own path once half of the stage's loss decrease is done ends at the
    # same matrix and loss (the matrix only where the minimum is isolated, i.e. not on the last,
    # interpolating stage), and L-BFGS started at the end point does not lower the loss. (Not
    # necessarily the global rank-r minimum: on this instance multi-start L-BFGS finds a rank-1 fit
    # with loss 5.4e-4 while GLRL's first stage, greedy, ends at 4.9e-3.)
    data = _sensing()
    n = data.shape[0]
    path = glrl.greedy_low_rank(data)
    assert len(path.stages) >= 2 and path.stop_reason == "zero-loss"

    def f(u, r):
        U = u.reshape(n, r)
        return glrl.symmetric_loss(data, U @ U.T)

    opts = dict(ftol=1e-15, gtol=1e-13, maxiter=20_000)
    for s in path.stages:
        ts = np.linspace(0.0, s.time, 2001)
        losses = np.array([glrl.symmetric_loss(data, s.state(t)) for t in ts])
        k = int(np.argmax(losses <= 0.5 * (s.start_loss + s.loss)))
        res = minimize(f, np.asarray(s.solution(ts[k])), args=(s.rank,), method="L-BFGS-B", options=opts)
        U = res.x.reshape(n, s.rank)
        assert res.fun == pytest.approx(s.loss, rel=1e-5, abs=1e-10 * path.initial_loss)
        if s.status == "converged":  # a zero-loss stage ends on a family of interpolants: only the loss is determined
            assert np.linalg.norm(U @ U.T - s.W) <= 1e-3 * np.linalg.norm(s.W)
        end = minimize(f, s.U.ravel(), args=(s.rank,), method="L-BFGS-B", options=opts)
        assert end.fun >= s.loss - 1e-9 * path.initial_loss


def test_loss_levels_locate_the_state_with_that_loss():
    data = _sensing()
    path = glrl.greedy_low_rank(data)
    L0 = path.initial_loss
    for level in (0.5 * L0, 1.5 * path.stages[0].loss, 0.5 * path.stages[0].loss, 1e-6 * L0):
        assert glrl.symmetric_loss(data, path.at_loss(level)) == pytest.approx(level, rel=1e-7)
    assert np.linalg.norm(path.at_loss(2 * L0)) < 1e-15  # above the start: W ~ 0 (a column of size 1e-10)
    assert np.array_equal(path.at_loss(0.0), path.W)
    pred = path(0.5 * L0)
    assert pred.value == pytest.approx(np.trace(pred.W)) and pred.W.shape == (5, 5)
    # the sampled path: losses decrease along it (gradient flow), stage labels in order
    L, Ws, st = path.sample(50)
    assert np.all(np.diff(L) <= 1e-12 * L0) and list(np.unique(st)) == [s.rank for s in path.stages]


def test_the_path_does_not_depend_on_eps_in_the_limit():
    data = _sensing()
    a, b = glrl.greedy_low_rank(data, eps=1e-8), glrl.greedy_low_rank(data, eps=1e-11)
    assert np.linalg.norm(a.W - b.W) <= 1e-4 * np.linalg.norm(b.W)
    level = 0.5 * b.stages[0].loss
    assert np.linalg.norm(a.at_loss(level) - b.at_loss(level)) <= 1e-4 * np.linalg.norm(b.W)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eps=0.0), "eps"),
        (dict(eps=2.0), "eps"),
        (dict(max_rank=0), "max_rank"),
        (dict(max_rank=9), "max_rank"),
    ],
)
def test_bad_arguments_raise_one_line(kwargs, match):
    with pytest.raises(ValueError, match=match):
        glrl.greedy_low_rank(_sensing(), **kwargs)


def test_bad_data_raise_one_line():
    with pytest.raises(ValueError, match="square"):
        glrl.greedy_low_rank(MatrixDataset(np.array([1.0]), entries=[[0, 1]], shape=(2, 3)))
    with pytest.raises(ValueError, match="MatrixDataset"):
        glrl.greedy_low_rank(np.eye(2))
    with pytest.raises(ValueError, match="nothing to learn"):
        glrl.greedy_low_rank(MatrixDataset(np.array([0.0]), entries=[[0, 1]], shape=(2, 2)))
    # -grad L(0) negative definite: no rank-one direction helps
    with pytest.raises(ValueError, match="no positive eigenvalue"):
        glrl.greedy_low_rank(MatrixDataset(np.array([-1.0, -1.0]), entries=[[0, 0], [1, 1]], shape=(2, 2)))
    with pytest.raises(ValueError, match="level"):
        glrl.greedy_low_rank(_sensing()).at_loss(float("nan"))
