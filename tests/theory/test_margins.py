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


# ========================================================================================
# moroshko2020: the Q^D_mu max-margin and its path, l_{2/D} stationary points, Lemma 3
# ========================================================================================
#
# Every Q_mu solve below uses data of shape (N, d) = (4, 3) (duplicated rows where a case has
# fewer samples: a duplicate changes neither the primal nor w, only splits the multipliers),
# so that the jitted dual solver compiles once per kind (D = 2, D > 2); see _qmu_solve.

from implicit_bias.theory.margins import (  # noqa: E402
    L2DStationaryPoint,
    QMuMaxMargin,
    QMuPath,
    l2d_stationarity,
    l2d_stationary_points,
    lemma3_loss_bound,
    q_mu_max_margin,
    q_mu_path,
    solve_q_mu_max_margin,
)
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

# Dataset A: unique l1 max-margin (0, -1/3, 1/9) with the same support {0, 1, 3} as the l2
# max-margin (2, -7, 5)/27; the last row duplicates the first, the third has label -1.
XA = np.array([[-1.0, -2.0, 3.0], [3.0, -3.0, 0.0], [-2.0, 3.0, -2.0], [-1.0, -2.0, 3.0]])
YA = np.array([1.0, 1.0, -1.0, 1.0])
MUS8 = np.array([3.0, 1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001])


def _h3(s):
    return (1.0 - s) ** -3 - (1.0 + s) ** -3  # moroshko2020 eq. (6), D = 3


def _qmu_cvxpy(Z, mu, D):
    """Independent oracle: the primal with Q^D_mu in its variational (conic) form.

    q^D(z) = (D-2) + min_{a, b >= 0, a - b = z} sum [a + b - (D/2)(a^{2/D} + b^{2/D})] (D > 2),
    q^2(z) = 2 + min_{a - b = z} [a log a - a + b log b - b] (derived in q_mu_max_margin's
    docstring; checked here only through the agreement of two different solvers). Each term
    is written as phi(a) >= 0 with phi(1) = 0 (constants removed), so that the solver's
    relative gap tolerance is meaningful when mu is large and a, b are close to 1.
    """
    d = Z.shape[1]
    w, a, b = cp.Variable(d), cp.Variable(d, nonneg=True), cp.Variable(d, nonneg=True)
    if D == 2:
        phi = lambda v: -cp.entr(v) - v + 1.0  # noqa: E731
    else:
        phi = lambda v: v - (D / 2) * cp.power(v, 2 / D) + (D - 2) / 2  # noqa: E731
    prob = cp.Problem(cp.Minimize(cp.sum(phi(a) + phi(b))), [a - b == w / mu, Z @ w >= 1])
    with margins._quiet_stdout(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12, tol_ktratio=1e-10)
    assert prob.status in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE)
    return np.asarray(w.value)


@pytest.mark.parametrize("D", [2, 3])
def test_q_mu_matches_cvxpy_primal(D):
    # Measured (this data): relative distance to the cvxpy primal 2e-11..9e-8 (D = 2), and for
    # D = 3 3e-5, 1e-6 at mu = 3, 1 (cvxpy's own accuracy: there our objective is the lower
    # one), <= 1e-7 for mu <= 0.3. KKT residuals of our solutions: <= 1.2e-14.
    Z = YA[:, None] * XA
    sol = q_mu_max_margin(XA, YA, MUS8, D)
    assert isinstance(sol, QMuMaxMargin) and sol.w.shape == (8, 3) and sol.multipliers.shape == (8, 4)
    assert np.all(sol.converged) and np.max(sol.kkt_residual) < 1e-11
    from implicit_bias.theory.diagonal import q_woodworth

    for k, mu in enumerate(MUS8):
        wc = _qmu_cvxpy(Z, mu, D)
        rel = np.linalg.norm(wc - sol.w[k]) / np.linalg.norm(sol.w[k])
        assert rel < (1e-6 if (D == 2 or mu <= 0.3) else 1e-4), (mu, rel)
        # objective (independent evaluation, jax q_woodworth): ours is not worse than cvxpy's
        q_ours = float(np.sum(q_woodworth(sol.w[k] / mu, D)))
        q_cvx = float(np.sum(q_woodworth(wc / mu, D)))
        assert q_ours <= q_cvx * (1 + 1e-9) + 1e-300
        np.testing.assert_allclose(sol.objective[k], q_ours, rtol=1e-12)
        assert np.min(Z @ wc) > 1 - 1e-7


