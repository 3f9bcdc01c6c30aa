"""Initialization distributions of the shallow ReLU net (montufar2024 Thm 6, Prop 7).

Sampling is checked by Kolmogorov-Smirnov tests with fixed seeds against scipy's distributions;
each joint density ``p_{W,B}`` is checked by integrating ``zeta(x) = int |W|^3 p(W, -W x) dW``
with scipy quadrature against the closed forms of montufar2024 Thm 6 and Prop 7.
"""

import doctest
import math

import jax
import numpy as np
import pytest
from scipy import integrate, stats

from implicit_bias.models import ShallowReLU
from implicit_bias.models import init as ini
from implicit_bias.models.init import INITS, BinaryUniform, Breakpoints, Gaussian, PyTorchUniform, Uniform, get_init, hyperparameters

N = 20_000  # units per sample
P_MIN = 1e-3  # KS p-value threshold; the seeds are fixed, so the outcome is deterministic


def _draw(dist, width=N, input_dim=1, seed=0, **kw):
    return {k: np.asarray(v) for k, v in dist.sample(jax.random.key(seed), width, input_dim, **kw).items()}


def _ks(sample, cdf):
    return stats.kstest(np.ravel(sample), cdf).pvalue


def _rho_inv(x):  # 1/rho for the target curvature penalty rho(x) = 1 + x^2 (Prop 7)
    return 1.0 / (1.0 + x**2)


DISTS = {
    "gaussian": lambda: Gaussian(sigma_w=2.0, sigma_b=0.5, output_scale=3.0),
    "uniform": lambda: Uniform(a_w=0.5, a_b=2.0),
    "binary-uniform": lambda: BinaryUniform(a_b=1.5),
    "breakpoints": lambda: Breakpoints(_rho_inv, breakpoint_range=(-2.0, 2.0), sigma_w=0.7),
    "pytorch": lambda: PyTorchUniform(output_scale=2.0),
}


def test_every_registered_name_is_tested():
    assert set(DISTS) == set(INITS)


def test_gaussian_samples():
    p = _draw(DISTS["gaussian"](), input_dim=2)
    assert _ks(p["w1"], stats.norm(scale=2.0).cdf) > P_MIN
    assert _ks(p["b1"], stats.norm(scale=0.5).cdf) > P_MIN
    # output layer of the standard parametrization: w2 ~ N(0, output_scale^2 / width), b2 = 0
    assert _ks(p["w2"], stats.norm(scale=3.0 / math.sqrt(N)).cdf) > P_MIN
    assert p["b2"] == 0.0


def test_uniform_samples():
    p = _draw(DISTS["uniform"](), input_dim=3)
    assert _ks(p["w1"], stats.uniform(-0.5, 1.0).cdf) > P_MIN
    assert _ks(p["b1"], stats.uniform(-2.0, 4.0).cdf) > P_MIN
    assert _ks(p["w2"], stats.norm(scale=1.0 / math.sqrt(N)).cdf) > P_MIN


def test_binary_uniform_samples():
    p = _draw(DISTS["binary-uniform"](), input_dim=2)
    assert set(np.unique(p["w1"])) == {-1.0, 1.0}
    assert stats.binomtest(int(np.sum(p["w1"] > 0)), p["w1"].size).pvalue > P_MIN
    assert _ks(p["b1"], stats.uniform(-1.5, 3.0).cdf) > P_MIN


def test_pytorch_samples():
    d = 4
    p = _draw(DISTS["pytorch"](), input_dim=d)
    a = 1.0 / math.sqrt(d)  # nn.Linear(d, k): U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases
    assert _ks(p["w1"], stats.uniform(-a, 2 * a).cdf) > P_MIN
    assert _ks(p["b1"], stats.uniform(-a, 2 * a).cdf) > P_MIN
    c = 2.0 / math.sqrt(N)  # nn.Linear(k, 1) times output_scale
    assert _ks(p["w2"], stats.uniform(-c, 2 * c).cdf) > P_MIN
    assert abs(p["b2"]) <= c


