"""Robust network and certified radius on hand-solvable cases: one unit (the distance to its
hyperplane), orthogonal data (radius s/2, attained by a perturbation that switches one unit
off), soundness on random nets (no sampled perturbation inside the radius flips a sign)."""

import numpy as np
import pytest

from implicit_bias.models import MLP, ShallowReLU
from implicit_bias.theory import certified_radius, robust_network, two_layer_parts


def test_one_unit_radius_is_the_distance_to_its_hyperplane():
    # f(x) = -1 + [x_1]_+ (ShallowReLU with output bias): y=+1 at (3, 0) flips at x_1 = 1, distance 2
    m = ShallowReLU(1, input_dim=2, init_params={"w1": np.array([[1.0, 0.0]]), "b1": np.zeros(1), "w2": np.ones(1), "b2": np.array(-1.0)})
    p = m.init()
    np.testing.assert_allclose(certified_radius(m, p, np.array([[3.0, 0.0], [3.0, 5.0]]), np.array([1.0, 1.0])), [2.0, 2.0], rtol=1e-14)
    # y = -1 at (0.5, 0): f = -0.5 < 0, flips where x_1 = 1: distance 0.5; y = +1 there: already wrong
    np.testing.assert_allclose(certified_radius(m, p, np.array([[0.5, 0.0], [0.5, 0.0]]), np.array([-1.0, 1.0])), [0.5, 0.0], rtol=1e-14)
    # y = -1 at (-3, 0) with no positive output bias: f = -1 whatever the x_1 < 1 ... but x_1 -> inf flips: radius 4
    np.testing.assert_allclose(certified_radius(m, p, np.array([[-3.0, 0.0]]), np.array([-1.0])), [4.0], rtol=1e-14)


def test_never_flipping_net_has_infinite_radius():
    # f(x) = 1 + [w.x]_+ >= 1 everywhere
    m = ShallowReLU(1, input_dim=2, init_params={"w1": np.array([[1.0, 2.0]]), "b1": np.zeros(1), "w2": np.ones(1), "b2": np.array(1.0)})
    assert certified_radius(m, m.init(), np.array([[1.0, 1.0]]), np.array([1.0]))[0] == np.inf


@pytest.mark.parametrize("beta", [0.5, 0.3, 0.8])
def test_orthogonal_data_radius_is_exact(beta):
    s, n, d = 3.0, 5, 7
    X = s * np.eye(d)[:n]
    y = np.array([1.0, -1.0, 1.0, -1.0, -1.0])
    net = robust_network(X, y, threshold=beta)
    # hand: B(r) = [(1-β)s - r]_+ - m [r - βs]_+ with m opposite-label units (3 for y=+1, 2 for y=-1):
    # root min((1-β)s, ·) when 1-β <= β, else where (1-β)s - r = m (r - βs)
    m = np.where(y > 0, 3.0, 2.0)
    r = np.full(n, (1 - beta) * s) if 1 - beta <= beta else ((1 - beta) * s + m * beta * s) / (1 + m)
    np.testing.assert_allclose(net.radius, r, rtol=1e-12)
    np.testing.assert_allclose(net.relative_radius, r / s, rtol=1e-12)
    f = lambda Z: np.asarray(net.model.apply(net.params, Z))
    np.testing.assert_allclose(y * f(X), (1 - beta) * s, rtol=1e-12)
    # attained: switching unit k off by δ = -(1-β) s e_k gives y_k f = 0 (when 1-β <= β)
    if 1 - beta <= beta:
        np.testing.assert_allclose(y * f(X - (1 - beta) * s * np.eye(d)[:n]), 0.0, atol=1e-12)


def test_nearly_orthogonal_data_radius_is_half_the_norm():
    rng = np.random.default_rng(0)
    n, d = 20, 2000
    X = rng.standard_normal((n, d))
    X *= np.sqrt(d) / np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.choice([-1.0, 1.0], n)
    net = robust_network(X, y)
    # s_i = 1/||v_i|| = ||x_i|| sqrt(1 - O(N/d)): within 1% of 1/2 here
    assert np.all(np.abs(net.relative_radius - 0.5) < 0.01), net.relative_radius
    assert np.all(y * np.asarray(net.model.apply(net.params, X)) > 0)


def test_certificate_is_sound_on_random_nets():
    rng = np.random.default_rng(1)
    d, k, n = 4, 12, 30
    m = MLP(d, (k,), activation="relu", bias="first")
    p = {"W1": rng.standard_normal((k, d)), "b1": rng.standard_normal(k), "W2": rng.standard_normal((1, k))}
    X = rng.standard_normal((n, d))
    y = np.sign(np.asarray(m.apply(p, X)))
    r = certified_radius(m, p, X, y)
    assert np.all(r > 0)
    for _ in range(200):  # random perturbations on the sphere of radius 0.999 r: never a flip
        u = rng.standard_normal((n, d))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        assert np.all(y * np.asarray(m.apply(p, X + 0.999 * r[:, None] * u)) > 0)


def test_bad_input():
    with pytest.raises(ValueError, match="N <= d"):
        robust_network(np.ones((3, 2)), np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="linearly dependent"):
        robust_network(np.array([[1.0, 0, 0], [2.0, 0, 0]]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="threshold"):
        robust_network(np.eye(2), np.array([1.0, -1.0]), threshold=1.5)
    with pytest.raises(ValueError, match="two-layer ReLU"):
        two_layer_parts(MLP(2, (3, 3)), MLP(2, (3, 3)).init(0))
    with pytest.raises(ValueError, match="shape"):
        certified_radius(MLP(2, (3,)), MLP(2, (3,)).init(0), np.ones((2, 3)), np.array([1.0, -1.0]))
