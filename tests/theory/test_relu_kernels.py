"""ReLU kernels of wide univariate nets (``implicit_bias.theory.relu_kernels``): the output
kernel against the arc-cosine closed form, quadrature and the sampler; the kernel interpolant
against the weighted spline ``g*``; the tangent-kernel split against ``jax.jacrev``; the
linearized trajectory against the smoothing-spline path. (Moved from
``tests/experiments/test_splines.py``.)"""

import doctest
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate

from implicit_bias import theory
from implicit_bias.experiments.splines import spline_data
from implicit_bias.models import ShallowReLU
from implicit_bias.models.init import BinaryUniform, Gaussian, Uniform
from implicit_bias.theory import relu_kernels as RK
from implicit_bias.theory.splines import smoothing_spline_path, weighted_spline_interpolant, zeta_function

import pytest


def _arccos_kernel(xa, xb, sw, sb):
    # E[[Wx+B]_+ [Wx'+B]_+] for W ~ N(0, sw^2), B ~ N(0, sb^2): the degree-1 arc-cosine kernel
    # (Cho & Saul 2009) of u = (sw x, sb): |u||u'| (sin t + (pi - t) cos t) / (2 pi).
    ua = np.stack([sw * xa, sb * np.ones_like(xa)], 1)
    ub = np.stack([sw * xb, sb * np.ones_like(xb)], 1)
    na, nb = np.linalg.norm(ua, axis=1), np.linalg.norm(ub, axis=1)
    c = np.clip(ua @ ub.T / np.outer(na, nb), -1, 1)
    t = np.arccos(c)
    return np.outer(na, nb) * (np.sin(t) + (np.pi - t) * c) / (2 * np.pi)


@pytest.mark.parametrize("sw,sb", [(1.0, 1.0), (1.0, math.sqrt(0.1)), (0.7, 1.5)])
def test_output_kernel_gaussian_is_the_arccos_kernel(sw, sb):
    xa, xb = np.linspace(-1.7, 1.3, 9), np.array([-1.0, -0.2, 0.4, 1.0])
    K = theory.output_kernel(xa, xb, Gaussian(sigma_w=sw, sigma_b=sb))
    assert np.max(np.abs(K - _arccos_kernel(xa, xb, sw, sb))) < 1e-12


@pytest.mark.parametrize("init", [Uniform(a_w=1.0, a_b=1.0), Uniform(a_w=2.0, a_b=1.0), BinaryUniform(a_b=1.0)])
def test_output_kernel_matches_its_integral_by_quad(init):
    z = zeta_function(init)
    x, xp = -0.3, 0.8

    def integrand(c):
        return 0.5 * float(z(np.array([c]))[0]) * (max(x - c, 0) * max(xp - c, 0) + max(c - x, 0) * max(c - xp, 0))

    ref = sum(scipy.integrate.quad(integrand, a, b, epsabs=0, epsrel=1e-12, limit=500)[0] for a, b in ((-np.inf, -3), (-3, x), (x, xp), (xp, 3), (3, np.inf)))
    K = theory.output_kernel([x], [xp], init)[0, 0]
    assert abs(K - ref) < 1e-10 * abs(ref)


def test_output_kernel_matches_the_sampled_features():
    # the kernel of the library's sampler: a large Monte Carlo average of phi phi'
    init = Uniform(a_w=math.sqrt(3.0), a_b=math.sqrt(3.0))
    p = init.sample(jax.random.key(0), 400_000)
    x = np.array([-1.0, 0.0, 0.6])
    F = np.maximum(x[:, None] * np.asarray(p["w1"])[:, 0] + np.asarray(p["b1"]), 0)
    assert np.max(np.abs(theory.output_kernel(x, x, init) - F @ F.T / F.shape[1])) < 0.01


