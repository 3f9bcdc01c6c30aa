import numpy as np
import pytest
import scipy.linalg

import implicit_bias as ib


def test_flow_matches_matrix_exponential():
    # Linear least squares: w(t) = w* + expm(-t H)(w0 - w*) in the row space, H = X^T X / N.
    ds = ib.data.random_regression(n=3, d=5, seed=0)
    X, y = ds.X, ds.y
    H = X.T @ X / 3
    times = [0.5, 2.0, 7.0]
    run = ib.train(ib.models.Linear(5), ds, "square", ib.GradientFlow(), ib.Stop(max_time=7.0), record=ib.Record(fields=("predictor",), times=times))
    assert run.status == "max_time"
    b = X.T @ y / 3
    for t in times:
        # w(t) solves w' = -(H w - b), w(0) = 0: w(t) = -expm(-tH) w_p + w_p with H w_p = b in range
        w_p = np.linalg.lstsq(H, b, rcond=None)[0]
        ref = w_p - scipy.linalg.expm(-t * H) @ w_p
        got = run.trajectory.predictor.sel(t=run.trajectory.time == t).values[0]
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-12)


def test_flow_stops_exactly_on_the_loss_target():
    ds = ib.data.random_regression(n=4, d=8, seed=1)
    run = ib.train(ib.models.Linear(8), ds, "square", ib.GradientFlow(), ib.Stop(loss=1e-6))
    assert run.status == "converged"
    # continuous event + root find: no overshoot beyond the root-finder tolerance
    assert run.final_loss == pytest.approx(1e-6, rel=1e-4)


def test_gd_approaches_flow_at_order_one():
    # diffrax test_ode_order style: error of GD at time T vs the flow falls like eta.
    ds = ib.data.random_regression(n=4, d=8, seed=2)
    T = 2.0
    flow = ib.train(ib.models.Linear(8), ds, "square", ib.GradientFlow(), ib.Stop(max_time=T), record=ib.Record(fields=("predictor",), times=[T]))
    errs, etas = [], [0.1, 0.05, 0.025, 0.0125]
    for eta in etas:
        gd = ib.train(ib.models.Linear(8), ds, "square", ib.GradientDescent(lr=eta), ib.Stop(max_steps=int(round(T / eta))))
        errs.append(np.linalg.norm(gd.predictor - flow.predictor))
    slope = np.polyfit(np.log(etas), np.log(errs), 1)[0]
    assert slope == pytest.approx(1.0, abs=0.05)


def test_flow_needs_a_stopping_rule():
    with pytest.raises(ValueError, match="stopping rule"):
        ib.train(ib.models.Linear(2), (np.ones((1, 2)), np.ones(1)), "square", ib.GradientFlow(), ib.Stop(max_steps=10))
