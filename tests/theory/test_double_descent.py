"""theory.double_descent: the ridgeless risk curve (hastie2019 Thm 1) against Monte-Carlo
averages of numpy's pinv solution, the exact finite-n Gaussian expectation, and its limits."""

import numpy as np
import pytest

from implicit_bias import data
from implicit_bias.theory.double_descent import ridgeless_risk, ridgeless_risk_curve, ridgeless_risk_finite


def _mc_risk(n, d, signal, noise_var, seeds):
    """Average of ||pinv(X) y - beta||^2 over independent Gaussian problems (the oracle route)."""
    out = []
    for s in seeds:
        ds = data.isotropic_regression(n=n, d=d, signal=signal, noise_var=noise_var, seed=s)
        out.append(np.sum((np.linalg.pinv(ds.X) @ ds.y - ds.w_star) ** 2))
    out = np.asarray(out)
    return out.mean(), out.std(ddof=1) / np.sqrt(len(out))


def test_hand_values():
    # gamma = 1/2: sigma^2 (1/2)/(1/2); gamma = 2: r^2 (1 - 1/2) + sigma^2 / 1; gamma = 4, r^2 = 3, sigma^2 = 0.6
    np.testing.assert_allclose(ridgeless_risk([0.5, 2.0], 1.0, 1.0).risk, [1.0, 1.5], rtol=1e-15)
    r = ridgeless_risk(4.0, signal=3.0, noise_var=0.6)
    assert r.bias == pytest.approx(3.0 * 0.75) and r.variance == pytest.approx(0.2)
    assert ridgeless_risk_curve(4.0, 1.0)(2.0) == pytest.approx(3.0)
    # finite n: 49 / (100 - 49 - 1) and 1 - 100/201 + 100/(201 - 100 - 1)
    assert float(ridgeless_risk_finite(100, 49).risk) == pytest.approx(0.98)
    assert float(ridgeless_risk_finite(100, 201).risk) == pytest.approx(1 - 100 / 201 + 1.0)


def test_limits():
    # gamma -> 0: no variance; gamma -> inf: the null risk r^2; the threshold: +inf from both sides
    assert ridgeless_risk(1e-9, 2.0, 1.0).risk == pytest.approx(0.0, abs=1e-8)
    assert ridgeless_risk(1e9, 2.0, 1.0).risk == pytest.approx(2.0, rel=1e-8)
    assert ridgeless_risk(1 - 1e-9, 2.0, 1.0).risk > 1e8 and ridgeless_risk(1 + 1e-9, 2.0, 1.0).risk > 1e8
    assert np.isinf(ridgeless_risk(1.0, 2.0, 1.0).risk)
    # noiseless: zero risk below the threshold, the projection bias above it
    np.testing.assert_allclose(ridgeless_risk([0.3, 1.0, 4.0], 1.0, 0.0).risk, [0.0, 0.0, 0.75], atol=1e-15)
    # the finite-n formula tends to the curve at rate 1/n
    for g in (0.5, 2.0):
        errs = [abs(float(ridgeless_risk_finite(n, int(g * n)).risk) / float(ridgeless_risk(g).risk) - 1) for n in (100, 1000, 10000)]
        assert errs[0] > errs[1] > errs[2] and errs[2] < 1e-3
        assert errs[0] / errs[2] == pytest.approx(100, rel=0.1)


def test_double_descent_minimum_in_the_overparametrised_regime():
    # r > sigma: minimum at gamma* = r / (r - sigma) (hand derivative), here r = 2, sigma = 1 -> 2
    g = np.linspace(1.05, 20, 20001)
    R = ridgeless_risk(g, 4.0, 1.0).risk
    assert g[np.argmin(R)] == pytest.approx(2.0, abs=2e-3)


@pytest.mark.parametrize("n,d", [(60, 20), (20, 60), (30, 90)])
def test_finite_formula_matches_monte_carlo_pinv(n, d):
    m, se = _mc_risk(n, d, 1.5, 0.5, range(400))
    pred = float(ridgeless_risk_finite(n, d, 1.5, 0.5).risk)
    assert abs(m - pred) <= 4 * se, (m, se, pred)


@pytest.mark.parametrize("gamma", [0.25, 0.5, 2.0, 4.0])
def test_asymptotic_curve_matches_monte_carlo_pinv(gamma):
    n = 100
    d = int(gamma * n)
    m, se = _mc_risk(n, d, 1.0, 1.0, range(40))
    pred = float(ridgeless_risk(gamma, 1.0, 1.0).risk)
    # finite-n bias (ridgeless_risk_finite / curve - 1 = 1/(n (1 - gamma) - 1) below, -1/(n (gamma - 1) - 1)
    # of the variance above) <= 2.1 % here, plus 4 Monte-Carlo standard errors
    bias = abs(float(ridgeless_risk_finite(n, d, 1.0, 1.0).risk) / pred - 1)
    assert bias <= 0.021
    assert abs(m / pred - 1) <= bias + 4 * se / pred, (m, se, pred)


def test_bad_input():
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="gamma"):
            ridgeless_risk(bad)
    with pytest.raises(ValueError, match="signal"):
        ridgeless_risk(0.5, signal=-1.0)
    with pytest.raises(ValueError, match="noise_var"):
        ridgeless_risk_curve(1.0, noise_var=np.nan)
    with pytest.raises(ValueError, match="d must"):
        ridgeless_risk_finite(10, 0)


def test_isotropic_regression_generator():
    ds = data.isotropic_regression(n=30, d=80, signal=2.5, noise_var=0.3, seed=4)
    assert ds.X.shape == (30, 80) and ds.w_star @ ds.w_star == pytest.approx(2.5)
    assert ds.noise_var == 0.3 and ds.task == "regression"
    again = data.isotropic_regression(n=30, d=80, signal=2.5, noise_var=0.3, seed=4)
    assert np.array_equal(ds.X, again.X) and np.array_equal(ds.y, again.y)
    # noise_var = 0: y = X beta exactly
    clean = data.isotropic_regression(n=5, d=3, signal=1.0, noise_var=0.0, seed=0)
    np.testing.assert_allclose(clean.y, clean.X @ clean.w_star, atol=1e-14)
    with pytest.raises(ValueError, match="noise_var"):
        data.isotropic_regression(noise_var=-1.0)
    with pytest.raises(ValueError, match="n must"):
        data.isotropic_regression(n=0)
