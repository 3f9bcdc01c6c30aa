"""theory.double_descent: the ridgeless risk curve (hastie2019 Thm 1) against Monte-Carlo
averages of numpy's pinv solution, the exact finite-n Gaussian expectation, and its limits; the min-norm random-feature path
(belkin2019) against hand-solvable cases, numpy pinv and sklearn."""

import numpy as np
import pytest

from implicit_bias import data
from implicit_bias.theory.double_descent import (
    RandomFeatures,
    min_norm_random_features,
    random_features,
    ridgeless_risk,
    ridgeless_risk_curve,
    ridgeless_risk_finite,
)


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


# ------------------------------------------------------------------ belkin2019: random features


def _identity_features(d):
    """Hand-made features: ``phi_k(x) = max(x_k, 0)`` (ReLU with v_k = e_k), so ``Phi = X`` for ``X >= 0``."""
    return RandomFeatures("relu", np.eye(d), np.zeros(d))


def test_hand_solvable_fits():
    # Phi = [[1, 0], [2, 1]], y = (1, 1). N = 1: least squares a = (1 + 2)/(1 + 4) = 0.6, residuals
    # (-0.4, 0.2): training risk (0.16 + 0.04)/2 = 0.1. N = 2 = n: Phi invertible, a = (1, -1), risk 0.
    X, y = np.array([[1.0, 0.0], [2.0, 1.0]]), np.array([1.0, 1.0])
    path = min_norm_random_features(X, y, _identity_features(2))
    assert path.threshold == 2
    f1, f2 = path(1), path(2)
    np.testing.assert_allclose(f1.coef, [0.6], rtol=1e-14)
    assert f1.train_risk == pytest.approx(0.1, rel=1e-13) and f1.rank == 1
    np.testing.assert_allclose(f2.coef, [1.0, -1.0], atol=1e-14)
    assert f2.train_risk < 1e-28 and f2.norm == pytest.approx(np.sqrt(2.0))
    # n = 1 < N = 3: the min-norm interpolant a = phi y / ||phi||^2, phi = (1, 2, 2), y = 9 -> (1, 2, 2)
    one = min_norm_random_features(np.array([[1.0, 2.0, 2.0]]), np.array([9.0]), _identity_features(3))(3)
    np.testing.assert_allclose(one.coef, [1.0, 2.0, 2.0], rtol=1e-14)


@pytest.mark.parametrize("kind", ["relu", "fourier"])
def test_path_matches_numpy_pinv_in_both_regimes(kind):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)
    Xt, yt = rng.standard_normal((50, 4)), rng.standard_normal(50)
    feats = random_features(4, 120, kind, bandwidth=1.5, seed=3)
    path = min_norm_random_features(X, y, feats, Xt, yt)
    for N in (5, 29, 30, 31, 60, 120):
        P = feats(X, N)
        np.testing.assert_array_equal(P, feats(X)[:, :N])  # nested: the first N of one draw
        ref = np.linalg.pinv(P) @ y
        fit = path(N)
        assert np.linalg.norm(fit.coef - ref) <= 1e-8 * np.linalg.norm(ref), N
        assert fit.test_risk == pytest.approx(np.mean((feats(Xt, N) @ ref - yt) ** 2), rel=1e-8)
        assert fit.rank == min(N, 30)
        assert path(N) is fit  # cached


def test_path_matches_sklearn_least_squares():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((25, 3)), rng.standard_normal(25)
    feats = random_features(3, 100, "fourier", seed=0)
    path = min_norm_random_features(X, y, feats)
    for N in (10, 100):  # below n: the unique LS fit; above: sklearn's lstsq (scipy gelsd) gives the min-norm one
        lr = linear_model.LinearRegression(fit_intercept=False).fit(feats(X, N), y)
        np.testing.assert_allclose(path(N).coef, lr.coef_, rtol=1e-7, atol=1e-9)


