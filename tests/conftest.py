"""Test set-up: float64 and strict rank promotion once for the whole suite (diffrax's conftest)."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import jax  # noqa: E402

import implicit_bias  # noqa: E402,F401  (switches on float64)

jax.config.update("jax_numpy_rank_promotion", "raise")

# Experiments write their sweeps to the run store named by IBIAS_STORE: keep the suite's own.
import tempfile  # noqa: E402

os.environ.setdefault("IBIAS_STORE", tempfile.mkdtemp(prefix="ibias-test-store-"))


# Shared cases of the shallow ReLU net (tests/models/test_relu.py, tests/algorithms/test_width_scaled.py)
import jax.numpy as jnp  # noqa: E402
import pytest  # noqa: E402


def _plain_apply(p, X, skip):
    """The model's formula in matrix form (the reference for the fast paths)."""
    out = jax.nn.relu(X @ p["w1"].T + p["b1"][None, :]) @ p["w2"] + p["b2"]
    return out + X @ p["skip"] if skip else out


def _net_with_zero_preactivations(k, d, skip, seed):
    """A ``ShallowReLU(k, input_dim=d)`` whose units 0 and 1 have pre-activation exactly 0 at the
    (dyadic) inputs ``x_0`` and ``x_1``: the kinks where ``relu'(0) = 0`` must hold."""
    from implicit_bias.models import ShallowReLU

    m = ShallowReLU(k, input_dim=d, skip=skip, init_dist="uniform", a_w=1.0, a_b=1.0)
    p = dict(m.init(seed))
    X = jax.random.uniform(jax.random.key(seed + 100), (5, d), minval=-1.0, maxval=1.0)
    X = X.at[0].set(0.5).at[1].set(-0.25)  # dyadic inputs: exact pre-activations
    p["w1"] = p["w1"].at[0].set(2.0).at[1].set(-4.0)
    p["b1"] = p["b1"].at[0].set(-1.0 * d).at[1].set(-1.0 * d)
    if skip:
        p["skip"] = jnp.linspace(0.5, -0.5, d)
    p["b2"] = jnp.asarray(0.3)
    y = jnp.sin(3.0 * X[:, 0])
    return m, p, X, y


@pytest.fixture
def plain_apply():
    """``plain_apply(p, X, skip)``: the shallow ReLU net's formula in matrix form."""
    return _plain_apply


@pytest.fixture
def zero_preactivation_net():
    """``zero_preactivation_net(k, d, skip, seed) -> (model, params, X, y)`` with exact kinks on data."""
    return _net_with_zero_preactivations
