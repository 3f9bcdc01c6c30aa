"""Named predictions (``implicit_bias.theory.predictions``): the function predictions of wide
univariate ReLU nets (``weighted-spline``, ``natural-spline``; montufar2024 Thms 5, 6) against
independent routes."""

import numpy as np
import pytest
import scipy.interpolate

from implicit_bias.models import Linear, ShallowReLU
from implicit_bias.theory import get_prediction
from implicit_bias.theory.predictions import EVAL_GRID, Context, function_eval_points

X = np.array([[-1.0], [-0.55], [-0.1], [0.35], [0.62], [1.0]])
Y = np.sin(3 * X[:, 0])


def test_natural_spline_is_scipys_and_the_weighted_spline_of_a_constant_zeta_without_f0():
    # uniform (sqrt 3, sqrt 3): zeta constant on [-1, 1] (Thm 6.3), antisymmetric: f(., theta_0) = 0
    m = ShallowReLU(8, skip=True, init_dist="uniform", a_w=3**0.5, a_b=3**0.5, antisymmetric=True)
    p0 = m.init(0)
    ctx = Context(X=X[::-1], y=Y[::-1], model=m, params0=p0)  # unsorted data are sorted
    xe = function_eval_points(X)
    assert xe.shape == (EVAL_GRID,) and xe[0] == -1.0 and xe[-1] == 1.0
    nat = scipy.interpolate.CubicSpline(X[:, 0], Y, bc_type="natural")(xe)
    assert get_prediction("natural-spline").kind == "function"
    np.testing.assert_allclose(get_prediction("natural-spline").fn(ctx)(xe), nat, rtol=0, atol=1e-14)
    np.testing.assert_allclose(get_prediction("weighted-spline").fn(ctx)(xe), nat, rtol=0, atol=1e-10)


def test_weighted_spline_carries_the_nets_own_initial_function():
    # Gaussian init, not antisymmetric: g* = f0 + h interpolates the data and is not the natural spline
    m = ShallowReLU(16, skip=True)
    p0 = m.init(1)
    g = get_prediction("weighted-spline").fn(Context(X=X, y=Y, model=m, params0=p0))
    np.testing.assert_allclose(g(X[:, 0]), Y, atol=1e-12)
    xe = function_eval_points(X)
    assert np.max(np.abs(g(xe) - scipy.interpolate.CubicSpline(X[:, 0], Y, bc_type="natural")(xe))) > 1e-3


def test_function_eval_points_and_bad_inputs():
    np.testing.assert_array_equal(function_eval_points(X, np.array([[0.5], [-0.5]])), [-0.5, 0.5])
    with pytest.raises(ValueError, match="univariate"):
        function_eval_points(np.ones((3, 2)))
    for name in ("natural-spline", "weighted-spline"):
        with pytest.raises(ValueError, match="univariate shallow ReLU"):
            get_prediction(name).fn(Context(X=X, y=Y, model=Linear(1)))
        with pytest.raises(ValueError, match="distinct"):
            get_prediction(name).fn(Context(X=np.array([[0.0], [0.0], [1.0]]), y=np.zeros(3), model=ShallowReLU(4)))
