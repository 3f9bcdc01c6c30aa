"""LinearConv: beta through the DFT equals the composed circular convolutions (an independent
NumPy route), homogeneity of degree L, vmap, the stated initialization, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.models import LinearConv


def numpy_network(ws, X):
    """f(x) = <w_L, h_{L-1}>, h_l[i] = d^{-1/2} sum_k w_l[k] h_{l-1}[(i + k) mod d], by explicit loops."""
    d = len(ws[0])
    out = []
    for x in X:
        h = np.array(x, dtype=float)
        for w in ws[:-1]:
            h = np.array([sum(w[k] * h[(i + k) % d] for k in range(d)) for i in range(d)]) / np.sqrt(d)
        out.append(float(np.dot(ws[-1], h)))
    return np.array(out)


@pytest.mark.parametrize("d, depth", [(5, 1), (6, 2), (7, 3), (8, 4)])
def test_beta_through_the_dft_equals_the_composed_convolutions(d, depth):
    rng = np.random.default_rng(d)
    ws = [rng.standard_normal(d) for _ in range(depth)]
    m = LinearConv(d, depth=depth, init_params={f"w{j + 1}": w for j, w in enumerate(ws)})
    p = m.init()
    X = rng.standard_normal((4, d))
    expect = numpy_network(ws, X)
    np.testing.assert_allclose(np.asarray(m.apply(p, X)), expect, rtol=1e-12, atol=1e-12)
    # beta is the network's response to the basis vectors; its DFT is the product of the filters' DFTs
    np.testing.assert_allclose(np.asarray(m.beta(p)), numpy_network(ws, np.eye(d)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.fft.fft(np.asarray(m.beta(p)), norm="ortho"), np.prod([np.fft.fft(w, norm="ortho") for w in ws], axis=0), atol=1e-12)
    np.testing.assert_array_equal(np.asarray(m.predictor(p)), np.asarray(m.beta(p)))


def test_two_delta_filters_by_hand():
    # w1 = e_0: h_1[i] = x[i] / 2 (d = 4); readout w2 = 2 e_1: f(x) = x[1]
    m = LinearConv(4, depth=2, init_params={"w1": np.array([1.0, 0, 0, 0]), "w2": np.array([0, 2.0, 0, 0])})
    np.testing.assert_allclose(np.asarray(m.beta(m.init())), [0, 1, 0, 0], atol=1e-15)


@pytest.mark.parametrize("depth", [2, 3])
def test_homogeneous_of_degree_depth(depth):
    m = LinearConv(6, depth=depth, scale=1.0)
    p = m.init(0)
    X = np.random.default_rng(0).standard_normal((3, 6))
    c = 1.7
    scaled = jax.tree_util.tree_map(lambda v: c * v, p)
    assert m.homogeneity == depth
    np.testing.assert_allclose(np.asarray(m.apply(scaled, X)), c**depth * np.asarray(m.apply(p, X)), rtol=1e-12)


def test_vmap_over_initializations_and_gradient():
    m = LinearConv(8, depth=3, scale=0.5)
    keys = jax.random.split(jax.random.key(1), 5)
    batch = jax.vmap(m.init)(keys)
    X = np.random.default_rng(2).standard_normal((4, 8))
    out = jax.jit(jax.vmap(lambda p: m.apply(p, X)))(batch)
    assert out.shape == (5, 4)
    for i in (0, 4):
        p = jax.tree_util.tree_map(lambda v: v[i], batch)
        np.testing.assert_allclose(np.asarray(out[i]), numpy_network([np.asarray(p[f"w{j}"]) for j in (1, 2, 3)], X), rtol=1e-10, atol=1e-12)
    # gradient through the FFT vs central differences
    p = jax.tree_util.tree_map(lambda v: v[0], batch)
    g = jax.jit(jax.grad(lambda q: jnp.sum(m.apply(q, X) ** 2)))(p)
    e = np.zeros(8)
    e[3] = 1e-6
    fd = (np.sum(numpy_network([np.asarray(p["w1"]), np.asarray(p["w2"]) + e, np.asarray(p["w3"])], X) ** 2)
          - np.sum(numpy_network([np.asarray(p["w1"]), np.asarray(p["w2"]) - e, np.asarray(p["w3"])], X) ** 2)) / 2e-6  # fmt: skip
    assert float(g["w2"][3]) == pytest.approx(fd, rel=1e-6)


def test_init_scale_is_the_expected_predictor_norm():
    # E ||beta(0)||^2 = scale^2 (class docstring): the sample mean over 4000 draws within 4 standard errors
    m = LinearConv(8, depth=3, scale=0.2)
    keys = jax.random.split(jax.random.key(0), 4000)
    sq = np.asarray(jax.jit(jax.vmap(lambda k: jnp.sum(m.beta(m.init(k)) ** 2)))(keys))
    assert abs(sq.mean() - 0.04) <= 4 * sq.std() / np.sqrt(sq.size)


def test_bad_input():
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        LinearConv(0)
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        LinearConv(4, depth=0)
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        LinearConv(4, scale=-1.0)
    m = LinearConv(4, depth=2, init_params={"w1": np.ones(3), "w2": np.ones(4)})
    with pytest.raises(ValueError, match="'w1' has shape"):
        m.init()
    with pytest.raises(ValueError, match=r"X must have shape \(N, 4\)"):
        LinearConv(4).apply(LinearConv(4).init(0), np.ones((2, 5)))


def test_docstring_examples_run():
    import doctest

    from implicit_bias.models import _conv

    res = doctest.testmod(_conv)
    assert res.attempted >= 2 and res.failed == 0


def test_config_builds_conv_and_names_a_filter_length_mismatch():
    from implicit_bias import config

    m = config.make_model("conv", 6, depth=3, scale=0.1)
    assert isinstance(m, LinearConv) and m.depth == 3 and m.dim == 6 and "conv" in config.MODEL_NAMES
    with pytest.raises(ValueError, match="filter 'w2' has length 5 but the data have dimension 6"):
        config.make_model("conv", 6, depth=2, init={"w1": np.ones(6), "w2": np.ones(5)})
