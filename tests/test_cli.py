"""The CLI through its public contract: flags, JSON fields, exit codes (DESIGN.md)."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import implicit_bias as ib

IBIAS = [sys.executable, "-m", "implicit_bias.cli"]
JAX_CACHE = tempfile.mkdtemp(prefix="ibias-test-jax-cache-")  # per test process: hermetic, and repeated programs compile once


def ibias(*args, check=False, env_extra=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore", IBIAS_COMPILATION_CACHE=JAX_CACHE) | (env_extra or {})
    p = subprocess.run(IBIAS + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_the_program_exits_2_on_bad_input(regression_file):
    path, _ = regression_file
    p = ibias("fit", path, "--model", "linear", "--lr", "-1")
    assert p.returncode == 2 and p.stdout == "" and p.stderr.strip().splitlines() == [p.stderr.strip()] and "--lr" in p.stderr and "Traceback" not in p.stderr


@pytest.fixture(scope="module")
def regression_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    ds = ib.data.random_regression(n=5, d=12, seed=0)
    path = d / "reg.npz"
    np.savez(path, X=ds.X, y=ds.y, X_eval=np.eye(12)[:3])
    return path, ds


@pytest.fixture(scope="module")
def classification_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    ds = ib.data.separable_classification(n=10, d=3, margin=0.2, seed=0)
    path = d / "cls.csv"
    np.savetxt(path, np.column_stack([ds.X, ds.y]), delimiter=",")
    return path, ds


def test_fit_json_contract(regression_file, tmp_path, cli):
    path, ds = regression_file
    w0 = np.linspace(-1, 1, 12)
    np.savez(tmp_path / "init.npz", w=w0)
    p = cli("fit", path, "--model", "linear", "--init", tmp_path / "init.npz", "--algorithm", "gd", "--stop-loss", "1e-20", "--max-steps", "100000", "--predict", "min-distance", "--sharpness", "--json", check=True)
    out = json.loads(p.stdout)  # stdout is exactly one JSON object
    assert set(["status", "final", "predictor", "params", "outputs_eval", "predictions", "diagnostics"]) <= set(out)
    assert out["status"] == "converged"
    assert set(out["final"]) >= {"loss", "log_loss", "training_accuracy", "steps", "time"}
    assert out["final"]["loss"] <= 1e-20 and out["final"]["training_accuracy"] is None
    assert out["final"]["fraction_correct"] is None and out["clock"] is None  # regression; a discrete algorithm
    assert isinstance(out["final"]["steps"], int) and isinstance(out["final"]["time"], float)
    assert list(out["params"]) == ["w"] and len(out["params"]["w"]) == 12
    assert len(out["predictor"]) == 12
    # outputs at X_eval = e_1, e_2, e_3 are the first three predictor entries
    np.testing.assert_allclose(out["outputs_eval"], out["predictor"][:3], rtol=1e-12)
    (pred,) = out["predictions"]
    assert set(pred) >= {"name", "paper", "predictor", "relative_error", "cosine"}
    assert pred["name"] == "min-distance" and pred["paper"] == "montufar2024"
    # independent oracle: the min-distance interpolant from w0 by numpy lstsq
    ref = w0 + np.linalg.lstsq(ds.X, ds.y - ds.X @ w0, rcond=None)[0]
    np.testing.assert_allclose(pred["predictor"], ref, rtol=1e-8)
    assert pred["relative_error"] < 1e-6 and pred["cosine"] > 1 - 1e-10
    # sharpness of the square loss of a linear model = lambda_max(X^T X / N)
    assert out["diagnostics"]["sharpness"] == pytest.approx(np.linalg.eigvalsh(ds.X.T @ ds.X / 5).max(), rel=1e-8)


def test_fit_defaults_work(regression_file, cli):
    path, _ = regression_file
    p = cli("fit", path, "--model", "linear", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["status"] == "converged" and out["final"]["loss"] <= 1e-12 * (1 + 1e-6)


def test_fit_classification_csv_and_margins(classification_file, cli):
    path, ds = classification_file
    p = cli("fit", path, "--loss", "exponential", "--algorithm", "steepest", "--norm", "linf", "--normalize", "--max-steps", "20000", "--stop-accuracy", "1e9", "--predict", "max-margin-linf", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["status"] == "max_steps"
    assert out["final"]["training_accuracy"] > 50
    assert out["predictions"][0]["relative_error"] < 0.05
    # issue 19 item 8: the default step of steepest descent on a linear model is 1/B^2,
    # B = max_n ||x_n||_1 (the dual of linf), and a step past 2/B^2 is warned about
    assert out["lr"] == pytest.approx(1 / np.abs(ds.X).sum(axis=1).max() ** 2, rel=1e-12)
    assert "warning" not in p.stderr
    p = cli("fit", path, "--loss", "exponential", "--algorithm", "steepest", "--norm", "linf", "--normalize", "--lr", "1.0", "--max-steps", "10", "--json", check=True)
    assert p.stderr.count("\n") == 1 and "ibias: warning: --lr 1 is above 2/B^2" in p.stderr and "omit --lr" in p.stderr
    assert json.loads(p.stdout)["lr"] == 1.0


def test_fit_mirror_bregman(tmp_path, cli):
    ds = ib.data.random_regression(n=4, d=10, seed=1, positive=True)
    np.savez(tmp_path / "d.npz", X=ds.X, y=ds.y)
    np.savez(tmp_path / "i.npz", w=np.full(10, 0.7))
    p = cli("fit", tmp_path / "d.npz", "--algorithm", "mirror", "--potential", "entropy", "--init", tmp_path / "i.npz", "--stop-loss", "1e-22", "--max-steps", "500000", "--predict", "bregman", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["status"] == "converged"
    assert out["predictions"][0]["relative_error"] < 1e-6


def test_fit_diagonal_reduced_flow_and_predictions(tmp_path, cli):
    # sparse target, small untied scale: the flow lands on the Q_k interpolant (azulay2021
    # Thm 4.1), closer to min-l1 than to the kernel (NTK-norm) solution
    ds = ib.data.sparse_regression(n=8, d=20, sparsity=2, seed=0)
    np.savez(tmp_path / "d.npz", X=ds.X, y=ds.y)
    common = ["--model", "diagonal", "--untied", "--scale", "1e-3", "--shape", "0.5", "--stop-loss", "1e-20"]
    preds = ["--predict", "diagonal", "--predict", "min-l1", "--predict", "ntk-norm", "--json"]
    out = json.loads(cli("fit", tmp_path / "d.npz", *common, "--algorithm", "reduced", *preds, check=True).stdout)
    assert out["status"] == "converged"
    err = {p["name"]: p["relative_error"] for p in out["predictions"]}
    assert err["diagonal"] < 1e-6 and err["min-l1"] < err["ntk-norm"], err
    assert set(out["params"]) == {"u_plus", "u_minus"}
    # the stiff solver option for parameter-space flow gives the same endpoint
    out2 = json.loads(cli("fit", tmp_path / "d.npz", *common, "--algorithm", "flow", "--solver", "kvaerno5", "--json", check=True).stdout)
    w1, w2 = (np.subtract(*np.prod(np.array([o["params"]["u_plus"], o["params"]["u_minus"]]), axis=1)) for o in (out, out2))
    assert np.linalg.norm(w1 - w2) <= 1e-8 * np.linalg.norm(w1)


def test_fit_classification_to_extreme_accuracy_on_the_accuracy_clock(tmp_path, cli):
    # gamma = -log L = 1e4 in flow time would need t ~ e^1e4: on the accuracy clock the same path
    # is a path of length 1e4 (moroshko2020: the regime of Thm 7 for this small scale)
    ds = ib.data.separable_classification(n=8, d=3, margin=0.2, seed=2)
    np.savez(tmp_path / "c.npz", X=ds.X, y=ds.y)
    args = ["--model", "diagonal", "--scale", "0.1", "--loss", "exponential", "--stop-accuracy", "1e4", "--max-steps", "200000", "--json"]
    out = json.loads(cli("fit", tmp_path / "c.npz", *args, "--algorithm", "reduced", "--clock", "accuracy", check=True).stdout)
    assert out["status"] == "converged" and out["final"]["training_accuracy"] == pytest.approx(1e4, rel=1e-9)
    assert out["final"]["log_loss"] == pytest.approx(-1e4, rel=1e-9)


def test_fit_fc_and_relu_models(tmp_path, cli):
    # one hidden linear neuron (azulay2021 §7.2 scale/shape) on N < d data: an interpolant, with
    # the DESIGN.md parameter names; a shallow ReLU net with the uniform init of montufar2024 Thm 6
    ds = ib.data.random_regression(n=3, d=5, seed=0)
    np.savez(tmp_path / "r.npz", X=ds.X, y=ds.y)
    out = json.loads(cli("fit", tmp_path / "r.npz", "--model", "fc", "--widths", "1", "--scale", "0.5", "--shape", "0.2", "--stop-loss", "1e-16", "--json", check=True).stdout)
    assert out["status"] == "converged" and set(out["params"]) == {"W1", "W2"}
    w = np.asarray(out["params"]["W2"])[0, 0] * np.asarray(out["params"]["W1"])[0]
    np.testing.assert_allclose(ds.X @ w, ds.y, atol=1e-6)
    np.testing.assert_allclose(out["predictor"], w, rtol=1e-12)
    # the q_delta family of predictions (azulay2021 Thm 6.1, Thm 6.3, §7.2) against this run
    args = ["--model", "fc", "--widths", "1", "--scale", "0.5", "--shape", "0.2", "--algorithm", "flow", "--stop-loss", "1e-20"]
    out = json.loads(cli("fit", tmp_path / "r.npz", *args, "--predict", "q-delta", "--predict", "min-l2", "--predict", "fc-ntk", "--json", check=True).stdout)
    err = {p["name"]: p["relative_error"] for p in out["predictions"]}
    assert err["q-delta"] < 1e-7 and err["min-l2"] > 1e-3 and err["fc-ntk"] > 1e-3, err
    p = cli("fit", tmp_path / "r.npz", "--model", "diagonal", "--predict", "q-delta")
    assert p.returncode == 2 and "single linear neuron" in p.stderr and "Traceback" not in p.stderr
    x = np.linspace(-1, 1, 6)[:, None]
    np.savez(tmp_path / "u.npz", X=x, y=np.sin(2 * x[:, 0]))
    args = ["--model", "relu", "--width", "16", "--skip", "--init", "uniform", "--a-b", "2", "--algorithm", "gd", "--lr", "0.02", "--max-steps", "50", "--json"]
    out = json.loads(cli("fit", tmp_path / "u.npz", *args, check=True).stdout)
    assert set(out["params"]) == {"w1", "b1", "w2", "b2", "skip"} and out["predictor"] is None
    assert np.shape(out["params"]["w1"]) == (16, 1) and out["final"]["steps"] == 50


def test_width_scaled_gd_with_antisymmetric_init_reaches_the_natural_spline(tmp_path, cli):
    # issue 19 item 16: the jin-montufar2023 setting from the command line. Uniform (sqrt 3, sqrt 3)
    # init (zeta constant on [-1, 1], Thm 6.3), antisymmetric (f(., theta_0) = 0), skip connection,
    # GD with step eta_bar/n and the affine part eliminated: Thm 5's limit is the natural cubic spline
    from implicit_bias.experiments.splines import spline_data, train_nets
    from implicit_bias.models import ShallowReLU
    from implicit_bias.theory import stable_eta_bar

    ds = spline_data(6, target="sin3")
    np.savez(tmp_path / "s.npz", X=ds.X, y=ds.y)
    a = str(3**0.5)
    flags = ["--model", "relu", "--width", "64", "--skip", "--init", "uniform", "--a-w", a, "--a-b", a, "--antisymmetric", "--algorithm", "width-scaled-gd"]
    p = cli("fit", tmp_path / "s.npz", *flags, "--stop-loss", "1e-11", "--max-steps", "20000", "--predict", "natural-spline", "--predict", "weighted-spline", "--json", check=True)
    out = json.loads(p.stdout)
    m = ShallowReLU(64, skip=True, init_dist="uniform", a_w=3**0.5, a_b=3**0.5, antisymmetric=True)
    eta_bar = stable_eta_bar(ds.X[:, 0], m, projected=True, fraction=0.8)  # the default --lr: 0.8 M / lambda_max(P K P)
    assert out["status"] == "converged" and out["lr"] == pytest.approx(eta_bar, rel=1e-12) and out["final"]["time"] == out["final"]["steps"]
    nat, gstar = out["predictions"]
    assert nat["name"] == "natural-spline" and len(nat["predictor"]) == 801 and nat["eval_points"] == "grid 801 on [-1, 1]"
    # constant zeta and f0 = 0: g* of eq. (5) is the natural spline (to the spline solver's round-off)
    assert abs(nat["l2_error"] - gstar["l2_error"]) < 1e-9
    # Thm 5's n^{-1/2} error at n = 64: 0.052-0.10 over seeds 0-7 (RMS 0.077; 0.026-0.052 at n = 256)
    assert nat["l2_error"] < 0.15 and nat["relative_error"] < 0.2
    # the experiments' helper (experiments.splines.train_nets) from the same init gives the same net
    p0 = m.init(__import__("jax").random.fold_in(__import__("jax").random.key(0), 0))
    params, runs = train_nets(ds, [dict(p0)], out["lr"], loss=1e-11, max_steps=20_000, pad_to=None)
    assert runs[0].steps == out["final"]["steps"]
    for k in ("w1", "b1", "w2", "b2", "skip"):
        np.testing.assert_allclose(np.asarray(out["params"][k]), params[0][k], rtol=1e-8, atol=1e-10, err_msg=k)


def test_list_predictions_and_list(cli):
    p = cli("fit", "--list-predictions", check=True)
    assert "min-distance" in p.stdout and "max-margin-l1" in p.stdout
    p = cli("list", check=True)
    lines = p.stdout.strip().splitlines()
    assert any(l.split()[0] == "montufar2024-thm1-min-distance" for l in lines)
    for l in lines:
        parts = l.split()
        assert parts[1] in ("check", "figure")


@pytest.mark.parametrize(
    "args,fragment",
    [
        (["fit", "missing.npz"], "does not exist"),
        (["fit", "{reg}", "--model", "resnet"], "--model"),
        (["fit", "{reg}", "--algorithm", "adam"], "--algorithm"),
        (["fit", "{reg}", "--loss", "hinge"], "unknown loss"),
        (["fit", "{reg}", "--loss", "logistic"], "labels"),
        (["fit", "{reg}", "--predict", "nope"], "unknown prediction"),
        (["fit", "{reg}", "--predict", "max-margin-l2"], "classification"),
        (["fit", "{reg}", "--lr", "-1", "--algorithm", "gd"], "--lr"),
        (["fit", "{reg}", "--algorithm", "mirror", "--potential", "weird"], "unknown potential"),
        (["fit", "{reg}", "--algorithm", "steepest", "--norm", "l7"], "unknown norm"),
        (["fit", "{reg}", "--init", "{bad_init}"], "shape"),
        (["fit", "{nan}"], "NaN"),
        (["fit", "{shape}"], "y has"),
        (["fit", "{xor}", "--loss", "logistic", "--predict", "max-margin-l2", "--max-steps", "10", "--algorithm", "gd"], "not linearly separable"),
        (["fit", "{reg}", "--max-steps", "abc"], "max-steps"),
        (["fit", "{reg}", "--no-such-flag"], "no-such-flag"),
        (["fit", "{reg}", "--solver", "euler9"], "--solver"),
        (["fit", "{reg}", "--solver", "tsit5", "--algorithm", "gd"], "--solver applies"),
        (["fit", "{reg}", "--clock", "wall"], "--clock"),
        (["fit", "{reg}", "--model", "fc", "--widths", "3,x"], "--widths"),
        (["fit", "{reg}", "--model", "fc", "--widths", "0"], "--widths"),
        (["fit", "{reg}", "--model", "neuron", "--activation", "tanhh"], "--activation"),
        (["fit", "{reg}", "--activation", "relu"], "--activation applies"),
        (["fit", "{reg}", "--model", "relu", "--init", "breakpoints"], "breakpoint density"),
        (["fit", "{reg}", "--model", "relu", "--width", "0"], "--width"),
        (["fit", "{reg}", "--clock", "accuracy", "--algorithm", "gd"], "--clock applies"),
        (["fit", "{reg}", "--model", "diagonal", "--untied", "--depth", "3", "--algorithm", "reduced"], "closed form"),
        (["fit", "{reg}", "--predict", "diagonal"], "diagonal networks"),
        (["fit", "{reg}", "--stop-accuracy", "-3"], "--stop-accuracy must be a finite number > 0 (a training accuracy -log L, e.g. 20); received -3"),
        (["fit", "{reg}", "--stop-loss", "0"], "received 0"),
        (["fit", "{hdr}"], "line 1 has a non-numeric value 'x'"),
        (["fit", "{reg}", "--model", "diagonal", "--scale", "0"], "--scale must be > 0 for --model diagonal (u(0) = scale); received 0"),
        (["fit", "{tiny}"], "the default --stop-loss 1e-12 is above the loss of the zero predictor"),
        (["run", "no-such-experiment"], "unknown experiment id"),
        (["verify", "--only", "zzz-nothing"], "no experiment matches"),
        (["run", "x", "--profile", "huge"], "profile"),
        (["fit", "{reg}", "--algorithm", "label-noise-sgd", "--lr", "0.01"], "needs a noise level"),
        (["fit", "{reg}", "--algorithm", "param-noise-gd", "--lr", "0.01", "--noise", "-1"], "noise must be a finite number >= 0"),
        (["fit", "{reg}", "--objective", "igr"], "needs the step size"),
        (["fit", "{reg}", "--objective", "igr", "--algorithm", "gd", "--lr", "0.1"], "applies to flow, not gd"),
        (["fit", "{reg}", "--objective", "modified"], "--objective 'modified' is not available"),
        (["fit", "{reg}", "--model", "diagonal", "--algorithm", "sgd", "--predict", "effective-init"], "use --algorithm gd, not sgd"),
        (["fit", "{reg}", "--algorithm", "sgd", "--lr", "0.01", "--sampling", "cyclic"], "sampling"),
        (["fit", "{reg}", "--algorithm", "gd", "--lr", "0.01", "--sampling", "reshuffle"], "sampling applies to sgd, not gd"),
        (["fit", "{reg}", "--model", "diagonal", "--depth", "3", "--algorithm", "gd", "--predict", "effective-init"], "tied depth-2 diagonal"),
        (["fit", "{reg}", "--model", "linear", "--algorithm", "gd", "--predict", "effective-init"], "tied depth-2 diagonal"),
        (["fit", "{reg}", "--antisymmetric"], "--antisymmetric (paired hidden units, f(., theta_0) = 0) applies to --model relu, not linear"),
        (["fit", "{reg}", "--model", "relu", "--width", "7", "--antisymmetric"], "--width must be even; received 7"),
        (["fit", "{reg}", "--algorithm", "width-scaled-gd"], "width-scaled-gd trains --model relu --skip"),
        (["fit", "{reg}", "--model", "relu", "--algorithm", "width-scaled-gd"], "without --skip"),
        (["fit", "{reg}", "--model", "relu", "--skip", "--algorithm", "width-scaled-gd"], "points by itself"),  # d = 12, M = 5: the free affine part fits them (issue 24: d >= 2 trains)
        (["fit", "{reg}", "--algorithm", "gd", "--affine", "exact"], "--affine applies to --algorithm width-scaled-gd, not gd"),
        (["fit", "{reg}", "--predict", "natural-spline", "--max-steps", "1"], "univariate"),
    ],
)
def test_user_errors_are_one_line_exit_2(args, fragment, tmp_path, regression_file, cli):
    path, _ = regression_file
    np.savez(tmp_path / "bad_init.npz", w=np.ones(3))
    np.savez(tmp_path / "nan.npz", X=np.array([[1.0, np.nan]]), y=np.ones(1))
    np.savez(tmp_path / "shape.npz", X=np.ones((3, 2)), y=np.ones(2))
    np.savez(tmp_path / "xor.npz", X=np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]), y=np.array([1.0, 1.0, -1.0, -1.0]))
    (tmp_path / "hdr.csv").write_text("1,2,x\n3,4,5\n6,7,8\n1,1,2\n")
    np.savez(tmp_path / "tiny.npz", X=np.eye(3, 4) * 1e-300, y=np.array([1e-300, -2e-300, 3e-300]))
    subs = {"{tiny}": tmp_path / "tiny.npz", "{hdr}": tmp_path / "hdr.csv", "{reg}": path, "{bad_init}": tmp_path / "bad_init.npz", "{nan}": tmp_path / "nan.npz", "{shape}": tmp_path / "shape.npz", "{xor}": tmp_path / "xor.npz"}
    p = cli(*[subs.get(a, a) for a in args])
    assert p.returncode == 2, (p.stdout, p.stderr)
    err = p.stderr.strip().splitlines()
    assert len(err) == 1, p.stderr
    assert "Traceback" not in p.stderr
    assert fragment.lower() in err[0].lower()
    assert p.stdout == ""


def test_a_flow_toward_an_accuracy_target_reaches_it_by_default(classification_file, cli):
    # issue 19 item 6: on the time clock L falls like 1/t and -log L >= 128 needs t ~ e^128 (it ended
    # at max_steps near gamma 35); --clock auto, the default, runs the flow on gamma = -log L
    path, ds = classification_file
    p = cli("fit", path, "--model", "diagonal", "--depth", "2", "--scale", "8", "--loss", "exponential", "--algorithm", "flow", "--stop-accuracy", "128", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["status"] == "converged" and out["clock"] == "accuracy"
    assert out["final"]["training_accuracy"] >= 128 - 1e-9 and out["final"]["steps"] < 20_000
    # fraction_correct, recomputed from the predictor: the share of signs y <w, x> > 0 (here every one:
    # L <= e^-128 leaves no margin negative)
    w = np.array(out["predictor"])
    assert out["final"]["fraction_correct"] == np.mean(np.sign(ds.X @ w) == ds.y) == 1.0
    # an explicit clock is kept
    p = cli("fit", path, "--model", "linear", "--loss", "exponential", "--clock", "time", "--stop-accuracy", "5", "--json", check=True)
    assert json.loads(p.stdout)["clock"] == "time"


def test_igr_flow_keeps_the_min_distance_bias_of_linear_regression(regression_file, cli):
    # the modified loss L + (lr/4)||grad L||^2 of a linear model moves w in the row space of X only
    # (its gradient is (I + (lr/2) H) H (w - w*) with H = X^T X / N), so its flow interpolates at the
    # same min-distance point as the flow of L: the pinv route must agree
    path, ds = regression_file
    p = cli("fit", path, "--model", "linear", "--objective", "igr", "--lr", "0.5", "--stop-loss", "1e-24", "--predict", "min-distance", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["status"] == "converged"
    (pred,) = out["predictions"]
    np.testing.assert_allclose(out["predictor"], np.linalg.pinv(ds.X) @ ds.y, atol=1e-9)
    assert pred["relative_error"] < 1e-9


def test_diverging_gd_is_reported_as_status(regression_file, cli):
    path, ds = regression_file
    p = cli("fit", path, "--algorithm", "gd", "--lr", "1000", "--json", check=True)
    out = json.loads(p.stdout)
    assert out["status"] == "diverged"
    assert all(np.isfinite(out["predictor"]))


def test_run_writes_the_four_files(tmp_path, cli):
    p = cli("run", "montufar2024-thm1-min-distance", "--out", tmp_path, "--quiet")
    assert p.returncode == 0, p.stderr
    for ext in ("png", "svg", "nc", "json"):
        assert (tmp_path / f"montufar2024-thm1-min-distance.{ext}").exists()
    meta = json.loads((tmp_path / "montufar2024-thm1-min-distance.json").read_text())
    assert meta["passed"] and len(meta["checks"]) == 3


def test_compilation_cache_is_on_disk_and_can_be_switched_off(regression_file, tmp_path):
    path, _ = regression_file
    on, off = tmp_path / "on", tmp_path / "off"
    args = ("fit", path, "--model", "linear", "--algorithm", "gd", "--lr", "0.1", "--stop-loss", "1e-8", "--json")
    first = ibias(*args, check=True, env_extra={"IBIAS_COMPILATION_CACHE": str(on)})
    assert any(f.name.endswith("-cache") for f in on.iterdir())
    again = ibias(*args, check=True, env_extra={"IBIAS_COMPILATION_CACHE": str(on)})  # served from the cache: same numbers
    a, b = json.loads(again.stdout), json.loads(first.stdout)
    assert {k: v for k, v in a.items() if k != "wall_time"} == {k: v for k, v in b.items() if k != "wall_time"}
    ibias(*args, check=True, env_extra={"IBIAS_COMPILATION_CACHE": "0", "XDG_CACHE_HOME": str(off)})
    assert not off.exists()


def test_fit_relu_with_the_relu_power_activation(tmp_path, cli):
    # --model relu --activation relu_power:2: ShallowReLU with [x]_+^2 (montufar2024 Thm 9), same
    # parameter names; the reported loss is that of the [x]_+^2 net at the returned parameters
    from implicit_bias.univariate import evaluate_power_net

    x = np.linspace(-1, 1, 6)[:, None]
    y = np.sin(2 * x[:, 0])
    np.savez(tmp_path / "u.npz", X=x, y=y)
    args = ["--model", "relu", "--activation", "relu_power:2", "--width", "16", "--skip", "--algorithm", "gd", "--lr", "0.02", "--max-steps", "50", "--json"]
    out = json.loads(cli("fit", tmp_path / "u.npz", *args, check=True).stdout)
    assert set(out["params"]) == {"w1", "b1", "w2", "b2", "skip"} and out["predictor"] is None
    assert np.shape(out["params"]["w1"]) == (16, 1) and out["final"]["steps"] == 50
    p = {k: np.asarray(v, dtype=np.float64) for k, v in out["params"].items()}
    loss2 = 0.5 * np.mean((evaluate_power_net(p, x, 2) - y) ** 2)
    loss1 = 0.5 * np.mean((evaluate_power_net(p, x, 1) - y) ** 2)
    assert out["final"]["loss"] == pytest.approx(loss2, rel=1e-9)
    assert abs(loss1 - loss2) > 1e-3 * loss2  # not the ReLU net's loss


@pytest.mark.parametrize(
    "args, fragment",
    [
        # an activation without a known Green's operator L (no Thm 9 prediction exists for it)
        (["--model", "relu", "--activation", "tanh"], "--activation 'tanh' has no known Green's operator for --model relu"),
        (["--model", "relu", "--activation", "relu_power:0"], "use relu or relu_power:k with k in 1..8"),
        (["--model", "fc", "--activation", "relu_power:2"], "--activation 'relu_power:2' is not available"),
        (["--model", "diagonal", "--activation", "relu_power:2"], "--activation applies to --model fc, neuron, mlp or relu"),
        # dimension mismatches: an init for d = 2 on d = 1 data; X_eval with another number of columns
        (["--model", "relu", "--width", "16", "--skip", "--init", "{w2d}"], "parameter 'w1' has shape (16, 2); ShallowReLU expects (16, 1)"),
        (["--model", "relu", "--activation", "relu_power:2", "{ev}"], "X_eval has 2 columns but X has 1"),
    ],
)
def test_relu_activation_and_dimension_errors_are_one_line_exit_2(args, fragment, tmp_path, cli):
    x = np.linspace(-1, 1, 6)[:, None]
    np.savez(tmp_path / "u.npz", X=x, y=np.sin(2 * x[:, 0]))
    np.savez(tmp_path / "ev.npz", X=x, y=np.sin(2 * x[:, 0]), X_eval=np.ones((3, 2)))
    np.savez(tmp_path / "w2d.npz", w1=np.ones((16, 2)), b1=np.zeros(16), w2=np.zeros(16), b2=np.asarray(0.0), skip=np.zeros(2))
    data = tmp_path / ("ev.npz" if "{ev}" in args else "u.npz")
    subs = {"{w2d}": tmp_path / "w2d.npz"}
    p = cli("fit", data, *[subs.get(a, a) for a in args if a != "{ev}"], "--max-steps", "2", "--algorithm", "gd", "--lr", "0.01")
    assert p.returncode == 2, (p.stdout, p.stderr)
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in p.stderr, p.stderr
    assert fragment in err[0], err[0]
# ------------------------------------------------------------ fit: homogeneous models (issue 22)


@pytest.fixture(scope="module")
def homogeneous_files(tmp_path_factory):
    """Binary 2-D data separable along (1, 1/2) (labels -1/+1, X_eval) and 3-class data (labels 0..2)."""
    d = tmp_path_factory.mktemp("hom")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, 1.0, -1.0)
    X = X + 0.5 * y[:, None] * np.array([1.0, 0.5])
    np.savez(d / "bin.npz", X=X, y=y, X_eval=X[:4])
    centers = np.array([[3.0, 0.0], [-1.5, 2.6], [-1.5, -2.6]])
    lab = np.repeat(np.arange(3), 4)
    Xm = centers[lab] + 0.3 * rng.normal(size=(12, 2))
    np.savez(d / "multi.npz", X=Xm, y=lab.astype(float), X_eval=Xm[:2])
    np.savez(d / "multi_bad.npz", X=Xm, y=np.where(lab == 2, 3, lab).astype(float))
    np.savez(d / "conflict.npz", X=np.vstack([X, X[:1]]), y=np.append(y, -y[0]))  # a point repeated with the other label
    np.savez(d / "xor.npz", X=np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]), y=np.array([1.0, 1.0, -1.0, -1.0]))
    return d, (X, y), (Xm, lab)


def test_fit_mlp_kkt_json(homogeneous_files, cli):
    d, (X, y), _ = homogeneous_files
    p = cli("fit", d / "bin.npz", "--model", "mlp", "--widths", "20", "--activation", "relu", "--bias", "first", "--loss", "logistic",
              "--algorithm", "loss-scaled-gd", "--stop-accuracy", "300", "--kkt", "--json", check=True)  # fmt: skip
    out = json.loads(p.stdout)
    assert out["status"] == "converged" and out["final"]["training_accuracy"] >= 300
    assert sorted(out["params"]) == ["W1", "W2", "b1"] and out["predictor"] is None
    W1, b1, W2 = (np.asarray(out["params"][k]) for k in ("W1", "b1", "W2"))
    assert W1.shape == (20, 2) and b1.shape == (20,) and W2.shape == (1, 20)
    # independent route (numpy): f(x) = W2 relu(W1 x + b1), degree D = 2
    f = np.maximum(X @ W1.T + b1, 0.0) @ W2[0]
    np.testing.assert_allclose(out["outputs_eval"], f[:4], rtol=1e-10)
    rho2 = np.sum(W1**2) + np.sum(b1**2) + np.sum(W2**2)
    diag = out["diagnostics"]
    assert set(diag) >= {"sharpness", "normalized_margin", "smoothed_margin", "kkt_residual", "alignment"}
    assert diag["normalized_margin"] == pytest.approx(np.min(y * f) / rho2, rel=1e-9)
    # Lyu & Li's smoothed margin with N L = e^{log N + log L} << 1: l^{-1}(N L) = -log(N L) - O(N L)
    assert diag["smoothed_margin"] == pytest.approx(-(np.log(12) + out["final"]["log_loss"]) / rho2, rel=1e-9)
    assert diag["smoothed_margin"] <= diag["normalized_margin"]
    # plain alignment 1 - cos(θ, -∇ log L) by hand: w_n ∝ e^{-q_n} (logistic tail), ∇q_n by the chain rule
    q = y * f
    w = np.exp(-(q - q.min()))
    act = (X @ W1.T + b1 > 0).astype(float)  # (N, 20)
    g_W2 = (w * y) @ np.maximum(X @ W1.T + b1, 0.0)
    g_b1 = (w * y) @ (act * W2[0])
    g_W1 = ((w * y)[:, None] * act * W2[0]).T @ X
    g = np.concatenate([g_W1.ravel(), g_W2, g_b1])
    th = np.concatenate([W1.ravel(), W2[0], b1])
    plain = 1 - g @ th / (np.linalg.norm(g) * np.linalg.norm(th))
    assert 0 <= diag["alignment"] <= plain + 1e-9 and plain < 0.05  # the reported value is the Clarke one (<= plain)
    assert 0 <= diag["kkt_residual"] <= diag["kkt_residual_plain"] < 1


def test_fit_mlp_multiclass_cross_entropy(homogeneous_files, cli):
    d, _, (Xm, lab) = homogeneous_files
    p = cli("fit", d / "multi.npz", "--model", "mlp", "--widths", "8", "--outputs", "3", "--loss", "cross-entropy", "--algorithm", "gd", "--lr", "0.5",
              "--stop-accuracy", "5", "--json", check=True)  # fmt: skip
    out = json.loads(p.stdout)
    assert out["status"] == "converged" and out["loss"] == "cross-entropy"
    W1, b1, W2 = (np.asarray(out["params"][k]) for k in ("W1", "b1", "W2"))
    assert W2.shape == (3, 8)
    logits = np.maximum(Xm @ W1.T + b1, 0.0) @ W2.T
    np.testing.assert_allclose(out["outputs_eval"], logits[:2], rtol=1e-10)
    assert np.all(np.argmax(logits, axis=1) == lab)  # -log L >= 5 means every point is classified
    assert all(out["diagnostics"][k] is None for k in ("normalized_margin", "smoothed_margin", "kkt_residual", "alignment"))  # no --kkt


@pytest.mark.parametrize(
    "file, extra, fragment",
    [
        ("bin.npz", ["--bias", "all", "--kkt"], "not homogeneous"),
        ("bin.npz", ["--loss", "square", "--kkt"], "--kkt needs binary labels"),
        ("multi_bad.npz", ["--outputs", "3", "--loss", "cross-entropy"], "labels y must be integers in 0..2"),
        ("bin.npz", ["--outputs", "3", "--loss", "logistic"], "--outputs 3 needs --loss cross-entropy"),
        ("bin.npz", ["--bias", "sometimes"], "--bias 'sometimes' is not available"),
        ("conflict.npz", ["--kkt"], "rows 0 and 12 of X are equal with labels"),
    ],
)
def test_fit_homogeneous_bad_input(homogeneous_files, file, extra, fragment, cli):
    d, _, _ = homogeneous_files
    p = cli("fit", d / file, "--model", "mlp", "--widths", "4", "--algorithm", "loss-scaled-gd", "--lr", "0.1", *extra, "--json")
    assert p.returncode == 2, (p.stdout, p.stderr)
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in p.stderr, p.stderr
    assert fragment.lower() in err[0].lower()
    assert p.stdout == ""
@pytest.mark.parametrize("model", ["diagonal", "linear"])
def test_fit_kkt_refuses_labels_no_linear_predictor_separates(homogeneous_files, model, cli):
    # XOR: y_n <x_n, w> >= 1 has no solution (points 0 and 1 force w1 + w2 >= 1 and <= -1), and
    # these models are linear in x; the separable file passes the same test (no refusal)
    d, _, _ = homogeneous_files
    p = cli("fit", d / "xor.npz", "--model", model, "--loss", "logistic", "--kkt", "--json")
    assert p.returncode == 2 and p.stdout == "", (p.stdout, p.stderr)
    err = p.stderr.strip().splitlines()
    assert len(err) == 1 and "no linear predictor separates these 4 points" in err[0], p.stderr
    ok = cli("fit", d / "bin.npz", "--model", model, "--loss", "logistic", "--kkt", "--max-steps", "5", "--json")
    assert ok.returncode == 0, ok.stderr


def _strict_json(text):
    def refuse(token):
        raise AssertionError(f"non-JSON token {token} in --json output")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("scale", ["1e160", "1e200"])
def test_fit_overflow_at_initialization_is_diverged_never_converged(regression_file, scale, cli):
    path, _ = regression_file
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the status says it: no numpy overflow warning on the terminal
        p = cli("fit", path, "--model", "diagonal", "--scale", scale, "--json", "--max-steps", "1000")
    assert p.returncode == 0 and p.stderr == "", p.stderr
    out = _strict_json(p.stdout)  # strict JSON: no NaN / Infinity tokens
    assert out["status"] == "diverged", out["message"]
    assert "overflow" in out["message"]
    assert out["final"]["loss"] is None and out["final"]["log_loss"] is None


def test_a_closed_pipe_exits_quietly_and_the_cli_uses_public_typer_api():
    env = dict(os.environ, PYTHONWARNINGS="ignore", IBIAS_COMPILATION_CACHE=JAX_CACHE)
    cmd = " ".join(IBIAS + ["list"]) + " | head -1"
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True, text=True, env=env, timeout=300)
    # quiet: no BrokenPipe / AttributeError traceback (exit 0, or 1 when click's own EPIPE handler sees it first)
    assert p.returncode in (0, 1) and p.stderr == "", p.stderr
    assert len(p.stdout.splitlines()) == 1
    src = open(ib.cli.__file__).read() if hasattr(ib, "cli") else open(os.path.join(os.path.dirname(ib.__file__), "cli.py")).read()
    assert "typer._click" not in src and "from click" not in src


def test_verify_jobs_must_be_positive(cli):
    p = cli("verify", "--only", "montufar2024-thm1-min-distance", "--jobs", "0")
    assert p.returncode == 2 and "--jobs must be >= 1" in p.stderr and "Traceback" not in p.stderr


def _verify_outputs(folder, stdout):
    """What `ibias verify` leaves: the JSON files (but wall_time), the data files, the table (but its time column)."""
    import xarray as xr

    out = {}
    for f in sorted(folder.glob("*.json")):
        meta = json.loads(f.read_text())
        meta.pop("wall_time")
        with xr.open_dataset(f.with_suffix(".nc")) as ds:
            out[f.stem] = (meta, ds.load())
    table = [row.rsplit("│", 2)[0] for row in stdout.splitlines()]  # the last column is the time
    return out, table


@pytest.mark.slow  # two verify runs of two experiments (~20 s on a quiet machine)
def test_verify_in_two_processes_gives_what_one_gives(tmp_path):
    runs = {j: ibias("verify", "--only", "jin-montufar2023-zeta", "--out", tmp_path / j, "--jobs", j, "--quiet") for j in ("1", "2")}
    (files1, table1), (files2, table2) = (_verify_outputs(tmp_path / j, runs[j].stdout) for j in ("1", "2"))
    assert runs["1"].returncode == runs["2"].returncode == 0, runs["2"].stderr
    assert set(files1) == set(files2) == {"jin-montufar2023-zeta", "jin-montufar2023-zeta-closed-forms"}
    for k in files1:
        assert files1[k][0] == files2[k][0]  # checks, statuses, numbers: identical
        assert files1[k][1].identical(files2[k][1])  # the data, bit for bit
    assert table1 == table2 and any("jin-montufar2023-zeta-closed-forms" in row for row in table1)  # same rows, registry order


def test_gd_on_a_diagonal_net_reaches_its_effective_init_interpolant_and_reports_test_error(tmp_path, cli):
    # issue 23: --predict effective-init (even2023 Thm 1, exact discrete form: the interpolant at
    # the effective initialization from the run's gain sums) holds for a large step where the
    # gradient-flow prediction of the same init ('diagonal') is off by the step's bias;
    # test_error is the held-out mean squared error, recomputed here from the predictor
    ds = ib.data.sparse_regression(n=10, d=16, sparsity=2, noise_var=0.0, seed=0)
    te = ib.data.sparse_regression(n=30, d=16, sparsity=2, noise_var=0.0, seed=1)
    np.savez(tmp_path / "d.npz", X=ds.X, y=ds.y, X_test=te.X, y_test=te.y)
    p = cli("fit", tmp_path / "d.npz", "--model", "diagonal", "--scale", "0.1", "--algorithm", "gd", "--lr", "0.15", "--stop-loss", "1e-22", "--max-steps", "200000",
              "--predict", "effective-init", "--predict", "diagonal", "--json", check=True)
    out = json.loads(p.stdout)
    err = {q["name"]: q["relative_error"] for q in out["predictions"]}
    assert out["status"] == "converged"
    assert err["effective-init"] < 1e-8 and err["diagonal"] > 1e-4, err
    w = np.asarray(out["predictor"])
    assert out["test_error"] == pytest.approx(np.mean((te.X @ w - te.y) ** 2), rel=1e-12)


def test_sgd_with_random_reshuffling_keeps_the_min_distance_bias(regression_file, cli):
    # montufar2024 Thm 1 holds for any batch order: the iterates stay in w0 + rowspace(X)
    path, ds = regression_file
    p = cli("fit", path, "--algorithm", "sgd", "--sampling", "reshuffle", "--batch-size", "2", "--lr", "0.05", "--stop-loss", "1e-20", "--max-steps", "400000", "--predict", "min-distance", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "converged"
    np.testing.assert_allclose(out["predictor"], np.linalg.pinv(ds.X) @ ds.y, atol=1e-8)


# ------------------------------------------------------------- --predict auto (issue 19 item 19)


def test_predict_auto_runs_what_applies_and_says_why_the_others_do_not(regression_file, cli):
    path, ds = regression_file
    p = cli("fit", path, "--model", "linear", "--algorithm", "gd", "--predict", "auto", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "converged" and [q["name"] for q in out["predictions"]] == ["min-distance"]
    w_pinv = np.linalg.pinv(ds.X) @ ds.y  # GD from w0 = 0: the min-norm interpolant, by numpy
    np.testing.assert_allclose(out["predictions"][0]["predictor"], w_pinv, rtol=1e-8, atol=1e-10)
    assert out["predictions"][0]["relative_error"] < 1e-5
    skipped = {s["name"]: s["reason"] for s in out["predictions_skipped"]}
    assert len(skipped) == len(ib.theory.PREDICTIONS) - 1 and all(r.startswith("needs ") for r in skipped.values())
    assert "--algorithm mirror" in skipped["bregman"] and "classification data" in skipped["max-margin-l2"]
    assert "--model diagonal" in skipped["diagonal"] and "--model factorization" in skipped["min-nuclear"]
    # an explicit name beside auto is compared once, not skipped
    p = cli("fit", path, "--model", "linear", "--algorithm", "gd", "--predict", "min-l2", "--predict", "auto", "--json")
    out = json.loads(p.stdout)
    assert [q["name"] for q in out["predictions"]] == ["min-l2", "min-distance"]
    assert "min-l2" not in {s["name"] for s in out["predictions_skipped"]}
    # without auto the field is an empty list
    p = cli("fit", path, "--model", "linear", "--algorithm", "gd", "--predict", "min-distance", "--json")
    assert json.loads(p.stdout)["predictions_skipped"] == []


def test_predict_auto_on_a_run_that_did_not_converge_compares_nothing(regression_file, cli):
    path, _ = regression_file
    p = cli("fit", path, "--model", "linear", "--algorithm", "gd", "--max-steps", "3", "--predict", "auto", "--json")
    out = json.loads(p.stdout)
    assert out["status"] == "max_steps" and out["predictions"] == []
    reasons = {s["name"]: s["reason"] for s in out["predictions_skipped"]}
    assert reasons["min-distance"].endswith("this run ended max_steps") and len(reasons) == len(ib.theory.PREDICTIONS)


def test_predict_auto_on_matrix_data_skips_a_prediction_the_data_do_not_allow(tmp_path, cli):
    from implicit_bias import matrix_data as md

    d = md.matrix_sensing((3, 3), 1, 4, seed=0)  # Gaussian sensing matrices: the commuting-limit theorem does not cover them
    path = tmp_path / "s.npz"
    np.savez(path, A=d.A, y=d.y)
    p = cli("fit", path, "--model", "factorization", "--symmetric", "--scale", "0.5", "--algorithm", "flow", "--predict", "auto", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["status"] == "converged"
    assert {q["name"] for q in out["predictions"]} == {"min-nuclear", "min-nuclear-psd", "min-frobenius"}
    reasons = {s["name"]: s["reason"] for s in out["predictions_skipped"]}
    assert "commut" in reasons["commuting-limit"] and reasons["min-l1"].startswith("needs a diagonal")


def test_list_predictions_shows_each_predictions_assumptions(cli):
    p = cli("fit", "--list-predictions")
    lines = p.stdout.splitlines()
    assumes = [l for l in lines if l.strip().startswith("assumes:")]
    assert p.returncode in (0, None) and len(assumes) == len(ib.theory.PREDICTIONS)
    i = next(k for k, l in enumerate(lines) if l.startswith("q-delta "))
    assert "single hidden linear neuron" in lines[i + 1] and "delta" in lines[i + 1] and lines[i + 1].rstrip().endswith("a converged run")
