"""theory.linear_networks against independent oracles: the paper's literal q_delta minimised by
scipy, closed forms, limits, scipy ODE solutions of the flows, brute-force active sets."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize as so
from scipy.integrate import solve_ivp

import implicit_bias as ib
from implicit_bias.models._fc import FullyConnected  # public after wiring: ib.models.FullyConnected
from implicit_bias.theory import linear_networks as ln


def q_paper(w, w0, dl):
    """azulay2021 Thm 6.1 typed in literally (x = ||w|| > 0, w~(0) != 0): the independent oracle."""
    x = jnp.sqrt(w @ w)
    S = jnp.sqrt(x**2 + dl**2 / 4)
    qhat = (x**2 - dl / 2 * (dl / 2 + S)) * jnp.sqrt(S - dl / 2) / x
    n0 = jnp.sqrt(w0 @ w0)
    z = -1.5 * jnp.sqrt(jnp.sqrt(n0**2 + dl**2 / 4) - dl / 2) * w0 / n0
    return qhat + z @ w


_q = jax.jit(q_paper)
_dq = jax.jit(jax.grad(q_paper))
_d2q = jax.jit(jax.hessian(q_paper))


def scipy_argmin(fun, grad, hess, X, y):
    """argmin fun s.t. X w = y by scipy's trust-constr (linear equality constraint)."""
    x0 = np.linalg.lstsq(X, y, rcond=None)[0]
    r = so.minimize(fun, x0, jac=grad, hess=hess, method="trust-constr", constraints=[so.LinearConstraint(X, y, y)],
                    options=dict(gtol=1e-14, xtol=1e-14, maxiter=3000))
    return r.x


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2, 4))
    y = rng.normal(size=2)
    u = rng.normal(size=4)
    return X, y, u / np.linalg.norm(u)


def _q_paper_mp(w, w0, dl):
    """The paper's formula in 40-digit arithmetic (mpmath): exact where float64 cancels (small ||w||, δ > 0)."""
    import mpmath as mp

    with mp.workdps(40):
        x = mp.sqrt(mp.fsum(mp.mpf(float(v)) ** 2 for v in w))
        d = mp.mpf(float(dl))
        S = mp.sqrt(x**2 + d**2 / 4)
        qhat = (x**2 - d / 2 * (d / 2 + S)) * mp.sqrt(S - d / 2) / x
        n0 = mp.sqrt(mp.fsum(mp.mpf(float(v)) ** 2 for v in w0))
        c = -mp.mpf(3) / 2 * mp.sqrt(mp.sqrt(n0**2 + d**2 / 4) - d / 2) / n0
        return float(qhat + c * mp.fsum(mp.mpf(float(a)) * mp.mpf(float(b)) for a, b in zip(w0, w)))


def test_q_delta_equals_paper_formula_and_gradient():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(20, 3)) * np.logspace(-4, 2, 20)[:, None]
    w0 = np.array([0.3, -1.0, 2.0])
    big = np.linalg.norm(W, axis=1) > 1e-2  # the literal formula cancels below (S - δ/2 ~ ||w||^2/δ)
    for dl in (0.0, 0.7, 5.0):
        ref = np.array([_q_paper_mp(w, w0, dl) for w in W])
        np.testing.assert_allclose(ln.q_delta(W, w0, dl), ref, rtol=1e-13, atol=1e-14 * (1 + dl) ** 1.5)
        gref = np.array([np.asarray(_dq(w, w0, dl)) for w in W[big]])
        np.testing.assert_allclose(ln.q_delta_grad(W[big], w0, dl), gref, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ln.q_delta_grad(w0, w0, dl), 0.0, atol=1e-14)  # grad q(w~(0)) = 0


@pytest.mark.parametrize("alpha,s", [(0.3, 0.0), (1.0, 0.5), (3.0, 0.9)])
def test_interpolant_matches_scipy_constrained_minimisation(problem, alpha, s):
    X, y, u = problem
    w0, dl = alpha * u, ln.neuron_delta(alpha, s)
    sol = ln.q_delta_interpolant(X, y, w0, dl)
    ref = scipy_argmin(lambda w: float(_q(w, w0, dl)), lambda w: np.asarray(_dq(w, w0, dl)), lambda w: np.asarray(_d2q(w, w0, dl)), X, y)
    np.testing.assert_allclose(sol.w, ref, rtol=1e-8)
    assert sol.converged and sol.residual < 1e-12
    # KKT (azulay2021 eq. (2)): grad q(w) (paper formula, autodiff) = X^T nu, i.e. in the row space of X
    g = np.asarray(_dq(jnp.asarray(sol.w), w0, dl))
    np.testing.assert_allclose(g, X.T @ sol.nu, atol=1e-11 * max(1, np.abs(g).max()))
    P = np.eye(4) - np.linalg.pinv(X) @ X
    assert np.linalg.norm(P @ g) < 1e-11 * max(1.0, np.linalg.norm(g))
    # predicted parameters: a(∞)^2 - ||w(∞)||^2 = δ (conserved), a(∞) w(∞) = w~(∞)
    np.testing.assert_allclose(sol.output_weight**2 - sol.first_layer @ sol.first_layer, dl, atol=1e-12 * (1 + dl))
    np.testing.assert_allclose(sol.output_weight * sol.first_layer, sol.w, rtol=1e-13)


