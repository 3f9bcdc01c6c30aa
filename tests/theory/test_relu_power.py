"""montufar2024 Thm 9 for [x]_+^k: zeta_k, the network kernel, the polynomial p, the degree-(2k+1) spline.

Oracles (none is the code under test):
- zeta_k: ``scipy.integrate.quad`` of the definition ``int |w|^{2k+1} p(w, -w x) dw`` written
  here from the init's ``density``, and the Gaussian formula typed in;
- the kernel: the degree-k arc-cosine kernel (Cho & Saul 2009; k = 1, 2) and a 2-D
  ``scipy.integrate.dblquad`` of ``E[phi(Wx+B) phi(Wx'+B)]``;
- the spline: ``theory.splines.weighted_spline_interpolant`` (k = 1, banded Reinsch form),
  ``theory.splines.green_spline`` (k = 2, B-spline form), ``scipy.interpolate.make_interp_spline``
  with natural end conditions (constant zeta, k = 1, 2, 3).
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import scipy.integrate
from scipy.interpolate import make_interp_spline

import implicit_bias.theory.relu_power as relu_power
from implicit_bias.models.init import BinaryUniform, Gaussian, Uniform
from implicit_bias.theory.relu_power import null_space_polynomial, relu_power_kernel, relu_power_spline, relu_power_zeta
from implicit_bias.theory.splines import green_spline, weighted_spline_interpolant, zeta_function

X = np.array([-1.0, -0.55, -0.1, 0.3, 0.62, 1.0])
Y = np.sin(3 * X)


def _zeta_definition(x, init, k):
    out = []
    for xi in np.ravel(x):
        total = 0.0
        for s in (1.0, -1.0):
            f = lambda w: w ** (2 * k + 1) * float(init.density(s * w, -s * w * xi))  # noqa: E731
            if isinstance(init, Uniform):
                aw, ab = float(init.a_w), float(init.a_b)
                top = min(aw, ab / abs(xi)) if xi != 0 else aw  # the box |b| <= a_b cuts w at a_b/|x|
                total += scipy.integrate.quad(f, 0.0, top, epsabs=0.0, epsrel=1e-13, limit=200)[0]
            else:
                total += scipy.integrate.quad(f, 0.0, np.inf, epsabs=0.0, epsrel=1e-13, limit=200)[0]
        out.append(total)
    return np.array(out)


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize(
    "init", [Gaussian(sigma_w=1.0, sigma_b=1.0), Gaussian(sigma_w=0.7, sigma_b=1.5), Uniform(a_w=1.0, a_b=2.0), Uniform(a_w=2.0, a_b=1.0)], ids=["g11", "g0.7-1.5", "u12", "u21"]
)
def test_zeta_k_closed_form_equals_the_definition(init, k):
    x = np.linspace(-3.0, 3.0, 5) + 0.013
    closed = relu_power_zeta(init, f"relu_power:{k}", method="closed")(x)
    np.testing.assert_allclose(closed, _zeta_definition(x, init, k), rtol=1e-10, atol=0)


def test_zeta_k_gaussian_formula_typed_in():
    sw, sb, x = 0.8, 1.3, np.linspace(-2, 2, 9)
    for k in (1, 2, 3):
        typed = 2**k * math.factorial(k) * sw ** (2 * k + 1) * sb ** (2 * k + 1) / (math.pi * (sb**2 + x**2 * sw**2) ** (k + 1))
        np.testing.assert_allclose(relu_power_zeta(Gaussian(sigma_w=sw, sigma_b=sb), k)(x), typed, rtol=1e-14)


def _arccos(xa, xb, sw, sb, k):
    ua = np.stack([sw * np.asarray(xa), sb * np.ones(len(xa))], 1)
    ub = np.stack([sw * np.asarray(xb), sb * np.ones(len(xb))], 1)
    na, nb = np.linalg.norm(ua, axis=1), np.linalg.norm(ub, axis=1)
    c = np.clip(ua @ ub.T / np.outer(na, nb), -1, 1)
    t = np.arccos(c)
    J = {1: np.sin(t) + (np.pi - t) * c, 2: 3 * np.sin(t) * c + (np.pi - t) * (1 + 2 * c**2)}[k]
    return np.outer(na, nb) ** k * J / (2 * np.pi)


@pytest.mark.parametrize("k", [1, 2])
def test_kernel_gaussian_is_the_arccosine_kernel(k):
    xa, xb = np.array([-1.5, -0.2, 0.4, 1.0]), np.array([-1.0, 0.0, 0.9])
    K = relu_power_kernel(xa, xb, Gaussian(sigma_w=1.2, sigma_b=0.8), k)
    np.testing.assert_allclose(K, _arccos(xa, xb, 1.2, 0.8, k), rtol=1e-10)


def test_kernel_uniform_k3_equals_the_expectation_by_dblquad():
    init, k = Uniform(a_w=1.0, a_b=1.5), 3
    xa = np.array([-0.7, 0.5])
    K = relu_power_kernel(xa, xa, init, k)
    for i in range(2):
        for j in range(2):
            f = lambda b, w: max(w * xa[i] + b, 0.0) ** k * max(w * xa[j] + b, 0.0) ** k / (4 * 1.0 * 1.5)  # noqa: E731
            ref = scipy.integrate.dblquad(f, -1.0, 1.0, -1.5, 1.5, epsabs=1e-13, epsrel=1e-11)[0]
            assert K[i, j] == pytest.approx(ref, rel=1e-8)


@pytest.mark.parametrize("init", [Gaussian(sigma_w=1.0, sigma_b=1.0), Gaussian(sigma_w=1.0, sigma_b=math.sqrt(0.1)), Uniform(a_w=1.0, a_b=0.5)], ids=["g", "sharp", "u-kinked"])
def test_k1_reproduces_the_weighted_cubic_spline(init):
    xe = np.linspace(-1.3, 1.3, 203)
    g, ref = relu_power_spline(X, Y, init, "relu"), weighted_spline_interpolant(X, Y, init)
    np.testing.assert_allclose(g(xe), ref(xe), atol=1e-11 * np.max(np.abs(Y)))
    assert g.penalty == pytest.approx(ref.penalty, rel=1e-10)


def test_k2_reproduces_the_green_spline_with_f0():
    init = Gaussian(sigma_w=1.0, sigma_b=0.6)
    f0 = lambda t: 0.3 * np.cos(2 * t)  # noqa: E731
    xe = np.linspace(-1.2, 1.2, 151)
    g = relu_power_spline(X, Y, init, "relu_power:2", f0=f0)
    ref = green_spline(X, Y, zeta_function(init, degree=2), degree=2, f0=f0)
    np.testing.assert_allclose(g(xe), ref(xe), atol=1e-11)
    assert g.penalty == pytest.approx(ref.penalty, rel=1e-9)
    for nu in (1, 2, 3):
        np.testing.assert_allclose(g.deviation(xe, nu), ref.deviation(xe, nu), atol=1e-9 * max(1.0, np.max(np.abs(ref.deviation(xe, nu)))))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_constant_zeta_gives_the_natural_spline_of_degree_2k_plus_1(k):
    bc = [(j, 0.0) for j in range(k + 1, 2 * k + 1)]  # g^(k+1) = ... = g^(2k) = 0 at both ends
    ref = make_interp_spline(X, Y, k=2 * k + 1, bc_type=(bc, bc))
    xi = np.linspace(-1, 1, 301)
    g = relu_power_spline(X, Y, BinaryUniform(a_b=1.5), k)  # zeta = 1/3 on [-1, 1], any k
    np.testing.assert_allclose(g(xi), ref(xi), atol=1e-11)
    for nu in range(1, k + 1):
        np.testing.assert_allclose(g.deviation(xi, nu), ref(xi, nu), atol=1e-8)
    # L g = zeta m and m vanishes (with k - 1 derivatives) at the ends: the natural conditions
    np.testing.assert_allclose(g.deviation(np.array([-1.0, 1.0]), k + 1), ref(np.array([-1.0, 1.0]), k + 1), atol=1e-8)


def test_interpolates_and_penalty_is_minimal_among_perturbations():
    init, k = Gaussian(sigma_w=1.0, sigma_b=1.0), 2
    g = relu_power_spline(X, Y, init, k)
    np.testing.assert_allclose(g(X), Y, atol=1e-12)
    # any other interpolant: g + e with e(x_j) = 0; its penalty int zeta (m + Le/zeta)^2 >= int zeta m^2.
    u = np.linspace(-1, 1, 20001)
    z = relu_power_zeta(init, k)(u)
    e3 = np.prod([u - xj for xj in X], axis=0)  # e = prod (x - x_j) vanishes at the data
    Le = np.gradient(np.gradient(np.gradient(e3, u), u), u) / 2.0  # D^3 e / 2!
    m = g.multiplier(u)
    base = np.trapezoid(z * m**2, u)
    assert base == pytest.approx(g.penalty, rel=1e-5)
    for eps in (0.1, -0.1, 1.0):
        assert np.trapezoid((z * m + eps * Le) ** 2 / z, u) > base


def test_null_space_polynomial():
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    assert np.all(null_space_polynomial(X, Y, init, "relu").coefficients == 0)
    np.testing.assert_allclose(null_space_polynomial(X, 2 * X**2 - X + 3, init, 2).coefficients, [0, 0, 2], atol=1e-9)
    np.testing.assert_allclose(null_space_polynomial(X, X**3 - X**2, init, 3).coefficients, [0, 0, -1, 1], atol=1e-9)


@pytest.mark.parametrize("k", [2, 3])
def test_affine_free_kernel_limit_on_adjusted_data_is_the_spline(k):
    """The network's limit with only the affine part free (K alpha + affine, alpha orthogonal to the
    affine functions) fitted to y - p equals the weighted spline of (x, y - p) on the data range;
    fitted to y itself it does not (the kernel charges the null space of L)."""
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    p = null_space_polynomial(X, Y, init, k)
    xe = np.linspace(-1, 1, 41)
    Kxx, Kex = relu_power_kernel(X, X, init, k), relu_power_kernel(xe, X, init, k)
    V, Ve = np.stack([np.ones_like(X), X], 1), np.stack([np.ones_like(xe), xe], 1)

    def affine_free(r):
        A = np.block([[Kxx, V], [V.T, np.zeros((2, 2))]])
        s = np.linalg.solve(A, np.concatenate([r, np.zeros(2)]))
        return Kex @ s[:-2] + Ve @ s[-2:]

    ya = Y - p(X)
    spline = relu_power_spline(X, ya, init, k)(xe)
    assert np.max(np.abs(affine_free(ya) - spline)) < 1e-8
    assert np.max(np.abs(affine_free(Y) - relu_power_spline(X, Y, init, k)(xe))) > 1e-4  # measured 4.3e-4 (k = 2)


def test_bad_input():
    with pytest.raises(ValueError, match="Green's operator"):
        relu_power_spline(X, Y, 1.0, "tanh")
    with pytest.raises(ValueError, match=r"zeta vanishes on \[.*inside the data range"):
        relu_power_spline(X, Y, BinaryUniform(a_b=0.5), 2)
    with pytest.raises(ValueError, match="degree"):
        relu_power_spline(X, Y, zeta_function(1.0, degree=1), 2)
    with pytest.raises(ValueError, match="univariate"):
        relu_power_spline(np.ones((6, 2)), Y, 1.0, 2)
    with pytest.raises(ValueError, match="at least k \\+ 1"):
        relu_power_spline(X[:3], Y[:3], 1.0, 3)
    with pytest.raises(ValueError, match="nu must be"):
        relu_power_spline(X, Y, 1.0, 2).deviation(X, 4)


def test_doctests():
    assert doctest.testmod(relu_power, raise_on_error=False).failed == 0
