import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.algorithms import SGD, GradientDescent, MirrorDescent, SteepestDescent, get_algorithm
from implicit_bias.algorithms._discrete import parse_norm, steepest_direction


def test_gd_one_step_by_hand():
    # L = 1/(2N)||Xw - y||^2, N = 2: grad at 0 = -X^T y / 2
    X, y = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([1.0, 1.0])
    run = ib.train(ib.models.Linear(2), (X, y), "square", GradientDescent(lr=0.5), ib.Stop(max_steps=1), record=("predictor",))
    np.testing.assert_allclose(run.predictor, 0.5 * X.T @ y / 2, rtol=1e-15)
    assert run.steps == 1 and run.status == "max_steps"


def test_mirror_entropy_one_step_is_exponentiated_gradient():
    X, y = np.array([[1.0, 2.0]]), np.array([3.0])
    w0 = np.array([1.0, 0.5])
    g = X.T @ (X @ w0 - y)  # N = 1
    run = ib.train(ib.models.Linear(2, w0=w0), (X, y), "square", MirrorDescent(lr=0.1, potential="entropy"), ib.Stop(max_steps=1))
    np.testing.assert_allclose(run.predictor, w0 * np.exp(-0.1 * g), rtol=1e-14)


def test_mirror_entropy_rejects_nonpositive_init():
    with pytest.raises(ValueError, match="w > 0"):
        ib.train(ib.models.Linear(2), (np.ones((1, 2)), np.ones(1)), "square", MirrorDescent(lr=0.1, potential="entropy"), ib.Stop(max_steps=1))


@pytest.mark.parametrize("p", [1.0, 1.5, 2.0, 3.0, np.inf])
def test_steepest_direction_solves_its_definition(p):
    # Delta = argmin <g, v> + ||v||_p^2 / 2; check optimality by comparing with random v.
    rng = np.random.default_rng(0)
    g = rng.standard_normal(5)
    delta = np.asarray(steepest_direction(jnp.asarray(g), p))
    obj = lambda v: g @ v + 0.5 * np.linalg.norm(v, ord=p) ** 2
    best = obj(delta)
    for _ in range(2000):
        v = delta + 0.05 * rng.standard_normal(5)
        assert obj(v) >= best - 1e-12
    # closed-form value: min = -||g||_q^2 / 2
    q = 1.0 if np.isinf(p) else (np.inf if p == 1.0 else p / (p - 1))
    assert best == pytest.approx(-0.5 * np.linalg.norm(g, ord=q) ** 2, rel=1e-12)


def test_sgd_full_batch_equals_gd():
    ds = ib.data.random_regression(n=5, d=10, seed=0)
    a = ib.train(ib.models.Linear(10), ds, "square", SGD(lr=0.5, batch_size=5), ib.Stop(max_steps=50))
    b = ib.train(ib.models.Linear(10), ds, "square", GradientDescent(lr=0.5), ib.Stop(max_steps=50))
    np.testing.assert_allclose(a.predictor, b.predictor, rtol=1e-13)


def test_sgd_same_seed_same_numbers():
    ds = ib.data.random_regression(n=6, d=10, seed=0)
    a = ib.train(ib.models.Linear(10), ds, "square", SGD(lr=0.5, batch_size=2), ib.Stop(max_steps=100), seed=3)
    b = ib.train(ib.models.Linear(10), ds, "square", SGD(lr=0.5, batch_size=2), ib.Stop(max_steps=100), seed=3)
    c = ib.train(ib.models.Linear(10), ds, "square", SGD(lr=0.5, batch_size=2), ib.Stop(max_steps=100), seed=4)
    np.testing.assert_array_equal(a.predictor, b.predictor)
    assert not np.array_equal(a.predictor, c.predictor)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="learning rate"):
        GradientDescent(lr=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        SGD(lr=0.1, batch_size=0)
    with pytest.raises(ValueError, match="unknown norm"):
        parse_norm("l7")
    with pytest.raises(ValueError, match="unknown algorithm"):
        get_algorithm("adamw")
    with pytest.raises(ValueError, match="unknown potential"):
        MirrorDescent(lr=0.1, potential="tsallis")
