import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.models import Diagonal, Linear

MODELS = {
    "linear": lambda: Linear(4),
    "diagonal-tied-2": lambda: Diagonal(4, depth=2, scale=0.3),
    "diagonal-tied-3": lambda: Diagonal(4, depth=3, scale=0.3),
    "diagonal-untied-2": lambda: Diagonal(4, depth=2, tied=False, scale=0.3, shape=0.5),
    "diagonal-untied-4": lambda: Diagonal(4, depth=4, tied=False, scale=0.3),
    "fc-one-neuron": lambda: ib.models.FullyConnected(4, widths=(1,), scale=0.5, shape=0.3),
    "fc-linear-3-2": lambda: ib.models.FullyConnected(4, widths=(3, 2)),
    "neuron-linear": lambda: ib.models.SingleNeuron(4, activation="linear"),
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


@pytest.mark.parametrize("depth,tied", [(2, True), (3, True), (4, True), (5, True), (2, False)])
def test_diagonal_flow_predictor_equals_the_flow_params_predictor(depth, tied):
    rng = np.random.default_rng(depth)
    m = ib.models.Diagonal(8, depth=depth, tied=tied, scale=0.7)
    p0 = {k: jnp.asarray(rng.uniform(0.2, 1.5, np.shape(v)) * rng.choice([-1.0, 1.0], np.shape(v))) for k, v in m.init().items()}
    z = jnp.asarray(rng.normal(size=8) * 0.02)
    a, b = m.flow_predictor(p0, z), m.predictor(m.flow_params(p0, z))
    np.testing.assert_allclose(a, b, rtol=1e-13)


@pytest.mark.parametrize("depth", [2, 3])
def test_diagonal_flow_predictor_has_no_cancellation_in_the_kernel_regime(depth):
    # Unbiased tied init u(0) = a: w(z) = a^D [(1 - x)^{-p} - (1 + x)^{-p}], x = D(D-2) a^{D-2} z,
    # p = D/(D-2) (D = 2: w = 2 a^2 sinh(4z)); evaluated in 60-digit arithmetic as the oracle.
    import mpmath as mp

    mp.mp.dps = 60
    a, z = 1e4, (1e-9 if depth == 2 else 1e-14)
    m = ib.models.Diagonal(1, depth=depth, scale=a)
    A, Z = mp.mpf(a), mp.mpf(z)
    if depth == 2:
        exact = 2 * A**2 * mp.sinh(4 * Z)
    else:
        x, p = depth * (depth - 2) * A ** (depth - 2) * Z, mp.mpf(depth) / (depth - 2)
        exact = A**depth * ((1 - x) ** (-p) - (1 + x) ** (-p))
    ours = float(m.flow_predictor(m.init(), jnp.array([z]))[0])
    naive = float(m.predictor(m.flow_params(m.init(), jnp.array([z])))[0])
    assert abs(ours - float(exact)) <= 1e-14 * abs(float(exact))
    assert abs(naive - float(exact)) > 1e-9 * abs(float(exact))  # what the naive difference loses


def test_every_model_declares_its_input_dimension_and_flow_map():
    # the training loop reads these declared attributes (no probing of dim / input_dim)
    for name, make in MODELS.items():
        m = make()
        assert m.input_dim == 4, name
        assert m.has_flow_map == (isinstance(m, Diagonal) and (m.tied or m.depth <= 2)), name
    assert ib.models.ShallowReLU(width=3).input_dim == 1
    assert ib.models.ShallowReLU(width=3, input_dim=5).input_dim == 5
    assert ib.models.AbstractModel.has_flow_map is False
    with pytest.raises(NotImplementedError, match="no closed-form gradient flow"):
        Linear(4).flow_params({"w": jnp.zeros(4)}, jnp.zeros(4))
