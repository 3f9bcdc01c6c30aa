"""ShallowReLU: the params/shape contract of tests/models/test_models.py, hand-computed outputs,
training through ``ib.train`` (gradients by JAX autodiff), and clear errors."""

import doctest
import sys

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.models import ShallowReLU

CONFIGS = {
    "gaussian-d1": lambda: ShallowReLU(10),
    "uniform-d3-skip": lambda: ShallowReLU(10, input_dim=3, skip=True, init_dist="uniform", a_w=0.5, a_b=2.0),
    "binary-uniform-d2": lambda: ShallowReLU(10, input_dim=2, init_dist="binary-uniform", a_b=3.0),
    "breakpoints-skip": lambda: ShallowReLU(10, skip=True, init_dist="breakpoints", breakpoint_density=np.ones_like, breakpoint_range=(-1.0, 2.0)),
    "pytorch-d2-skip": lambda: ShallowReLU(10, input_dim=2, skip=True, init_dist="pytorch"),
    "antisymmetric": lambda: ShallowReLU(10, antisymmetric=True, sigma_b=0.3, output_scale=2.0),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_model_contract(name):
    m = CONFIGS[name]()
    p = m.init(jax.random.key(0))
    assert set(p) == set(m.param_shapes())
    for k, v in p.items():
        assert v.shape == tuple(m.param_shapes()[k]) and v.dtype == jnp.float64
    X = jax.random.normal(jax.random.key(1), (5, m.input_dim))
    out = m.apply(p, X)
    assert out.shape == (5,) and out.dtype == jnp.float64
    # same seed, same numbers (bit for bit); an int seed is the same as key(seed)
    again, from_int, other = m.init(jax.random.key(0)), m.init(0), m.init(2)
    for k in p:
        np.testing.assert_array_equal(again[k], p[k])
        np.testing.assert_array_equal(from_int[k], p[k])
    assert not np.array_equal(p["b1"], other["b1"])
    assert m.homogeneity is None and not m.has_predictor
    with pytest.raises(NotImplementedError):
        m.predictor(p)


def test_jit_and_vmap():
    m = CONFIGS["breakpoints-skip"]()
    keys = jnp.stack([jax.random.key(0), jax.random.key(2)])
    X = jax.random.normal(jax.random.key(1), (5, m.input_dim))
    # vmap over keys = one init per key; vmap of apply over the batch of parameter sets
    batch = jax.jit(jax.vmap(m.init))(keys)
    ps = [m.init(0), m.init(2)]
    for k in batch:
        np.testing.assert_allclose(batch[k], np.stack([q[k] for q in ps]), rtol=1e-15, atol=1e-16)
    outs = eqx.filter_jit(lambda mm, b, Z: jax.vmap(lambda q: mm.apply(q, Z))(b))(m, batch, X)
    np.testing.assert_allclose(outs, np.stack([m.apply(q, X) for q in ps]), rtol=1e-14, atol=1e-15)


def test_output_by_hand_with_skip():
    # f(x) = 3 relu(2x - 1) + 0.5 relu(1 - x) + 0.25 + x
    p = {"w1": [[2.0], [-1.0]], "b1": [-1.0, 1.0], "w2": [3.0, 0.5], "b2": 0.25, "skip": [1.0]}
    m = ShallowReLU(2, skip=True, init_params=p)
    out = m.apply(m.init(), jnp.array([[0.0], [1.0], [2.0], [-2.0]]))
    np.testing.assert_allclose(out, [0.5 + 0.25, 3.0 + 0.25 + 1.0, 9.0 + 0.25 + 2.0, 1.5 + 0.25 - 2.0], rtol=1e-15)
    # d = 2: f(x) = 2 relu(x_1 - x_2)
    m2 = ShallowReLU(1, input_dim=2, init_params={"w1": [[1.0, -1.0]], "b1": [0.0], "w2": [2.0], "b2": 0.0})
    np.testing.assert_allclose(m2.apply(m2.init(), jnp.array([[3.0, 1.0], [1.0, 3.0]])), [4.0, 0.0])


def test_trains_with_the_library_loop():
    X = jnp.linspace(-1.0, 1.0, 6)[:, None]
    y = jnp.sin(3.0 * X[:, 0])
    m = ShallowReLU(16, init_dist="uniform", a_b=2.0, antisymmetric=True, skip=True)
    run = ib.train(m, (X, y), "square", ib.GradientDescent(lr=0.05), ib.Stop(max_steps=300), seed=0)
    f0 = 0.5 * float(jnp.mean(y**2))  # the antisymmetric init starts from f = 0
    assert run.final_loss < 0.5 * f0
    assert all(v.dtype == jnp.float64 for v in run.params.values())


def test_init_params_override_and_validation():
    p = {"w1": np.ones((3, 1)), "b1": np.zeros(3), "w2": np.ones(3), "b2": 0.0}
    m = ShallowReLU(3, antisymmetric=False, init_params=p)
    q = m.init()  # explicit parameters need no key
    assert q["b2"].shape == () and q["w1"].dtype == jnp.float64
    with pytest.raises(ValueError, match="'w1' has shape"):
        ShallowReLU(3, init_params={**p, "w1": np.ones((3, 2))}).init()
    with pytest.raises(ValueError, match="missing parameter"):
        ShallowReLU(3, skip=True, init_params=p).init()
    with pytest.raises(ValueError, match="NaN"):
        ShallowReLU(3, init_params={**p, "b2": np.nan}).init()


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(width=0), "width must be a positive integer"),
        (dict(width=2.5), "width must be a positive integer"),
        (dict(width=4, input_dim=0), "input_dim must be a positive integer"),
        (dict(width=4, init_dist="unifrom"), "did you mean 'uniform'"),
        (dict(width=5, antisymmetric=True), "width must be even"),
        (dict(width=4, sigma_b=-1.0), "sigma_b must be a finite number > 0"),
        (dict(width=4, init_dist="uniform", a_w=0.0), "a_w must be"),
        (dict(width=4, init_dist="breakpoints"), "needs breakpoint_density"),
        (dict(width=4, input_dim=2, init_dist="breakpoints", breakpoint_density=np.ones_like), "input_dim must be 1"),
    ],
)
def test_bad_hyperparameters(kw, match):
    with pytest.raises(ValueError, match=match):
        ShallowReLU(**kw)


