import jax.numpy as jnp
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


# ReducedFlow: the N-dimensional dual ODE reproduces parameter-space gradient flow along the
# whole trajectory (issue 5), for every family with a closed form, biased inits included.

_REDUCED = {
    "tied-2": lambda d: ib.models.Diagonal(d, depth=2, scale=0.3),
    "tied-5-biased": lambda d: ib.models.Diagonal(d, depth=5, init_params={"u_plus": np.linspace(0.3, 0.9, d), "u_minus": np.linspace(0.8, 0.2, d)}),
    "untied-2-shape": lambda d: ib.models.Diagonal(d, depth=2, tied=False, scale=0.05, shape=np.linspace(-0.8, 0.9, d)),
    "untied-2-biased": lambda d: ib.models.Diagonal(
        d, depth=2, tied=False, init_params={"u_plus": np.vstack([np.full(d, 0.4), np.linspace(-0.5, 0.7, d)]), "u_minus": np.vstack([np.linspace(0.1, 0.6, d), np.full(d, -0.3)])}
    ),
}


@pytest.mark.parametrize("name", list(_REDUCED))
def test_reduced_flow_reproduces_parameter_space_trajectories(name):
    ds = ib.data.random_regression(n=4, d=9, seed=3)
    m = _REDUCED[name](9)
    rec = ib.Record(fields=("params", "predictor"), times=(0.05, 0.3, 1.0, 3.0), growth=2.0)
    stop = ib.Stop(loss=1e-16)
    red = ib.train(m, ds, "square", ib.ReducedFlow(rtol=1e-12, atol=1e-14), stop, record=rec)
    ref = ib.train(m, ds, "square", ib.GradientFlow(rtol=1e-12, atol=1e-14), stop, record=rec)
    assert red.status == ref.status == "converged", (red.message, ref.message)
    a, b = red.trajectory, ref.trajectory
    n = min(a.sizes["t"], b.sizes["t"]) - 1  # the last row is each run's own stopping time
    assert n >= 5
    np.testing.assert_array_equal(a.time.values[:n], b.time.values[:n])
    for k in ("param_u_plus", "param_u_minus", "predictor"):
        x, r = a[k].values[:n], b[k].values[:n]
        err = np.linalg.norm((x - r).reshape(n, -1), axis=1) / np.maximum(np.linalg.norm(r.reshape(n, -1), axis=1), 1e-300)
        assert err.max() <= 1e-8, (k, err)
    # both stop on the target loss level (the stopping *times* differ by ~1e-5 relative: near
    # the end the residual is 1e-8 of its start, so 1e-10 path errors are 1e-2 of the residual)
    assert red.final_loss == pytest.approx(1e-16, rel=1e-6) and ref.final_loss == pytest.approx(1e-16, rel=1e-6)


def test_reduced_flow_closed_form_by_hand():
    # tied D = 2, u_pm(0) = a: w = a^2 (e^{4z} - e^{-4z}) = 2 a^2 sinh(4z)
    m = ib.models.Diagonal(3, depth=2, scale=0.7)
    z = np.array([-0.3, 0.0, 0.2])
    np.testing.assert_allclose(m.predictor(m.flow_params(m.init(), z)), 2 * 0.49 * np.sinh(4 * z), rtol=1e-14)
    # tied D = 3: u_+ = (1/a - 3 z)^{-1}, u_- = (1/a + 3 z)^{-1}
    m3 = ib.models.Diagonal(3, depth=3, scale=0.5)
    np.testing.assert_allclose(m3.predictor(m3.flow_params(m3.init(), z)), (2 - 3 * z) ** -3 - (2 + 3 * z) ** -3, rtol=1e-14)


def test_reduced_flow_rejects_models_without_closed_form():
    ds = ib.data.random_regression(n=3, d=4, seed=0)
    with pytest.raises(ValueError, match="closed form"):
        ib.train(ib.models.Diagonal(4, depth=3, tied=False, scale=0.5), ds, "square", ib.ReducedFlow(), ib.Stop(loss=1e-10))
    with pytest.raises(ValueError, match="closed form"):
        ib.train(ib.models.Linear(4), ds, "square", ib.ReducedFlow(), ib.Stop(loss=1e-10))


def test_reduced_flow_vmaps_over_scales():
    ds = ib.data.sparse_regression(n=8, d=20, sparsity=2, seed=1)
    ms = [ib.models.Diagonal(20, depth=2, tied=False, scale=a, shape=s) for a, s in [(0.01, 0.0), (0.1, 0.5), (1.0, -0.5)]]
    runs = ib.train_many(ms, [ds] * 3, "square", [ib.ReducedFlow()] * 3, ib.Stop(loss=1e-20), seeds=[0] * 3)
    for m, r in zip(ms, runs):
        one = ib.train(m, ds, "square", ib.ReducedFlow(), ib.Stop(loss=1e-20))
        assert r.status == one.status == "converged"
        np.testing.assert_allclose(r.predictor, one.predictor, rtol=1e-9, atol=1e-12)


