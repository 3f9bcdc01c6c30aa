"""Helpers of the jin-montufar2023 experiments (``implicit_bias.experiments.splines``).

Fast unit tests: each helper against an independent reference (a closed form, ``jax.jacrev``,
``scipy`` quadrature, the library's own GD, the theory module's splines). The experiments
themselves run in ``tests/experiments/test_registry.py``.
"""

import math

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
import scipy.integrate
import xarray as xr

import implicit_bias as ib
from implicit_bias.experiments import splines as S
from implicit_bias.models import ShallowReLU
from implicit_bias.models.init import BinaryUniform, Gaussian, Uniform
from implicit_bias.theory.splines import smoothing_spline_path, weighted_spline_interpolant, zeta_function

matplotlib.use("Agg")


def _arccos_kernel(xa, xb, sw, sb):
    # E[[Wx+B]_+ [Wx'+B]_+] for W ~ N(0, sw^2), B ~ N(0, sb^2): the degree-1 arc-cosine kernel
    # (Cho & Saul 2009) of u = (sw x, sb): |u||u'| (sin t + (pi - t) cos t) / (2 pi).
    ua = np.stack([sw * xa, sb * np.ones_like(xa)], 1)
    ub = np.stack([sw * xb, sb * np.ones_like(xb)], 1)
    na, nb = np.linalg.norm(ua, axis=1), np.linalg.norm(ub, axis=1)
    c = np.clip(ua @ ub.T / np.outer(na, nb), -1, 1)
    t = np.arccos(c)
    return np.outer(na, nb) * (np.sin(t) + (np.pi - t) * c) / (2 * np.pi)


@pytest.mark.parametrize("sw,sb", [(1.0, 1.0), (1.0, math.sqrt(0.1)), (0.7, 1.5)])
def test_output_kernel_gaussian_is_the_arccos_kernel(sw, sb):
    xa, xb = np.linspace(-1.7, 1.3, 9), np.array([-1.0, -0.2, 0.4, 1.0])
    K = S.output_kernel(xa, xb, Gaussian(sigma_w=sw, sigma_b=sb))
    assert np.max(np.abs(K - _arccos_kernel(xa, xb, sw, sb))) < 1e-12


@pytest.mark.parametrize("init", [Uniform(a_w=1.0, a_b=1.0), Uniform(a_w=2.0, a_b=1.0), BinaryUniform(a_b=1.0)])
def test_output_kernel_matches_its_integral_by_quad(init):
    z = zeta_function(init)
    x, xp = -0.3, 0.8

    def integrand(c):
        return 0.5 * float(z(np.array([c]))[0]) * (max(x - c, 0) * max(xp - c, 0) + max(c - x, 0) * max(c - xp, 0))

    ref = sum(scipy.integrate.quad(integrand, a, b, epsabs=0, epsrel=1e-12, limit=500)[0] for a, b in ((-np.inf, -3), (-3, x), (x, xp), (xp, 3), (3, np.inf)))
    K = S.output_kernel([x], [xp], init)[0, 0]
    assert abs(K - ref) < 1e-10 * abs(ref)


def test_output_kernel_matches_the_sampled_features():
    # the kernel of the library's sampler: a large Monte Carlo average of phi phi'
    init = Uniform(a_w=math.sqrt(3.0), a_b=math.sqrt(3.0))
    p = init.sample(jax.random.key(0), 400_000)
    x = np.array([-1.0, 0.0, 0.6])
    F = np.maximum(x[:, None] * np.asarray(p["w1"])[:, 0] + np.asarray(p["b1"]), 0)
    assert np.max(np.abs(S.output_kernel(x, x, init) - F @ F.T / F.shape[1])) < 0.01


def test_kernel_interpolant_interpolates_and_tends_to_g_star():
    ds = S.spline_data(6)
    x, y = ds.X[:, 0], ds.y
    xe = np.linspace(-1, 1, 201)
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    f0 = lambda t: 0.3 * np.sin(5 * t)  # noqa: E731
    gk = S.kernel_interpolant(x, y, init, x, f0=f0)
    assert np.max(np.abs(gk - y)) < 1e-10
    g = weighted_spline_interpolant(x, y, init, f0=f0)(xe)
    gaps = [np.max(np.abs(S.kernel_interpolant(x, y, init, xe, f0=f0, beta=b) - g)) for b in (0.0, 10.0, 1e3, 1e5)]
    assert gaps[0] > 1e-3  # the affine part is charged at beta = 0 ...
    assert gaps[1] < gaps[0] and gaps[3] < 1e-6  # ... and freed as beta -> inf, like O(1/beta)
    assert 50 < gaps[1] / gaps[2] < 200


