"""LabelNoiseSGD and ParamNoiseGD: the zero-noise limits are SGD and GD exactly, the noise is
what the formula says (hand-checked one step on a linear model), determinism by seed, bad input."""

import jax
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.algorithms import SGD, GradientDescent, LabelNoiseSGD, Objective, ParamNoiseGD, sample_batch
from implicit_bias.losses import get_loss


def _data():
    return ib.data.random_regression(n=6, d=10, seed=0)


def _train(alg, steps=50, seed=3):
    return ib.train(ib.models.Linear(10), _data(), "square", alg, ib.Stop(max_steps=steps), ib.Record(fields=("predictor",)), seed=seed)


def test_zero_noise_is_sgd_and_gd_exactly():
    a = _train(LabelNoiseSGD(lr=0.5, noise=0.0, batch_size=2))
    b = _train(SGD(lr=0.5, batch_size=2))
    np.testing.assert_array_equal(a.predictor, b.predictor)
    c = _train(ParamNoiseGD(lr=0.5, noise=0.0))
    d = _train(GradientDescent(lr=0.5))
    np.testing.assert_array_equal(c.predictor, d.predictor)


def _one_step(alg, w, key):
    ds = _data()
    obj = Objective(ib.models.Linear(10), get_loss("square"), jax.numpy.asarray(ds.X), jax.numpy.asarray(ds.y))
    new, _, lv = alg.step(obj, {"w": jax.numpy.asarray(w)}, (), key)
    return ds, np.asarray(new["w"]), float(lv)


def test_label_noise_step_by_hand():
    # linear model, square loss 1/(2b) sum (x_i^T w - y_i - s xi_i)^2: grad = X_B^T (X_B w - y_B - s xi) / b
    w = np.linspace(-1, 1, 10)
    key = jax.random.key(7)
    alg = LabelNoiseSGD(lr=0.3, noise=0.8, batch_size=3)
    ds, new, lv = _one_step(alg, w, key)
    idx = np.asarray(sample_batch(key, 6, 3))
    xi = np.asarray(jax.random.normal(jax.random.fold_in(key, 1), (3,)))
    XB, yB = ds.X[idx], ds.y[idx]
    expected = w - 0.3 * XB.T @ (XB @ w - yB - 0.8 * xi) / 3
    np.testing.assert_allclose(new, expected, rtol=1e-13, atol=1e-15)
    assert lv == pytest.approx(np.log(np.mean((ds.X @ w - ds.y) ** 2) / 2), rel=1e-13)  # clean full-batch loss


def test_param_noise_step_by_hand():
    w = np.linspace(-1, 1, 10)
    key = jax.random.key(5)
    ds, new, _ = _one_step(ParamNoiseGD(lr=0.04, noise=2.0), w, key)
    xi = np.asarray(jax.random.normal(jax.random.split(key, 1)[0], (10,)))
    expected = w - 0.04 * ds.X.T @ (ds.X @ w - ds.y) / 6 + 2.0 * 0.2 * xi
    np.testing.assert_allclose(new, expected, rtol=1e-13, atol=1e-15)


def test_label_noise_statistics():
    # full batch, linear model at w = 0: the update is lr X^T (y + s xi) / N; its covariance is
    # lr^2 s^2 X^T X / N^2, checked over 4000 keys (chi-square tolerance on the trace)
    ds = _data()
    alg = LabelNoiseSGD(lr=1.0, noise=0.5, batch_size=6)
    obj = Objective(ib.models.Linear(10), get_loss("square"), jax.numpy.asarray(ds.X), jax.numpy.asarray(ds.y))
    step = jax.jit(jax.vmap(lambda k: alg.step(obj, {"w": jax.numpy.zeros(10)}, (), k)[0]["w"]))
    U = np.asarray(step(jax.random.split(jax.random.key(0), 4000)))
    mean = ds.X.T @ ds.y / 6
    np.testing.assert_allclose(U.mean(0), mean, atol=6 * 0.5 * np.sqrt(np.max(np.diag(ds.X.T @ ds.X))) / 6 / np.sqrt(4000))
    tr = np.trace(np.cov(U.T))
    assert tr == pytest.approx(0.25 * np.trace(ds.X.T @ ds.X) / 36, rel=0.1)


def test_deterministic_by_seed_and_different_across_seeds():
    for alg in (LabelNoiseSGD(lr=0.2, noise=0.5, batch_size=2), ParamNoiseGD(lr=0.2, noise=0.5)):
        a, b, c = _train(alg, seed=1), _train(alg, seed=1), _train(alg, seed=2)
        np.testing.assert_array_equal(a.predictor, b.predictor)
        assert not np.allclose(a.predictor, c.predictor)
        assert a.params["w"].dtype == np.float64 and a.status == "max_steps"


def test_divergence_is_a_status():
    run = ib.train(ib.models.Linear(10), _data(), "square", LabelNoiseSGD(lr=1e3, noise=0.1, batch_size=6), ib.Stop(max_steps=2000))
    assert run.status == "diverged" and np.all(np.isfinite(run.predictor))


def test_bad_input():
    with pytest.raises(ValueError, match="LabelNoiseSGD: noise must be"):
        LabelNoiseSGD(lr=0.1, noise=-1.0)
    with pytest.raises(ValueError, match="ParamNoiseGD: noise must be"):
        ParamNoiseGD(lr=0.1, noise=-0.5)
    with pytest.raises(ValueError, match="ParamNoiseGD: learning rate"):
        ParamNoiseGD(lr=0.0, noise=0.5)
    with pytest.raises(ValueError, match="batch_size"):
        LabelNoiseSGD(lr=0.1, noise=0.1, batch_size=0)
