import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.losses import Exponential, Logistic, Polynomial, Square, get_loss


def test_square_convention_is_half_mean():
    # DESIGN.md: square loss = 1/(2N) sum (f - y)^2. Hand value: residuals (1, 2) -> (1 + 4)/4.
    f, y = jnp.array([1.0, 2.0]), jnp.zeros(2)
    assert float(Square()(f, y)) == pytest.approx(1.25, rel=1e-15)
    assert float(Square().log_loss(f, y)) == pytest.approx(np.log(1.25), rel=1e-14)
    # gradient wrt outputs is the residual / N
    np.testing.assert_allclose(jax.grad(Square())(f, y), np.array([0.5, 1.0]), rtol=1e-15)


def test_square_log_loss_tiny_residuals_do_not_underflow():
    f = jnp.array([1e-200, 0.0])
    # 0.5 * mean(r^2) = 0.5 * 1e-400 / 2 underflows; its log does not.
    assert float(Square().log_loss(f, jnp.zeros(2))) == pytest.approx(2 * np.log(1e-200) + np.log(0.25), rel=1e-14)
    assert float(Square().log_loss(jnp.zeros(2), jnp.zeros(2))) == -np.inf


@pytest.mark.parametrize("margin", [1.0, 30.0, 1e4, 1e12])
def test_exponential_log_domain_at_huge_margins(margin):
    f, y = jnp.array([margin, 2 * margin]), jnp.array([1.0, 1.0])
    lv = float(Exponential().log_loss(f, y))
    # Hand: log((e^-m + e^-2m)/2) = -m + log1p(e^-m) - log 2
    assert lv == pytest.approx(-margin + np.log1p(np.exp(-margin)) - np.log(2), rel=1e-15)
    g = jax.grad(Exponential().log_loss)(f, y)
    assert np.all(np.isfinite(g))
    # grad log L wrt f = -softmax(-m) weights: at huge margins all weight on the smallest margin
    assert float(g[0]) == pytest.approx(-1.0 / (1.0 + np.exp(-margin)), rel=1e-12)


@pytest.mark.parametrize("u", [-700.0, -50.0, -1.0, 0.0, 1.0, 19.0, 21.0, 50.0, 800.0, 1e12])
def test_logistic_log_domain_matches_direct_formula(u):
    lv = float(Logistic().log_loss(jnp.array([u]), jnp.array([1.0])))
    # reference: log(log1p(exp(-u))) in high precision via mpmath-free identities
    if u > 30:
        ref = -u + np.log1p(-0.5 * np.exp(-u))  # log1p(e^-u) = e^-u (1 - e^-u/2 + ...)
    else:
        ref = np.log(np.log1p(np.exp(-u)))
    assert lv == pytest.approx(ref, rel=1e-12, abs=1e-300)
    g = jax.grad(Logistic().log_loss)(jnp.array([u]), jnp.array([1.0]))
    assert np.all(np.isfinite(g))


def test_logistic_value_and_gradient_match_textbook():
    f, y = jnp.array([0.3, -1.2, 2.0]), jnp.array([1.0, -1.0, -1.0])
    u = np.asarray(y * f)
    assert float(Logistic()(f, y)) == pytest.approx(np.mean(np.log1p(np.exp(-u))), rel=1e-14)
    g = jax.grad(Logistic())(f, y)
    np.testing.assert_allclose(g, -np.asarray(y) / (1 + np.exp(u)) / 3, rtol=1e-13)


def test_polynomial_tail_is_polynomial():
    # ell_k(u) ~ (2u)^-k for large u
    for k in (1.0, 2.0):
        lv = float(Polynomial(k).log_loss(jnp.array([1e6]), jnp.array([1.0])))
        assert lv == pytest.approx(-k * np.log(2e6), rel=1e-10)
    # convex and decreasing: second differences positive, first negative
    u = jnp.linspace(-5, 5, 101)
    vals = np.exp(np.asarray(Polynomial(2.0).per_sample_log(u, jnp.ones_like(u))))
    assert np.all(np.diff(vals) < 0) and np.all(np.diff(vals, 2) > 0)


def test_polynomial_needs_k_at_least_one():
    with pytest.raises(ValueError, match="k >= 1"):
        Polynomial(0.5)


