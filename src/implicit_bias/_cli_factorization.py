"""``ibias fit DATA.npz --model factorization``: matrix completion / sensing from the command line.

The data file decides the problem (:func:`implicit_bias.matrix_data.load_matrix`: keys
``entries, y, shape`` for completion, ``A, y`` for sensing). The JSON contract of ``fit``
(DESIGN.md) is extended, not renamed: ``predictor`` is the end-to-end matrix flattened row-major
with a new ``predictor_shape``; each prediction's ``predictor`` likewise; ``diagnostics`` gains
``singular_values``, ``effective_rank`` and ``stable_rank`` of the trained matrix.

Predictions (``--predict``): ``min-nuclear`` (cvxpy SDP; gunasekar2017's conjecture),
``min-nuclear-psd``, ``min-frobenius`` (closed form), ``commuting-limit`` (the exact
finite-initialization limit of ``U U^T`` from ``U(0) = scale I`` on commuting sensing data).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ._json import dumps
from ._names import FLOW_NAMES

__all__ = ["fit_factorization"]


def _finite_or_none(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def fit_factorization(path: str, mc, *, loss: str, algorithm: str, lr: float | None, solver: str | None, clock: str | None,
                      stop_loss: float | None, max_steps: int, seed: int, predict: list, want_sharpness: bool, as_json: bool, quiet: bool) -> None:
    """Train the matrix model of the model config ``mc`` (``config.build_matrix_model``) on the
    matrix data at ``path`` and report (JSON or text); the data, model, algorithm, stop rule and
    predictions all come from the :mod:`implicit_bias.config` mapping.

    Raises:
        ValueError: bad data file, flags or predictions (one line; exit code 2 from the CLI).
    """
    import jax

    from . import diagnostics
    from .algorithms import Objective
    from .config import AlgorithmConfig, StopConfig, auto_predictions, build_algorithm, build_loss, build_matrix_data, build_matrix_model, build_predictions, build_stop, compare_auto, prediction_context
    from .theory import factorization as tf
    from .theory.factorization import MATRIX_PREDICTIONS
    from .train import train

    data = build_matrix_data(path)
    if loss not in ("auto", "square"):
        raise ValueError(f"--model factorization trains on the square loss (matrix sensing/completion); received --loss {loss}")
    if algorithm not in ("flow", "gd"):
        raise ValueError(f"--model factorization supports --algorithm flow or gd; received {algorithm}")
    if not mc.scale > 0:
        raise ValueError(f"--scale must be a finite number > 0 for --model factorization; received {mc.scale}")
    auto = "auto" in predict  # every prediction whose assumptions this run meets
    predict = [p for p in predict if p != "auto"]
    bad = [p for p in predict if p not in MATRIX_PREDICTIONS]
    if bad:
        raise ValueError(f"--predict {bad[0]!r} is not a matrix prediction: use one of {', '.join(MATRIX_PREDICTIONS)}")
    preds = build_predictions(predict)
    model = build_matrix_model(mc, data, init_label="--init")
    ds = data.dataset
    loss_obj = build_loss("square")
    params0 = model.init(jax.random.fold_in(jax.random.key(seed), 0))
    objective = Objective(model, loss_obj, np.asarray(ds.X), np.asarray(ds.y))
    if algorithm == "gd" and lr is None:
        s0 = diagnostics.sharpness(objective, params0)
        lr = 1.0 / s0 if s0 > 1e-12 else 0.1
    ac = AlgorithmConfig(name=algorithm, lr=lr, solver=solver, **({} if clock in (None, "auto") else {"clock": clock}))  # auto: a loss target runs on time
    stop = build_stop(StopConfig(loss=1e-12 if stop_loss is None else stop_loss, max_steps=max_steps))
    ctx = prediction_context(ds, model, params0, loss_obj, ac)
    auto_preds, skipped = auto_predictions(auto, preds, ctx)
    run = train(model, ds, loss_obj, build_algorithm(ac), stop, record=("loss",), seed=seed, init=params0, progress=not (quiet or as_json))
    W = np.asarray(model.matrix(run.params))

    def compare(ps):
        out = []
        for p in ps:
            v = np.asarray(p.fn(ctx))
            out.append({"name": p.name, "paper": p.paper, "predictor": v.tolist(), "predictor_shape": list(data.shape),
                        "relative_error": _finite_or_none(diagnostics.relative_error(W.reshape(-1), v)), "cosine": _finite_or_none(diagnostics.cosine(W.reshape(-1), v))})
        return out

    pred_out = compare(preds) + compare_auto(auto_preds, ctx, run, skipped, compare)
    diag = {
        "sharpness": _finite_or_none(diagnostics.sharpness(objective, run.params)) if want_sharpness else None,
        "singular_values": [float(v) for v in tf.singular_values(W)],
        "effective_rank": float(tf.effective_rank(W)),
        "stable_rank": float(tf.stable_rank(W)),
    }
    result = {
        "status": run.status,
        "final": {"loss": _finite_or_none(run.final_loss), "log_loss": _finite_or_none(run.final_log_loss), "training_accuracy": None, "fraction_correct": None, "steps": int(run.steps), "time": float(run.time)},
        "predictor": [float(v) for v in W.reshape(-1)],
        "predictor_shape": list(data.shape),
        "params": {k: np.asarray(v).tolist() for k, v in run.params.items()},
        "outputs_eval": None,
        "predictions": pred_out,
        "predictions_skipped": skipped,
        "diagnostics": diag,
        "message": run.message,
        "model": "factorization",
        "data_kind": data.kind,
        "loss": loss_obj.name,
        "algorithm": algorithm,
        "lr": lr,
        "clock": ac.clock if algorithm in FLOW_NAMES else None,
        "wall_time": run.wall_time,
    }
    if as_json:
        sys.stdout.write(dumps(result, "result", nonfinite="null") + "\n")
        return
    _print(result, data, model, mc.symmetric, run)


def _print(result, data, model, symmetric, run):
    from rich.console import Console

    c = Console()
    diag = result["diagnostics"]
    c.print(f"[bold]factorization[/bold] ({data.kind}, {data.shape[0]}x{data.shape[1]}, depth {model.depth}{', symmetric' if symmetric else ''}) / {result['algorithm']}: status [bold]{run.status}[/bold] ({run.message})")
    c.print(f"final loss {run.final_loss:.4g}, steps {run.steps}, time {run.time:.6g}")
    c.print(f"singular values (top 8): {np.array2string(np.asarray(diag['singular_values'][:8]), precision=5)}; effective rank {diag['effective_rank']:.4g}")
    for p in result["predictions_skipped"]:
        c.print(f"prediction {p['name']} skipped: {p['reason']}")
    for p in result["predictions"]:
        c.print(f"prediction {p['name']} ({p['paper']}): relative error {p['relative_error']:.3g}, cosine {p['cosine']:.6f}")
