"""Building blocks of implicit_bias.experiments.double_descent at tiny sizes (the registered
experiments belkin2019-double-descent and vardi2022-fig1 run in tests/experiments/test_registry.py)."""

import matplotlib
import numpy as np
import pytest
import xarray as xr

from implicit_bias import theory
from implicit_bias.experiments import double_descent as dd

matplotlib.use("Agg")

pytestmark = pytest.mark.xdist_group("double_descent")  # with its experiments in test_registry.py


def test_problems():
    X, y, Xt, yt = dd.synthetic_problem(20, 30, dim=4, seed=1)
    assert X.shape == (20, 4) and y.shape == (20,) and Xt.shape == (30, 4) and yt.shape == (30,)
    assert np.array_equal(dd.synthetic_problem(20, 30, dim=4, seed=1)[1], y)
    pytest.importorskip("sklearn")
    X, Y, Xt, Yt = dd.digits_problem(50, seed=0)
    assert X.shape[0] == 50 and Xt.shape[0] == 1797 - 50 and X.shape[1] == Xt.shape[1] <= 64
    assert Y.shape == (50, 10) and np.all(Y.sum(axis=1) == 1)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)  # standardised on the training set
    np.testing.assert_allclose(X.std(axis=0), 1.0, rtol=1e-12)
    with pytest.raises(ValueError, match="n must be in"):
        dd.digits_problem(1797)


def test_gd_from_zero_reaches_lstsq_in_both_regimes():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((12, 3)), rng.standard_normal(12)
    for N, status in ((48, "converged"), (4, "max_steps")):
        P = theory.random_features(3, N, "fourier", seed=0)(X)
        res = dd.gd_min_norm([("a", P, y), ("b", P, -2.0 * y)])
        for r in res.values():
            assert r["status"] == status and r["error"] < 1e-8, (N, r)


def test_gd_steps_contract_the_error():
    k = 100.0
    K = dd.gd_steps(k, 1e-12)
    assert ((k - 1) / (k + 1)) ** (K - 10) <= 1e-12 < ((k - 1) / (k + 1)) ** (K - 11)


def _curve(peak_at):
    N = np.array([10, 50, 90, 100, 110, 200, 1000])
    test = np.array([1.0, 1.2, 3.0, 2.0, 2.5, 0.8, 0.4])
    test[list(N).index(peak_at)] = 50.0
    train = np.where(N < 100, 0.5 / N, 1e-29)
    return {"n_features": N, "train_risk": train, "test_risk": test, "norm": test, "scale": 1.0}


def test_curve_checks_pass_and_fail():
    ok = dd.curve_checks("toy", "relu", _curve(100), 100)
    assert [c.id.rsplit("/", 1)[1] for c in ok] == ["peak", "second-descent", "interpolation"]
    assert all(c.passed for c in ok)
    far = dd.curve_checks("toy", "relu", _curve(200), 100)
    assert not far[0].passed and far[0].error == pytest.approx(1.0)  # peak at 2n: outside the window
    c = _curve(100)
    c["train_risk"] = np.where(c["n_features"] > 100, 1e-6, c["train_risk"])  # no interpolation past n
    assert not dd.curve_checks("toy", "relu", c, 100)[2].passed


def test_double_descent_figure_on_a_tiny_dataset():
    curves = {p: {k: _curve(100) for k in ("relu", "fourier")} for p in ("synthetic", "digits")}
    N = curves["synthetic"]["relu"]["n_features"]
    ds = xr.Dataset(
        {v: (("problem", "features", "N"), np.asarray([[curves[p][k][v] for k in ("relu", "fourier")] for p in curves])) for v in ("train_risk", "test_risk")},
        coords={"problem": list(curves), "features": ["relu", "fourier"], "N": N},
        attrs={"n": 100, "seeds": [0]},
    )
    fig = dd.double_descent_figure(ds)
    assert len(fig.axes) == 2 and all(ax.get_xscale() == "log" for ax in fig.axes)
    matplotlib.pyplot.close(fig)


def test_polynomial_fits_and_figure():
    res = dd.polynomial_fits(12, (3, 8), 0.1, seeds=(0, 1, 2))
    assert res["train"].shape == (3, 2) and np.all(res["train"][:, 1] <= res["train"][:, 0])  # nested least squares
    # noiseless cubic: the degree-3 fit is exact, the degree-8 one too (it contains the cubic)
    exact = dd.polynomial_fits(12, (3, 8), 0.0, seeds=(0,))
    assert np.all(exact["train"] < 1e-20) and np.all(exact["test"] < 1e-16)
    fig = dd.polynomial_figure(res)
    assert len(fig.axes) == 1
    matplotlib.pyplot.close(fig)
