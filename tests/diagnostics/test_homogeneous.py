"""Homogeneous diagnostics on hand-solvable cases: the linear SVM (cvxpy QP) is a KKT point,
a perturbed point is not; smoothed <= normalized margin; a ReLU kink case for the Clarke variant."""

import cvxpy as cp
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.diagnostics import alignment, kkt_certificate, local_improvement, loss_weights, parameter_margin, smoothed_margin
from implicit_bias.models import MLP, Linear

rng = np.random.default_rng(3)
X = rng.normal(size=(20, 3))
Y = np.where(X @ np.array([1.0, -2.0, 0.5]) > 0, 1.0, -1.0)
X = X + 0.3 * Y[:, None] * np.array([1.0, -2.0, 0.5]) / np.linalg.norm([1.0, -2.0, 0.5])


def _svm(X, y):
    """Hard-margin SVM min ||w||^2/2 s.t. y_n x_n^T w >= 1 (cvxpy QP): the oracle."""
    w = cp.Variable(X.shape[1])
    cp.Problem(cp.Minimize(cp.sum_squares(w) / 2), [cp.multiply(y, X @ w) >= 1]).solve(solver=cp.CLARABEL)
    return np.asarray(w.value)


def test_linear_svm_is_a_kkt_point_and_a_perturbation_is_not():
    w = _svm(X, Y)
    c = kkt_certificate(Linear(3), {"w": 5.0 * w}, X, Y)  # scale-invariant: 5 w
    assert c.residual < 1e-6 and abs(c.complementary_slackness) < 1e-6
    q = Y * (X @ w)
    np.testing.assert_array_equal(np.sort(c.support), np.flatnonzero(q < 1 + 1e-6))  # λ on the support vectors
    np.testing.assert_allclose(c.margins, q / q.min(), rtol=1e-12)
    # Euler: ||θ~||^2 = D Σ λ_n q_n(θ~) with D = 1; λ = the SVM's dual variables
    np.testing.assert_allclose(c.lam @ c.margins, np.sum((w / q.min()) ** 2), rtol=1e-6)
    np.testing.assert_allclose(X.T @ (c.lam * Y), w / q.min(), rtol=1e-6, atol=1e-8)
    bad = kkt_certificate(Linear(3), {"w": w + np.array([0.0, 0.0, 0.05 * np.linalg.norm(w)])}, X, Y)
    assert bad.residual + abs(bad.complementary_slackness) > 1e-2
    # the normalized margin of the SVM is 1/||w|| and is the largest
    np.testing.assert_allclose(parameter_margin(Linear(3), {"w": w}, X, Y), 1 / np.linalg.norm(w), rtol=1e-7)
    assert parameter_margin(Linear(3), {"w": w + 0.1}, X, Y) < 1 / np.linalg.norm(w)


@pytest.mark.parametrize("loss", ["logistic", "exponential"])
def test_smoothed_margin_below_normalized_and_closed_form(loss):
    m = MLP(3, (5,))
    p = {k: 4.0 * v for k, v in m.init(0).items()}
    for scale in (1.0, 3.0, 30.0):
        q = {k: scale * v for k, v in p.items()}
        assert smoothed_margin(m, q, X, Y, loss) <= parameter_margin(m, q, X, Y) + 1e-15
    w = np.array([1.0, -2.0, 0.5]) * 10.0
    marg = Y * (X @ w)
    rho = np.linalg.norm(w)
    if loss == "exponential":  # (-log L - log N)/ρ = -log Σ e^{-q_n} / ρ
        expect = -np.log(np.sum(np.exp(-marg))) / rho
    else:  # -log(exp(Σ log(1 + e^{-q_n})) - 1)/ρ
        expect = -np.log(np.expm1(np.sum(np.log1p(np.exp(-marg))))) / rho
    np.testing.assert_allclose(smoothed_margin(Linear(3), {"w": w}, X, Y, loss), expect, rtol=1e-10)
    # log domain: at margins ~1e4 the smoothed margin is (min margin - O(log N))/ρ, not NaN
    big = smoothed_margin(Linear(3), {"w": 1e4 * w}, X, Y, loss)
    assert np.isfinite(big) and 0 < parameter_margin(Linear(3), {"w": w}, X, Y) - big < np.log(len(Y)) / (1e4 * rho)


def _kink_case(eps):
    """Two units, bias none, f = relu(w_A^T x) + relu(w_B^T x); x1 = e1, x2 = e2, both y = +1.
    θ = (w_A = e1 + eps e2, w_B = e2, a = (1, 1)): for eps = 0 a KKT point with λ = (1, 1) and
    σ'(0) = 0 at the kinks (w_A^T x2 = w_B^T x1 = 0). For eps > 0 tiny, x2 sits just on the
    active side of unit A: the plain gradient uses σ' = 1 there and fails; the Clarke choice
    σ' = 0 certifies the point up to O(eps)."""
    m = MLP(2, (2,), activation="relu", bias="none")
    p = {"W1": jnp.array([[1.0, eps], [0.0, 1.0]]), "W2": jnp.array([[1.0, 1.0]])}
    return m, p, np.eye(2), np.array([1.0, 1.0])


