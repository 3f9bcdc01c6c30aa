"""The Thm 8 width grid (issue 24): d = 2, widths 2^9 .. 2^13, 4 seeds, through ``ib.sweep``.

The training of the ``jin-montufar2023-thm8-multivariate`` check (full profile's widths):
``ShallowReLU(n, input_dim=2, skip=True)``, antisymmetric Gaussian (1, 1) init (``f(., theta_0) =
0``), the 9 points of ``experiments.wide.thm8_data()`` (written to an ``.npz`` data file),
full-batch GD with step ``eta_bar/n`` on ``(w1, b1, w2)`` and the affine part ``(skip, b2)``
refitted by least squares every step (``algorithm: {name: width-scaled-gd, lr: eta_bar}``, which
on d = 2 data is ``PowerWidthScaledGD``), ``eta_bar = 0.8 M / lambda_max(P K P)`` (as the check),
until the library loss ``(1/(2M)) sum (f - y)^2 <= 1e-10``.

ours: one ``ib.sweep`` call over ``model.width`` x 4 seeds (``backend="vmap"``: one vmapped batch
per width, the 4 seeds together), into a temporary store, end to end *including* compilation
(a new process's first call). Points/s reported.

baseline: what a researcher would otherwise write, a PyTorch eager loop per point in float64
(autograd of the projected loss ``(1/(2M)) ||P (f_hidden - y)||^2``, ``P = I - D pinv(D)``,
``D = [X, 1]``: the loss with the affine part at its least-squares fit, as the library's step;
``torch.no_grad`` updates, the refit, ``loss.item()`` for the stopping test every step, the same
stopping rule), one thread (see ``bench_wide_relu.py``: on this shared 2-core machine one thread is
the stable and fastest setting for these sizes). The eager loop runs seed 0 of every width to the
end (its end point must match the sweep's: same step counts +-1, max difference on a 21 x 21 grid
<= 1e-6); the other seeds are *extrapolated*: the measured eager seconds per step at that width
times the number of steps the sweep's point took (the eager loop would take as many: same
algorithm, same stopping rule). The output says so; torch is warmed up first (50 steps), which
is generous to it. Also printed: the same grid in a new process whose on-disk compilation cache
an earlier process filled (a rerun of the script), and the grid for 4 other seeds in the same
process (compiled: the per-step cost and the sweep's own overhead).

Measured (2026-12-07, the shared 2-core machine at load ~6, one run): end to end 32.9 s
(0.61 points/s) vs torch 9.6 s: 0.29x; warm on-disk cache 17.0 s: 0.56x; compiled 5.2 s (3.9
points/s): 1.86x. Same end points (seed 0 of every width: same step counts, max grid difference
4e-15). **The issue's target (>= 5x end to end including compilation) is not met.** Why: at
``eta_bar = 0.8 M / lambda_max`` the runs are short (317-507 steps), so the first call is 84%
compilation and first-call overhead (27.7 of 32.9 s): ``model.width`` changes array shapes, so
the sweep compiles one program per width (5), ~5 s each here; and the step (autodiff of the
model, then the refit) costs 0.8 ms per point-step on average (5.2 s for 6458 point-steps) against torch's 0.65-3.5 ms. What
would close the gap: a width axis of width-scaled points run as one zero-padded program (as
``experiments.wide.train_power_nets(pad_to=...)`` does; one compilation) and a hand-fused
``d``-dimensional step as ``WidthScaledGD``'s (one pass over the units: ~50 us per seed-step at
n = 2^14 for d = 1).
"""

import os
import tempfile
import time

import jax
import numpy as np

import implicit_bias as ib
from implicit_bias.experiments.wide import thm8_data
from implicit_bias.models import ShallowReLU
from implicit_bias.models.init import Gaussian
from implicit_bias.theory.multivariate import relu_feature_kernel
from implicit_bias.univariate import evaluate_power_net

from _common import first_call_with_warm_disk_cache  # benchmarks/_common.py

