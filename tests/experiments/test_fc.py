"""Building blocks of implicit_bias.experiments.fc (the experiments themselves run in the
registry contract test, tests/experiments/test_registry.py)."""

import numpy as np
import pytest

from implicit_bias.diagnostics.metrics import loglog_slope
from implicit_bias.experiments import fc
from implicit_bias.theory import linear_networks as ln


pytestmark = pytest.mark.xdist_group("fc")  # with its experiments in test_registry.py: shared cached runs


def test_relu_neuron_data_zero_loss_set_is_the_half_line():
    # hand solution: x1^T w = x2^T w = 1 with x1 = (1, 1/2, 0), x2 = (1/2, 1, 0) gives w1 = w2 = 2/3;
    # x3^T w = w1 - w2 + w3 = w3 must be <= 0
    ds = fc.relu_neuron_data()
    for t, zero in ((-1.0, True), (0.0, True), (-1e-3, True), (1e-3, False), (0.5, False)):
        w = np.array([2 / 3, 2 / 3, t])
        assert np.allclose(np.maximum(ds.X @ w, 0), ds.y, atol=1e-15) is zero
    # the min-norm zero-loss point is t = 0 (cvxpy route)
    np.testing.assert_allclose(ln.relu_neuron_min_norm(ds.X, ds.y), [2 / 3, 2 / 3, 0.0], atol=1e-9)


def test_neuron_params_layout_and_init_quantities():
    p = fc.neuron_params([0.6, 0.8], -2.0)
    assert p["W1"].shape == (1, 2) and p["W2"].shape == (1, 1)
    q = ln.neuron_init_quantities(p)
    # w~(0) = a w = (-1.2, -1.6); delta = a^2 - ||w||^2 = 4 - 1 = 3
    np.testing.assert_allclose(q.w0, [-1.2, -1.6])
    assert q.delta == pytest.approx(3.0) and q.sign == -1.0


def test_balanced_init_round_off_counts_as_delta_zero():
    # s = 0 gives |a| = ||w|| only up to round-off; the predictions must treat it as delta = 0
    from implicit_bias import models

    m = models.FullyConnected(8, widths=(1,), scale=1.0, shape=0.0, orientation=np.ones(8) / np.sqrt(8))
    p = {k: np.asarray(v) for k, v in m.init().items()}
    assert ln.neuron_init_quantities(p).delta >= 0
    X, y = np.eye(8)[:3], np.array([1.0, -1.0, 0.5])
    sol = ln.fc_neuron_interpolant(X, y, p)
    np.testing.assert_allclose(X @ sol.w, y, atol=1e-12)


def test_slope_helper_recovers_a_power_law():
    x = np.array([1e-3, 1e-2, 1e-1])
    assert loglog_slope(x, 3 * x**0.5)[0] == pytest.approx(0.5, abs=1e-12)
    assert fc.monotone_decreasing([3, 2, 1]) and not fc.monotone_decreasing([3, 3, 1])
