"""theory.tensor: the completion gradient and the component-norm dynamics of CP factorization,
against finite differences of the loss and of a small explicit flow step."""

import numpy as np
import pytest

from implicit_bias.theory import tensor as tt


def _loss(shape, E, y, T):
    return 0.5 * np.mean((T[tuple(E.T)] - y) ** 2)


def test_completion_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    shape = (3, 4, 2)
    E = np.array([[0, 1, 1], [2, 3, 0], [1, 0, 1], [0, 1, 1]])  # a repeated entry counts twice
    y = rng.standard_normal(4)
    T = rng.standard_normal(shape)
    G = tt.completion_gradient(shape, E, y, T)
    h = 1e-6
    for idx in [(0, 1, 1), (2, 3, 0), (1, 1, 1)]:
        D = np.zeros(shape)
        D[idx] = h
        fd = (_loss(shape, E, y, T + D) - _loss(shape, E, y, T - D)) / (2 * h)
        assert G[idx] == pytest.approx(fd, abs=1e-8)


def test_component_norm_velocity_matches_the_flow_of_balanced_factors():
    # d/dt of sigma_r = prod_j ||f^j_r|| along the factor flow d f^j_r/dt = -G x_{k != j} f^k_r, by a
    # central difference of two tiny explicit steps; the formula needs balanced components
    rng = np.random.default_rng(1)
    shape, R = (3, 4, 5), 2
    F = [rng.standard_normal((R, n)) for n in shape]
    target = np.prod([np.linalg.norm(f, axis=1) for f in F], axis=0) ** (1 / 3)
    F = [f * (target / np.linalg.norm(f, axis=1))[:, None] for f in F]
    G = rng.standard_normal(shape)

    def velocity(F):
        return [-np.einsum("abc,rb,rc->ra", G, F[1], F[2]), -np.einsum("abc,ra,rc->rb", G, F[0], F[2]), -np.einsum("abc,ra,rb->rc", G, F[0], F[1])]

    def sigma(F):
        return np.prod([np.linalg.norm(f, axis=1) for f in F], axis=0)

    h = 1e-6
    V = velocity(F)
    fd = (sigma([f + h * v for f, v in zip(F, V)]) - sigma([f - h * v for f, v in zip(F, V)])) / (2 * h)
    s, v = tt.component_norm_velocity(F, G)
    assert np.allclose(s, sigma(F), rtol=1e-12)
    assert np.allclose(v, fd, rtol=1e-6)
    # unbalanced components break the formula (the conserved differences enter)
    Fu = [F[0] * 2.0, F[1] / 2.0, F[2]]
    fdu = (sigma([f + h * v for f, v in zip(Fu, velocity(Fu))]) - sigma([f - h * v for f, v in zip(Fu, velocity(Fu))])) / (2 * h)
    assert not np.allclose(tt.component_norm_velocity(Fu, G)[1], fdu, rtol=1e-2)


def test_bad_input_raises_one_line():
    with pytest.raises(ValueError, match="completion_gradient"):
        tt.completion_gradient((2, 2), [[0, 1, 0]], [1.0], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="component_norm_velocity"):
        tt.component_norm_velocity([np.ones((1, 2))], np.zeros(2))
    with pytest.raises(ValueError, match="zero"):
        tt.component_norm_velocity([np.zeros((1, 2)), np.ones((1, 2))], np.zeros((2, 2)))