def test_q_mu_hand_cases_two_orthogonal_samples():
    # x = e1, e2 (each twice), y = +1: the constraints w1 >= 1, w2 >= 1 bind and q is even and
    # increasing in |z|, so w = (1, 1, 0) for every mu; stationarity gives the multiplier sum of
    # each pair: nu_1 + nu_3 = (q^D)'(1/mu) / mu, i.e. arcsinh(1/(2 mu)) / mu for D = 2 and
    # h_3^{-1}(1/mu) / mu for D = 3 (root of h_3 by brentq).
    X = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 0, 0], [0, 1.0, 0]])
    y = np.ones(4)
    for mu in (10.0, 0.5, 1e-3):
        for D, qprime in ((2, lambda z: math.asinh(z / 2)), (3, lambda z: brentq(lambda t: _h3(t) - z, 0.0, 1.0 - 1e-16, xtol=1e-300, rtol=1e-15))):
            sol = q_mu_max_margin(X, y, mu, D)
            np.testing.assert_allclose(sol.w, [1.0, 1.0, 0.0], atol=1e-13)
            expected = qprime(1.0 / mu) / mu
            nu = sol.multipliers
            np.testing.assert_allclose([nu[0] + nu[2], nu[1] + nu[3]], [expected, expected], rtol=1e-11)
            assert np.all(nu >= 0) and sol.support.all()