def test_bad_calls():
    m = ShallowReLU(4, input_dim=2)
    with pytest.raises(ValueError, match="needs a key"):
        m.init()
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\); received \(3,\)"):
        m.apply(m.init(0), jnp.ones(3))


def test_docstring_examples_run():
    res = doctest.testmod(sys.modules[ShallowReLU.__module__])
    assert res.attempted > 0 and res.failed == 0


# ------------------------------------------------------------------ fast paths (small N)


def _uses_fast_path(m, p, X) -> bool:
    """Whether ``m.apply(p, X)`` takes the unrolled small-N path (its ``custom_jvp``, one sample at a
    time) rather than the matrix form (one ``dot_general`` for the hidden layer, one for ``w2``)."""
    jaxpr = str(jax.make_jaxpr(lambda q: m.apply(q, X))(p))
    return "name=_hidden_unrolled" in jaxpr


@pytest.mark.parametrize("d, skip", [(1, True), (1, False), (3, True)])
def test_unrolled_apply_matches_plain_formula_and_its_gradient(d, skip, zero_preactivation_net, plain_apply):
    m, p, X, y = zero_preactivation_net(12, d, skip, seed=d)
    pre = X @ p["w1"].T + p["b1"][None, :]
    assert pre[0, 0] == 0.0 and pre[1, 1] == 0.0  # the relu'(0) convention is exercised
    assert _uses_fast_path(m, p, X)  # the fast path (one sample at a time, custom_jvp) is the one under test
    np.testing.assert_allclose(m.apply(p, X), plain_apply(p, X, skip), rtol=1e-13, atol=1e-15)

    def loss(fn):
        return lambda q: 0.5 * jnp.mean((fn(q) - y) ** 2)

    g = jax.grad(loss(lambda q: m.apply(q, X)))(p)
    g_ref = jax.grad(loss(lambda q: plain_apply(q, X, skip)))(p)
    assert set(g) == set(p)
    for k in p:
        scale = float(jnp.max(jnp.abs(g_ref[k])))
        np.testing.assert_allclose(g[k], g_ref[k], rtol=1e-12, atol=1e-12 * scale, err_msg=k)
    # relu'(0) = 0 (jax.nn.relu): the units at a zero pre-activation get no contribution from that sample
    one = jax.grad(lambda q: m.apply(q, X[:1])[0])(p)
    assert one["w1"][0, 0] == 0.0 and one["b1"][0] == 0.0
    # forward-over-reverse (HVPs, sharpness) works through the fast path as through the plain one
    v = jax.tree_util.tree_map(jnp.ones_like, p)
    hvp = jax.jvp(jax.grad(loss(lambda q: m.apply(q, X))), (p,), (v,))[1]
    hvp_ref = jax.jvp(jax.grad(loss(lambda q: plain_apply(q, X, skip))), (p,), (v,))[1]
    for k in p:
        np.testing.assert_allclose(hvp[k], hvp_ref[k], rtol=1e-12, atol=1e-12 * float(jnp.max(jnp.abs(hvp_ref[k]))), err_msg=k)


