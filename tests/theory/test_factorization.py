import math

import numpy as np
import pytest

from implicit_bias import matrix_data as md
from implicit_bias.theory import factorization as F


def test_min_nuclear_norm_diagonal_completion():
    # observed diagonal only: any off-diagonal entry adds to ||W||_* (hand-solved: diag(1, 2, 3), value 6)
    d = md.MatrixDataset(np.array([1.0, 2.0, 3.0]), entries=[[0, 0], [1, 1], [2, 2]], shape=(3, 3))
    p = F.min_nuclear_norm(d)
    np.testing.assert_allclose(p.W, np.diag([1.0, 2.0, 3.0]), atol=1e-7)
    assert p.value == pytest.approx(6.0, rel=1e-7)


def test_min_nuclear_norm_rank_one_completion():
    # [[1, 1], [1, x]]: ||.||_* = 1 + x for x >= 1 and sqrt((x - 1)^2 + 4) for x < 1, minimal (= 2) at x = 1
    d = md.MatrixDataset(np.ones(3), entries=[[0, 0], [0, 1], [1, 0]], shape=(2, 2))
    p = F.min_nuclear_norm(d)
    assert p.value == pytest.approx(2.0, abs=1e-8)
    # for x < 1 the objective grows only quadratically, 2 + (x - 1)^2 / 4: an objective accurate
    # to ~1e-10 pins x to ~sqrt(4e-10) = 2e-5 (measured 1.6e-5), hence the tolerance on W
    np.testing.assert_allclose(p.W, np.ones((2, 2)), atol=1e-4)
    assert p.residual < 1e-8


def test_min_nuclear_norm_fully_observed_sensing():
    W = md.low_rank_matrix((3, 4), rank=2, seed=0)
    A = np.eye(12).reshape(12, 3, 4)  # every entry measured once: W is the only feasible point
    p = F.min_nuclear_norm(md.MatrixDataset(A.reshape(12, -1) @ W.reshape(-1), A=A))
    np.testing.assert_allclose(p.W, W, atol=1e-6)
    assert p.value == pytest.approx(np.sum(np.linalg.svd(W, compute_uv=False)), rel=1e-7)


def test_min_frobenius_norm():
    d = md.matrix_completion((4, 3), rank=1, n_obs=5, seed=0)
    p = F.min_frobenius_norm(d)
    assert np.count_nonzero(p.W) == 5 and p.residual == 0.0
    s = md.matrix_sensing((3, 3), rank=1, n_obs=4, seed=0)
    q = F.min_frobenius_norm(s)
    assert q.residual < 1e-12
    # minimal: orthogonal to the null space of the measurement map
    Af = s.A.reshape(4, -1)
    null = np.linalg.svd(Af)[2][4:]
    assert np.max(np.abs(null @ q.predictor)) < 1e-12


def test_rank_measures_by_hand():
    assert F.effective_rank(np.diag([1.0, 1.0, 1.0, 0.0])) == pytest.approx(3.0)
    H = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert F.effective_rank(np.diag([3.0, 1.0])) == pytest.approx(math.exp(H))
    assert F.stable_rank(np.diag([2.0, 1.0])) == pytest.approx(5.0 / 4.0)
    assert F.effective_rank(np.zeros((2, 2))) == 0.0
    np.testing.assert_allclose(F.singular_values(np.diag([1.0, -3.0])), [3.0, 1.0])


def _entropy_scipy(a, y, alpha):
    """Independent oracle: the optimality system of the primal entropic problem,
    w = alpha^2 exp(a^T nu), a w = y, solved for nu by scipy's Levenberg-Marquardt (MINPACK)
    from nu = 0 (no Newton line search, no step cap, no special start as in the library)."""
    from scipy.optimize import root

    def F(nu):
        return a @ (alpha**2 * np.exp(a.T @ nu)) - y

    def J(nu):
        return (a * (alpha**2 * np.exp(a.T @ nu))[None, :]) @ a.T

    with np.errstate(over="ignore", invalid="ignore"):  # LM probes far-off points on its way
        sol = root(F, np.zeros(a.shape[0]), jac=J, method="lm", options={"xtol": 1e-15, "ftol": 1e-15, "maxiter": 100_000})
    assert np.max(np.abs(F(sol.x))) < 1e-9 * np.max(np.abs(y))
    return alpha**2 * np.exp(a.T @ sol.x)


@pytest.mark.parametrize("alpha", [0.3, 1e-2, 1e-4])
def test_commuting_limit_against_scipy(alpha):
    d = md.commuting_sensing(6, rank=2, n_obs=3, seed=0)
    lim = F.commuting_limit(d)
    w = lim.eigenvalues(alpha)
    w_ref = _entropy_scipy(lim.a, d.y, alpha)
    np.testing.assert_allclose(w, w_ref, rtol=1e-8, atol=1e-10 * np.max(w_ref))
    assert np.min(w) > 0  # W stays positive definite
    p = lim(alpha)
    assert p.residual < 1e-10
    np.testing.assert_allclose(np.linalg.eigvalsh(p.W), np.sort(w), atol=1e-12 * np.max(w))


def test_commuting_limit_stationarity():
    # KKT: log(w / alpha^2) lies in the row space of the eigenvalue matrix a
    d = md.commuting_sensing(8, rank=3, n_obs=4, seed=2)
    lim = F.commuting_limit(d)
    w = lim.eigenvalues(1e-3)
    z = np.log(w / 1e-6)
    coef = np.linalg.lstsq(lim.a.T, z, rcond=None)[0]
    assert np.max(np.abs(lim.a.T @ coef - z)) < 1e-8 * np.max(np.abs(z))


def test_commuting_limit_zero_is_min_nuclear_psd():
    d = md.commuting_sensing(6, rank=2, n_obs=3, seed=0)
    lim = F.commuting_limit(d)
    z = lim.limit_zero()
    nuc = F.min_nuclear_norm(d, psd=True)
    assert z.value == pytest.approx(nuc.value, rel=1e-6)
    np.testing.assert_allclose(z.W, nuc.W, atol=1e-5 * np.max(np.abs(z.W)))
    # the finite-init limit approaches it as alpha shrinks
    dist = [np.linalg.norm(lim(a).W - z.W) for a in (1e-1, 1e-2, 1e-3)]
    assert dist[0] > dist[1] > dist[2]


def test_commuting_bad_input():
    with pytest.raises(ValueError, match="needs sensing data"):
        F.commuting_limit(md.matrix_completion((3, 3), 1, 4))
    with pytest.raises(ValueError, match="symmetric"):
        F.commuting_limit(md.matrix_sensing((3, 3), 1, 4))
    A = np.random.default_rng(0).standard_normal((2, 3, 3))
    A = A + A.transpose(0, 2, 1)
    with pytest.raises(ValueError, match="do not commute"):
        F.commuting_limit(md.MatrixDataset(np.ones(2), A=A))
    with pytest.raises(ValueError, match="MatrixDataset"):
        F.min_nuclear_norm((np.ones((2, 2)), np.ones(2)))
    # measurements only reachable by an eigenvalue 0: no finite-init limit
    A = np.stack([np.diag([1.0, 0.0]), np.diag([0.0, 1.0])])
    with pytest.raises(ValueError, match="no strictly positive interpolant"):
        F.commuting_limit(md.MatrixDataset(np.array([1.0, 0.0]), A=A))
