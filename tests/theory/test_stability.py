"""mulayoff2021: the weight g, Lemma 4 at hand-built interpolants, the flattest implementation, the bounds.

Oracles: g computed by hand from eqs. (22)-(23) for n = 2, 3 points and in closed form for the
uniform and Gaussian populations; a brute-force g straight from the definition; the dense
Hessian (``jax.hessian``) and ``numpy.linalg.eigh`` for sharpness; an independent root of the
quadratic behind eq. (35).
"""

from __future__ import annotations

import doctest
import importlib
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree
from scipy import stats

import implicit_bias as ib
from implicit_bias import theory

stability = importlib.import_module("implicit_bias.theory.stability")

SQ2 = math.sqrt(2.0)


# ---------------------------------------------------------------------------------------
# helpers: the net, its loss Hessian (dense oracle), hand-built interpolants
# ---------------------------------------------------------------------------------------


def _apply(p, X):
    return jax.nn.relu(X @ p["w1"].T + p["b1"][None, :]) @ p["w2"] + p["b2"]


@jax.jit
def _hessian(p, X, y):
    flat, unravel = ravel_pytree(p)
    return jax.hessian(lambda v: 0.5 * jnp.mean((_apply(unravel(v), X) - y) ** 2))(flat)


def _lam_max(p, X, y):
    """Dense lambda_max of Hess [1/(2n) sum (f - y)^2] (the oracle)."""
    pj = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in p.items()}
    H = _hessian(pj, jnp.asarray(X, dtype=jnp.float64), jnp.asarray(y, dtype=jnp.float64))
    return float(np.linalg.eigvalsh(np.asarray(H)).max())


def _hat():
    """Interpolant of (-1, 0), (0, 1), (1, 0) with knots at -2 (outside the data), -1/2 and 1/2.

    f = 2 relu(x + 2) - 2 relu(x + 1/2) - 2 relu(x - 1/2) - 2: slopes 2, 0, -2 on the data range.
    """
    X = np.array([[-1.0], [0.0], [1.0]])
    y = np.array([0.0, 1.0, 0.0])
    p = {"w1": np.array([[1.0], [1.0], [1.0]]), "b1": np.array([2.0, 0.5, -0.5]), "w2": np.array([2.0, -2.0, -2.0]), "b2": np.array(-2.0)}
    return X, y, p


def _midpoint_interpolant(x, y, slope0):
    """A univariate ReLU net interpolating (x_j, y_j) with its knots at the midpoints (off the data).

    Piece j is the line through (x_j, y_j) with slope s_j; continuity at the midpoint m_j fixes
    s_{j+1} from s_j. One extra neuron with its knot left of the data carries the first slope.
    """
    order = np.argsort(x)
    x, y = x[order], y[order]
    m = (x[:-1] + x[1:]) / 2
    s = [slope0]
    for j in range(len(m)):
        # y_j + s_j (m_j - x_j) = y_{j+1} + s_{j+1} (m_j - x_{j+1})
        s.append((y[j] + s[j] * (m[j] - x[j]) - y[j + 1]) / (m[j] - x[j + 1]))
    s = np.array(s)
    t0 = x[0] - 1.0
    knots = np.concatenate([[t0], m])
    w2 = np.concatenate([[s[0]], np.diff(s)])
    p = {"w1": np.ones((len(knots), 1)), "b1": -knots, "w2": w2, "b2": np.array(y[0] - s[0] * (x[0] - t0))}
    return x[:, None], y, p


def _brute_g(sample, t):
    """g(t) straight from eqs. (22)-(23): masks, means, no prefix sums."""
    xs = np.asarray(sample, dtype=float)
    if t < xs.min() or t > xs.max():
        return 0.0
    lo, hi = xs[xs < t], xs[xs > t]
    gm = (lo.size / xs.size) ** 2 * np.mean(t - lo) * np.sqrt(1 + np.mean(lo) ** 2) if lo.size else 0.0
    gp = (hi.size / xs.size) ** 2 * np.mean(hi - t) * np.sqrt(1 + np.mean(hi) ** 2) if hi.size else 0.0
    return min(gm, gp)


# ---------------------------------------------------------------------------------------
# g (Thm 1, eqs. (22)-(23))
# ---------------------------------------------------------------------------------------


