"""FullyConnected and SingleNeuron: the model contract, the paper's init conventions, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.models import FullyConnected, SingleNeuron

MODELS = {
    "fc-neuron": lambda: FullyConnected(4, (1,), scale=0.7, shape=0.3),
    "fc-linear-deep": lambda: FullyConnected(4, (3, 2)),
    "fc-linear-depth1": lambda: FullyConnected(4, ()),
    "fc-relu": lambda: FullyConnected(4, (5,), activation="relu"),
    "fc-leaky": lambda: FullyConnected(4, (3, 3), activation="leaky_relu", slope=0.2),
    "fc-balanced": lambda: FullyConnected(4, (3, 2), balanced=True, scale=0.5),
    "neuron-linear": lambda: SingleNeuron(4, "linear"),
    "neuron-relu": lambda: SingleNeuron(4, "relu"),
    "neuron-leaky": lambda: SingleNeuron(4, "leaky_relu", slope=0.3),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_model_contract(name):
    """Same contract as tests/models/test_models.py: shapes, float64, predictor, homogeneity, vmap."""
    m = MODELS[name]()
    p = m.init(jax.random.key(0))
    assert set(p) == set(m.param_shapes())
    for k, v in p.items():
        assert v.shape == tuple(m.param_shapes()[k]) and v.dtype == jnp.float64
    X = jax.random.normal(jax.random.key(1), (3, 4))
    out = m.apply(p, X)
    assert out.shape == (3,) and out.dtype == jnp.float64
    if m.has_predictor:
        np.testing.assert_allclose(out, X @ m.predictor(p), rtol=1e-13, atol=1e-15)
    else:
        with pytest.raises(NotImplementedError, match="no equivalent linear predictor"):
            m.predictor(p)
    p2 = jax.tree_util.tree_map(lambda a: 1.7 * a + 0.1, p)
    p3 = jax.tree_util.tree_map(lambda a: 2.0 * a, p2)
    np.testing.assert_allclose(m.apply(p3, X), 2.0**m.homogeneity * m.apply(p2, X), rtol=1e-12)
    batch = jax.tree_util.tree_map(lambda a: jnp.stack([a, 2 * a]), p2)
    assert jax.vmap(lambda q: m.apply(q, X))(batch).shape == (2, 3)
    # jit through a closure, as ShallowReLU documents
    np.testing.assert_allclose(jax.jit(lambda q, Z: m.apply(q, Z))(p2, X), m.apply(p2, X), rtol=1e-15)


def test_param_names_and_shapes_follow_design_table():
    m = FullyConnected(5, (4, 3, 2), bias=True)
    assert m.param_shapes() == {
        "W1": (4, 5), "W2": (3, 4), "W3": (2, 3), "W4": (1, 2),
        "b1": (4,), "b2": (3,), "b3": (2,), "b4": (1,),
    }
    assert m.depth == 4 and m.homogeneity is None and not m.has_predictor
    assert FullyConnected(5, 3).widths == (3,)  # an int is one hidden layer
    assert SingleNeuron(5).param_shapes() == {"w": (5,)}


def test_forward_matches_numpy():
    m = FullyConnected(3, (4, 2), activation="leaky_relu", slope=0.25, bias=True)
    rng = np.random.default_rng(0)
    p = {k: rng.normal(size=s) for k, s in m.param_shapes().items()}
    X = rng.normal(size=(6, 3))

    def leaky(z):
        return np.where(z >= 0, z, 0.25 * z)

    h = leaky(X @ p["W1"].T + p["b1"])
    h = leaky(h @ p["W2"].T + p["b2"])
    np.testing.assert_allclose(m.apply(p, X), (h @ p["W3"].T + p["b3"])[:, 0], rtol=1e-14)
    lin = FullyConnected(3, (4, 2))
    q = {k: p[k] for k in ("W1", "W2", "W3")}
    np.testing.assert_allclose(lin.predictor(q), (p["W3"] @ p["W2"] @ p["W1"])[0], rtol=1e-13, atol=1e-15)
    s = SingleNeuron(3, "tanh", init_params={"w": p["W1"][0]})
    np.testing.assert_allclose(s.apply(s.init(), X), np.tanh(X @ p["W1"][0]), rtol=1e-14)


@pytest.mark.parametrize("alpha,s", [(0.01, 0.0), (2.0, 0.5), (1.0, -0.4), (5.0, 0.99)])
def test_one_neuron_scale_shape_orientation(alpha, s):
    """azulay2021 §7.2: α = |a| ||w||, s = (|a|/||w|| - 1)/(|a|/||w|| + 1), u = w/||w||."""
    u = np.array([3.0, -4.0, 0.0])
    m = FullyConnected(3, (1,), scale=alpha, shape=s, orientation=2 * u)
    p = m.init()
    a, w = float(p["W2"][0, 0]), np.asarray(p["W1"][0])
    r = abs(a) / np.linalg.norm(w)
    np.testing.assert_allclose(abs(a) * np.linalg.norm(w), alpha, rtol=1e-14)
    np.testing.assert_allclose((r - 1) / (r + 1), s, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(w / np.linalg.norm(w), u / 5, rtol=1e-14)
    assert a > 0
    np.testing.assert_allclose(m.predictor(p), alpha * u / 5, rtol=1e-14)
    # δ = a^2 - ||w||^2 = 4 α s / (1 - s^2) (derived: |a|^2 = α r, ||w||^2 = α / r)
    np.testing.assert_allclose(a * a - w @ w, 4 * alpha * s / (1 - s * s), rtol=1e-12, atol=1e-15)


def test_random_orientation_is_seeded_and_unit():
    m = FullyConnected(6, (1,), scale=1.5, shape=0.2)
    p0, p0b, p1 = m.init(0), m.init(jax.random.key(0)), m.init(1)
    np.testing.assert_array_equal(p0["W1"], p0b["W1"])
    assert not np.allclose(p0["W1"], p1["W1"])
    np.testing.assert_allclose(np.linalg.norm(m.predictor(p1)), 1.5, rtol=1e-14)
    with pytest.raises(ValueError, match="key"):
        m.init()


def test_balanced_init_is_strictly_balanced():
    """W_j W_j^T = W_{j+1}^T W_{j+1} for every j (Δ = 0, azulay2021 Prop 6.2) and w~(0) = scale u."""
    u = np.array([1.0, 2.0, 2.0]) / 3
    m = FullyConnected(3, (4, 3), balanced=True, scale=0.8, orientation=u)
    p = {k: np.asarray(v) for k, v in m.init(7).items()}
    for j in (1, 2):
        Wj, Wn = p[f"W{j}"], p[f"W{j + 1}"]
        np.testing.assert_allclose(Wj @ Wj.T, Wn.T @ Wn, atol=1e-15)
    np.testing.assert_allclose(m.predictor(p), 0.8 * u, rtol=1e-14)
    # widths (1,) with balanced = the s = 0 neuron
    q = FullyConnected(3, (1,), balanced=True, scale=0.8, orientation=u).init()
    np.testing.assert_allclose(q["W2"][0, 0] ** 2, np.sum(q["W1"] ** 2), rtol=1e-14)


def test_gaussian_init_scale():
    """Case 4: W_j[i, k] ~ N(0, scale^{2/L} / m_{j-1}), so E ||w~(0)||^2 = scale^2 (sample stds of wide layers)."""
    m = FullyConnected(5, (3000,), scale=4.0)
    p = m.init(3)
    np.testing.assert_allclose(np.std(p["W1"]), np.sqrt(4.0 ** (2 / 2) / 5), rtol=0.03)
    np.testing.assert_allclose(np.std(p["W2"]), np.sqrt(4.0 ** (2 / 2) / 3000), rtol=0.05)
    assert abs(float(np.mean(p["W1"]))) < 0.03
    s = SingleNeuron(20000, "relu", scale=2.0)
    np.testing.assert_allclose(np.sum(np.asarray(s.init(4)["w"]) ** 2), 4.0, rtol=0.04)


def test_explicit_init_overrides_and_trains_with_gd():
    p0 = {"W1": np.array([[1.0, -1.0]]), "W2": np.array([[2.0]])}
    m = FullyConnected(2, (1,), init_params=p0)
    np.testing.assert_array_equal(m.init()["W1"], p0["W1"])
    ds = (np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 2.0]))
    run = ib.train(m, ds, "square", ib.GradientDescent(lr=0.05), ib.Stop(loss=1e-10, max_steps=20_000))
    assert run.status == "converged" and run.params["W1"].dtype == np.float64
    np.testing.assert_allclose(run.predictor, [1.0, 2.0], atol=1e-4)


def _one_line_error(fn, match):
    with pytest.raises(ValueError, match=match) as e:
        fn()
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: FullyConnected(0), "dim"),
        (lambda: FullyConnected(3, (2, 0)), "widths"),
        (lambda: FullyConnected(3, "ab"), "widths"),
        (lambda: FullyConnected(3, (2,), activation="rleu"), "did you mean 'relu'"),
        (lambda: FullyConnected(3, (2,), activation="tanh"), "unknown activation"),
        (lambda: FullyConnected(3, (2,), activation="leaky_relu", slope=0.0), "slope"),
        (lambda: FullyConnected(3, (1,), scale=-1.0), "scale"),
        (lambda: FullyConnected(3, (1,), shape=1.0), "shape s"),
        (lambda: FullyConnected(3, (2,), shape=0.5), "one hidden neuron"),
        (lambda: FullyConnected(3, (1,), orientation=np.zeros(3)), "orientation"),
        (lambda: FullyConnected(3, (1,), orientation=np.ones(2)), "orientation"),
        (lambda: FullyConnected(3, (1,), init_params={"W1": np.ones((1, 3))}).init(), "missing parameter"),
        (lambda: FullyConnected(3, (1,), init_params={"W1": np.ones((2, 3)), "W2": np.ones((1, 1))}).init(), "shape"),
        (lambda: FullyConnected(3, (1,)).apply(FullyConnected(3, (1,)).init(0), np.ones((2, 4))), "X must have shape"),
        (lambda: SingleNeuron(3, "relux"), "did you mean"),
        (lambda: SingleNeuron(3, "leaky_relu", slope=-1.0), "slope"),
        (lambda: SingleNeuron(3, scale=0.0), "scale"),
        (lambda: SingleNeuron(3).init(), "key"),
        (lambda: SingleNeuron(3).apply({"w": np.ones(3)}, np.ones(3)), "X must have shape"),
    ],
)
def test_bad_input_one_line_value_error(make, match):
    _one_line_error(make, match)
