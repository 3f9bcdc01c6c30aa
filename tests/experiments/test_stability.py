"""Fast unit tests of the helpers of ``implicit_bias.experiments.stability`` (the registered checks
themselves run in tests/experiments/test_registry.py) and of the vectorised flattest solver.

Oracles: hand-computed values, the SDP route of ``theory.flattest_implementation``, the definition
of an interpolant."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.experiments import stability as st
from implicit_bias.theory.stability import flattest_implementation, flattest_sharpness_batch, sharpness_lower_bound


pytestmark = pytest.mark.xdist_group("stability")  # with its experiments in test_registry.py: shared cached runs


def test_dataset_is_standardised_and_well_separated():
    ds = st.stability_dataset(8, seed=1)
    x = ds.X[:, 0]
    assert ds.X.shape == (8, 1) and ds.y.shape == (8,)
    assert abs(x.mean()) < 1e-12 and abs(x.std() - 1) < 1e-12
    assert np.min(np.diff(np.sort(x))) > 0.3 * (x.max() - x.min()) / 7  # jitter < half the spacing
    np.testing.assert_allclose(ds.y, np.sin(2 * x))
    with pytest.raises(ValueError, match="jitter"):
        st.stability_dataset(8, jitter=0.6)


def test_random_interpolant_interpolates():
    ds = st.stability_dataset(6, seed=2)
    p = st.random_interpolant(ds.X, ds.y, width=12, seed=0)
    f = ib.diagnostics.evaluate(p, ds.X[:, 0])
    np.testing.assert_allclose(f, ds.y, atol=1e-10)


def test_eos_summary_by_hand():
    lam = np.array([1.0, 1.5, 2.0, 2.1, 1.9])  # lr = 1: r = lam / 2
    loss = np.array([1.0, 0.5, 0.6, 0.2, 0.1])
    s = st.eos_summary(lam, loss, 1.0)
    assert s["start"] == 0.5 and s["t_reach"] == 2
    assert s["hover"] == pytest.approx(np.mean(np.abs([1.0, 1.05, 0.95] - np.ones(3))))
    assert s["increases"] == 1 and s["loss_drop"] == pytest.approx(6.0)
    assert st.eos_summary(lam * 0.1, loss, 1.0)["t_reach"] == -1


def test_central_curvature_splits_the_mass():
    g = ib.theory.empirical_weight_function(np.linspace(-1, 1, 5))
    # knots at 0 (centre, where g is largest) and at 0.95 (near the edge, g small)
    p = {"w1": np.array([[1.0], [1.0]]), "b1": np.array([0.0, -0.95]), "w2": np.array([2.0, -3.0]), "b2": np.array(0.0)}
    c, r = st.central_curvature(p, g)
    assert (c, r) == (2.0, 3.0)


def test_settle_report_statuses():
    ds = st.stability_dataset(4, seed=0)
    m = ib.models.Linear(1)
    X = np.concatenate([ds.X, np.ones((4, 1))], 1)
    data = ib.data.Dataset(X[:, :1], 0.7 * ds.X[:, 0])
    runs = ib.train_many([m, m], [data, data], "square", [ib.GradientDescent(lr=0.5), ib.GradientDescent(lr=0.01)], ib.Stop(loss=1e-20, max_steps=2000))
    reps = st.settle_report(runs, loss_tol=1e-20)
    assert reps[0].status == "settled" and reps[0].displacement <= 1e-6
    assert reps[1].status == "not-converged"


def test_flattest_batch_matches_the_sdp_and_respects_lemma4():
    ds = st.stability_dataset(6, seed=3)
    ps = [st.random_interpolant(ds.X, ds.y, width=10, seed=s) for s in range(3)]
    pb = st.stack_params(ps)
    fb = flattest_sharpness_batch({k: np.asarray(v) for k, v in pb.items()}, ds.X, ds.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.array([flattest_implementation(p, ds.X, ds.y).sharpness for p in ps])
    np.testing.assert_allclose(fb.sharpness, ref, rtol=1e-6)
    assert np.all(fb.sharpness <= fb.original_sharpness * (1 + 1e-12))
    lb = np.array([sharpness_lower_bound(p, ds.X) for p in ps])
    assert np.all(fb.sharpness >= lb * (1 - 1e-9))
