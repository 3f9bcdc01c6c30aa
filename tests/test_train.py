import numpy as np
import pytest

import implicit_bias as ib


def test_divergence_is_a_status_not_a_nan():
    ds = ib.data.random_regression(n=4, d=8, seed=0)
    lmax = np.linalg.eigvalsh(ds.X.T @ ds.X / 4).max()
    run = ib.train(ib.models.Linear(8), ds, "square", ib.GradientDescent(lr=50.0 / lmax), ib.Stop(loss=1e-12, max_steps=100_000))
    assert run.status == "diverged"
    assert "NaN/Inf" in run.message
    assert np.all(np.isfinite(run.predictor))


def test_gd_never_steps_past_the_target():
    ds = ib.data.random_regression(n=4, d=8, seed=0)
    run = ib.train(ib.models.Linear(8), ds, "square", ib.GradientDescent(lr=0.5), ib.Stop(loss=1e-8), record=ib.Record(fields=("loss",), growth=1.01))
    losses = run.trajectory.loss.values
    assert run.final_loss <= 1e-8
    assert losses[-2] > 1e-8  # the previous record had not reached it


def test_max_steps_and_max_time_statuses():
    ds = ib.data.random_regression(n=4, d=8, seed=0)
    r = ib.train(ib.models.Linear(8), ds, "square", ib.GradientDescent(lr=0.1), ib.Stop(loss=1e-30, max_steps=7))
    assert r.status == "max_steps" and r.steps == 7
    r = ib.train(ib.models.Linear(8), ds, "square", ib.GradientDescent(lr=0.1), ib.Stop(max_time=1.0, max_steps=None))
    assert r.status == "max_time" and r.steps == 10 and r.time == pytest.approx(1.0)


def test_trajectory_dataset_layout():
    ds = ib.data.separable_classification(n=6, d=3, seed=0)
    r = ib.train(ib.models.Linear(3), ds, "logistic", ib.GradientDescent(lr=0.5), ib.Stop(max_steps=50), record=ib.Record(fields=("loss", "log_loss", "training_accuracy", "predictor", "params", "outputs"), steps=[10, 20]))
    tr = r.trajectory
    assert list(tr.step.values) == [0, 10, 20, 50]
    assert tr.predictor.dims == ("t", "dim") and tr.predictor.shape == (4, 3)
    assert tr.outputs.shape == (4, 6)
    np.testing.assert_allclose(tr.training_accuracy.values, -tr.log_loss.values)
    assert tr.attrs["status"] == "max_steps"
    assert r.training_accuracy == pytest.approx(-r.final_log_loss)


def test_classification_loss_on_real_targets_is_an_error():
    with pytest.raises(ValueError, match="labels in"):
        ib.train(ib.models.Linear(2), (np.ones((2, 2)), np.array([0.3, 2.0])), "logistic", ib.GradientDescent(lr=0.1))


def test_dimension_mismatch_is_an_error():
    with pytest.raises(ValueError, match="dimension 3"):
        ib.train(ib.models.Linear(3), (np.ones((2, 2)), np.ones(2)), "square", ib.GradientDescent(lr=0.1))


def test_extreme_training_accuracy_normalized_gd():
    # Normalized GD in log domain reaches -log L = 1e6 (L = e^-1e6 underflows) without NaN.
    ds = ib.data.separable_classification(n=6, d=3, margin=0.3, seed=0)
    r = ib.train(ib.models.Linear(3), ds, "exponential", ib.NormalizedGD(lr=1000.0), ib.Stop(training_accuracy=1e6, max_steps=100_000))
    assert r.status == "converged"
    assert r.training_accuracy >= 1e6
    assert r.final_loss == 0.0 and np.isfinite(r.final_log_loss)


def test_stop_validation():
    with pytest.raises(ValueError, match="loss"):
        ib.Stop(loss=-1.0)
    with pytest.raises(ValueError, match="max_steps"):
        ib.Stop(max_steps=-3)
    with pytest.raises(ValueError, match="unknown field"):
        ib.Record(fields=("sharpnes",))


