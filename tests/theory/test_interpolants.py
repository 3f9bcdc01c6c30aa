"""Tests of implicit_bias.theory.interpolants (montufar2024 Thms 1-2, vardi2022 §4.1).

Oracles, from strongest to weakest:
* closed forms derived by hand (tolerance 1e-10 / 1e-12);
* the KKT conditions, solver-free: X w = y and grad psi(w) - grad psi(w0) in the row space
  of X (tolerance 1e-10 relative);
* tiny NumPy (mirror) descent loops written here, checking the theorems themselves;
* cvxpy + Clarabel on random problems (N=5, d=12). Clarabel is the less accurate party: with
  tolerances 1e-12 it often reports "optimal_inaccurate" and agrees with our Newton solutions
  to ~1e-9 typically but only ~1e-5 in the worst of ~50 trials (our KKT residuals are ~1e-16).
  So the distance test uses rtol 2e-5, and we also require our Bregman objective to be no
  worse than the oracle's (to 1e-9 relative), which does not depend on the oracle's accuracy.
"""

from __future__ import annotations

import doctest
import warnings

import cvxpy as cp
import numpy as np
import pytest

import implicit_bias  # noqa: F401  (float64 in JAX)
from implicit_bias.potentials import NegativeEntropy, PNorm, SquaredL2, get_potential
from implicit_bias.theory import interpolants
from implicit_bias.theory.interpolants import bregman_interpolant, min_distance_interpolant

CLARABEL_TIGHT = dict(tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)


def _np(a):
    return np.asarray(a, dtype=np.float64)


def _rowspace_residual(X, v):
    """||v - P_row(X) v|| / ||v||: 0 iff v is in the row space of X."""
    Q, _ = np.linalg.qr(X.T)
    nv = np.linalg.norm(v)
    return 0.0 if nv == 0 else float(np.linalg.norm(v - Q @ (Q.T @ v)) / nv)


def _random_problem(seed, N=5, d=12, positive=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    w_true = rng.uniform(0.1, 2.0, d) if positive else rng.standard_normal(d)
    return X, X @ w_true, rng


# ----------------------------------------------------------------------------------------
# Hand-solved cases
# ----------------------------------------------------------------------------------------


def test_one_equation_in_2d_closed_form():
    # One equation x^T w = y in R^2: w = w0 + x (y - x^T w0) / ||x||^2.
    x = np.array([3.0, 4.0])
    w0 = np.array([1.0, -1.0])
    y = 10.0
    expected = w0 + x * (y - x @ w0) / (x @ x)  # = (1 + 33/25, -1 + 44/25)
    np.testing.assert_allclose(expected, [1.0 + 33 / 25, -1.0 + 44 / 25], rtol=0, atol=1e-15)
    w = min_distance_interpolant(x[None, :], np.array([y]), w0)
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-12)
    # Same answer from the Bregman route with the quadratic potential.
    wb = bregman_interpolant(x[None, :], np.array([y]), "quadratic", w0)
    np.testing.assert_allclose(wb, expected, rtol=1e-12, atol=1e-12)


def test_orthogonal_complement_of_rows_is_untouched():
    # Moving w0 by v orthogonal to the rows moves the solution by exactly v.
    x = np.array([[3.0, 4.0]])
    w0 = np.array([1.0, -1.0])
    v = np.array([4.0, -3.0]) * 0.7  # x v = 0
    w_a = min_distance_interpolant(x, np.array([10.0]), w0)
    w_b = min_distance_interpolant(x, np.array([10.0]), w0 + v)
    np.testing.assert_allclose(w_b - w_a, v, rtol=0, atol=1e-12)
    # And in higher dimension: zero columns of X keep w0 exactly.
    X = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0]])
    w0 = np.array([0.3, -0.2, 5.0])
    w = min_distance_interpolant(X, np.array([1.0, 2.0]), w0)
    assert w[2] == 5.0
    np.testing.assert_allclose(X @ w, [1.0, 2.0], atol=1e-13)


