"""theory.multivariate: Thm 8's g* (arc-cosine kernel interpolant, affine part free) against
Monte-Carlo, quadrature of the Radon-domain form, the discretised Radon-domain minimizer and the
univariate weighted spline."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate

from implicit_bias.models import ShallowReLU
from implicit_bias.models.init import Gaussian, Uniform
from implicit_bias.theory.multivariate import multivariate_interpolant, radon_minimizer, radon_zeta, relu_feature_kernel
from implicit_bias.theory.splines import weighted_spline_interpolant, zeta

G = Gaussian(sigma_w=1.3, sigma_b=0.7)
RNG = np.random.default_rng(0)
X8 = RNG.uniform(-1, 1, (8, 2))
Y8 = np.sin(2 * X8[:, 0]) * np.cos(X8[:, 1])


def test_kernel_matches_monte_carlo_of_the_feature_product():
    rng = np.random.default_rng(1)
    X = np.array([[0.3, -0.5], [-0.8, 0.1], [0.9, 0.9]])
    n = 400_000
    W = G.sigma_w * rng.standard_normal((n, 2))
    B = G.sigma_b * rng.standard_normal(n)
    F = np.maximum(X @ W.T + B, 0.0)  # (3, n)
    prods = F[:, None, :] * F[None, :, :]
    mc, se = prods.mean(-1), prods.std(-1) / math.sqrt(n)
    K = relu_feature_kernel(X, X, G)
    assert np.all(np.abs(K - mc) < 4.5 * se)


def test_kernel_is_the_radon_domain_integral_of_zeta():
    # K(x, x') = int_{S^1} int_R zeta(V, c) [V.x - c]_+ [V.x' - c]_+ dc dV (module docstring, 2.)
    x, xp = np.array([0.3, -0.5]), np.array([-0.8, 0.1])

    def inner(t):
        V = np.array([math.cos(t), math.sin(t)])
        hi = min(V @ x, V @ xp)
        f = lambda c: float(radon_zeta(np.array([c]), G, 2)[0]) * (V @ x - c) * (V @ xp - c)  # noqa: E731
        return scipy.integrate.quad(f, -np.inf, hi, epsabs=0, epsrel=1e-12)[0]

    val = scipy.integrate.quad(inner, 0, 2 * math.pi, epsabs=0, epsrel=1e-11, limit=200)[0]
    np.testing.assert_allclose(relu_feature_kernel(x[None], xp[None], G)[0, 0], val, rtol=1e-9)


def test_radon_zeta_in_one_dimension_is_thm6_zeta():
    c = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(radon_zeta(c, G, 1) + radon_zeta(-(-c), G, 1), zeta(c, G), rtol=1e-13)


@pytest.mark.parametrize("init", [Gaussian(sigma_w=1.0, sigma_b=1.0), Gaussian(sigma_w=1.3, sigma_b=0.4)])
def test_one_dimension_reproduces_the_univariate_weighted_spline(init):
    x = np.array([-1.0, -0.6, -0.1, 0.3, 0.7, 1.0])
    y = np.sin(3 * x)
    xe = np.linspace(-1.5, 1.5, 301)
    g = multivariate_interpolant(x[:, None], y, init)
    np.testing.assert_allclose(g(xe[:, None]), weighted_spline_interpolant(x, y, init)(xe), atol=1e-10)
    np.testing.assert_allclose(g(x[:, None]), y, atol=1e-12)


def test_two_dimensions_equals_the_discretised_radon_domain_minimizer():
    t = np.linspace(-1, 1, 11)
    Xe = np.stack(np.meshgrid(t, t), -1).reshape(-1, 2)
    g = multivariate_interpolant(X8, Y8, G)(Xe)
    errs = [np.max(np.abs(radon_minimizer(X8, Y8, G, Xe, n_angles=na, n_offsets=no) - g)) / np.max(np.abs(g)) for na, no in ((32, 64), (128, 256))]
    assert errs[1] < 1e-4 and errs[1] < 0.1 * errs[0]  # converges to the kernel form (measured 1.9e-3 -> 3.6e-5)


def test_interpolates_affine_is_free_and_ridge_shrinks():
    g = multivariate_interpolant(X8, Y8, ShallowReLU(2, input_dim=2, sigma_w=1.3, sigma_b=0.7))
    np.testing.assert_allclose(g(X8), Y8, atol=1e-10)
    D = np.concatenate([X8, np.ones((8, 1))], 1)
    np.testing.assert_allclose(D.T @ g.alpha, 0.0, atol=1e-10)
    aff = multivariate_interpolant(X8, X8 @ [2.0, -1.0] + 3.0, G)
    assert aff.penalty < 1e-20 and np.allclose(aff.affine, [2.0, -1.0, 3.0])
    # adding an affine function to the data changes only the affine part
    h = multivariate_interpolant(X8, Y8 + X8 @ [2.0, -1.0] + 3.0, G)
    np.testing.assert_allclose(h.alpha, g.alpha, atol=1e-10)
    # the ridge path: lam -> infinity leaves the affine least-squares fit
    big = multivariate_interpolant(X8, Y8, G, lam=1e6)
    ls = np.linalg.lstsq(D, Y8, rcond=None)[0]
    np.testing.assert_allclose(big(X8), D @ ls, atol=1e-5)
    assert multivariate_interpolant(X8, Y8, G, lam=0.1).penalty < g.penalty


def test_f0_is_added_back():
    f0 = lambda X: np.cos(X[:, 0]) + X[:, 1] ** 2  # noqa: E731
    g = multivariate_interpolant(X8, Y8, G, f0=f0)
    h = multivariate_interpolant(X8, Y8 - f0(X8), G)
    Xe = RNG.uniform(-1, 1, (5, 2))
    np.testing.assert_allclose(g(Xe), h(Xe) + f0(Xe), atol=1e-12)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: relu_feature_kernel(X8, X8, Uniform()), "Gaussian init only"),
        (lambda: relu_feature_kernel(X8, X8[:, :1], G), "d = 2 columns"),
        (lambda: multivariate_interpolant(X8[:, 0], Y8, G), r"shape \(M, d\)"),
        (lambda: multivariate_interpolant(X8, Y8[:5], G), "y must have shape"),
        (lambda: multivariate_interpolant(np.stack([t := np.linspace(0, 1, 5), 2 * t], 1), np.ones(5), G), "one hyperplane"),
        (lambda: multivariate_interpolant(X8, Y8, G, lam=-1.0), "lam"),
        (lambda: multivariate_interpolant(X8, Y8, G)(np.zeros((2, 3))), "d = 2 columns"),
        (lambda: radon_zeta([0.0], G, 0), "positive integer"),
    ],
)
def test_bad_input_one_line(call, match):
    with pytest.raises(ValueError, match=match) as e:
        call()
    assert "\n" not in str(e.value)