@pytest.mark.parametrize("alg", ["gd", "flow", "sgd"])
def test_train_many_equals_one_at_a_time(alg):
    ds = ib.data.random_regression(n=4, d=6, seed=0)
    scales = [0.1, 0.5, 1.0]
    make = {
        "gd": lambda s: ib.GradientDescent(lr=0.2 * (1 + s)),
        "flow": lambda s: ib.GradientFlow(),
        "sgd": lambda s: ib.SGD(lr=0.2, batch_size=2),
    }[alg]
    models = [ib.models.Diagonal(6, depth=2, scale=s) for s in scales]
    stop = ib.Stop(loss=1e-10, max_steps=50_000)
    batch = ib.train_many(models, [ds] * 3, "square", [make(s) for s in scales], stop, seeds=[0, 1, 2])
    for m, s, seed, r in zip(models, scales, [0, 1, 2], batch):
        single = ib.train(m, ds, "square", make(s), stop, seed=seed)
        assert r.status == single.status == "converged"
        assert r.steps == single.steps
        np.testing.assert_allclose(r.predictor, single.predictor, rtol=1e-10, atol=1e-13)


def test_train_many_with_different_data_of_same_shape():
    dss = [ib.data.random_regression(n=4, d=6, seed=s) for s in range(3)]
    runs = ib.train_many([ib.models.Linear(6)] * 3, dss, "square", [ib.GradientDescent(lr=0.5)] * 3, ib.Stop(loss=1e-16, max_steps=100_000))
    for ds, r in zip(dss, runs):
        assert ib.diagnostics.relative_error(r.predictor, ib.theory.min_distance_interpolant(ds.X, ds.y)) < 1e-6


def test_train_many_rejects_unbatchable_points():
    ds = ib.data.random_regression(n=4, d=6, seed=0)
    with pytest.raises(ValueError, match="cannot run as one vectorised batch"):
        ib.train_many([ib.models.Diagonal(6, depth=2), ib.models.Diagonal(6, depth=3)], [ds, ds], "square", [ib.GradientDescent(lr=0.1)] * 2, ib.Stop(max_steps=3))


def test_fast_math_agrees_at_round_off_and_still_reports_divergence():
    ds = ib.data.random_regression(n=4, d=8, seed=0)
    stop = ib.Stop(loss=1e-20, max_steps=100_000)
    strict = ib.train(ib.models.Diagonal(8, depth=2, scale=0.5), ds, "square", ib.GradientDescent(lr=0.2), stop)
    fast = ib.train(ib.models.Diagonal(8, depth=2, scale=0.5), ds, "square", ib.GradientDescent(lr=0.2), stop, fast_math=True)
    assert strict.status == fast.status == "converged"
    assert abs(strict.steps - fast.steps) <= 1
    np.testing.assert_allclose(fast.predictor, strict.predictor, rtol=1e-9, atol=1e-12)
    lmax = np.linalg.eigvalsh(ds.X.T @ ds.X / 4).max()
    run = ib.train(ib.models.Linear(8), ds, "square", ib.GradientDescent(lr=50.0 / lmax), ib.Stop(loss=1e-12, max_steps=100_000), fast_math=True)
    assert run.status == "diverged" and np.all(np.isfinite(run.predictor))


def test_sgd_randomness_is_fold_in_seed_1_then_step():
    # the documented convention: the algorithm's key is fold_in(key(seed), 1), step k uses fold_in(that, k)
    import jax

    from implicit_bias.algorithms import Objective

    ds = ib.data.random_regression(n=8, d=5, seed=1)
    model, alg, seed = ib.models.Linear(5), ib.SGD(lr=0.3, batch_size=3), 7
    run = ib.train(model, ds, "square", alg, ib.Stop(loss=1e-30, max_steps=4), seed=seed)
    obj = Objective(model, ib.losses.get_loss("square"), jax.numpy.asarray(ds.X), jax.numpy.asarray(ds.y))
    p = model.init(jax.random.fold_in(jax.random.key(seed), 0))
    s = alg.init_state(obj, p)
    key = jax.random.fold_in(jax.random.key(seed), 1)
    for k in range(4):
        p, s, _ = alg.step(obj, p, s, jax.random.fold_in(key, k))
    np.testing.assert_allclose(run.params["w"], p["w"], rtol=1e-13, atol=1e-15)
    other = ib.train(model, ds, "square", alg, ib.Stop(loss=1e-30, max_steps=4), seed=seed + 1)
    assert np.max(np.abs(other.params["w"] - p["w"])) > 1e-6  # the seed matters


