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


def test_matrix_predictions_through_the_prediction_mapping():
    # observed W[0,0] = 1, W[1,1] = 2 of a 2 x 2 matrix: min nuclear = min Frobenius = diag(1, 2)
    from implicit_bias.config import ModelConfig, build_matrix_model
    from implicit_bias.theory.predictions import Context, get_prediction

    d = md.MatrixDataset(np.array([1.0, 2.0]), entries=[[0, 0], [1, 1]], shape=(2, 2))
    model = build_matrix_model(ModelConfig(name="factorization", depth=2, scale=0.1), d)
    ctx = Context(X=d.dataset.X, y=d.dataset.y, model=model)
    for name in ("min-nuclear", "min-frobenius", "min-nuclear-psd"):
        np.testing.assert_allclose(get_prediction(name).fn(ctx), [1.0, 0.0, 0.0, 2.0], atol=1e-6)
    # the same data rebuilt from the training view
    back = F.matrix_data_of(d.dataset.X, d.dataset.y, (2, 2))
    assert back.kind == "completion" and np.array_equal(back.entries, d.entries)
    with pytest.raises(ValueError, match="matrix models"):
        get_prediction("min-nuclear").fn(Context(X=d.dataset.X, y=d.dataset.y, model=None))
    with pytest.raises(ValueError, match="neither completion"):
        F.matrix_data_of(np.ones((2, 3)), np.ones(2), (2, 2), "sensing")


def test_square_loss_gradient_by_hand():
    d = md.MatrixDataset(np.array([1.0, 2.0, 3.0]), entries=[[0, 0], [1, 1], [0, 1]], shape=(2, 2))
    # residuals W - y at (0,0), (1,1), (0,1): 0 - 1, 1 - 2, 4 - 3; divided by N = 3
    G = F.square_loss_gradient(d, np.array([[0.0, 4.0], [9.0, 1.0]]))
    np.testing.assert_allclose(G, np.array([[-1.0, 1.0], [0.0, -1.0]]) / 3)
    A = np.stack([np.eye(2), np.array([[0.0, 1.0], [1.0, 0.0]])])
    s = md.MatrixDataset(np.array([1.0, 0.0]), A=A)
    # <A1, W> = 2 (residual 1), <A2, W> = 3 (residual 3): G = (1 A1 + 3 A2) / 2
    np.testing.assert_allclose(F.square_loss_gradient(s, np.array([[1.0, 1.0], [2.0, 1.0]])), np.array([[0.5, 1.5], [1.5, 0.5]]))


def test_singular_value_velocity_by_hand():
    W, G = np.diag([3.0, 1.0]), np.array([[1.0, 5.0], [7.0, 2.0]])
    s, v = F.singular_value_velocity(W, G, 2)
    np.testing.assert_allclose(s, [3.0, 1.0])
    np.testing.assert_allclose(v, [-2 * 3 * 1, -2 * 1 * 2])  # -N sigma^(2 - 2/N) G_rr
    _, v3 = F.singular_value_velocity(W, G, 3, top=1)
    np.testing.assert_allclose(v3, [-3 * 9 ** (2 / 3)])
    _, v1 = F.singular_value_velocity(W, G, 1)
    np.testing.assert_allclose(v1, [-1.0, -2.0])  # plain gradient flow on W
    # a sign flip of (u_r, v_r) does not matter; a rotation of the basis is followed
    R = np.array([[0.6, -0.8], [0.8, 0.6]])
    _, vr = F.singular_value_velocity(R @ W, R @ G, 2)
    np.testing.assert_allclose(vr, v)
    with pytest.raises(ValueError, match="depth"):
        F.singular_value_velocity(W, G, 0)
    with pytest.raises(ValueError, match="same shape"):
        F.singular_value_velocity(W, G[:1], 2)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_singular_value_velocity_matches_the_chain_rule_on_balanced_factors(depth):
    # balanced factors of W = U S V^T: W_1 = R_1 S^(1/N) V^T, W_j = R_j S^(1/N) R_(j-1)^T, W_N = U S^(1/N) R_(N-1)^T;
    # gradient flow on the factors: dW_j/dt = -(W_N..W_(j+1))^T G (W_(j-1)..W_1)^T; d sigma_r = u_r^T (dW/dt) v_r
    rng = np.random.default_rng(depth)
    n = 4
    orth = lambda: np.linalg.qr(rng.standard_normal((n, n)))[0]
    U, V, Rs = orth(), orth(), [orth() for _ in range(depth - 1)]
    S = np.diag([2.0, 1.3, 0.7, 0.2])
    root = np.diag(np.diag(S) ** (1 / depth))
    Ws = [(Rs[0] if depth > 1 else U) @ root @ V.T]
    for j in range(1, depth - 1):
        Ws.append(Rs[j] @ root @ Rs[j - 1].T)
    if depth > 1:
        Ws.append(U @ root @ Rs[-1].T)
    prod = lambda Ms: np.linalg.multi_dot(Ms[::-1]) if len(Ms) > 1 else (Ms[0] if Ms else np.eye(n))
    W = prod(Ws)
    np.testing.assert_allclose(W, U @ S @ V.T, atol=1e-12)
    for j in range(depth - 1):
        np.testing.assert_allclose(Ws[j + 1].T @ Ws[j + 1], Ws[j] @ Ws[j].T, atol=1e-12)  # balanced
    G = rng.standard_normal((n, n))
    dW = np.zeros((n, n))
    for j in range(depth):
        left, right = prod(Ws[j + 1:]), prod(Ws[:j])
        dWj = -left.T @ G @ right.T
        dW += left @ dWj @ right
    expected = np.einsum("ar,ab,br->r", U, dW, V)
    s, v = F.singular_value_velocity(W, G, depth)
    np.testing.assert_allclose(s, np.diag(S), rtol=1e-12)
    np.testing.assert_allclose(v, expected, rtol=1e-9, atol=1e-12)
