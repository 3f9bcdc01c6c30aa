"""Helpers of the jin-montufar2023 experiments (``implicit_bias.experiments.splines``).

Fast unit tests: each helper against an independent reference (a closed form, the model). The
experiments themselves run in ``tests/experiments/test_registry.py``. The pieces that moved out
are tested where they live now: ``tests/test_univariate.py`` (evaluation, padding, the affine
fit), ``tests/theory/test_relu_kernels.py`` (kernels, interpolants, the linearized trajectory),
``tests/algorithms/test_width_scaled.py`` (``WidthScaledGD``, ``width_scaled_gd``).
"""

import math

import matplotlib
import numpy as np
import pytest
import xarray as xr

from implicit_bias.diagnostics import loglog_slope
from implicit_bias.experiments import splines as S
from implicit_bias.univariate import evaluate


pytestmark = pytest.mark.xdist_group("splines")  # with its experiments in test_registry.py: shared cached runs

matplotlib.use("Agg")

GAUSS = {"init_dist": "gaussian", "sigma_w": 1.0, "sigma_b": 1.0}  # the experiments' Gaussian (1, 1) init
UNIF = {"init_dist": "uniform", "a_w": math.sqrt(3.0), "a_b": math.sqrt(3.0)}  # E[W^2] = 1


def test_draw_inits_law_and_shapes():
    ps = S.draw_inits([8, 4096], [0, 1], tag=0, **GAUSS)
    assert [p["w2"].shape for p in ps] == [(8,), (8,), (4096,), (4096,)]
    assert not np.array_equal(ps[0]["w1"], ps[1]["w1"])
    assert abs(np.std(ps[2]["w2"]) * math.sqrt(4096) - 1.0) < 0.05  # w2 ~ N(0, 1/n) at every width
    assert abs(np.std(np.concatenate([p["w2"] for p in ps[:2]])) * math.sqrt(8) - 1.0) < 0.6
    anti = S.draw_inits([6], [0], antisymmetric=True, **UNIF)[0]
    assert np.max(np.abs(evaluate(anti, np.linspace(-1, 1, 9)))) < 1e-15


def test_curvature_near_and_second_difference():
    x = np.linspace(-1, 1, 2001)
    # f = x^2: |f''| = 2 everywhere; second differences trim h at both ends
    assert abs(float(S.curvature_near(x**2, x, h=0.05, radius=0.25)) - 0.5 / 1.9) < 1e-3  # + half a grid cell at each edge
    # a kink at 0 puts all the curvature near 0
    assert abs(float(S.curvature_near(np.abs(x), x, h=0.05)) - 1.0) < 1e-12


def test_norms_slopes_and_data():
    x = np.linspace(-1, 1, 4001)
    assert abs(float(S.norm_on_interval(np.ones_like(x), x)) - math.sqrt(2)) < 1e-12
    assert float(S.norm_on_interval(-3 * x, x, kind="sup")) == 3.0
    n = np.array([64, 128, 256, 1024])
    s, se = loglog_slope(n, 2.0 * n**-0.5)
    assert abs(s + 0.5) < 1e-12 and se < 1e-10
    ds = S.spline_data(7, target="wiggle")
    assert ds.X.shape == (7, 1) and ds.X[0, 0] == -1.0 and ds.X[-1, 0] == 1.0 and np.all(np.diff(ds.X[:, 0]) > 0)
    with pytest.raises(ValueError, match="target"):
        S.spline_data(5, target="nope")


def test_figure_functions_on_synthetic_data():
    widths = np.array([64, 256, 1024])
    rng = np.random.default_rng(0)
    d = xr.Dataset(
        {"l2_error": (("init", "width", "seed"), np.abs(rng.normal(size=(2, 3, 4))) * widths[None, :, None] ** -0.5)},
        coords={"init": ["gaussian", "uniform"], "width": widths, "seed": range(4)},
    )
    fig = S.width_figure(d, "l2_error", "error")
    assert fig.axes
    xe = np.linspace(-1, 1, 201)
    d2 = xr.Dataset(
        {
            "f": (("init", "seed", "x"), np.stack([np.stack([np.sin(xe)] * 2)] * 2)),
            "g_star": (("init", "x"), np.stack([np.sin(xe)] * 2)),
            "g_star_f2": (("init", "x"), np.stack([-np.sin(xe)] * 2)),
            "zeta": (("init", "x"), np.stack([np.ones_like(xe)] * 2)),
        },
        coords={"init": ["a", "b"], "seed": [0, 1], "x": xe, "x_data": [-1.0, 1.0], "y_data": ("x_data", [0.0, 0.0])},
        attrs={"width": 8},
    )
    assert S.init_shape_plot(d2).axes


def test_train_nets_divergence_keeps_the_last_finite_parameters():
    # (moved from tests/models/test_relu.py) WidthScaledGD folds the finiteness check into its step
    ds = S.spline_data(6, target="sin3")
    inits = S.draw_inits([64], range(2), tag=1, **GAUSS)
    params, runs = S.train_nets(ds, inits, 1e306, loss=1e-10, max_steps=50, pad_to=None)
    assert [r.status for r in runs] == ["diverged", "diverged"]
    for q in params:
        assert all(np.all(np.isfinite(np.asarray(v))) for v in q.values())
