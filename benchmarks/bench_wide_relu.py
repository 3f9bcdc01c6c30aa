"""jin-montufar2023 Thm 5 at paper size: a width-2^14 shallow ReLU net trained to zero training error.

The training of the Thm 5 check (``implicit_bias.experiments.splines``): ``ShallowReLU(2^14,
skip=True)``, Gaussian (1, 1) init, 6 points of ``sin 3x`` on ``[-1, 1]``, full-batch GD with step
``eta_bar/n`` on ``(w1, b1, w2)``, the affine part (skip, output bias) refitted by least squares
after every step, until ``MSE <= 1e-10`` (library loss ``(1/(2M)) sum (f - y)^2 <= 5e-11``).

ours: ``train_nets`` -> ``implicit_bias.train_many``: all seeds in one jitted, vmapped
``lax.while_loop``; the headline wall time includes compilation (a user's first call in a new
process). 12 seeds, as the full profile of the Thm 5 check; 4- and 24-seed rows (each a new
process) show how the fixed first-call cost (~0.5 s) weighs with fewer seeds and amortises with more. ``train_nets`` runs
``implicit_bias.algorithms.WidthScaledGD`` (``Optax(width_scaled_gd(...))`` with the step fused by hand): the update of ``(w1, b1, w2)`` in closed form as
one variadic reduction over the samples (no autodiff), and the
hidden-layer outputs of the least-squares refit carried to the next step as its residuals, so
one step is one pass over the units for the update and one for the M refit sums; and with
``fast_math=True`` (``train_many``'s option: XLA CPU reassociation, NaN/Inf kept), which
vectorises those sums.

baseline: what a researcher would otherwise write, a PyTorch eager loop per seed doing the same
steps in float64 (autograd for the gradient, ``torch.no_grad`` updates, the least-squares refit,
``loss.item()`` for the stopping test every step), one thread: on this shared 2-core machine
``torch.set_num_threads(2)`` swings between 0.6 and 80 ms per step from contention (measured),
one thread stays at ~0.8 ms; taking the stable one is generous to the baseline. Both routes must
reach the same function (max difference on a grid <= 1e-6) in the same number of steps (+-1).

Also printed: the same first call in a new process whose on-disk compilation cache
(``ib.enable_compilation_cache``) was filled by an earlier run (what a researcher re-running a
script sees), the same training called a second time (compiled: the per-step cost alone), the
same with ``fast_math=False``, and the per-step cost of plain GD (``GradientDescent``, all
parameters, autodiff through ``ShallowReLU.apply``) for the same batch, ours vs torch, at a fixed
number of steps.

Where the time went, and what changed it (idle machine, us per seed-step):
the step written as three elementwise updates made XLA's CPU fusion recompute the 6 masks per
unit in each output and again in every consumer (the finiteness test, the freezing selects, the
next refit sum): 155 us (4 seeds). One variadic reduction materialises the update once: 89 us.
Fast math (the refit sums and the update vectorise): 64 us. ``train_many``'s finiteness check
of the new parameters (a reduction of ``isfinite`` over all 3 x 2^14 parameters per seed, which
XLA CPU does not vectorise; neither do max-abs, bit-mask, counting or, without reassociation,
float-sum variants, measured) then cost as much as the step: the same step in a bare
``fori_loop`` ran at 37 us. Folded into the step's own refit pass (one more sum,
``checks_finite``): 41 us with fast math, 64 us without (from 90). The first call's overhead fell
from ~1.06 s to ~0.4 s: no small host-side compilations (``jnp.stack``/``jnp.asarray``/indexing
of host arrays, the threefry key on the host, a separate initial-loss program: 23 of the 26
compilations), and ``Run.trajectory`` built on first access (the first ``xarray.Dataset`` of a
process imports dask.array, ~0.3 s). What remains: ~0.3 s of XLA compilation of the loop,
~0.1 s tracing. A one-off C loop of the same step (gcc -O3 -march=native, not in this
repository) took ~42 us per seed-step: XLA is now on par with it.
"""

import time

import numpy as np

import implicit_bias as ib
from implicit_bias.experiments import splines as S
from implicit_bias.models import ShallowReLU
from implicit_bias.theory import stable_eta_bar
from implicit_bias.univariate import evaluate, fit_affine

from _common import first_call_with_warm_disk_cache  # benchmarks/_common.py

GAUSS = {"init_dist": "gaussian", "sigma_w": 1.0, "sigma_b": 1.0}  # the Thm 5 check's Gaussian (1, 1) init

WIDTH = 2**14
SEEDS = 12  # as the full profile of the Thm 5 check (jin-montufar2023-thm5)
FEW = 4
MANY = 24  # a larger batch: the first call's fixed overhead amortised over more seeds
LOSS = 5e-11  # library loss 1/(2M) sum (f - y)^2, i.e. MSE <= 1e-10
MAX_STEPS = 100_000