@pytest.mark.parametrize("D", [2, 3])
def test_q_mu_hand_case_single_sample(D):
    # One sample z = (1, 2, 0) (four copies, one written as x = -z with y = -1). KKT: w_i =
    # mu h_D(c z_i) with c = mu * (total multiplier) > 0 and z^T w = 1: a scalar root (brentq).
    # h_2 = 2 sinh; h_3 of eq. (6) on |c z_i| < 1, so c < 1/2.
    z = np.array([1.0, 2.0, 0.0])
    X = np.array([z, z, -z, z])
    y = np.array([1.0, 1.0, -1.0, 1.0])
    h = (lambda s: 2 * np.sinh(s)) if D == 2 else _h3
    for mu in (100.0, 1.0, 0.01):
        f = lambda c: float(z @ (mu * h(c * z))) - 1.0  # noqa: E731
        c = brentq(f, 0.0, 50.0 if D == 2 else 0.5 - 1e-15, xtol=1e-300, rtol=1e-15)
        sol = q_mu_max_margin(X, y, mu, D)
        np.testing.assert_allclose(sol.w, mu * h(c * z), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(np.sum(sol.multipliers), c / mu, rtol=1e-10)
    # the two limits: l2 (1, 2)/5 and l1 (0, 1/2)
    np.testing.assert_allclose(q_mu_max_margin(X, y, 1e6, D).w, [0.2, 0.4, 0.0], atol=1e-10)
    np.testing.assert_allclose(q_mu_max_margin(X, y, 1e-12, D).w, [0.0, 0.5, 0.0], atol=1e-6)


def test_q_mu_batch_equals_one_at_a_time_and_core_is_jittable():
    batch = q_mu_max_margin(XA, YA, MUS8, 3)
    for k, mu in enumerate(MUS8):
        one = q_mu_max_margin(XA, YA, mu, 3)
        assert one.w.shape == (3,) and one.mu.shape == ()
        np.testing.assert_allclose(one.w, batch.w[k], rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(one.multipliers, batch.multipliers[k], rtol=1e-11, atol=1e-14)
        assert int(one.iterations) == int(batch.iterations[k])
    # the functional core under the user's own jit(vmap(...)), D = 2
    core = jax.jit(jax.vmap(lambda m: solve_q_mu_max_margin(XA, YA, m, depth=2)))
    raw = core(jnp.asarray(MUS8))
    ref = q_mu_max_margin(XA, YA, MUS8, 2)
    assert raw.w.dtype == jnp.float64 and bool(jnp.all(raw.converged))
    np.testing.assert_allclose(np.asarray(raw.w), ref.w, rtol=1e-12, atol=1e-16)


def test_q_mu_limits_and_measured_rates():
    # mu -> inf: direction error O(mu^-2) (q^D(z) = z^2/(4p) + O(z^4)); measured slope -1.9999
    # for D = 2 and D = 3. mu -> 0: the l1 max-margin; measured slopes of the direction error
    # 1.00 (D = 2) and 1.33 (D = 3) on this data (both data dependent: D = 2 decays like
    # mu^{1 - kappa}, kappa = 0 here; D = 3 like mu, faster when the dual value of the
    # off-support coordinate tends to 0, as here).
    l2 = max_margin(XA, YA)
    l1 = max_margin(XA, YA, "l1")
    wmax = float(np.max(np.abs(l2.w)))
    big = np.geomspace(1e1, 1e3, 8) * wmax
    small = np.geomspace(1e-4, 1e-11, 8) * wmax
    for D, slope_small in ((2, 1.0), (3, 4.0 / 3.0)):
        rb = q_mu_max_margin(XA, YA, big, D)
        dist = np.linalg.norm(rb.direction - l2.direction, axis=1)
        slope = np.polyfit(np.log(big), np.log(dist), 1)[0]
        assert abs(slope + 2.0) < 0.01, slope
        rs = q_mu_max_margin(XA, YA, small, D)
        dist = np.linalg.norm(rs.direction - l1.direction, axis=1)
        assert np.all(np.diff(dist) < 0) and dist[-1] < 1e-10
        slope = np.polyfit(np.log(small), np.log(dist), 1)[0]
        assert abs(slope - slope_small) < 0.02, slope
        assert np.max(rs.kkt_residual) < 1e-11


def test_q_mu_path_fields_and_limits():
    path = q_mu_path(XA, YA, MUS8[::-1], depth=3)  # unsorted input: sorted decreasing
    assert isinstance(path, QMuPath)
    np.testing.assert_array_equal(path.mus, MUS8)
    ref = q_mu_max_margin(XA, YA, MUS8, 3)
    np.testing.assert_allclose(path.w, ref.w, rtol=1e-13)
    assert path.directions.shape == (8, 3) and path.support.shape == (8, 4)
    np.testing.assert_allclose(path.distance_to_l2, np.linalg.norm(ref.direction - path.l2.direction, axis=1))
    assert np.all(path.excess_l1 >= -1e-12)
    assert path.l1_l2d_kkt_residual is not None and path.l1_l2d_kkt_residual < 1e-12  # l1 point is l_{2/3}-stationary here
    assert q_mu_path(XA, YA, MUS8, depth=2).l1_l2d_kkt_residual is None
    assert not path.mus.flags.writeable and not path.w.flags.writeable


def test_q_mu_nonunique_l1_tie_break():
    # A Fig. 3c-type dataset: the l1 max-margin is a segment (||w||_1 = 5/3). As mu -> 0 the
    # path picks, among l1 minimisers, the maximiser of sum |w_i|^{2/D} (D = 3) (next-order
    # term of mu Q^D_mu; see q_mu_max_margin). Oracle: that concave maximisation over the l1
    # face, by cvxpy with the sign pattern fixed. Measured: agreement 4e-6 (cvxpy's accuracy on
    # this flat maximum; our point has the larger objective).
    X = np.array([[0.9, 2.2, 1.6], [1.2, 2.5, -0.2], [-0.6, 0.6, -0.5], [0.9, 2.2, 1.6]])
    y = np.ones(4)
    l1norm = float(np.abs(max_margin(X, y, "l1").w).sum())
    end = q_mu_max_margin(X, y, 1e-12, 3).w
    assert abs(np.abs(end).sum() - l1norm) < 1e-7
    sg = np.sign(np.where(np.abs(end) > 1e-6, end, 0.0))
    w = cp.Variable(3)
    cons = [X @ w >= 1, sg @ w <= l1norm, cp.multiply(sg, w) >= 0] + [w[i] == 0 for i in range(3) if sg[i] == 0]
    prob = cp.Problem(cp.Maximize(cp.sum(cp.power(cp.multiply(sg, w), 2 / 3))), cons)
    with margins._quiet_stdout():
        prob.solve(solver=cp.CLARABEL)
    # the maximum is flat along the face, so the conic solver's point is only ~1e-5 accurate:
    # compare points loosely and objective values tightly (ours is not worse)
    np.testing.assert_allclose(end, w.value, atol=1e-5)
    f = lambda v: float(np.sum(np.abs(v) ** (2 / 3)))  # noqa: E731
    assert f(end) >= f(w.value) - 1e-10
    vertex = np.asarray(max_margin(X, y, "l1").w)
    assert np.linalg.norm(end - vertex) > 1e-2  # the LP's vertex is another l1 minimiser


def test_q_mu_bad_input():
    Xn = np.array([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    with pytest.raises(ValueError, match="not linearly separable"):
        q_mu_max_margin(Xn, np.array([1.0, -1.0, 1.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="labels -1 and \\+1"):
        q_mu_max_margin(XA, np.array([1.0, 0.0, -1.0, 1.0]), 1.0)
    for bad in (0.0, -1.0, np.nan, np.inf, [1.0, -2.0]):
        with pytest.raises(ValueError, match="mu must be finite and > 0"):
            q_mu_max_margin(XA, YA, bad)
    with pytest.raises(ValueError, match="mu must be a number > 0 or a non-empty 1-D array"):
        q_mu_max_margin(XA, YA, np.ones((2, 2)))
    with pytest.raises(ValueError, match="mu out of range .* l1 max-margin"):
        q_mu_max_margin(XA, YA, [1.0, 1e-60], 3)
    with pytest.raises(ValueError, match="mu out of range .* l2 max-margin"):
        q_mu_max_margin(XA, YA, 1e200, 2)
    for bad in (1.5, 0, "2", True):
        with pytest.raises(ValueError, match="depth must be"):
            q_mu_max_margin(XA, YA, 1.0, bad)
    with pytest.raises(ValueError, match="tol"):
        q_mu_max_margin(XA, YA, 1.0, tol=-1.0)
    with pytest.raises(ValueError, match="mus must be a 1-D array"):
        q_mu_path(XA, YA, 1.0)
    with pytest.raises(ValueError, match="not linearly separable"):
        q_mu_path(Xn, np.array([1.0, -1.0, 1.0, 1.0]), MUS8)


# ----------------------------------------------------------------------------------------
# l_{2/D} max-margin stationary points
# ----------------------------------------------------------------------------------------


def _independent_l2d_kkt(X, y, w, D):
    """KKT residual of w (margin-normalised) for min sum |w_i|^{2/D} s.t. margins >= 1, by NNLS."""
    Z = y[:, None] * X
    w = np.asarray(w) / np.min(Z @ w)
    p = 2.0 / D
    S = np.abs(w) > 1e-9 * np.max(np.abs(w))
    A = Z @ w <= 1 + 1e-6
    g = p * np.abs(w[S]) ** (p - 1) * np.sign(w[S])
    nu, _ = nnls(Z[np.ix_(A, S)].T, g)
    return float(np.max(np.abs(Z[np.ix_(A, S)].T @ nu - g)) / np.max(np.abs(g)))


def test_l2d_hand_case_two_vertices():
    # One constraint w1 + 2 w2 >= 1 (w3 unconstrained, 0 at any KKT point): on the line
    # w = (1 - 2t, t, 0), f(t) = |1-2t|^{2/3} + |t|^{2/3} is concave between its cusps, so the
    # local minima are the vertices (1, 0, 0) (f = 1) and (0, 1/2, 0) (f = 2^{-2/3}).
    z = np.array([1.0, 2.0, 0.0])
    X = np.array([z, z, z, z])
    y = np.ones(4)
    pts = l2d_stationary_points(X, y, 3, starts={"near-e1": [1.0, 0.01, 0.01]}, n_random=2, seed=0)
    assert all(isinstance(p, L2DStationaryPoint) for p in pts)
    ws = [np.round(p.w, 12).tolist() for p in pts]
    assert ws == [[0.0, 0.5, 0.0], [1.0, 0.0, 0.0]]
    np.testing.assert_allclose([p.objective for p in pts], [0.5 ** (2 / 3), 1.0], rtol=1e-13)
    np.testing.assert_allclose(pts[0].margin, 1.0 / np.sum(np.abs(pts[0].w) ** (2 / 3)) ** 1.5, rtol=1e-13)
    assert all(p.kkt_residual < 1e-12 for p in pts)
    assert l2d_stationarity(X, y, [0.2, 0.4, 0.0], 3).kkt_residual > 0.1  # the l2 point is not stationary


def test_l2d_depth2_is_the_l1_max_margin():
    pts = l2d_stationary_points(XA, YA, 2, n_random=4, seed=1)
    l1 = max_margin(XA, YA, "l1")
    assert len(pts) >= 1
    np.testing.assert_allclose(pts[0].objective, np.abs(l1.w).sum(), rtol=1e-10)
    np.testing.assert_allclose(pts[0].w, l1.w, atol=1e-10)


def test_l2d_points_kkt_and_global_by_sampling():
    # Fig. 4-type data (D = 3): the l1 max-margin (5, 0, -1)/13 is NOT a KKT point of the
    # l_{2/3} problem (residual 0.057), so gradient flow's rich limit differs from the end of
    # the Q path. Every returned point passes an independent KKT check, and the best one is at
    # least as good as the best of 60000 sampled directions (a third of them sparse).
    X = np.array([[3.0, 1.0, 1.0], [3.0, 1.0, 2.0], [2.0, -2.0, -3.0], [3.0, 1.0, 1.0]])
    y = np.ones(4)
    l1 = max_margin(X, y, "l1")
    assert l2d_stationarity(X, y, l1.w, 3).kkt_residual > 1e-2
    pts = l2d_stationary_points(X, y, 3, n_random=8, seed=0)
    assert len(pts) >= 1
    objs = [p.objective for p in pts]
    assert objs == sorted(objs)
    for p in pts:
        assert p.kkt_residual < 1e-8 and _independent_l2d_kkt(X, y, p.w, 3) < 1e-8
        assert abs(np.min((y[:, None] * X) @ p.w) - 1) < 1e-12
    rng = np.random.default_rng(0)
    U = rng.standard_normal((60000, 3))
    U[:20000, 0] = 0
    U[20000:40000, rng.integers(0, 3, 20000)] = 0
    m = (U @ X.T).min(axis=1)
    quasi = np.sum(np.abs(U) ** (2 / 3), axis=1) ** 1.5
    ok = (m > 0) & (quasi > 0)
    best_sampled = float(np.max(m[ok] / quasi[ok]))
    assert pts[0].margin >= best_sampled - 1e-12
    assert pts[0].margin > 1.0 / np.sum(np.abs(l1.w) ** (2 / 3)) ** 1.5  # beats the l1 point


def test_l2d_bad_input():
    with pytest.raises(ValueError, match="must separate the data"):
        l2d_stationarity(XA, YA, [0.0, 1.0, 0.0], 3)
    with pytest.raises(ValueError, match="depth must be"):
        l2d_stationary_points(XA, YA, 1)
    with pytest.raises(ValueError, match="n_random"):
        l2d_stationary_points(XA, YA, 3, n_random=-1)
    Xn = np.array([[1.0, 0, 0], [1.0, 0, 0]])
    with pytest.raises(ValueError, match="not linearly separable"):
        l2d_stationary_points(Xn, np.array([1.0, -1.0]), 3)


# ----------------------------------------------------------------------------------------
# Lemma 3
# ----------------------------------------------------------------------------------------


def _flow_loss(X, y, alpha, D, T, tied=True):
    """Gradient flow of the mean exponential loss of a diagonal net (solve_ivp, rtol 1e-11).

    Tied (model (5)): du_+/dt = D u_+^{D-1} g, du_-/dt = -D u_-^{D-1} g, g = (1/N) sum l_n y_n x_n.
    Untied, D equal layers (they stay equal): each layer du/dt = u^{D-1} g, i.e. no factor D.
    """
    d = X.shape[1]
    Z = y[:, None] * X
    k = D if tied else 1.0

    def rhs(t, u):
        up, um = u[:d], u[d:]
        ell = np.exp(-Z @ (up**D - um**D))
        g = (ell @ Z) / len(y)
        return np.concatenate([k * up ** (D - 1) * g, -k * um ** (D - 1) * g])

    ts = np.concatenate([[0.0], np.geomspace(1e-6, T, 200)])
    sol = solve_ivp(rhs, (0, T), np.full(2 * d, alpha), t_eval=ts, rtol=1e-11, atol=1e-14, method="DOP853")
    up, um = sol.y[:d], sol.y[d:]
    return ts, np.mean(np.exp(-(Z @ (up**D - um**D))), axis=0)


@pytest.mark.parametrize("D,alpha,tied", [(2, 0.5, True), (2, 1.5, True), (3, 0.7, True), (3, 1.0, False), (4, 1.0, False)])
def test_lemma3_holds_and_is_tight_at_t0(D, alpha, tied):
    # Bound holds along the flow (3 samples), and for one sample (where ||g(0)|| = gamma_2)
    # the initial slope of L equals the bound's: so the constant (2 D^2 tied, 2 D untied) can
    # be neither larger nor smaller.
    X = np.array([[1.0, 2.0], [2.0, 0.5], [-1.0, -1.0]])
    y = np.array([1.0, 1.0, -1.0])
    gamma2 = max_margin(X, y).margin
    c = 2 * (D * D if tied else D) * alpha ** (2 * D - 2) * gamma2**2
    ts, L = _flow_loss(X, y, alpha, D, 100.0 / c, tied)
    bound = lemma3_loss_bound(ts, alpha, D, gamma2, tied=tied)
    assert np.all(L <= bound * (1 + 1e-9))
    np.testing.assert_allclose(lemma3_loss_bound(ts, alpha, D, gamma2, tied=tied, log=True), -np.log1p(c * ts), rtol=1e-14)
    x1 = np.array([[0.6, 0.8]])
    ts, L = _flow_loss(x1, np.ones(1), alpha, D, 1e-3 / c, tied)
    slope = (L[1] - 1.0) / ts[1]  # t = 1e-6 / c scale
    bslope = (lemma3_loss_bound(ts[1], alpha, D, 1.0, tied=tied) - 1.0) / ts[1]
    np.testing.assert_allclose(slope, bslope, rtol=1e-4)


def test_lemma3_values_and_errors():
    assert lemma3_loss_bound(0.0, 3.0, 2, 0.1) == 1.0
    np.testing.assert_allclose(lemma3_loss_bound([1.0, 2.0], 1.0, 2, 0.5), [1 / 3, 1 / 5])
    # untied = tied at time t / D
    np.testing.assert_allclose(lemma3_loss_bound(6.0, 1.2, 3, 0.3, tied=False), lemma3_loss_bound(2.0, 1.2, 3, 0.3))
    assert float(lemma3_loss_bound(1e300, 1e3, 2, 1.0, log=True)) < -690  # no overflow/underflow
    for kw, msg in (({"t": -1.0}, "t must be finite and >= 0"), ({"alpha": 0.0}, "alpha must be finite and > 0"), ({"gamma2": -0.1}, "gamma2 must be finite and > 0"), ({"depth": 1}, "depth must be")):
        args = {"t": 1.0, "alpha": 1.0, "depth": 2, "gamma2": 0.5, **kw}
        with pytest.raises(ValueError, match=msg):
            lemma3_loss_bound(args["t"], args["alpha"], args["depth"], args["gamma2"])
