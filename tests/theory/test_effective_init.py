"""theory.effective_init: the exact discrete effective initialization of GD on a tied depth-2
diagonal network (even2023 Thm 1), against hand-computed steps, the flow limit and training."""

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import theory
from implicit_bias.theory.effective_init import effective_init_interpolant, effective_initialization, effective_initialization_from_sums, gd_gradients


def test_two_hand_steps():
    # one coordinate, a = b = 0.1, eta = 0.1, g = (0.5, -0.25):
    # u+ = 0.1 * 0.9 * 1.05, u- = 0.1 * 1.1 * 0.95, z = -0.1 * 0.25 = -0.025
    e = effective_initialization(0.1, 0.1, np.array([[0.5], [-0.25]]), 0.1)
    up, um, z = 0.1 * 0.9 * 1.05, 0.1 * 1.1 * 0.95, -0.025
    np.testing.assert_allclose(e.z, [z], rtol=1e-15)
    np.testing.assert_allclose(e.alpha_plus**2, [up**2 * np.exp(-4 * z)], rtol=1e-14)
    np.testing.assert_allclose(e.alpha_minus**2, [um**2 * np.exp(4 * z)], rtol=1e-14)
    np.testing.assert_allclose(e.predictor(), [up**2 - um**2], rtol=1e-13)
    np.testing.assert_allclose(e.alpha_inf**2, [up * um], rtol=1e-14)  # the product identity
    assert e.gain[0] > 0 and e.center[0] == pytest.approx(e.alpha_plus[0] ** 2 - e.alpha_minus[0] ** 2)


def test_the_same_two_hand_steps_from_their_sums():
    # S_g = 0.25, S_- = log 0.9 + log 1.05, S_+ = log 1.1 + log 0.95 (factors 1 -+ 2 eta g)
    e = effective_initialization_from_sums(0.1, 0.1, 0.1, [0.25], [np.log(0.9 * 1.05)], [np.log(1.1 * 0.95)])
    up, um, z = 0.1 * 0.9 * 1.05, 0.1 * 1.1 * 0.95, -0.025
    np.testing.assert_allclose(e.z, [z], rtol=1e-15)
    np.testing.assert_allclose(e.alpha_plus**2, [up**2 * np.exp(-4 * z)], rtol=1e-14)
    np.testing.assert_allclose(e.alpha_minus**2, [um**2 * np.exp(4 * z)], rtol=1e-14)
    np.testing.assert_allclose(e.predictor(), [up**2 - um**2], rtol=1e-13)


def test_small_steps_tend_to_the_flow_and_the_gain_is_second_order():
    g = np.random.default_rng(0).standard_normal((200, 4))
    gains, zs = [], []
    for eta, reps in ((1e-2, 1), (1e-3, 10)):
        e = effective_initialization(0.3, 0.3, np.tile(g, (reps, 1)), eta)  # the same path, 10x finer steps
        gains.append(e.gain)
        zs.append(e.z)
    np.testing.assert_allclose(zs[0], zs[1], rtol=1e-12)  # same z = -eta sum g
    # Gain ~ 2 eta^2 sum g^2 -> 10x smaller; the scales tend to the flow's (alpha_+ = alpha_- = 0.3)
    np.testing.assert_allclose(gains[0] / gains[1], 10.0, rtol=1e-2)
    np.testing.assert_allclose(gains[0], 2e-4 * np.sum(g**2, axis=0), rtol=0.05)


def test_gd_on_a_diagonal_net_ends_at_the_effective_interpolant():
    ds = ib.data.sparse_regression(n=5, d=8, sparsity=2, noise_var=0.0, seed=1)
    model = ib.models.Diagonal(8, depth=2, scale=0.2)
    lr = 0.25
    run = ib.train(model, ds, "square", ib.GradientDescent(lr=lr), ib.Stop(loss=1e-22, max_steps=3000), ib.Record(fields=("predictor",), steps=range(1, 3001)))
    assert run.status == "converged"
    P = run.trajectory.predictor.values
    assert P.shape[0] == run.steps + 1  # every step recorded
    e = effective_initialization(0.2, 0.2, gd_gradients(ds.X, ds.y, P[:-1]), lr)
    np.testing.assert_allclose(e.predictor(), run.predictor, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(e.alpha_inf**2, np.abs(run.params["u_plus"] * run.params["u_minus"]), rtol=1e-10)
    pred = effective_init_interpolant(ds.X, ds.y, e)
    assert np.linalg.norm(run.predictor - pred.w) / np.linalg.norm(pred.w) <= 1e-8
    flow = theory.diagonal_interpolant(ds.X, ds.y, model)  # the step-size-free prediction is further off
    assert np.linalg.norm(run.predictor - flow.w) > 100 * np.linalg.norm(run.predictor - pred.w)


def test_bad_input():
    with pytest.raises(ValueError, match="grads must be 2-D"):
        effective_initialization(0.1, 0.1, np.zeros(3), 0.1)
    with pytest.raises(ValueError, match="non-zero"):
        effective_initialization(0.0, 0.1, np.zeros((2, 3)), 0.1)
    with pytest.raises(ValueError, match="zeroed a branch"):
        effective_initialization(0.1, 0.1, np.array([[5.0]]), 0.1)
    with pytest.raises(ValueError, match="lr has 3 entries"):
        effective_initialization(0.1, 0.1, np.zeros((2, 1)), np.ones(3))
    with pytest.raises(ValueError, match="must be finite"):
        effective_initialization_from_sums(0.1, 0.1, 0.1, [0.0], [-np.inf], [0.0])
    with pytest.raises(ValueError, match="of one shape"):
        effective_initialization_from_sums(0.1, 0.1, 0.1, [0.0, 1.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="lr must be"):
        effective_initialization_from_sums(0.1, 0.1, 0.0, [0.0], [0.0], [0.0])
    with pytest.raises(ValueError, match="predictors must be"):
        gd_gradients(np.eye(3), np.ones(3), np.zeros((2, 4)))


def test_effective_scale_from_params_is_the_product_of_the_step_factors():
    # any step sequence (here random minibatch-like gradients): u_+ u_- picks up 1 - 4 eta^2 g^2 per step
    from implicit_bias.theory import effective_initialization, effective_scale_from_params

    rng = np.random.default_rng(1)
    G, eta = 0.3 * rng.standard_normal((50, 4)), 0.2
    up, um = np.full(4, 0.5), np.full(4, 0.5)
    for g in G:
        up, um = up * (1 - 2 * eta * g), um * (1 + 2 * eta * g)
    np.testing.assert_allclose(effective_scale_from_params(up, um), effective_initialization(0.5, 0.5, G, eta).alpha_inf, rtol=1e-12)
    with pytest.raises(ValueError, match="finite"):
        effective_scale_from_params([np.inf], [1.0])
    with pytest.raises(ValueError, match="one shape"):
        effective_scale_from_params(np.ones(3), np.ones(2))