def test_g_two_points_by_hand():
    # x = {0, 1}; for t in (0, 1): g^- = (1/2)^2 (t - 0) sqrt(1 + 0) = t/4,
    # g^+ = (1/2)^2 (1 - t) sqrt(1 + 1) = sqrt(2)(1 - t)/4.
    g = theory.empirical_weight_function([1.0, 0.0])
    t = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    np.testing.assert_allclose(g.g_minus(t), t / 4, rtol=1e-14)
    np.testing.assert_allclose(g.g_plus(t), SQ2 * (1 - t) / 4, rtol=1e-14)
    np.testing.assert_allclose(g(t), np.minimum(t / 4, SQ2 * (1 - t) / 4), rtol=1e-14)
    assert g(0.0) == 0.0 and g(1.0) == 0.0 and g(-0.5) == 0.0 and g(3.0) == 0.0  # eq. (22)


def test_g_three_points_by_hand():
    g = theory.empirical_weight_function(np.array([[-1.0], [0.0], [1.0]]))
    # t = -1/2: g^- = (1/3)^2 * 1/2 * sqrt(2) = sqrt(2)/18; g^+ = (2/3)^2 * 1 * sqrt(1 + 1/4) > g^-
    assert float(g(-0.5)) == pytest.approx(SQ2 / 18, rel=1e-14)
    assert float(g.g_plus(-0.5)) == pytest.approx(4 / 9 * math.sqrt(1.25), rel=1e-14)
    assert float(g(0.5)) == pytest.approx(SQ2 / 18, rel=1e-14)  # symmetry
    # t = 0 (a data point, excluded from both sides): (1/3)^2 * 1 * sqrt(2) on both sides
    assert float(g(0.0)) == pytest.approx(SQ2 / 9, rel=1e-14)
    # asymmetric sample {0, 1, 3} at t = 2: g^- = (2/3)^2 * 1.5 * sqrt(1.25), g^+ = (1/3)^2 * 1 * sqrt(10)
    g2 = theory.empirical_weight_function([3.0, 0.0, 1.0])
    assert float(g2.g_minus(2.0)) == pytest.approx(4 / 9 * 1.5 * math.sqrt(1.25), rel=1e-14)
    assert float(g2(2.0)) == pytest.approx(math.sqrt(10) / 9, rel=1e-14)


def test_empirical_g_matches_the_definition():
    rng = np.random.default_rng(0)
    sample = rng.standard_normal(40) * 2 + 0.7
    g = theory.empirical_weight_function(sample)
    ts = np.concatenate([rng.uniform(-6, 7, 60), sample[:5]])
    np.testing.assert_allclose(g(ts), [_brute_g(sample, t) for t in ts], rtol=1e-12, atol=1e-15)


def test_population_g_closed_forms():
    # uniform on [-a, a], a = sqrt(3): F = (t+a)/(2a), E[X|X<t] = (t-a)/2, E[t-X|X<t] = (t+a)/2
    a = math.sqrt(3.0)
    g = theory.population_weight_function("uniform")
    t = np.array([-1.2, -0.4, 0.0, 0.9, 1.5])
    F = (t + a) / (2 * a)
    np.testing.assert_allclose(g.g_minus(t), F**2 * (t + a) / 2 * np.sqrt(1 + ((t - a) / 2) ** 2), rtol=1e-9)
    assert g.support == pytest.approx((-a, a)) and float(g(2.0)) == 0.0
    # standard Gaussian: int_{-inf}^t s phi = -phi(t), int_{-inf}^t (t - s) phi = t Phi + phi
    gn = theory.population_weight_function("gaussian")
    Phi, phi = stats.norm.cdf(t), stats.norm.pdf(t)
    np.testing.assert_allclose(gn.g_minus(t), Phi * (t * Phi + phi) * np.sqrt(1 + (phi / Phi) ** 2), rtol=1e-8)
    np.testing.assert_allclose(gn.g_plus(t), gn.g_minus(-t), rtol=1e-8)  # symmetry
    # a scipy.stats object works as well as a name
    np.testing.assert_allclose(theory.population_weight_function(stats.norm())(t), gn(t), rtol=1e-12)


@pytest.mark.parametrize("name", ["gaussian", "laplace", "bimodal", "uniform"])
def test_built_in_distributions_are_standardised(name):
    d = theory.standard_distribution(name)
    assert float(d.mean()) == pytest.approx(0.0, abs=1e-12)
    assert float(d.std()) == pytest.approx(1.0, rel=1e-12)


def test_empirical_g_converges_to_population_g():
    gp = theory.population_weight_function("bimodal")
    grid = np.linspace(-1.8, 1.8, 13)
    ref = gp(grid)
    d = theory.standard_distribution("bimodal")
    errs = []
    for n in (200, 20000):
        x = d.rvs(n, random_state=1)
        errs.append(np.max(np.abs(theory.empirical_weight_function(x)(grid) - ref)))
    assert errs[1] < 0.02 and errs[1] < errs[0] / 3  # ~ n^{-1/2}: 100x the samples, ~10x smaller


