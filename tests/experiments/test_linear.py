"""Building blocks of implicit_bias.experiments.linear (the experiments themselves run in the
registry contract test, tests/experiments/test_registry.py)."""

import numpy as np
import pytest
from scipy.optimize import minimize

from implicit_bias import data
from implicit_bias.experiments.linear import margin_gap_dataset


pytestmark = pytest.mark.xdist_group("linear")  # with its experiments in test_registry.py: shared cached runs


def _max_margin_l2(X, y, w_sep):
    """argmin ||w||^2 / 2 s.t. y_n <x_n, w> >= 1, by scipy's SLSQP (independent of theory.max_margin),
    started from the feasible point ``w_sep / min margin``."""
    A = y[:, None] * X
    w0 = w_sep / np.min(A @ w_sep)
    res = minimize(
        lambda w: 0.5 * w @ w,
        w0,
        jac=lambda w: w,
        constraints=[{"type": "ineq", "fun": lambda w: A @ w - 1.0, "jac": lambda w: A}],
        method="SLSQP",
        options={"ftol": 1e-13, "maxiter": 1000},
    )
    assert res.success, res.message
    return res.x


@pytest.mark.parametrize("seed", [0, 3])
def test_margin_gap_dataset_only_pushes_non_support_vectors_out(seed):
    n, d, gap = 16, 4, 3.0
    base = data.separable_classification(n=n, d=d, margin=0.2, seed=seed)
    ds = margin_gap_dataset(n=n, d=d, seed=seed, nonsupport_margin=gap)
    assert ds.task == "classification" and ds.X.shape == (n, d)
    np.testing.assert_array_equal(ds.y, base.y)
    # every row is the original row times a factor c_n >= 1
    c = np.sum(ds.X * base.X, axis=1) / np.sum(base.X**2, axis=1)
    np.testing.assert_allclose(ds.X, c[:, None] * base.X, rtol=1e-13)
    assert np.all(c >= 1.0 - 1e-13) and np.any(c > 1.0 + 1e-3)
    # the l2 max-margin solution is unchanged; support vectors stay at margin 1, the others reach `gap`
    w_base, w_new = _max_margin_l2(base.X, base.y, base.w_star), _max_margin_l2(ds.X, ds.y, base.w_star)
    np.testing.assert_allclose(w_new, w_base, rtol=1e-6, atol=1e-8)
    m = ds.y * (ds.X @ w_new)
    assert np.min(m) == pytest.approx(1.0, abs=1e-6)
    support = m < 1.0 + 1e-5
    assert 1 <= support.sum() <= d and np.all(m[~support] >= gap - 1e-5)
    np.testing.assert_allclose(c[support], 1.0, rtol=0, atol=1e-12)  # support vectors are not moved


def test_margin_gap_one_leaves_the_data_unchanged():
    # a non-support point has margin > 1 already, so c = max(1, 1/m) = 1
    base = data.separable_classification(n=10, d=3, margin=0.2, seed=1)
    ds = margin_gap_dataset(n=10, d=3, seed=1, nonsupport_margin=1.0)
    np.testing.assert_array_equal(ds.X, base.X)
    np.testing.assert_array_equal(ds.y, base.y)
