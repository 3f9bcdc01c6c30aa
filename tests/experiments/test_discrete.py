"""Building blocks of implicit_bias.experiments.discrete at tiny sizes (the registered
experiments themselves run in tests/experiments/test_registry.py)."""

import matplotlib
import numpy as np
import pytest

from implicit_bias.experiments import discrete


pytestmark = pytest.mark.xdist_group("discrete")  # with its experiments in test_registry.py: shared cached runs

matplotlib.use("Agg")


@pytest.mark.parametrize("n,d,status", [(12, 4, "max_steps"), (6, 15, "converged")])
def test_ridgeless_monte_carlo_is_gd_to_pinv(n, d, status):
    mc = discrete.ridgeless_monte_carlo(n, d, range(3))
    assert mc["expected_status"] == status and mc["status"] == [status] * 3
    assert mc["pinv_error"].max() <= 1e-8
    assert mc["risk"].shape == (3,) and np.all(mc["risk"] > 0)


def test_gd_step_budget_contracts_the_error():
    # rate (4 - 1)/(4 + 1) = 0.6: 0.6^K <= 1e-12 needs K >= 54.1, plus the 10-step margin
    assert discrete.gd_steps(1.0, 4.0) == 55 + 10
    assert 0.6 ** (discrete.gd_steps(1.0, 4.0) - 10) <= 1e-12


def test_seed_count_grows_near_the_threshold_and_with_precision():
    s = [discrete.n_seeds(100, d, 0.02) for d in (80, 95, 120, 500)]
    assert s[1] > s[0] and s[2] > s[3]
    assert discrete.n_seeds(100, 20, 0.01) >= 4 * discrete.n_seeds(100, 20, 0.02) - 4
    assert discrete.n_seeds(100, 2000, 0.5) == 8  # the floor


def test_risk_figure_from_a_synthetic_table():
    rows = [{"gamma": g, "mc": 1.0, "se": 0.1} for g in (0.5, 2.0)]
    fig = discrete.risk_figure(rows, 50, "synthetic")
    assert len(fig.axes) == 1
    matplotlib.pyplot.close(fig)


def test_effective_init_runs_carry_the_sums_of_the_recorded_trajectory():
    from implicit_bias import theory

    ds, model, runs = discrete.effective_init_runs((0.5,), 40, every_step=True)
    run = runs[0]
    assert run.status == "max_steps" and run.trajectory.predictor.shape == (41, 30)
    P = run.trajectory.predictor.values
    recorded = theory.effective_initialization(0.1, 0.1, theory.gd_gradients(ds.X, ds.y, P[:-1]), 0.5)
    carried = theory.effective_initialization_from_sums(0.1, 0.1, 0.5, *run.state)
    np.testing.assert_allclose(recorded.predictor(), run.predictor, rtol=1e-11, atol=1e-14)
    for name in ("alpha_plus", "alpha_minus", "z"):
        np.testing.assert_allclose(getattr(carried, name), getattr(recorded, name), rtol=1e-12, atol=1e-15)


def test_label_noise_runs_two_phases_at_a_tiny_size():
    import implicit_bias as ib

    ds, phase1, final = discrete.label_noise_runs(200, (0,), polish_steps=3000)
    assert set(phase1) == {"label-noise", "param-noise 0.001", "param-noise 0.01"} and set(final) == set(phase1) | {"gd"}
    r = phase1["label-noise"][0]
    assert r.steps == 200 and r.trajectory.step.values[-1] == 200 and r.trajectory.predictor.shape[1] == 100
    # the plain-GD control is GD from the initialization, to the end-phase target
    ref = ib.train(ib.models.Diagonal(100, depth=2, scale=1.0), ds, "square", ib.GradientDescent(lr=0.05), ib.Stop(loss=1e-5, max_steps=3000))
    assert final["gd"][0].status == ref.status == "converged"
    np.testing.assert_allclose(final["gd"][0].predictor, ref.predictor, rtol=1e-10, atol=1e-12)


def test_igr_distances_fall_at_first_and_second_order_on_a_tiny_diagonal_net():
    import implicit_bias as ib

    model = ib.models.Diagonal(4, depth=2, scale=0.5)
    ds = ib.data.random_regression(n=2, d=4, seed=0)
    r = discrete.igr_distances(model, ds, (20, 40), 1.0)
    assert r["statuses"] == ["max_time"] * 2
    # halving eta halves the distance to the flow of L and quarters the one to the modified flow
    assert r["to_flow"][0] / r["to_flow"][1] == pytest.approx(2.0, rel=0.1)
    assert r["to_modified"][0] / r["to_modified"][1] == pytest.approx(4.0, rel=0.15)
    assert r["flow_error"] < 1e-3 * r["to_modified"].min()


def test_modified_flow_reference_matches_the_quadratic_closed_form():
    import scipy.linalg

    import implicit_bias as ib

    rng = np.random.default_rng(0)
    X, w0 = rng.standard_normal((3, 3)), rng.standard_normal(3)
    ds = ib.data.Dataset(X, np.zeros(3), "regression")
    A = X.T @ X / 3
    got = discrete.modified_flows(ib.models.Linear(3), ds, {"w": w0}, [0.0, 0.1], 1.5)
    np.testing.assert_allclose(got[0, 0], scipy.linalg.expm(-1.5 * A) @ w0, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(got[0, 1], scipy.linalg.expm(-1.5 * (A + 0.05 * A @ A)) @ w0, rtol=1e-10, atol=1e-13)


def test_threshold_bracket_is_the_largest_converged_step_and_the_next_failure():
    rows = [{"lr": 0.1, "status": "converged"}, {"lr": 0.2, "status": "converged"}, {"lr": 0.3, "status": "max_steps"}, {"lr": 0.4, "status": "diverged"}]
    assert discrete.threshold_bracket(rows) == (0.2, 0.3)
    assert discrete.threshold_bracket(rows[:2]) == (0.2, None)
    assert discrete.threshold_bracket(rows[3:]) == (None, None)


def test_step_size_figure_from_a_synthetic_table():
    rows = [{"lr": 0.01, "status": "converged", "l1_ratio": 1.5, "eta_sharpness": 1.0, "alpha_inf_median": 0.3},
            {"lr": 0.02, "status": "converged", "l1_ratio": 1.1, "eta_sharpness": 1.9, "alpha_inf_median": 0.1},
            {"lr": 0.04, "status": "diverged"}]
    fig = discrete.step_size_figure({"rows": rows, "l2_ratio": 1.7, "flow_ratio": 1.5, "eta0": 0.015}, "synthetic")
    assert len(fig.axes) == 2
    matplotlib.pyplot.close(fig)


def test_step_size_runs_report_divergence_as_a_status_at_a_tiny_size():
    ds, model, runs = discrete.step_size_runs((0.01, 1.0), 3000, n=6, d=8, sparsity=1)
    assert ds.X.mean() > 2 and runs[1].status == "diverged" and runs[0].status in ("converged", "max_steps")


def test_sgd_gd_runs_share_init_and_data_and_sgd_shrinks_the_scale_more():
    from implicit_bias import theory

    dsets, model, gd, sgd = discrete.sgd_gd_runs((0,), n=6, d=8, sparsity=1, max_steps=50_000)
    assert [r.status for r in gd + sgd] == ["converged"] * 2
    ag = theory.effective_scale_from_params(gd[0].params["u_plus"], gd[0].params["u_minus"])
    aq = theory.effective_scale_from_params(sgd[0].params["u_plus"], sgd[0].params["u_minus"])
    assert np.all(ag <= model.scale) and np.mean(aq / ag) < 1
