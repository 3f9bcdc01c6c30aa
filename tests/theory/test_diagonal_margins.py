"""Tests of implicit_bias.theory.diagonal_margins (moroshko2020: the Q^D_mu max-margin and its path,
l_{2/D} stationary points, Lemma 3).

Oracles: hand-solved cases, cvxpy on the conic primal of Q^D_mu, the KKT conditions checked with
scipy.optimize.nnls, random feasible points, and the gradient flow integrated by
scipy.integrate.solve_ivp (Lemma 3).
"""

from __future__ import annotations

import doctest
import math
import warnings

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq, nnls

import implicit_bias  # noqa: F401  (float64 in JAX)
from implicit_bias.theory import diagonal_margins
from implicit_bias.theory._solvers import quiet_stdout
from implicit_bias.theory.diagonal_margins import (
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
from implicit_bias.theory.margins import max_margin

# Every Q_mu solve below uses data of shape (N, d) = (4, 3) (duplicated rows where a case has
# fewer samples: a duplicate changes neither the primal nor w, only splits the multipliers),
# so that the jitted dual solver compiles once per kind (D = 2, D > 2); see _qmu_solve.

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
    with quiet_stdout(), warnings.catch_warnings():
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
    with quiet_stdout():
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


def test_docstring_examples():
    result = doctest.testmod(diagonal_margins, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
