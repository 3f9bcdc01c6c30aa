"""Building blocks of implicit_bias.experiments.diagonal (the experiments themselves run in the
registry contract test, tests/experiments/test_registry.py)."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from implicit_bias import models
from implicit_bias.data import Dataset
from implicit_bias.experiments.diagonal import fig71_grid, gf_endpoints
from implicit_bias.experiments.registry import Profile


pytestmark = pytest.mark.xdist_group("diagonal")  # with its experiments in test_registry.py: shared cached runs


@pytest.mark.parametrize("profile, sizes", [("quick", (6, 5)), ("full", (20, 20))])
def test_fig71_grid(profile, sizes):
    alphas, shapes = fig71_grid(Profile(profile))
    assert (alphas.size, shapes.size) == sizes
    # alpha log-spaced from 1e-5 to 10
    assert alphas[0] == pytest.approx(1e-5, rel=1e-12) and alphas[-1] == pytest.approx(10.0, rel=1e-12)
    np.testing.assert_allclose(np.diff(np.log(alphas)), np.log(1e6) / (sizes[0] - 1), rtol=1e-10)
    # s = tanh(u), u uniform on [-3, 3]: inside (-1, 1), increasing, symmetric about 0
    u = [-3.0 + 6.0 * k / (sizes[1] - 1) for k in range(sizes[1])]
    np.testing.assert_allclose(shapes, [math.tanh(v) for v in u], rtol=0, atol=1e-12)
    assert np.all(np.abs(shapes) < 1) and np.all(np.diff(shapes) > 0)
    np.testing.assert_array_equal(shapes, -shapes[::-1])


def test_gf_endpoint_of_a_tied_depth2_net_on_one_sample():
    # Hand solution: for the tied depth-2 net w = u_+^2 - u_-^2, u_±(0) = alpha, on the square loss
    # 1/(2N)||Xw - y||^2, gradient flow gives u_±(t) = alpha exp(∓(2/N) X^T ∫r), so
    # w = 2 alpha^2 sinh(2 X^T nu) for some nu; with one sample x = (1, 2), y = 1, the endpoint is
    # w_i = 2 alpha^2 sinh(c x_i) with c solving x^T w = y (scipy brentq).
    alpha, x, y = 0.5, np.array([1.0, 2.0]), 1.0
    c = brentq(lambda c: 2 * alpha**2 * np.sum(x * np.sinh(c * x)) - y, 0.0, 5.0, xtol=1e-15)
    w_hand = 2 * alpha**2 * np.sinh(c * x)
    ds = Dataset(x[None, :], np.array([y]), "regression")
    (run,) = gf_endpoints([models.Diagonal(2, depth=2, scale=alpha)], ds, loss=1e-20, stiff=False)
    assert run.status == "converged" and run.final_loss <= 1e-20
    np.testing.assert_allclose(run.predictor, w_hand, rtol=1e-7)
    assert not np.allclose(w_hand, [0.2, 0.4], rtol=1e-3)  # not the min-l2 interpolant: the scale matters
