"""Tests of implicit_bias.theory.margins (montufar2024 Thms 3-4, vardi2022 §3.1, §3.4).

Oracles: hand-solved cases (derivations in comments), the KKT conditions checked with
scipy.optimize.nnls (solver-free), an independent LP through scipy.optimize.linprog, and for
the polynomial-tail direction cvxpy and scipy.optimize.minimize (independent of the Newton
route in the library).
"""

from __future__ import annotations

import dataclasses
import doctest
import math
import warnings

import cvxpy as cp
import numpy as np
import pytest
from scipy.optimize import linprog, minimize, nnls

import implicit_bias  # noqa: F401  (float64 in JAX)
from implicit_bias.theory import margins
from implicit_bias.theory.margins import MaxMargin, max_margin, normalized_margin, polynomial_tail_direction

SQ2 = math.sqrt(2.0)


def _random_separable(seed, N=10, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, d))
    y = np.sign(X @ rng.standard_normal(d))
    return X, y


def _check_solution(sol, X, y, p):
    """Invariants every MaxMargin must satisfy."""
    Z = y[:, None] * X
    m = Z @ sol.w
    assert isinstance(sol, MaxMargin)
    assert sol.w.shape == (X.shape[1],) and sol.w.dtype == np.float64
    assert np.min(m) >= 1.0 - 1e-12  # constraints hold (polished), relative to margin 1
    assert abs(np.min(m) - 1.0) < 1e-12
    np.testing.assert_allclose(sol.margin, 1.0 / np.linalg.norm(sol.w, ord=p), rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(sol.direction), 1.0, rtol=1e-14)
    np.testing.assert_allclose(sol.direction, sol.w / np.linalg.norm(sol.w), rtol=1e-14)
    np.testing.assert_array_equal(sol.support, m <= 1.0 + 1e-6)
    assert sol.support.dtype == bool and sol.support.shape == (X.shape[0],)


