"""implicit_bias.diagnostics.metrics: comparisons of predictors, against hand values and scipy."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from implicit_bias.diagnostics.metrics import cosine, direction_distance, loglog_slope, relative_error, unit


def test_relative_error_hand_values():
    assert relative_error([1.0, 1.0], [1.0, 0.0]) == 1.0
    assert relative_error([3.0, 4.0], [3.0, 4.0]) == 0.0
    # ||(0, 1)|| / ||(3, 4)|| = 1/5
    assert relative_error([3.0, 5.0], [3.0, 4.0]) == pytest.approx(0.2, rel=1e-15)
    # reference 0: the absolute error ||(3, 4)|| = 5
    assert relative_error([3.0, 4.0], [0.0, 0.0]) == pytest.approx(5.0, rel=1e-15)
    # matrices are compared as flat vectors
    assert relative_error(np.ones((2, 2)), np.zeros(4)) == pytest.approx(2.0, rel=1e-15)


def test_cosine_against_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(7), rng.standard_normal(7)
    assert cosine(a, b) == pytest.approx(1.0 - distance.cosine(a, b), rel=1e-13)
    assert cosine([1.0, 0.0], [0.0, 3.0]) == 0.0
    assert cosine([2.0, 2.0], [1.0, 1.0]) == pytest.approx(1.0, rel=1e-15)
    assert cosine([2.0, 2.0], [-1.0, -1.0]) == pytest.approx(-1.0, rel=1e-15)
    assert cosine([0.0, 0.0], [1.0, 2.0]) == 0.0  # zero vector: 0 by convention


def test_unit_in_several_norms():
    np.testing.assert_allclose(unit([3.0, -4.0]), [0.6, -0.8], rtol=1e-15)
    np.testing.assert_allclose(unit([1.0, -3.0], ord=1), [0.25, -0.75], rtol=1e-15)
    np.testing.assert_allclose(unit([1.0, -4.0], ord=np.inf), [0.25, -1.0], rtol=1e-15)
    with pytest.raises(ValueError, match="zero vector"):
        unit([0.0, 0.0])


def test_direction_distance_hand_values():
    assert direction_distance([1.0, 0.0], [0.0, 2.0]) == pytest.approx(np.sqrt(2.0), rel=1e-15)
    assert direction_distance([5.0, 5.0], [0.1, 0.1]) == pytest.approx(0.0, abs=1e-15)  # scale-free
    assert direction_distance([1.0, 2.0], [-2.0, -4.0]) == pytest.approx(2.0, rel=1e-15)  # opposite
    # |u - v| = 2 sin(theta / 2) for unit vectors at angle theta (here 60 degrees: 1)
    assert direction_distance([1.0, 0.0], [0.5, np.sqrt(3) / 2]) == pytest.approx(1.0, rel=1e-14)


def test_loglog_slope_of_an_exact_power_law():
    n = np.array([10.0, 20.0, 40.0, 80.0])
    slope, se = loglog_slope(n, 7.0 * n**-0.5)
    assert slope == pytest.approx(-0.5, abs=1e-12) and se < 1e-12


def test_loglog_slope_and_its_standard_error_against_scipy():
    rng = np.random.default_rng(1)
    n = np.logspace(1, 4, 12)
    err = 3.0 * n**-1.0 * np.exp(0.1 * rng.standard_normal(n.size))
    ref = stats.linregress(np.log(n), np.log(err))
    slope, se = loglog_slope(n, err)
    assert slope == pytest.approx(ref.slope, rel=1e-12)
    assert se == pytest.approx(ref.stderr, rel=1e-10)


@pytest.mark.parametrize("fn", [relative_error, cosine, direction_distance])
def test_bad_input_is_named(fn):
    with pytest.raises(ValueError, match="shapes"):
        fn([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN or Inf"):
        fn([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="NaN or Inf"):
        fn([1.0, 2.0], [np.inf, 2.0])
