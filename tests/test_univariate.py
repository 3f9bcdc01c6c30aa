"""Univariate function-space tools (``implicit_bias.univariate``; mulayoff2021 §3): knots and
slope jumps against hand computation and against finite differences of ``f`` itself (an
independent route); evaluation against the model; padding and the affine fit. The same names
re-exported by ``implicit_bias.diagnostics`` are the same objects (``weighted_curvature``:
``ib.theory``'s, tested here through both names)."""

import doctest

import jax
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import univariate
from implicit_bias.models import ShallowReLU
from implicit_bias.univariate import (
    active_width,
    curvature_measure,
    evaluate,
    fit_affine,
    knots,
    n_linear_regions,
    pad_units,
    slope_jumps,
    smoothed_abs_f2,
    unpad_units,
    weighted_curvature,
)

# every call of weighted_curvature below runs through both public names
BOTH_WC = pytest.mark.parametrize("wc", [weighted_curvature, ib.diagnostics.weighted_curvature], ids=["univariate", "diagnostics"])

# f(x) = 3 relu(2x - 1) + 0.5 relu(1 - x) + 0.25: knots 0.5 and 1; by hand f'' = 6 delta_0.5 + 0.5 delta_1
# (unit 1: slope 0 -> 6 at 0.5; unit 2: slope -0.5 -> 0 at 1, a jump of +0.5 = w2 |w1|)
HAND = {"w1": [[2.0], [-1.0]], "b1": [-1.0, 1.0], "w2": [3.0, 0.5], "b2": 0.25}


def _random_params(k=10, seed=0, skip=False):
    return ShallowReLU(k, skip=skip, sigma_b=1.5).init(seed)


def _slope_jump_fd(params, x, h=1e-4):
    f = evaluate(params, np.array([x - h, x, x + h]))
    return (f[2] - f[1]) / h - (f[1] - f[0]) / h


def test_two_unit_net_by_hand():
    np.testing.assert_array_equal(knots(HAND), [0.5, 1.0])
    np.testing.assert_array_equal(slope_jumps(HAND), [6.0, 0.5])
    x, c = curvature_measure(HAND)
    np.testing.assert_array_equal(x, [0.5, 1.0])
    np.testing.assert_array_equal(c, [6.0, 0.5])
    np.testing.assert_allclose(evaluate(HAND, [0.0, 0.5, 1.0, 2.0]), [0.75, 0.5, 3.25, 9.25], rtol=1e-15)
    # the jumps are the slope changes of f, measured by finite differences
    for xi, ci in zip(x, c):
        assert _slope_jump_fd(HAND, xi) == pytest.approx(ci, rel=1e-9)
    for wc in (weighted_curvature, ib.diagnostics.weighted_curvature):
        assert wc(HAND, lambda t: t**2) == pytest.approx(6 * 0.25 + 0.5 * 1.0, rel=1e-15)
    assert n_linear_regions(HAND) == 3
    assert n_linear_regions(HAND, x_range=(0.0, 0.8)) == 2
    assert n_linear_regions(HAND, x_range=(2.0, 3.0)) == 1
    assert n_linear_regions(HAND, tol=1.0) == 2  # the 0.5 jump is negligible at this tolerance


def test_random_net_jumps_match_finite_differences():
    p = _random_params(seed=1)
    x, c = curvature_measure(p)
    assert x.size == 10 and np.all(np.diff(x) > 0)
    h = 1e-3 * np.min(np.diff(x))
    fd = np.array([_slope_jump_fd(p, xi, h) for xi in x])
    np.testing.assert_allclose(fd, c, rtol=1e-6, atol=1e-8)
    # the sum of unit jumps is the change of slope between far left and far right
    lo, hi = x[0] - 1.0, x[-1] + 1.0
    f = evaluate(p, [lo - 1, lo, hi, hi + 1])
    assert (f[3] - f[2]) - (f[1] - f[0]) == pytest.approx(np.sum(c), rel=1e-10, abs=1e-12)


@BOTH_WC
def test_weighted_curvature_matches_a_grid_route(wc):
    """``int |f''| g`` from the knots vs the second differences of ``f`` on a fine grid."""
    p = _random_params(seed=2)
    g = lambda t: np.clip(1.0 - t**2 / 9.0, 0.0, None) ** 2  # noqa: E731  (support [-3, 3])
    grid = np.linspace(-4.0, 4.0, 80_001)
    h = grid[1] - grid[0]
    f = evaluate(p, grid)
    d2 = np.abs(f[2:] - 2 * f[1:-1] + f[:-2]) / h  # each knot's jump spread over neighbouring points
    route_grid = np.sum(d2 * g(grid[1:-1]))
    assert wc(p, g) == pytest.approx(route_grid, rel=1e-3)
    # g = 1 on [-4, 4]: the total variation of f' there
    x, c = curvature_measure(p)
    inside = (x > -4) & (x < 4)
    assert np.sum(d2) == pytest.approx(np.sum(np.abs(c[inside])), rel=1e-6)