def test_trajectory_is_built_on_first_access_and_kept():
    import dataclasses

    ds = ib.data.random_regression(n=4, d=8, seed=0)
    run = ib.train(ib.models.Linear(8), ds, "square", ib.GradientDescent(lr=0.5), ib.Stop(loss=1e-8))
    assert "trajectory" in [f.name for f in dataclasses.fields(run)]
    tr = run.trajectory
    assert tr is run.trajectory and int(tr.step.values[-1]) == run.steps


@pytest.mark.parametrize("fast_math", [False, True])
def test_a_step_to_non_finite_parameters_at_a_finite_loss_keeps_the_last_finite_ones(fast_math):
    # the first step overflows the parameters (lr * grad = inf) while the loss at the input
    # parameters is finite: only the parameter check catches it, before the step is taken
    ds = ib.data.random_regression(n=4, d=3, seed=0)
    model = ib.models.Linear(3)
    p0 = {"w": np.array([50.0, -25.0, 100.0])}  # |grad| ~ 1e2: lr * grad overflows
    run = ib.train(model, ds, "square", ib.GradientDescent(lr=1e308), ib.Stop(loss=1e-12, max_steps=10), init=p0, fast_math=fast_math)
    assert run.status == "diverged" and run.steps == 0
    np.testing.assert_array_equal(np.asarray(run.params["w"]), p0["w"])
    runs = ib.train_many([model] * 2, [ds] * 2, "square", [ib.GradientDescent(lr=1e308), ib.GradientDescent(lr=0.1)], ib.Stop(loss=1e-12, max_steps=10), inits=[p0, p0], fast_math=fast_math)
    assert [r.status for r in runs] == ["diverged", "max_steps"]
    np.testing.assert_array_equal(np.asarray(runs[0].params["w"]), p0["w"])
    assert np.all(np.isfinite(np.asarray(runs[1].params["w"])))


def test_dimension_mismatch_reads_the_declared_input_dim():
    # ShallowReLU declares input_dim as a field, the others as a property over dim
    with pytest.raises(ValueError, match="dimension 2 but X has 3 columns"):
        ib.train(ib.models.ShallowReLU(width=4, input_dim=2), (np.ones((2, 3)), np.ones(2)), "square", ib.GradientDescent(lr=0.1))


def test_the_loop_codes_are_named_and_keep_their_values():
    from implicit_bias.algorithms import FlowCode, StepFlag

    assert [int(c) for c in (StepFlag.BUDGET, StepFlag.TARGET, StepFlag.NONFINITE)] == [0, 1, 2]
    assert [int(c) for c in (FlowCode.OK, FlowCode.EVENT, FlowCode.MAX_STEPS, FlowCode.FAILED)] == [0, 1, 2, 3]


def test_an_algorithm_of_neither_kind_is_an_error():
    class Neither(ib.algorithms.AbstractAlgorithm):
        pass

    with pytest.raises(ValueError, match="must be an implicit_bias algorithm"):
        ib.train(ib.models.Linear(2), (np.ones((2, 2)), np.ones(2)), "square", Neither())


def test_a_dead_relu_network_is_its_own_status():
    # every unit's pre-activation w1_i x + b1_i is <= 0 on every input in [-1, 1]: the hidden layer
    # has zero gradient, GD can only fit the output bias, and the run cannot reach the target
    X = np.linspace(-1.0, 1.0, 5)[:, None]
    ds = (X, np.sin(3.0 * X[:, 0]))
    m = ib.models.ShallowReLU(4, input_dim=1)
    p0 = {"w1": np.array([[1.0], [-1.0], [0.5], [2.0]]), "b1": np.full(4, -2.0), "w2": np.ones(4), "b2": np.array(0.0)}
    r = ib.train(m, ds, "square", ib.GradientDescent(lr=0.1), ib.Stop(loss=1e-12, max_steps=200), init=p0)
    assert r.status == "dead" and "4 hidden units" in r.message and "max_steps=200" in r.message
    np.testing.assert_array_equal(r.params["w1"], p0["w1"])  # the hidden layer never moved
    # one live unit (b1_0 = -0.5: active for x > 0.5): the same budget is an honest max_steps
    p1 = dict(p0, b1=np.array([-0.5, -2.0, -2.0, -2.0]))
    r = ib.train(m, ds, "square", ib.GradientDescent(lr=0.1), ib.Stop(loss=1e-12, max_steps=200), init=p1)
    assert r.status == "max_steps"
    from implicit_bias.train import STATUSES

    assert "dead" in STATUSES