def test_tangent_kernel_fractions_match_jax_jacobian():
    m = ShallowReLU(7, skip=True, init_dist="gaussian")
    p = m.init(3)
    X = np.array([[-1.0], [-0.3], [0.2], [0.9]])
    parts = S.tangent_kernel_fractions(p, X)
    J = jax.jacrev(lambda q: m.apply(q, jnp.asarray(X)))(p)
    flat = {k: np.asarray(v).reshape(4, -1) for k, v in J.items()}
    for name, keys in (("hidden", ("w1", "b1")), ("output", ("w2",)), ("affine", ("skip", "b2"))):
        ref = sum(flat[k] @ flat[k].T for k in keys)
        assert np.max(np.abs(parts[name] - ref)) < 1e-12
    assert 0 < parts["hidden_fraction"] < 1


def _gd_runs(algorithms, inits, ds, steps):
    model = ShallowReLU(int(np.asarray(inits[0]["w2"]).size), skip=True)
    rec = ib.Record(fields=("loss",), growth=1e9)
    return ib.train_many([model] * len(inits), [ds] * len(inits), "square", algorithms, ib.Stop(max_steps=steps), rec, inits=inits)


def test_width_scaled_gd_plain_is_gradient_descent_at_eta_bar_over_n():
    ds = S.spline_data(5)
    p = S.draw_inits([16], [0], tag=1, **S._GAUSS)[0]
    eta_bar = 3.0
    ours = _gd_runs([ib.Optax(S.width_scaled_gd(ds.X, ds.y, eta_bar, affine="gd"), lr=1.0)], [p], ds, 25)[0]
    ref = _gd_runs([ib.GradientDescent(lr=eta_bar / 16)], [p], ds, 25)[0]
    for k in p:
        assert np.max(np.abs(np.asarray(ours.params[k]) - np.asarray(ref.params[k]))) < 1e-13


def test_width_scaled_gd_exact_keeps_the_affine_part_optimal_and_padding_is_exact():
    ds = S.spline_data(5)
    p = S.fit_affine(S.draw_inits([12], [1], tag=2, **S._GAUSS)[0], ds.X, ds.y)
    tx = S.width_scaled_gd(ds.X, ds.y, 5.0, affine="exact")
    a, b = _gd_runs([ib.Optax(tx, lr=1.0)] * 1, [p], ds, 30)[0], _gd_runs([ib.Optax(tx, lr=1.0)], [S.pad_units(p, 40)], ds, 30)[0]
    q = {k: np.asarray(v) for k, v in a.params.items()}
    # (skip, b2) is the least-squares fit: the loss gradient in them vanishes
    model = ShallowReLU(12, skip=True)
    g = jax.grad(lambda r: ib.losses.get_loss("square")(model.apply(r, jnp.asarray(ds.X)), jnp.asarray(ds.y)))({k: jnp.asarray(v) for k, v in q.items()})
    assert abs(float(g["b2"])) < 1e-14 and abs(float(g["skip"][0])) < 1e-14
    # the zero-padded net is the same net (zero units stay zero; step eta_bar / 12, not / 40)
    u = S.unpad_units(b.params)
    for k in q:
        assert np.max(np.abs(u[k] - q[k])) < 1e-12
    assert a.final_loss < 0.5 * _gd_runs([ib.Optax(tx, lr=1.0)], [p], ds, 1)[0].final_loss


def test_width_scaled_gd_output_layer_only_freezes_the_hidden_layer():
    ds = S.spline_data(4)
    p = S.draw_inits([10], [0], tag=4, **S._BINU)[0]
    r = _gd_runs([ib.Optax(S.width_scaled_gd(ds.X, ds.y, 1.0, hidden=False, affine="gd"), lr=1.0)], [p], ds, 20)[0]
    assert np.array_equal(np.asarray(r.params["w1"]), p["w1"]) and np.array_equal(np.asarray(r.params["b1"]), p["b1"])
    assert not np.array_equal(np.asarray(r.params["w2"]), p["w2"])
    with pytest.raises(ValueError, match="affine"):
        S.width_scaled_gd(ds.X, ds.y, 1.0, affine="free")