@BOTH_WC
def test_coincident_knots_are_merged(wc):
    # two units with the knot x = 1 whose slope jumps cancel: f is linear
    cancel = {"w1": [[1.0], [2.0]], "b1": [-1.0, -2.0], "w2": [1.0, -0.5], "b2": 0.0}
    x, c = curvature_measure(cancel)
    assert x.size == 0 and c.size == 0
    assert wc(cancel, np.ones_like) == 0.0
    assert n_linear_regions(cancel) == 1
    assert _slope_jump_fd(cancel, 1.0) == pytest.approx(0.0, abs=1e-9)
    # same sign: one knot with the summed jump; a 1e-12 gap is merged unless merge_tol = 0
    near = {"w1": [[1.0], [1.0]], "b1": [-1.0, -1.0 - 1e-12], "w2": [1.0, 2.0], "b2": 0.0}
    x, c = curvature_measure(near)
    np.testing.assert_allclose(x, [1.0], rtol=1e-12)
    np.testing.assert_array_equal(c, [3.0])
    assert curvature_measure(near, merge_tol=0.0)[0].size == 2
    assert n_linear_regions(near) == 2 and n_linear_regions(near, merge_tol=0.0) == 3


def test_constant_units_and_skip_have_no_curvature():
    p = {"w1": [[0.0], [1.0]], "b1": [2.0, 0.0], "w2": [1.5, 1.0], "b2": 0.0}
    np.testing.assert_array_equal(knots(p), [0.0])  # the w1 = 0 unit is the constant 1.5 relu(2) = 3
    np.testing.assert_allclose(evaluate(p, [-1.0, 2.0]), [3.0, 5.0])
    q = {**p, "skip": [0.7]}
    np.testing.assert_allclose(evaluate(q, [-1.0, 2.0]), [3.0 - 0.7, 5.0 + 1.4])
    for a, b in zip(curvature_measure(p), curvature_measure(q)):
        np.testing.assert_array_equal(a, b)
    assert knots({"w1": [[0.0]], "b1": [1.0], "w2": [1.0], "b2": 0.0}).size == 0


def test_evaluate_matches_the_model():
    m = ShallowReLU(10, skip=True)
    p = jax.tree_util.tree_map(lambda a: a + 0.3, m.init(4))  # nonzero skip
    xs = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(evaluate(p, xs), m.apply(p, xs[:, None]), rtol=1e-15)
    assert evaluate(p, 0.5).shape == (1,)


def test_smoothed_abs_f2():
    p = _random_params(seed=5)
    x, c = curvature_measure(p)
    grid = np.linspace(x[0] - 2.0, x[-1] + 2.0, 20_001)
    s = smoothed_abs_f2(p, grid, bandwidth=0.05)
    assert s.shape == grid.shape and np.all(s >= 0)
    # mass = total variation of f'; an isolated knot shows as a peak of height |c| / (sqrt(2 pi) h)
    from scipy.integrate import trapezoid

    assert trapezoid(s, grid) == pytest.approx(np.sum(np.abs(c)), rel=1e-6)
    one = {"w1": [[1.0]], "b1": [-0.5], "w2": [-2.0], "b2": 0.0}
    assert smoothed_abs_f2(one, np.array([0.5]), 0.1)[0] == pytest.approx(2.0 / (np.sqrt(2 * np.pi) * 0.1), rel=1e-14)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: knots({"w1": np.ones((3, 2)), "b1": np.zeros(3), "w2": np.ones(3), "b2": 0.0}), r"input_dim 1.*\(3, 2\)"),
        (lambda: knots([1.0, 2.0]), "parameter dict"),
        (lambda: knots({"w1": [[1.0]], "b1": [0.0], "w2": [1.0]}), "missing parameter"),
        (lambda: knots({"w1": [[np.nan]], "b1": [0.0], "w2": [1.0], "b2": 0.0}), "NaN"),
        (lambda: curvature_measure(HAND, merge_tol=-1.0), "merge_tol"),
        (lambda: weighted_curvature(HAND, lambda t: 1.0), "vectorised"),
        (lambda: ib.diagnostics.weighted_curvature(HAND, lambda t: 1.0), "vectorised"),
        (lambda: weighted_curvature(HAND, [0.0, 1.0]), "callable"),
        (lambda: weighted_curvature([0.5], None, np.ones_like), "jumps"),
        (lambda: weighted_curvature(HAND, [1.0], np.ones_like), "not params with jumps"),
        (lambda: weighted_curvature(HAND), "needs the weight g"),
        (lambda: n_linear_regions(HAND, x_range=(1.0, 0.0)), "lo < hi"),
        (lambda: n_linear_regions(HAND, tol=-1.0), "tol must be"),
        (lambda: smoothed_abs_f2(HAND, np.zeros(3), bandwidth=0.0), "bandwidth must be > 0"),
        (lambda: smoothed_abs_f2(HAND, np.zeros((2, 2)), bandwidth=1.0), "one-dimensional"),
        (lambda: evaluate(HAND, np.zeros((2, 2))), "one-dimensional"),
        (lambda: evaluate({**HAND, "b1": [1.0]}, [0.0]), r"'b1' has shape \(1,\)"),
        (lambda: evaluate({**HAND, "w3": 1.0}, [0.0]), "unknown parameter"),
        (lambda: pad_units(HAND, 1), "width 1 < current width 2"),
    ],
)
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_docstring_examples_run():
    res = doctest.testmod(univariate)
    assert res.attempted > 0 and res.failed == 0


