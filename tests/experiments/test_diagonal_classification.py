"""Tests of the moroshko2020 Figs. 3-5 / Thm 7 / §5 building blocks in experiments.diagonal_classification.

The experiments themselves take 20-50 s each (quick profile) and are run by ``ibias verify``;
here: the constructed datasets have the properties the figures need (checked by independent
routes: the l1 LP of theory.margins, Condition 5 and support changes of diagnostics.margins,
an explicit alternative l1 solution), the accuracy-clock recorder stops and records exactly
where asked, and the experiments are registered.
"""

from __future__ import annotations

import numpy as np
import pytest

import implicit_bias  # noqa: F401  (float64)
from implicit_bias import models
from implicit_bias.diagnostics import margins as dm
from implicit_bias.experiments import diagonal_classification as dc
from implicit_bias.experiments import runner
from implicit_bias.theory.margins import max_margin


pytestmark = pytest.mark.xdist_group("diagonal_classification")  # with its experiments in test_registry.py: shared cached runs


def _Z(ds):
    return ds.y[:, None] * ds.X


def test_new_experiments_are_registered():
    ids = {e.id: e.kind for e in runner.select("moroshko2020")}
    for i, kind in (("moroshko2020-thm7", "check"), ("moroshko2020-accuracy", "check"), ("moroshko2020-fig3", "figure"), ("moroshko2020-fig4", "figure"), ("moroshko2020-fig5", "figure")):
        assert ids.get(i) == kind, i


def test_fig3b_dataset_unique_sparse_l1_same_support_and_condition5():
    ds = dc.fig_dataset("fig3b")
    l1 = max_margin(ds.X, ds.y, "l1").w
    # hand: samples 0 and 1 both have x_1 = 0.8, so (1/0.8, 0, 0) = (1.25, 0, 0) has margins (1, 1, 1.25)
    np.testing.assert_allclose(l1, [1.25, 0.0, 0.0], atol=1e-7)
    l2 = max_margin(ds.X, ds.y, "l2").w
    m2 = _Z(ds) @ l2
    assert np.all(np.abs(m2[:2] - 1) < 1e-6) and m2[2] > 1.01  # same support {0, 1} as the l1 point
    assert bool(dm.condition5_holds(ds.X, ds.y, depth=2))
    assert dm.support_change_points(ds.X, ds.y, 2) == []


def test_fig3c_dataset_has_a_non_unique_l1_max_margin():
    ds = dc.fig_dataset("fig3c")
    l1 = max_margin(ds.X, ds.y, "l1").w
    # every (a, 1 - a, 0), 0 <= a <= 1, is feasible with l1 norm 1 = the optimum (sample 0 is (1, 1, 0.2))
    assert np.abs(l1).sum() == pytest.approx(1.0, abs=1e-7)
    for a in (0.0, 0.3, 1.0):
        w = np.array([a, 1 - a, 0.0])
        assert np.min(_Z(ds) @ w) >= 1 - 1e-12
    assert bool(dm.condition5_holds(ds.X, ds.y, depth=2))


def test_fig3d_dataset_support_vector_leaves_and_condition5_fails():
    ds = dc.fig_dataset("fig3d")
    ch = dm.support_change_points(ds.X, ds.y, 2)
    assert len(ch) == 1 and ch[0].removed == (2,)
    c5 = dm.condition5_holds(ds.X, ds.y, depth=2)
    assert not c5.holds and 0.01 < c5.mu0 < 0.2  # the paper's mu_0 ~ 0.04


def test_fig4b_ex_is_feasible_and_sparse_l2d_stationary():
    from implicit_bias.theory.diagonal_margins import l2d_stationarity

    ds = dc.fig_dataset("fig4b")
    w = np.array([1 / 0.3, 0.0, 0.0])  # margins (1, 1, 10): e_x separates, samples 0 and 1 active
    assert np.min(_Z(ds) @ w) == pytest.approx(1.0)
    assert l2d_stationarity(ds.X, ds.y, w, 3).kkt_residual < 1e-8
    assert np.abs(max_margin(ds.X, ds.y, "l1").w).sum() < np.abs(w).sum() - 1  # but not the l1 max-margin


def test_accuracy_trajectory_records_at_the_requested_accuracies():
    ds = dc.fig_dataset("fig3b")
    gammas = [0.5, 2.0, 7.0]
    run, g, W = dc.accuracy_trajectory(models.Diagonal(3, depth=3, scale=1.0), ds, gammas, algorithm=dc.accuracy_algorithm(3))
    assert run.status == "converged"
    np.testing.assert_allclose(g, gammas, rtol=1e-6)
    # the recorded predictors really have these losses: -log mean exp(-margins) = gamma
    m = W @ _Z(ds).T
    np.testing.assert_allclose(-np.log(np.mean(np.exp(-m), axis=1)), gammas, rtol=1e-6)