# ----------------------------------------------------------------------------------------
# Hand-solved max-margin cases
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm,p", [("l2", 2), ("l1", 1), ("linf", np.inf), (3.0, 3), ("lp:1.5", 1.5)])
def test_two_points_on_a_line(norm, p):
    # x = (1,0), y = +1 and x = (-1,0), y = -1: both constraints read w1 >= 1, so w = (1, 0)
    # in every norm, margin 1, both points are support vectors. Exception: linf, where any
    # w = (1, s) with |s| <= 1 has ||w||_inf = 1 (non-unique; the LP returns a vertex).
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    y = np.array([1.0, -1.0])
    sol = max_margin(X, y, norm)
    if p == np.inf:
        assert sol.w[0] == pytest.approx(1.0, rel=1e-12) and abs(sol.w[1]) <= 1.0 + 1e-12
    else:
        np.testing.assert_allclose(sol.w, [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(sol.margin, 1.0, rtol=1e-9)
    np.testing.assert_array_equal(sol.support, [True, True])
    _check_solution(sol, X, y, p)


def test_symmetric_four_points_l2():
    # (2,1), (1,2) with y = +1 and their negatives with y = -1. By the symmetry w1 <-> w2 the
    # l2 solution is w = (a, a) with 3a = 1: w = (1/3, 1/3), ||w|| = sqrt(2)/3, margin
    # 3/sqrt(2), direction (1,1)/sqrt(2); every point has margin exactly 1.
    X = np.array([[2.0, 1.0], [1.0, 2.0], [-2.0, -1.0], [-1.0, -2.0]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    sol = max_margin(X, y)
    np.testing.assert_allclose(sol.w, [1 / 3, 1 / 3], rtol=1e-12)
    np.testing.assert_allclose(sol.direction, [1 / SQ2, 1 / SQ2], rtol=1e-12)
    np.testing.assert_allclose(sol.margin, 3 / SQ2, rtol=1e-12)
    assert sol.support.all() and sol.norm == "l2"
    _check_solution(sol, X, y, 2)


@pytest.mark.parametrize(
    "norm,p,w_expected,margin_expected",
    [
        # One constraint x^T w >= 1 with x = (2, 1): by Hoelder the max margin is the dual norm
        # of x, attained at w = sign(x)|x|^{q-1} / ||x||_q^q (q the dual exponent).
        ("l1", 1, [0.5, 0.0], 2.0),  # ||x||_inf = 2, w = e_1 / 2 (sparse)
        ("l2", 2, [0.4, 0.2], math.sqrt(5.0)),  # w = x / ||x||^2
        ("linf", np.inf, [1 / 3, 1 / 3], 3.0),  # ||x||_1 = 3, w = sign(x) / 3
        ("lp:3", 3, np.array([2.0, 1.0]) ** 0.5 / (2**1.5 + 1), (2**1.5 + 1) ** (2 / 3)),  # q = 3/2
    ],
)
def test_single_point_dual_norms(norm, p, w_expected, margin_expected):
    X = np.array([[2.0, 1.0], [-2.0, -1.0]])
    y = np.array([1.0, -1.0])
    sol = max_margin(X, y, norm)
    np.testing.assert_allclose(sol.w, w_expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sol.margin, margin_expected, rtol=1e-9)
    _check_solution(sol, X, y, p)


def test_l1_sparse_and_different_from_l2():
    # x1 = (3, 2), x2 = (2, -1), both y = +1.
    # l1: Hoelder on x2 gives 1 <= 2 w1 - w2 <= ||x2||_inf ||w||_1 = 2 ||w||_1, so
    #     ||w||_1 >= 1/2, with equality only for w = (1/2, 0); it has x1-margin 3/2 >= 1. So the
    #     l1 solution is the sparse (1/2, 0), l1 margin 2, only x2 is a support vector.
    # l2: with only x2 active, w = x2/5 = (2/5, -1/5) has x1-margin 4/5 < 1, so both are
    #     active: 3w1 + 2w2 = 1, 2w1 - w2 = 1 -> w = (3/7, -1/7), w = a x1 + b x2 with
    #     a = 1/49, b = 9/49 > 0 (KKT), l2 margin 7/sqrt(10).
    # linf: w1 <= t and both constraints increase in w1, so w1 = t; then
    #     (1 - 3t)/2 <= w2 <= 2t - 1 needs t >= 3/7: w = (3/7, -1/7), linf margin 7/3.
    X = np.array([[3.0, 2.0], [2.0, -1.0]])
    y = np.array([1.0, 1.0])
    l1 = max_margin(X, y, "l1")
    np.testing.assert_allclose(l1.w, [0.5, 0.0], atol=1e-12)
    assert l1.w[1] == 0.0  # exactly sparse (an LP vertex)
    np.testing.assert_allclose(l1.margin, 2.0, rtol=1e-12)
    np.testing.assert_array_equal(l1.support, [False, True])
    l2 = max_margin(X, y, "l2")
    np.testing.assert_allclose(l2.w, [3 / 7, -1 / 7], rtol=1e-12)
    np.testing.assert_allclose(l2.margin, 7 / math.sqrt(10), rtol=1e-12)
    np.testing.assert_array_equal(l2.support, [True, True])
    alpha, rnorm = nnls(X.T * y, l2.w)
    np.testing.assert_allclose(alpha, [1 / 49, 9 / 49], rtol=1e-10)
    assert l1.direction @ l2.direction < 0.99
    linf = max_margin(X, y, "linf")
    np.testing.assert_allclose(linf.w, [3 / 7, -1 / 7], rtol=1e-12)
    np.testing.assert_allclose(linf.margin, 7 / 3, rtol=1e-12)
    for sol, p in ((l1, 1), (l2, 2), (linf, np.inf)):
        _check_solution(sol, X, y, p)


# ----------------------------------------------------------------------------------------
# Random data: independent oracles
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_general_p_route_at_p2_equals_qp(seed):
    X, y = _random_separable(seed, N=20, d=5)
    qp = max_margin(X, y, "l2")
    for norm in ("lp:2", 2.0, 2):
        gen = max_margin(X, y, norm)
        assert gen.norm == "lp:2"
        np.testing.assert_allclose(gen.w, qp.w, rtol=1e-10, atol=1e-12)
        np.testing.assert_array_equal(gen.support, qp.support)
    # p = 1 and inf given as numbers reach the same LPs as the names.
    np.testing.assert_allclose(max_margin(X, y, 1).margin, max_margin(X, y, "l1").margin, rtol=1e-10)
    np.testing.assert_allclose(max_margin(X, y, math.inf).margin, max_margin(X, y, "linf").margin, rtol=1e-10)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("norm,p", [("l2", 2), ("l1", 1), ("linf", np.inf), ("lp:3", 3), (1.5, 1.5)])
def test_margin_equals_normalized_margin_and_is_maximal(seed, norm, p):
    X, y = _random_separable(seed)
    sol = max_margin(X, y, norm)
    _check_solution(sol, X, y, p)
    np.testing.assert_allclose(normalized_margin(X, y, sol.w, norm), sol.margin, rtol=1e-12)
    np.testing.assert_allclose(normalized_margin(X, y, sol.direction, norm), sol.margin, rtol=1e-12)
    # No other separator does better in this norm: the other norms' solutions, random
    # perturbations of the solution.
    rng = np.random.default_rng(100 + seed)
    others = [max_margin(X, y, n).w for n in ("l1", "l2", "linf")]
    others += [sol.w + 1e-3 * rng.standard_normal(X.shape[1]) for _ in range(20)]
    for w in others:
        assert normalized_margin(X, y, w, norm) <= sol.margin * (1 + 1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_l2_kkt_with_nnls(seed):
    # KKT of min ||w||^2/2 s.t. Z w >= 1: w = Z^T alpha, alpha >= 0, alpha_n = 0 off the
    # active set. Fit alpha >= 0 on the support columns only: the residual must vanish.
    X, y = _random_separable(seed, N=15, d=4)
    sol = max_margin(X, y)
    Z = y[:, None] * X
    S = sol.support
    alpha, rnorm = nnls(Z[S].T, sol.w)
    assert rnorm < 1e-10 * np.linalg.norm(sol.w)
    assert np.all(Z[~S] @ sol.w > 1.0 + 1e-6)
    np.testing.assert_allclose(Z[S] @ sol.w, 1.0, atol=1e-12)
    # Complementary slackness from the other side: 1/margin^2 = ||w||^2 = sum(alpha).
    np.testing.assert_allclose(np.sum(alpha), sol.w @ sol.w, rtol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_lp3_kkt_with_nnls(seed):
    # KKT of min ||w||_p^p/p s.t. Z w >= 1: sign(w)|w|^{p-1} = Z_S^T alpha, alpha >= 0.
    X, y = _random_separable(seed, N=12, d=4)
    sol = max_margin(X, y, "lp:3")
    Z = y[:, None] * X
    g = np.sign(sol.w) * np.abs(sol.w) ** 2
    alpha, rnorm = nnls(Z[sol.support].T, g)
    assert rnorm < 1e-9 * np.linalg.norm(g)


@pytest.mark.parametrize("seed", range(3))
def test_l1_value_matches_scipy_linprog(seed):
    # Independent LP: w = u - v, u, v >= 0, min 1^T(u + v) s.t. Z(u - v) >= 1.
    X, y = _random_separable(seed, N=12, d=5)
    Z = y[:, None] * X
    d = X.shape[1]
    res = linprog(np.ones(2 * d), A_ub=-np.hstack([Z, -Z]), b_ub=-np.ones(len(y)), bounds=(0, None), method="highs")
    assert res.status == 0
    sol = max_margin(X, y, "l1")
    np.testing.assert_allclose(np.abs(sol.w).sum(), res.fun, rtol=1e-9)


# ----------------------------------------------------------------------------------------
# Errors, stdout, dataclass
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm", ["l2", "l1", "linf", "lp:3"])
def test_non_separable_raises(norm):
    X = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])  # XOR
    y = np.array([1.0, 1.0, -1.0, -1.0])
    with pytest.raises(ValueError, match="not linearly separable"):
        max_margin(X, y, norm)
    with pytest.raises(ValueError, match="not linearly separable"):
        polynomial_tail_direction(X, y, 2)


def test_label_and_input_errors():
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    with pytest.raises(ValueError, match=r"y must contain only the labels -1 and \+1"):
        max_margin(X, np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"labels -1 and \+1"):
        normalized_margin(X, np.array([2.0, -1.0]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"labels -1 and \+1"):
        polynomial_tail_direction(X, np.array([1.0, 0.5]), 1)
    with pytest.raises(ValueError, match="y has 3 entries but X has 2 rows"):
        max_margin(X, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match=r"X must be 2-D \(N, d\); received shape \(2,\)"):
        max_margin(np.array([1.0, 2.0]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="X contains NaN or Inf"):
        max_margin(np.array([[np.nan, 0.0], [-1.0, 0.0]]), np.array([1.0, -1.0]))
    for bad in ("l3", "lp:x", 0.5, "lp:0.9", None, True):
        with pytest.raises(ValueError, match="norm must be"):
            max_margin(X, np.array([1.0, -1.0]), bad)
    with pytest.raises(ValueError, match="w must be nonzero"):
        normalized_margin(X, np.array([1.0, -1.0]), np.zeros(2))
    with pytest.raises(ValueError, match=r"w must have shape \(2,\)"):
        normalized_margin(X, np.array([1.0, -1.0]), np.zeros(3))
    for k in (0, -1.0, np.inf, "2"):
        with pytest.raises(ValueError, match="k must be a finite number > 0"):
            polynomial_tail_direction(X, np.array([1.0, -1.0]), k)


def test_no_solver_output_on_stdout(capfd):
    X, y = _random_separable(0)
    for norm in ("l1", "linf", "l2", "lp:3"):
        max_margin(X, y, norm)
    with pytest.raises(ValueError):
        max_margin(np.array([[1.0], [1.0]]), np.array([1.0, -1.0]), "l1")
    out, _ = capfd.readouterr()
    assert out == ""
    print("still here")  # stdout works again afterwards
    out, _ = capfd.readouterr()
    assert out == "still here\n"


def test_result_is_frozen_and_read_only():
    X, y = _random_separable(1)
    sol = max_margin(X, y)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sol.margin = 2.0
    with pytest.raises(ValueError):
        sol.w[0] = 1.0


def test_normalized_margin_hand_values():
    X = np.array([[2.0, 1.0], [0.0, -1.0]])
    y = np.array([1.0, -1.0])
    w = np.array([3.0, 4.0])  # margins 10 and 4; norms: l2 5, l1 7, linf 4, l3 91^(1/3)
    assert normalized_margin(X, y, w) == pytest.approx(4 / 5, rel=1e-15)
    assert normalized_margin(X, y, w, "l1") == pytest.approx(4 / 7, rel=1e-15)
    assert normalized_margin(X, y, w, "linf") == pytest.approx(1.0, rel=1e-15)
    assert normalized_margin(X, y, w, 3) == pytest.approx(4 / 91 ** (1 / 3), rel=1e-14)
    assert normalized_margin(X, y, w, "lp:3") == pytest.approx(4 / 91 ** (1 / 3), rel=1e-14)
    assert normalized_margin(X, y, 7.5 * w) == pytest.approx(4 / 5, rel=1e-15)  # scale-free
    assert normalized_margin(X, y, -w) == pytest.approx(-2.0, rel=1e-15)  # misclassified


# ----------------------------------------------------------------------------------------
# Polynomial tails
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [0.5, 1, 2, 7])
def test_polynomial_direction_symmetric_case(k):
    # x = (1,0), (0,1), both y = +1: the objective u1^{-k} + u2^{-k} is symmetric and convex,
    # so the minimiser on the unit circle is (1,1)/sqrt(2) -- also the l2 max-margin direction
    # (both points are support vectors).
    X = np.eye(2)
    y = np.ones(2)
    u = polynomial_tail_direction(X, y, k)
    np.testing.assert_allclose(u, [1 / SQ2, 1 / SQ2], rtol=1e-12)
    np.testing.assert_allclose(u, max_margin(X, y).direction, rtol=1e-12)


@pytest.mark.parametrize("k", [0.5, 1, 3])
def test_polynomial_direction_asymmetric_hand_case(k):
    # x = (1,0), (0,2), y = +1: minimise u1^{-k} + (2 u2)^{-k} on the circle. Lagrange:
    # k u1^{-k-1} = lam u1 and k 2^{-k} u2^{-k-1} = lam u2, so (u2/u1)^{k+2} = 2^{-k}:
    # u2/u1 = 2^{-k/(k+2)}. The l2 max-margin w = (1, 1/2) has u2/u1 = 1/2 (the k -> inf limit).
    X = np.array([[1.0, 0.0], [0.0, 2.0]])
    y = np.ones(2)
    u = polynomial_tail_direction(X, y, k)
    ratio = 2.0 ** (-k / (k + 2))
    np.testing.assert_allclose(u, np.array([1.0, ratio]) / math.hypot(1.0, ratio), rtol=1e-12)


def _poly_objective(Z, k):
    """f(v) = sum_n (z_n^T v / ||v||)^{-k} (scale-invariant) and its gradient."""

    def f(v):
        m = Z @ (v / np.linalg.norm(v))
        return np.inf if np.any(m <= 0) else float(np.sum(m ** (-k)))

    def grad(v):
        nv = np.linalg.norm(v)
        u = v / nv
        m = Z @ u
        if np.any(m <= 0):
            return np.full_like(v, np.nan)
        gu = -k * Z.T @ (m ** (-k - 1))
        return (gu - u * (u @ gu)) / nv  # chain rule through u = v / ||v||

    return f, grad


@pytest.mark.parametrize("seed", range(3))
def test_polynomial_direction_random_data(seed):
    X, y = _random_separable(seed, N=10, d=3)
    Z = y[:, None] * X
    k = 1.0
    u = polynomial_tail_direction(X, y, k)
    assert u.shape == (3,)
    np.testing.assert_allclose(np.linalg.norm(u), 1.0, rtol=1e-15)
    assert np.all(Z @ u > 0)
    l2dir = max_margin(X, y).direction
    assert u @ l2dir < 0.9999  # polynomial tails do not give the max-margin direction
    # Stationary point: scipy (BFGS on the scale-invariant objective, analytic gradient)
    # from a perturbed start lands on the same direction.
    f, grad = _poly_objective(Z, k)
    rng = np.random.default_rng(seed)
    gamma = np.min(Z @ u)
    for _ in range(3):
        e = rng.standard_normal(3)
        v0 = u + 0.3 * gamma * e / np.linalg.norm(e) / np.linalg.norm(Z, axis=1).max()
        assert np.isfinite(f(v0)) and np.linalg.norm(v0 / np.linalg.norm(v0) - u) > 1e-3
        res = minimize(f, v0, jac=grad, method="BFGS", options={"gtol": 1e-13, "maxiter": 2000})
        v = res.x / np.linalg.norm(res.x)
        np.testing.assert_allclose(v, u, atol=1e-5)
        assert f(u) <= f(v) * (1 + 1e-12)
    # First-order condition on the sphere, solver-free: the gradient is normal to the sphere.
    g = -k * Z.T @ ((Z @ u) ** (-k - 1))
    assert np.linalg.norm(g - u * (u @ g)) < 1e-12 * np.linalg.norm(g)
    # cvxpy on the definition: argmin over the unit ball. Clarabel at 1e-12 tolerances
    # (it reports "optimal_inaccurate") agrees to ~1e-8; default tolerances only to ~3e-5.
    wv = cp.Variable(3)
    prob = cp.Problem(cp.Minimize(cp.sum(cp.power(Z @ wv, -k))), [cp.norm(wv, 2) <= 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    np.testing.assert_allclose(wv.value, u, atol=1e-6)


def test_polynomial_direction_tends_to_max_margin_for_large_k():
    X, y = _random_separable(0, N=10, d=3)
    l2dir = max_margin(X, y).direction
    cos = [polynomial_tail_direction(X, y, k) @ l2dir for k in (1, 10, 100, 1000)]
    assert all(a < b for a, b in zip(cos, cos[1:]))
    assert cos[-1] > 1 - 1e-6


def test_docstring_examples():
    result = doctest.testmod(margins, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