def test_diagnostics_reexports_are_the_same_objects():
    for name in ("knots", "slope_jumps", "merge_knots", "curvature_measure", "n_linear_regions", "smoothed_abs_f2", "evaluate"):
        assert getattr(ib.diagnostics, name) is getattr(univariate, name), name
    # one weighted_curvature: ib.theory's (univariate's, plus a training sample as g) under both names
    assert ib.diagnostics.weighted_curvature is ib.theory.weighted_curvature


def test_weighted_curvature_knots_form_equals_params_form():
    p = _random_params(seed=3)
    g = lambda t: np.exp(-(t**2))  # noqa: E731
    assert weighted_curvature(knots(p), slope_jumps(p), g) == weighted_curvature(p, g) == weighted_curvature(p, g=g)
    assert ib.theory.weighted_curvature(p, g) == weighted_curvature(p, g)


def test_evaluate_is_batched_over_leading_axes():
    # (moved from tests/experiments/test_splines.py: experiments.splines.evaluate_net)
    m = ShallowReLU(9, skip=True, init_dist="uniform")
    p = {k: np.asarray(v) for k, v in m.init(5).items()}
    p["skip"], p["b2"] = np.array([0.7]), np.asarray(-0.2)
    x = np.linspace(-2, 2, 13)
    assert np.max(np.abs(evaluate(p, x) - np.asarray(m.apply(p, x[:, None])))) < 1e-14
    batched = {k: np.stack([v, v]) for k, v in p.items()}
    assert evaluate(batched, x).shape == (2, 13)
    np.testing.assert_array_equal(evaluate(batched, x)[1], evaluate(p, x))
    q = {k: v for k, v in p.items() if k != "skip"}  # no skip connection
    np.testing.assert_allclose(evaluate(q, x), evaluate(p, x) - 0.7 * x, rtol=1e-14, atol=1e-14)


def test_pad_unpad_and_active_width():
    p = {k: np.asarray(v) for k, v in ShallowReLU(5, skip=True).init(2).items()}
    q = pad_units(p, 12)
    assert q["w1"].shape == (12, 1) and q["b1"].shape == q["w2"].shape == (12,)
    assert int(active_width(q)) == 5 and int(active_width(p)) == 5
    x = np.linspace(-2, 2, 9)
    np.testing.assert_array_equal(evaluate(q, x), evaluate(p, x))  # zero units add exact zeros
    u = unpad_units(q)
    for k in p:
        np.testing.assert_array_equal(u[k], p[k])


def test_fit_affine_is_the_least_squares_fit_of_the_residual():
    p = {k: np.asarray(v) for k, v in ShallowReLU(6, skip=True).init(1).items()}
    X = np.linspace(-1, 1, 7)[:, None]
    y = np.sin(3 * X[:, 0])
    q = fit_affine(p, X, y)
    r = evaluate(q, X[:, 0]) - y
    # normal equations of (skip, b2): the residual is orthogonal to x and to 1
    assert abs(float(r @ X[:, 0])) < 1e-13 and abs(float(np.sum(r))) < 1e-13
    for k in ("w1", "b1", "w2"):
        np.testing.assert_array_equal(q[k], p[k])
