"""ShallowReLU: the params/shape contract of tests/models/test_models.py, hand-computed outputs,
training through ``ib.train`` (gradients by JAX autodiff), and clear errors."""

import doctest

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.models import ShallowReLU, _relu

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
    res = doctest.testmod(_relu)
    assert res.attempted > 0 and res.failed == 0