def test_clarke_residual_certifies_a_kink_the_plain_one_misses():
    m, p, Xk, yk = _kink_case(1e-7)
    c = kkt_certificate(m, p, Xk, yk)
    assert c.residual > 0.1  # plain: σ' = 1 at the kink pair (A, x2)
    assert c.clarke_residual < 1e-5 and c.n_kinks >= 1
    np.testing.assert_allclose(c.clarke_lam, [1.0, 1.0], atol=1e-4)
    assert abs(c.clarke_complementary_slackness) < 1e-6 and c.clarke_support.tolist() == [0, 1]
    c0 = kkt_certificate(m, p, Xk, yk, kink_tol=1e-9)  # the eps = 1e-7 pair is no longer a kink
    assert 0.1 < c0.clarke_residual <= c0.residual
    a_plain = alignment(m, p, Xk, yk)
    a_clarke = alignment(m, p, Xk, yk, clarke=True)
    assert a_clarke <= a_plain and a_clarke < 1e-6 < a_plain


def test_alignment_of_the_linear_svm_direction_on_its_support():
    """For the linear model with the exponential loss on two symmetric points the gradient is
    exactly -θ's direction: 1 - cos = 0; a rotated θ is misaligned."""
    Xs = np.array([[1.0, 1.0], [-1.0, -1.0]])
    ys = np.array([1.0, -1.0])
    assert alignment(Linear(2), {"w": np.array([2.0, 2.0])}, Xs, ys, "exponential") < 1e-15
    assert alignment(Linear(2), {"w": np.array([2.0, 0.0])}, Xs, ys, "exponential") > 0.2


def test_bad_input():
    m = MLP(3, (4,), bias="all")
    p = m.init(0)
    for fn in (parameter_margin, smoothed_margin, kkt_certificate):
        with pytest.raises(ValueError, match="not homogeneous"):
            fn(m, p, X, Y)
    with pytest.raises(ValueError, match="do not separate"):
        kkt_certificate(Linear(3), {"w": -np.array([1.0, -2.0, 0.5])}, X, Y)
    with pytest.raises(ValueError, match="-1/\\+1"):
        parameter_margin(Linear(3), {"w": np.ones(3)}, X, (Y + 1) / 2)
    with pytest.raises(ValueError, match="two-layer"):
        alignment(Linear(3), {"w": np.ones(3)}, X, Y, clarke=True)
    with pytest.raises(ValueError, match="exponential and logistic"):
        smoothed_margin(Linear(3), {"w": np.ones(3)}, X, Y, "polynomial")


def test_loss_weights_concentrate_on_the_svm_support_with_its_dual_weights():
    """Far along the SVM direction (θ = s w, s large) the exponential-loss weights e^{-q_n} are
    ∝ e^{-s} on the support vectors and exponentially smaller elsewhere: normalized, 1 on the
    support and < 1e-6 off it; the plain weights are scale-dependent, the support is not."""
    w = _svm(X, Y)
    q = Y * (X @ w)
    on = q < 1 + 1e-6
    lw = loss_weights(Linear(3), {"w": 2000.0 * w}, X, Y, "exponential")
    np.testing.assert_allclose(lw[on], 1.0, rtol=1e-5)
    assert np.all(lw[~on] < 1e-6) and lw.max() == 1.0
    # a linear model has no Clarke fit: its certificate says so
    c = kkt_certificate(Linear(3), {"w": w}, X, Y)
    assert c.clarke_residual is None and c.clarke_support is None and c.clarke_complementary_slackness is None


def test_local_improvement_finds_nothing_at_the_linear_svm_and_the_way_down_from_a_non_optimal_point():
    # min ||w||^2 s.t. y w^T x >= 1 is convex: its optimum (here w = (1, 0)) admits no improvement
    X = np.array([[1.0, 1.0], [1.0, -1.0]])
    y = np.array([1.0, 1.0])
    for r in local_improvement(Linear(2), {"w": np.array([3.0, 0.0])}, X, y, radii=(0.01, 0.3), starts=4):
        assert r.value == pytest.approx(1.0, rel=1e-15) and r.reduction <= 1e-12 and r.min_margin >= 1.0 - 1e-12
    # w = (1, 0.5) rescaled to margin 1 is (2, 1) (||w||^2 = 5): within radius r the best feasible
    # point moves straight toward (1, 0) (the constraint w_1 - w_2 >= 1 is active): reduction known
    (r,) = local_improvement(Linear(2), {"w": np.array([1.0, 0.5])}, X, y, radii=(0.1,), starts=4)
    t0, R = np.array([2.0, 1.0]), 0.1 * np.sqrt(5.0)
    step = t0 - R * np.array([1.0, 1.0]) / np.sqrt(2.0)  # along the active face w_1 - w_2 = 1
    np.testing.assert_allclose(r.best_value, step @ step, rtol=1e-6)
    assert r.distance <= 0.1 and np.min(X @ r.params["w"]) >= 1.0 - 1e-12


def test_local_improvement_bad_input():
    X, y = np.array([[1.0, 0.0]]), np.array([1.0])
    with pytest.raises(ValueError, match="radii"):
        local_improvement(Linear(2), {"w": np.array([1.0, 0.0])}, X, y, radii=(0.0,))
    with pytest.raises(ValueError, match="starts"):
        local_improvement(Linear(2), {"w": np.array([1.0, 0.0])}, X, y, starts=0)
    with pytest.raises(ValueError, match="do not separate"):
        local_improvement(Linear(2), {"w": np.array([-1.0, 0.0])}, X, y)