def test_unrolled_apply_input_derivatives(zero_preactivation_net, plain_apply):
    # derivatives in x (univariate tools differentiate the net in its input): first and second
    m, p, X, _ = zero_preactivation_net(9, 2, True, seed=5)
    X = X + 0.01  # off the kinks: the second derivative of a ReLU net is 0 there
    for fn in (lambda Z: m.apply(p, Z), lambda Z: plain_apply(p, Z, True)):
        assert fn(X).shape == (5,)
    jac = jax.jacfwd(lambda Z: m.apply(p, Z))(X)
    jac_ref = jax.jacfwd(lambda Z: plain_apply(p, Z, True))(X)
    np.testing.assert_allclose(jac, jac_ref, rtol=1e-12, atol=1e-13)
    g = jax.grad(lambda Z: jnp.sum(m.apply(p, Z) ** 2))(X)
    g_ref = jax.grad(lambda Z: jnp.sum(plain_apply(p, Z, True) ** 2))(X)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-13)
    h = jax.hessian(lambda z: m.apply(p, z[None, :])[0])(X[2])
    np.testing.assert_allclose(h, 0.0, atol=1e-14)


def test_large_n_uses_the_matrix_form(plain_apply):
    m = ShallowReLU(7, input_dim=2, skip=True)
    p = m.init(0)
    X = jax.random.normal(jax.random.key(3), (64, 2))  # beyond the unrolled fast path's N
    assert not _uses_fast_path(m, p, X)
    np.testing.assert_allclose(m.apply(p, X), plain_apply(p, X, True), rtol=1e-13, atol=1e-15)
    assert m.apply(p, X[:0]).shape == (0,)
    m5 = ShallowReLU(7, input_dim=16, skip=True)  # small N, larger d: matrix form
    p5, X5 = m5.init(1), jax.random.normal(jax.random.key(4), (3, m5.input_dim))
    assert not _uses_fast_path(m5, p5, X5)
    np.testing.assert_allclose(m5.apply(p5, X5), plain_apply(p5, X5, True), rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------------
# activation relu_power:k (montufar2024 Thm 9)
# ---------------------------------------------------------------------------------------


def test_relu_power_activation_apply_matches_numpy():
    for k in (1, 2, 3):
        m = ShallowReLU(16, skip=True, activation=f"relu_power:{k}")
        p = m.init(0)
        X = np.linspace(-1.5, 1.5, 7)[:, None]
        pre = X @ np.asarray(p["w1"]).T + np.asarray(p["b1"])
        ref = np.maximum(pre, 0.0) ** k @ np.asarray(p["w2"]) + float(p["b2"]) + X[:, 0] * float(p["skip"][0])
        np.testing.assert_allclose(np.asarray(m.apply(p, X)), ref, rtol=1e-13, atol=1e-14)


def test_relu_power_same_params_and_relu_power_1_is_relu():
    a, b = ShallowReLU(8, input_dim=2), ShallowReLU(8, input_dim=2, activation="relu_power:1")
    assert a.param_shapes() == b.param_shapes() == ShallowReLU(8, input_dim=2, activation="relu_power:3").param_shapes()
    p = a.init(3)
    X = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_allclose(np.asarray(a.apply(p, X)), np.asarray(b.apply(p, X)), rtol=1e-14)
    # gradients (w2 and w1) of [x]_+^2: k [pre]_+^{k-1}
    m = ShallowReLU(4, activation="relu_power:2")
    q = m.init(1)
    g = jax.grad(lambda w: m.apply({**q, "w1": w}, X[:, :1]).sum())(q["w1"])
    pre = X[:, :1] @ np.asarray(q["w1"]).T + np.asarray(q["b1"])
    ref = (2 * np.maximum(pre, 0.0) * np.asarray(q["w2"]) * X[:, :1]).sum(0)[:, None]
    np.testing.assert_allclose(np.asarray(g), ref, rtol=1e-12)
    # vmap over params
    ps = jax.vmap(m.init)(jax.random.split(jax.random.key(0), 3))
    assert jax.vmap(lambda pp: m.apply(pp, X[:, :1]))(ps).shape == (3, 5)


@pytest.mark.parametrize("bad", ["tanh", "relu_power:0", "relu_power:x", "relu_power", 2])
def test_relu_power_bad_activation(bad):
    with pytest.raises(ValueError, match="ShallowReLU: activation must be 'relu' or 'relu_power:k'"):
        ShallowReLU(4, activation=bad)
