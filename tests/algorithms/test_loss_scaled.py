"""LossScaledGD: the step formula, the default exponent 2 - 2/D, training to -log L = 1000 in log domain."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.algorithms import LossScaledGD, Objective
from implicit_bias.losses import Logistic
from implicit_bias.models import MLP, Linear

X = np.array([[1.0, 0.5], [0.6, 1.2], [-1.0, -0.4], [-0.3, -1.1]])
Y = np.array([1.0, 1.0, -1.0, -1.0])


def test_step_is_grad_log_loss_scaled_by_the_schedule():
    m = MLP(2, (3,))
    p = m.init(0)
    obj = Objective(m, Logistic(), jnp.asarray(X), jnp.asarray(Y))
    new, _, lv = LossScaledGD(lr=0.3).step(obj, p, (), None)
    lv0, g = jax.value_and_grad(obj.log_value)(p)
    eta = 0.3 / (1.0 + max(-float(lv0), 0.0)) ** 1.0  # D = 2: exponent 2 - 2/2 = 1
    for k in p:
        np.testing.assert_allclose(new[k], p[k] - eta * g[k], rtol=1e-14, atol=1e-16)
    assert float(lv) == float(lv0)
    assert LossScaledGD().exponent(MLP(2, (3, 3))) == pytest.approx(4 / 3)
    assert LossScaledGD().exponent(Linear(2)) == 0.0  # D = 1: normalized GD
    assert LossScaledGD().exponent(MLP(2, (3,), bias="all")) == 1.0
    assert LossScaledGD(power=0.5).exponent(MLP(2, (3,))) == 0.5


def test_reaches_training_accuracy_1000_without_underflow():
    """-log L = 1000 (L ~ 1e-434, below the float64 range) on a 2-layer ReLU MLP: the loss is
    carried as log L, the status is converged, parameters stay finite and float64."""
    run = ib.train(MLP(2, (6,)), (X, Y), "logistic", LossScaledGD(lr=0.2), ib.Stop(training_accuracy=1000.0, max_steps=50_000), seed=0)
    assert run.status == "converged", run.message
    assert 1000.0 <= run.training_accuracy < 1010.0 and run.final_loss == 0.0  # exp(-1000) underflows; log L does not
    assert all(np.all(np.isfinite(v)) and v.dtype == np.float64 for v in run.params.values())
    # the margin grew: min_n y_n f(x_n) ~ -log L (to log N)
    q = Y * np.asarray(run.model.apply(run.params, X))
    assert 1000.0 - np.log(4) - 1 < q.min() < 1010.0


@pytest.mark.parametrize("kw,match", [({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"power": -1.0}, "power")])
def test_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        LossScaledGD(**kw)
