"""jin-montufar2023 Thm 5 at paper size: a width-2^14 shallow ReLU net trained to zero training error.

The training of the Thm 5 check (``implicit_bias.experiments.splines``): ``ShallowReLU(2^14,
skip=True)``, Gaussian (1, 1) init, 6 points of ``sin 3x`` on ``[-1, 1]``, full-batch GD with step
``eta_bar/n`` on ``(w1, b1, w2)``, the affine part (skip, output bias) refitted by least squares
after every step, until ``MSE <= 1e-10`` (library loss ``(1/(2M)) sum (f - y)^2 <= 5e-11``).

ours: ``train_nets`` -> ``implicit_bias.train_many``: all seeds in one jitted, vmapped
``lax.while_loop``; the wall time includes compilation (a user's first call). ``train_nets``
runs ``Optax(width_scaled_gd(...))`` with a fused step (``splines._FusedWidthGD``): the
gradient of the square loss in closed form in one pass over the units (no autodiff forward
pass), and the hidden-layer outputs of the least-squares refit carried to the next step as its
residuals, so one step is one elementwise pass plus the M refit sums.

baseline: what a researcher would otherwise write, a PyTorch eager loop per seed doing the same
steps in float64 (autograd for the gradient, ``torch.no_grad`` updates, the least-squares refit,
``loss.item()`` for the stopping test every step), one thread: on this shared 2-core machine
``torch.set_num_threads(2)`` swings between 0.6 and 80 ms per step from contention (measured),
one thread stays at ~0.8 ms; taking the stable one is generous to the baseline. Both routes must
reach the same function (max difference on a grid <= 1e-6) in the same number of steps (+-1).

Also printed: the same first call in a new process whose on-disk compilation cache
(``ib.enable_compilation_cache``) was filled by an earlier run (what a researcher re-running a
script sees), the same training called a second time (compiled: the per-step cost alone), and
the per-step cost of plain GD (``GradientDescent``, all parameters, autodiff through
``ShallowReLU.apply``, which for N <= 16 samples and d <= 4 works on one n-vector per sample:
the N sums in one variadic reduction, a ``custom_jvp`` whose derivative is elementwise, instead
of the ``(N, n)`` matrix form) for the same batch, ours vs torch, at a fixed number of steps.

Where the time goes (measured on this machine at load ~3.5 on its 2 shared cores):
the fused step alone in a vmapped ``fori_loop`` costs ~210 us per seed-step, ``train_many``'s
per-step bookkeeping (finiteness test of every parameter, freezing finished points with
selects, loop-carried copies) adds ~70 us, and the first call pays ~1 s of XLA compilation
(~0.75 s for the training loop alone, 26 compilations in all). The same step written as one
C loop over the units (a one-off measurement, not in this repository: gcc -O3 -march=native,
one read and one write of the 3n parameters plus the M refit sums) takes ~42 us per seed-step
on this machine, so XLA's CPU code (the M sums are a scalar, unvectorised reduction; the update
is 2-3 loop fusions each recomputing the M per-sample terms; the loop adds isfinite/select/copy
passes) is ~5x from the hardware. And 10x end to end means the whole run in a tenth of torch's
~4-7 s, which the ~1 s compilation of a jitted JAX loop alone (nearly) uses up.
"""

import time

import numpy as np

import implicit_bias as ib
from implicit_bias.experiments import splines as S
from implicit_bias.models import ShallowReLU

from _common import first_call_with_warm_disk_cache  # benchmarks/_common.py

WIDTH = 2**14
SEEDS = 12  # as the full profile of the Thm 5 check (jin-montufar2023-thm5)
FEW = 4
LOSS = 5e-11  # library loss 1/(2M) sum (f - y)^2, i.e. MSE <= 1e-10
MAX_STEPS = 100_000


def _setup():
    ds = S.spline_data(6, target="sin3")
    x = ds.X[:, 0]
    dist = ShallowReLU(2, **S._GAUSS).distribution
    eta = S.stable_eta_bar(x, dist, projected=True, fraction=0.8)
    p0 = [S.fit_affine(p, ds.X, ds.y) for p in S.draw_inits([WIDTH], range(SEEDS), tag=123, **S._GAUSS)]
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
    diff = max(float(np.max(np.abs(S.evaluate_net(q, xe) - S.evaluate_net(b[1], xe)))) for q, b in zip(params, base))
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
            "notes": "the fixed first-call cost (compilation ~0.35 s, tracing) weighs more with fewer seeds",
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
