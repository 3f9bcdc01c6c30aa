"""implicit_bias.potentials: each potential's phi, mirror map, inverse, inverse Hessian and Bregman
divergence against hand values, automatic differentiation and scipy's ``kl_div``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import kl_div

from implicit_bias.potentials import AbstractPotential, NegativeEntropy, PNorm, SquaredL2, get_potential

POTENTIALS = [SquaredL2(), NegativeEntropy(), PNorm(3.0), PNorm(1.5)]
IDS = ["quadratic", "entropy", "lp3", "lp1.5"]


def _points(pot):
    # inside every domain (entropy: w > 0), away from 0 where PNorm's Hessian degenerates
    return jnp.array([0.3, 1.0, 2.5]) if isinstance(pot, NegativeEntropy) else jnp.array([-1.7, 0.4, 2.5])


def test_phi_hand_values():
    np.testing.assert_allclose(SquaredL2().phi(jnp.array([3.0, -2.0])), [4.5, 2.0], rtol=0, atol=1e-15)
    # w log w - w: 1 -> -1, e -> 0
    np.testing.assert_allclose(NegativeEntropy().phi(jnp.array([1.0, np.e])), [-1.0, 0.0], rtol=0, atol=1e-15)
    # |w|^p / p: |-2|^3 / 3 = 8/3; |4|^1.5 / 1.5 = 16/3
    np.testing.assert_allclose(PNorm(3.0).phi(jnp.array([-2.0])), [8 / 3], rtol=1e-15)
    np.testing.assert_allclose(PNorm(1.5).phi(jnp.array([4.0])), [16 / 3], rtol=1e-15)
    assert float(PNorm(3.0).value(jnp.array([1.0, -2.0]))) == pytest.approx(1 / 3 + 8 / 3, rel=1e-15)


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_mirror_map_is_the_derivative_of_phi(pot):
    w = _points(pot)
    np.testing.assert_allclose(pot.grad(w), jax.vmap(jax.grad(pot.phi))(w), rtol=1e-13)


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_inverse_mirror_map_inverts(pot):
    w = _points(pot)
    np.testing.assert_allclose(pot.grad_inverse(pot.grad(w)), w, rtol=1e-13)
    z = jnp.array([-1.3, 0.2, 2.0])
    np.testing.assert_allclose(pot.grad(pot.grad_inverse(z)), z, rtol=1e-13)


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_inverse_hessian_is_one_over_phi_second_derivative(pot):
    w = _points(pot)
    phi2 = jax.vmap(jax.grad(jax.grad(pot.phi)))(w)
    np.testing.assert_allclose(pot.inverse_hessian(pot.grad(w)), 1.0 / phi2, rtol=1e-12)


def test_inverse_hessian_hand_values():
    # PNorm(3): phi'' = 2|w|; at w = 2, z = phi'(2) = 4 and 1/phi'' = 1/4
    assert float(PNorm(3.0).inverse_hessian(jnp.array(4.0))) == pytest.approx(0.25, rel=1e-15)
    # PNorm(1.5): phi'' = |w|^{-1/2} / 2; at w = 4, z = 2 and 1/phi'' = 4
    assert float(PNorm(1.5).inverse_hessian(jnp.array(2.0))) == pytest.approx(4.0, rel=1e-15)
    # entropy: phi'' = 1/w; at w = e^z, 1/phi'' = e^z
    assert float(NegativeEntropy().inverse_hessian(jnp.array(1.0))) == pytest.approx(np.e, rel=1e-15)


def test_bregman_divergences():
    w, w0 = jnp.array([0.5, 2.0, 1.0]), jnp.array([1.0, 1.5, 1.0])
    # quadratic: ||w - w0||^2 / 2
    assert float(SquaredL2().bregman(w, w0)) == pytest.approx(0.5 * float(jnp.sum((w - w0) ** 2)), rel=1e-14)
    # entropy: the generalised KL divergence, scipy's kl_div(x, y) = x log(x/y) - x + y
    assert float(NegativeEntropy().bregman(w, w0)) == pytest.approx(float(np.sum(kl_div(np.asarray(w), np.asarray(w0)))), rel=1e-13)
    # PNorm(2) is the quadratic potential
    assert float(PNorm(2.0).bregman(w, w0)) == pytest.approx(float(SquaredL2().bregman(w, w0)), rel=1e-14)


@pytest.mark.parametrize("pot", POTENTIALS, ids=IDS)
def test_bregman_is_zero_at_w0_and_positive_elsewhere(pot):
    w0 = _points(pot)
    assert float(pot.bregman(w0, w0)) == pytest.approx(0.0, abs=1e-14)
    assert float(pot.bregman(w0 * 1.1 + 0.05, w0)) > 0


def test_domains():
    w = jnp.array([-1.0, 0.0, 2.0, jnp.inf, jnp.nan])
    assert NegativeEntropy().in_domain(w).tolist() == [False, False, True, False, False]
    for pot in (SquaredL2(), PNorm(3.0)):
        assert pot.in_domain(w).tolist() == [True, True, True, False, False]


def test_float64_and_jit():
    w = jnp.array([0.5, 1.5])
    for pot in POTENTIALS:
        out = jax.jit(pot.grad)(w)
        assert out.dtype == jnp.float64
        np.testing.assert_array_equal(out, pot.grad(w))


def test_get_potential_names():
    assert isinstance(get_potential("entropy"), NegativeEntropy)
    assert isinstance(get_potential(" Negative-Entropy "), NegativeEntropy)
    assert isinstance(get_potential("quadratic"), SquaredL2) and isinstance(get_potential("l2"), SquaredL2)
    p = get_potential("lp:3")
    assert isinstance(p, PNorm) and p.p == 3.0
    pot = PNorm(1.5)
    assert get_potential(pot) is pot
    assert all(isinstance(get_potential(n), AbstractPotential) for n in ("entropy", "quadratic", "lp:2.5"))


@pytest.mark.parametrize(
    "spec, match",
    [("lp:x", "lp:P with a number"), ("lp:1", "p > 1"), ("lp:0.5", "p > 1"), ("huber", "unknown potential")],
)
def test_get_potential_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        get_potential(spec)


def test_pnorm_needs_p_above_one():
    with pytest.raises(ValueError, match="p > 1"):
        PNorm(1.0)
