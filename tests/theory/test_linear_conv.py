"""theory.linear_conv: the DFT-l1 max margin on hand-solvable cases and against two independent
formulations (a SciPy LP on real-symmetric data, cvxpy over complex DFT coefficients), and the
l_(2/L) stationary points on a hand-solvable one-point problem."""

import numpy as np
import pytest
from scipy.optimize import linprog

from implicit_bias.theory.linear_conv import active_frequencies, dft_l1_max_margin, dft_lp_stationary_points, dft_matrix


def test_dft_matrix_is_the_unitary_fft():
    C, S = dft_matrix(6)
    F = C + 1j * S
    np.testing.assert_allclose(F.conj().T @ F, np.eye(6), atol=1e-14)
    v = np.random.default_rng(0).standard_normal(6)
    np.testing.assert_allclose(F @ v, np.fft.fft(v, norm="ortho"), atol=1e-14)


def test_d2_is_the_linf_max_margin_by_hand():
    # d = 2: F = [[1, 1], [1, -1]] / sqrt(2), ||F b||_1 = sqrt(2) max(|b0|, |b1|); with the one
    # constraint 2 b0 + b1 >= 1 the minimiser is b = (1/3, 1/3), value sqrt(2)/3
    sol = dft_l1_max_margin(np.array([[2.0, 1.0]]), np.array([1.0]))
    np.testing.assert_allclose(sol.beta, [1 / 3, 1 / 3], atol=1e-7)
    assert sol.objective == pytest.approx(np.sqrt(2) / 3, rel=1e-7)
    assert sol.margin == pytest.approx(3 / np.sqrt(2), rel=1e-7)
    np.testing.assert_allclose(sol.direction, [2**-0.5, 2**-0.5], atol=1e-7)


def test_d4_single_frequency_inputs_by_hand():
    # x = (1, 0, -1, 0): F x = (0, 1, 0, 1); <b, x> = 2 Re conj(z_1) <= ||z||_1, so the unique
    # minimiser is z_1 = z_3 = 1/2, b = x / 2, value 1
    sol = dft_l1_max_margin(np.array([[1.0, 0.0, -1.0, 0.0]]), np.array([1.0]))
    np.testing.assert_allclose(sol.beta, [0.5, 0, -0.5, 0], atol=1e-7)
    assert sol.objective == pytest.approx(1.0, rel=1e-7)
    # x = ones, label -1: <b, 1> = 2 z_0 <= -1, so b = -ones / 4, value 1/2
    sol = dft_l1_max_margin(np.ones((1, 4)), np.array([-1.0]))
    np.testing.assert_allclose(sol.beta, -np.ones(4) / 4, atol=1e-7)
    assert sol.objective == pytest.approx(0.5, rel=1e-7) and active_frequencies(sol.beta) == 1


def _symmetric_data(d, n, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X = 0.5 * (X + X[:, (-np.arange(d)) % d])  # x[k] = x[-k]: real, even DFT
    w = rng.standard_normal(d)
    w = 0.5 * (w + w[(-np.arange(d)) % d])
    y = np.sign(X @ w)
    return X, y


def test_matches_a_scipy_lp_on_real_symmetric_data():
    # on even data (x[k] = x[-k]) the reflection maps feasible points to feasible points and keeps
    # ||F b||_1, so an even minimiser exists; for even b, F b = C b is real and the problem is the LP
    #   min sum t  s.t.  -t <= C b <= t,  Z b >= 1,  b[k] = b[-k]
    d, n = 8, 5
    X, y = _symmetric_data(d, n, 3)
    Z = y[:, None] * X
    C, _ = dft_matrix(d)
    I = np.eye(d)
    A_ub = np.block([[C, -I], [-C, -I], [-Z, np.zeros((n, d))]])
    b_ub = np.concatenate([np.zeros(2 * d), -np.ones(n)])
    R = I - I[(-np.arange(d)) % d]  # b - reflected b = 0
    A_eq = np.hstack([R, np.zeros((d, d))])
    res = linprog(np.concatenate([np.zeros(d), np.ones(d)]), A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.zeros(d), bounds=[(None, None)] * (2 * d), method="highs")
    assert res.status == 0
    sol = dft_l1_max_margin(X, y)
    assert sol.objective == pytest.approx(res.fun, rel=1e-6)
    assert np.min(Z @ sol.beta) == pytest.approx(1.0, rel=1e-12)


def test_matches_cvxpy_over_complex_dft_coefficients():
    # a different parametrisation: the complex coefficients z = F b as the variable, Hermitian
    # symmetry z_m = conj(z_{d-m}) imposed, b = F^H z
    import cvxpy as cp

    d, n = 8, 5
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, d))
    y = np.sign(X @ rng.standard_normal(d))
    F = np.fft.fft(np.eye(d), norm="ortho")
    z = cp.Variable(d, complex=True)
    b = cp.real(F.conj().T @ z)
    cons = [(y[:, None] * X) @ b >= 1] + [z[m] == cp.conj(z[(d - m) % d]) for m in range(d)]
    prob = cp.Problem(cp.Minimize(cp.sum(cp.abs(z))), cons)
    prob.solve(solver="CLARABEL")
    sol = dft_l1_max_margin(X, y)
    assert sol.objective == pytest.approx(prob.value, rel=1e-6)
    np.testing.assert_allclose(sol.beta / np.min((y[:, None] * X) @ sol.beta), b.value / np.min((y[:, None] * X) @ b.value), atol=1e-5)


def test_not_separable_is_refused():
    with pytest.raises(ValueError, match="not linearly separable"):
        dft_l1_max_margin(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="depth must be an integer >= 2"):
        dft_lp_stationary_points(np.ones((1, 2)), np.ones(1), 1)


def test_lp_stationary_points_one_point_by_hand():
    # x = (1, 0.2, -0.3, 0.5): F x = (0.7, (1.3 + 0.3i)/2, 0, conj); <b, x> = sum conj(z_m) (F x)_m.
    # Mass on m = 0 alone: z_0 = 1/0.7, (sum |z|^p)^(1/p) = 1/0.7 = 1.428571; on the pair m = 1, 3:
    # |z_1| = 1/(2 |F x_1|), value 2^(1/p) |z_1| = 2.12 for p = 2/3. The global minimiser is the first,
    # b = z_0 / 2 * ones
    X, y = np.array([[1.0, 0.2, -0.3, 0.5]]), np.array([1.0])
    pts = dft_lp_stationary_points(X, y, 3, n_random=2, seed=0)
    best = pts[0]
    assert best.objective == pytest.approx(1 / 0.7, rel=1e-6)
    np.testing.assert_allclose(best.beta, np.ones(4) / 1.4, atol=1e-6)
    assert best.residual <= 1e-6
    for q in pts:  # every reported point is feasible with smallest margin 1
        assert np.min(y[:, None] * X @ q.beta) == pytest.approx(1.0, rel=1e-9)


def test_depth_two_stationary_point_is_the_convex_solution():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((4, 6))
    y = np.sign(X @ rng.standard_normal(6))
    (pt,) = dft_lp_stationary_points(X, y, 2, n_random=0)
    sol = dft_l1_max_margin(X, y)
    assert pt.objective == pytest.approx(sol.objective, rel=1e-6) and pt.residual <= 1e-6


def test_docstring_examples_run():
    import doctest

    from implicit_bias.theory import linear_conv

    res = doctest.testmod(linear_conv)
    assert res.attempted >= 4 and res.failed == 0
