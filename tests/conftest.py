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


# The ``ibias`` commands in the test process (tests/test_cli.py, tests/test_cli_factorization.py)
@pytest.fixture
def cli(capsys):
    """``cli(*args, check=False)``: :func:`ibias_in_process` with this test's ``capsys`` (the
    success paths of the commands run in the test process: no interpreter start-up, and the
    worker's compiled programs are reused)."""

    def run(*args, check=False):
        p = ibias_in_process(capsys, *args)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    return run


def ibias_in_process(capsys, *args):
    """``ibias ARGS`` through ``cli.main(argv)`` in this process (the entry point's own error
    handling, without a new interpreter's start-up): ``(returncode, stdout, stderr)``. The error
    paths run here; the installed program's exit codes are tested through subprocesses
    (``test_the_program_exits_2_on_bad_input`` and the tests that call ``ibias``)."""
    from types import SimpleNamespace

    import signal

    from implicit_bias import cli

    capsys.readouterr()
    prev = signal.getsignal(signal.SIGINT)  # a command may leave Ctrl-C handling changed (Dask); keep this process's
    try:
        with pytest.raises(SystemExit) as e:
            cli.main([str(a) for a in args])
    finally:
        signal.signal(signal.SIGINT, prev)
    out = capsys.readouterr()
    return SimpleNamespace(returncode=e.value.code or 0, stdout=out.out, stderr=out.err)  # sys.exit(None) is 0