def test_get_loss_names_and_errors():
    assert isinstance(get_loss("square"), Square)
    assert isinstance(get_loss("polynomial:3"), Polynomial)
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("hinge")


def test_training_accuracy_is_minus_log_loss():
    f, y = jnp.array([5.0, 7.0]), jnp.array([1.0, 1.0])
    assert float(Exponential().training_accuracy(f, y)) == pytest.approx(-float(Exponential().log_loss(f, y)))


# ----------------------------------------------------------------------------- cross-entropy (issue 22)


def test_cross_entropy_two_classes_is_logistic():
    """C = 2: ell = log(1 + exp(f_other - f_true)) = logistic on f_1 - f_0 with labels 2y - 1."""
    from implicit_bias.losses import CrossEntropy, Logistic

    rng = np.random.default_rng(0)
    f = rng.normal(size=(7, 2)) * 3
    y = rng.integers(0, 2, size=7).astype(float)
    np.testing.assert_allclose(CrossEntropy().log_loss(f, y), Logistic().log_loss(f[:, 1] - f[:, 0], 2 * y - 1), rtol=1e-13)


def test_cross_entropy_matches_direct_formula_and_log_domain_at_huge_margins():
    import jax

    from implicit_bias.losses import CrossEntropy, get_loss

    f = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0]])
    y = np.array([0.0, 2.0])
    direct = np.mean([np.log(np.sum(np.exp(r))) - r[int(c)] for r, c in zip(f, y)])  # logsumexp_c f - f_y
    np.testing.assert_allclose(float(CrossEntropy()(f, y)), direct, rtol=1e-13)
    assert isinstance(get_loss("cross-entropy"), CrossEntropy)
    # margins 1e12: L underflows, log L = -1e12 + log(1 + e^{-1e12}... ) - log N is exact, gradients finite
    big = np.array([[1e12, 0.0, -1e12], [0.0, 2e12, 0.0]])
    yy = np.array([0.0, 1.0])
    lv = float(CrossEntropy().log_loss(big, yy))
    assert lv == -1e12 - np.log(2.0) + np.log1p(np.exp(-1e12))  # the 2e12 sample is e^{-1e12} times smaller
    g = jax.grad(lambda z: CrossEntropy().log_loss(z, yy))(big)
    assert np.all(np.isfinite(g))


def test_cross_entropy_labels_and_outputs_are_checked():
    import implicit_bias as ib
    from implicit_bias.losses import CrossEntropy

    with pytest.raises(ValueError, match=r"integers in 0\.\.2"):
        CrossEntropy.check_labels(np.array([0.0, 3.0]), 3)
    with pytest.raises(ValueError, match=r"integers in 0\.\.2"):
        CrossEntropy.check_labels(np.array([0.5, 1.0]), 3)
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    with pytest.raises(ValueError, match="outputs=3"):
        ib.train(ib.models.MLP(2, (4,), outputs=3), (X, np.array([0.0, 1.0, 3.0])), "cross-entropy", ib.GradientDescent(lr=0.1))
    with pytest.raises(ValueError, match="C >= 2 outputs"):
        ib.train(ib.models.MLP(2, (4,)), (X, np.array([0.0, 1.0, 1.0])), "cross-entropy", ib.GradientDescent(lr=0.1))
    run = ib.train(ib.models.MLP(2, (8,), activation="leaky_relu", slope=0.1, outputs=3), (X, np.array([0.0, 1.0, 2.0])), "cross-entropy", ib.algorithms.LossScaledGD(lr=0.2), ib.Stop(training_accuracy=50.0, max_steps=20_000), seed=0)
    assert run.status == "converged" and run.training_accuracy >= 50.0
def test_square_log_loss_of_non_finite_outputs_is_nan_not_zero():
    # outputs that overflowed (inf - inf = NaN, or inf) are no interpolation: log L is NaN, never -inf
    y = jnp.zeros(2)
    assert np.isnan(float(Square().log_loss(jnp.array([jnp.nan, 0.0]), y)))
    assert not float(Square().log_loss(jnp.array([jnp.inf, 0.0]), y)) == -np.inf
