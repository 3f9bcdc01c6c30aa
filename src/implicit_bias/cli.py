"""``ibias``: the command line of implicit-bias.

Commands: ``list``, ``run``, ``verify``, ``fit``. Every user error prints one line
``ibias: error: ...`` naming the problem and the fix, and exits with code 2; nothing prints a
traceback.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from enum import Enum
from typing import Optional

import numpy as np
import typer

from ._json import dumps
from ._names import ALGORITHM_NAMES, FLOW_NAMES, MATRIX_MODEL_NAMES, MODEL_NAMES, RELU_INITS

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="implicit-bias: which zero-loss solution does gradient-based training find, and does the theory predict it?",
)


class UserError(Exception):
    """A problem with the user's input: one line, exit code 2."""


def _fail(msg: str, code: int = 2):
    sys.stderr.write(f"ibias: error: {msg}\n")
    raise typer.Exit(code)


class ProfileName(str, Enum):
    quick = "quick"
    full = "full"


# ------------------------------------------------------------------------------------ list


@app.command("list")
def list_cmd(
    kind: Optional[str] = typer.Option(None, help="Only 'check' or 'figure'."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array instead of lines."),
):
    """One line per experiment or check: id, kind, paper, where."""
    from .experiments import runner  # the static index: no paper module, no JAX

    if kind is not None and kind not in ("check", "figure"):
        raise UserError(f"--kind must be 'check' or 'figure'; received {kind!r}")
    exps = runner.listing(kind=kind)
    if as_json:
        print(dumps([{f: e[f] for f in ("id", "kind", "paper", "where", "title")} for e in exps], "list", indent=1))
        return
    w = max((len(e["id"]) for e in exps), default=10)
    for e in exps:
        print(f"{e['id']:<{w}}  {e['kind']:<6}  {e['paper']:<13}  {e['where']}")


# ------------------------------------------------------------------------------ run/verify


def _console():
    from rich.console import Console

    c = Console()
    return c if c.is_terminal else Console(width=170)


def _check_table(results, title):
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for col in ("check", "paper", "where", "measured", "predicted", "error", "tolerance", "result", "time (s)"):
        t.add_column(col, overflow="fold")
    for res in results:
        for c in res.checks:
            t.add_row(
                c.id,
                c.paper,
                c.where,
                f"{c.measured:.6g}",
                f"{c.predicted:.6g}",
                f"{c.error:.3g}",
                f"{c.tolerance:.3g}",
                "[green]PASS[/green]" if c.passed else "[red]FAIL[/red]",
                f"{res.wall_time:.1f}",
            )
    return t


def _run_many(exps, profile, out, quiet, jobs=1, cache_dir=None):
    """Run ``exps`` (in ``jobs`` processes), print one line per experiment as it finishes;
    the results in the order of ``exps``."""
    from rich.console import Console

    from .experiments import runner

    console = Console(stderr=True, quiet=quiet)
    n, finished = len(exps), []
    status = console.status(f"running {n} experiments ({profile}) in {min(jobs, n)} processes" if jobs > 1 and n > 1 else "")

    def start(id):
        status.update(f"running {id} ({profile})")

    def done(res):
        finished.append(res.id)
        console.print(f"{'PASS' if res.passed else 'FAIL'} {res.id}  ({res.wall_time:.1f} s)  -> {out}/{res.id}.png")
        if jobs > 1:
            status.update(f"running {n} experiments ({profile}) in {min(jobs, n)} processes: {len(finished)} done")

    with status:
        return runner.run_many([e.id for e in exps], profile, out, jobs=jobs, cache_dir=cache_dir, on_start=start, on_done=done)


@app.command("run")
def run_cmd(
    id: str = typer.Argument(..., help="Experiment id (see `ibias list`)."),
    profile: ProfileName = typer.Option(ProfileName.quick, help="quick (CI-sized) or full (paper-sized)."),
    out: str = typer.Option("ibias-results", help="Output folder for ID.png, ID.svg, ID.nc, ID.json."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
):
    """Run one experiment; write ID.png, ID.svg, ID.nc and ID.json to --out."""
    _jax_setup()
    from .experiments import runner

    e = runner.get(id)
    results = _run_many([e], profile.value, out, quiet)
    _console().print(_check_table(results, f"{id} ({profile.value})"))
    if not results[0].passed:
        raise typer.Exit(1)


@app.command("verify")
def verify_cmd(
    only: Optional[str] = typer.Option(None, help="Only ids matching this glob or substring."),
    profile: ProfileName = typer.Option(ProfileName.quick, help="quick (CI-sized) or full (paper-sized)."),
    out: str = typer.Option("ibias-results", help="Folder for the figures and results."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
    jobs: Optional[int] = typer.Option(
        None, "--jobs",
        help="Processes running independent experiments at once (default: the usable CPU cores; 1: one after another in this process). "
        "The files, the table and the exit code are the same for any value; the workers share compiled programs through the on-disk "
        "compilation cache (IBIAS_COMPILATION_CACHE=DIR, or 0 to switch it off).",
    ),
):
    """Run every check; print the table; exit 1 if any fails."""
    from .experiments import runner

    if jobs is not None and jobs < 1:
        raise UserError(f"--jobs must be >= 1; received {jobs}")
    cache_dir = _jax_setup()
    exps = runner.select(only)
    if not exps:
        raise UserError(f"no experiment matches --only {only!r}; run `ibias list` for the ids")
    results = _run_many(exps, profile.value, out, quiet, jobs=runner.usable_cores() if jobs is None else jobs, cache_dir=cache_dir)
    _console().print(_check_table(results, f"ibias verify ({profile.value})"))
    n = sum(len(r.checks) for r in results)
    failed = [c.id for r in results for c in r.checks if not c.passed]
    print(f"{n - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


# ----------------------------------------------------------------------------------- sweep


class BackendName(str, Enum):
    vmap = "vmap"
    local = "local"
    dask = "dask"


@app.command("sweep")
def sweep_cmd(
    config: str = typer.Argument(..., help="CONFIG.yaml (sweep schema: docs/contract.md, 'Sweep config schema')."),
    backend: BackendName = typer.Option(BackendName.vmap, "--backend", help="vmap (one vectorised call per batch), local (process pool) or dask."),
    workers: Optional[int] = typer.Option(None, "--workers", help="Processes (local) or LocalCluster workers (dask)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786."),
    store: str = typer.Option("ibias-runs", "--store", help="Run store folder."),
    batch: int = typer.Option(32, "--batch", help="Points per vectorised batch (the same for every backend)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    max_points: int = typer.Option(100_000, "--max-points", help="Refuse a sweep of more points than this (counted before any work)."),
    connect_timeout: float = typer.Option(10.0, "--connect-timeout", help="Seconds to reach --scheduler before giving up (exit 2)."),
    replace: bool = typer.Option(False, "--replace", help="Replace a stored sweep of the same name but a different config (its points stay)."),
):
    """Run a sweep; finished points are read from the store, the rest computed and saved."""
    _jax_setup()
    from rich.table import Table

    from .config import load_sweep_config
    from .sweep import SweepSummary, describe_points, sweep

    cfg = load_sweep_config(config)
    print(f"sweep {cfg.name}: {describe_points(cfg)}", flush=True)
    summ = SweepSummary()
    try:
        ds = sweep(cfg, backend=backend.value, store=store, workers=workers, scheduler=scheduler, batch=batch, progress=not quiet, summary=summ, max_points=max_points, replace=replace, connect_timeout=connect_timeout)
    except KeyboardInterrupt:
        sys.stderr.write(f"ibias: interrupted; {summ.done} new point(s) saved in {store}; rerun the same command to resume\n")
        raise typer.Exit(130)
    t = Table(title=f"sweep {ds.attrs.get('sweep')} ({backend.value})")
    for col in ("points", "done now", "cached", "failed", "time (s)"):
        t.add_column(col)
    t.add_row(str(summ.total), str(summ.done), str(summ.cached), str(len(summ.failed)), f"{summ.wall_time:.1f}")
    con = _console()
    con.print(t)
    if "status" in ds:
        vals, counts = np.unique(ds.status.values.astype(str), return_counts=True)
        con.print("status: " + ", ".join(f"{v} {c}" for v, c in zip(vals, counts)))
    reasons = {}
    for k, r in summ.failed.items():
        reasons.setdefault(r, 0)
        reasons[r] += 1
    for r, c in reasons.items():
        con.print(f"[red]failed[/red] {c} point(s): {r}")
    con.print(f"export: ibias runs export {ds.attrs.get('sweep')} --out {ds.attrs.get('sweep')}.nc --store {store}")
    if summ.failed:
        raise typer.Exit(1)


# ---------------------------------------------------------------------------------- report


@app.command("report")
def report_cmd(
    results: str = typer.Option("ibias-results", "--results", help="Folder written by `ibias verify` / `ibias run`."),
    out: str = typer.Option("report.html", "--out", help="The HTML file to write."),
):
    """Write one self-contained HTML page: check table, figures, provenance."""
    from .report import build_report

    if not os.path.isdir(results):
        raise UserError(f"--results {results!r} is not a folder; run `ibias verify --out {results}` first")
    path = build_report(results, out)
    print(path)


# ------------------------------------------------------------------------------------- fit


MODELS = MODEL_NAMES  # the names come from _names.py (config.py maps each to its object)
ALGORITHMS = ALGORITHM_NAMES


def _finite_or_none(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


@app.command("fit")
def fit_cmd(
    data: Optional[str] = typer.Argument(None, help="DATA.npz (X, y, optional X_eval) or DATA.csv (last column y)."),
    model: str = typer.Option("linear", "--model", help=f"One of: {', '.join(MODELS)}."),
    depth: int = typer.Option(2, "--depth", help="Depth D (diagonal; factorization: number of factors W1..WL)."),
    scale: float = typer.Option(1.0, "--scale", help="Initialization scale (diagonal: u(0) = scale, tied; factorization: ||W(0)||_F = scale, or scale I per factor for --init identity)."),
    shape: float = typer.Option(0.0, "--shape", help="Initialization shape s in (-1, 1) (untied diagonal, depth 2)."),
    tied: bool = typer.Option(True, "--tied/--untied", help="Tied or untied diagonal parametrization."),
    init: Optional[str] = typer.Option(None, "--init", help="FILE.npz with initial parameters by name (e.g. w); for --model relu also gaussian | uniform | binary-uniform | pytorch; for --model factorization also gaussian | identity | balanced."),
    widths: str = typer.Option("1", "--widths", help="fc, mlp: hidden widths m_1,...,m_{L-1} (comma-separated; 1 = one hidden neuron)."),
    activation: Optional[str] = typer.Option(None, "--activation", help="fc / neuron / mlp: linear | relu | leaky_relu (defaults: fc linear, neuron and mlp relu); relu: relu | relu_power:k ([x]_+^k, montufar2024 Thm 9)."),
    slope: float = typer.Option(0.01, "--slope", help="Negative-side slope of leaky_relu."),
    width: int = typer.Option(100, "--width", help="relu: number of hidden units k."),
    skip: bool = typer.Option(False, "--skip", help="relu: add the linear skip connection."),
    sigma_w: float = typer.Option(1.0, "--sigma-w", help="relu --init gaussian: std of input weights."),
    sigma_b: float = typer.Option(1.0, "--sigma-b", help="relu --init gaussian: std of biases."),
    a_w: float = typer.Option(1.0, "--a-w", help="relu --init uniform: W ~ U(-a_w, a_w)."),
    a_b: float = typer.Option(1.0, "--a-b", help="relu --init uniform / binary-uniform: B ~ U(-a_b, a_b)."),
    antisymmetric: bool = typer.Option(False, "--antisymmetric", help="relu: pair the hidden units (unit k/2+i copies unit i with w2 negated), so f(., theta_0) = 0; --width must be even (jin-montufar2023: the trained net then tends to the spline of the data alone, e.g. --predict natural-spline with --init uniform)."),
    loss: str = typer.Option("auto", "--loss", help="square | logistic | exponential | polynomial:K | cross-entropy (labels 0..C-1, --outputs C); auto = square for real targets, logistic for +-1 labels."),
    algorithm: str = typer.Option("flow", "--algorithm", help=f"One of: {', '.join(ALGORITHMS)}."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Step size; default 1/sharpness at initialization (steepest descent on a linear model: 1/B^2, B = max_n ||x_n||_* in the dual of --norm, the step that provably decreases the loss). width-scaled-gd: the width-normalised step eta_bar (each parameter steps by eta_bar/width), default 0.8 M/lambda_max(P K P) (0.9 M/lambda_max(K) with --affine gd), K the infinite-width kernel of the init."),
    affine: Optional[str] = typer.Option(None, "--affine", help="width-scaled-gd: exact (default; the skip weight and output bias are refitted by least squares after every step, so the affine part is free as in montufar2024 eq. (5)) | gd (they step like the rest: plain GD, which charges the affine part)."),
    solver: Optional[str] = typer.Option(None, "--solver", help="ODE solver of flow/reduced: tsit5 | dopri5 | dopri8 | kvaerno5 (stiff)."),
    clock: Optional[str] = typer.Option(None, "--clock", help="Time variable of flow/reduced: time | normalized (-grad log L) | accuracy (gamma = -log L) | auto (the default: accuracy for a flow toward a training-accuracy target, which time t ~ e^gamma cannot reach in a step budget; time otherwise); same path."),
    flow_objective: str = typer.Option("loss", "--objective", help="flow: loss (the flow of L) | igr (the flow of L + (lr/4)||grad L||^2 that GD with step --lr tracks to O(lr^2); needs --lr)."),
    batch_size: int = typer.Option(1, "--batch-size", help="SGD batch size."),
    sampling: str = typer.Option("iid", "--sampling", help="sgd: iid (a fresh batch every step, the default) | reshuffle (random reshuffling: each sample once per epoch)."),
    noise: Optional[float] = typer.Option(None, "--noise", help="label-noise-sgd / param-noise-gd: noise standard deviation (>= 0; required by them)."),
    potential: str = typer.Option("quadratic", "--potential", help="Mirror potential: entropy | quadratic | lp:P."),
    norm: str = typer.Option("l2", "--norm", help="Steepest-descent norm: l1 | l2 | linf | lp:P."),
    normalize: bool = typer.Option(False, "--normalize", help="Steepest descent: divide the gradient by the loss."),
    stop_loss: Optional[float] = typer.Option(None, "--stop-loss", help="Stop when L <= this (default 1e-12 for regression)."),
    stop_accuracy: Optional[float] = typer.Option(None, "--stop-accuracy", help="Stop when -log L >= this (default 20 for classification)."),
    max_steps: int = typer.Option(100_000, "--max-steps", help="Step budget."),
    seed: int = typer.Option(0, "--seed", help="Seed for initialization and batches."),
    predict: list[str] = typer.Option([], "--predict", help="Prediction to compare with (repeatable); 'auto': every prediction whose assumptions this run meets, the others listed with the one that fails (predictions_skipped); see --list-predictions."),
    list_predictions: bool = typer.Option(False, "--list-predictions", help="List the predictions with their assumptions and exit."),
    want_sharpness: bool = typer.Option(False, "--sharpness", help="Report the top Hessian eigenvalue at the end."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (fields and meanings: docs/contract.md)."),
    bias: str = typer.Option("first", "--bias", help="mlp: first | none | all (biases after the first layer make it non-homogeneous)."),
    outputs: int = typer.Option(1, "--outputs", help="mlp: number of outputs C (C >= 2 with --loss cross-entropy, labels 0..C-1)."),
    kkt: bool = typer.Option(False, "--kkt", help="Report normalized/smoothed margin, KKT residual and alignment (homogeneous models, labels -1/+1)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    symmetric: bool = typer.Option(False, "--symmetric", help="factorization: the PSD model W = U U^T (U(0) = scale I by default)."),
):
    """Train a model on your data and compare the result with the theory's predictions."""
    _jax_setup()
    if list_predictions:
        _print_predictions()
        return
    if data is None:
        raise UserError("missing DATA: give a .npz (X, y[, X_eval]) or .csv (last column y) file")
    _check_numbers(model, algorithm, scale, shape, lr, max_steps, batch_size, depth)
    _check_stop_flags(stop_loss, stop_accuracy)
    if model in MATRIX_MODEL_NAMES:  # matrix observations (entries/y/shape or A/y): config.build_matrix_*
        from ._cli_factorization import fit_factorization
        from .config import ModelConfig

        _check_flow_flags(algorithm, solver, clock)
        if flow_objective != "loss":
            raise UserError(f"--objective {flow_objective} applies to the vector models, not --model {model}: drop --objective")
        mc = ModelConfig(name=model, depth=depth, scale=scale, init=init, symmetric=symmetric)
        return fit_factorization(data, mc, loss=loss, algorithm=algorithm, lr=lr, solver=solver, clock=clock, stop_loss=stop_loss, max_steps=max_steps,
                                 seed=seed, predict=predict, want_sharpness=want_sharpness, as_json=as_json, quiet=quiet)
    if symmetric:
        raise UserError(f"--symmetric applies to --model factorization, not {model}")
    from .config import DataConfig, auto_predictions, build_algorithm, build_data, build_loss, build_model, build_predictions, build_stop, compare_auto, prediction_context

    ds = build_data(DataConfig(path=data))
    loss_obj = build_loss(loss, ds.task)
    if loss_obj.task == "classification" and ds.task != "classification":
        raise UserError(f"--loss {loss_obj.name} needs labels in {{-1, +1}}; the targets in {data} are real-valued (use --loss square)")
    auto = "auto" in predict  # every prediction whose assumptions this run meets (theory.select_predictions)
    preds = build_predictions([n for n in predict if n != "auto"])
    mc = _model_config(model, depth, scale, shape, tied, init, widths, activation, slope, width, skip, sigma_w, sigma_b, a_w, a_b, bias, outputs, antisymmetric)
    _check_width_scaled_flags(algorithm, affine, mc, ds, loss_obj)
    mdl = build_model(mc, ds.dim, init_label="--init")
    _check_homogeneous_flags(mdl, ds, loss_obj, kkt)
    _check_predictions(preds, ds.task, mdl, model, algorithm)
    import jax

    from . import diagnostics
    from .algorithms import Objective

    params0 = mdl.init(jax.random.fold_in(jax.random.key(seed), 0))
    functions = _precompute_function_predictions(preds, ds, mdl, params0)
    objective = Objective(mdl, loss_obj, np.asarray(ds.X), np.asarray(ds.y))
    _check_flow_flags(algorithm, solver, clock)
    lr_smooth = _steepest_smooth_lr(algorithm, model, loss_obj, ds, norm, normalize, objective, params0)
    if algorithm not in FLOW_NAMES and lr is None:
        if algorithm == "width-scaled-gd":
            from .theory import stable_eta_bar

            exact = affine in (None, "exact")  # eta_bar = fraction M / lambda_max of the limit kernel (projected with the affine part eliminated)
            if ds.dim == 1 and mdl.activation == "relu":
                lr = stable_eta_bar(np.asarray(ds.X)[:, 0], mdl, projected=exact, fraction=0.8 if exact else 0.9)
            else:
                lr = _power_eta_bar(ds, mdl)
        elif lr_smooth is not None:
            lr = lr_smooth  # steepest descent on a linear model: 1 / B^2, the smoothness in the norm
        else:
            s0 = diagnostics.sharpness(objective, params0)
            lr = 1.0 / s0 if s0 > 1e-12 else 0.1  # default: 1 / sharpness at initialization
    elif lr_smooth is not None and lr > 2.0 * lr_smooth:
        sys.stderr.write(
            f"ibias: warning: --lr {lr:g} is above 2/B^2 = {2.0 * lr_smooth:.3g} (B = max_n ||x_n||_*, the data's size in the dual of --norm {norm}), "
            f"where steepest descent no longer provably decreases the loss and can stall short of the max-margin; omit --lr for the default 1/B^2 = {lr_smooth:.3g}\n"
        )
    sc = _stop_config(stop_loss, stop_accuracy, max_steps, "classification" if loss_obj.task == "multiclass" else loss_obj.task)
    clock = _resolve_clock(algorithm, clock, sc, flow_objective)
    ac = _algorithm_config(algorithm, lr, solver, clock, batch_size, potential, norm, normalize, noise, flow_objective, affine, sampling)
    _check_target_against_data(sc, loss_obj, np.asarray(ds.y), stop_loss is None)
    from .train import train

    alg = build_algorithm(ac, ds, mdl)
    auto_preds, skipped = auto_predictions(auto, preds, prediction_context(ds, mdl, params0, loss_obj, ac))
    if any(p.name == "effective-init" for p in preds + auto_preds):
        from .algorithms import GainTrackedGD

        alg = GainTrackedGD(lr=lr)  # GD's update, carrying the gain sums the prediction needs
    run = train(mdl, ds, loss_obj, alg, build_stop(sc), record=("loss",), seed=seed, init=params0, progress=not (quiet or as_json))
    ctx = dataclasses.replace(prediction_context(ds, mdl, params0, loss_obj, ac), lr=lr, state=run.state)
    pred_out = _compare(preds, ctx, run.predictor, run=run, X_eval=ds.X_eval, functions=functions)
    pred_out += compare_auto(auto_preds, ctx, run, skipped, lambda ps: _compare(ps, ctx, run.predictor, run=run, X_eval=ds.X_eval))
    sharp = _finite_or_none(diagnostics.sharpness(objective, run.params)) if want_sharpness else None
    result = _fit_result(run, ds, pred_out, sharp, skipped=skipped, model=model, loss=loss_obj.name, algorithm=algorithm, lr=lr, clock=ac.clock if algorithm in FLOW_NAMES else None, task=loss_obj.task)
    result["diagnostics"].update(_kkt_diagnostics(mdl, run.params, ds, loss_obj) if kkt else dict.fromkeys(KKT_KEYS))
    if as_json:
        sys.stdout.write(dumps(result, "result", nonfinite="null") + "\n")
        return
    _print_fit(result, run)


def _print_predictions():
    from . import theory

    for p in theory.PREDICTIONS.values():
        print(f"{p.name:<16} {p.task:<14} {p.paper:<13} {p.where:<8} {p.description}")
        print(f"{'':<16} assumes: {p.describe_assumptions()}")


def _steepest_smooth_lr(algorithm, model, loss_obj, ds, norm, normalize, objective, params0):
    """``1 / B^2`` (:func:`implicit_bias.algorithms.steepest_descent_lr`) where its smoothness bound
    is derived: steepest descent on a linear model with the square (plain variant only),
    exponential or logistic loss; else None."""
    if algorithm != "steepest" or model != "linear" or loss_obj.name not in ("square", "exponential", "logistic"):
        return None
    if normalize and loss_obj.name == "square":
        return None
    from .algorithms import steepest_descent_lr

    loss0 = 1.0 if loss_obj.name == "square" else float(objective.value(params0))
    try:
        return steepest_descent_lr(np.asarray(ds.X), norm, normalize=normalize, loss_at_init=loss0)
    except ValueError:
        return None  # all-zero inputs or an overflowing start: the sharpness default and its errors apply


def _check_numbers(model, algorithm, scale, shape, lr, max_steps, batch_size, depth):
    """The fit flags checked before the data are read (each error names its flag)."""
    if model not in MODEL_NAMES:
        raise UserError(f"--model {model!r} is not available: use one of {', '.join(MODEL_NAMES)}")
    if algorithm not in ALGORITHM_NAMES:
        raise UserError(f"--algorithm {algorithm!r} is not available: use one of {', '.join(ALGORITHM_NAMES)}")
    for name, v in (("--scale", scale), ("--shape", shape)):
        if not math.isfinite(v):
            raise UserError(f"{name} must be a finite number; received {v}")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise UserError(f"--lr must be a finite number > 0; received {lr}")
    if model == "diagonal" and not scale > 0:
        raise UserError(f"--scale must be > 0 for --model diagonal (u(0) = scale); received {scale:g}")
    if max_steps < 1:
        raise UserError(f"--max-steps must be >= 1; received {max_steps}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be >= 1; received {batch_size}")
    if depth < 1:
        raise UserError(f"--depth must be >= 1; received {depth}")


def _check_stop_flags(stop_loss, stop_accuracy):
    """``--stop-loss`` is a loss value > 0; ``--stop-accuracy`` a training accuracy ``-log L > 0``
    (a target <= 0 means ``L >= 1``, met before any training by any sensible start)."""
    if stop_loss is not None and not (math.isfinite(stop_loss) and stop_loss > 0):
        raise UserError(f"--stop-loss must be a finite number > 0 (a loss value, e.g. 1e-12); received {stop_loss:g}")
    if stop_accuracy is not None and not (math.isfinite(stop_accuracy) and stop_accuracy > 0):
        raise UserError(f"--stop-accuracy must be a finite number > 0 (a training accuracy -log L, e.g. 20); received {stop_accuracy:g}")


def _model_config(model, depth, scale, shape, tied, init, widths, activation, slope, width, skip, sigma_w, sigma_b, a_w, a_b, bias="first", outputs=1, antisymmetric=False):
    """The :class:`~implicit_bias.config.ModelConfig` of the model flags (``--init`` is a file,
    or for ``--model relu`` also an initialization distribution)."""
    from .config import ModelConfig

    init_dist = "gaussian"
    if model == "relu" and init is not None and init.strip().lower().replace("_", "-") in RELU_INITS:
        init_dist, init = init.strip().lower().replace("_", "-"), None
        if init_dist == "breakpoints":
            raise UserError("--init breakpoints needs a breakpoint density (a function): use the Python API, ShallowReLU(init_dist='breakpoints', breakpoint_density=...)")
    try:
        width_list = [int(m) for m in widths.split(",")]
    except ValueError:
        raise UserError(f"--widths must be comma-separated positive integers such as 3,2; received {widths!r}") from None
    if any(m < 1 for m in width_list):
        raise UserError(f"--widths must be comma-separated positive integers such as 3,2; received {widths!r}")
    _check_activation(model, activation)
    if model != "mlp" and (bias != "first" or outputs != 1):
        raise UserError(f"--bias and --outputs apply to --model mlp, not {model}")
    if bias not in ("first", "none", "all"):
        raise UserError(f"--bias {bias!r} is not available: use first, none or all")
    if outputs < 1:
        raise UserError(f"--outputs must be >= 1; received {outputs}")
    if width < 1:
        raise UserError(f"--width must be >= 1; received {width}")
    if antisymmetric and model != "relu":
        raise UserError(f"--antisymmetric (paired hidden units, f(., theta_0) = 0) applies to --model relu, not {model}")
    if antisymmetric and width % 2:
        raise UserError(f"--antisymmetric pairs the hidden units: --width must be even; received {width}")
    return ModelConfig(
        name=model, depth=depth, untied=not tied, scale=scale, shape=shape, init=init, widths=width_list, activation=activation, slope=slope,
        width=width, skip=skip, init_dist=init_dist, sigma_w=sigma_w, sigma_b=sigma_b, a_w=a_w, a_b=a_b, bias=bias, outputs=outputs, antisymmetric=antisymmetric,
    )  # fmt: skip


def _power_eta_bar(ds, mdl) -> float:
    """The default ``eta_bar = 0.8 M / lambda_max(P K P)`` of ``--algorithm width-scaled-gd`` for
    ``relu_power:k`` (``K = theory.relu_power_kernel``, d = 1) or ``d >= 2`` inputs (``K =
    theory.multivariate.relu_feature_kernel``, Gaussian init, relu), ``P`` the projector off the
    affine functions of the data: the setting of the ``jin-montufar2023`` Thm 8 and 9 checks."""
    from .models import activation_degree

    X = np.asarray(ds.X, dtype=np.float64)
    if ds.dim == 1:
        from .theory.relu_power import relu_power_kernel

        K = relu_power_kernel(X[:, 0], X[:, 0], mdl, mdl.activation)
    elif activation_degree(mdl.activation) == 1 and mdl.init_dist == "gaussian":
        from .theory.multivariate import relu_feature_kernel

        K = relu_feature_kernel(X, X, mdl)
    else:
        raise UserError(f"--algorithm width-scaled-gd on d = {ds.dim} inputs: the default step is derived from the limit kernel, known in closed form for --activation relu "
                        "with --init gaussian; give --lr ETA_BAR (the width-normalised step)")
    from .theory import kernel_eta_bar

    return kernel_eta_bar(K, X, fraction=0.8)


def _check_width_scaled_flags(algorithm, affine, mc, ds, loss_obj):
    """``--algorithm width-scaled-gd`` trains ``--model relu --skip`` (``relu`` or ``relu_power:k``;
    ``d >= 2`` inputs: more points than the free affine part fits alone) on the square loss;
    ``--affine exact|gd`` applies to it only, ``gd`` to univariate ``relu`` nets only."""
    if affine is not None and algorithm != "width-scaled-gd":
        raise UserError(f"--affine applies to --algorithm width-scaled-gd, not {algorithm}")
    if affine not in (None, "exact", "gd"):
        raise UserError(f"--affine {affine!r} is not available: use exact or gd")
    if algorithm != "width-scaled-gd":
        return
    if mc.name != "relu" or not mc.skip:
        raise UserError(f"--algorithm width-scaled-gd trains --model relu --skip (activation relu or relu_power:k); received --model {mc.name}" + (" without --skip" if mc.name == "relu" and not mc.skip else ""))
    power = mc.activation not in (None, "relu")
    if (ds.dim != 1 or power) and affine == "gd":
        why = f"d = {ds.dim} inputs" if ds.dim != 1 else f"--activation {mc.activation}"
        raise UserError(f"--affine gd (plain GD on the affine part) is for univariate relu nets; with {why} width-scaled-gd eliminates the affine part (montufar2024 Thms 8, 9): use --affine exact or omit it")
    if ds.dim > 1 and np.linalg.matrix_rank(np.column_stack([np.asarray(ds.X), np.ones(ds.n)])) == ds.n:
        raise UserError(
            f"--algorithm width-scaled-gd frees the affine part, which on d = {ds.dim} inputs fits these M = {ds.n} points by itself (they are affinely independent, "
            f"M <= d + 1 = {ds.dim + 1}): the hidden units would not train; use data with more points than d + 1 (montufar2024 Thm 8)"
        )
    if loss_obj.name != "square":
        raise UserError(f"--algorithm width-scaled-gd steps on the square loss; received --loss {loss_obj.name}")


def _check_activation(model, activation):
    """``--activation``: linear | relu | leaky_relu for fc/neuron/mlp; relu | relu_power:k for relu."""
    if activation is None:
        return
    if model == "relu":
        from .models import activation_degree

        try:
            activation_degree(activation)
        except ValueError:
            raise UserError(
                f"--activation {activation!r} has no known Green's operator for --model relu: use relu or relu_power:k with k in 1..8 "
                "([x]_+^k, L = D^(k+1)/k!, montufar2024 Thm 9)"
            ) from None
    elif model not in ("fc", "neuron", "mlp"):
        raise UserError(f"--activation applies to --model fc, neuron, mlp or relu, not {model}")
    elif activation not in ("linear", "relu", "leaky_relu"):
        raise UserError(f"--activation {activation!r} is not available: use linear, relu or leaky_relu")


def _check_flow_flags(algorithm, solver, clock):
    from .algorithms import SOLVERS
    from .algorithms import CLOCKS

    for flag, value, allowed in (("--solver", solver, SOLVERS), ("--clock", clock, (*CLOCKS, "auto"))):
        if value is None:
            continue
        if algorithm not in FLOW_NAMES:
            raise UserError(f"{flag} applies to --algorithm flow or reduced, not {algorithm}")
        if value not in allowed:
            raise UserError(f"{flag} {value!r} is not available: use one of {', '.join(allowed)}")


def _resolve_clock(algorithm, clock, sc, objective="loss"):
    """The clock of ``--clock auto`` (the default): a flow stopped by a training-accuracy target
    ``-log L >= gamma*`` runs on the accuracy clock (``gamma = -log L`` as time: the same path,
    with the target an ordinary event), because on the time clock ``L`` falls like ``1/t`` and the
    target needs ``t ~ e^gamma*`` (measured: exponential loss, gamma* = 128, a diagonal net at
    scale 8 ends at ``max_steps`` at gamma = 37 after 10^5 Tsit5 steps; the accuracy clock converges
    in 968). Everything else, and the igr objective (defined in time), runs on time. ``None`` for
    discrete algorithms."""
    if algorithm not in FLOW_NAMES:
        return None
    if clock not in (None, "auto"):
        return clock
    return "accuracy" if sc.training_accuracy is not None and objective == "loss" else "time"


def _algorithm_config(algorithm, lr, solver, clock, batch_size, potential, norm, normalize, noise=None, objective="loss", affine=None, sampling="iid"):
    from pydantic import ValidationError

    from .algorithms import FLOW_OBJECTIVES
    from .config import AlgorithmConfig, format_validation_error

    if objective not in FLOW_OBJECTIVES:
        raise UserError(f"--objective {objective!r} is not available: use one of {', '.join(FLOW_OBJECTIVES)}")
    kw = dict(name=algorithm, lr=lr, batch_size=batch_size, potential=potential, norm=norm, normalize=normalize, solver=solver, noise=noise, objective=objective, affine=affine, sampling=sampling)
    try:
        return AlgorithmConfig(**kw, **({} if clock is None else {"clock": clock}))
    except ValidationError as e:  # a default --lr that is no step size, or a bad or missing --noise
        raise UserError(format_validation_error(e, AlgorithmConfig, "--algorithm")) from None


def _stop_config(stop_loss, stop_accuracy, max_steps, task):
    """The stopping rule; by default ``-log L >= 20`` for classification, ``L <= 1e-12`` otherwise."""
    from .config import StopConfig

    if stop_loss is None and stop_accuracy is None:
        if task == "classification":
            stop_accuracy = 20.0
        else:
            stop_loss = 1e-12
    return StopConfig(loss=stop_loss, training_accuracy=stop_accuracy, max_steps=max_steps)


def _check_target_against_data(sc, loss_obj, y, default):
    """Refuse a square-loss target that the zero predictor already meets: ``L <= target`` with
    ``L = 1/(2N) sum y^2`` means the targets are too small for it (data near 1e-300 would
    'converge' at step 0 having learnt nothing). Computed in log domain (no underflow)."""
    if loss_obj.name != "square" or sc.loss is None:
        return
    m = float(np.max(np.abs(y))) if y.size else 0.0
    if m == 0.0:
        return
    log_l0 = 2.0 * math.log(m) + math.log(0.5 * float(np.mean((y / m) ** 2)))
    if log_l0 <= math.log(sc.loss):
        how = "the default --stop-loss" if default else "--stop-loss"
        raise UserError(
            f"{how} {sc.loss:g} is above the loss of the zero predictor, 1/(2N) sum y^2 = exp({log_l0:.6g}): the target is met "
            f"without training; rescale y (e.g. divide by its largest value, {m:.3g}) or give a --stop-loss below exp({log_l0:.6g})"
        )


def _check_predictions(preds, task, mdl, model, algorithm):
    """Refuse, before any training, a prediction for the other task, one that compares linear
    predictors on a model that has none, and ``effective-init`` off GD on a tied depth-2 diagonal net."""
    from .models import Diagonal

    for p in preds:
        if p.task != task:
            raise UserError(f"prediction {p.name!r} is for {p.task} data; these data are {task}")
        if p.kind != "function" and not mdl.has_predictor:
            raise UserError(f"prediction {p.name!r} compares linear predictors; --model {model} has none")
        if p.name == "effective-init":
            if not (isinstance(mdl, Diagonal) and mdl.depth == 2 and mdl.tied):
                raise UserError("prediction 'effective-init' is for the tied depth-2 diagonal network: use --model diagonal --depth 2 --tied")
            if algorithm != "gd":
                raise UserError(f"prediction 'effective-init' needs the gain sums of constant-step GD: use --algorithm gd, not {algorithm}")


def _compare(preds, ctx, w, run=None, X_eval=None, functions=None) -> list:
    """One entry per prediction: its predictor, relative error (or direction distance) and cosine.

    A ``function`` prediction (a spline ``g``) is compared with the trained net's outputs ``f`` on
    :func:`~implicit_bias.theory.predictions.function_eval_points` (``X_eval`` or a grid on the
    data's interval): its ``predictor`` is ``g`` there, ``relative_error`` is
    ``||f - g|| / ||g||`` on those points, ``l2_error`` is ``sqrt(trapezoid((f - g)^2))``
    (``||f - g||_{L2(S)}`` on the grid). ``functions``: the function predictions already computed
    (by name; :func:`_precompute_function_predictions`), not solved again."""
    from . import diagnostics
    from .theory.predictions import function_eval_points

    functions = functions or {}
    out = []
    for p in preds:
        if p.kind == "function":
            gfun = functions[p.name] if p.name in functions else p.fn(ctx)
        if p.kind == "function" and np.shape(ctx.X)[1] > 1:  # d >= 2 (montufar2024 Thm 8): X_eval or a grid of the data's box
            out.append(_compare_nd(p, gfun, ctx, run, X_eval))
            continue
        if p.kind == "function":
            xe = function_eval_points(ctx.X, X_eval)
            g = np.asarray(gfun(xe), dtype=np.float64)
            f = np.asarray(run.outputs(xe[:, None]), dtype=np.float64).reshape(-1)
            l2 = math.sqrt(float(np.trapezoid((f - g) ** 2, xe))) if xe.size > 1 else float(np.abs(f - g).max())
            out.append({"name": p.name, "paper": p.paper, "predictor": g.tolist(), "relative_error": _finite_or_none(diagnostics.relative_error(f, g)),
                        "cosine": _finite_or_none(diagnostics.cosine(f, g)), "l2_error": _finite_or_none(l2), "eval_points": "X_eval" if X_eval is not None else f"grid {xe.size} on [{xe[0]:.6g}, {xe[-1]:.6g}]"})  # fmt: skip
            continue
        pw = np.asarray(p.fn(ctx), dtype=np.float64)
        if p.kind == "direction":
            err = diagnostics.direction_distance(w, pw) if np.linalg.norm(w) > 0 else float("nan")
        else:
            err = diagnostics.relative_error(w, pw)
        out.append({"name": p.name, "paper": p.paper, "predictor": pw.tolist(), "relative_error": _finite_or_none(err), "cosine": _finite_or_none(diagnostics.cosine(w, pw))})
    return out


def _precompute_function_predictions(preds, ds, mdl, params0) -> dict:
    """Compute every ``function`` prediction (splines, Thm 8's ``g*``: from the data, the model and
    its initial parameters only) before training, so that its errors (a model it is not for, the
    wrong input dimension, ``zeta`` vanishing on the data range) stop the command before any work."""
    from .theory.predictions import Context

    ctx = Context(X=np.asarray(ds.X), y=np.asarray(ds.y), model=mdl, params0=params0)
    return {p.name: p.fn(ctx) for p in preds if p.kind == "function"}  # reused by _compare after training


def _compare_nd(p, gfun, ctx, run, X_eval) -> dict:
    """A ``function`` prediction on ``d >= 2`` inputs, compared with the net on
    :func:`~implicit_bias.theory.predictions.box_eval_points`: ``relative_error`` ``||f - g|| /
    ||g||`` on those points, ``l2_error`` ``sqrt(volume * mean (f - g)^2)`` on the grid of the
    data's bounding box (``null`` on ``X_eval``)."""
    from . import diagnostics
    from .theory.predictions import box_eval_points

    Xe, vol = box_eval_points(ctx.X, X_eval)
    g = np.asarray(gfun(Xe), dtype=np.float64).reshape(-1)
    f = np.asarray(run.outputs(Xe), dtype=np.float64).reshape(-1)
    l2 = None if vol is None else math.sqrt(vol * float(np.mean((f - g) ** 2)))
    where = "X_eval" if vol is None else f"grid {Xe.shape[0]} on the data's bounding box [{', '.join(f'{a:.6g}..{b:.6g}' for a, b in zip(Xe.min(0), Xe.max(0)))}]"
    return {"name": p.name, "paper": p.paper, "predictor": g.tolist(), "relative_error": _finite_or_none(diagnostics.relative_error(f, g)),
            "cosine": _finite_or_none(diagnostics.cosine(f, g)), "l2_error": _finite_or_none(l2) if l2 is not None else None, "eval_points": where}


def _fraction_correct(run, ds, task):
    """The fraction of training points classified correctly (sign of the output for labels
    -1/+1, the largest output for labels 0..C-1); ``None`` for real-valued targets. Not to be
    confused with ``training_accuracy``, which is ``-log L``."""
    if task not in ("classification", "multiclass"):
        return None
    f = np.asarray(run.outputs(ds.X), dtype=np.float64)
    y = np.asarray(ds.y)
    if f.ndim == 2 and f.shape[1] > 1:
        return float(np.mean(np.argmax(f, axis=1) == y))
    return float(np.mean(np.sign(f.reshape(-1)) == y))


def _fit_result(run, ds, pred_out, sharpness, *, skipped=(), model, loss, algorithm, lr, clock=None, task=None) -> dict:
    """The ``ibias fit --json`` object (docs/contract.md)."""
    w = run.predictor
    return {
        "status": run.status,
        "final": {
            "loss": _finite_or_none(run.final_loss),
            "log_loss": _finite_or_none(run.final_log_loss),
            "training_accuracy": _finite_or_none(run.training_accuracy),
            "fraction_correct": _fraction_correct(run, ds, task),
            "steps": int(run.steps),
            "time": float(run.time),
        },
        "predictor": None if w is None else [float(v) for v in w],
        "params": {k: np.asarray(v).tolist() for k, v in run.params.items()},
        "outputs_eval": None if ds.X_eval is None else np.asarray(run.outputs(ds.X_eval), dtype=np.float64).tolist(),
        "test_error": None if ds.X_test is None else _finite_or_none(ds.test_error(run.outputs(ds.X_test))),
        "predictions": pred_out,
        "predictions_skipped": list(skipped),
        "diagnostics": {"sharpness": sharpness},
        "message": run.message,
        "model": model,
        "loss": loss,
        "algorithm": algorithm,
        "lr": lr,
        "clock": clock,
        "wall_time": run.wall_time,
    }


def _print_fit(result, run):
    from rich.console import Console

    c = Console()
    w = run.predictor
    c.print(f"[bold]{result['model']}[/bold] / {result['loss']} / {result['algorithm']}: status [bold]{run.status}[/bold] ({run.message})")
    c.print(f"final loss {run.final_loss:.4g} (log {run.final_log_loss:.6g}), steps {run.steps}, time {run.time:.6g}")
    if w is not None:
        c.print(f"predictor (first 8 of {len(w)}): {np.array2string(np.asarray(w)[:8], precision=5)}")
    for p in result.get("predictions_skipped", ()):
        c.print(f"prediction {p['name']} skipped: {p['reason']}")
    for p in result["predictions"]:
        l2 = f", L2 error {p['l2_error']:.3g} ({p['eval_points']})" if p.get("l2_error") is not None else ""
        c.print(f"prediction {p['name']} ({p['paper']}): relative error {p['relative_error']:.3g}, cosine {p['cosine']:.6f}{l2}")
    if result["test_error"] is not None:
        c.print(f"test error {result['test_error']:.6g} on {len(run.data.y_test)} held-out points")
    if result["diagnostics"]["sharpness"] is not None:
        c.print(f"sharpness {result['diagnostics']['sharpness']:.6g}")


# ------------------------------------------------------------------- fit: homogeneous models

#: The ``diagnostics`` keys of ``fit --kkt`` (``null`` without ``--kkt``); see
#: :func:`implicit_bias.diagnostics.homogeneous_summary`.
KKT_KEYS = ("normalized_margin", "smoothed_margin", "kkt_residual", "alignment")


def _check_homogeneous_flags(mdl, ds, loss_obj, kkt):
    """Bad input of the homogeneous-model flags, before training: multiclass labels outside
    ``0..C-1``, and ``--kkt`` asked of a non-homogeneous model or of a run that is not binary
    classification with one output."""
    n_out = getattr(mdl, "outputs", 1)
    if loss_obj.task == "multiclass":
        loss_obj.check_labels(ds.y, n_out)
    elif n_out > 1:
        raise UserError(f"--outputs {n_out} needs --loss cross-entropy (labels 0..{n_out - 1}); received --loss {loss_obj.name}")
    if not kkt:
        return
    from . import diagnostics

    diagnostics.homogeneity_degree(mdl)  # ValueError naming why the KKT conditions do not apply
    if loss_obj.task != "classification" or n_out != 1:
        raise UserError(f"--kkt needs binary labels -1/+1, one output and --loss logistic or exponential; received --loss {loss_obj.name} with {n_out} output(s)")
    _check_separable(mdl, np.asarray(ds.X, dtype=np.float64), np.asarray(ds.y, dtype=np.float64))


def _check_separable(mdl, X, y):
    """``--kkt`` certifies a KKT point of ``min ||θ||^2/2 s.t. y_n f(θ; x_n) >= 1``, which has
    no feasible point on labels no model of this kind separates. Refused before training:
    equal inputs with opposite labels (no model separates them), and, for a model linear in
    ``x`` (``has_predictor``: ``f = <w(θ), x>``), labels no linear predictor separates (the
    feasibility LP ``y_n <x_n, w> >= 1``, scipy HiGHS)."""
    rows = {}
    for n, (x, lab) in enumerate(zip(map(bytes, np.ascontiguousarray(X)), y)):
        m = rows.setdefault(x, n)
        if y[m] != lab:
            raise UserError(f"--kkt needs separable labels: rows {m} and {n} of X are equal with labels {y[m]:g} and {lab:g} (no model separates them); remove one of them")
    if mdl.has_predictor:
        from scipy.optimize import linprog

        res = linprog(np.zeros(X.shape[1]), A_ub=-(y[:, None] * X), b_ub=-np.ones(len(y)), bounds=(None, None), method="highs")
        if res.status == 2:
            raise UserError(f"--kkt needs separable labels: no linear predictor separates these {len(y)} points, and --model {type(mdl).__name__.lower()} is linear in x; use separable data or drop --kkt")


def _kkt_diagnostics(mdl, params, ds, loss_obj) -> dict:
    from . import diagnostics

    return diagnostics.homogeneous_summary(mdl, params, np.asarray(ds.X), np.asarray(ds.y), loss_obj)


# ------------------------------------------------------------------------------------ reconstruct


def _mlp_from_fit_json(path: str, activation: str, slope: float):
    """``(MLP, params)`` from the ``ibias fit --model mlp ... --json`` output at ``path``: the
    widths from the shapes of ``W1..WL`` and the bias mode from the names ``b1, b2, ...`` (the
    JSON does not store them); the activation is the caller's (``--activation``)."""
    import json

    try:
        with open(path) as fh:
            d = json.load(fh)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read MODEL_JSON {path!r} as JSON ({type(e).__name__}); give the output of `ibias fit --model mlp ... --json`")
    if not isinstance(d, dict) or d.get("model") != "mlp" or not isinstance(d.get("params"), dict):
        raise UserError(f"{path} is not an `ibias fit --model mlp ... --json` output (model={d.get('model') if isinstance(d, dict) else None!r}); reconstruct needs a trained mlp")
    try:
        params = {k: np.asarray(v, dtype=np.float64) for k, v in d["params"].items()}
    except (TypeError, ValueError):
        raise UserError(f"{path}: params must be numeric arrays")
    depth = sum(1 for k in params if k.startswith("W"))
    if depth < 2 or any(f"W{j}" not in params or params[f"W{j}"].ndim != 2 for j in range(1, depth + 1)):
        raise UserError(f"{path}: params must hold W1..WL (L >= 2) as matrices; received {sorted(params)}")
    widths = tuple(params[f"W{j}"].shape[0] for j in range(1, depth))
    if params[f"W{depth}"].shape[0] != 1:
        raise UserError(f"{path}: reconstruction needs a one-output mlp (binary labels); WL has {params[f'W{depth}'].shape[0]} outputs")
    biases = sorted(k for k in params if k.startswith("b"))
    bias = "none" if not biases else "first" if biases == ["b1"] else "all"
    from .models import MLP

    return MLP(int(params["W1"].shape[1]), widths, activation=activation, bias=bias, slope=slope), params


@app.command("reconstruct")
def reconstruct_cmd(
    model_json: str = typer.Argument(..., help="MODEL_JSON: the output of `ibias fit --model mlp ... --json` (a trained one-output mlp)."),
    data: str = typer.Argument(..., help="DATA.npz with X (N, d): the training inputs the candidates are matched to (y optional)."),
    candidates: int = typer.Option(100, "--candidates", help="Number K >= 1 of candidate inputs (the paper uses about 2N)."),
    steps: int = typer.Option(2000, "--steps", help="Adam steps."),
    lr: float = typer.Option(0.01, "--lr", help="Adam base step (cosine-decayed to lr/100)."),
    lambda_min: float = typer.Option(0.05, "--lambda-min", help="The lambda_min penalty of Haim et al. (multipliers below it are penalized)."),
    box: str = typer.Option("-1,1", "--box", help="LO,HI: the input box of the prior (e.g. -1,1 for pixels scaled to [-1, 1])."),
    starts: int = typer.Option(2, "--starts", help="Random starts (the best is kept)."),
    beta: float = typer.Option(100.0, "--beta", help="softplus beta of the smooth ReLU surrogate in the gradient."),
    activation: str = typer.Option("relu", "--activation", help="The mlp's activation (not stored in the fit JSON): relu | leaky_relu | linear."),
    slope: float = typer.Option(0.01, "--slope", help="leaky_relu negative-side slope."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random starts."),
    init_scale: float = typer.Option(0.01, "--init-scale", help="Standard deviation of the initial candidates (the paper starts them near 0)."),
    lambda_init: Optional[float] = typer.Option(None, "--lambda-init", help="Initial multipliers (default --lambda-min)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: candidates, lambda, labels, residual, and the matching of training points to candidates with scores."),
):
    """Reconstruct training inputs from a trained mlp by the KKT stationarity condition (Haim et al. 2022)."""
    if candidates < 1:
        raise UserError(f"--candidates must be >= 1; received {candidates}")
    try:
        lo, hi = (float(v) for v in box.split(","))
    except ValueError:
        raise UserError(f"--box must be LO,HI (two numbers); received {box!r}")
    _jax_setup()
    model, params = _mlp_from_fit_json(model_json, activation, slope)
    try:
        with np.load(data) as z:
            X = np.asarray(z["X"], dtype=np.float64)
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"cannot read X from DATA {data!r} ({type(e).__name__}); give a .npz with X (N, d)")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] != model.dim:
        raise UserError(f"DATA X has shape {X.shape}; the model takes inputs of dimension {model.dim} (X must be (N, {model.dim}))")
    from .diagnostics import match_candidates, reconstruct, ssim

    r = reconstruct(model, params, None, candidates, steps=steps, lr=lr, lambda_min=lambda_min, box=(lo, hi), starts=starts, seed=seed, smooth_relu_beta=beta, init_scale=init_scale, lambda_init=lambda_init)
    mt = match_candidates(r.candidates, X)
    side = int(round(math.sqrt(model.dim)))
    image = side * side == model.dim and side >= 7
    scores = [ssim(X[n], r.candidates[mt.candidate[n]], data_range=hi - lo) for n in range(X.shape[0])] if image else None
    out = dict(
        candidates=r.candidates.tolist(), **{"lambda": r.lam.tolist()}, labels=r.labels.tolist(), residual=r.residual, surrogate_residual=r.surrogate_residual,
        loss=r.loss, matches=[dict(train=n, candidate=int(mt.candidate[n]), distance=float(mt.distance[n]), normalized_distance=float(mt.normalized_distance[n]),
                                   candidate_lambda=float(r.lam[mt.candidate[n]]), ssim=None if scores is None else scores[n]) for n in range(X.shape[0])],
        score="ssim" if image else "normalized_distance", box=[lo, hi], n_candidates=candidates, steps=steps, starts=starts,
    )
    if as_json:
        print(dumps(out))
        return
    print(f"residual {r.residual:.3g} (surrogate {r.surrogate_residual:.3g}); {candidates} candidates, largest lambda {float(r.lam.max()):.3g}")
    for m_ in sorted(out["matches"], key=lambda m_: -m_["candidate_lambda"])[:20]:
        sc = f"ssim {m_['ssim']:.3f}" if m_["ssim"] is not None else f"normalized distance {m_['normalized_distance']:.3f}"
        print(f"train {m_['train']:4d} <- candidate {m_['candidate']:4d} (lambda {m_['candidate_lambda']:.3g}): {sc}")


# ------------------------------------------------------------------------------------ runs

from ._cli_runs import runs_app  # noqa: E402

app.add_typer(runs_app, name="runs")


# ------------------------------------------------------------------------------------ main


def _quiet_stdout():
    """Point stdout at /dev/null, so that flushing it at exit after a closed pipe is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


#: True when run as the ``ibias`` program (:func:`main` without ``argv``): the commands that
#: compile (fit, run, verify, sweep) then turn the on-disk compilation cache on.
_PROGRAM = False


def _jax_setup():
    """Before a command's first JAX import: float64, and in the ``ibias`` program the on-disk
    compilation cache (:func:`implicit_bias.enable_compilation_cache`); returns its folder or None.
    ``--help``, ``list`` and ``report`` never import JAX."""
    from ._config import enable_compilation_cache

    return enable_compilation_cache() if _PROGRAM else None


def main(argv=None):
    """Console entry point: one line and exit code 2 for user errors, never a traceback.

    Run as the ``ibias`` program (``argv`` None), the commands that compile (fit, run, verify,
    sweep) also turn on the on-disk compilation cache (:func:`implicit_bias.enable_compilation_cache`:
    ``IBIAS_COMPILATION_CACHE=DIR|0``); called with ``argv`` (tests, scripts) it changes no global
    JAX setting."""
    global _PROGRAM
    _PROGRAM = argv is None
    try:
        rv = app(args=argv, prog_name="ibias", standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError:  # `ibias list | head -1`: the reader left; exit quietly
        _quiet_stdout()
        sys.exit(0)
    except (UserError, ValueError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        sys.stderr.write(f"ibias: error: {msg}\n")
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("ibias: interrupted\n")
        sys.exit(130)
    except typer.TyperException as e:  # click's usage errors (typer's public base class of them)
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:  # `ibias` alone: help, exit 0
            print(ctx.get_help())
            sys.exit(0)
        name = getattr(ctx, "info_name", None)
        msg = e.format_message() if hasattr(e, "format_message") else str(e)
        sys.stderr.write(f"ibias: error: {msg}" + (f" (see `ibias {name} --help`)" if name not in (None, "ibias") else "") + "\n")
        sys.exit(getattr(e, "exit_code", 2) or 2)
    except Exception as e:  # a bug: still one line, no traceback
        sys.stderr.write(f"ibias: internal error: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''} (please report)\n")
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)


if __name__ == "__main__":
    main()
