"""Sharpness diagnostics: Lanczos vs dense ``eigh``, warm starts, vmap, power iteration, mode Hessians.

Oracles: the dense Hessian (``jax.hessian``) and ``numpy.linalg.eigh``; for the mode Hessians
of mulayoff2021 §2.2, the ordinary Hessian evaluated just inside each mode's region.
"""

from __future__ import annotations

import doctest
import importlib
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import implicit_bias as ib
from implicit_bias.algorithms import Objective
from implicit_bias.models import AbstractModel

sharpness_module = importlib.import_module("implicit_bias.diagnostics.sharpness")


class _TanhNet(AbstractModel):
    """``f(x) = sum_i w2_i tanh(w1_i^T x + b1_i) + b2`` (test-local model)."""

    width: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)

    def init(self, key):
        r = np.random.default_rng(int(key))
        k, d = self.width, self.dim
        return {"w1": jnp.asarray(r.standard_normal((k, d))), "b1": jnp.asarray(r.standard_normal(k)), "w2": jnp.asarray(3 * r.standard_normal(k)), "b2": jnp.asarray(0.0)}

    def apply(self, params, X):
        return jnp.tanh(X @ params["w1"].T + params["b1"][None, :]) @ params["w2"] + params["b2"]

    def param_shapes(self):
        return {"w1": (self.width, self.dim), "b1": (self.width,), "w2": (self.width,), "b2": ()}


class _ReLUNet(AbstractModel):
    """``f(x) = sum_i w2_i relu(w1_i^T x + b1_i) + b2`` (test-local stand-in for ShallowReLU)."""

    width: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)

    def init(self, key):
        r = np.random.default_rng(int(key))
        k, d = self.width, self.dim
        return {"w1": jnp.asarray(r.standard_normal((k, d))), "b1": jnp.asarray(r.standard_normal(k)), "w2": jnp.asarray(r.standard_normal(k) / np.sqrt(k)), "b2": jnp.asarray(0.0)}

    def apply(self, params, X):
        return jax.nn.relu(X @ params["w1"].T + params["b1"][None, :]) @ params["w2"] + params["b2"]

    def param_shapes(self):
        return {"w1": (self.width, self.dim), "b1": (self.width,), "w2": (self.width,), "b2": ()}


def _dense(obj, params):
    H = ib.diagnostics.hessian_matrix(obj, params)
    w, U = np.linalg.eigh(H)
    return H, w, U


@pytest.fixture(scope="module")
def tanh_problem():
    """A tanh net (P = 121) at a non-minimum with a well separated top eigenvalue."""
    rng = np.random.default_rng(1)
    X = jnp.asarray(rng.standard_normal((15, 3)))
    model = _TanhNet(width=24, dim=3)
    params = model.init(3)
    y = jnp.asarray(rng.standard_normal(15))
    return Objective(model, ib.losses.Square(), X, y), params


@pytest.fixture(scope="module")
def negative_problem():
    """A tanh net at a saddle whose spectrum is dominated by a negative eigenvalue.

    Found by scanning seeds: lambda_min ~ -25.8, lambda_max ~ 8.4 (ratio ~ -3.1).
    """
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.standard_normal((12, 2)))
    model = _TanhNet(width=6, dim=2)
    params = model.init(6)
    y = -10.0 * jnp.sign(model.apply(params, X))
    return Objective(model, ib.losses.Square(), X, y), params


def test_lanczos_matches_dense_eigh(tanh_problem):
    obj, params = tanh_problem
    H, w, U = _dense(obj, params)
    r = ib.diagnostics.top_hessian_eigenpair(obj, params, rtol=1e-10)
    assert bool(r.converged)
    assert float(r.eigenvalue) == pytest.approx(w[-1], rel=1e-10)
    v = np.asarray(r.eigenvector)
    assert abs(v @ U[:, -1]) == pytest.approx(1.0, abs=1e-8)
    # the reported residual is the true ||H v - lambda v|| (dense oracle)
    res = np.linalg.norm(H @ v - float(r.eigenvalue) * v)
    assert float(r.residual) == pytest.approx(res, rel=1e-3, abs=1e-13)
    assert float(r.residual) <= 1e-10 * abs(w[-1])
    assert int(r.num_hvps) < H.shape[0]  # far fewer products than parameters