def test_bad_inputs_are_reported():
    with pytest.raises(ValueError, match="unknown distribution"):
        theory.population_weight_function("cauchy-ish")
    with pytest.raises(ValueError, match="univariate"):
        theory.weighted_curvature({"w1": np.ones((2, 2)), "b1": np.zeros(2), "w2": np.ones(2), "b2": 0.0}, g=[0.0, 1.0])
    with pytest.raises(ValueError, match="shape"):
        theory.empirical_weight_function(np.ones((3, 2)))


# ---------------------------------------------------------------------------------------
# f'' and Lemma 4
# ---------------------------------------------------------------------------------------


def test_weighted_curvature_merges_coincident_knots():
    g = theory.empirical_weight_function([-1.0, 0.0, 1.0])
    # two neurons at t = 0.5 with jumps +1 and -1 cancel; a third at -0.5 counts
    assert theory.weighted_curvature([0.5, 0.5, -0.5], [1.0, -1.0, 3.0], g) == pytest.approx(3 * SQ2 / 18, rel=1e-14)
    X, _, p = _hat()
    knots, jumps = theory.relu_knots(p)
    np.testing.assert_allclose(knots, [-2.0, -0.5, 0.5])
    np.testing.assert_allclose(jumps, [2.0, -2.0, -2.0])
    # the knot at -2 is outside the data: g = 0 there
    assert theory.weighted_curvature(p, g) == pytest.approx(4 * SQ2 / 18, rel=1e-14)
    assert theory.weighted_curvature(p, X) == theory.weighted_curvature(p, g=g)


