"""The step-size sweep of ``even2023-effective-init`` (issue 23): 20 step sizes, GD and batch-1 SGD.

Tied depth-2 diagonal net, d = 30, n = 20, 3-sparse noiseless target, ``u_±(0) = 0.1``, step sizes
``geomspace(0.05, 1.2, 20)`` (GD) and ``geomspace(0.005, 0.12, 20)`` (SGD, batch 1: its stable
steps are ~n times smaller), each run to ``L <= 1e-22`` or 10^5 steps (a step past the stability
bound ends ``diverged``). ``ours``: two ``ib.sweep`` calls (one per algorithm, 20 points each,
``backend="vmap"``, no store), end to end *including* compilation, cold. Baseline: the same
updates as a PyTorch eager loop in float64, same stopping rule (loss checked every step, as the
compiled loop does). The eager loop is timed on two full runs (GD at 0.3, SGD at 0.03) and its
measured seconds per step are multiplied by the total number of steps the sweep's 40 runs took
(the eager loop would take exactly as many: same algorithm, same stopping rule); the two routes'
end points are compared on the timed runs. The issue's target: >= 10x; points/s reported.
"""

import time

import numpy as np

import implicit_bias as ib

N, D, ALPHA, MAX_STEPS, TARGET = 20, 30, 0.1, 100_000, 1e-22
LRS = {"gd": np.geomspace(0.05, 1.2, 20), "sgd": np.geomspace(0.005, 0.12, 20)}


def _config(name):
    alg = {"name": name, "lr": float(LRS[name][0])} | ({"batch_size": 1} if name == "sgd" else {})
    return {
        "name": f"bench-step-size-{name}",
        "data": {"generator": "sparse_regression", "n": N, "d": D, "sparsity": 3, "noise_var": 0.0, "seed": 0},
        "model": {"name": "diagonal", "depth": 2, "scale": ALPHA},
        "loss": "square",
        "algorithm": alg,
        "stop": {"loss": TARGET, "max_steps": MAX_STEPS},
        "record": ["predictor", "final_loss", "status", "steps"],
        "grid": {"algorithm.lr": [float(v) for v in LRS[name]]},
        "seeds": [0],
    }


def _torch(ds, lr, batch, seed=0):
    """The eager loop: returns (predictor, steps taken)."""
    import torch

    torch.set_num_threads(1)  # 20-by-30 tensors: one thread is the eager loop's fastest setting here
    g = torch.Generator().manual_seed(seed)
    X = torch.tensor(ds.X, dtype=torch.float64)
    y = torch.tensor(ds.y, dtype=torch.float64)
    up = torch.full((D,), ALPHA, dtype=torch.float64, requires_grad=True)
    um = torch.full((D,), ALPHA, dtype=torch.float64, requires_grad=True)
    steps = 0
    for _ in range(MAX_STEPS):
        with torch.no_grad():
            full = 0.5 * torch.mean((X @ (up**2 - um**2) - y) ** 2).item()
        if full <= TARGET or not np.isfinite(full):
            break
        idx = torch.randint(0, N, (batch,), generator=g) if batch < N else slice(None)
        loss = 0.5 * torch.mean((X[idx] @ (up**2 - um**2) - y[idx]) ** 2)
        gp, gm = torch.autograd.grad(loss, (up, um))
        with torch.no_grad():
            up -= lr * gp
            um -= lr * gm
        steps += 1
    return (up**2 - um**2).detach().numpy(), steps


def run():
    ds = ib.data.sparse_regression(n=N, d=D, sparsity=3, noise_var=0.0, seed=0)
    t0 = time.perf_counter()
    res = {name: ib.sweep(_config(name), store=None, progress=False).isel(seed=0) for name in LRS}
    ours = time.perf_counter() - t0
    total_steps = sum(int(r.steps.sum()) for r in res.values())
    statuses = {name: {s: int((r.status.values == s).sum()) for s in np.unique(r.status.values)} for name, r in res.items()}
    per_step, agree = [], []
    for name, lr, batch in (("gd", 0.3, N), ("sgd", 0.03, 1)):
        t0 = time.perf_counter()
        w_t, steps_t = _torch(ds, lr, batch)
        per_step.append((time.perf_counter() - t0) / max(steps_t, 1))
        if name == "gd":  # GD is deterministic: the two routes' end points must agree
            r = ib.train(ib.models.Diagonal(D, depth=2, scale=ALPHA), ds, "square", ib.GradientDescent(lr=lr), ib.Stop(loss=TARGET, max_steps=MAX_STEPS))
            agree.append(f"GD lr {lr}: eager {steps_t} steps vs ours {r.steps}, |w_eager - w_ours| / |w| = {np.linalg.norm(w_t - r.predictor) / np.linalg.norm(r.predictor):.1e}")
        else:
            agree.append(f"SGD lr {lr}: eager {steps_t} steps (its own batch draws)")
    base = float(np.mean(per_step)) * total_steps
    points = sum(r.sizes["algorithm.lr"] for r in res.values())
    return [
        {
            "name": f"step-size sweep: {points} points (GD + SGD), diagonal d={D} n={N}",
            "ours_s": ours,
            "baseline_s": base,
            "baseline": "PyTorch eager loop (f64)",
            "notes": (
                f"{points / ours:.2f} points/s end to end incl. compile; {total_steps} steps in all; statuses {statuses}; "
                f"eager {1e6 * np.mean(per_step):.0f} us/step (GD {1e6 * per_step[0]:.0f}, SGD {1e6 * per_step[1]:.0f}) x {total_steps} steps; " + "; ".join(agree)
            ),
        }
    ]
