"""Width-scaled GD (``implicit_bias.algorithms.WidthScaledGD`` and the optax transformation
``width_scaled_gd``; montufar2024 Thm 5): the transformation against plain GD and the
least-squares optimality of the affine part; the fused step against autodiff of the square loss
plus the transformation; the folded finiteness check; validation. (Moved from
``tests/experiments/test_splines.py`` and ``tests/models/test_relu.py``.)"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.algorithms import Objective, Optax, PowerWidthScaledGD, WidthScaledGD, width_scaled_gd
from implicit_bias.experiments.splines import draw_inits, spline_data
from implicit_bias.models import ShallowReLU
from implicit_bias.univariate import evaluate_power_net, fit_affine, fit_affine_power, pad_units, unpad_units

GAUSS = {"init_dist": "gaussian", "sigma_w": 1.0, "sigma_b": 1.0}
BINU = {"init_dist": "binary-uniform", "a_b": 1.0}


def _gd_runs(algorithms, inits, ds, steps):
    model = ShallowReLU(int(np.asarray(inits[0]["w2"]).size), skip=True)
    rec = ib.Record(fields=("loss",), growth=1e9)
    return ib.train_many([model] * len(inits), [ds] * len(inits), "square", algorithms, ib.Stop(max_steps=steps), rec, inits=inits)


def test_width_scaled_gd_plain_is_gradient_descent_at_eta_bar_over_n():
    ds = spline_data(5)
    p = draw_inits([16], [0], tag=1, **GAUSS)[0]
    eta_bar = 3.0
    ours = _gd_runs([ib.Optax(width_scaled_gd(ds.X, ds.y, eta_bar, affine="gd"), lr=1.0)], [p], ds, 25)[0]
    ref = _gd_runs([ib.GradientDescent(lr=eta_bar / 16)], [p], ds, 25)[0]
    for k in p:
        assert np.max(np.abs(np.asarray(ours.params[k]) - np.asarray(ref.params[k]))) < 1e-13


def test_width_scaled_gd_exact_keeps_the_affine_part_optimal_and_padding_is_exact():
    ds = spline_data(5)
    p = fit_affine(draw_inits([12], [1], tag=2, **GAUSS)[0], ds.X, ds.y)
    tx = width_scaled_gd(ds.X, ds.y, 5.0, affine="exact")
    a, b = _gd_runs([ib.Optax(tx, lr=1.0)] * 1, [p], ds, 30)[0], _gd_runs([ib.Optax(tx, lr=1.0)], [pad_units(p, 40)], ds, 30)[0]
    q = {k: np.asarray(v) for k, v in a.params.items()}
    # (skip, b2) is the least-squares fit: the loss gradient in them vanishes
    model = ShallowReLU(12, skip=True)
    g = jax.grad(lambda r: ib.losses.get_loss("square")(model.apply(r, jnp.asarray(ds.X)), jnp.asarray(ds.y)))({k: jnp.asarray(v) for k, v in q.items()})
    assert abs(float(g["b2"])) < 1e-14 and abs(float(g["skip"][0])) < 1e-14
    # the zero-padded net is the same net (zero units stay zero; step eta_bar / 12, not / 40)
    u = unpad_units(b.params)
    for k in q:
        assert np.max(np.abs(u[k] - q[k])) < 1e-12
    assert a.final_loss < 0.5 * _gd_runs([ib.Optax(tx, lr=1.0)], [p], ds, 1)[0].final_loss


def test_width_scaled_gd_exact_fits_an_unfitted_start_itself():
    # affine="exact" computes every residual with (skip, b2) at their least-squares fit, so a start
    # with skip = b2 = 0 (ShallowReLU.init, as ibias fit and sweeps use it) trains as fit_affine's start
    ds = spline_data(5)
    p = draw_inits([12], [3], tag=2, **GAUSS)[0]
    assert float(np.asarray(p["b2"])) == 0.0 and float(np.asarray(p["skip"])[0]) == 0.0
    alg = WidthScaledGD(ds.X, ds.y, 5.0)
    a, b = _gd_runs([alg, alg], [p, fit_affine(p, ds.X, ds.y)], ds, 40)
    for k in p:
        np.testing.assert_allclose(np.asarray(a.params[k]), np.asarray(b.params[k]), rtol=1e-11, atol=1e-13, err_msg=k)


def test_width_scaled_gd_output_layer_only_freezes_the_hidden_layer():
    ds = spline_data(4)
    p = draw_inits([10], [0], tag=4, **BINU)[0]
    r = _gd_runs([ib.Optax(width_scaled_gd(ds.X, ds.y, 1.0, hidden=False, affine="gd"), lr=1.0)], [p], ds, 20)[0]
    assert np.array_equal(np.asarray(r.params["w1"]), p["w1"]) and np.array_equal(np.asarray(r.params["b1"]), p["b1"])
    assert not np.array_equal(np.asarray(r.params["w2"]), p["w2"])
    with pytest.raises(ValueError, match="affine"):
        width_scaled_gd(ds.X, ds.y, 1.0, affine="free")


@pytest.mark.parametrize("hidden, affine", [(True, "exact"), (False, "exact"), (True, "gd")])
def test_fused_width_scaled_gd_step_matches_autodiff(hidden, affine, zero_preactivation_net, plain_apply):
    # WidthScaledGD's fused step = autodiff of the square loss + width_scaled_gd
    m, p, X, y = zero_preactivation_net(10, 1, True, seed=7)
    p = {k: np.array(v) for k, v in p.items()}
    p["w2"][3] = 0.0  # a unit that only w2's gradient moves
    p = fit_affine(p, X, y) if affine == "exact" else p
    obj = Objective(m, ib.losses.get_loss("square"), X, y)
    fused = WidthScaledGD(X, y, 0.7, hidden=hidden, affine=affine)
    plain = Optax(width_scaled_gd(X, y, 0.7, hidden=hidden, affine=affine), lr=1.0)
    # the unit update (all layers) against a step along jax.grad of the plain formula
    full = WidthScaledGD(X, y, 0.7, hidden=True, affine=affine)
    s0 = full.init_state(obj, p)
    lr = float(s0.lr)
    assert lr == 0.7 / 10  # eta_bar / n: the w2 = 0 unit still counts (its w1, b1 are not zero)
    new, _, _ = full.step(obj, p, s0, None)
    g_ref = jax.grad(lambda q: 0.5 * jnp.mean((plain_apply(q, X, True) - y) ** 2))(p)
    for k in ("w1", "b1", "w2"):
        assert float(jnp.max(jnp.abs(g_ref[k]))) > 0
        np.testing.assert_allclose(new[k], p[k] - lr * g_ref[k], rtol=1e-12, atol=1e-12 * float(jnp.max(jnp.abs(g_ref[k]))), err_msg=k)
    # three steps of each: same iterates, same log loss, same carried hidden outputs
    q_f, s_f = p, fused.init_state(obj, p)
    q_p, s_p = p, plain.init_state(obj, p)
    for _ in range(3):
        q_f, s_f, lv_f = fused.step(obj, q_f, s_f, None)
        q_p, s_p, lv_p = plain.step(obj, q_p, s_p, None)
        np.testing.assert_allclose(lv_f, lv_p, rtol=1e-12)
        for k in p:
            np.testing.assert_allclose(q_f[k], q_p[k], rtol=1e-12, atol=1e-14, err_msg=k)
        F = plain_apply(q_f, X, True) - q_f["b2"] - X @ q_f["skip"]
        np.testing.assert_allclose(s_f.F, F, rtol=1e-12, atol=1e-14)
    if not hidden:
        np.testing.assert_array_equal(q_f["w1"], p["w1"])


@pytest.mark.parametrize("leaf, affine", [("w1", "exact"), ("b1", "gd"), ("w2", "exact")])
def test_fused_step_folds_the_finiteness_check_into_its_log_loss(leaf, affine, zero_preactivation_net):
    # checks_finite: the fused step returns log L = NaN exactly when a new parameter is not
    # finite, so that train_many (which then skips its own check) keeps the last finite ones
    assert WidthScaledGD.checks_finite and not ib.GradientDescent(lr=0.1).checks_finite
    m, p, X, y = zero_preactivation_net(10, 1, True, seed=7)
    p = {k: np.array(v) for k, v in p.items()}
    obj = Objective(m, ib.losses.get_loss("square"), X, y)
    fused = WidthScaledGD(X, y, 0.7, hidden=True, affine=affine)
    q, s, lv = fused.step(obj, p, fused.init_state(obj, p), None)
    assert np.isfinite(lv) and all(np.all(np.isfinite(v)) for v in q.values())
    for bad in (np.inf, -np.inf, np.nan):
        p_bad = {k: v.copy() for k, v in p.items()}
        p_bad[leaf][(4,) + (0,) * (p_bad[leaf].ndim - 1)] = bad
        q, _, lv = fused.step(obj, p_bad, fused.init_state(obj, p), None)  # state from finite params: lv would be finite
        assert not all(np.all(np.isfinite(v)) for v in q.values())
        assert np.isnan(lv), (leaf, bad)
    # huge finite parameters are not flagged (no overflow in the check)
    p_big = {k: v.copy() for k, v in p.items()}
    p_big["w2"][2] = 1e300
    p_big["b1"][2] = -1e300  # the unit is inactive on the data: the step stays finite
    p_big["w1"][2] = 0.0
    q, _, lv = fused.step(obj, p_big, fused.init_state(obj, p_big), None)
    assert all(np.all(np.isfinite(v)) for v in q.values()) and np.isfinite(lv)




def test_width_scaled_gd_trains_like_the_optax_transformation():
    # the fused algorithm through the training loop = Optax(width_scaled_gd) through the loop
    ds = spline_data(5)
    p = fit_affine(draw_inits([24], [0], tag=6, **GAUSS)[0], ds.X, ds.y)
    a = _gd_runs([WidthScaledGD(ds.X, ds.y, 2.0)], [p], ds, 40)[0]
    b = _gd_runs([Optax(width_scaled_gd(ds.X, ds.y, 2.0), lr=1.0)], [p], ds, 40)[0]
    assert a.steps == b.steps == 40 and a.time == 40.0
    for k in p:
        np.testing.assert_allclose(np.asarray(a.params[k]), np.asarray(b.params[k]), rtol=1e-11, atol=1e-13, err_msg=k)
    assert a.final_loss == pytest.approx(b.final_loss, rel=1e-9)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: WidthScaledGD(np.zeros((3, 1)), np.zeros(3), 1.0, affine="free"), "affine must be 'exact' or 'gd'"),
        (lambda: WidthScaledGD(np.zeros((3, 1)), np.zeros(3), 0.0), "eta_bar must be a finite number > 0"),
        (lambda: WidthScaledGD(np.zeros((3, 1)), np.zeros(2), 1.0), "same number"),
        (lambda: width_scaled_gd(np.zeros((3, 1)), np.zeros(3), -1.0), "eta_bar"),
    ],
)
def test_bad_settings(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_init_state_checks_model_loss_and_data():
    ds = spline_data(5)
    alg = WidthScaledGD(ds.X, ds.y, 1.0)
    m = ShallowReLU(8, skip=True)
    p = fit_affine(m.init(0), ds.X, ds.y)
    sq = ib.losses.get_loss("square")
    alg.init_state(Objective(m, sq, ds.X, ds.y), p)  # the setting it is built for
    with pytest.raises(ValueError, match="skip=True"):
        alg.init_state(Objective(ShallowReLU(8), sq, ds.X, ds.y), {k: v for k, v in p.items() if k != "skip"})
    with pytest.raises(ValueError, match="square loss"):
        alg.init_state(Objective(m, ib.losses.get_loss("logistic"), ds.X, ds.y), p)
    with pytest.raises(ValueError, match="data differ"):
        alg.init_state(Objective(m, sq, ds.X, ds.y + 1.0), p)


# ---------------------------------------------------------------------------------------
# PowerWidthScaledGD: any activation [.]_+^k of ShallowReLU, any input dimension d (Thms 8, 9)
# ---------------------------------------------------------------------------------------


def _grid_data_2d(seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(-1.0, 1.0, 3)
    X = np.clip(np.stack(np.meshgrid(t, t), -1).reshape(-1, 2) + rng.uniform(-0.2, 0.2, (9, 2)), -1.0, 1.0)
    return ib.data.Dataset(X, np.sin(2.0 * X[:, 0]) * np.cos(1.5 * X[:, 1]))


def test_power_width_scaled_gd_one_step_is_hand_written_gd_with_affine_refit_relu_power_2():
    k, ds = 2, spline_data(5)
    x, y = ds.X[:, 0], ds.y
    p0 = fit_affine_power(ShallowReLU(8, skip=True, **GAUSS).init(0), ds.X, y, k)
    eta_bar = 0.7
    run = ib.train(ShallowReLU(8, skip=True, activation="relu_power:2"), ds, "square", PowerWidthScaledGD(ds.X, y, eta_bar), ib.Stop(max_steps=1), init=p0)
    assert run.steps == 1
    # by hand: L = 1/(2M) sum r^2, grads of f = sum w2 [w1 x + b1]_+^2 + b2 + s x
    w1, b1, w2 = p0["w1"][:, 0], p0["b1"], p0["w2"]
    pre = x[:, None] * w1 + b1
    c = (evaluate_power_net(p0, x, k) - y) / x.size
    lr = eta_bar / 8
    g2 = (c[:, None] * np.maximum(pre, 0) ** 2).sum(0)
    g1 = (c[:, None] * 2 * np.maximum(pre, 0) * w2 * x[:, None]).sum(0)
    gb = (c[:, None] * 2 * np.maximum(pre, 0) * w2).sum(0)
    q = {"w1": (w1 - lr * g1)[:, None], "b1": b1 - lr * gb, "w2": w2 - lr * g2, "skip": np.zeros(1), "b2": np.asarray(0.0)}
    q = fit_affine_power(q, ds.X, y, k)
    for key in q:
        np.testing.assert_allclose(np.asarray(run.params[key]), q[key], rtol=1e-11, atol=1e-13, err_msg=key)


def test_power_width_scaled_gd_in_two_dimensions_is_hand_written_gd_and_padding_is_exact():
    ds = _grid_data_2d()
    X, y = ds.X, ds.y
    p0 = fit_affine_power(ShallowReLU(8, input_dim=2, skip=True, **GAUSS).init(3), X, y)
    eta_bar = 0.9
    alg = PowerWidthScaledGD(X, y, eta_bar)
    run = ib.train(ShallowReLU(8, input_dim=2, skip=True), ds, "square", alg, ib.Stop(max_steps=1), init=p0)
    # by hand: f = sum w2 relu(w1.x + b1) + b2 + s.x, L = 1/(2M) sum r^2; step eta_bar/8; affine refit
    pre = X @ p0["w1"].T + p0["b1"]
    act, c = (pre > 0).astype(float), (evaluate_power_net(p0, X) - y) / y.size
    lr = eta_bar / 8
    q = {
        "w1": p0["w1"] - lr * ((c[:, None] * act * p0["w2"]).T @ X),
        "b1": p0["b1"] - lr * (c[:, None] * act * p0["w2"]).sum(0),
        "w2": p0["w2"] - lr * (c[:, None] * np.maximum(pre, 0)).sum(0),
        "skip": np.zeros(2),
        "b2": np.asarray(0.0),
    }
    q = fit_affine_power(q, X, y)
    for key in q:
        np.testing.assert_allclose(np.asarray(run.params[key]), q[key], rtol=1e-11, atol=1e-13, err_msg=key)
    # zero-padded units stay zero and the step is eta_bar / (non-zero units): the same iterate
    padded = ib.train(ShallowReLU(16, input_dim=2, skip=True), ds, "square", alg, ib.Stop(max_steps=1), init=pad_units(p0, 16))
    np.testing.assert_allclose(np.asarray(padded.params["w2"])[:8], q["w2"], rtol=1e-11, atol=1e-13)
    assert np.all(np.asarray(padded.params["w2"])[8:] == 0) and np.all(np.asarray(padded.params["w1"])[8:] == 0)


def test_power_width_scaled_gd_is_width_scaled_gd_for_univariate_relu():
    # d = 1, k = 1: the same iteration as the fused WidthScaledGD(affine="exact"), to round-off
    ds = spline_data(5)
    p = fit_affine(draw_inits([24], [0], tag=6, **GAUSS)[0], ds.X, ds.y)
    a = _gd_runs([WidthScaledGD(ds.X, ds.y, 2.0)], [p], ds, 40)[0]
    b = _gd_runs([PowerWidthScaledGD(ds.X, ds.y, 2.0)], [p], ds, 40)[0]
    assert a.steps == b.steps == 40 and b.time == 40.0
    for k in p:
        np.testing.assert_allclose(np.asarray(b.params[k]), np.asarray(a.params[k]), rtol=1e-11, atol=1e-13, err_msg=k)
    assert b.final_loss == pytest.approx(a.final_loss, rel=1e-9)


def test_fit_affine_power_is_fit_affine_for_relu_in_one_dimension():
    ds = spline_data(5)
    p = draw_inits([16], [0], tag=2, **GAUSS)[0]
    a, b = fit_affine(p, ds.X, ds.y), fit_affine_power(p, ds.X, ds.y)
    for k in a:
        np.testing.assert_allclose(b[k], a[k], rtol=1e-12, atol=1e-14, err_msg=k)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: PowerWidthScaledGD(np.zeros((3, 2)), np.zeros(3), 0.0), "eta_bar must be a finite number > 0"),
        (lambda: PowerWidthScaledGD(np.zeros((3, 2)), np.zeros(2), 1.0), "same number"),
        (lambda: PowerWidthScaledGD(np.zeros((0, 2)), np.zeros(0), 1.0), "M >= 1"),
    ],
)
def test_power_width_scaled_gd_bad_settings(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_power_width_scaled_gd_init_state_checks_dimension_model_loss_and_data():
    ds = _grid_data_2d()
    alg = PowerWidthScaledGD(ds.X, ds.y, 1.0)
    m = ShallowReLU(8, input_dim=2, skip=True, activation="relu_power:3")
    p = fit_affine_power(m.init(0), ds.X, ds.y, 3)
    sq = ib.losses.get_loss("square")
    alg.init_state(Objective(m, sq, ds.X, ds.y), p)  # the setting it is built for
    with pytest.raises(ValueError, match=r"built for X \(M, 2\), it trains ShallowReLU\(width, input_dim=2, skip=True\); received ShallowReLU\(input_dim=1"):
        alg.init_state(Objective(ShallowReLU(8, skip=True), sq, ds.X[:, :1], ds.y), fit_affine_power(ShallowReLU(8, skip=True).init(0), ds.X[:, :1], ds.y))
    with pytest.raises(ValueError, match="skip=True"):
        alg.init_state(Objective(ShallowReLU(8, input_dim=2), sq, ds.X, ds.y), {k: v for k, v in p.items() if k != "skip"})
    with pytest.raises(ValueError, match="square loss"):
        alg.init_state(Objective(m, ib.losses.get_loss("logistic"), ds.X, ds.y), p)
    with pytest.raises(ValueError, match="data differ"):
        alg.init_state(Objective(m, sq, ds.X, ds.y + 1.0), p)