def test_kernel_interpolant_interpolates_and_tends_to_g_star():
    ds = spline_data(6)
    x, y = ds.X[:, 0], ds.y
    xe = np.linspace(-1, 1, 201)
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    f0 = lambda t: 0.3 * np.sin(5 * t)  # noqa: E731
    gk = theory.kernel_interpolant(x, y, init, x, f0=f0)
    assert np.max(np.abs(gk - y)) < 1e-10
    g = weighted_spline_interpolant(x, y, init, f0=f0)(xe)
    gaps = [np.max(np.abs(theory.kernel_interpolant(x, y, init, xe, f0=f0, beta=b) - g)) for b in (0.0, 10.0, 1e3, 1e5)]
    assert gaps[0] > 1e-3  # the affine part is charged at beta = 0 ...
    assert gaps[1] < gaps[0] and gaps[3] < 1e-6  # ... and freed as beta -> inf, like O(1/beta)
    assert 50 < gaps[1] / gaps[2] < 200


def test_tangent_kernel_fractions_match_jax_jacobian():
    m = ShallowReLU(7, skip=True, init_dist="gaussian")
    p = m.init(3)
    X = np.array([[-1.0], [-0.3], [0.2], [0.9]])
    parts = theory.tangent_kernel_fractions(p, X)
    J = jax.jacrev(lambda q: m.apply(q, jnp.asarray(X)))(p)
    flat = {k: np.asarray(v).reshape(4, -1) for k, v in J.items()}
    for name, keys in (("hidden", ("w1", "b1")), ("output", ("w2",)), ("affine", ("skip", "b2"))):
        ref = sum(flat[k] @ flat[k].T for k in keys)
        assert np.max(np.abs(parts[name] - ref)) < 1e-12
    assert 0 < parts["hidden_fraction"] < 1


def test_linearized_trajectory_limits_are_the_spline_path_ends():
    ds = spline_data(6)
    x, y = ds.X[:, 0], ds.y
    xe = np.linspace(-1, 1, 101)
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    f0 = lambda t: 0.2 * np.cos(3 * t)  # noqa: E731
    path = smoothing_spline_path(x, y, init, f0=f0)
    L = theory.linearized_trajectory(x, y, init, xe, [0, 10**7], 0.05, f0=f0)
    assert np.max(np.abs(L[0] - path(np.inf)(xe))) < 1e-10  # t = 0: affine fit of y - f0 (lambda = inf)
    assert np.max(np.abs(L[1] - path(0.0)(xe))) < 1e-8  # t -> inf: g*
    # first order in t: the spline with lambda = 1/(eps t) (the time map's constant)
    eps, t = 0.05, 1e-3
    Lt = theory.linearized_trajectory(x, y, init, xe, [t], eps, f0=f0)[0] - path(np.inf)(xe)
    St = path(1.0 / (eps * t))(xe) - path(np.inf)(xe)
    assert np.max(np.abs(Lt - St)) < 1e-2 * np.max(np.abs(St))


def test_stable_eta_bar_uses_the_projected_kernel():
    ds = spline_data(6)
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    assert theory.stable_eta_bar(ds.X[:, 0], init, projected=True) > 10 * theory.stable_eta_bar(ds.X[:, 0], init, projected=False)


def test_affine_projector_removes_affine_functions_only():
    x = np.array([-1.0, -0.2, 0.5, 1.0])
    P = theory.affine_projector(x)
    np.testing.assert_allclose(P @ P, P, atol=1e-14)
    np.testing.assert_allclose(P @ np.stack([x, np.ones_like(x)], 1), 0.0, atol=1e-14)
    assert np.linalg.matrix_rank(P) == x.size - 2


def test_docstring_examples_run():
    res = doctest.testmod(RK)
    assert res.attempted > 0 and res.failed == 0


def test_kernel_eta_bar_is_the_projected_step_for_any_input_dimension():
    # 0.8 M / lambda_max(P K P) with P = I - D D^+, D = [X, 1], by numpy; stable_eta_bar is its 1-D case
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 2))
    A = rng.normal(size=(7, 7))
    K = A @ A.T
    D = np.column_stack([X, np.ones(7)])
    P = np.eye(7) - D @ np.linalg.pinv(D)
    assert np.isclose(theory.kernel_eta_bar(K, X, fraction=0.8), 0.8 * 7 / np.linalg.eigvalsh(P @ K @ P)[-1], rtol=1e-12)
    assert np.isclose(theory.kernel_eta_bar(K, X, projected=False, fraction=0.8), 0.8 * 7 / np.linalg.eigvalsh(K)[-1], rtol=1e-12)
    assert np.allclose(theory.affine_projector(X) @ (X @ np.array([2.0, -1.0]) + 3.0), 0.0)