def _setup(seeds=SEEDS):
    ds = S.spline_data(6, target="sin3")
    x = ds.X[:, 0]
    dist = ShallowReLU(2, **GAUSS).distribution
    eta = stable_eta_bar(x, dist, projected=True, fraction=0.8)
    p0 = [fit_affine(p, ds.X, ds.y) for p in S.draw_inits([WIDTH], range(seeds), tag=123, **GAUSS)]
    return ds, eta, p0


def _torch_varpro(ds, p, eta_bar, threads, max_steps, tol=LOSS):
    import torch

    torch.set_num_threads(threads)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    X, y = t(ds.X), t(ds.y)
    w1, b1, w2 = (t(p[k]).requires_grad_() for k in ("w1", "b1", "w2"))
    skip, b2 = t(p["skip"]), t(p["b2"])
    D = torch.stack([X[:, 0], torch.ones(X.shape[0], dtype=torch.float64)], 1)
    Dpinv = torch.linalg.pinv(D)
    lr = eta_bar / w2.shape[0]
    steps = 0
    while steps < max_steps:
        f = torch.relu(X @ w1.T + b1) @ w2 + b2 + X @ skip
        loss = 0.5 * torch.mean((f - y) ** 2)
        if loss.item() <= tol:
            break
        w1.grad = b1.grad = w2.grad = None
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            b1 -= lr * b1.grad
            w2 -= lr * w2.grad
            F = torch.relu(X @ w1.T + b1) @ w2
            coef = Dpinv @ (y - F)
            skip, b2 = coef[:1].clone(), coef[1].clone()
        steps += 1
    return steps, {"w1": w1.detach().numpy(), "b1": b1.detach().numpy(), "w2": w2.detach().numpy(), "skip": skip.numpy(), "b2": b2.numpy()}


def _torch_gd_steps(ds, p, lr, threads, steps):
    import torch

    torch.set_num_threads(threads)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    X, y = t(ds.X), t(ds.y)
    params = [t(p[k]).requires_grad_() for k in ("w1", "b1", "w2", "skip", "b2")]
    opt = torch.optim.SGD(params, lr=lr)
    w1, b1, w2, skip, b2 = params
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * torch.mean((torch.relu(X @ w1.T + b1) @ w2 + b2 + X @ skip - y) ** 2)
        loss.backward()
        opt.step()
        loss.item()


def _train(ds, eta, p0, fast_math=True):
    return S.train_nets(ds, p0, eta, affine="exact", loss=LOSS, max_steps=MAX_STEPS, pad_to=None, fast_math=fast_math)


