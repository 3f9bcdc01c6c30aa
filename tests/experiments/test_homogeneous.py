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