def test_lanczos_finds_largest_algebraic_not_largest_magnitude(negative_problem):
    obj, params = negative_problem
    _, w, _ = _dense(obj, params)
    assert w[0] < -2.5 * w[-1] and w[-1] > 0  # negative-dominant spectrum
    r = ib.diagnostics.top_hessian_eigenpair(obj, params, rtol=1e-10)
    assert bool(r.converged)
    assert float(r.eigenvalue) == pytest.approx(w[-1], rel=1e-9)
    assert ib.diagnostics.sharpness(obj, params, dense_below=0) == pytest.approx(w[-1], rel=1e-9)
    # the usual power iteration converges to the largest-magnitude eigenvalue instead
    pw = ib.diagnostics.power_iteration(obj, params, rtol=1e-8, max_hvps=500)
    assert float(pw.eigenvalue) == pytest.approx(w[0], rel=1e-3)


def test_warm_start_reduces_hvps(tanh_problem):
    obj, params = tanh_problem
    r0 = ib.diagnostics.top_hessian_eigenpair(obj, params, rtol=1e-8)
    # one small gradient step, as when tracking sharpness during training
    g = jax.jit(jax.grad(obj.value))(params)
    params1 = jax.tree_util.tree_map(lambda p, d: p - 1e-3 * d, params, g)
    cold = ib.diagnostics.top_hessian_eigenpair(obj, params1, rtol=1e-8, seed=1)
    warm = ib.diagnostics.top_hessian_eigenpair(obj, params1, rtol=1e-8, v0=r0.eigenvector)
    assert bool(cold.converged) and bool(warm.converged)
    assert float(warm.eigenvalue) == pytest.approx(float(cold.eigenvalue), rel=1e-12)
    assert int(warm.num_hvps) < int(cold.num_hvps)
    # an exact eigenvector as warm start: one Lanczos step (+1 for the residual)
    _, _, U = _dense(obj, params1)
    exact = ib.diagnostics.top_hessian_eigenpair(obj, params1, rtol=1e-8, v0=U[:, -1])
    assert int(exact.num_hvps) <= 3


def test_sharpness_batch_equals_per_item(tanh_problem):
    obj, params = tanh_problem
    model = obj.model
    items = [params, model.init(4), model.init(5)]
    batch = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *items)
    P = ravel_pytree(params)[0].shape[0]
    v0 = jax.random.normal(jax.random.PRNGKey(7), (3, P), dtype=jnp.float64)
    rb = ib.diagnostics.sharpness_batch(obj, batch, v0=v0, rtol=1e-9)
    assert rb.eigenvalue.shape == (3,) and rb.eigenvector.shape == (3, P)
    for i, p in enumerate(items):
        ri = ib.diagnostics.top_hessian_eigenpair(obj, p, v0=v0[i], rtol=1e-9)
        assert float(rb.eigenvalue[i]) == pytest.approx(float(ri.eigenvalue), rel=1e-12)
        assert int(rb.num_hvps[i]) == int(ri.num_hvps)
        assert float(rb.residual[i]) == pytest.approx(float(ri.residual), rel=1e-6, abs=1e-14)
        assert float(rb.eigenvalue[i]) == pytest.approx(np.linalg.eigvalsh(ib.diagnostics.hessian_matrix(obj, p)).max(), rel=1e-9)