def test_prop62_balanced_matches_scipy(problem):
    """Prop 6.2's objective typed in literally: ||w||^{3/2} - (3/2)||w~(0)||^{-1/2} w~(0)^T w."""
    X, y, u = problem
    w0 = 0.8 * u

    def f(w):
        return jnp.sqrt(w @ w) ** 1.5 - 1.5 * jnp.sqrt(w0 @ w0) ** -0.5 * (w0 @ w)

    fj, gj, hj = jax.jit(f), jax.jit(jax.grad(f)), jax.jit(jax.hessian(f))
    ref = scipy_argmin(lambda w: float(fj(w)), lambda w: np.asarray(gj(w)), lambda w: np.asarray(hj(w)), X, y)
    np.testing.assert_allclose(ln.balanced_interpolant(X, y, w0), ref, rtol=1e-8)


def test_limits(problem):
    X, y, u = problem
    l2 = np.linalg.pinv(X) @ y
    # Thm 6.3 / α -> 0 at fixed s: min-l2, error O(sqrt(α)) (||z|| = (3/2) α / sqrt(p(α)))
    errs = [np.linalg.norm(ln.q_delta_interpolant(X, y, a * u, ln.neuron_delta(a, 0.3)).w - l2) for a in (1e-4, 1e-6, 1e-8)]
    np.testing.assert_allclose(np.diff(np.log10(errs)), -1.0, atol=0.05)
    np.testing.assert_allclose(ln.vanishing_init_interpolant(X, y), l2, rtol=1e-14)
    # δ -> 0: continuous
    w0 = 0.9 * u
    np.testing.assert_allclose(ln.q_delta_interpolant(X, y, w0, 1e-12).w, ln.q_delta_interpolant(X, y, w0, 0.0).w, rtol=1e-9)
    # w~(0) = 0 with δ > 0 (outside the paper's statement): z = 0, so min-l2 exactly
    np.testing.assert_allclose(ln.q_delta_interpolant(X, y, np.zeros(4), 2.0).w, l2, rtol=1e-11)
    # NTK (α -> ∞, fixed s, fixed residual r = y - X w~(0)): B-Mahalanobis, error O(1/α)
    r = y
    for s in (0.0, 0.6):
        e = []
        for a in (1e2, 1e3, 1e4):
            w0 = a * u
            yy = X @ w0 + r
            ntk = ln.ntk_mahalanobis_interpolant(X, yy, w0, ln.neuron_delta(a, s))
            e.append(np.linalg.norm(ln.q_delta_interpolant(X, yy, w0, ln.neuron_delta(a, s)).w - ntk) / np.linalg.norm(ntk - w0))
        np.testing.assert_allclose(np.diff(np.log10(e)), -1.0, atol=0.1)
    # s -> 1 at fixed α: argmin ||w - w~(0)||
    w0 = 1.0 * u
    md = w0 + np.linalg.pinv(X) @ (y - X @ w0)
    e = [np.linalg.norm(ln.q_delta_interpolant(X, y, w0, ln.neuron_delta(1.0, s)).w - md) for s in (0.9, 0.99, 0.999)]
    assert e[2] < e[1] < e[0] and e[2] < 1e-3 * np.linalg.norm(md)


