"""``ibias fit --model factorization``: the JSON contract extension and bad input (exit 2)."""

import json

import numpy as np
import pytest

from implicit_bias import matrix_data as md
from implicit_bias.theory import factorization as tf


def test_fit_factorization_completion_json(tmp_path, cli):
    d = md.matrix_completion((4, 4), rank=1, n_obs=10, seed=0)
    path = tmp_path / "comp.npz"
    np.savez(path, entries=d.entries, y=d.y, shape=np.array(d.shape))
    p = cli("fit", path, "--model", "factorization", "--depth", "2", "--scale", "0.5", "--init", "balanced", "--algorithm", "gd", "--lr", "1.0",
              "--stop-loss", "1e-12", "--predict", "min-frobenius", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["status"] == "converged" and out["predictor_shape"] == [4, 4]
    W = np.array(out["predictor"]).reshape(4, 4)  # row-major
    np.testing.assert_allclose(W[d.entries[:, 0], d.entries[:, 1]], d.y, atol=1e-5)
    np.testing.assert_allclose(W, np.array(out["params"]["W2"]) @ np.array(out["params"]["W1"]), rtol=1e-12)
    sv = np.linalg.svd(W, compute_uv=False)
    np.testing.assert_allclose(out["diagnostics"]["singular_values"], sv, rtol=1e-10)
    p_ = sv / sv.sum()
    assert out["diagnostics"]["effective_rank"] == pytest.approx(np.exp(-np.sum(p_[p_ > 0] * np.log(p_[p_ > 0]))), rel=1e-10)
    (pred,) = out["predictions"]
    assert pred["name"] == "min-frobenius" and pred["predictor_shape"] == [4, 4]
    ref = np.zeros((4, 4))
    ref[d.entries[:, 0], d.entries[:, 1]] = d.y  # hand oracle: observed entries, zeros elsewhere
    np.testing.assert_allclose(np.array(pred["predictor"]).reshape(4, 4), ref)
    assert pred["relative_error"] == pytest.approx(np.linalg.norm(W - ref) / np.linalg.norm(ref), rel=1e-10)


def test_fit_factorization_bad_input_exit_2(tmp_path, cli):
    path = tmp_path / "bad.npz"
    np.savez(path, entries=np.array([[0, 0], [0, 0]]), y=np.array([1.0, 2.0]), shape=np.array([2, 2]))
    p = cli("fit", path, "--model", "factorization", "--json")
    assert p.returncode == 2 and "observed twice with different values" in p.stderr and p.stdout == ""
    np.savez(path, entries=np.array([[0, 5]]), y=np.array([1.0]), shape=np.array([2, 2]))
    p = cli("fit", path, "--model", "factorization")
    assert p.returncode == 2 and "out of range" in p.stderr and "Traceback" not in p.stderr
    np.savez(path, A=np.ones((2, 3)), y=np.ones(2))
    p = cli("fit", path, "--model", "factorization")
    assert p.returncode == 2 and "A must be 3-D" in p.stderr
    d = md.matrix_sensing((3, 3), 1, 4)
    np.savez(path, A=d.A, y=d.y)
    p = cli("fit", path, "--model", "factorization", "--predict", "min-l1")
    assert p.returncode == 2 and "not a matrix prediction" in p.stderr


def test_commuting_limit_refuses_non_commuting_data_from_the_cli(tmp_path, cli):
    d = md.matrix_sensing((3, 3), 1, 4)
    path = tmp_path / "s.npz"
    np.savez(path, A=d.A, y=d.y)
    p = cli("fit", path, "--model", "factorization", "--symmetric", "--algorithm", "gd", "--lr", "0.1", "--max-steps", "3", "--predict", "commuting-limit")
    assert p.returncode == 2 and "symmetric" in p.stderr
    with pytest.raises(ValueError):
        tf.commuting_limit(d)


def test_list_predictions_names_the_matrix_predictions(cli):
    p = cli("fit", "--list-predictions", check=True)
    names = {line.split()[0] for line in p.stdout.splitlines() if line.strip()}
    assert {"min-nuclear", "min-nuclear-psd", "min-frobenius", "commuting-limit"} <= names
    assert {"min-l1", "max-margin-l2"} <= names  # the vector predictions are still there
