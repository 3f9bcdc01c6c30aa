"""The IGR modified loss (algorithms/_modified.py) and GradientFlow(objective="igr")."""

import logging

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import implicit_bias as ib
from implicit_bias.algorithms import FLOW_OBJECTIVES, GradientDescent, GradientFlow, Objective, igr_gradient, igr_loss
from implicit_bias.diagnostics import loglog_slope


def _fc_objective():
    ds = ib.data.random_regression(n=5, d=3, seed=0)
    model = ib.models.FullyConnected(3, widths=(2,), activation="linear", scale=1.0)
    return Objective(model, ib.losses.get_loss("square"), jnp.asarray(ds.X), jnp.asarray(ds.y)), model.init(0)


def test_modified_gradient_is_grad_plus_half_eta_dense_hessian_times_grad():
    obj, p = _fc_objective()
    flat, unravel = jax.flatten_util.ravel_pytree(p)
    L = lambda th: 0.5 * jnp.mean((obj.model.apply(unravel(th), obj.X) - obj.y) ** 2)  # noqa: E731  written out
    g = jax.jit(jax.grad(L))(flat)
    H = jax.jit(jax.hessian(L))(flat)  # dense (P, P)
    eta = 0.3
    got = jax.flatten_util.ravel_pytree(jax.jit(lambda q: igr_gradient(obj, q, eta))(p))[0]
    np.testing.assert_allclose(got, g + 0.5 * eta * H @ g, rtol=1e-12, atol=1e-14)
    # the value: L + (eta/4) ||g||^2
    assert float(jax.jit(lambda q: igr_loss(obj, q, eta))(p)) == pytest.approx(float(jax.jit(L)(flat) + 0.25 * eta * g @ g), rel=1e-13)


def test_modified_gradient_is_the_gradient_of_the_modified_loss_by_central_differences():
    obj, p = _fc_objective()
    flat, unravel = jax.flatten_util.ravel_pytree(p)
    eta, h = 0.2, 1e-5
    got = np.asarray(jax.flatten_util.ravel_pytree(igr_gradient(obj, p, eta))[0])
    value = jax.jit(lambda th: igr_loss(obj, unravel(th), eta))
    fd = np.empty_like(got)
    for i in range(flat.size):
        e = np.zeros(flat.size)
        e[i] = h
        fd[i] = (float(value(flat + e)) - float(value(flat - e))) / (2 * h)
    np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-9)


def _quadratic():
    # L(w) = ||X w||^2 / (2N) = w^T A w / 2 with A = X^T X / N (square loss, y = 0)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((4, 4))
    ds = ib.data.Dataset(X, np.zeros(4), "regression")
    w0 = rng.standard_normal(4)
    return ds, X.T @ X / 4, w0


def test_on_a_quadratic_gd_and_both_flows_match_their_closed_forms_and_the_orders(caplog):
    # GD: (I - eta A)^k w0; flow: exp(-t A) w0; modified flow: exp(-t (A + eta A^2 / 2)) w0
    ds, A, w0 = _quadratic()
    T, ks = 1.0, (8, 16, 32, 64)
    etas = [T / k for k in ks]
    model = ib.models.Linear(4, w0=w0)
    rec = ib.Record(fields=("loss",), steps=(), times=())
    gd = ib.train_many([model] * 4, [ds] * 4, "square", [GradientDescent(lr=e) for e in etas], ib.Stop(max_time=T, max_steps=None), rec)
    algs = [GradientFlow(objective="igr", lr=e, rtol=1e-12, atol=1e-14) for e in [0.0] + etas]
    fl = ib.train_many([model] * 5, [ds] * 5, "square", algs, ib.Stop(max_time=T), rec)
    assert {r.status for r in gd + fl} == {"max_time"}
    I = np.eye(4)
    for k, e, r in zip(ks, etas, gd):
        np.testing.assert_allclose(r.predictor, np.linalg.matrix_power(I - e * A, k) @ w0, rtol=1e-12, atol=1e-15)
    flow = scipy.linalg.expm(-T * A) @ w0
    np.testing.assert_allclose(fl[0].predictor, flow, rtol=1e-10, atol=1e-13)
    mod = [scipy.linalg.expm(-T * (A + 0.5 * e * A @ A)) @ w0 for e in etas]
    for r, m in zip(fl[1:], mod):
        np.testing.assert_allclose(r.predictor, m, rtol=1e-10, atol=1e-13)
    d1 = [np.linalg.norm(r.predictor - fl[0].predictor) for r in gd]
    d2 = [np.linalg.norm(r.predictor - f.predictor) for r, f in zip(gd, fl[1:])]
    s1, s2 = loglog_slope(etas, d1)[0], loglog_slope(etas, d2)[0]
    # the exact distances from the closed forms have these slopes too (not copied: computed here)
    c1 = loglog_slope(etas, [np.linalg.norm(np.linalg.matrix_power(I - e * A, k) @ w0 - flow) for k, e in zip(ks, etas)])[0]
    c2 = loglog_slope(etas, [np.linalg.norm(np.linalg.matrix_power(I - e * A, k) @ w0 - m) for k, e, m in zip(ks, etas, mod)])[0]
    assert s1 == pytest.approx(c1, abs=1e-6) and s2 == pytest.approx(c2, abs=1e-6)
    assert abs(s1 - 1) < 0.1 and abs(s2 - 2) < 0.15
    # new step sizes (lr is data): the same compiled flow program, no recompilation
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level(logging.WARNING, logger="jax"):
            caplog.clear()
            again = ib.train_many([model] * 5, [ds] * 5, "square", [GradientFlow(objective="igr", lr=e, rtol=1e-12, atol=1e-14) for e in [0.0] + [2 * e for e in etas]], ib.Stop(max_time=T), rec)
        compiles = [r.getMessage()[:120] for r in caplog.records if "compil" in r.getMessage().lower()]
    finally:
        jax.config.update("jax_log_compiles", False)
    assert not compiles, compiles
    np.testing.assert_allclose(again[1].predictor, scipy.linalg.expm(-T * (A + etas[0] * A @ A)) @ w0, rtol=1e-10, atol=1e-13)


def test_default_flow_is_the_flow_of_the_loss():
    f = GradientFlow()
    assert f.objective == "loss" and f.lr is None and FLOW_OBJECTIVES == ("loss", "igr")


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"objective": "igR", "lr": 0.1}, "unknown objective 'igR'"),
        ({"objective": "igr"}, "objective='igr' needs the step size"),
        ({"objective": "igr", "lr": -0.1}, "lr a finite number >= 0"),
        ({"objective": "igr", "lr": float("nan")}, "lr a finite number >= 0"),
        ({"lr": 0.1}, "lr applies to objective='igr'"),
        ({"objective": "igr", "lr": 0.1, "clock": "normalized"}, "use clock='time'"),
    ],
)
def test_bad_objective_settings_are_one_clear_line(kwargs, fragment):
    with pytest.raises(ValueError, match="GradientFlow") as e:
        GradientFlow(**kwargs)
    assert fragment in str(e.value) and "\n" not in str(e.value)