def test_sharpness_backward_compatible(tanh_problem):
    obj, params = tanh_problem
    w = np.linalg.eigvalsh(ib.diagnostics.hessian_matrix(obj, params))
    assert ib.diagnostics.sharpness(obj, params) == pytest.approx(w[-1], rel=1e-12)  # dense path
    assert ib.diagnostics.sharpness(obj, params, dense_below=0, tol=1e-10, seed=3) == pytest.approx(w[-1], rel=1e-10)


def test_power_iteration_baseline(tanh_problem):
    obj, params = tanh_problem
    w = np.linalg.eigvalsh(ib.diagnostics.hessian_matrix(obj, params))
    pw = ib.diagnostics.power_iteration(obj, params)  # rtol 1e-3, <= 100 HVPs
    assert bool(pw.converged) and 2 <= int(pw.num_hvps) <= 100
    assert float(pw.eigenvalue) <= w[-1] * (1 + 1e-12)  # a Rayleigh quotient
    assert float(pw.eigenvalue) == pytest.approx(w[-1], rel=2e-2)
    short = ib.diagnostics.power_iteration(obj, params, rtol=1e-14, max_hvps=5)
    assert int(short.num_hvps) == 5 and not bool(short.converged)


def test_bad_warm_start_is_rejected(tanh_problem):
    obj, params = tanh_problem
    with pytest.raises(ValueError, match="v0"):
        ib.diagnostics.top_hessian_eigenpair(obj, params, v0=np.ones(3))


