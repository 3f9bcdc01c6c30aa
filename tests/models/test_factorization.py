import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import matrix_data as md
from implicit_bias.models import MatrixFactorization


def test_param_names_and_shapes():
    m = MatrixFactorization((4, 6), depth=3, scale=0.1)
    assert m.param_shapes() == {"W1": (4, 6), "W2": (4, 4), "W3": (4, 4)}
    assert MatrixFactorization((4, 6), depth=2, width=7).param_shapes() == {"W1": (7, 6), "W2": (4, 7)}
    assert MatrixFactorization((3, 3), symmetric=True).param_shapes() == {"U": (3, 3)}
    assert MatrixFactorization((3, 3), depth=4).homogeneity == 4


@pytest.mark.parametrize("init", ["gaussian", "balanced"])
def test_init_frobenius_norm_equals_scale(init):
    m = MatrixFactorization((5, 4), depth=3, scale=0.37, initialization=init)
    assert np.linalg.norm(m.matrix(m.init(3))) == pytest.approx(0.37, rel=1e-12)


def test_identity_and_balanced_inits():
    p = MatrixFactorization((4, 4), depth=3, scale=0.5, initialization="identity").init()
    for v in p.values():
        np.testing.assert_array_equal(v, 0.5 * np.eye(4))
    U = MatrixFactorization((4, 4), symmetric=True, scale=0.2).init()["U"]
    np.testing.assert_array_equal(U, 0.2 * np.eye(4))
    m = MatrixFactorization((5, 3), depth=4, scale=2.0, initialization="balanced", width=4)
    p = m.init(1)
    for D in m.balancedness(p):
        assert np.abs(D).max() < 1e-12
    # the gaussian init is not balanced
    g = MatrixFactorization((5, 3), depth=4, scale=2.0)
    assert max(np.abs(D).max() for D in g.balancedness(g.init(1))) > 1e-2


def test_apply_completion_and_sensing_against_numpy():
    m = MatrixFactorization((3, 4), depth=2, scale=1.0)
    p = m.init(0)
    W = np.asarray(p["W2"]) @ np.asarray(p["W1"])
    np.testing.assert_allclose(m.matrix(p), W, rtol=1e-14)
    np.testing.assert_allclose(m.predictor(p), W.reshape(-1), rtol=1e-14)
    E = np.array([[0, 0], [2, 3], [1, 2]])
    np.testing.assert_allclose(m.apply(p, E.astype(float)), W[E[:, 0], E[:, 1]], rtol=1e-14)
    A = np.random.default_rng(0).standard_normal((5, 3, 4))
    np.testing.assert_allclose(m.apply(p, A.reshape(5, -1)), np.einsum("kij,ij->k", A, W), rtol=1e-12)
    with pytest.raises(ValueError, match=r"index pairs \(N, 2\) or flattened 3x4"):
        m.apply(p, np.ones((2, 5)))


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="square shape and depth 2"):
        MatrixFactorization((3, 4), symmetric=True)
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        MatrixFactorization((3, 3), scale=0.0)
    with pytest.raises(ValueError, match="unknown initialization 'orthogonal'"):
        MatrixFactorization((3, 3), initialization="orthogonal")
    with pytest.raises(ValueError, match="width must be an integer >= min"):
        MatrixFactorization((3, 4), width=2)
    with pytest.raises(ValueError, match="set observations"):
        MatrixFactorization((1, 2)).apply(MatrixFactorization((1, 2)).init(0), np.zeros((1, 2)))


def test_vmap_over_scale():
    def norm(s):
        m = MatrixFactorization((3, 3), depth=3, scale=s)
        return jnp.linalg.norm(m.matrix(m.init(jax.random.key(0))))

    np.testing.assert_allclose(jax.vmap(norm)(jnp.array([0.1, 0.2])), [0.1, 0.2], rtol=1e-12)


def test_trains_with_flow_and_gd_on_completion_and_sensing():
    comp = md.matrix_completion((4, 4), rank=1, n_obs=10, seed=0)
    sens = md.matrix_sensing((4, 4), rank=1, n_obs=10, seed=0)
    for d in (comp, sens):
        m = MatrixFactorization(d.shape, depth=2, scale=0.5, initialization="balanced")
        gd = ib.train(m, d.dataset, "square", ib.GradientDescent(lr=1.0), ib.Stop(loss=1e-12, max_steps=100_000), seed=1)
        assert gd.status == "converged", gd.message
        np.testing.assert_allclose(d.measure(np.asarray(gd.predictor).reshape(d.shape)), d.y, atol=1e-5)
        assert gd.trajectory["predictor"].shape[1] == 16
    # one flow run (each new model structure compiles the flow once: seconds on a busy machine)
    run = ib.train(m, sens.dataset, "square", ib.GradientFlow(), ib.Stop(loss=1e-14, max_steps=50_000), seed=1)
    assert run.status == "converged", run.message
    np.testing.assert_allclose(sens.measure(np.asarray(run.predictor).reshape(4, 4)), sens.y, atol=1e-6)


def test_init_params_override():
    m = MatrixFactorization((2, 2), symmetric=True, init_params={"U": np.array([[1.0, 0.0], [2.0, 1.0]])})
    np.testing.assert_array_equal(m.matrix(m.init()), [[1.0, 2.0], [2.0, 5.0]])
    with pytest.raises(ValueError, match="parameter 'U' has shape"):
        MatrixFactorization((2, 2), symmetric=True, init_params={"U": np.ones((3, 3))}).init()
