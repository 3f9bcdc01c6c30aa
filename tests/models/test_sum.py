"""models.Sum: the sum of models on the same inputs (parts of different homogeneity)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias.models import Diagonal, Linear, MLP, Sum


def test_sum_is_the_sum_of_its_parts_with_prefixed_names():
    parts = (Linear(3), Diagonal(3, depth=2, scale=0.7), MLP(3, (4,), scale=1.0))
    m = Sum(parts)
    p = m.init(jax.random.key(2))
    assert set(p) == set(m.param_shapes()) == {"p0_w", "p1_u_plus", "p1_u_minus", "p2_W1", "p2_b1", "p2_W2"}
    p = {k: v + 0.1 * (i + 1) for i, (k, v) in enumerate(sorted(p.items()))}  # no part at a trivial point
    X = jax.random.normal(jax.random.key(1), (5, 3))
    each = [np.asarray(part.apply(q, X)) for part, q in zip(parts, m.split(p))]
    np.testing.assert_allclose(m.apply(p, X), sum(each), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(m.part_outputs(p, X)), np.stack(each), rtol=1e-14)
    # each part keeps its own init (fold_in(key, j)): the MLP part equals its own init with that key
    q = MLP(3, (4,), scale=1.0).init(jax.random.fold_in(jax.random.key(2), 2))
    np.testing.assert_array_equal(m.init(jax.random.key(2))["p2_W1"], q["W1"])
    outs = jax.vmap(lambda s: m.apply({k: s * v for k, v in p.items()}, X))(jnp.array([1.0, 2.0]))
    assert outs.shape == (2, 5)


def test_homogeneity_is_common_or_none():
    assert Sum((Linear(2), Linear(2))).homogeneity == 1
    assert Sum((Linear(2), Diagonal(2, depth=2))).homogeneity is None
    m = Sum((Diagonal(2, depth=3), Diagonal(2, depth=3, scale=0.2)))
    p = {k: v + 0.3 for k, v in m.init(0).items()}
    X = np.array([[1.0, -2.0], [0.5, 0.25]])
    np.testing.assert_allclose(m.apply({k: 2.0 * v for k, v in p.items()}, X), 8.0 * m.apply(p, X), rtol=1e-13)


def test_bad_parts_are_one_clear_error():
    with pytest.raises(ValueError, match="at least two models"):
        Sum((Linear(2),))
    with pytest.raises(ValueError, match="different dimensions"):
        Sum((Linear(2), Linear(3)))