def test_min_norm_default_and_square_system():
    X = np.array([[1.0, 1.0]])
    np.testing.assert_allclose(min_distance_interpolant(X, np.array([2.0])), [1.0, 1.0], atol=1e-15)
    # Square invertible X: the interpolant is unique, w0 is irrelevant.
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    y = np.array([1.0, 2.0])
    sol = np.linalg.solve(A, y)
    np.testing.assert_allclose(min_distance_interpolant(A, y, np.array([9.0, -9.0])), sol, atol=1e-14)
    for pot in ("quadratic", "lp:3", "lp:1.5"):
        np.testing.assert_allclose(bregman_interpolant(A, y, pot, np.array([9.0, -9.0])), sol, atol=1e-12)


def test_entropy_single_equation_is_a_rescaling():
    # KL projection of w0 onto {sum(w) = s}: w = w0 * exp(nu) = w0 * s / sum(w0).
    w0 = np.array([0.5, 1.0, 2.5])
    w = bregman_interpolant(np.ones((1, 3)), np.array([8.0]), "entropy", w0)
    np.testing.assert_allclose(w, w0 * 8.0 / 4.0, rtol=1e-12)


def test_entropy_default_start_is_ones():
    X = np.array([[1.0, 2.0, 3.0]])
    y = np.array([12.0])
    w = bregman_interpolant(X, y, "entropy")
    # Hand: w_i = exp(nu x_i) with sum x_i exp(nu x_i) = 12; solve the scalar equation.
    nu = 0.0
    for _ in range(100):  # scalar Newton
        f = np.sum(X[0] * np.exp(nu * X[0])) - 12.0
        nu -= f / np.sum(X[0] ** 2 * np.exp(nu * X[0]))
    np.testing.assert_allclose(w, np.exp(nu * X[0]), rtol=1e-12)
    np.testing.assert_allclose(w, bregman_interpolant(X, y, NegativeEntropy(), np.ones(3)), rtol=1e-14)


@pytest.mark.parametrize("p", [1.5, 3.0, 10.0])
def test_pnorm_single_equation_from_zero(p):
    # min ||w||_p^p / p s.t. x^T w = y from w0 = 0: grad psi(w) = nu x, so
    # w_i = sign(nu x_i) |nu x_i|^{1/(p-1)}, and x^T w = y fixes nu (here y > 0, nu > 0).
    x = np.array([1.0, -2.0, 0.5, 3.0])
    y = 2.0
    q = 1.0 / (p - 1.0)
    direction = np.sign(x) * np.abs(x) ** q
    expected = direction * y / (x @ direction)
    w = bregman_interpolant(x[None, :], np.array([y]), f"lp:{p}")
    np.testing.assert_allclose(w, expected, rtol=1e-11, atol=1e-13)


