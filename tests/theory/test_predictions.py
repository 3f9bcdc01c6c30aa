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


# ----------------------------------------------------------------- assumptions (--predict auto)


def _ctx(model, task="regression", loss="square", algorithm="flow", **kw):
    return Context(np.eye(3), np.ones(3), model=model, task=task, loss=loss, algorithm=algorithm, **kw)


def test_every_prediction_states_its_assumptions():
    from implicit_bias.theory.predictions import ASSUMPTIONS, PREDICTIONS

    assert set(ASSUMPTIONS) == set(PREDICTIONS)
    for p in PREDICTIONS.values():
        assert p.assumptions == ASSUMPTIONS[p.name] and p.assumptions, p.name
        line = p.describe_assumptions()
        assert line.startswith(f"{p.task} data; ") and line.endswith("a converged run")
        assert all(a.limit == (a.holds is None) for a in p.assumptions)


@pytest.mark.parametrize(
    "model, kw, expected",
    [
        (lambda m: m.Linear(3), {}, {"min-distance"}),
        (lambda m: m.Linear(3), {"algorithm": "mirror", "potential": "entropy"}, {"bregman"}),
        (lambda m: m.Diagonal(3, depth=2), {}, {"diagonal", "min-l1", "ntk-norm"}),
        (lambda m: m.Diagonal(3, depth=2), {"algorithm": "gd"}, {"effective-init", "min-l1", "ntk-norm"}),  # the flow's Q is not GD's answer
        (lambda m: m.Diagonal(3, depth=3), {"algorithm": "gd"}, {"min-l1", "ntk-norm"}),
        (lambda m: m.Linear(3), {"task": "classification", "loss": "logistic", "algorithm": "gd"}, {"max-margin-l2"}),
        (lambda m: m.Linear(3), {"task": "classification", "loss": "exponential", "algorithm": "steepest", "norm": "linf"}, {"max-margin-linf"}),
        (lambda m: m.Linear(3), {"task": "classification", "loss": "polynomial", "polynomial_k": 2.0, "algorithm": "gd"}, {"polynomial-tail"}),
        (lambda m: m.LinearConv(3), {"task": "classification", "loss": "logistic", "algorithm": "gd"}, {"dft-l1"}),
        (lambda m: m.Linear(3), {"loss": "logistic", "algorithm": "gd"}, set()),  # a classification loss on regression data
    ],
)
def test_select_predictions_keeps_exactly_the_ones_whose_assumptions_hold(model, kw, expected):
    from implicit_bias import models
    from implicit_bias.theory import PREDICTIONS, select_predictions

    keep, skipped = select_predictions(_ctx(model(models), **kw))
    assert {p.name for p in keep} == expected
    assert {s["name"] for s in skipped} == set(PREDICTIONS) - expected
    assert all(s["reason"].startswith("needs ") for s in skipped)


def test_the_neuron_predictions_need_a_nonnegative_delta_at_the_init():
    import jax

    from implicit_bias import models
    from implicit_bias.theory import select_predictions

    for shape, ok in ((0.5, True), (-0.5, False)):
        m = models.FullyConnected(3, widths=(1,), scale=1.0, shape=shape)
        p0 = m.init(jax.random.key(0))
        delta = float(np.sum(np.asarray(p0["W2"]) ** 2) - np.sum(np.asarray(p0["W1"]) ** 2))  # a(0)^2 - ||w(0)||^2, by hand
        assert (delta >= 0) is ok
        keep, skipped = select_predictions(_ctx(m, params0=p0), ["q-delta", "fc-ntk", "min-l2"])
        names = {p.name for p in keep}
        assert ("q-delta" in names) is ok and ("fc-ntk" in names) is ok and "min-l2" in names
        assert ok or all("delta" in s["reason"] for s in skipped)


def test_the_natural_spline_needs_a_uniform_init_that_covers_the_data():
    from implicit_bias.theory import select_predictions

    X1 = np.array([[-2.0], [0.0], [1.5]])
    for a_b, ok in ((2.0, True), (1.0, False)):  # a_b / a_w >= max|x| = 2
        m = ShallowReLU(8, skip=True, init_dist="uniform", a_w=1.0, a_b=a_b, antisymmetric=True)
        c = Context(X1, np.ones(3), model=m, task="regression", loss="square", algorithm="width-scaled-gd")
        keep, skipped = select_predictions(c, ["natural-spline", "weighted-spline"])
        assert {p.name for p in keep} == ({"natural-spline", "weighted-spline"} if ok else {"weighted-spline"})
        assert ok or "uniform" in skipped[0]["reason"]


def test_a_run_that_did_not_converge_meets_no_prediction():
    from implicit_bias.theory import PREDICTIONS, select_predictions

    keep, skipped = select_predictions(_ctx(Linear(3)), status="max_steps")
    assert keep == [] and len(skipped) == len(PREDICTIONS)
    assert next(s for s in skipped if s["name"] == "min-distance")["reason"].endswith("this run ended max_steps")