def test_multi_output_is_columnwise_and_scale_invariant():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 4))
    feats = random_features(3, 60, "relu", seed=0)
    path = min_norm_random_features(X, Y, feats, X, Y)
    for N in (8, 45):
        cols = [min_norm_random_features(X, Y[:, c], feats)(N) for c in range(4)]
        np.testing.assert_allclose(path(N).coef, np.stack([c.coef for c in cols], axis=1), rtol=1e-12, atol=1e-13)
        assert path(N).train_risk == pytest.approx(sum(c.train_risk for c in cols), rel=1e-9, abs=1e-25)
    # ReLU features are homogeneous: scaling every v_k by 3 scales Phi by 3, the predictions do not move
    big = RandomFeatures("relu", 3.0 * feats.weights, feats.offsets)
    a, b = min_norm_random_features(X, Y, feats, X, Y)(45), min_norm_random_features(X, Y, big, X, Y)(45)
    np.testing.assert_allclose(3.0 * b.coef, a.coef, rtol=1e-9)


def test_fourier_features_approximate_the_gaussian_kernel():
    # E phi(x) phi(x') = exp(-||x - x'||^2 / (2 sigma^2)); N = 200000 features: Monte-Carlo s.d. <= ~1/sqrt(N) * sqrt(2)
    x = np.array([[0.0, 0.0], [1.0, 0.5], [-0.3, 2.0]])
    P = random_features(2, 200_000, "fourier", bandwidth=1.3, seed=0)(x)
    K = P @ P.T / P.shape[1]
    D2 = np.sum((x[:, None] - x[None]) ** 2, axis=-1)
    np.testing.assert_allclose(K, np.exp(-D2 / (2 * 1.3**2)), atol=0.015)
    # ReLU features: unit-norm v_k
    np.testing.assert_allclose(np.linalg.norm(random_features(5, 10, "relu", seed=0).weights, axis=1), 1.0, rtol=1e-14)


def test_double_descent_shape_on_a_small_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = np.sin(2 * X[:, 0]) + 0.3 * rng.standard_normal(60)
    Xt = rng.standard_normal((500, 3))
    yt = np.sin(2 * Xt[:, 0]) + 0.3 * rng.standard_normal(500)
    curve = min_norm_random_features(X, y, random_features(3, 600, "fourier", seed=1), Xt, yt).risks([6, 30, 48, 57, 60, 63, 75, 120, 300, 600])
    assert curve.n_features[np.argmax(curve.test_risk)] == 60  # the peak at the threshold
    assert curve.test_risk[-1] < 0.1 * curve.test_risk.max()  # the second descent
    past = curve.n_features > 60
    assert np.all(curve.train_risk[past] < 1e-20) and np.all(curve.train_risk[~past & (curve.n_features < 60)] > 1e-4)
    assert np.all(np.diff(curve.train_risk[curve.n_features < 60]) < 0)  # more features, smaller LS training risk


def test_random_feature_bad_input():
    feats = random_features(2, 10, "relu", seed=0)
    with pytest.raises(ValueError, match="kind"):
        random_features(2, 10, "tanh")
    with pytest.raises(ValueError, match="bandwidth"):
        random_features(2, 10, "fourier", bandwidth=0.0)
    with pytest.raises(ValueError, match="n_features"):
        random_features(2, 0)
    with pytest.raises(ValueError, match=r"X must have shape \(M, 2\)"):
        feats(np.zeros((3, 4)))
    X, y = np.ones((4, 2)), np.ones(4)
    with pytest.raises(ValueError, match="same n"):
        min_norm_random_features(X, np.ones(5), feats)
    with pytest.raises(ValueError, match="together"):
        min_norm_random_features(X, y, feats, X_test=X)
    path = min_norm_random_features(X, y, feats)
    with pytest.raises(ValueError, match=r"n_features must be an integer in \[1, 10\]"):
        path(11)
    # a grid on one side of the threshold N = n = 4: one warning line naming it
    with pytest.warns(UserWarning, match=r"never crosses the interpolation threshold N = n = 4"):
        path.risks([5, 8, 10])
    with pytest.warns(UserWarning, match="never crosses"):
        path.risks([1, 2, 3, 4])