def test_breakpoint_samples_follow_p_c_and_w_is_independent():
    p = _draw(DISTS["breakpoints"]())
    w, c = p["w1"][:, 0], -p["b1"] / p["w1"][:, 0]
    # p_C = 1/(Z (1 + x^2)) on [-2, 2]: CDF (atan x + atan 2) / (2 atan 2)
    cdf = lambda x: (np.arctan(np.clip(x, -2, 2)) + np.arctan(2.0)) / (2 * np.arctan(2.0))  # noqa: E731
    assert _ks(c, cdf) > P_MIN
    assert _ks(w, stats.norm(scale=0.7).cdf) > P_MIN
    assert stats.spearmanr(np.abs(w), np.abs(c)).pvalue > P_MIN
    # the empirical density of C matches p_C on a histogram, within 5 binomial standard errors
    counts, edges = np.histogram(c, bins=20, range=(-2, 2))
    expected = N * np.diff(cdf(edges))
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_breakpoints_polynomial_density():
    dist = Breakpoints(lambda x: 1.0 + x, breakpoint_range=(0.0, 1.0))  # p_C = 2 (1 + x) / 3
    p = _draw(dist, seed=3)
    c = -p["b1"] / p["w1"][:, 0]
    assert _ks(c, lambda x: (2 * x + x**2) / 3) > P_MIN
    np.testing.assert_allclose(dist.breakpoint_pdf([0.0, 0.5, 1.0, 1.5]), [2 / 3, 1.0, 4 / 3, 0.0], rtol=1e-12)


# --------------------------------------------------------------------- densities and zeta


def _zeta(dist, x):
    """``int |W|^3 p(W, -W x) dW`` by scipy quadrature (sum over atoms for a discrete W)."""
    if dist.w_atoms is not None:
        return sum(abs(w) ** 3 * float(dist.density(w, -w * x)) for w in dist.w_atoms)
    f = lambda w: abs(w) ** 3 * float(dist.density(w, -w * x))  # noqa: E731
    return sum(integrate.quad(f, lo, hi, limit=200, epsabs=1e-13)[0] for lo, hi in ((-40, 0), (0, 40)))


@pytest.mark.parametrize("x", [0.0, 0.3, -1.2, 4.0])
def test_gaussian_zeta_matches_theorem_6(x):
    sw, sb = 1.3, 0.6
    dist = Gaussian(sigma_w=sw, sigma_b=sb)
    closed = 2 * sw**3 * sb**3 / (math.pi * (sb**2 + x**2 * sw**2) ** 2)  # montufar2024 Thm 6.1
    assert _zeta(dist, x) == pytest.approx(closed, rel=1e-8)


def test_uniform_and_binary_zeta_constant_on_minus_l_l():
    # Thm 6.3: constant on [-L, L] for a_b / a_w >= L; here the constant is a_w^3 / (8 a_b)
    u = Uniform(a_w=0.5, a_b=1.0)
    vals = [_zeta(u, x) for x in (-1.9, -0.5, 0.0, 1.0, 2.0)]
    np.testing.assert_allclose(vals, 0.5**3 / 8.0, rtol=1e-7)
    assert _zeta(u, 3.0) < 0.5 * vals[0]
    # Thm 6.2: constant 1 / (2 a_b) on [-a_b, a_b], 0 outside
    b = BinaryUniform(a_b=1.5)
    np.testing.assert_allclose([_zeta(b, x) for x in (-1.5, 0.0, 1.2)], 1 / 3.0, rtol=1e-14)
    assert _zeta(b, 1.6) == 0.0


@pytest.mark.parametrize("x", [-1.5, 0.0, 0.7])
def test_breakpoints_zeta_is_proportional_to_p_c(x):
    # Prop 7: zeta(x) = E[W^2] p_C(x) = sigma_w^2 p_C(x), p_C = (1/rho) / Z
    dist = DISTS["breakpoints"]()
    z = 2 * np.arctan(2.0)
    assert _zeta(dist, x) == pytest.approx(0.7**2 * _rho_inv(x) / z, rel=1e-5)


@pytest.mark.parametrize("name", ["gaussian", "uniform", "pytorch", "breakpoints"])
def test_continuous_densities_integrate_to_one(name):
    dist = DISTS[name]()
    if name == "breakpoints":  # substitute b = -w c (db = |w| dc): support |c| <= 2
        w, c = np.meshgrid(np.linspace(-6, 6, 1200), np.linspace(-2, 2, 801), indexing="ij")  # w = 0 (no mass) off-grid
        vals, axes = dist.density(w, -w * c) * np.abs(w), (w[:, 0], c[0])
    else:  # trapezoid on a grid whose ends are the support's edges (boxes) or +-10 sigma
        aw, ab = (20.0, 5.0) if name == "gaussian" else (dist.a_w, dist.a_b) if name == "uniform" else (1.0, 1.0)
        w, b = np.meshgrid(np.linspace(-aw, aw, 1201), np.linspace(-ab, ab, 801), indexing="ij")
        vals, axes = dist.density(w, b), (w[:, 0], b[0])
    total = integrate.trapezoid(integrate.trapezoid(vals, axes[1], axis=1), axes[0])
    assert total == pytest.approx(1.0, abs=1e-5)


