"""One contract over every algorithm (optax alias_test.py): converges on a toy problem, keeps
float64, does not recompile on a second call with new data of the same shapes."""

import logging

import jax
import numpy as np
import optax
import pytest

import implicit_bias as ib
from implicit_bias.algorithms import SGD, GainTrackedGD, GradientDescent, GradientFlow, LabelNoiseSGD, MirrorDescent, NormalizedGD, Optax, ParamNoiseGD, SteepestDescent
from implicit_bias.algorithms import SGD, GradientDescent, GradientFlow, LossScaledGD, MirrorDescent, NormalizedGD, Optax, SteepestDescent

_SGD = optax.sgd(1.0)  # one transformation object: optax transformations are static (hashed) in jit

REGRESSION = {
    "flow": lambda: GradientFlow(),
    "gd": lambda: GradientDescent(lr=1.0),
    "gain-gd": lambda: GainTrackedGD(lr=1.0),
    "sgd": lambda: SGD(lr=0.3, batch_size=2),
    "mirror-quadratic": lambda: MirrorDescent(lr=1.0, potential="quadratic"),
    "mirror-entropy": lambda: MirrorDescent(lr=0.5, potential="entropy"),
    "steepest-l2": lambda: SteepestDescent(lr=1.0, norm="l2"),
    "optax-sgd": lambda: Optax(_SGD, lr=1.0),
    # the noisy algorithms converge to zero loss only without noise (their noise = 0 limits are SGD / GD)
    "label-noise-sgd": lambda: LabelNoiseSGD(lr=0.3, noise=0.0, batch_size=2),
    "param-noise-gd": lambda: ParamNoiseGD(lr=1.0, noise=0.0),
}
CLASSIFICATION = {
    "normalized-gd": lambda: NormalizedGD(lr=0.1),
    "steepest-l1": lambda: SteepestDescent(lr=0.1, norm="l1", normalize=True),
    "steepest-linf": lambda: SteepestDescent(lr=0.1, norm="linf", normalize=True),
    "loss-scaled-gd": lambda: LossScaledGD(lr=0.2),
}


def _regression(seed):
    return ib.data.random_regression(n=4, d=8, seed=seed, positive=True)


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_algorithms_converge_and_keep_float64(name, caplog):
    alg = REGRESSION[name]()
    w0 = np.full(8, 0.5)
    run = ib.train(ib.models.Linear(8, w0=w0), _regression(0), "square", alg, ib.Stop(loss=1e-14, max_steps=200_000))
    assert run.status == "converged", run.message
    # the flow stops on a root-found event, located to 1e-7 relative in time
    assert run.final_loss <= 1e-14 * (1 + 1e-6)
    assert run.params["w"].dtype == np.float64
    assert run.trajectory.predictor.dtype == np.float64
    # second call, new data of the same shapes: no recompilation
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level(logging.WARNING, logger="jax"):
            caplog.clear()
            run2 = ib.train(ib.models.Linear(8, w0=w0 * 1.1), _regression(1), "square", REGRESSION[name](), ib.Stop(loss=1e-14, max_steps=200_000))
        compiles = [r for r in caplog.records if "Compiling" in r.getMessage() or "compil" in r.getMessage().lower()]
    finally:
        jax.config.update("jax_log_compiles", False)
    assert run2.status == "converged"
    assert not compiles, [r.getMessage()[:120] for r in compiles]


@pytest.mark.parametrize("name", list(CLASSIFICATION))
def test_classification_algorithms_reach_accuracy(name):
    ds = ib.data.separable_classification(n=10, d=3, margin=0.2, seed=0)
    run = ib.train(ib.models.Linear(3), ds, "exponential", CLASSIFICATION[name](), ib.Stop(training_accuracy=50.0, max_steps=100_000))
    assert run.status == "converged", run.message
    assert run.training_accuracy >= 50.0
    assert run.params["w"].dtype == np.float64
    assert np.all(ds.y * (ds.X @ run.predictor) > 0)


def test_width_scaled_gd_contract(caplog):
    # WidthScaledGD trains one model family (univariate ShallowReLU with skip) on the data it is
    # built with, so it has its own toy problem: it converges, keeps float64, and a second call
    # (same data, a new init and a new algorithm object with equal settings) does not recompile.
    from implicit_bias.algorithms import WidthScaledGD
    from implicit_bias.univariate import fit_affine

    ds = ib.data.Dataset(np.array([[-1.0], [-0.3], [0.4], [1.0]]), np.array([0.5, -0.2, 0.3, 0.1]))
    m = ib.models.ShallowReLU(32, skip=True)
    stop = ib.Stop(loss=1e-14, max_steps=200_000)
    run = ib.train(m, ds, "square", WidthScaledGD(ds.X, ds.y, 1.0), stop, init=fit_affine(m.init(0), ds.X, ds.y))
    assert run.status == "converged", run.message
    assert run.final_loss <= 1e-14
    assert all(np.asarray(v).dtype == np.float64 for v in run.params.values())
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level(logging.WARNING, logger="jax"):
            caplog.clear()
            run2 = ib.train(m, ds, "square", WidthScaledGD(ds.X, ds.y, 1.0), stop, init=fit_affine(m.init(1), ds.X, ds.y))
        compiles = [r for r in caplog.records if "Compiling" in r.getMessage() or "compil" in r.getMessage().lower()]
    finally:
        jax.config.update("jax_log_compiles", False)
    assert run2.status == "converged"
    assert not compiles, [r.getMessage()[:120] for r in compiles]


@pytest.mark.parametrize("name", list(REGRESSION) + list(CLASSIFICATION))
def test_the_loop_seams_are_declared(name):
    # train reads lr (discrete) or max_steps and solve_segment (flows) as declared attributes
    alg = {**REGRESSION, **CLASSIFICATION}[name]()
    if alg.continuous:
        assert isinstance(alg, ib.algorithms.AbstractFlow) and isinstance(alg.max_steps, int)
    else:
        assert isinstance(alg, ib.algorithms.AbstractDiscreteAlgorithm) and float(alg.lr) > 0


def test_a_discrete_algorithm_without_lr_or_a_flow_without_solve_segment_is_abstract():
    class NoLR(ib.algorithms.AbstractDiscreteAlgorithm):
        def step(self, objective, params, state, key):
            return params, state, objective.log_value(params)

    class NoSolve(ib.algorithms.AbstractFlow):
        max_steps: int = 10

    for cls in (NoLR, NoSolve):
        with pytest.raises(TypeError, match="abstract"):
            cls()


def test_declaring_the_seams_keeps_the_constructor_arguments():
    import dataclasses

    assert [f.name for f in dataclasses.fields(Optax)] == ["optimizer", "lr"]
    assert [f.name for f in dataclasses.fields(SGD)] == ["lr", "batch_size", "sampling"]
    assert [f.name for f in dataclasses.fields(GradientFlow)] == ["rtol", "atol", "solver", "max_steps", "clock", "objective", "lr"]  # new fields come last: positional calls keep their meaning
