"""Contract of the shared dual-Newton routine of implicit_bias.theory._solvers (and its small helpers).

Oracles: hand-solved strongly convex problems (closed-form minimisers), the same routine on both
backends, and constructed cases for the fall-back to steepest descent and the stall rule.
"""

from __future__ import annotations

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import implicit_bias  # noqa: F401  (float64 in JAX)
from implicit_bias.theory import _solvers
from implicit_bias.theory._solvers import NewtonResult, check_vector, dual_newton, quiet_stdout

# A strongly convex quadratic Phi(x) = x^T A x / 2 - b^T x: minimiser A^{-1} b (hand solvable).
A2 = np.array([[3.0, 1.0], [1.0, 2.0]])
B2 = np.array([1.0, -1.0])
X_STAR = np.array([0.6, -0.8])  # A2 @ X_STAR = B2


def _quadratic(xp):
    A, b = xp.asarray(A2), xp.asarray(B2)

    def evaluate(x):
        F = A @ x - b
        return {"F": F, "phi": 0.5 * x @ A @ x - b @ x, "res": xp.linalg.norm(F), "ok": xp.all(xp.isfinite(F))}

    return evaluate, (lambda x, ev: A), (lambda x, step, t: x + t * step)


@pytest.mark.parametrize("backend", ["numpy", "jax"])
def test_quadratic_is_solved_in_one_newton_step(backend):
    xp = np if backend == "numpy" else jnp
    evaluate, hessian, move = _quadratic(xp)
    out = dual_newton(evaluate, hessian, move, xp.zeros(2), target=1e-13, max_iter=50, backend=backend)
    assert isinstance(out, NewtonResult)
    np.testing.assert_allclose(np.asarray(out.x), X_STAR, rtol=0, atol=1e-13)  # the ridge: 1e-14 relative
    assert int(out.iterations) == 1 and not bool(out.stalled)
    assert float(out.ev["res"]) <= 1e-13


def test_jax_backend_is_jittable_and_vmappable():
    evaluate, hessian, move = _quadratic(jnp)

    def solve(x0):
        return dual_newton(evaluate, hessian, move, x0, target=1e-13, max_iter=50).x

    xs = jax.jit(jax.vmap(solve))(jnp.array([[0.0, 0.0], [5.0, -7.0], [1e3, 1e3]]))
    np.testing.assert_allclose(np.asarray(xs), np.tile(X_STAR, (3, 1)), atol=1e-12)


def test_smooth_strongly_convex_problem_matches_its_closed_form():
    # Phi(x) = sum_i (exp(x_i) - c_i x_i) + x^T x / 2: grad = exp(x) - c + x, minimiser
    # x_i = c_i - W(exp(c_i)) (Lambert W), since exp(x) + x = c  <=>  x = c - W(e^c).
    from scipy.special import lambertw

    c = np.array([0.0, 2.0, -1.0, 10.0])
    expected = c - np.real(lambertw(np.exp(c)))

    def evaluate(x):
        F = np.exp(x) - c + x
        return {"F": F, "phi": float(np.sum(np.exp(x) - c * x) + 0.5 * x @ x), "res": float(np.linalg.norm(F)), "ok": True}

    out = dual_newton(evaluate, lambda x, ev: np.diag(np.exp(x) + 1.0), lambda x, s, t: x + t * s, np.zeros(4), target=1e-13, max_iter=100, backend="numpy")
    np.testing.assert_allclose(out.x, expected, rtol=1e-14, atol=1e-14)
    assert 3 <= int(out.iterations) <= 20


def test_fallback_to_steepest_descent_when_newton_fails():
    # A Hessian that gives a non-finite direction: the routine must step along -F instead.
    evaluate, _, move = _quadratic(np)
    seen = []

    def bad_hessian(x, ev):
        seen.append(1)
        return np.full((2, 2), np.nan)

    out = dual_newton(evaluate, bad_hessian, move, np.zeros(2), target=1e-10, max_iter=2000, backend="numpy")
    assert len(seen) == int(out.iterations) > 1  # gradient steps: linear convergence, several steps
    np.testing.assert_allclose(out.x, X_STAR, atol=1e-9)

    # no curvature (tr J = 0, e.g. a dual map with zero slope at the start): gradient steps too,
    # not the ridge-only "Newton" step F * 1e300
    flat = dual_newton(evaluate, lambda x, ev: np.zeros((2, 2)), move, np.zeros(2), target=1e-10, max_iter=2000, backend="numpy")
    assert not bool(flat.stalled)
    np.testing.assert_allclose(flat.x, X_STAR, atol=1e-9)

    # the first trial of an ascent "Newton" direction is replaced too: Hessian -I gives step = +F
    first = dual_newton(evaluate, lambda x, ev: -np.eye(2), move, np.zeros(2), target=0.0, max_iter=1, backend="numpy")
    np.testing.assert_allclose(first.x, B2)  # x0 - F(x0) = b, accepted at t = 1 (||F|| drops from sqrt 2 to 1)


def test_stall_returns_the_last_accepted_iterate():
    # Every trial is rejected (evaluate marks them unusable): no step, stalled after one iteration.
    evaluate, hessian, move = _quadratic(np)

    def evaluate_only_start(x):
        ev = evaluate(x)
        ev["ok"] = bool(np.all(x == 0.0))
        return ev

    out = dual_newton(evaluate_only_start, hessian, move, np.zeros(2), target=1e-13, max_iter=50, max_backtrack=5, backend="numpy")
    assert bool(out.stalled) and int(out.iterations) == 1
    np.testing.assert_array_equal(out.x, np.zeros(2))


def test_target_callable_first_step_and_iteration_counter():
    evaluate, hessian, move = _quadratic(jnp)
    def first_step(x, step):
        return 0.5  # a damped first trial: half a Newton step per iteration, res halves

    out = dual_newton(evaluate, hessian, move, jnp.zeros(2), target=lambda ev: 1e-3 * jnp.linalg.norm(jnp.asarray(B2)), max_iter=100, first_step=first_step, iterations=7)
    n = int(out.iterations) - 7
    assert n == 10  # 2^-10 < 1e-3 <= 2^-9
    np.testing.assert_allclose(np.asarray(out.x), X_STAR * (1 - 2.0**-n), atol=1e-14)
    capped = dual_newton(evaluate, hessian, move, jnp.zeros(2), target=0.0, max_iter=9, first_step=first_step, iterations=7)
    assert int(capped.iterations) == 9  # the cap counts from `iterations`


def test_bad_backend_and_check_vector_message():
    evaluate, hessian, move = _quadratic(np)
    with pytest.raises(ValueError, match="backend"):
        dual_newton(evaluate, hessian, move, np.zeros(2), target=0.0, max_iter=1, backend="torch")
    with pytest.raises(ValueError, match=r"w0 must have shape \(3,\)"):
        check_vector(np.zeros(2), "w0", 3)


def test_quiet_stdout_silences_file_descriptor_1(capfd):
    import os

    with quiet_stdout():
        os.write(1, b"banner\n")
        print("python print")
    assert capfd.readouterr().out == ""


def test_docstring_examples():
    result = doctest.testmod(_solvers, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
