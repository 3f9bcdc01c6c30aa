"""Attacks on hand-solvable classifiers: on a linear model the minimal l2 perturbation is
|f(x)| / ||w|| (DeepFool finds it exactly) and the line attack along z stops at |f(x)| / |<w, z>|;
on the orthogonal-data robust network the flips are at s/2 (DeepFool) and s sqrt(N)/2 (along z)."""

import numpy as np
import pytest

from implicit_bias.diagnostics import gradient_attack, line_attack, smallest_perturbation, universal_direction
from implicit_bias.models import MLP, Linear
from implicit_bias.theory import certified_radius, robust_network

rng = np.random.default_rng(0)
X = rng.standard_normal((12, 5))
W = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
Y = np.sign(X @ W)


def test_linear_minimal_perturbation_is_exact():
    p = {"w": W}
    exact = np.abs(X @ W) / np.linalg.norm(W)
    g = gradient_attack(Linear(5), p, X, Y)
    np.testing.assert_allclose(g.distance, exact, rtol=1e-10)
    np.testing.assert_allclose(g.relative, exact / np.linalg.norm(X, axis=1), rtol=1e-10)
    np.testing.assert_allclose(Y * ((X + g.perturbation) @ W), 0.0, atol=1e-9)  # on the boundary
    z = universal_direction(X, Y)
    line = line_attack(Linear(5), p, X, Y)
    # moving x_n along -y_n z changes y_n w.x_n at rate -(w.z): flips after |w.x_n| / (w.z) when w.z > 0
    assert W @ z > 0
    np.testing.assert_allclose(line.distance, np.abs(X @ W) / (W @ z), rtol=1e-10)
    s = smallest_perturbation(Linear(5), p, X, Y)
    np.testing.assert_allclose(s.distance, np.minimum(line.distance, g.distance), rtol=0)
    assert np.all(g.distance <= line.distance * (1 + 1e-12))  # the l2 minimum is the smallest


def test_explicit_direction_and_out_of_reach():
    p = {"w": W}
    D = np.tile(-W / np.linalg.norm(W), (12, 1)) * Y[:, None]  # straight at the boundary
    np.testing.assert_allclose(line_attack(Linear(5), p, X, Y, D).distance, np.abs(X @ W) / np.linalg.norm(W), rtol=1e-10)
    # a direction orthogonal to w never flips
    e = np.zeros(5); e[3] = 1.0
    assert np.all(line_attack(Linear(5), p, X, Y, e).distance == np.inf)
    # already misclassified: 0
    assert np.all(line_attack(Linear(5), p, X, -Y).distance == 0.0)
    assert np.all(gradient_attack(Linear(5), p, X, -Y).distance == 0.0)


def test_robust_network_on_orthogonal_data():
    s, n, d = 2.0, 6, 9
    Xo = s * np.eye(d)[:n]
    y = np.array([1.0, 1.0, -1.0, 1.0, -1.0, -1.0])
    net = robust_network(Xo, y)
    g = gradient_attack(net.model, net.params, Xo, y)
    np.testing.assert_allclose(g.distance, s / 2, rtol=1e-9)  # = the certified radius: it is exact
    np.testing.assert_allclose(net.radius, s / 2, rtol=1e-12)
    # along z = Σ y_i x_i (||z|| = s sqrt(N)): unit k off and opposite units on at t = s sqrt(N)/2
    np.testing.assert_allclose(line_attack(net.model, net.params, Xo, y).distance, s * np.sqrt(n) / 2, rtol=1e-9)


def test_attacks_never_beat_the_certificate():
    d, k = 6, 16
    m = MLP(d, (k,), activation="relu", bias="first")
    r2 = np.random.default_rng(5)
    p = {"W1": r2.standard_normal((k, d)), "b1": r2.standard_normal(k), "W2": r2.standard_normal((1, k))}
    Xr = r2.standard_normal((25, d))
    y = np.sign(np.asarray(m.apply(p, Xr)))
    cert = certified_radius(m, p, Xr, y)
    a = smallest_perturbation(m, p, Xr, y)
    assert np.all(np.isfinite(a.distance))
    assert np.all(a.distance >= cert * (1 - 1e-9))
    assert np.all(y * np.asarray(m.apply(p, Xr + a.perturbation)) <= 1e-9)  # each δ does flip


def test_bad_input():
    with pytest.raises(ValueError, match="labels"):
        line_attack(Linear(5), {"w": W}, X, np.zeros(12))
    with pytest.raises(ValueError, match="direction"):
        line_attack(Linear(5), {"w": W}, X, Y, np.ones(3))
    with pytest.raises(ValueError, match="one score per row"):
        m = MLP(5, (3,), outputs=3)
        gradient_attack(m, m.init(0), X, Y)
    with pytest.raises(ValueError, match="zero"):
        universal_direction(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0]))