def test_ntk_matrix_and_closed_form(problem):
    X, y, u = problem
    alpha, s = 2.0, 0.4
    w0, dl = alpha * u, ln.neuron_delta(alpha, s)
    B = np.eye(4) - (1 - s) ** 2 / (2 * (1 + s * s)) * np.outer(u, u)  # azulay2021 §7.2 as printed
    np.testing.assert_allclose(ln.ntk_matrix(w0, dl), B, atol=1e-14)
    # B ∝ Hessian of the paper's q at w~(0) (so the NTK limit is the local quadratic of q)
    H = np.asarray(_d2q(jnp.asarray(w0), w0, dl))
    np.testing.assert_allclose(H / H[0, 0] * B[0, 0], B, atol=1e-12)
    # closed form w0 + B^{-1} X^T (X B^{-1} X^T)^{-1} (y - X w0)
    Bi = np.linalg.inv(B)
    ref = w0 + Bi @ X.T @ np.linalg.solve(X @ Bi @ X.T, y - X @ w0)
    np.testing.assert_allclose(ln.ntk_mahalanobis_interpolant(X, y, w0, dl), ref, rtol=1e-12)
    # tangent kernel x^T (a^2 I + w w^T) x' is ∝ x^T B^{-1} x' (azulay2021 §7.2)
    p = FullyConnected(4, (1,), scale=alpha, shape=s, orientation=u).init()
    a, w = float(p["W2"][0, 0]), np.asarray(p["W1"][0])
    K = a * a * np.eye(4) + np.outer(w, w)
    np.testing.assert_allclose(K / K[0, 0], Bi / Bi[0, 0], rtol=1e-12)
    assert ln.neuron_scale_shape(w0, dl) == pytest.approx((alpha, s), rel=1e-12)


def test_batch_and_vmap_match_single_calls(problem):
    X, y, u = problem
    alphas = np.array([0.1, 1.0, 10.0])
    shapes = np.array([0.0, 0.5, 0.2])
    W0 = alphas[:, None] * u
    D = ln.neuron_delta(alphas, shapes)
    batch = ln.q_delta_interpolant_batch(X, y, W0, D)
    for j in range(3):
        one = ln.q_delta_interpolant(X, y, W0[j], D[j])
        np.testing.assert_allclose(batch.w[j], one.w, rtol=1e-12)
        np.testing.assert_allclose(batch.nu[j], one.nu, rtol=1e-9, atol=1e-13)
    sol = jax.jit(jax.vmap(lambda w, d: ln.solve_q_delta_interpolant(X, y, w, d)))(jnp.asarray(W0), jnp.asarray(D))
    np.testing.assert_allclose(np.asarray(sol.w), batch.w, rtol=1e-10)
    assert bool(jnp.all(sol.converged))


def test_rank_deficient_X(problem):
    X, y, u = problem
    X2, y2 = np.vstack([X, X[0]]), np.append(y, y[0])
    np.testing.assert_allclose(ln.q_delta_interpolant(X2, y2, u, 0.5).w, ln.q_delta_interpolant(X, y, u, 0.5).w, rtol=1e-11)


def test_gradient_flow_endpoint_matches_q_delta(problem):
    """Preview of check 1 (azulay2021 Thm 6.1): parameter-space GF to loss 1e-20 vs the prediction."""
    X, y, u = problem
    pts = [(0.5, 0.0), (1.0, 0.5), (2.0, 0.2)]
    models = [FullyConnected(4, (1,), scale=a, shape=s, orientation=u) for a, s in pts]
    runs = ib.train_many(models, [(X, y)] * 3, "square", [ib.GradientFlow()] * 3, ib.Stop(loss=1e-20, max_steps=100_000), record=["loss"])
    for m, run in zip(models, runs):
        assert run.status == "converged", run.message
        q = ln.neuron_init_quantities(m.init())
        pred = ln.fc_neuron_interpolant(X, y, m.init())
        np.testing.assert_allclose(pred.w, ln.q_delta_interpolant(X, y, q.w0, q.delta).w, rtol=1e-14)
        assert np.linalg.norm(run.predictor - pred.w) <= 1e-6 * np.linalg.norm(pred.w)
        np.testing.assert_allclose(run.params["W2"], pred.params["W2"], rtol=1e-6)
        np.testing.assert_allclose(run.params["W1"], pred.params["W1"], rtol=1e-6, atol=1e-9)


# ----- leaky ReLU neuron (Thm 8.1) and single neurons (vardi2022 §4.4), against scipy ODE solutions


def _leaky_flow(X, y, a0, w0, rho, T=300.0):
    N = X.shape[0]

    def f(t, th):
        a, w = th[0], th[1:]
        z = X @ w
        s, ds = np.where(z >= 0, z, rho * z), np.where(z >= 0, 1.0, rho)
        r = (a * s - y) / N
        return np.concatenate([[-(r @ s)], -a * (X.T @ (r * ds))])

    th = solve_ivp(f, (0, T), np.concatenate([[a0], w0]), method="DOP853", rtol=1e-13, atol=1e-15).y[:, -1]
    z = X @ th[1:]
    return th[0], th[1:], np.sum((th[0] * np.where(z >= 0, z, rho * z) - y) ** 2) / (2 * N)


