"""Arora et al. (2019)'s matrix-completion runs (issue 21, Performance), each beside its baseline.

Problem (the paper's size): ``W* (100, 100)`` of rank 5 (:func:`~implicit_bias.matrix_data.matrix_completion`,
``||W*||_F = 100``, seed 0), ``N`` observed entries, a depth-``L`` factorization from the
reference code's Gaussian init (``||W_e2e(0)||_F = init * sqrt(n)``: our ``"gaussian"``
initialization with ``scale = init * sqrt(100)``), trained until the train MSE
``1/N sum (W[i, j] - y)^2 <= 1e-6`` (our loss is ``1/(2N) sum``, so ``Stop(loss=5e-7)``).

1. One run (``N = 2000``, depth ``L = 3``, ``init = 1e-3``). Ours: :func:`implicit_bias.train`
   with :class:`~implicit_bias.algorithms.GradientFlow` (Tsit5, adaptive step: the small-init
   plateaus cost few steps), first call in the process (compilation included). Baseline: the
   reference method as a PyTorch eager loop in float64: gradient descent on the MSE with the
   reference's "GroupRMSprop" step (one global RMS of the whole gradient, ``lr = 0.01``,
   ``alpha = 0.99``, ``eps = 1e-4``, bias-corrected), from the *same* initial factors, until
   the same MSE, capped at ``CAP_S`` seconds (then the printed ratio is a lower bound, the notes
   say so). The eager loop runs on one thread (``torch.set_num_threads(1)``): measured on this
   shared 2-core machine, 8-9 ms per step on one thread against 320 ms with two (thread
   contention), so one thread is the baseline's best setting. A second row times our run as the
   first call in a new process whose on-disk compilation cache an earlier process filled
   (:func:`_common.first_call_with_warm_disk_cache`: what re-running a script costs; the cold
   first call pays the XLA compilation of the adaptive flow, measured ~37 s of the ~47 s here).

   Measured (2026-12-07, the machine shared with three other jobs): ours 87 s cold, 46 s with the
   warm disk cache, 10.4 s for a second call in the same process (1267 adaptive steps); the
   eager loop 6.4 ms per step did not reach MSE 1e-6 in 300 s (46852 steps, MSE 1.58e-6: the
   globally normalised step grows as the gradient shrinks, and the loss hovers just above the
   target), so the ratios 3.5x (cold) and 6.6x (warm cache) are lower bounds, short of the
   issue's 10x; an earlier two-thread eager run reached MSE 1.91e-6 after 9037 steps in 600 s. Both follow the gradient-flow path of the MSE: GroupRMSprop's step is the gradient
   times one global scalar, a time change of gradient descent; the notes print both end points'
   errors on the unobserved entries.
2. The grid (``python benchmarks/bench_arora.py --grid``; not in ``run()``, it takes minutes):
   depths 2, 3, 4; inits 1e-3 ... 1e-6; ``N`` in 2000, 5000 — through
   :func:`implicit_bias.train_many` (one vectorised call per ``(N, L)`` over the four inits),
   since :func:`implicit_bias.sweep` has no matrix-data path yet; wall time of the whole grid
   against the issue's target of 10 minutes.
"""

import sys
import time

import numpy as np

import implicit_bias as ib
from implicit_bias import matrix_data as mdata
from implicit_bias.algorithms import GradientFlow

from _common import first_call_with_warm_disk_cache

N_SIDE, RANK, MSE_TARGET = 100, 5, 1e-6
LR, ALPHA, EPS = 0.01, 0.99, 1e-4
CAP_S = 300.0


def _model(depth, init):
    return ib.models.MatrixFactorization((N_SIDE, N_SIDE), depth=depth, scale=init * np.sqrt(N_SIDE), initialization="gaussian")


def _hidden_error(data, W):
    hidden = np.ones(data.shape, dtype=bool)
    hidden[data.entries[:, 0], data.entries[:, 1]] = False
    return float(np.linalg.norm((W - data.W_star)[hidden]) / np.linalg.norm(data.W_star[hidden]))


def _ours(data, depth, init):
    m = _model(depth, init)
    t0 = time.perf_counter()
    run = ib.train(m, data.dataset, "square", GradientFlow(max_steps=1_000_000), ib.Stop(loss=MSE_TARGET / 2, max_steps=1_000_000))
    return time.perf_counter() - t0, run, m


