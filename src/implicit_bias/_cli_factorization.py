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

import json
import math
import sys

import numpy as np

__all__ = ["MATRIX_PREDICTIONS", "MATRIX_INITS", "fit_factorization"]

#: ``--predict`` names for ``--model factorization``: (paper, where, description).
MATRIX_PREDICTIONS = {
    "min-nuclear": ("gunasekar2017", "Conj. 1", "argmin ||W||_* s.t. the observations (cvxpy SDP)"),
    "min-nuclear-psd": ("gunasekar2017", "Thm 1", "argmin tr W over PSD W s.t. the observations (cvxpy SDP)"),
    "min-frobenius": ("vardi2022", "§4.3", "argmin ||W||_F s.t. the observations (kernel regime; closed form)"),
    "commuting-limit": ("gunasekar2017", "§3", "exact limit of U U^T from U(0) = scale I, commuting sensing (entropic problem)"),
}
#: ``--init`` values that name an initialization rather than a file.
MATRIX_INITS = ("gaussian", "identity", "balanced")


def _finite_or_none(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _prediction(name, data, scale):
    from .theory import factorization as tf

    if name == "min-nuclear":
        return tf.min_nuclear_norm(data)
    if name == "min-nuclear-psd":
        return tf.min_nuclear_norm(data, psd=True)
    if name == "min-frobenius":
        return tf.min_frobenius_norm(data)
    return tf.commuting_limit(data)(scale)


def fit_factorization(
    path: str,
    *,
    depth: int,
    scale: float,
    symmetric: bool,
    init: str | None,
    loss: str,
    algorithm: str,
    lr: float | None,
    solver: str | None,
    stop_loss: float | None,
    max_steps: int,
    seed: int,
    predict: list,
    want_sharpness: bool,
    as_json: bool,
    quiet: bool,
) -> None:
    """Train ``MatrixFactorization`` on the matrix data at ``path`` and report (JSON or text).

    Raises:
        ValueError: bad data file, flags or predictions (one line; exit code 2 from the CLI).
    """
    import jax

    from . import diagnostics
    from .algorithms import Objective, get_algorithm, get_solver
    from .config import load_init
    from .losses import get_loss
    from .matrix_data import load_matrix
    from .models import MatrixFactorization
    from .theory import factorization as tf
    from .train import Stop, train

    data = load_matrix(path)
    if loss not in ("auto", "square"):
        raise ValueError(f"--model factorization trains on the square loss (matrix sensing/completion); received --loss {loss}")
    if algorithm not in ("flow", "gd"):
        raise ValueError(f"--model factorization supports --algorithm flow or gd; received {algorithm}")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"--scale must be a finite number > 0 for --model factorization; received {scale}")
    bad = [p for p in predict if p not in MATRIX_PREDICTIONS]
    if bad:
        raise ValueError(f"--predict {bad[0]!r} is not a matrix prediction: use one of {', '.join(MATRIX_PREDICTIONS)}")
    initialization, init_params = None, None
    if init is not None and init.strip().lower() in MATRIX_INITS:
        initialization = init.strip().lower()
    elif init is not None:
        init_params = load_init(init, "--init")
    observations = data.kind
    model = MatrixFactorization(data.shape, depth=depth, scale=scale, initialization=initialization, symmetric=symmetric, observations=observations, init_params=init_params)
    ds = data.dataset
    loss_obj = get_loss("square")
    params0 = model.init(jax.random.fold_in(jax.random.key(seed), 0))
    objective = Objective(model, loss_obj, np.asarray(ds.X), np.asarray(ds.y))
    kw = {}
    if solver is not None:
        if algorithm != "flow":
            raise ValueError(f"--solver applies to --algorithm flow, not {algorithm}")
        kw["solver"] = get_solver(solver)
    if algorithm == "gd":
        if lr is None:
            s0 = diagnostics.sharpness(objective, params0)
            lr = 1.0 / s0 if s0 > 1e-12 else 0.1
        kw["lr"] = lr
    alg = get_algorithm(algorithm, **kw)
    stop = Stop(loss=1e-12 if stop_loss is None else stop_loss, max_steps=max_steps)
    run = train(model, ds, loss_obj, alg, stop, record=("loss",), seed=seed, init=params0, progress=not (quiet or as_json))
    W = np.asarray(model.matrix(run.params))
    preds = []
    for name in predict:
        p = _prediction(name, data, scale)
        paper, _, _ = MATRIX_PREDICTIONS[name]
        preds.append(
            {
                "name": name,
                "paper": paper,
                "predictor": p.predictor.tolist(),
                "predictor_shape": list(data.shape),
                "relative_error": _finite_or_none(diagnostics.relative_error(W.reshape(-1), p.predictor)),
                "cosine": _finite_or_none(diagnostics.cosine(W.reshape(-1), p.predictor)),
            }
        )
    diag = {
        "sharpness": _finite_or_none(diagnostics.sharpness(objective, run.params)) if want_sharpness else None,
        "singular_values": [float(v) for v in tf.singular_values(W)],
        "effective_rank": float(tf.effective_rank(W)),
        "stable_rank": float(tf.stable_rank(W)),
    }
    result = {
        "status": run.status,
        "final": {
            "loss": _finite_or_none(run.final_loss),
            "log_loss": _finite_or_none(run.final_log_loss),
            "training_accuracy": None,
            "steps": int(run.steps),
            "time": float(run.time),
        },
        "predictor": [float(v) for v in W.reshape(-1)],
        "predictor_shape": list(data.shape),
        "params": {k: np.asarray(v).tolist() for k, v in run.params.items()},
        "outputs_eval": None,
        "predictions": preds,
        "diagnostics": diag,
        "message": run.message,
        "model": "factorization",
        "data_kind": data.kind,
        "loss": loss_obj.name,
        "algorithm": algorithm,
        "lr": lr,
        "wall_time": run.wall_time,
    }
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    from rich.console import Console

    c = Console()
    c.print(f"[bold]factorization[/bold] ({data.kind}, {data.shape[0]}x{data.shape[1]}, depth {model.depth}{', symmetric' if symmetric else ''}) / {algorithm}: status [bold]{run.status}[/bold] ({run.message})")
    c.print(f"final loss {run.final_loss:.4g}, steps {run.steps}, time {run.time:.6g}")
    c.print(f"singular values (top 8): {np.array2string(np.asarray(diag['singular_values'][:8]), precision=5)}; effective rank {diag['effective_rank']:.4g}")
    for p in preds:
        c.print(f"prediction {p['name']} ({p['paper']}): relative error {p['relative_error']:.3g}, cosine {p['cosine']:.6f}")
