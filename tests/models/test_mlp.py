"""MLP: the model contract, DESIGN.md parameter names, homogeneity degree, forward vs numpy, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.models import MLP, FullyConnected


@pytest.mark.parametrize(
    "kw,degree",
    [
        ({"widths": (5,), "activation": "relu", "bias": "first"}, 2),
        ({"widths": (4, 3), "activation": "relu", "bias": "first"}, 3),
        ({"widths": (4, 3), "activation": "leaky_relu", "bias": "none", "slope": 0.2}, 3),
        ({"widths": (3,), "activation": "linear", "bias": "none"}, 2),
        ({"widths": (), "activation": "relu", "bias": "first"}, 1),
        ({"widths": (4,), "activation": "relu", "bias": "first", "outputs": 3}, 2),
        ({"widths": (4, 2), "activation": "relu", "bias": "all"}, None),
    ],
)
def test_contract_and_homogeneity(kw, degree):
    m = MLP(4, **kw)
    assert m.homogeneity_degree == degree and m.homogeneity == degree
    p = m.init(0)
    assert set(p) == set(m.param_shapes())
    for k, v in p.items():
        assert v.shape == tuple(m.param_shapes()[k]) and v.dtype == jnp.float64
    # random (non-zero) biases so that homogeneity is tested with them
    p = jax.tree_util.tree_map(lambda a: a + 0.3, p)
    X = jax.random.normal(jax.random.key(1), (6, 4))
    out = m.apply(p, X)
    C = kw.get("outputs", 1)
    assert out.shape == ((6,) if C == 1 else (6, C)) and out.dtype == jnp.float64
    scaled = m.apply(jax.tree_util.tree_map(lambda a: 1.9 * a, p), X)
    if degree is None:
        assert not np.allclose(scaled, 1.9**m.depth * out, rtol=1e-6)
    else:
        np.testing.assert_allclose(scaled, 1.9**degree * out, rtol=1e-12)
    batch = jax.tree_util.tree_map(lambda a: jnp.stack([a, 2 * a]), p)
    assert jax.vmap(lambda q: m.apply(q, X))(batch).shape == (2,) + out.shape
    np.testing.assert_allclose(jax.jit(lambda q, Z: m.apply(q, Z))(p, X), out, rtol=1e-15)


def test_param_names_follow_design_table():
    assert MLP(5, (4, 3), bias="first", outputs=2).param_shapes() == {"W1": (4, 5), "W2": (3, 4), "W3": (2, 3), "b1": (4,)}
    assert MLP(5, (4, 3), bias="all").param_shapes() == {"W1": (4, 5), "W2": (3, 4), "W3": (1, 3), "b1": (4,), "b2": (3,), "b3": (1,)}
    assert MLP(5, 4, bias="none").param_shapes() == {"W1": (4, 5), "W2": (1, 4)}


def test_forward_matches_numpy_and_fully_connected():
    rng = np.random.default_rng(0)
    m = MLP(3, (4, 2), activation="leaky_relu", slope=0.25, bias="first", outputs=3)
    p = {k: rng.normal(size=s) for k, s in m.param_shapes().items()}
    X = rng.normal(size=(6, 3))

    def leaky(z):
        return np.where(z >= 0, z, 0.25 * z)

    h = leaky(X @ p["W1"].T + p["b1"])
    h = leaky(h @ p["W2"].T)
    np.testing.assert_allclose(m.apply(p, X), h @ p["W3"].T, rtol=1e-14)
    # one output, all biases: the same function as FullyConnected(bias=True)
    fc = FullyConnected(3, (4, 2), activation="relu", bias=True)
    q = {k: rng.normal(size=s) for k, s in fc.param_shapes().items()}
    np.testing.assert_allclose(MLP(3, (4, 2), bias="all").apply(q, X), fc.apply(q, X), rtol=1e-15)
    lin = MLP(3, (4, 2), activation="linear", bias="none")
    r = {k: q[k] for k in ("W1", "W2", "W3")}
    np.testing.assert_allclose(lin.predictor(r), (q["W3"] @ q["W2"] @ q["W1"])[0], rtol=1e-13)
    with pytest.raises(NotImplementedError, match="no equivalent linear predictor"):
        m.predictor(p)


def test_init_is_seeded_and_explicit_params_override():
    m = MLP(3, (50,), scale=2.0)
    a, b, c = m.init(0), m.init(jax.random.key(0)), m.init(1)
    np.testing.assert_array_equal(a["W1"], b["W1"])
    assert not np.allclose(a["W1"], c["W1"])
    np.testing.assert_array_equal(a["b1"], 0.0)
    # W_j ~ N(0, scale^2 / m_{j-1}): sample std of a wide layer
    np.testing.assert_allclose(np.std(MLP(4, (4000,), scale=2.0).init(3)["W1"]), 2.0 / 2.0, rtol=0.03)
    p0 = {k: np.ones(s) for k, s in m.param_shapes().items()}
    np.testing.assert_array_equal(MLP(3, (50,), init_params=p0).init()["W2"], 1.0)
    with pytest.raises(ValueError, match="key"):
        m.init()


def test_trains_through_ib_train():
    X = np.array([[1.0, 0.5], [0.5, 1.0], [-1.0, -0.4], [-0.3, -1.0]])
    y = np.array([1.0, 1.0, -1.0, -1.0])
    run = ib.train(MLP(2, (8,)), (X, y), "logistic", ib.GradientDescent(lr=0.5), ib.Stop(training_accuracy=5.0, max_steps=5000), seed=1)
    assert run.status == "converged" and run.training_accuracy >= 5.0


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"widths": (0,)}, "widths"),
        ({"widths": (3,), "activation": "tanh"}, "activation"),
        ({"widths": (3,), "activation": "relu_"}, "did you mean 'relu'"),
        ({"widths": (3,), "bias": "last"}, "bias must be one of first, none, all"),
        ({"widths": (3,), "outputs": 0}, "outputs"),
        ({"widths": (3,), "activation": "leaky_relu", "slope": -1.0}, "slope"),
        ({"widths": (3,), "scale": 0.0}, "scale"),
    ],
)
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        MLP(2, **kw)
    with pytest.raises(ValueError, match="dim"):
        MLP(0, (3,))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        MLP(2, (3,)).apply(MLP(2, (3,)).init(0), np.ones((4, 3)))