def test_overflowing_trial_step_is_rejected_not_fatal():
    # azulay2021 Fig. 7.1 grid point (alpha = 10, s = tanh(2.368)): diffrax's first trial step
    # overflows cosh in the reduced flow, the error estimate is inf - inf = nan, and with the
    # default RMS norm the controller set dt = nan and rejected every later step (status
    # max_steps after 100000 rejections). The finite-or-inf norm shrinks the step instead.
    ds = ib.data.sparse_regression(n=100, d=1000, sparsity=5, noise_var=0.01, seed=0)
    m = ib.models.Diagonal(1000, depth=2, tied=False, scale=10.0, shape=0.982619788837)
    run = ib.train(m, ds, "square", ib.ReducedFlow(rtol=1e-8, atol=1e-16), ib.Stop(loss=1e-12, max_steps=100_000), record=ib.Record(fields=("loss",), growth=4.0))
    assert run.status == "converged" and run.steps < 1000
    w = ib.theory.diagonal_interpolant(ds.X, ds.y, m).w
    assert ib.diagnostics.relative_error(run.predictor, w) < 1e-4


@pytest.mark.parametrize("depth", [2, pytest.param(3, marks=pytest.mark.slow)])  # 12 compiled flows: depth 3 in the slow suite
def test_clocks_trace_the_same_path(depth):
    # theta' = -grad L, -grad log L and d theta/d gamma = -grad log L / ||grad log L||^2 differ
    # only in the time variable: stopping all at the same training accuracy gamma = -log L
    # gives the same point, in parameter space and in the reduced coordinates.
    ds = ib.data.separable_classification(n=6, d=3, margin=0.1, seed=1)
    m = ib.models.Diagonal(3, depth=depth, scale=0.5)
    rec = ib.Record(fields=("training_accuracy",), growth=4.0)
    ref = None
    for clock in ib.algorithms.CLOCKS:
        for alg in (ib.GradientFlow(clock=clock, rtol=1e-11, atol=1e-14), ib.ReducedFlow(clock=clock, rtol=1e-11, atol=1e-14)):
            run = ib.train(m, ds, "exponential", alg, ib.Stop(training_accuracy=6.0, max_steps=100_000), record=rec)
            assert run.status == "converged" and abs(run.training_accuracy - 6.0) < 1e-6
            ref = run.predictor if ref is None else ref
            assert ib.diagnostics.relative_error(run.predictor, ref) < 1e-8, (clock, alg.name)
        if clock == "accuracy":  # the clock is the accuracy gained
            assert float(run.trajectory.time[-1]) == pytest.approx(6.0 - float(run.trajectory.training_accuracy[0]), rel=1e-6)


def test_unknown_clock_is_one_clear_error():
    with pytest.raises(ValueError, match="unknown clock 'wall'; use one of time, normalized, accuracy"):
        ib.GradientFlow(clock="wall")


def test_solve_segment_reports_named_codes():
    from implicit_bias.algorithms import FlowCode, Objective

    ds = ib.data.random_regression(n=3, d=5, seed=0)
    m = ib.models.Linear(5)
    obj = Objective(m, ib.losses.get_loss("square"), jnp.asarray(ds.X), jnp.asarray(ds.y))
    p0 = m.init(None)
    for alg, t1, target, code in (
        (ib.GradientFlow(), 1e-3, -1e300, FlowCode.OK),
        (ib.GradientFlow(), 1e6, np.log(1e-10), FlowCode.EVENT),
        (ib.GradientFlow(max_steps=2), 1e6, np.log(1e-10), FlowCode.MAX_STEPS),
    ):
        out = alg.solve_segment(obj, p0, alg.init_state(obj, p0), 0.0, t1, target)
        assert int(out[4]) == code, alg


@pytest.mark.parametrize("budget", [1234])
def test_max_steps_is_the_total_budget_of_a_flow_exactly(budget):
    # an unreachable target: the run ends on its step budget, at exactly that many solver steps
    # (it used to overshoot by the steps of its last segment: 103,406 against 100,000)
    ds = ib.data.random_regression(n=10, d=40, seed=0)
    run = ib.train(ib.models.Linear(40), ds, "square", ib.GradientFlow(), ib.Stop(loss=1e-40, max_steps=budget), ib.Record(fields=("loss",)), seed=0)
    assert run.status == "max_steps" and run.steps == budget, (run.steps, run.message)
    assert int(run.trajectory.step.values[-1]) == budget
