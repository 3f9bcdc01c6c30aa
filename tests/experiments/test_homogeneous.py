"""Issue 22 checks (quick profile; one training run shared by the three checks)."""

import numpy as np

from implicit_bias.experiments import runner
from implicit_bias.experiments.homogeneous import separable_dataset
from implicit_bias.experiments.registry import Profile

import pytest

pytestmark = pytest.mark.xdist_group("homogeneous")  # with its experiments in test_registry.py: shared cached runs


def test_dataset_is_linearly_separable_with_margin():
    X, y = separable_dataset(12)
    w = np.array([1.0, 0.5]) / np.linalg.norm([1.0, 0.5])
    assert np.min(y * (X @ w)) > 0.4


def test_checks_are_registered_and_measure_what_they_claim():
    q = Profile("quick")
    sm = runner.get("lyu-li2020-smoothed-margin").fn(q)
    kkt = runner.get("lyu-li2020-kkt").fn(q)
    al = runner.get("ji-telgarsky2020-alignment").fn(q)
    ds = sm.data
    assert ds.status == "converged" and ds.accuracy.values[-1] >= 1000.0
    assert sm.checks[0].passed  # smoothed margin non-decreasing past -log L = 10
    assert np.all(ds.smoothed.values <= ds.margin.values + 1e-15)
    # the tolerances, met at -log L = 1000 with a falling residual (Clarke <= plain)
    assert kkt.checks[0].tolerance == 1e-3 and al.checks[0].tolerance == 1e-4
    assert kkt.checks[0].passed and al.checks[0].passed
    d = kkt.checks[0].details
    assert -0.7 < d["clarke_rate"][0] < -0.3  # ||offset|| / ρ ∝ (-log L)^{-1/2} for D = 2
    assert al.checks[0].details["clarke_rate"][0] < -0.5
    assert np.all(ds.kkt_clarke.values <= ds.kkt.values + 1e-12)
    assert np.all(ds.align_clarke.values <= ds.align.values + 1e-12)
    # the Clarke multipliers sit on near-minimum-margin points and agree with the loss weights
    assert d["support_excess_margin_end"] < 0.05 and d["lam_vs_loss_weights_end"] < 0.05


def test_multiclass_direction_matches_the_crammer_singer_hard_margin():
    r = runner.get("soudry2018-multiclass").fn(Profile("quick"))
    c = r.checks[0]
    assert r.data.status == "converged" and c.passed and c.error < 1e-3
    assert c.details["gap_rate_vs_log_t"][0] < -0.5  # the gap falls at least like (log t)^{-1/2}


def test_odd_even_parts_split_the_leaky_relu_net_exactly():
    from implicit_bias import models
    from implicit_bias.experiments.homogeneous import odd_even_parts, symmetric_separable

    X, y = symmetric_separable(4, 5)
    n = X.shape[0] // 2
    np.testing.assert_array_equal(X[n:], -X[:n])
    np.testing.assert_array_equal(y[n:], -y[:n])
    m = models.MLP(4, (7,), activation="leaky_relu", slope=0.3, bias="none", scale=1.0)
    p = m.init(3)
    v, odd, even = odd_even_parts(p, X, 0.3)
    f = np.asarray(m.apply(p, X))
    np.testing.assert_allclose(odd + even, f, rtol=1e-12, atol=1e-12)  # the split is exact
    np.testing.assert_allclose(odd, (f - np.asarray(m.apply(p, -X))) / 2, rtol=1e-12, atol=1e-12)  # odd part: (f(x) - f(-x)) / 2
    np.testing.assert_allclose(odd, X @ v, rtol=1e-12)


# issue 22 check 5: a KKT point that is not a local optimum (vardi2022 §3.3)


def _relu2():
    from implicit_bias import models

    return models.MLP(2, (2,), activation="relu", bias="none")