def test_draw_inits_law_and_shapes():
    ps = S.draw_inits([8, 4096], [0, 1], tag=0, **S._GAUSS)
    assert [p["w2"].shape for p in ps] == [(8,), (8,), (4096,), (4096,)]
    assert not np.array_equal(ps[0]["w1"], ps[1]["w1"])
    assert abs(np.std(ps[2]["w2"]) * math.sqrt(4096) - 1.0) < 0.05  # w2 ~ N(0, 1/n) at every width
    assert abs(np.std(np.concatenate([p["w2"] for p in ps[:2]])) * math.sqrt(8) - 1.0) < 0.6
    anti = S.draw_inits([6], [0], antisymmetric=True, **S._UNIF)[0]
    assert np.max(np.abs(S.evaluate_net(anti, np.linspace(-1, 1, 9)))) < 1e-15


def test_evaluate_net_matches_the_model():
    m = ShallowReLU(9, skip=True, init_dist="uniform")
    p = {k: np.asarray(v) for k, v in m.init(5).items()}
    p["skip"], p["b2"] = np.array([0.7]), np.asarray(-0.2)
    x = np.linspace(-2, 2, 13)
    assert np.max(np.abs(S.evaluate_net(p, x) - np.asarray(m.apply(p, x[:, None])))) < 1e-14
    batched = {k: np.stack([v, v]) for k, v in p.items()}
    assert S.evaluate_net(batched, x).shape == (2, 13)


def test_linearized_trajectory_limits_are_the_spline_path_ends():
    ds = S.spline_data(6)
    x, y = ds.X[:, 0], ds.y
    xe = np.linspace(-1, 1, 101)
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    f0 = lambda t: 0.2 * np.cos(3 * t)  # noqa: E731
    path = smoothing_spline_path(x, y, init, f0=f0)
    L = S.linearized_trajectory(x, y, init, xe, [0, 10**7], 0.05, f0=f0)
    assert np.max(np.abs(L[0] - path(np.inf)(xe))) < 1e-10  # t = 0: affine fit of y - f0 (lambda = inf)
    assert np.max(np.abs(L[1] - path(0.0)(xe))) < 1e-8  # t -> inf: g*
    # first order in t: the spline with lambda = 1/(eps t) (the time map's constant)
    eps, t = 0.05, 1e-3
    Lt = S.linearized_trajectory(x, y, init, xe, [t], eps, f0=f0)[0] - path(np.inf)(xe)
    St = path(1.0 / (eps * t))(xe) - path(np.inf)(xe)
    assert np.max(np.abs(Lt - St)) < 1e-2 * np.max(np.abs(St))


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
    s, se = S.loglog_slope(n, 2.0 * n**-0.5)
    assert abs(s + 0.5) < 1e-12 and se < 1e-10
    ds = S.spline_data(7, target="wiggle")
    assert ds.X.shape == (7, 1) and ds.X[0, 0] == -1.0 and ds.X[-1, 0] == 1.0 and np.all(np.diff(ds.X[:, 0]) > 0)
    with pytest.raises(ValueError, match="target"):
        S.spline_data(5, target="nope")


def test_stable_eta_bar_uses_the_projected_kernel():
    ds = S.spline_data(6)
    init = Gaussian(sigma_w=1.0, sigma_b=1.0)
    assert S.stable_eta_bar(ds.X[:, 0], init, projected=True) > 10 * S.stable_eta_bar(ds.X[:, 0], init, projected=False)


def test_figure_functions_on_synthetic_data():
    widths = np.array([64, 256, 1024])
    rng = np.random.default_rng(0)
    d = xr.Dataset(
        {"l2_error": (("init", "width", "seed"), np.abs(rng.normal(size=(2, 3, 4))) * widths[None, :, None] ** -0.5)},
        coords={"init": ["gaussian", "uniform"], "width": widths, "seed": range(4)},
    )
    fig = S._width_figure(d, "l2_error", "error")
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
    assert S._init_shape_plot(d2).axes
