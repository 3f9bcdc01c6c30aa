"""``ibias reconstruct MODEL_JSON DATA.npz --candidates K --json`` (issue 22, Haim et al. 2022):
on the ``fit --json`` output of a trained mlp and on a hand-built stationary mlp; bad input is one
line and exit code 2. Run in process (the ``cli`` fixture)."""

import json

import numpy as np
import pytest



def simplex_instance():
    """The stationary instance of tests/diagnostics/test_reconstruction.py (its docstring derives
    it): 4 simplex points of norm 3 in R^5, one pair of ReLU units per point, λ_i = 1/sqrt(10)."""
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    V = (np.eye(4) - 0.25) @ Q[:4, :]
    X = 3.0 * V / np.linalg.norm(V, axis=1, keepdims=True)
    y = np.array([1.0, -1.0, 1.0, -1.0])
    lam = 1.0 / np.sqrt(np.sum(X**2, axis=1) + 1.0)
    rows = [(y[i] * v, i) for i in range(4) for v in (0.7, 1.3)]
    p = {"W1": np.array([vj * lam[i] * y[i] * X[i] for vj, i in rows]), "b1": np.array([vj * lam[i] * y[i] for vj, i in rows]), "W2": np.array([[vj for vj, _ in rows]])}
    return None, p, X, y, lam


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from sklearn.datasets import load_digits

    d = tmp_path_factory.mktemp("recon")
    D = load_digits()
    sel = np.isin(D.target, (0, 1))
    np.savez(d / "digits.npz", X=D.data[sel][:12] / 8.0 - 1.0, y=np.where(D.target[sel][:12] == 0, 1.0, -1.0))
    m, p, X, y, _ = simplex_instance()
    (d / "simplex.json").write_text(json.dumps({"model": "mlp", "params": {k: np.asarray(v).tolist() for k, v in p.items()}}))
    np.savez(d / "simplex.npz", X=X, y=y)
    np.savez(d / "wrong_dim.npz", X=np.zeros((3, 4)), y=np.ones(3))
    (d / "linear.json").write_text(json.dumps({"model": "linear", "params": {"w": [1.0, 2.0]}}))
    (d / "two_outputs.json").write_text(json.dumps({"model": "mlp", "params": {"W1": np.ones((3, 5)).tolist(), "b1": [0.0] * 3, "W2": np.ones((2, 3)).tolist()}}))
    (d / "broken.json").write_text("{not json")
    return d


def test_fit_then_reconstruct_digits(files, cli):
    fit = cli("fit", str(files / "digits.npz"), "--model", "mlp", "--widths", "20", "--activation", "relu", "--bias", "first", "--loss", "logistic",
              "--algorithm", "loss-scaled-gd", "--stop-accuracy", "20", "--json", "--quiet", check=True)
    (files / "fit.json").write_text(fit.stdout)
    p = cli("reconstruct", str(files / "fit.json"), str(files / "digits.npz"), "--candidates", "6", "--steps", "200", "--starts", "1", "--json", check=True)
    out = json.loads(p.stdout)  # strict JSON
    assert np.asarray(out["candidates"]).shape == (6, 64)
    assert len(out["lambda"]) == 6 and min(out["lambda"]) >= 0
    assert out["labels"] == [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
    assert out["score"] == "ssim" and len(out["matches"]) == 12
    for m in out["matches"]:
        assert 0 <= m["candidate"] < 6 and -1.0 <= m["ssim"] <= 1.0 and m["distance"] >= 0
    assert np.all(np.abs(out["candidates"]) <= 1.0)  # inside the default box
    assert np.isfinite(out["residual"])


def test_reconstruct_hand_built_stationary_mlp(files, cli):
    """The stationary simplex instance of tests/diagnostics/test_reconstruction.py written as a fit
    JSON (widths and bias read from the parameter shapes): the CLI recovers the four points to 1e-3."""
    p = cli("reconstruct", str(files / "simplex.json"), str(files / "simplex.npz"), "--candidates", "4", "--steps", "4000", "--lr", "0.05", "--box=-4,4",
            "--starts", "16", "--lambda-min", "0.05", "--lambda-init", "0.3", "--init-scale", "2", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["score"] == "normalized_distance"
    assert sorted(m["candidate"] for m in out["matches"]) == [0, 1, 2, 3]
    assert max(m["distance"] for m in out["matches"]) < 1e-3
    np.testing.assert_allclose([m["candidate_lambda"] for m in out["matches"]], 1 / np.sqrt(10.0), atol=1e-3)


@pytest.mark.parametrize(
    "model, data, extra, fragment",
    [
        ("linear.json", "simplex.npz", [], "is not an `ibias fit --model mlp"),
        ("broken.json", "simplex.npz", [], "cannot read MODEL_JSON"),
        ("missing.json", "simplex.npz", [], "cannot read MODEL_JSON"),
        ("two_outputs.json", "simplex.npz", [], "one-output mlp"),
        ("simplex.json", "wrong_dim.npz", [], "the model takes inputs of dimension 5"),
        ("simplex.json", "missing.npz", [], "cannot read X from DATA"),
        ("simplex.json", "simplex.npz", ["--candidates", "0"], "--candidates must be >= 1"),
        ("simplex.json", "simplex.npz", ["--box", "1"], "--box must be LO,HI"),
        ("simplex.json", "simplex.npz", ["--box=1,-1"], "box must be (lo, hi)"),
    ],
)
def test_bad_input_one_line_exit_2(files, cli, model, data, extra, fragment):
    p = cli("reconstruct", str(files / model), str(files / data), "--steps", "10", *extra)
    assert p.returncode == 2
    assert fragment in p.stderr
    assert p.stderr.count("\n") == 1 and "Traceback" not in p.stderr