def test_hand_built_relu_point_is_kkt_and_the_revival_path_certifies_it_is_not_a_local_optimum():
    from implicit_bias.diagnostics import kkt_certificate
    from implicit_bias.experiments.homogeneous import relu_kkt_point, relu_revival, revival_reduction, two_points

    X, y = two_points()
    m, star = _relu2(), relu_kkt_point()
    c = kkt_certificate(m, star, X, y)
    # the hand derivation: margins 1, ||θ*||^2 = 8, multipliers (2, 2), exact stationarity
    np.testing.assert_allclose(c.margins, [1.0, 1.0], rtol=0, atol=1e-15)
    assert c.residual < 1e-12 and c.clarke_residual < 1e-12
    np.testing.assert_allclose(c.lam, [2.0, 2.0], rtol=1e-12)
    for delta in (1e-6, 1e-3, 0.1, 0.4):  # the path's formula holds for 0 < δ < 1/2
        p = relu_revival(star, delta)
        f = np.maximum(X @ p["W1"].T, 0.0) @ p["W2"][0]  # evaluated in numpy, not through the model
        np.testing.assert_allclose(f, 1.0 + 2.0 * delta, rtol=1e-12)  # both margins 1 + 2δ
        norm_sq = sum(np.sum(v**2) for v in p.values()) / (1.0 + 2.0 * delta)  # rescaled to margin 1
        assert norm_sq < 8.0
        np.testing.assert_allclose(1.0 - norm_sq / 8.0, revival_reduction(delta), rtol=1e-12, atol=1e-15)  # atol: 1 - N/8 cancels
        # the perturbed point tends to θ* as δ -> 0 (distance ~ sqrt(8 δ / ||x_1||))
        dist = np.sqrt(sum(np.sum((p[k] - star[k]) ** 2) for k in star))
        np.testing.assert_allclose(dist, np.sqrt(delta**2 + 8 * delta / np.linalg.norm(X[0])), rtol=1e-12)


def test_local_search_finds_the_improvement_at_the_hand_built_point_and_none_at_an_svm_optimum():
    from implicit_bias import models, theory
    from implicit_bias.diagnostics import local_improvement
    from implicit_bias.experiments.homogeneous import relu_kkt_point, revival_reduction, separable_dataset, two_points

    X, y = two_points()
    (r,) = local_improvement(_relu2(), relu_kkt_point(), X, y, radii=(0.01,), starts=6, seed=0)
    assert r.value == 8.0 and r.distance <= 0.01 and r.min_margin >= 1.0 - 1e-12
    f = np.maximum(X @ r.params["W1"].T, 0.0) @ r.params["W2"][0]  # the certificate, re-evaluated
    assert np.min(f) >= 1.0 - 1e-12 and sum(np.sum(v**2) for v in r.params.values()) < 8.0
    # at least what the hand path reaches at about this distance (δ = 1.03e-4 puts it at 0.01)
    assert r.reduction > 0.99 * revival_reduction(1.03e-4) > 1e-4
    # a known global optimum of (P): the balanced rank-one factorization of the l2 SVM
    Xf, yf = separable_dataset(8)
    w = np.asarray(theory.max_margin(Xf, yf, "l2").w)
    w = w / np.min(yf * (Xf @ w))
    v = np.array([0.6, 0.0, 0.8])  # hidden direction
    c = np.sqrt(np.linalg.norm(w))
    opt = {"W1": c * np.outer(v, w / np.linalg.norm(w)), "W2": c * v[None, :]}
    fc = models.MLP(2, (3,), activation="linear", bias="none")
    np.testing.assert_allclose(fc.predictor(opt), w, rtol=1e-12)
    res = local_improvement(fc, opt, Xf, yf, radii=(0.01, 0.1), starts=6, seed=0)
    for r in res:
        assert np.isclose(r.value, 2 * np.linalg.norm(w), rtol=1e-12)  # value of (P) = 2 ||w_svm||
        assert r.reduction <= 1e-9  # no feasible point below it (cvxpy's accuracy)


def test_kkt_not_optimal_check_measures_what_it_claims():
    from implicit_bias.experiments.homogeneous import NONOPT_RADIUS, NONOPT_SIZES

    assert all(NONOPT_RADIUS in radii for _, _, radii, _ in NONOPT_SIZES.values())  # the checks' radius is swept
    r = runner.get("vardi2022-kkt-not-optimal").fn(Profile("quick"))
    by = {c.id.split("/")[-1]: c for c in r.checks}
    assert set(by) == {"relu-kkt", "relu-certificate", "relu-local-search", "fc-svm", "fc-no-improvement"}
    assert all(c.passed for c in r.checks)
    assert r.data.relu_status == "converged" and r.data.fc_status == "converged"
    # the ReLU run ends at the hand-built KKT point θ* (||θ||^2 = 8, λ = (2, 2))
    d = by["relu-kkt"].details
    assert d["distance_to_hand_kkt_point"] < 1e-3 and abs(d["norm_sq"] - 8.0) < 1e-5
    np.testing.assert_allclose(d["multipliers"], [2.0, 2.0], rtol=1e-6)
    # the certificate: margins >= 1 and a strict reduction, as the closed form says
    cert = by["relu-certificate"]
    assert cert.details["min_margin"] >= 1.0 - 1e-12 and cert.measured > 1e-4
    # the improvement is second order in the radius (slope 2 on log-log), for the ReLU net only
    imp = r.data.relu_improvement.values
    rad = r.data.radius.values
    assert np.all(imp > 0)
    slope = np.polyfit(np.log(rad), np.log(imp), 1)[0]
    assert 1.8 < slope < 2.2
    assert np.all(r.data.fc_improvement.values <= 1e-6)