@pytest.mark.parametrize("seed,rho,sign", [(1, 0.5, -1.0), (2, 0.1, -1.0), (3, 0.1, 1.0), (3, 0.5, 1.0)])
def test_leaky_relu_neuron_thm81(seed, rho, sign):
    """Cases chosen (seeded) where the flow reaches zero loss; (2, 0.1, -1) and (3, *, 1) change activation patterns."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2, 3))
    z = X @ rng.normal(size=3)
    y = np.where(z >= 0, z, rho * z)
    w0 = 0.3 * rng.normal(size=3)
    a0 = sign * (np.linalg.norm(w0) + 0.2)
    a, w, loss = _leaky_flow(X, y, a0, w0, rho)
    assert loss < 1e-24
    pred = ln.fc_neuron_interpolant(X, y, {"W1": w0[None], "W2": np.array([[a0]])}, activation="leaky_relu", slope=rho)
    np.testing.assert_allclose(pred.output_weight, a, rtol=1e-10)
    np.testing.assert_allclose(pred.first_layer, w, rtol=1e-9, atol=1e-12)


def test_single_neuron_strictly_monotone_min_distance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 4))
    y = np.tanh(X @ rng.normal(size=4) * 0.5)
    w0 = rng.normal(size=4)

    def f(t, w):
        z = X @ w
        return -(X.T @ ((np.tanh(z) - y) * (1 - np.tanh(z) ** 2))) / 2

    w_end = solve_ivp(f, (0, 3000), w0, method="DOP853", rtol=1e-13, atol=1e-15).y[:, -1]
    pred = ln.single_neuron_interpolant(X, y, w0, activation="tanh")
    np.testing.assert_allclose(w_end, pred, rtol=1e-8)
    # leaky ReLU: σ^{-1}
    yl = np.array([-0.2, 1.5])
    wl = ln.single_neuron_interpolant(X, yl, w0, activation="leaky_relu", slope=0.1)
    np.testing.assert_allclose(np.where(X @ wl >= 0, X @ wl, 0.1 * X @ wl), yl, rtol=1e-12)


def _relu_min_norm_bruteforce(X, y):
    """Enumerate which zero-label constraints are active; keep the feasible min-norm candidate."""
    pos, zero = np.flatnonzero(y > 0), np.flatnonzero(y == 0)
    best = None
    for k in range(zero.size + 1):
        for act in itertools.combinations(zero, k):
            rows = np.concatenate([pos, np.array(act, dtype=int)])
            w = np.linalg.pinv(X[rows]) @ y[rows]
            if np.allclose(X[pos] @ w, y[pos], atol=1e-10) and np.all(X[zero] @ w <= 1e-10):
                if best is None or np.linalg.norm(w) < np.linalg.norm(best):
                    best = w
    return best


def test_relu_min_norm_and_bound():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(4, 6))
    y = np.maximum(X @ rng.normal(size=6), 0.0)
    assert np.sum(y == 0) >= 1
    ws = ln.relu_neuron_min_norm(X, y)
    np.testing.assert_allclose(ws, _relu_min_norm_bruteforce(X, y), rtol=1e-9, atol=1e-12)

    def flow(w0, T=400.0):
        def f(t, w):
            z = X @ w
            return -(X.T @ ((np.maximum(z, 0) - y) * (z > 0))) / X.shape[0]

        return solve_ivp(f, (0, T), w0, method="DOP853", rtol=1e-12, atol=1e-14, dense_output=True)

    # ||w(t) - w*|| is non-increasing along the flow, so ||w(∞)|| <= ||w*|| + ||w(0) - w*|| (our derivation)
    for seed in range(3):
        w0 = np.random.default_rng(10 + seed).normal(size=6)
        sol = flow(w0)
        d = np.linalg.norm(sol.sol(np.linspace(0, 400, 200)).T - ws, axis=1)
        assert np.all(np.diff(d) <= 1e-9)
        b = ln.relu_neuron_bound(X, y, w0)
        assert np.linalg.norm(sol.y[:, -1]) <= b.norm_bound + 1e-9
    # the factor 2 of vardi2022 §4.4 needs a small init: a null-space component of w(0) never moves
    P = np.eye(6) - np.linalg.pinv(X) @ X
    w0 = 10 * P @ np.ones(6) / np.linalg.norm(P @ np.ones(6)) + 1e-3 * (X.T @ np.ones(4))
    w_end = flow(w0).y[:, -1]
    assert np.maximum(X @ w_end, 0) == pytest.approx(y, abs=1e-8)
    b = ln.relu_neuron_bound(X, y, w0)
    assert np.linalg.norm(w_end) > b.factor_two and np.linalg.norm(w_end) <= b.norm_bound + 1e-9


# ----- Hessian maps (azulay2021 eq. (7), §5)


def test_hessian_map_test():
    W = np.random.default_rng(0).normal(size=(6, 3))
    assert ln.is_hessian_map(functools.partial(ln.diagonal_metric, k=np.array([0.5, 1.0, 4.0])), W).passed
    res = ln.is_hessian_map(ln.identity_plus_outer_metric, W)
    assert not res.passed and res.max_asymmetry > 0.1
    for dl in (0.0, 1.5):
        assert not ln.is_hessian_map(functools.partial(ln.fc_metric, delta=dl), W).passed
        assert ln.is_hessian_map(functools.partial(ln.fc_metric, delta=dl), W, g=functools.partial(ln.fc_warping, delta=dl)).passed
        assert ln.is_hessian_map(functools.partial(ln.warped_fc_metric, delta=dl), W).max_asymmetry < 1e-12
        # the warped metric is the Hessian of the paper's q_delta (any w~(0))
        for w in W:
            np.testing.assert_allclose(ln.warped_fc_metric(w, dl), _d2q(jnp.asarray(w), jnp.asarray(W[0]), dl), rtol=1e-10, atol=1e-13)
    # fc_metric is the dynamics' metric: H^{-1} = J J^T with J = d w~ / d(a, w) (azulay2021 eq. (3))
    p = FullyConnected(3, (1,), scale=1.3, shape=0.4, orientation=W[1]).init()
    m = FullyConnected(3, (1,))
    J = jax.jacfwd(m.predictor)(p)
    JJ = sum(np.asarray(j).reshape(3, -1) @ np.asarray(j).reshape(3, -1).T for j in jax.tree_util.tree_leaves(J))
    dl = float(p["W2"][0, 0] ** 2 - jnp.sum(p["W1"] ** 2))
    np.testing.assert_allclose(np.linalg.inv(JJ), ln.fc_metric(m.predictor(p), dl), rtol=1e-12)
    # in d = 1 every metric is a Hessian map
    assert ln.is_hessian_map(ln.identity_plus_outer_metric, np.array([[0.3], [2.0]])).passed


# ----- errors


def _one_line(fn, match):
    with pytest.raises(ValueError, match=match) as e:
        fn()
    assert "\n" not in str(e.value)


def test_bad_inputs(problem):
    X, y, u = problem
    _one_line(lambda: ln.q_delta_interpolant(X, y, u, -0.1), "delta")
    _one_line(lambda: ln.q_delta_interpolant(X, y, np.zeros(4), 0.0), "saddle")
    _one_line(lambda: ln.q_delta_interpolant(X, y, np.ones(3), 0.0), "w0 must have shape")
    _one_line(lambda: ln.q_delta_interpolant(X, y[:1], u, 0.0), "y has 1 entries")
    _one_line(lambda: ln.q_delta_interpolant(np.vstack([X, X[0]]), np.append(y, 5.0), u, 0.0), "not in the range")
    _one_line(lambda: ln.q_delta_interpolant(X, y, u, 0.0, tol=0.0), "tol")
    _one_line(lambda: ln.q_delta_interpolant_batch(X, y, u, 0.0), r"\(B, 4\)")
    bad = {"W1": np.array([[1.0, 0, 0, 0]]), "W2": np.array([[0.5]])}
    _one_line(lambda: ln.fc_neuron_interpolant(X, y, bad), "delta")
    good = {"W1": np.array([[0.5, 0, 0, 0]]), "W2": np.array([[1.0]])}
    _one_line(lambda: ln.fc_neuron_interpolant(X, y, good, activation="leaky_relu", slope=0.0), "ReLU")
    _one_line(lambda: ln.fc_neuron_interpolant(X, y, good, activation="relu"), "linear")
    _one_line(lambda: ln.fc_neuron_interpolant(X, y, {"W1": np.ones((2, 4)), "W2": np.ones((1, 2))}), "one hidden neuron")
    _one_line(lambda: ln.single_neuron_interpolant(X, y, activation="relu"), "strictly monotone")
    _one_line(lambda: ln.single_neuron_interpolant(X, np.array([0.5, 1.5]), activation="tanh"), "range of tanh")
    _one_line(lambda: ln.relu_neuron_min_norm(X, np.array([1.0, -1.0])), "negative")
    _one_line(lambda: ln.neuron_delta(1.0, 1.0), "shape")
    _one_line(lambda: ln.is_hessian_map(lambda w: jnp.ones(3), np.ones((2, 3))), "matrix")
    _one_line(lambda: ln.is_hessian_map(ln.identity_plus_outer_metric, np.ones((2, 2, 2))), "w_samples")