WIDTHS = [2**j for j in range(9, 14)]
SEEDS = [0, 1, 2, 3]
LOSS = 1e-10
MAX_STEPS = 200_000


def _eta_bar(ds):
    """``0.8 M / lambda_max(P K P)``, ``K`` the arc-cosine feature kernel of the Gaussian (1, 1) init (as the check)."""
    M = ds.y.size
    D = np.concatenate([ds.X, np.ones((M, 1))], 1)
    P = np.eye(M) - D @ np.linalg.pinv(D)
    return float(0.8 * M / np.linalg.eigvalsh(P @ relu_feature_kernel(ds.X, ds.X, Gaussian(sigma_w=1.0, sigma_b=1.0)) @ P)[-1])


def _config(path, eta):
    return {
        "name": "bench-thm8-width",
        "data": {"path": path},
        "model": {"name": "relu", "width": WIDTHS[0], "skip": True, "antisymmetric": True, "init_dist": "gaussian", "sigma_w": 1.0, "sigma_b": 1.0},
        "loss": "square",
        "algorithm": {"name": "width-scaled-gd", "lr": eta},
        "stop": {"loss": LOSS, "max_steps": MAX_STEPS},
        "record": ["final_loss", "status", "steps", "params"],
        "grid": {"model.width": WIDTHS},
        "seeds": SEEDS,
    }


def _init(width, seed):
    """The sweep's initial parameters of point (width, seed) (``train_many``: ``model.init(fold_in(key(seed), 0))``)."""
    m = ShallowReLU(width, input_dim=2, skip=True, antisymmetric=True, init_dist="gaussian", sigma_w=1.0, sigma_b=1.0)
    return {k: np.asarray(v) for k, v in m.init(jax.random.fold_in(jax.random.key(seed), 0)).items()}


def _torch(ds, p, eta_bar, max_steps=MAX_STEPS, tol=LOSS):
    """The eager loop; returns (steps, final params)."""
    import torch

    torch.set_num_threads(1)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    X, y = t(ds.X), t(ds.y)
    w1, b1, w2 = (t(p[k]).requires_grad_() for k in ("w1", "b1", "w2"))
    D = torch.cat([X, torch.ones(X.shape[0], 1, dtype=torch.float64)], 1)
    Dpinv = torch.linalg.pinv(D)
    lr = eta_bar / w2.shape[0]
    steps = 0
    while steps < max_steps:
        r = torch.relu(X @ w1.T + b1) @ w2 - y
        r = r - D @ (Dpinv @ r)  # the residual with (skip, b2) at their least-squares fit
        loss = 0.5 * torch.mean(r**2)
        if loss.item() <= tol:
            break
        w1.grad = b1.grad = w2.grad = None
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            b1 -= lr * b1.grad
            w2 -= lr * w2.grad
        steps += 1
    with torch.no_grad():
        coef = Dpinv @ (y - torch.relu(X @ w1.T + b1) @ w2)
    return steps, {"w1": w1.detach().numpy(), "b1": b1.detach().numpy(), "w2": w2.detach().numpy(), "skip": coef[:2].numpy(), "b2": coef[2].numpy()}


def sweep_once():
    """The grid (seeds 0-3) into a new temporary store: what a rerun of a script does (``_common``'s warm-cache timing)."""
    ds = thm8_data()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "thm8.npz")
        np.savez(path, X=ds.X, y=ds.y)
        return ib.sweep(_config(path, _eta_bar(ds)), backend="vmap", store=os.path.join(tmp, "store"), progress=False)


def _point_params(out, width, seed):
    pt = out.sel({"model.width": width, "seed": seed})
    out = {k: np.asarray(pt["param_" + k].values) for k in ("w1", "b1", "w2", "skip", "b2")}
    return {k: (v[:width] if k in ("w1", "b1", "w2") else v) for k, v in out.items()}  # the sweep NaN-pads units to the widest point


