"""TensorFactorization: entries by hand, the full tensor, balanced init, homogeneity, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias import models


def test_entries_and_tensor_by_hand():
    F1 = np.array([[1.0, 2.0], [0.5, -1.0]])
    F2 = np.array([[1.0, 0.0, 3.0], [2.0, 1.0, 1.0]])
    F3 = np.array([[1.0, 1.0], [4.0, 0.0]])
    m = models.TensorFactorization((2, 3, 2), components=2, scale=1.0, init_params={"F1": F1, "F2": F2, "F3": F3})
    p = m.init(0)
    T = np.asarray(m.tensor(p))
    # T[i, j, k] = sum_r F1[r, i] F2[r, j] F3[r, k]
    assert T[1, 2, 0] == pytest.approx(2.0 * 3.0 * 1.0 + (-1.0) * 1.0 * 4.0)
    assert T[0, 1, 1] == pytest.approx(0.0 + 0.5 * 1.0 * 0.0)
    X = jnp.array([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    assert np.allclose(m.apply(p, X), [T[1, 2, 0], T[0, 1, 1], T[1, 0, 1]])
    norms = np.asarray(m.component_norms(p))
    assert norms[0] == pytest.approx(np.linalg.norm(F1[0]) * np.linalg.norm(F2[0]) * np.linalg.norm(F3[0]))
    # the norm of a rank-one term is the Frobenius norm of that term
    assert norms[1] == pytest.approx(np.linalg.norm(np.einsum("a,b,c->abc", F1[1], F2[1], F3[1])))


def test_random_init_is_balanced_with_factor_norms_near_scale():
    m = models.TensorFactorization((10, 12, 8, 6), components=5, scale=1e-2)
    p = m.init(3)
    assert set(p) == {"F1", "F2", "F3", "F4"} and p["F2"].shape == (5, 12)
    N = np.stack([np.linalg.norm(np.asarray(p[f"F{j}"]), axis=1) for j in range(1, 5)])
    assert np.allclose(N, N[0][None, :], rtol=1e-12)  # balanced: equal factor norms per component
    assert np.all((N > 2e-3) & (N < 5e-2))  # ~scale (Gaussian / sqrt(n_j))
    assert m.order == 4 and m.homogeneity == 4 and m.input_dim == 4


def test_homogeneous_of_degree_p():
    m = models.TensorFactorization((3, 4, 5), components=2, scale=0.7)
    p = m.init(1)
    X = jnp.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]])
    c = 1.7
    pc = jax.tree_util.tree_map(lambda a: c * a, p)
    assert np.allclose(m.apply(pc, X), c**3 * m.apply(p, X), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(shape=(4,), components=1), "shape"),
        (dict(shape=(4, 0), components=1), "shape"),
        (dict(shape=(4, 4), components=0), "components"),
        (dict(shape=(4, 4), components=1, scale=-1.0), "scale"),
        (dict(shape=(4, 4), components=1, scale=float("nan")), "scale"),
    ],
)
def test_bad_hyperparameters_raise_one_line(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.TensorFactorization(**kwargs)


def test_bad_inputs_and_params_raise():
    m = models.TensorFactorization((3, 3, 3), components=2, scale=0.1)
    with pytest.raises(ValueError, match="index tuples"):
        m.apply(m.init(0), jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match="F3"):
        models.TensorFactorization((3, 3, 3), components=2, init_params={"F1": np.ones((2, 3)), "F2": np.ones((2, 3)), "F3": np.ones((2, 4))}).init(0)
