import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.models import Diagonal, Linear

MODELS = {
    "linear": lambda: Linear(4),
    "diagonal-tied-2": lambda: Diagonal(4, depth=2, scale=0.3),
    "diagonal-tied-3": lambda: Diagonal(4, depth=3, scale=0.3),
    "diagonal-untied-2": lambda: Diagonal(4, depth=2, tied=False, scale=0.3, shape=0.5),
    "diagonal-untied-4": lambda: Diagonal(4, depth=4, tied=False, scale=0.3),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_contract(name):
    m = MODELS[name]()
    p = m.init(jax.random.key(0))
    assert set(p) == set(m.param_shapes())
    for k, v in p.items():
        assert v.shape == tuple(m.param_shapes()[k]) and v.dtype == jnp.float64
    X = jax.random.normal(jax.random.key(1), (3, 4))
    out = m.apply(p, X)
    assert out.shape == (3,)
    # linear in x with the equivalent predictor
    np.testing.assert_allclose(out, X @ m.predictor(p), rtol=1e-14)
    # homogeneity degree: f(c params) = c^k f(params)
    p2 = jax.tree_util.tree_map(lambda a: 1.7 * a + 0.1, p)
    p3 = jax.tree_util.tree_map(lambda a: 2.0 * a, p2)
    np.testing.assert_allclose(m.apply(p3, X), 2.0**m.homogeneity * m.apply(p2, X), rtol=1e-12)
    # vmap over a batch of parameter sets
    batch = jax.tree_util.tree_map(lambda a: jnp.stack([a, 2 * a]), p2)
    outs = jax.vmap(lambda q: m.apply(q, X))(batch)
    assert outs.shape == (2, 3)


def test_diagonal_unbiased_init_and_scale_conventions():
    m = Diagonal(3, depth=3, scale=0.5)
    p = m.init()
    np.testing.assert_allclose(p["u_plus"], 0.5)
    np.testing.assert_allclose(m.predictor(p), 0.0)
    # azulay2021 §7.1: alpha = |u||v|, s = (|v|/|u| - 1)/(|v|/|u| + 1)
    alpha, s = 0.2, 0.6
    q = Diagonal(3, depth=2, tied=False, scale=alpha, shape=s).init()
    u, v = q["u_plus"]
    np.testing.assert_allclose(u * v, alpha, rtol=1e-14)
    r = v / u
    np.testing.assert_allclose((r - 1) / (r + 1), s, rtol=1e-13)
    np.testing.assert_allclose(q["u_minus"], q["u_plus"])


def test_linear_init_w0_and_errors():
    m = Linear(2, w0=np.array([1.0, -1.0]))
    np.testing.assert_array_equal(m.init()["w"], [1.0, -1.0])
    with pytest.raises(ValueError, match="shape"):
        Linear(3, w0=np.ones(2)).init()
    with pytest.raises(ValueError, match="dim"):
        Linear(0)
    with pytest.raises(ValueError, match="shape s"):
        Diagonal(2, depth=2, tied=False, shape=1.0)
    with pytest.raises(ValueError, match="unknown parameter"):
        Diagonal(2, init_params={"u_plus": np.ones(2), "u_minus": np.ones(2), "v": np.ones(2)}).init()
