"""GainTrackedGD: GD's update, plus the trajectory sums of the effective initialization as state."""

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.algorithms import GainSums, GainTrackedGD, GradientDescent


def _data():
    return ib.data.sparse_regression(n=6, d=8, sparsity=2, noise_var=0.0, seed=1)


def test_parameters_are_gd_and_the_sums_are_those_of_the_steps_by_hand():
    ds, model = _data(), ib.models.Diagonal(8, depth=2, scale=0.3)
    stop = ib.Stop(loss=1e-30, max_steps=25)
    rec = ib.Record(fields=("predictor",), steps=range(1, 26))
    run = ib.train(model, ds, "square", GainTrackedGD(lr=0.2), stop, rec)
    ref = ib.train(model, ds, "square", GradientDescent(lr=0.2), stop)
    assert run.steps == 25 and isinstance(run.state, GainSums)
    np.testing.assert_array_equal(run.params["u_plus"], ref.params["u_plus"])
    np.testing.assert_array_equal(run.params["u_minus"], ref.params["u_minus"])
    P = run.trajectory.predictor.values[:-1]  # w_0 .. w_24, the points the steps were taken from
    G = (P @ ds.X.T - ds.y) @ ds.X / ds.X.shape[0]  # grad_w of (1/2N)||Xw - y||^2, by hand
    np.testing.assert_allclose(run.state.grad, G.sum(0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run.state.log_minus, np.log(np.abs(1 - 0.4 * G)).sum(0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(run.state.log_plus, np.log(np.abs(1 + 0.4 * G)).sum(0), rtol=1e-12, atol=1e-14)


def test_bad_lr_and_a_model_without_predictor():
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        GainTrackedGD(lr=-1.0)
    X = np.random.default_rng(0).normal(size=(4, 2))
    with pytest.raises(ValueError, match="linear predictor"):
        ib.train(ib.models.FullyConnected(2, widths=(3,), activation="relu"), (X, X[:, 0]), "square", GainTrackedGD(lr=0.1), ib.Stop(max_steps=2))
