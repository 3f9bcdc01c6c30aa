"""mulayoff2021 Fig. 3c: 10 step sizes x (GD to L <= 1e-12, sharpness, flattest implementation).

ours: one vectorised run: ``train_many`` (GD vmapped over the 10 step sizes), the dense Hessians of
all endpoints in one vmapped call, ``eigvalsh``, and ``flattest_sharpness_batch`` (soft-max +
L-BFGS, vmapped). Timed twice: first call (compilation included) and second call.

baseline: what a researcher would otherwise write, a per-eta PyTorch eager loop in float64: GD
with the same init, step and stopping rule (loss checked every step), ``torch.autograd.functional
.hessian`` and ``eigvalsh`` for the sharpness, and the flattest implementation by
``torch.optim.LBFGS`` on the per-neuron log-scales minimising ``lambda_max`` of the rescaled Hessian
(same continuation in the soft-max temperature). Target: >= 20x.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

import implicit_bias as ib
from implicit_bias.experiments.stability import StabilitySetup, stack_params
from implicit_bias.theory.stability import flattest_sharpness_batch

ETAS = np.geomspace(0.1, 0.5, 10)
MAX_STEPS = 40_000
TOL = 1e-12


def _ours(setup, ds, obj):
    model = setup.model()
    runs = ib.train_many([model] * len(ETAS), [ds] * len(ETAS), "square", [ib.GradientDescent(lr=float(e)) for e in ETAS], ib.Stop(loss=TOL, max_steps=MAX_STEPS), ib.Record(fields=("loss",), growth=2.0))
    pb = stack_params([r.params for r in runs])
    flat, unravel = jax.flatten_util.ravel_pytree(runs[0].params)
    H = np.asarray(jax.jit(jax.vmap(lambda q: jax.hessian(lambda v: obj.value(unravel(v)))(jax.flatten_util.ravel_pytree(q)[0])))(pb))
    lam = np.linalg.eigvalsh(H)[:, -1]
    fb = flattest_sharpness_batch(hessians=H, structure={k: np.asarray(v) for k, v in runs[0].params.items()}, rank=ds.n)
    return lam, fb.sharpness, [r.steps for r in runs]


def _torch(setup, ds, p0):
    import torch

    torch.set_num_threads(2)
    X = torch.tensor(ds.X, dtype=torch.float64)
    y = torch.tensor(ds.y, dtype=torch.float64)
    k = setup.width
    lams, flats, steps = [], [], []

    def loss_fn(w1, b1, w2, b2):
        return 0.5 * torch.mean((torch.relu(X @ w1.T + b1) @ w2 + b2 - y) ** 2)

    for eta in ETAS:
        ps = [torch.tensor(np.asarray(p0[n]), dtype=torch.float64, requires_grad=True) for n in ("w1", "b1", "w2", "b2")]
        for s in range(MAX_STEPS):
            L = loss_fn(*ps)
            if float(L) <= TOL:
                break
            gs = torch.autograd.grad(L, ps)
            with torch.no_grad():
                for p, g in zip(ps, gs):
                    p -= float(eta) * g
        steps.append(s)
        shapes = [p.shape for p in ps]
        sizes = [p.numel() for p in ps]

        def flat_loss(v):
            parts = torch.split(v, sizes)
            return loss_fn(*[q.reshape(sh) for q, sh in zip(parts, shapes)])

        v0 = torch.cat([p.detach().reshape(-1) for p in ps])
        H = torch.autograd.functional.hessian(flat_loss, v0)
        lams.append(float(torch.linalg.eigvalsh(H)[-1]))
        # flattest: per-neuron scales; order w1 (k), b1 (k), w2 (k), b2
        e = torch.cat([torch.ones(2 * k), -torch.ones(k), torch.zeros(1)]).double()
        nid = torch.cat([torch.arange(k), torch.arange(k), torch.arange(k), torch.zeros(1, dtype=torch.long)])
        w, U = torch.linalg.eigh(H)
        G = U[:, -ds.n:] * torch.sqrt(torch.clamp(w[-ds.n:], min=0))
        u = torch.zeros(k, dtype=torch.float64, requires_grad=True)
        lam0 = float(torch.linalg.eigvalsh(G.T @ G)[-1])
        for rel in (1e-2, 1e-4, 1e-6, 1e-8):
            opt = torch.optim.LBFGS([u], max_iter=50, history_size=20, line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)

            def closure():
                opt.zero_grad()
                d = torch.exp(-2 * e * torch.where(e != 0, u[nid], torch.zeros(()).double()))
                lam = torch.linalg.eigvalsh(G.T @ (d[:, None] * G))
                F = rel * lam0 * torch.logsumexp(lam / (rel * lam0), 0)
                F.backward()
                return F

            opt.step(closure)
        with torch.no_grad():
            d = torch.exp(-2 * e * torch.where(e != 0, u[nid], torch.zeros(()).double()))
            flats.append(float(torch.linalg.eigvalsh(G.T @ (d[:, None] * G))[-1]))
    return np.array(lams), np.array(flats), steps


def run():
    setup = StabilitySetup()
    ds = setup.dataset()
    obj = setup.objective()
    p0 = setup.model().init(jax.random.fold_in(jax.random.key(0), 0))
    t0 = time.perf_counter()
    _ours(setup, ds, obj)
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    lam, flat, steps = _ours(setup, ds, obj)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    lam_t, flat_t, steps_t = _torch(setup, ds, p0)
    t_torch = time.perf_counter() - t0
    ok = np.isfinite(lam) & np.isfinite(lam_t)
    return [{
        "name": "fig3c: 10 eta x (GD, sharpness, flattest)",
        "ours_s": t_ours,
        "baseline": "torch eager loop per eta",
        "baseline_s": t_torch,
        "notes": (f"ours first call (compile) {t_first:.1f} s; steps ours {steps} torch {steps_t}; "
                  f"max rel diff sharpness {np.max(np.abs(lam[ok] / lam_t[ok] - 1)):.1e}, flattest {np.nanmax(np.abs(flat[ok] / flat_t[ok] - 1)):.1e}"),
    }]
