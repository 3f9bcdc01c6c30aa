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


def test_steepest_descent_lr_by_hand():
    from implicit_bias.algorithms import steepest_descent_lr

    X = np.array([[1.0, -2.0], [0.5, 0.5]])
    # B = max_n ||x_n||_* in the dual norm: l1 for linf descent (3), linf for l1 (2), l2 for l2 (sqrt 5)
    assert steepest_descent_lr(X, "linf") == pytest.approx(1 / 9, rel=1e-15)
    assert steepest_descent_lr(X, "l1") == pytest.approx(1 / 4, rel=1e-15)
    assert steepest_descent_lr(X, "l2") == pytest.approx(1 / 5, rel=1e-15)
    # lp:3 descends in l3, so B is the l_{3/2} norm of (1, -2)
    assert steepest_descent_lr(X, "lp:3") == pytest.approx((1 + 2**1.5) ** (-4 / 3), rel=1e-13)
    assert steepest_descent_lr(X, "linf", normalize=False, loss_at_init=2.0) == pytest.approx(1 / 18, rel=1e-15)
    with pytest.raises(ValueError, match="not all zero"):
        steepest_descent_lr(np.zeros((2, 2)), "l1")


def _log_exp_loss(X, y, w):
    z = -y * (X @ w)
    return np.logaddexp.reduce(z) - np.log(len(y))


@pytest.mark.parametrize("norm", ["l1", "linf", "lp:3"])
def test_steepest_descent_lr_decreases_log_loss_every_step(norm):
    # the descent lemma behind steepest_descent_lr: at lr = 1/B^2 the normalized method decreases
    # log L at every step (log L evaluated here by numpy from the recorded predictors), on data
    # that are not separable as well as on separable data
    from implicit_bias.algorithms import steepest_descent_lr

    rng = np.random.default_rng(3)
    X = rng.standard_normal((30, 5)) * np.array([3.0, 1.0, 0.5, 2.0, 1.0])
    for y in (np.sign(X @ np.array([1.0, -1.0, 0.0, 0.5, 0.0])), np.sign(rng.standard_normal(30))):
        ds = ib.data.Dataset(X, y, "classification")
        lr = steepest_descent_lr(X, norm)
        run = ib.train(ib.models.Linear(5), ds, "exponential", SteepestDescent(lr=lr, norm=norm, normalize=True), ib.Stop(max_steps=300), ib.Record(fields=("predictor",), steps=list(range(301))))
        logL = np.array([_log_exp_loss(X, y, w) for w in run.trajectory.predictor.values])
        assert len(logL) == 301
        assert np.all(np.diff(logL) <= 1e-12), np.diff(logL).max()


def test_steepest_linf_default_step_converges_where_a_large_fixed_step_stalls():
    # issue 19 item 8: sign descent (linf) at a fixed step a few times 2/B^2 cycles at a fixed
    # direction error; at 1/B^2 the error to the linf max-margin falls like 1/t (gap * t ~ const)
    from implicit_bias.algorithms import steepest_descent_lr

    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(50, 4)) + 2, rng.normal(size=(50, 4)) - 2]
    y = np.r_[-np.ones(50), np.ones(50)]
    ds = ib.data.Dataset(X, y, "classification")
    mm = ib.theory.max_margin(X, y, "linf").w
    u = mm / np.linalg.norm(mm)

    def errors(lr, steps):
        run = ib.train(ib.models.Linear(4), ds, "exponential", SteepestDescent(lr=lr, norm="linf", normalize=True), ib.Stop(max_steps=steps[-1]), ib.Record(fields=("predictor",), steps=steps))
        tr = run.trajectory
        P = tr.predictor.values[np.isin(tr.step.values, steps)]
        return np.linalg.norm(P / np.linalg.norm(P, axis=1)[:, None] - u, axis=1)

    lr = steepest_descent_lr(X, "linf")
    assert lr == pytest.approx(1 / np.abs(X).sum(axis=1).max() ** 2, rel=1e-14)
    e = errors(lr, [2_000, 20_000])
    slope = np.log(e[1] / e[0]) / np.log(10.0)
    assert e[1] < 2e-3 and -1.2 < slope < -0.8, (e, slope)
    big = errors(1.0, [2_000, 20_000])
    assert np.all(big > 1e-2) and abs(big[1] / big[0] - 1) < 0.05, big


@pytest.mark.parametrize("n, b", [(7, 2), (6, 3)])
def test_sgd_reshuffle_uses_each_sample_once_per_epoch(n, b):
    # X = I: the step on w_i is nonzero iff sample i is in the batch, so the recorded predictors
    # show each step's batch; with reshuffling each epoch's floor(n/b) batches are disjoint, with
    # iid sampling (the default) batches of one "epoch" repeat samples
    ds = ib.data.Dataset(np.eye(n), np.arange(1.0, n + 1.0))
    epochs, per = 6, n // b
    steps = epochs * per

    def batches(sampling):
        run = ib.train(ib.models.Linear(n), ds, "square", SGD(lr=0.1, batch_size=b, sampling=sampling), ib.Stop(max_steps=steps), ib.Record(fields=("predictor",), steps=list(range(steps + 1))), seed=5)
        P = run.trajectory.predictor.values
        return [set(np.flatnonzero(np.abs(np.diff(P, axis=0)[k]) > 0)) for k in range(steps)]

    B = batches("reshuffle")
    assert all(len(x) == b for x in B)
    for e in range(epochs):
        used = [i for x in B[e * per:(e + 1) * per] for i in x]
        assert len(used) == len(set(used)) == per * b
    assert len({tuple(tuple(sorted(x)) for x in B[e * per:(e + 1) * per]) for e in range(epochs)}) > 1  # epochs differ
    assert B == batches("reshuffle")  # same seed, same batches
    iid = batches("iid")
    assert any(len({i for x in iid[e * per:(e + 1) * per] for i in x}) < per * b for e in range(epochs))
    with pytest.raises(ValueError, match="sampling must be one of iid, reshuffle"):
        SGD(lr=0.1, sampling="cyclic")