# issue 22 figures: lyu-li2020-margin, lyu-li2020-kkt-fig


def test_sandwich_error_detects_either_violation():
    from implicit_bias.experiments.homogeneous import sandwich_error

    m, rho, n = np.array([1.0, 1.0]), np.array([10.0, 10.0]), 12  # log N / rho^2 = 0.0248
    assert sandwich_error(m, np.array([0.99, 1.0]), rho, n, 2) == 0.0
    np.testing.assert_allclose(sandwich_error(m, np.array([0.9, 1.0]), rho, n, 2), 1.0 - np.log(12) / 100 - 0.9, rtol=1e-12)  # below the band
    np.testing.assert_allclose(sandwich_error(m, np.array([1.0, 1.01]), rho, n, 2), 0.01, rtol=1e-12)  # above γ


def test_margin_figure_holds_both_runs_and_the_sandwich():
    from implicit_bias.diagnostics import parameter_margin, smoothed_margin
    from implicit_bias.experiments.homogeneous import CONST_STEPS, constant_step_run

    r = runner.get("lyu-li2020-margin").fn(Profile("quick"))
    ds, ls = r.data, runner.get("lyu-li2020-smoothed-margin").fn(Profile("quick")).data  # the module's cached run
    (c,) = r.checks
    assert c.passed and c.error == 0.0 and c.tolerance == 1e-9
    assert 0.1 < c.details["band_used_max"] <= 1.0  # the lower bound is approached: the check could fail
    np.testing.assert_array_equal(ds.margin_loss_scaled, ls.margin)  # the check's run, reused
    np.testing.assert_array_equal(ds.accuracy_loss_scaled, ls.accuracy)
    acc = ds.accuracy_constant.values
    assert np.all(np.diff(acc) > 0) and acc[-1] < 20.0 <= 1000.0 <= ds.accuracy_loss_scaled.values[-1]  # constant step: -log L ~ log t
    assert ds.constant_steps == CONST_STEPS["quick"] and ds.constant_status == "max_steps"
    assert np.all(np.diff(ds.margin_constant.values) > 0)  # the margin grows along the constant-step run too
    # the last record is the final iterate: its margins recomputed from the run's parameters
    _, run = constant_step_run("quick")
    X, y = separable_dataset(12)
    from implicit_bias import models
    from implicit_bias.experiments.homogeneous import INIT_SCALE

    m = models.MLP(2, (20,), activation="relu", bias="first", scale=INIT_SCALE)
    np.testing.assert_allclose(ds.margin_constant.values[-1], parameter_margin(m, run.params, X, y), rtol=1e-12)
    np.testing.assert_allclose(ds.smoothed_constant.values[-1], smoothed_margin(m, run.params, X, y, "logistic"), rtol=1e-12)


def test_kkt_figure_plots_the_check_run_and_its_fitted_rate():
    from implicit_bias.diagnostics import loglog_slope
    from implicit_bias.experiments.homogeneous import KKT_RATE_TOL, RATE_FROM

    r = runner.get("lyu-li2020-kkt-fig").fn(Profile("quick"))
    ds, run = r.data, runner.get("lyu-li2020-kkt").fn(Profile("quick")).data  # the check's data (the module's cached run)
    (c,) = r.checks
    assert c.passed and c.tolerance == KKT_RATE_TOL and c.predicted == -0.5
    np.testing.assert_array_equal(ds.kkt_clarke, run.kkt_clarke)
    np.testing.assert_array_equal(ds.kkt, run.kkt)
    sel = ds.accuracy.values >= RATE_FROM
    slope = loglog_slope(ds.accuracy.values[sel], ds.kkt_clarke.values[sel])[0]
    assert c.measured == slope
    # the plotted fit follows the data past -log L = 100 (within 20%) and ends below 1e-3
    np.testing.assert_allclose(ds.kkt_clarke_fit.values[sel], ds.kkt_clarke.values[sel], rtol=0.2)
    assert ds.kkt_clarke.values[-1] <= 1e-3 < ds.kkt.values[-1]  # the plain residual stalls (kinks)
