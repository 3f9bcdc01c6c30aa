"""Building blocks of implicit_bias.experiments.factorization (the checks themselves run in the
registry contract test, tests/experiments/test_registry.py)."""

import numpy as np
import pytest
import xarray as xr

from implicit_bias import models
from implicit_bias.experiments import factorization as fz
from implicit_bias.experiments import runner


pytestmark = pytest.mark.xdist_group("factorization")  # with its experiments in test_registry.py: shared cached runs


def _trajectory(params_list):
    names = params_list[0].keys()
    return xr.Dataset({f"param_{k}": (("t", f"{k}_0", f"{k}_1"), np.stack([p[k] for p in params_list])) for k in names})


def test_balancedness_drift_by_hand():
    m = models.MatrixFactorization((2, 2), depth=2, scale=1.0)
    p0 = {"W1": np.eye(2), "W2": np.eye(2)}
    # scaling W1 by c and W2 by 1/c keeps W but changes D_1 = W1 W1^T - W2^T W2 by (c^2 - 1/c^2 - 0) I
    c = 1.1
    p1 = {"W1": c * np.eye(2), "W2": np.eye(2) / c}
    assert fz.balancedness_drift(m, _trajectory([p0, p0])) == 0.0
    drift = fz.balancedness_drift(m, _trajectory([p0, p1]))
    expected = np.linalg.norm((c**2 - c**-2) * np.eye(2)) / np.linalg.norm(c**2 * np.eye(2))
    assert drift == pytest.approx(expected, rel=1e-12)
    # an orthogonal change of basis between the factors W2 Q^T, Q W1 conjugates D_1: drift unless Q commutes
    Q = np.array([[0.0, 1.0], [1.0, 0.0]])
    p2 = {"W1": Q @ np.diag([2.0, 1.0]), "W2": np.diag([1.0, 1.0]) @ Q.T}
    p0b = {"W1": np.diag([2.0, 1.0]), "W2": np.eye(2)}
    assert fz.balancedness_drift(m, _trajectory([p0b, p2])) > 0.1


def test_checks_are_registered_with_their_papers():
    for id, paper in (("gunasekar2017-commuting", "gunasekar2017"), ("vardi2022-balancedness-factorization", "vardi2022")):
        e = runner.get(id)
        assert e.kind == "check" and e.paper == paper


def test_razin_cohen_quantities_by_hand():
    m = models.MatrixFactorization((2, 2), depth=1, scale=1.0)
    W = np.array([[200.0, 1.0], [1.0, 0.01]])  # residuals (0, 0, 0.01): L = 0.01^2 / 6, s = 0.01
    tr = _trajectory([{"W1": W}])
    tr["loss"] = ("t", [0.01**2 / 6])
    q = fz.razin_cohen_quantities(m, tr)
    assert q["det"][0] == pytest.approx(200 * 0.01 - 1.0)
    assert q["bound"][0] == pytest.approx(0.99**2 / 0.01)
    assert q["w11"][0] == 200.0
    s = np.linalg.svd(W, compute_uv=False)
    assert q["s1"][0] == pytest.approx(s.sum()) and q["sinf"][0] == pytest.approx(s[0])
    assert q["s0.5"][0] == pytest.approx(np.sum(np.sqrt(s)) ** 2)


def test_singular_value_ode_errors_zero_on_balanced_states_and_large_off_them():
    from implicit_bias import matrix_data as md

    data = md.MatrixDataset(np.array([1.0, 2.0, -1.0]), entries=[[0, 0], [1, 1], [0, 1]], shape=(2, 2))
    m = models.MatrixFactorization((2, 2), depth=2, scale=1.0, observations="completion")
    R = np.array([[0.6, -0.8], [0.8, 0.6]])
    root = np.diag(np.sqrt([0.9, 0.3]))
    balanced = {"W1": R @ root, "W2": root @ R.T}  # W2^T W2 = W1 W1^T, W = diag(0.9, 0.3)
    unbalanced = {"W1": 2.0 * balanced["W1"], "W2": 0.5 * balanced["W2"]}  # same W, not balanced
    for p, small in ((balanced, True), (unbalanced, False)):
        tr = _trajectory([p, p]).assign_coords(time=("t", [0.0, 1.0]))
        q = fz.singular_value_ode_errors(m, data, tr, 2)
        if small:
            assert np.max(q["errors"]) < 1e-12
        else:  # the flow of unbalanced factors is not the formula's: rates differ by O(1)
            assert np.max(q["errors"]) > 0.1