def test_density_is_vectorised():
    dist = Gaussian()
    w, b = np.meshgrid(np.linspace(-1, 1, 4), np.linspace(-2, 2, 3))
    out = dist.density(w, b)
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, stats.norm.pdf(w) * stats.norm.pdf(b), rtol=1e-14)
    assert DISTS["breakpoints"]().density(np.zeros(2), np.ones(2)).tolist() == [0.0, 0.0]  # W = 0: no mass


# --------------------------------------------------------------------- antisymmetry, determinism


@pytest.mark.parametrize("name", list(DISTS))
def test_antisymmetric_pairs_and_zero_function(name):
    dist = DISTS[name]()
    p = _draw(dist, width=10, antisymmetric=True, skip=True)
    np.testing.assert_array_equal(p["w1"][:5], p["w1"][5:])
    np.testing.assert_array_equal(p["b1"][:5], p["b1"][5:])
    np.testing.assert_array_equal(p["w2"][:5], -p["w2"][5:])
    assert p["b2"] == 0.0 and p["skip"].tolist() == [0.0]
    X = np.linspace(-3, 3, 41)[:, None]
    np.testing.assert_allclose(ShallowReLU(10, skip=True).apply(p, X), 0.0, atol=1e-14)


@pytest.mark.parametrize("name", list(DISTS))
def test_same_seed_same_numbers(name):
    dist = DISTS[name]()
    a, b, c = _draw(dist, width=10, seed=5), _draw(dist, width=10, seed=5), _draw(dist, width=10, seed=6)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
        assert a[k].dtype == np.float64
    assert not np.array_equal(a["b1"], c["b1"])
    from_int = {k: np.asarray(v) for k, v in dist.sample(5, 10).items()}
    for k in a:
        np.testing.assert_array_equal(a[k], from_int[k])


# --------------------------------------------------------------------- names and errors


def test_get_init_and_hyperparameters():
    assert isinstance(get_init("Binary_Uniform", a_b=2.0), BinaryUniform)
    assert hyperparameters("gaussian") == ("sigma_w", "sigma_b", "output_scale")
    assert hyperparameters("breakpoints")[:3] == ("breakpoint_density", "breakpoint_range", "sigma_w")
    g = Gaussian()
    assert get_init(g) is g


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: get_init("gausian"), "did you mean 'gaussian'"),
        (lambda: get_init("xavier"), "available: gaussian, uniform"),
        (lambda: get_init("uniform", sigma_w=1.0), r"does not take \['sigma_w'\].*a_w"),
        (lambda: get_init(Gaussian(), sigma_w=2.0), "instance"),
        (lambda: Gaussian(sigma_w=0.0), "sigma_w must be a finite number > 0"),
        (lambda: Uniform(a_b=float("nan")), "a_b must be"),
        (lambda: PyTorchUniform(output_scale=-1), "output_scale must be"),
        (lambda: Breakpoints(), "needs breakpoint_density"),
        (lambda: Breakpoints(lambda x: -np.ones_like(x)), ">= 0"),
        (lambda: Breakpoints(lambda x: np.zeros_like(x)), "zero mass"),
        (lambda: Breakpoints(lambda x: np.where(x > 0.5, np.inf, 1.0)), "finite"),
        (lambda: Breakpoints(np.ones_like, breakpoint_range=(1.0, 0.0)), "lo < hi"),
        (lambda: Breakpoints(lambda x: x[:2]), "must map an array"),
        (lambda: Breakpoints(np.ones_like).sample(0, 4, 2), "input_dim must be 1"),
        (lambda: Gaussian().sample(0, 5, antisymmetric=True), "width must be even"),
        (lambda: Gaussian().sample(0, 0), "width must be a positive integer"),
        (lambda: Gaussian().sample(None, 3), "needs a key"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_docstring_examples_run():
    res = doctest.testmod(ini, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0 and res.failed == 0