def run():
    ds = thm8_data()
    eta = _eta_bar(ds)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "thm8.npz")
        np.savez(path, X=ds.X, y=ds.y)
        t0 = time.perf_counter()
        out = ib.sweep(_config(path, eta), backend="vmap", store=os.path.join(tmp, "store"), progress=False)
        t_ours = time.perf_counter() - t0
        # the same grid for 4 other seeds in the same process: the programs are compiled (per-step cost and sweep overhead)
        cfg2 = _config(path, eta) | {"name": "bench-thm8-width-2", "seeds": [s + len(SEEDS) for s in SEEDS]}
        t0 = time.perf_counter()
        out2 = ib.sweep(cfg2, backend="vmap", store=os.path.join(tmp, "store"), progress=False)
        t_ours2 = time.perf_counter() - t0
    t_warm = first_call_with_warm_disk_cache("import bench_thm8_width as B", "B.sweep_once()")
    steps = out.steps.values  # (width, seed)
    _torch(ds, _init(WIDTHS[0], 0), eta, max_steps=50)  # warm-up: torch's first call (allocator, kernels) is not the loop's cost
    statuses = {s: int((out.status.values == s).sum()) for s in np.unique(out.status.values)}
    t = np.linspace(-1.0, 1.0, 21)
    Xe = np.stack(np.meshgrid(t, t), -1).reshape(-1, 2)
    t_base, per_step, agree, diffs = 0.0, {}, [], []
    for i, w in enumerate(WIDTHS):
        t0 = time.perf_counter()
        n_t, q = _torch(ds, _init(w, 0), eta)
        dt = time.perf_counter() - t0
        per_step[w] = dt / max(n_t, 1)
        t_base += dt + per_step[w] * float(steps[i, 1:].sum())  # seed 0 measured, seeds 1..3 extrapolated per step
        diffs.append(float(np.max(np.abs(evaluate_power_net(q, Xe) - evaluate_power_net(_point_params(out, w, 0), Xe)))))
        agree.append(abs(n_t - int(steps[i, 0])) <= 1)
    points = len(WIDTHS) * len(SEEDS)
    same = all(agree) and max(diffs) <= 1e-6
    t_base2 = sum(per_step[w] * float(out2.steps.values[i].sum()) for i, w in enumerate(WIDTHS))  # torch for the second grid, per step
    return [
        {
            "name": f"Thm 8 width grid: d=2, widths 2^9..2^13 x {len(SEEDS)} seeds via ib.sweep",
            "ours_s": t_ours,
            "baseline_s": t_base,
            "baseline": "torch eager/point (1 thr)",
            "notes": (
                f"{points / t_ours:.2f} points/s end to end incl. compile (torch {points / t_base:.3f}); statuses {statuses}; steps per width (max over seeds) "
                f"{[int(s) for s in steps.max(axis=1)]}; eta_bar {eta:.3g}; torch: seed 0 of each width run to the end, seeds 1-3 extrapolated "
                f"at its measured {', '.join(f'{1e3 * per_step[w]:.2f}' for w in WIDTHS)} ms/step; same end points as the sweep (seed 0): {same} "
                f"(max grid difference {max(diffs):.1e})"
            ),
        },
        {
            "name": "  same grid, new process, warm on-disk cache",
            "ours_s": t_warm,
            "baseline_s": t_base,
            "baseline": "torch eager/point (1 thr)",
            "notes": "ib.enable_compilation_cache(): a rerun of the script skips XLA compilation (tracing remains)",
        },
        {
            "name": "  same grid, 4 other seeds, compiled (same process)",
            "ours_s": t_ours2,
            "baseline_s": t_base2,
            "baseline": "torch eager/point (1 thr)",
            "notes": (
                f"{points / t_ours2:.2f} points/s; the first call's compilation and first-call overhead: {t_ours - t_ours2:.1f} s of {t_ours:.1f} s "
                f"(one program per width: model.width changes shapes); torch extrapolated at the per-step costs above x the sweep's {int(out2.steps.values.sum())} steps"
            ),
        },
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