def test_seed_may_be_a_jax_key_and_params_are_numpy_like_the_predictor():
    import jax

    from implicit_bias.train import as_seed

    ds = ib.data.random_regression(n=4, d=6, seed=0)
    m = ib.models.Diagonal(6, scale=0.5)
    alg, stop = ib.GradientDescent(lr=0.05), ib.Stop(max_steps=5)
    r_key = ib.train(m, ds, "square", alg, stop, seed=jax.random.key(7))
    r_int = ib.train(m, ds, "square", alg, stop, seed=as_seed(jax.random.key(7)))
    np.testing.assert_array_equal(r_key.predictor, r_int.predictor)  # a key is its integer seed
    assert r_key.trajectory.attrs["seed"] == as_seed(jax.random.key(7))
    assert as_seed(jax.random.key(7)) != as_seed(jax.random.key(8))
    assert as_seed(jax.random.PRNGKey(7)) == as_seed(jax.random.key(7))  # raw uint32[2] keys too
    assert type(r_key.predictor) is np.ndarray and all(type(v) is np.ndarray for v in r_key.params.values())
    for bad in (-1, 1.5, "0", jax.random.split(jax.random.key(0), 3)):
        with pytest.raises(ValueError, match="seed"):
            ib.train(m, ds, "square", alg, stop, seed=bad)


def test_a_callable_loss_trains_like_the_builtin_one():
    import jax.numpy as jnp

    ds = ib.data.random_regression(n=4, d=6, seed=0)
    alg, stop = ib.GradientDescent(lr=0.1), ib.Stop(loss=1e-10, max_steps=20_000)
    r_fn = ib.train(ib.models.Linear(6), ds, lambda f, y: 0.5 * jnp.mean((f - y) ** 2), alg, stop)
    r_sq = ib.train(ib.models.Linear(6), ds, "square", alg, stop)  # L = mean (f - y)^2 / 2
    assert r_fn.status == r_sq.status == "converged" and r_fn.steps == r_sq.steps
    np.testing.assert_allclose(r_fn.predictor, r_sq.predictor, rtol=1e-10)
    assert r_fn.training_accuracy is None
    with pytest.raises(ValueError, match="fn must be a function"):
        ib.losses.CallableLoss(3.0)


def test_a_stiff_parameter_flow_that_runs_out_of_budget_names_the_reduced_route():
    ds = ib.data.sparse_regression(n=5, d=12, sparsity=2, seed=0)
    m = ib.models.Diagonal(12, depth=2, tied=False, scale=100.0)
    r = ib.train(m, ds, "square", ib.GradientFlow(), ib.Stop(loss=1e-10, max_steps=40))
    assert r.status == "max_steps" and "--algorithm reduced" in r.message
    r = ib.train(m, ds, "square", ib.ReducedFlow(rtol=1e-8, atol=1e-16), ib.Stop(loss=1e-10, max_steps=100_000))
    assert r.status == "converged"
    r = ib.train(ib.models.Linear(12), ds, "square", ib.GradientFlow(), ib.Stop(loss=1e-30, max_steps=5))
    assert r.status == "max_steps" and "reduced" not in r.message  # no closed form: no such advice


def test_progress_shows_the_compile_phase_until_the_first_segment():
    from implicit_bias.train import COMPILING, TrainProgress

    bar = TrainProgress(True, ib.Stop(loss=1e-12, max_steps=100), False)
    try:
        assert bar.p.tasks[0].fields["info"] == COMPILING
        bar.update(np.array([10]), np.array([0.1]), np.array([-3.0]), [None])
        assert bar.p.tasks[0].fields["info"].startswith("t=0.1 loss=")
    finally:
        bar.close()
