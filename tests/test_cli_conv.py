"""``ibias fit --model conv``: the JSON fields with the dft-l1 prediction, and bad input (exit 2, one line).

Run in process (``cli.main(argv)``) to keep the test fast; ``main`` is the console entry point."""

import json

import numpy as np
import pytest

from implicit_bias import cli, data
from implicit_bias.theory.linear_conv import dft_l1_max_margin


def run_cli(capsys, *args):
    with pytest.raises(SystemExit) as e:
        cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def _strict(text):
    def bad(c):
        raise ValueError(f"non-strict JSON constant {c}")

    return json.loads(text, parse_constant=bad)


def test_fit_conv_dft_l1_json(tmp_path, capsys):
    ds = data.separable_classification(n=8, d=4, seed=0)
    path = tmp_path / "d4.npz"
    np.savez(path, X=ds.X, y=ds.y)
    code, out, err = run_cli(capsys, "fit", path, "--model", "conv", "--depth", "2", "--scale", "1e-3", "--loss", "exponential", "--algorithm", "loss-scaled-gd",
                             "--lr", "0.1", "--stop-accuracy", "50", "--predict", "dft-l1", "--json")  # fmt: skip
    assert code == 0, err
    r = _strict(out)
    assert r["status"] == "converged" and r["model"] == "conv" and r["final"]["training_accuracy"] >= 50
    assert sorted(r["params"]) == ["w1", "w2"]
    # the predictor is beta: the DFT of beta is the product of the filters' DFTs
    w1, w2 = (np.array(r["params"][k]) for k in ("w1", "w2"))
    beta = np.array(r["predictor"])
    np.testing.assert_allclose(np.fft.fft(beta, norm="ortho"), np.fft.fft(w1, norm="ortho") * np.fft.fft(w2, norm="ortho"), atol=1e-9 * np.abs(beta).max())
    (pred,) = r["predictions"]
    assert pred["name"] == "dft-l1" and pred["paper"] == "gunasekar2018"
    np.testing.assert_allclose(pred["predictor"], dft_l1_max_margin(ds.X, ds.y).beta, rtol=1e-9)
    cos = float(beta @ np.array(pred["predictor"]) / np.linalg.norm(beta) / np.linalg.norm(pred["predictor"]))
    assert pred["cosine"] == pytest.approx(cos, rel=1e-9) and cos > 0.9


def test_conv_filters_of_the_wrong_length_exit_2_with_one_line(tmp_path, capsys):
    ds = data.separable_classification(n=6, d=4, seed=0)
    path, init = tmp_path / "d4.npz", tmp_path / "init.npz"
    np.savez(path, X=ds.X, y=ds.y)
    np.savez(init, w1=np.ones(8), w2=np.ones(8))
    code, out, err = run_cli(capsys, "fit", path, "--model", "conv", "--init", init, "--loss", "exponential", "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "filter 'w1' has length 8 but the data have dimension 4" in err and "give filters of length 4" in err
