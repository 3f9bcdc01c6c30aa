"""Balancedness invariants (Du et al. 2018; vardi2022 §6): conserved by gradient flow, drift O(η^2)
per step under gradient descent; alignment and stable rank against dense SVDs."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import implicit_bias as ib
from implicit_bias.diagnostics import invariants as inv
from implicit_bias.models._fc import FullyConnected  # public after wiring: ib.models.FullyConnected


def _random_params(seed=0, bias=False):
    rng = np.random.default_rng(seed)
    p = {"W1": rng.normal(size=(4, 3)), "W2": rng.normal(size=(2, 4)), "W3": rng.normal(size=(1, 2))}
    if bias:
        p.update({"b1": rng.normal(size=4), "b2": rng.normal(size=2), "b3": rng.normal(size=1)})
    return p


def test_gaps_match_their_definitions():
    p = _random_params(bias=True)
    W1, W2, W3, b1, b2 = p["W1"], p["W2"], p["W3"], p["b1"], p["b2"]
    np.testing.assert_allclose(
        inv.layer_norm_gaps(p),
        [np.sum(W1**2) + b1 @ b1 - np.sum(W2**2), np.sum(W2**2) + b2 @ b2 - np.sum(W3**2)],
        rtol=1e-14,
    )
    g1, g2 = inv.layer_gram_gaps(p)
    np.testing.assert_allclose(g1, W1 @ W1.T + np.outer(b1, b1) - W2.T @ W2, rtol=1e-14)
    np.testing.assert_allclose(g2, W2 @ W2.T + np.outer(b2, b2) - W3.T @ W3, rtol=1e-14)
    n1, n2 = inv.neuron_norm_gaps(p)
    np.testing.assert_allclose(n1, np.diag(g1), rtol=1e-13)
    np.testing.assert_allclose(n2, np.diag(g2), rtol=1e-13)
    # the two-layer single neuron: the gap is -δ of azulay2021 (δ = a^2 - ||w||^2)
    q = FullyConnected(3, (1,), scale=2.0, shape=0.5, orientation=[1.0, 0, 0]).init()
    np.testing.assert_allclose(inv.layer_norm_gaps(q), [-4 * 2.0 * 0.5 / (1 - 0.25)], rtol=1e-13)
    # ShallowReLU names
    rng = np.random.default_rng(1)
    s = {"w1": rng.normal(size=(5, 2)), "b1": rng.normal(size=5), "w2": rng.normal(size=5), "b2": np.array(0.3), "skip": np.ones(2)}
    np.testing.assert_allclose(inv.neuron_norm_gaps(s)[0], np.sum(s["w1"] ** 2, axis=1) + s["b1"] ** 2 - s["w2"] ** 2, rtol=1e-14)


def test_stable_rank_and_alignment():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(5, 4))
    sv = np.linalg.svd(A, compute_uv=False)
    assert inv.stable_rank(A) == pytest.approx(np.sum(sv**2) / sv[0] ** 2, rel=1e-14)
    assert inv.stable_rank(np.zeros((2, 2))) == 0.0
    # rank-one balanced chain: aligned (1) and stable rank 1
    m = FullyConnected(3, (4, 2), balanced=True, scale=1.0, orientation=[1.0, 2.0, 2.0])
    p = m.init(0)
    np.testing.assert_allclose(inv.layer_alignment(p), 1.0, rtol=1e-13)
    np.testing.assert_allclose(inv.layer_stable_ranks(p), 1.0, rtol=1e-13)
    assert inv.input_alignment(p) == pytest.approx(1.0, rel=1e-13)
    # random layers: not aligned; the definition against explicit SVDs
    q = _random_params(3)
    U1 = np.linalg.svd(q["W1"])[0][:, 0]
    V2 = np.linalg.svd(q["W2"])[2][0]
    assert inv.layer_alignment(q)[0] == pytest.approx(abs(U1 @ V2), rel=1e-12)
    assert inv.layer_alignment(q)[0] < 0.999


def test_growth_exponent():
    etas = np.array([1e-3, 2e-3, 4e-3])
    fit = inv.growth_exponent(etas, 3.0 * etas**2.5)
    assert fit.exponent == pytest.approx(2.5, rel=1e-12) and fit.prefactor == pytest.approx(3.0, rel=1e-10) and fit.r2 == pytest.approx(1.0)


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(4, 5)), rng.normal(size=4)


def test_gradient_flow_conserves_invariants_linear():
    """Du et al. 2018 Thms 2.1-2.2 through ib.train's GradientFlow (rtol 1e-10)."""
    X, y = _data()
    m = FullyConnected(5, (3, 2), scale=1.0)
    run = ib.train(m, (X, y), "square", ib.GradientFlow(), ib.Stop(loss=1e-12, max_steps=100_000), record=ib.Record(fields=("loss", "params")))
    assert run.status == "converged"
    dr = inv.invariant_drift(run)
    assert dr.norm_gaps.shape == (run.trajectory.sizes["t"], 2)
    assert dr.max_relative < 1e-8 and dr.gram_relative.max() < 1e-8
    # the net did move: the invariants are not trivially constant
    first = {k: np.asarray(v) for k, v in m.init(jax.random.fold_in(jax.random.key(0), 0)).items()}
    assert np.linalg.norm(run.params["W1"] - first["W1"]) > 0.1 * np.linalg.norm(first["W1"])


