"""Activations of the shallow-network family with a known Green's operator (montufar2024 Thm 9).

``relu`` is ``[x]_+`` (``L = D^2``); ``relu_power:k`` is ``[x]_+^k`` (``L = D^{k+1}/k!``,
``L [x]_+^k = delta``), homogeneous of degree ``k``. ``relu_power:1`` is the same function as
``relu``.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp

__all__ = ["activation_degree", "power_activation", "POWER_ACTIVATIONS"]

#: Names accepted by ``activation_degree`` (``k`` a positive integer).
POWER_ACTIVATIONS = ("relu", "relu_power:k")

_MAX_DEGREE = 8  # [x]_+^k with k > 8 overflows float64 range quickly and has no use here


def activation_degree(activation) -> int:
    """The homogeneity degree ``k`` of ``relu`` (1) or ``relu_power:k`` (k).

    Args:
        activation: ``"relu"`` or ``"relu_power:k"`` with ``1 <= k <= 8``.

    Returns:
        ``k`` (an int).

    Raises:
        ValueError: any other name (one line naming the accepted ones).

    Example:
        >>> from implicit_bias.models import activation_degree
        >>> activation_degree("relu"), activation_degree("relu_power:3")
        (1, 3)
    """
    if activation == "relu":
        return 1
    m = re.fullmatch(r"relu_power:(\d+)", activation) if isinstance(activation, str) else None
    if m is None or not 1 <= int(m.group(1)) <= _MAX_DEGREE:
        raise ValueError(
            f"activation must be 'relu' or 'relu_power:k' with k an integer in 1..{_MAX_DEGREE} "
            f"(the activations with a known Green's operator L = D^(k+1)/k!, montufar2024 Thm 9); received {activation!r}"
        )
    return int(m.group(1))


def power_activation(x, k: int) -> jax.Array:
    """``[x]_+^k`` elementwise (``k = 1``: ``jax.nn.relu``; derivative ``k [x]_+^{k-1}``, 0 at 0)."""
    r = jax.nn.relu(x)
    return r if k == 1 else r**k if k > 1 else jnp.ones_like(x)
