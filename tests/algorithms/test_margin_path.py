"""exponential_flow_path: the exact D = 2 exponential-loss flow in excess-margin coordinates."""

import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias import models
from implicit_bias.algorithms import exponential_flow_path
from implicit_bias.diagnostics.margins import margin_normalized
from implicit_bias.theory.diagonal_margins import q_mu_max_margin

X3 = np.array([[0.8, 0.1, -0.3], [0.8, -0.2, -0.2], [1.0, 0.7, 0.1]])  # moroshko2020 Fig. 3b analogue
Y3 = np.ones(3)


@pytest.mark.parametrize("method", ["rosenbrock", "radau"])
def test_matches_parameter_space_flow_on_the_accuracy_clock(method):
    # route 2: the library's parameter-space gradient flow (Tsit5, accuracy clock), no reduction
    m = models.Diagonal(3, depth=2, scale=1.0)
    gammas = [3.0, 30.0, 300.0]
    path = exponential_flow_path(m, X3, Y3, gammas, rtol=1e-10, method=method)
    for g, w in zip(gammas, path.predictors):
        run = ib.train(m, ib.data.Dataset(X3, Y3), "exponential", ib.GradientFlow(clock="accuracy", rtol=1e-11, atol=1e-13), ib.Stop(training_accuracy=g, max_steps=10**6), ib.Record(fields=("loss",)))
        assert run.status == "converged"
        np.testing.assert_allclose(w, run.predictor, rtol=1e-6)
        # and the reported accuracy is the asked one: gamma = -log mean exp(-y x^T w)
        assert -np.log(np.mean(np.exp(-(X3 @ w)))) == pytest.approx(g, rel=1e-9)


def test_large_alpha_follows_the_q_mu_path():
    # moroshko2020 Thm 6: at gamma = alpha^2 / mu the margin-normalised predictor tends to the Q_mu
    # max-margin point as alpha grows (independent route: the dual solve of theory.margins)
    for mu in (0.5, 0.001):
        errs = []
        for alpha in (1e2, 1e4):
            w = exponential_flow_path(models.Diagonal(3, depth=2, scale=alpha), X3, Y3, [alpha**2 / mu]).predictors[0]
            q = q_mu_max_margin(X3, Y3, mu, 2).w
            errs.append(np.linalg.norm(margin_normalized(X3, Y3, w) - q) / np.linalg.norm(q))
        assert errs[1] < errs[0] and errs[1] < 1e-4, (mu, errs)


@pytest.mark.parametrize("alpha, gmax", [pytest.param(0.3, 1e5, marks=pytest.mark.slow), (1e4, 1e11)])
def test_rosenbrock_and_radau_routes_agree(alpha, gmax):
    # the two routes share only the model: compiled Rosenbrock on (rho, lambda) with autodiff
    # Jacobians vs scipy Radau on rho with lambda re-solved by Newton and a hand Jacobian
    m = models.Diagonal(3, depth=2, scale=alpha)
    gam = np.geomspace(0.1, gmax, 12)
    ref = exponential_flow_path(m, X3, Y3, gam, rtol=1e-11, method="radau")
    errs = []
    for tol in (1e-6, 1e-10):
        path = exponential_flow_path(m, X3, Y3, gam, rtol=tol)
        assert path.jacobian_evals > 0 and path.rhs_evals == 3 * path.jacobian_evals
        errs.append(float(np.max(np.linalg.norm(path.directions - ref.directions, axis=1))))
        np.testing.assert_allclose(-np.log(np.mean(np.exp(-(X3 @ path.predictors[0].T)))), gam[0], rtol=10 * tol)
    # tolerance proportionality; measured 3e-7 / 4e-11 at alpha = 1e4
    assert errs[0] < 1e-5 and errs[1] < 1e-9 and errs[1] < 1e-3 * errs[0], errs


def test_rosenbrock_step_budget_is_a_clear_error():
    with pytest.raises(ValueError, match="max_steps") as e:
        exponential_flow_path(models.Diagonal(3, depth=2, scale=1e4), X3, Y3, [1e11], rtol=1e-10, max_steps=50)
    assert "\n" not in str(e.value)


def test_error_estimate_and_tolerance():
    path = exponential_flow_path(models.Diagonal(3, depth=2, scale=1e4), X3, Y3, [1e6, 1e11], rtol=1e-8, error_estimate=True)
    ref = exponential_flow_path(models.Diagonal(3, depth=2, scale=1e4), X3, Y3, [1e6, 1e11], rtol=1e-12)
    err = float(np.max(np.linalg.norm(path.directions - ref.directions, axis=1)))
    assert err < 1e-6 and path.error_estimate < 1e-6 and np.isfinite(path.error_estimate)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"model": models.Diagonal(3, depth=2, tied=False)}, "tied depth-2"),
        ({"model": models.Diagonal(3, depth=3)}, "tied depth-2"),
        ({"X": np.array([[1.0, 0, 0], [2.0, 0, 0]]), "y": np.ones(2)}, "linearly independent"),
        ({"y": np.array([1.0, 0.5, 1.0])}, r"\{-1, \+1\}"),
        ({"gammas": [10.0, 5.0]}, "increasing"),
        ({"rtol": 0.0}, "rtol"),
        ({"method": "euler"}, "method"),
    ],
)
def test_bad_inputs_are_one_line_errors(kw, match):
    args = {"model": models.Diagonal(3, depth=2), "X": X3, "y": Y3, "gammas": [10.0], "rtol": 1e-8, "method": "rosenbrock"} | kw
    with pytest.raises(ValueError, match=match) as e:
        exponential_flow_path(args["model"], args["X"], args["y"], args["gammas"], rtol=args["rtol"], method=args["method"])
    assert "\n" not in str(e.value)


def test_accuracies_closer_than_round_off_share_a_point():
    # log1p maps these two gammas to the same tau: one output point, reported twice
    g = [10.0, float(np.nextafter(10.0, 11.0)), 20.0]
    path = exponential_flow_path(models.Diagonal(3, depth=2, scale=1.0), X3, Y3, g, rtol=1e-8)
    np.testing.assert_allclose(path.predictors[0], path.predictors[1], rtol=1e-12)
    assert path.predictors.shape == (3, 3) and np.all(np.isfinite(path.predictors))


def test_closed_form_jacobian_matches_autodiff():
    import jax

    from implicit_bias.algorithms._margin_path import path_rhs, path_rhs_jac

    rng = np.random.default_rng(0)
    Z = rng.normal(size=(3, 5))
    for tau, scale in ((0.3, 0.1), (5.0, 1e-3), (20.0, 1e-8)):
        y = np.concatenate([rng.normal(size=3) * scale, np.abs(rng.normal(size=3))])
        F, Ft, J = path_rhs_jac(tau, y, Z, 2.5)
        JJ = jax.jacfwd(lambda v: path_rhs(v[0], v[1:], Z, 2.5))(np.concatenate([[tau], y]))
        np.testing.assert_allclose(F, path_rhs(tau, y, Z, 2.5), rtol=1e-14)
        np.testing.assert_allclose(J, JJ[:, 1:], rtol=1e-10, atol=1e-12 * np.abs(JJ).max())
        np.testing.assert_allclose(Ft, JJ[:, 0], rtol=1e-10, atol=1e-12 * np.abs(JJ).max())