def test_gradient_flow_conserves_norm_gaps_relu_not_gram():
    """ReLU: per-neuron/per-layer gaps conserved, the matrix invariant not (scipy ODE solution)."""
    X, y = _data()
    m = FullyConnected(5, (3, 3), activation="relu", bias=True)
    p0 = m.init(1)
    flat, unravel = jax.flatten_util.ravel_pytree(p0)
    grad = jax.jit(jax.grad(lambda f: 0.5 * jnp.mean((m.apply(unravel(f), X) - y) ** 2)))
    calls = [0]

    def rhs(t, f):
        calls[0] += 1
        if calls[0] > 20_000:  # a kink where the flow slides makes explicit solvers crawl: fail, never hang
            raise RuntimeError("ODE solver stuck at a ReLU kink")
        return -np.asarray(grad(f))

    # t <= 0.2: this seeded flow reaches a sliding ReLU kink (Filippov) near t = 0.3
    sol = solve_ivp(rhs, (0, 0.2), np.asarray(flat), method="DOP853", rtol=1e-12, atol=1e-14, t_eval=np.linspace(0, 0.2, 40))
    traj = [unravel(jnp.asarray(f)) for f in sol.y.T]
    dr = inv.invariant_drift(traj)
    assert dr.max_relative < 1e-9
    assert dr.gram_relative.max() > 1e-3
    np.testing.assert_array_equal(dr.time, np.arange(40))


def test_gradient_descent_drift_exponents():
    """Per step (fixed number of steps) the drift grows like η^2; at a fixed training time like η."""
    X, y = _data()
    m = FullyConnected(5, (3, 2), scale=1.0)
    p0 = m.init(0)
    # exact one-step change: ΔC_j = η^2 (||G_j||^2 - ||G_{j+1}||^2) (from <W_j, G_j> = <W_{j+1}, G_{j+1}>)
    G = jax.grad(lambda p: 0.5 * jnp.mean((m.apply(p, X) - y) ** 2))(p0)
    eta = 1e-2
    run = ib.train(m, (X, y), "square", ib.GradientDescent(lr=eta), ib.Stop(max_steps=1), record=["params"], init=p0)
    d = inv.invariant_drift(run).norm_gaps
    pred = eta**2 * np.array([jnp.sum(G["W1"] ** 2) - jnp.sum(G["W2"] ** 2), jnp.sum(G["W2"] ** 2) - jnp.sum(G["W3"] ** 2)])
    np.testing.assert_allclose(d[-1] - d[0], pred, rtol=1e-9)

    etas = np.array([1e-3, 2e-3, 4e-3, 8e-3])
    few, fixed_time = [], []
    for e in etas:
        r = ib.train(m, (X, y), "square", ib.GradientDescent(lr=float(e)), ib.Stop(max_steps=5), record=["params"], init=p0)
        few.append(inv.invariant_drift(r).max_relative)
        r = ib.train(m, (X, y), "square", ib.GradientDescent(lr=float(e)), ib.Stop(max_time=1.0, max_steps=10**6), record=["params"], init=p0)
        fixed_time.append(inv.invariant_drift(r).max_relative)
    k_steps = inv.growth_exponent(etas, few).exponent
    k_time = inv.growth_exponent(etas, fixed_time).exponent
    assert k_steps == pytest.approx(2.0, abs=0.05)
    assert k_time == pytest.approx(1.0, abs=0.05)


def _one_line(fn, match):
    with pytest.raises(ValueError, match=match) as e:
        fn()
    assert "\n" not in str(e.value)


def test_bad_inputs():
    _one_line(lambda: inv.layer_norm_gaps({"W1": np.ones((2, 3)), "W3": np.ones((1, 2))}), "consecutively")
    _one_line(lambda: inv.layer_norm_gaps({"W1": np.ones((2, 3)), "W2": np.ones((1, 3))}), "chain")
    _one_line(lambda: inv.layer_norm_gaps([np.ones((2, 3))]), "dict")
    _one_line(lambda: inv.invariant_drift([{"W1": np.ones((1, 3))}]), "one layer")
    _one_line(lambda: inv.invariant_drift([]), "empty")
    _one_line(lambda: inv.invariant_drift(3.0), "trajectory must be")
    _one_line(lambda: inv.growth_exponent([1e-3, 2e-3], [0.0, 1.0]), "> 0")
    _one_line(lambda: inv.growth_exponent([1e-3], [1.0]), "length")
    _one_line(lambda: inv.stable_rank(np.ones(3)), "2-D")
