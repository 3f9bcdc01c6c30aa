"""Separable mirror-descent potentials ``psi(w) = sum_i phi(w_i)``.

A potential is shared by the mirror-descent algorithm (``algorithms``) and by the
Bregman-interpolant prediction (``theory``); it lives here, below both layers, so that
neither imports the other.

For a separable strictly convex ``phi`` the mirror map is ``grad psi(w)_i = phi'(w_i)``,
its inverse ``(grad psi)^{-1}(z)_i = (phi')^{-1}(z_i)``, and the Bregman divergence
``D_psi(w, w0) = psi(w) - psi(w0) - <grad psi(w0), w - w0>`` (montufar2024, mirror-descent
slides; Gunasekar et al. 2018a).

Available potentials and their domains:

============================  ===================================  ==========
name                          ``phi(w)``                           domain
============================  ===================================  ==========
``SquaredL2()``               ``w^2 / 2``                          R
``NegativeEntropy()``         ``w log w - w``                      w > 0
``PNorm(p)``, ``p > 1``       ``|w|^p / p``                        R
============================  ===================================  ==========

Example:
    >>> import jax.numpy as jnp
    >>> from implicit_bias.potentials import NegativeEntropy
    >>> psi = NegativeEntropy()
    >>> w = jnp.array([1.0, 2.0])
    >>> bool(jnp.allclose(psi.grad_inverse(psi.grad(w)), w))
    True
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax.numpy as jnp

from . import _config  # noqa: F401

__all__ = ["AbstractPotential", "SquaredL2", "NegativeEntropy", "PNorm", "get_potential"]


class AbstractPotential(eqx.Module):
    """A separable, strictly convex potential ``psi(w) = sum_i phi(w_i)``."""

    name: ClassVar[str] = ""

    @abc.abstractmethod
    def phi(self, w):
        """Elementwise ``phi(w)``; ``psi(w) = sum(phi(w))``."""

    @abc.abstractmethod
    def grad(self, w):
        """Mirror map ``phi'(w)`` elementwise, same shape as ``w``."""

    @abc.abstractmethod
    def grad_inverse(self, z):
        """Inverse mirror map ``(phi')^{-1}(z)`` elementwise."""

    @abc.abstractmethod
    def inverse_hessian(self, z):
        """``1 / phi''(w)`` at ``w = grad_inverse(z)``, elementwise (the derivative of
        ``grad_inverse``), used by Newton solves in the dual."""

    def in_domain(self, w):
        """Boolean array: which entries of ``w`` lie in the domain of ``phi``."""
        return jnp.isfinite(w)

    def value(self, w):
        """``psi(w) = sum_i phi(w_i)`` (scalar)."""
        return jnp.sum(self.phi(w))

    def bregman(self, w, w0):
        """``D_psi(w, w0) = psi(w) - psi(w0) - <grad psi(w0), w - w0>`` (scalar, >= 0)."""
        return self.value(w) - self.value(w0) - jnp.sum(self.grad(w0) * (w - w0))


class SquaredL2(AbstractPotential):
    """``phi(w) = w^2 / 2``: mirror descent is gradient descent."""

    name: ClassVar[str] = "quadratic"

    def phi(self, w):
        return 0.5 * w**2

    def grad(self, w):
        return w

    def grad_inverse(self, z):
        return z

    def inverse_hessian(self, z):
        return jnp.ones_like(z)


class NegativeEntropy(AbstractPotential):
    """Unnormalised negative entropy ``phi(w) = w log w - w`` on ``w > 0``.

    Mirror map ``log w``, inverse ``exp z``; ``D_psi`` is the generalised KL divergence
    ``sum w log(w / w0) - w + w0``. Mirror descent with this potential is exponentiated
    gradient, and it is the geometry of gradient descent on ``w = u * u`` (montufar2024,
    reparametrization slides).
    """

    name: ClassVar[str] = "entropy"

    def phi(self, w):
        return w * jnp.log(w) - w

    def grad(self, w):
        return jnp.log(w)

    def grad_inverse(self, z):
        return jnp.exp(z)

    def inverse_hessian(self, z):
        return jnp.exp(z)

    def in_domain(self, w):
        return jnp.isfinite(w) & (w > 0)


class PNorm(AbstractPotential):
    """``phi(w) = |w|^p / p`` for ``p > 1``: ``psi(w) = ||w||_p^p / p``.

    Mirror map ``sign(w)|w|^{p-1}``, inverse ``sign(z)|z|^{1/(p-1)}``. Strictly convex for
    ``p > 1``; its Hessian vanishes (``p > 2``) or blows up (``p < 2``) at 0, so Newton
    solves in the dual are safeguarded.
    """

    p: float

    name: ClassVar[str] = "lp"

    def __check_init__(self):
        if not float(self.p) > 1.0:
            raise ValueError(f"PNorm potential needs p > 1, received p={self.p}")

    def phi(self, w):
        return jnp.abs(w) ** self.p / self.p

    def grad(self, w):
        return jnp.sign(w) * jnp.abs(w) ** (self.p - 1.0)

    def grad_inverse(self, z):
        return jnp.sign(z) * jnp.abs(z) ** (1.0 / (self.p - 1.0))

    def inverse_hessian(self, z):
        q = 1.0 / (self.p - 1.0)
        return q * jnp.abs(z) ** (q - 1.0)


def get_potential(spec: str | AbstractPotential) -> AbstractPotential:
    """Potential from its CLI name: ``entropy``, ``quadratic`` or ``lp:P`` (e.g. ``lp:3``).

    Raises:
        ValueError: unknown name or malformed ``lp:P``.
    """
    if isinstance(spec, AbstractPotential):
        return spec
    s = str(spec).strip().lower()
    if s in ("entropy", "negative-entropy", "negative_entropy"):
        return NegativeEntropy()
    if s in ("quadratic", "l2", "squared-l2"):
        return SquaredL2()
    if s.startswith("lp:"):
        try:
            p = float(s[3:])
        except ValueError:
            raise ValueError(f"potential {spec!r}: expected lp:P with a number P > 1, e.g. lp:3") from None
        return PNorm(p)
    raise ValueError(f"unknown potential {spec!r}: use entropy, quadratic or lp:P (P > 1)")