def run():
    ds, eta, p0 = _setup()
    xe = np.linspace(-1.0, 1.0, 401)
    # ours: one vmapped batch, compilation included (a new process's first call)
    t0 = time.perf_counter()
    params, runs = _train(ds, eta, p0)
    t_ours = time.perf_counter() - t0
    ok = all(r.status == "converged" for r in runs)
    steps_ours = [r.steps for r in runs]
    threads = 1
    t_seed, base = [], []
    for p in p0:
        t0 = time.perf_counter()
        base.append(_torch_varpro(ds, p, eta, threads, MAX_STEPS))
        t_seed.append(time.perf_counter() - t0)
    t_base = sum(t_seed)
    t_base_few = sum(t_seed[:FEW])
    steps_base = [b[0] for b in base]
    # the same training again: compiled (train_nets caches its transformation), per-step cost alone
    t0 = time.perf_counter()
    _train(ds, eta, p0)
    t_ours2 = time.perf_counter() - t0
    _train(ds, eta, p0, fast_math=False)
    t0 = time.perf_counter()
    _train(ds, eta, p0, fast_math=False)
    t_strict = time.perf_counter() - t0
    t_warm = first_call_with_warm_disk_cache('import bench_wide_relu as B\nds, eta, p0 = B._setup()', "B._train(ds, eta, p0)")
    t_few = first_call_with_warm_disk_cache('import bench_wide_relu as B\nds, eta, p0 = B._setup()', "B._train(ds, eta, p0[:B.FEW])", warm=False)
    t_many = first_call_with_warm_disk_cache('import bench_wide_relu as B\nds, eta, p0 = B._setup(B.MANY)', "B._train(ds, eta, p0)", warm=False)
    p_extra = _setup(MANY)[2][SEEDS:]  # seeds SEEDS..MANY-1 (draw_inits: the same inits for the first SEEDS)
    t_extra = 0.0
    for p in p_extra:
        t0 = time.perf_counter()
        _torch_varpro(ds, p, eta, threads, MAX_STEPS)
        t_extra += time.perf_counter() - t0
    diff = max(float(np.max(np.abs(evaluate(q, xe) - evaluate(b[1], xe)))) for q, b in zip(params, base))
    same = ok and diff <= 1e-6 and all(abs(a - b) <= 1 for a, b in zip(steps_ours, steps_base))
    per = lambda t: t / (max(steps_ours) * SEEDS) * 1e6  # noqa: E731
    rows = [
        {
            "name": f"Thm 5 net 2^14 x {SEEDS} seeds to MSE<=1e-10",
            "ours_s": t_ours,
            "baseline": f"torch eager/seed ({threads} thr)",
            "baseline_s": t_base,
            "notes": (
                f"first call, compilation included; {SEEDS} seeds as the full-profile Thm 5 check; steps {steps_ours} (torch {steps_base}); "
                f"same function: {same} (max diff {diff:.1e}); torch {t_base / sum(steps_base) * 1e3:.2f} ms/step"
            ),
        },
        {
            "name": f"  same, {FEW} seeds, first call in a new process",
            "ours_s": t_few,
            "baseline": f"torch eager/seed ({threads} thr)",
            "baseline_s": t_base_few,
            "notes": "the fixed first-call cost (compilation ~0.3 s, tracing) weighs more with fewer seeds",
        },
        {
            "name": f"  same, {MANY} seeds, first call in a new process",
            "ours_s": t_many,
            "baseline": f"torch eager/seed ({threads} thr)",
            "baseline_s": t_base + t_extra,
            "notes": f"and less with more: the fixed cost amortised over {MANY} seeds (torch: the {SEEDS} above + {MANY - SEEDS} more)",
        },
        {
            "name": "  same, new process, warm on-disk cache",
            "ours_s": t_warm,
            "baseline": f"torch eager/seed ({threads} thr)",
            "baseline_s": t_base,
            "notes": f"ib.enable_compilation_cache(): a rerun of the script skips XLA compilation (tracing remains); first-call overhead {t_warm - t_ours2:.2f} s instead of {t_ours - t_ours2:.2f} s",
        },
        {
            "name": "  same, second call (compiled)",
            "ours_s": t_ours2,
            "baseline": f"torch eager/seed ({threads} thr)",
            "baseline_s": t_base,
            "notes": (
                f"compilation and first-call overhead {t_ours - t_ours2:.2f} s; ours {per(t_ours2):.0f} us per seed-step "
                f"(vmapped: {max(steps_ours)} steps x {SEEDS} seeds), torch {t_base / sum(steps_base) * 1e6:.0f} us"
            ),
        },
        {
            "name": "  same, compiled, fast_math=False",
            "ours_s": t_strict,
            "baseline": f"torch eager/seed ({threads} thr)",
            "baseline_s": t_base,
            "notes": f"strict IEEE summation order: {per(t_strict):.0f} us per seed-step (fast math: {per(t_ours2):.0f})",
        },
    ]
    # per-step cost of plain GD (all parameters), fixed number of steps, compiled once
    n_steps = 2000
    model = ShallowReLU(WIDTH, skip=True)
    alg = ib.GradientDescent(lr=1e-3 / WIDTH)
    rec = ib.Record(fields=("loss",), growth=1e9)
    ib.train_many([model] * SEEDS, [ds] * SEEDS, "square", [alg] * SEEDS, ib.Stop(max_steps=2), rec, inits=p0)  # compile
    t0 = time.perf_counter()
    ib.train_many([model] * SEEDS, [ds] * SEEDS, "square", [alg] * SEEDS, ib.Stop(max_steps=n_steps), rec, inits=p0)
    t_gd = time.perf_counter() - t0
    _torch_gd_steps(ds, p0[0], 1e-3 / WIDTH, threads, 20)  # warm-up
    t_tgd = float("inf")
    for _ in range(3):  # best of 3 (generous to the baseline on a shared machine)
        t0 = time.perf_counter()
        _torch_gd_steps(ds, p0[0], 1e-3 / WIDTH, threads, n_steps // 10)
        t_tgd = min(t_tgd, (time.perf_counter() - t0) * 10 * SEEDS)
    rows.append(
        {
            "name": f"plain GD step cost, 2^14 x {SEEDS} seeds x {n_steps}",
            "ours_s": t_gd,
            "baseline": f"torch eager/seed ({threads} thr)",
            "baseline_s": t_tgd,
            "notes": f"ours {t_gd / n_steps / SEEDS * 1e6:.0f} us per seed-step, torch {t_tgd / n_steps / SEEDS * 1e6:.0f} us (torch: best of 3 x {n_steps // 10} steps of one seed)",
        }
    )
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