# ----------------------------------------------------------------------------------------
# Random problems: closed form, KKT and cvxpy oracles
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_min_distance_matches_pinv_and_quadratic_bregman(seed):
    X, y, rng = _random_problem(seed)
    w0 = rng.standard_normal(X.shape[1])
    w = min_distance_interpolant(X, y, w0)
    np.testing.assert_allclose(w, w0 + np.linalg.pinv(X) @ (y - X @ w0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(X @ w, y, rtol=1e-12, atol=1e-12)
    assert _rowspace_residual(X, w - w0) < 1e-12
    np.testing.assert_allclose(bregman_interpolant(X, y, SquaredL2(), w0), w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bregman_interpolant(X, y, "quadratic", w0), w, rtol=1e-10, atol=1e-12)


def test_min_distance_rank_deficient_consistent():
    rng = np.random.default_rng(7)
    B = rng.standard_normal((3, 8))
    X = np.vstack([B, B[0] + 2 * B[1]])  # 4 rows, rank 3
    y = X @ rng.standard_normal(8)
    w0 = rng.standard_normal(8)
    w = min_distance_interpolant(X, y, w0)
    np.testing.assert_allclose(w, w0 + np.linalg.pinv(X) @ (y - X @ w0), rtol=1e-10, atol=1e-12)
    for pot in ("quadratic", "lp:3", "lp:1.5"):
        wb = bregman_interpolant(X, y, pot, w0)
        np.testing.assert_allclose(X @ wb, y, rtol=1e-10, atol=1e-10)


def _kkt_ok(X, y, w, w0, pot, tol=1e-10):
    pot = get_potential(pot)
    np.testing.assert_allclose(X @ w, y, rtol=tol, atol=tol * max(1.0, np.linalg.norm(y)))
    dz = _np(pot.grad(w)) - _np(pot.grad(w0))
    assert _rowspace_residual(X, dz) < tol


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("pot", ["quadratic", "entropy", "lp:3", "lp:1.5", "lp:1.2", "lp:10"])
def test_kkt_conditions(seed, pot):
    X, y, rng = _random_problem(seed, positive=(pot == "entropy"))
    d = X.shape[1]
    starts = [None, rng.uniform(0.1, 3.0, d) if pot == "entropy" else rng.standard_normal(d)]
    for w0 in starts:
        w = bregman_interpolant(X, y, pot, w0)
        assert w.shape == (d,) and w.dtype == np.float64 and isinstance(w, np.ndarray)
        w0_eff = (np.ones(d) if pot == "entropy" else np.zeros(d)) if w0 is None else w0
        _kkt_ok(X, y, w, w0_eff, pot)
        if pot == "entropy":
            assert np.all(w > 0)


def _breg(pot, w, w0):
    return float(get_potential(pot).bregman(w, w0))


@pytest.mark.parametrize("seed", range(3))
def test_entropy_matches_cvxpy(seed):
    X, y, rng = _random_problem(seed, positive=True)
    w0 = rng.uniform(0.2, 2.0, X.shape[1])
    w = bregman_interpolant(X, y, "entropy", w0)
    v = cp.Variable(X.shape[1])
    prob = cp.Problem(cp.Minimize(cp.sum(cp.rel_entr(v, w0) - v + w0)), [X @ v == y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "solution may be inaccurate" at 1e-12 tolerances
        prob.solve(solver=cp.CLARABEL, **CLARABEL_TIGHT)
    assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    np.testing.assert_allclose(w, v.value, rtol=2e-5, atol=2e-5 * np.linalg.norm(w))
    assert _breg("entropy", w, w0) <= _breg("entropy", v.value, w0) + 1e-9 * (1 + abs(prob.value))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("p", [3.0, 1.5])
@pytest.mark.parametrize("zero_start", [True, False])
def test_pnorm_matches_cvxpy(seed, p, zero_start):
    X, y, rng = _random_problem(seed)
    w0 = np.zeros(X.shape[1]) if zero_start else rng.standard_normal(X.shape[1])
    w = bregman_interpolant(X, y, PNorm(p), None if zero_start else w0)
    g0 = np.sign(w0) * np.abs(w0) ** (p - 1)  # grad psi(w0)
    v = cp.Variable(X.shape[1])
    objective = cp.sum(cp.power(cp.abs(v), p)) / p - g0 @ v  # D_psi(v, w0) + const
    prob = cp.Problem(cp.Minimize(objective), [X @ v == y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver=cp.CLARABEL, **CLARABEL_TIGHT)
    assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    np.testing.assert_allclose(w, v.value, rtol=2e-5, atol=2e-5 * np.linalg.norm(w))
    assert _breg(PNorm(p), w, w0) <= _breg(PNorm(p), v.value, w0) + 1e-9 * (1 + abs(prob.value))


# ----------------------------------------------------------------------------------------
# The theorems themselves: tiny descent loops written here (not the library's training code)
# ----------------------------------------------------------------------------------------


def test_gradient_descent_converges_to_min_distance_interpolant():
    # montufar2024 Thm 1: GD on 1/2 ||Xw - y||^2 from w0 -> argmin ||w - w0|| s.t. Xw = y.
    X, y, rng = _random_problem(11, N=3, d=6)
    w0 = rng.standard_normal(6)
    w = w0.copy()
    eta = 1.0 / np.linalg.norm(X, 2) ** 2
    for _ in range(20000):
        w -= eta * X.T @ (X @ w - y)
    np.testing.assert_allclose(w, min_distance_interpolant(X, y, w0), rtol=1e-9, atol=1e-9)


# Mirror maps written out in NumPy (fast loops, and independent of potentials.py).
_MIRROR = {
    "entropy": (np.log, np.exp),
    "lp:3": (lambda w: np.sign(w) * w**2, lambda z: np.sign(z) * np.sqrt(np.abs(z))),
    "lp:1.5": (lambda w: np.sign(w) * np.sqrt(np.abs(w)), lambda z: np.sign(z) * z**2),
}


@pytest.mark.parametrize("pot", sorted(_MIRROR))
def test_mirror_descent_converges_to_bregman_interpolant(pot):
    # montufar2024 Thm 2: grad psi(w_{t+1}) = grad psi(w_t) - eta X^T (X w_t - y).
    X, y, rng = _random_problem(12, N=3, d=6, positive=True)
    grad, grad_inv = _MIRROR[pot]
    w0 = rng.uniform(0.5, 1.5, 6)
    z = grad(w0)
    eta = 0.05 / np.linalg.norm(X, 2) ** 2
    for _ in range(20000):
        z = z - eta * X.T @ (X @ grad_inv(z) - y)
    w = grad_inv(z)
    assert np.linalg.norm(X @ w - y) < 1e-9
    np.testing.assert_allclose(w, bregman_interpolant(X, y, pot, w0), rtol=1e-8, atol=1e-8)


# ----------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------


def test_errors_shapes_and_values():
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match=r"X must be 2-D \(N, d\); received shape \(3,\)"):
        min_distance_interpolant(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="y has 4 entries but X has 5 rows"):
        min_distance_interpolant(X, np.ones(4))
    with pytest.raises(ValueError, match=r"y must be 1-D"):
        bregman_interpolant(X, np.ones((5, 1)), "quadratic")
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or Inf"):
        bregman_interpolant(Xn, np.ones(5), "quadratic")
    with pytest.raises(ValueError, match="y contains NaN or Inf"):
        min_distance_interpolant(X, np.array([1.0, 1.0, np.inf, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"w0 must have shape \(3,\)"):
        min_distance_interpolant(X, np.ones(5), np.ones(2))
    with pytest.raises(ValueError, match="X must have at least one row"):
        min_distance_interpolant(np.ones((0, 3)), np.ones(0))
    with pytest.raises(ValueError, match="X must be a real numeric array"):
        min_distance_interpolant([["a", "b"]], np.ones(1))
    with pytest.raises(ValueError, match="unknown potential"):
        bregman_interpolant(X, np.ones(5), "banana")
    with pytest.raises(ValueError, match="tol must be a positive"):
        bregman_interpolant(X, np.ones(5), "quadratic", tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be an integer"):
        bregman_interpolant(X, np.ones(5), "quadratic", max_iter=0)


def test_errors_domain_and_no_interpolant():
    X = np.array([[1.0, 1.0]])
    with pytest.raises(ValueError, match=r"w0 must lie in the domain.*entries > 0"):
        bregman_interpolant(X, np.array([1.0]), "entropy", np.array([1.0, 0.0]))
    # Entropy needs w > 0: w1 + w2 = -1 is unreachable, and w1 = 0 is on the boundary.
    with pytest.raises(ValueError, match="no interpolant"):
        bregman_interpolant(X, np.array([-1.0]), "entropy")
    with pytest.raises(ValueError, match="no interpolant"):
        bregman_interpolant(np.array([[1.0, 0.0]]), np.array([0.0]), "entropy")
    # y not in the range of X (inconsistent over-determined system).
    Xo = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    yo = np.array([1.0, 1.0, 3.0])
    with pytest.raises(ValueError, match="no interpolant"):
        min_distance_interpolant(Xo, yo)
    for pot in ("quadratic", "entropy", "lp:3", "lp:1.5"):
        with pytest.raises(ValueError, match="no interpolant"):
            bregman_interpolant(Xo, yo, pot)
    with pytest.raises(ValueError, match="no interpolant"):
        min_distance_interpolant(np.zeros((2, 3)), np.array([1.0, 0.0]))
    # X = 0, y = 0: every w interpolates; the closest is w0.
    np.testing.assert_array_equal(min_distance_interpolant(np.zeros((2, 3)), np.zeros(2), np.ones(3)), np.ones(3))
    np.testing.assert_array_equal(bregman_interpolant(np.zeros((2, 3)), np.zeros(2), "entropy"), np.ones(3))


def test_potential_names_and_objects_agree():
    X, y, rng = _random_problem(3)
    np.testing.assert_allclose(bregman_interpolant(X, y, "lp:3"), bregman_interpolant(X, y, PNorm(3.0)), rtol=1e-14)


def test_docstring_examples():
    result = doctest.testmod(interpolants, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