def test_lemma4_hat_by_hand():
    X, y, p = _hat()
    np.testing.assert_allclose(_apply({k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(X)), y, atol=1e-14)
    bound = theory.sharpness_lower_bound(p, X)
    assert bound == pytest.approx(1 + 4 * SQ2 / 9, rel=1e-14)  # 1 + 2 * (2 + 2) * sqrt(2)/18
    assert _lam_max(p, X, y) >= bound
    # any other implementation (rescalings) is at least as sharp as the bound
    rng = np.random.default_rng(0)
    for _ in range(5):
        q = theory.rescale_neurons(p, rng.normal(0, 1.5, 3))
        assert _lam_max(q, X, y) >= bound


def test_lemma4_random_interpolants():
    rng = np.random.default_rng(3)
    for n in (4, 7):
        x = np.sort(rng.uniform(-2, 2, n))
        y = rng.standard_normal(n)
        X, y, p = _midpoint_interpolant(x, y, slope0=rng.standard_normal())
        f = np.asarray(_apply({k: jnp.asarray(v) for k, v in p.items()}, jnp.asarray(X)))
        np.testing.assert_allclose(f, y, atol=1e-12)
        bound = theory.sharpness_lower_bound(p, X)
        assert bound > 1.0
        for _ in range(3):
            q = theory.rescale_neurons(p, rng.normal(0, 1.0, p["b1"].shape[0]))
            assert _lam_max(q, X, y) >= bound * (1 - 1e-12)


# ---------------------------------------------------------------------------------------
# Flattest implementation (Appendix XI)
# ---------------------------------------------------------------------------------------


def test_flattest_hat():
    X, y, p = _hat()
    fl = theory.flattest_implementation(p, X, y)
    bound = theory.sharpness_lower_bound(p, X)
    assert bound <= fl.sharpness <= fl.original_sharpness
    assert fl.sharpness < 0.9 * fl.original_sharpness
    assert fl.original_sharpness == pytest.approx(_lam_max(p, X, y), rel=1e-12)
    assert fl.sharpness == pytest.approx(_lam_max(fl.params, X, y), rel=1e-12)  # evaluated honestly
    grid = jnp.linspace(-3, 3, 61)[:, None]
    f0 = _apply({k: jnp.asarray(v) for k, v in p.items()}, grid)
    f1 = _apply({k: jnp.asarray(v) for k, v in fl.params.items()}, grid)
    np.testing.assert_allclose(f1, f0, rtol=1e-13, atol=1e-13)  # the same function
    # the local method agrees with the convex program
    lb = theory.flattest_implementation(p, X, y, method="lbfgs")
    assert fl.sharpness <= lb.sharpness * (1 + 1e-7)
    assert lb.sharpness == pytest.approx(fl.sharpness, rel=1e-4)


def test_flattest_is_invariant_to_the_starting_implementation():
    rng = np.random.default_rng(5)
    x = np.sort(rng.uniform(-1.5, 1.5, 6))
    X, y, p = _midpoint_interpolant(x, rng.standard_normal(6), slope0=0.3)
    fl = theory.flattest_implementation(p, X, y)
    q = theory.rescale_neurons(p, rng.normal(0, 2.0, p["b1"].shape[0]))
    flq = theory.flattest_implementation(q, X, y)
    # both start on the same rescaling orbit, so the convex problem has the same optimum
    assert flq.sharpness == pytest.approx(fl.sharpness, rel=1e-6)
    assert theory.sharpness_lower_bound(p, X) <= fl.sharpness <= min(fl.original_sharpness, flq.original_sharpness)


def test_flattest_with_mode_hessians_at_a_nondifferentiable_minimum():
    # f = |x| on {-1, 0, 1}: both knots on x = 0 (eq. (37): lambda^upper >= 1 + 2 int |f''| g)
    X = np.array([[-1.0], [0.0], [1.0]])
    y = np.array([1.0, 0.0, 1.0])
    p = {"w1": np.array([[1.0], [-1.0]]), "b1": np.zeros(2), "w2": np.ones(2), "b2": np.array(0.0)}
    mh = ib.diagnostics.mode_hessians(p, X, y)
    fl = theory.flattest_implementation(p, X, y, hessians=mh.hessians)
    bound = theory.sharpness_lower_bound(p, X)
    assert bound == pytest.approx(1 + 4 * SQ2 / 9, rel=1e-14)  # jumps 1 + 1 at t = 0, g(0) = sqrt(2)/9
    assert bound <= fl.sharpness <= mh.upper * (1 + 1e-12)
    after = ib.diagnostics.mode_hessians(fl.params, X, y)
    assert after.upper == pytest.approx(fl.sharpness, rel=1e-10)
    with pytest.warns(UserWarning, match="knot sits on a data point"):
        theory.flattest_implementation(p, X, y)


# ---------------------------------------------------------------------------------------
# Bounds
# ---------------------------------------------------------------------------------------


def test_lemma1_and_theorem1():
    assert theory.max_stable_sharpness(0.01) == pytest.approx(200.0)
    assert theory.is_stable_necessary(199.0, 0.01) and not theory.is_stable_necessary(201.0, 0.01)
    np.testing.assert_allclose(theory.curvature_bound(np.array([0.1, 1.0, 2.0])), [9.5, 0.5, 0.0])
    # Thm 1 = Lemma 4 + Lemma 1: 1 + 2 c <= 2/eta  <=>  c <= 1/eta - 1/2
    eta = 0.37
    assert (theory.max_stable_sharpness(eta) - 1) / 2 == pytest.approx(theory.curvature_bound(eta), rel=1e-15)
    with pytest.raises(ValueError, match="lr"):
        theory.max_stable_sharpness(0.0)


def test_theorem2_constants():
    eta, n, k, L, C = 0.05, 50, 12, 9, 1.7
    r = (1 + k - L) / n
    # eq. (25), written out
    delta = 1.5 * C**2 * r + C * math.sqrt(0.75 * r * (3 * C**2 * r + 2 / eta))
    assert theory.curvature_slack(eta, n=n, width=k, num_knots=L, C=C) == pytest.approx(delta, rel=1e-14)
    # eq. (24) = eq. (36) combined with eq. (37): (lambda_up - 1)/2
    for variant in ("paper", "rederived"):
        lam_up = theory.max_stable_sharpness_nondifferentiable(eta, n=n, p_max=1 + k - L, C=C, variant=variant)
        bound = theory.curvature_bound_nondifferentiable(eta, n=n, width=k, num_knots=L, C=C, variant=variant)
        assert bound == pytest.approx((lam_up - 1) / 2, rel=1e-14)
    # the rederived bound is the root of lambda = 2/eta + delta(lambda), delta = 2 sqrt(3) C sqrt(lambda r)
    # (Lemma 2 with eq. (34)); the printed eq. (35) is not (its excess is half of it)
    lam = theory.max_stable_sharpness_nondifferentiable(eta, n=n, p_max=1 + k - L, C=C, variant="rederived")
    assert lam == pytest.approx(2 / eta + 2 * math.sqrt(3) * C * math.sqrt(lam * r), rel=1e-13)
    lam_p = theory.max_stable_sharpness_nondifferentiable(eta, n=n, p_max=1 + k - L, C=C)
    assert lam_p - 2 / eta == pytest.approx((lam - 2 / eta) / 2, rel=1e-13)
    assert lam_p < 2 / eta + 2 * math.sqrt(3) * C * math.sqrt(lam_p * r)
    # C of Thm 2
    _, _, p = _hat()
    assert theory.gradient_bound_constant(p, [-1.0, 0.0, 1.0]) == pytest.approx(2.0 * 2.0)


def test_doctests():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = doctest.testmod(stability, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
