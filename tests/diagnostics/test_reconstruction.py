"""Reconstruction from the KKT stationarity condition (Haim et al. 2022) on an instance built by
hand: a two-layer ReLU net whose parameters satisfy ``θ = Σ_i λ_i y_i ∇_θ f(θ; x_i)`` exactly
for known points ``x_i`` and multipliers ``λ_i``; SSIM on hand cases; matching; bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from implicit_bias.diagnostics import match_candidates, normalized_distance, reconstruct, ssim
from implicit_bias.models import MLP, Linear


def simplex_instance(n=4, d=5, radius=3.0, seed=0):
    """Points ``x_i`` (norm ``radius``) at the vertices of a regular simplex: ``x_i.x_j =
    -radius^2/(n-1)`` (``= -3``, so ``x_i.x_j + 1 < 0`` for ``i != j``). Hidden unit pair
    ``i`` is ``(w, b) = v λ_i y_i (x_i, 1)`` with output weight ``v ∈ y_i {0.7, 1.3}``: its
    pre-activation at ``x_j`` is ``v λ_i y_i (x_i.x_j + 1)``, positive at ``x_i`` only. Then
    ``∇_w f(x_j) = v 1[i = j] x_j``, ``∇_b f = v 1[i = j]``, ``∇_v f(x_j) = relu(w.x_j + b)``,
    and ``θ = Σ_j λ_j y_j ∇_θ f(x_j)`` holds for the ``W1, b1`` rows by construction and for
    ``v`` iff ``v = λ_i y_i · v λ_i y_i (||x_i||^2 + 1)``, i.e. ``λ_i = 1/sqrt(||x_i||^2 + 1)``
    (``= 1/sqrt(10)``)."""
    rng = np.random.default_rng(seed)
    E = np.eye(n) - 1.0 / n
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    V = E @ Q[:n, :]
    X = radius * V / np.linalg.norm(V, axis=1, keepdims=True)
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    lam = 1.0 / np.sqrt(np.sum(X**2, axis=1) + 1.0)
    W1, b1, W2 = [], [], []
    for i in range(n):
        for v in (0.7, 1.3):
            vj = y[i] * v
            W1.append(vj * lam[i] * y[i] * X[i])
            b1.append(vj * lam[i] * y[i])
            W2.append(vj)
    params = {"W1": np.array(W1), "b1": np.array(b1), "W2": np.array(W2)[None, :]}
    return MLP(d, (2 * n,), activation="relu", bias="first"), params, X, y, lam


def test_instance_is_stationary():
    m, p, X, y, lam = simplex_instance()
    np.testing.assert_allclose(X @ X.T, np.where(np.eye(4) > 0, 9.0, -3.0), atol=1e-12)
    g = jax.grad(lambda q: jnp.sum(lam * y * m.apply(q, jnp.asarray(X))))(p)
    assert np.linalg.norm(ravel_pytree(p)[0] - ravel_pytree(g)[0]) < 1e-12


def test_exact_unit_case_recovers_points_and_multipliers():
    """K = n candidates with the true labels, 16 random starts: the best start recovers every
    ``x_i`` to 1e-3 (issue 22) and ``λ_i = 1/sqrt(10)``. (With ``K > n`` the instance is not
    identifiable: candidates active on the same unit pair only fix ``Σ λ_c x_c``; see the module
    docstring of :mod:`implicit_bias.diagnostics.reconstruction`.)"""
    m, p, X, y, lam = simplex_instance()
    r = reconstruct(m, p, y, 4, steps=4000, lr=0.05, box=(-4.0, 4.0), lambda_min=0.05, lambda_init=0.3, starts=16, init_scale=2.0, smooth_relu_beta=100.0)
    mt = match_candidates(r.candidates, X)
    assert sorted(mt.candidate.tolist()) == [0, 1, 2, 3]  # one candidate per point
    assert np.max(mt.distance) < 1e-3
    np.testing.assert_array_equal(r.labels[mt.candidate], y)
    np.testing.assert_allclose(r.lam[mt.candidate], lam, atol=1e-3)
    assert r.residual < 1e-3
    assert r.start_losses.shape == (16,) and r.loss == r.start_losses.min()
    assert np.all(np.diff(r.lam[r.order]) <= 0)


def test_untrained_like_parameters_leave_a_large_residual():
    """Random parameters are no stationary point of any small data set: the residual stays large."""
    m = MLP(5, (8,), bias="first")
    r = reconstruct(m, m.init(1), None, 4, steps=300, lr=0.02, box=(-4.0, 4.0), starts=2)
    assert r.residual > 0.1


def test_ssim_hand_cases():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (8, 8))
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-15)
    assert ssim(a.ravel(), a.ravel()) == pytest.approx(1.0, abs=1e-15)
    # constant shift c: the (co)variance factor is 1; per 7x7 window the mean factor is
    # (2 μ (μ + c) + C1) / (μ^2 + (μ + c)^2 + C1) with C1 = (0.01 * 2)^2; 4 windows in 8x8
    c, C1 = 0.3, (0.01 * 2.0) ** 2
    mus = [a[i : i + 7, j : j + 7].mean() for i in (0, 1) for j in (0, 1)]
    want = np.mean([(2 * u * (u + c) + C1) / (u**2 + (u + c) ** 2 + C1) for u in mus])
    assert ssim(a, a + c) == pytest.approx(want, rel=1e-12)
    # a scaled copy s z of a checkerboard z: every 7x7 window has mean m = ±1/49 (25 vs 24
    # squares), sample variance v = (49 - 49 m^2)/48; for s z: mean s m, variance s^2 v,
    # covariance s v, so SSIM = (2 s m^2 + C1)(2 s v + C2) / (((1 + s^2) m^2 + C1)((1 + s^2) v + C2))
    z = np.tile(np.array([1.0, -1.0]), 32).reshape(8, 8) * np.array([[1.0], [-1.0]] * 4)  # checkerboard
    s, C2 = 0.5, (0.03 * 2.0) ** 2
    m2 = (1.0 / 49) ** 2
    v = (49 - 49 * m2) / 48
    want = (2 * s * m2 + C1) * (2 * s * v + C2) / (((1 + s**2) * m2 + C1) * ((1 + s**2) * v + C2))
    assert ssim(z, s * z) == pytest.approx(want, rel=1e-12)
    s = -1.0  # the same formula: the window means have the same magnitude, so SSIM(z, -z) > 0 here
    want = (2 * s * m2 + C1) * (2 * s * v + C2) / (((1 + s**2) * m2 + C1) * ((1 + s**2) * v + C2))
    assert ssim(z, -z) == pytest.approx(want, rel=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        ssim(a, a[:7])
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(a[:6, :6], a[:6, :6])
    with pytest.raises(ValueError, match="square number"):
        ssim(np.ones(10), np.ones(10))


def test_matching_and_normalized_distance():
    X = np.array([[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    C = np.array([[0.0, 2.1], [1.0, 0.1]])
    mt = match_candidates(C, X)
    assert mt.candidate.tolist() == [1, 0, 0]
    assert mt.nearest_train.tolist() == [1, 0]
    np.testing.assert_allclose(mt.distance[:2], [0.1, 0.1], rtol=1e-12)
    np.testing.assert_allclose(mt.normalized_distance[:2], [0.1, 0.05], rtol=1e-12)
    np.testing.assert_allclose(normalized_distance(C[[1, 0]], X[:2]), [0.1, 0.05], rtol=1e-12)
    with pytest.raises(ValueError, match="same d"):
        match_candidates(C, np.ones((3, 3)))


def test_bad_input_is_one_line():
    m, p, X, y, _ = simplex_instance()
    cases = [
        (lambda: reconstruct("mlp", p, y, 4), "implicit_bias model"),
        (lambda: reconstruct(m, {"W1": p["W1"]}, y, 4), "params do not fit"),
        (lambda: reconstruct(m, p, y, 0), "n_candidates"),
        (lambda: reconstruct(m, p, y, 3), "labels"),
        (lambda: reconstruct(m, p, np.zeros(4), 4), "labels"),
        (lambda: reconstruct(m, p, y, 4, box=(1.0, -1.0)), "box"),
        (lambda: reconstruct(m, {k: 0 * v for k, v in p.items()}, y, 4), "zero"),
        (lambda: reconstruct(MLP(5, (3,), outputs=2), MLP(5, (3,), outputs=2).init(0), None, 2), "one output"),
        # a linear-in-x model through the origin whose weights are all zero but one unused: no gradient issue,
        # but a model whose parameters do not enter f has no parameter gradient
    ]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg) as e:
            fn()
        assert "\n" not in str(e.value)


def test_model_without_parameter_gradient():
    """An MLP whose output layer is zero and hidden layer dead has ∇_θ f = 0 everywhere on a
    neighbourhood: refused with one line (no NaN result)."""
    m = MLP(3, (2,), bias="first")
    p = {"W1": np.zeros((2, 3)), "b1": -np.ones(2), "W2": np.zeros((1, 2))}
    with pytest.raises(ValueError, match="no usable parameter gradient"):
        reconstruct(m, p, None, 2)
    assert Linear  # the linear model has a gradient (x itself): reconstruct accepts it
    r = reconstruct(Linear(3), {"w": np.array([1.0, 0.0, 0.0])}, np.array([1.0]), 1, steps=1000, lr=0.05, box=(-2.0, 2.0), lambda_init=1.0, starts=2)
    # θ = λ x with ||θ|| = 1: λ x = e1; the λ_min penalty does not bind at λ = 1, so any λ ≥ 0.05 works, λ x fixed
    np.testing.assert_allclose(r.lam[0] * r.candidates[0], [1.0, 0.0, 0.0], atol=1e-4)