def _clustered_matrix(P=300, seed=0):
    """Symmetric ``A = Q diag(w) Q^T`` with a clustered top (``w = 10, 9.9, 9.8, ...``) and a negative end."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((P, P)))
    w = np.concatenate([10.0 - 0.1 * np.arange(20), rng.uniform(-12.0, 7.0, P - 20)])
    return (Q * w) @ Q.T, np.sort(w)


def _krylov_ritz(A, v0, j):
    """Top Ritz value of ``A`` on ``span{v0, ..., A^{j-1} v0}``: NumPy Arnoldi (Gram-Schmidt twice) + ``eigvalsh``."""
    Q = [v0 / np.linalg.norm(v0)]
    for _ in range(j - 1):
        w = A @ Q[-1]
        for _ in range(2):
            M = np.array(Q)
            w = w - M.T @ (M @ w)
        Q.append(w / np.linalg.norm(w))
    M = np.array(Q).T
    return np.linalg.eigvalsh(M.T @ A @ M).max()


@pytest.mark.parametrize("steps", [1, 2, 15, 16, 17, 40])
def test_lanczos_ritz_value_after_j_steps_is_the_krylov_optimum(steps):
    # rtol = 0: exactly `steps` Lanczos steps (across the chunk boundaries of the basis at 16, 32)
    A, _ = _clustered_matrix()
    v0 = np.random.default_rng(1).standard_normal(A.shape[0])
    Aj = jnp.asarray(A)
    r = ib.diagnostics.lanczos(lambda v: Aj @ v, jnp.asarray(v0), max_iter=steps, rtol=0.0)
    assert int(r.num_hvps) == steps + 1
    assert float(r.eigenvalue) == pytest.approx(_krylov_ritz(A, v0, steps), rel=1e-10)
    x = np.asarray(r.eigenvector)
    assert np.linalg.norm(x) == pytest.approx(1.0, abs=1e-12)
    assert float(r.residual) == pytest.approx(np.linalg.norm(A @ x - float(r.eigenvalue) * x), rel=1e-6)


def test_lanczos_clustered_top_crosses_chunks_and_beats_power_iteration():
    A, w = _clustered_matrix()
    Aj = jnp.asarray(A)
    v0 = jnp.asarray(np.random.default_rng(2).standard_normal(A.shape[0]))
    r = ib.diagnostics.lanczos(lambda v: Aj @ v, v0, max_iter=150, rtol=1e-10)
    assert bool(r.converged)
    assert 17 < int(r.num_hvps) < 150  # needed more than one chunk of the basis, far fewer than P
    assert float(r.eigenvalue) == pytest.approx(w[-1], rel=1e-12)  # largest algebraic (|lambda_min| = 12 > 10)
    x = np.asarray(r.eigenvector)
    assert float(r.residual) == pytest.approx(np.linalg.norm(A @ x - w[-1] * x), rel=1e-6)
    assert float(r.residual) <= 1e-10 * w[-1]


def test_lanczos_under_vmap_matches_single_calls():
    mats = [jnp.asarray(_clustered_matrix(P=70, seed=s)[0]) for s in range(2)]
    As = jnp.stack(mats)
    V0 = jax.random.normal(jax.random.PRNGKey(0), (2, 70), dtype=jnp.float64)
    # > 33 steps each: the basis blocks of 17, 33 and 65 rows are used
    one = jax.jit(lambda A, v: ib.diagnostics.lanczos(lambda x: A @ x, v, max_iter=70, rtol=1e-9))
    rb = jax.vmap(one)(As, V0)
    assert bool(jnp.all(rb.converged))
    for i, A in enumerate(mats):
        ri = one(A, V0[i])
        assert int(rb.num_hvps[i]) == int(ri.num_hvps) > 34
        assert float(rb.eigenvalue[i]) == pytest.approx(float(ri.eigenvalue), rel=1e-12)
        assert float(rb.eigenvalue[i]) == pytest.approx(np.linalg.eigvalsh(np.asarray(A)).max(), rel=1e-10)


def test_lanczos_one_step_is_the_rayleigh_quotient():
    A, _ = _clustered_matrix(P=50)
    v0 = np.random.default_rng(3).standard_normal(50)
    Aj = jnp.asarray(A)
    r = ib.diagnostics.lanczos(lambda v: Aj @ v, jnp.asarray(v0), max_iter=1, rtol=0.0)
    assert float(r.eigenvalue) == pytest.approx(v0 @ A @ v0 / (v0 @ v0), rel=1e-12)
    assert int(r.num_hvps) == 2


def test_lanczos_steps_never_exceed_power_iteration_at_equal_accuracy(tanh_problem):
    # Krylov optimality: after i products the top Ritz value is >= power iteration's Rayleigh quotient
    obj, params = tanh_problem
    lam = np.linalg.eigvalsh(ib.diagnostics.hessian_matrix(obj, params)).max()
    for seed in range(2):
        pw = ib.diagnostics.power_iteration(obj, params, seed=seed)
        err = abs(float(pw.eigenvalue) / lam - 1)
        r = ib.diagnostics.top_hessian_eigenpair(obj, params, rtol=0.0, max_iter=int(pw.num_hvps), seed=seed)
        assert abs(float(r.eigenvalue) / lam - 1) <= err * (1 + 1e-9) + 1e-14


@pytest.mark.parametrize(
    "kwargs, match",
    [({"max_iter": 0}, "max_iter"), ({"max_iter": 2.5}, "max_iter"), ({"rtol": -1.0}, "rtol"), ({"atol": float("nan")}, "atol")],
)
def test_bad_lanczos_arguments_are_rejected(tanh_problem, kwargs, match):
    obj, params = tanh_problem
    with pytest.raises(ValueError, match=match):
        ib.diagnostics.top_hessian_eigenpair(obj, params, **kwargs)
    with pytest.raises(ValueError, match=match):
        ib.diagnostics.lanczos(lambda v: v, jnp.ones(3), **kwargs)


def test_lanczos_rejects_non_flat_start():
    with pytest.raises(ValueError, match="v0"):
        ib.diagnostics.lanczos(lambda v: v, jnp.ones((2, 3)))


# ---------------------------------------------------------------------------------------
# Mode Hessians (mulayoff2021 §2.2, §4.2)
# ---------------------------------------------------------------------------------------


def _abs_net():
    """f(x) = relu(x) + relu(-x) = |x| interpolating (-1, 1), (0, 0), (1, 1): both knots on x = 0."""
    X = np.array([[-1.0], [0.0], [1.0]])
    y = np.array([1.0, 0.0, 1.0])
    params = {"w1": np.array([[1.0], [-1.0]]), "b1": np.zeros(2), "w2": np.ones(2), "b2": np.array(0.0)}
    return X, y, params


def test_mode_hessians_are_limits_of_the_hessian_inside_each_mode():
    X, y, params = _abs_net()
    mh = ib.diagnostics.mode_hessians(params, X, y)
    assert mh.num_modes == 4 and mh.p_max == 2
    assert mh.toggles.tolist() == [[1, 0], [1, 1]]
    obj = Objective(_ReLUNet(width=2, dim=1), ib.losses.Square(), jnp.asarray(X), jnp.asarray(y))
    eps = 1e-8
    seen = set()
    for s0, s1 in itertools.product([-1.0, 1.0], repeat=2):
        # neuron i is active on x = 0 iff b1_i > 0: move into the mode's region
        p = dict(params, b1=np.array([s0 * eps, s1 * eps]))
        H = ib.diagnostics.hessian_matrix(obj, {k: jnp.asarray(v) for k, v in p.items()})
        m = next(i for i in range(4) if mh.patterns[i, 1, 0] == (s0 > 0) and mh.patterns[i, 1, 1] == (s1 > 0))
        seen.add(m)
        np.testing.assert_allclose(mh.hessians[m], H, atol=1e-6)
        assert mh.top_eigenvalues[m] == pytest.approx(np.linalg.eigvalsh(mh.hessians[m]).max(), rel=1e-12)
    assert seen == {0, 1, 2, 3}
    assert mh.upper == pytest.approx(mh.top_eigenvalues.max())


def test_mode_hessians_satisfy_lemma5():
    X, y, params = _abs_net()
    mh = ib.diagnostics.mode_hessians(params, X, y)
    n, C = X.shape[0], mh.gradient_bound
    for a, b in itertools.product(range(mh.num_modes), repeat=2):
        q, lam = mh.top_eigenvectors[a], mh.top_eigenvalues[a]
        lhs = np.linalg.norm(mh.hessians[b] @ q - lam * q)
        rhs = np.sqrt(3) * C * (np.sqrt(lam) + np.sqrt(max(mh.top_eigenvalues[b], 0.0))) * np.sqrt(mh.p_max / n)
        assert lhs <= rhs + 1e-12  # eq. (33)
    assert np.all(mh.common_residuals <= 2 * np.sqrt(3) * C * np.sqrt(mh.upper) * np.sqrt(mh.p_max / n) + 1e-12)  # eq. (34)


def test_single_mode_is_the_hessian():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (8, 1))
    model = _ReLUNet(width=5, dim=1)
    params = model.init(2)
    y = np.asarray(model.apply(params, jnp.asarray(X))) + 0.1 * rng.standard_normal(8)
    mh = ib.diagnostics.mode_hessians(params, X, y)
    assert mh.num_modes == 1 and mh.toggles.shape == (0, 2)
    H = ib.diagnostics.hessian_matrix(Objective(model, ib.losses.Square(), jnp.asarray(X), jnp.asarray(y)), params)
    np.testing.assert_allclose(mh.hessians[0], H, atol=1e-12)


def test_dead_neuron_at_zero_has_threshold_modes():
    X = np.array([[-1.0], [0.5], [2.0]])
    y = np.zeros(3)
    params = {"w1": np.array([[0.0]]), "b1": np.array([0.0]), "w2": np.array([1.0]), "b2": np.array(0.0)}
    mh = ib.diagnostics.mode_hessians(params, X, y)
    # sign patterns of dw x + db on 3 sorted points: thresholds from either side, 2n = 6 of them
    assert mh.num_modes == 6
    with pytest.raises(ValueError, match="max_modes"):
        ib.diagnostics.mode_hessians(params, X, y, max_modes=4)


def test_doctests():
    result = doctest.testmod(sharpness_module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