def _torch(data, params, cap):
    import torch

    torch.set_num_threads(1)
    Ws = [torch.tensor(np.asarray(params[f"W{j}"]), dtype=torch.float64).requires_grad_(True) for j in range(1, len(params) + 1)]
    us, vs = (torch.tensor(np.asarray(data.entries[:, k]), dtype=torch.long) for k in (0, 1))
    y = torch.tensor(np.asarray(data.y), dtype=torch.float64)
    sq, steps, t0 = 0.0, 0, time.perf_counter()
    while True:
        E = Ws[0]
        for W in Ws[1:]:
            E = W @ E
        mse = torch.mean((E[us, vs] - y) ** 2)
        if mse.item() <= MSE_TARGET or time.perf_counter() - t0 > cap:
            break
        grads = torch.autograd.grad(mse, Ws)
        steps += 1
        sq = ALPHA * sq + (1 - ALPHA) * float(sum(g.pow(2).sum() for g in grads))
        lr = LR / (np.sqrt(sq / (1 - ALPHA**steps)) + EPS)
        with torch.no_grad():
            for W, g in zip(Ws, grads):
                W -= lr * g
    return time.perf_counter() - t0, float(mse), steps, E.detach().numpy()


def run():
    data = mdata.matrix_completion((N_SIDE, N_SIDE), RANK, 2000, seed=0)
    depth, init = 3, 1e-3
    ours_s, r, m = _ours(data, depth, init)
    p0 = {k: np.asarray(v) for k, v in m.init(0).items()}  # ib.train's seed 0: the same initial factors
    base_s, base_mse, steps, Wb = _torch(data, p0, CAP_S)
    capped = base_mse > MSE_TARGET
    W = np.asarray(r.predictor).reshape(N_SIDE, N_SIDE)
    warm_s = first_call_with_warm_disk_cache(
        "import bench_arora as b\nfrom implicit_bias import matrix_data as mdata\ndata = mdata.matrix_completion((100, 100), 5, 2000, seed=0)",
        f"b._ours(data, {depth}, {init})",
    )
    lb = " (baseline capped: ratio is a lower bound)" if capped else ""
    return [
        {
            "name": f"arora2019 100x100 r5 N=2000 depth {depth} init {init:g} to MSE<=1e-6",
            "ours_s": ours_s,
            "baseline": "torch eager GroupRMSprop loop",
            "baseline_s": base_s,
            "notes": f"ours GF {r.status}, {r.steps} steps, MSE {2 * r.final_loss:.2e}, unobserved-entry error {_hidden_error(data, W):.3e}; "
            f"torch {steps} steps, MSE {base_mse:.2e}, error {_hidden_error(data, Wb):.3e}"
            + (f" (capped at {CAP_S:.0f} s: ratio is a lower bound)" if capped else "") + f"; {1e3 * base_s / max(steps, 1):.2f} ms/eager step; target >= 10x",
        },
        {
            "name": "  same run, ours warm disk compilation cache",
            "ours_s": warm_s,
            "baseline": "torch eager GroupRMSprop loop",
            "baseline_s": base_s,
            "notes": "first call in a new process, XLA compilation read from the on-disk cache" + lb,
        },
    ]


def grid():
    t0, rows = time.perf_counter(), []
    inits = (1e-3, 1e-4, 1e-5, 1e-6)
    for N in (2000, 5000):
        data = mdata.matrix_completion((N_SIDE, N_SIDE), RANK, N, seed=0)
        for L in (2, 3, 4):
            t1 = time.perf_counter()
            runs = ib.train_many([_model(L, a) for a in inits], [data.dataset] * 4, "square", [GradientFlow(max_steps=1_000_000)] * 4, ib.Stop(loss=MSE_TARGET / 2, max_steps=1_000_000))
            errs = [_hidden_error(data, np.asarray(run.predictor).reshape(N_SIDE, N_SIDE)) for run in runs]
            rows.append((N, L, time.perf_counter() - t1, [run.status for run in runs], [run.steps for run in runs], errs))
            print(f"N={N} depth {L}: {rows[-1][2]:.1f} s, statuses {rows[-1][3]}, steps {rows[-1][4]}, errors {np.round(errs, 4).tolist()}", flush=True)
    total = time.perf_counter() - t0
    print(f"grid of 24 runs: {total:.1f} s (target <= 600 s)")
    return total, rows


if __name__ == "__main__":
    if "--grid" in sys.argv:
        grid()
    else:
        for row in run():
            print(row)
