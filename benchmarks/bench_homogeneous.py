"""Issue 22, first Performance item: a two-layer ReLU MLP on 200 digits images trained by the
loss-scaled step far past float64's smallest loss, and its direction certified as a KKT point.

Setting: sklearn ``load_digits`` (8x8 images shipped with sklearn, no download), the binary task
**digit 0 (label +1) vs digit 1 (label -1)**, the first 200 such images (pixels / 16, so in
[0, 1]); ``MLP(64, (100,), "relu", bias="first", scale=1e-4)`` (homogeneous of degree 2),
logistic loss, :class:`~implicit_bias.algorithms.LossScaledGD` ``(lr=0.2)`` (``p = 2 - 2/D = 1``:
``θ <- θ - 0.2 / (1 + (-log L)) ∇ log L``) through ``ib.train`` until the training accuracy
``-log L`` reaches :data:`TARGET`, then :func:`~implicit_bias.diagnostics.kkt_certificate`
(Clarke residual of the rescaled direction, ``kink_tol=1e-3``) must be ``<= 1e-3``.

**Why -log L = 12000 and not 1000.** The issue asks for ``-log L >= 1000`` *and* a Clarke
residual ``<= 1e-3``. On these data the residual falls like ``(-log L)^{-1/2}`` (as in the
``lyu-li2020-kkt`` check; measured on this run, records every power of 2 steps): 3.8e-3 at
-log L = 1000, 2.0e-3 at 2600, 1.3e-3 at 5300, 1.0e-3 at 10600, 8.0e-4 at 16000 (init scale
1e-3 with lr 0.05 instead: 2.9e-3 at 1000, so the constant is not an init or step effect). The
certificate is therefore reached near -log L = 1e4: the benchmark trains to 12000
(``L ~ 1e-5212``), which satisfies ">= 1000", and says so. (Digits parity on the first 200
images, a harder task, init scale 1e-2, lr 0.05: residual 4.0e-2 at -log L = 1000.)

ours: ``ib.train`` (one jitted ``lax.while_loop``; the headline time includes compilation, a new
process's first call) + the certificate (NNLS + the Clarke QP in cvxpy/Clarabel).

baseline: the same schedule as a PyTorch eager loop, what a researcher would write: float64,
one thread (``torch.set_num_threads(1)``: on this shared 2-core machine more threads only add
contention), the same initial parameters, autograd for ``∇ log L`` and ``torch.no_grad``
updates. PyTorch's own losses cannot represent ``L < 1e-308`` (``BCEWithLogits`` returns 0 and
its gradient vanishes), so the baseline computes its own log-domain loss: ``log L =
logsumexp_n(log softplus(-q_n)) - log N`` with ``log softplus(z) = z + log1p(-e^z/2)`` for
``z <= -20`` (exact to 1e-18 there) — the library's formula, written with ``torch.where``.
It reads ``lv.item()`` every step (needed for the step size and the stopping test). Both loops
stop at the first iterate with ``-log L >= TARGET``; same number of steps and the same final
parameters (to round-off) are checked and printed.

**Measured** (shared 2-core machine, load 4-9; ``run.py homogeneous``, 2026-12-07): certified
(Clarke residual 9.20e-4, slackness 2.1e-3, plain residual 0.107, 38 support points), 37078 steps
both routes, final parameters equal to 8.4e-15 relative. Ours 36.2 s wall (train 30.0 + certificate
6.3; CPU 14.8 + 3.1 s): under the 2-minute target. Against torch (103 s wall, 49.7 s CPU):
training 3.4x (CPU 3.4x), compiled 4.9x (CPU 0.284 vs 1.340 ms per step, 4.7x), with the
certificate 2.8x. Two earlier runs under heavier load gave 8.1-8.2x wall for training (torch
245-255 s): the wall ratio swings with the load, the CPU ratio (3.4-4.7x) is the figure to
quote. **The 10x target is missed, and cannot be met by this route:** torch's two matmuls alone
cost ~0.32 ms per step and XLA's best layout for the same two float64 matmuls ~0.18 ms (bare
loop), so even a step that cost nothing beyond its matmuls would give ~1.34 / 0.18 = 7.4x; the
ratio is bounded by torch's per-step eager overhead (~1 ms), not by anything in ``ib.train``.

Where the time goes (measured in CPU seconds on the shared machine): ours ~0.35 ms per step,
torch ~1.5-1.8 ms per step, of which its two 200x64x100 matmuls alone cost ~0.32 ms (the rest is
eager dispatch of ~30 small ops and autograd bookkeeping). Our step sits at XLA's cost for the
same two matmuls in this layout (a bare ``fori_loop`` of ``X @ W.T`` and ``G.T @ X``: 0.33-0.38 ms),
so the recording, finiteness checks and loss-scaled schedule add nothing measurable; the ratio is
bounded by matmul efficiency. Lead (not done: it would change every MLP result at round-off
level): computing the layers feature-major (``W1 @ X.T``, so that the weight gradient is a plain
``G^T X`` without a transposed operand) measured 0.23 vs 0.31 ms per step in a bare vmapped
``fori_loop`` of this step (0.26 vs 0.35 unvmapped); through ``ib.train`` the difference was
within the noise of the loaded machine.

The certificate (first run 24.8 s) was dominated by Clarabel on a cone of ``P + N = 6800``
entries (6.4 s of solve) and ~1500 eager jax calls assembling the Clarke Jacobian columns;
:func:`~implicit_bias.diagnostics.kkt_certificate` now builds the cone on the QR-reduced system
(``N + K + 1 = 371`` entries, the same objective; QR on one BLAS thread) and its Clarke
Jacobian columns in numpy instead of ~1500 eager jax calls: fit 10.9 s -> 3.9 s, the same
residual to 3e-10 relative (9.19974388e-4), the rest is XLA compilation of its jitted pieces (~2 s).
"""

import time

import numpy as np

import implicit_bias as ib
from implicit_bias import models
from implicit_bias.algorithms import LossScaledGD
from implicit_bias.diagnostics import kkt_certificate

N, WIDTH, SCALE, LR = 200, 100, 1e-4, 0.2
TARGET = 12000.0  # -log L; see the module docstring for why not 1000
KKT_TOL = 1e-3
MAX_STEPS = 200_000


def data():
    """``(X (200, 64), y (200,))``: the first 200 digits-0/1 images of ``load_digits``, pixels / 16, label +1 for 0."""
    from sklearn.datasets import load_digits

    d = load_digits()
    idx = np.flatnonzero(d.target < 2)[:N]
    return d.data[idx] / 16.0, np.where(d.target[idx] == 0, 1.0, -1.0)


def model():
    return models.MLP(64, (WIDTH,), activation="relu", bias="first", scale=SCALE)


def ours(X, y, p0, target=TARGET):
    run = ib.train(model(), (X, y), "logistic", LossScaledGD(lr=LR), ib.Stop(training_accuracy=target, max_steps=MAX_STEPS), ib.Record(fields=("log_loss",), growth=1e9), init=p0)
    return run


def torch_loop(X, y, p0, target=TARGET):
    """The same schedule, PyTorch eager, float64, own log-domain loss. Returns ``(steps, -log L, params)``."""
    import torch

    torch.set_num_threads(1)
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    Xt, yt = t(X), t(y)
    W1, b1, W2 = (t(p0[k]).requires_grad_() for k in ("W1", "b1", "W2"))
    logN = float(np.log(len(y)))

    def log_loss():
        z = -yt * (torch.relu(Xt @ W1.T + b1) @ W2.T)[:, 0]  # log ell_n = log softplus(-q_n)
        lo = z <= -20.0
        z_lo = torch.where(lo, z, torch.full_like(z, -20.0))
        z_hi = torch.where(lo, torch.zeros_like(z), z)
        lp = torch.where(lo, z_lo + torch.log1p(-0.5 * torch.exp(z_lo)), torch.log(torch.nn.functional.softplus(z_hi)))
        return torch.logsumexp(lp, 0) - logN

    steps = 0
    while steps < MAX_STEPS:
        lv = log_loss()
        g = -lv.item()
        if g >= target:
            break
        W1.grad = b1.grad = W2.grad = None
        lv.backward()
        with torch.no_grad():
            eta = LR / (1.0 + max(g, 0.0))
            W1 -= eta * W1.grad
            b1 -= eta * b1.grad
            W2 -= eta * W2.grad
        steps += 1
    return steps, g, {"W1": W1.detach().numpy(), "b1": b1.detach().numpy(), "W2": W2.detach().numpy()}


def run():
    X, y = data()
    m = model()
    p0 = {k: np.asarray(v) for k, v in m.init(0).items()}
    # wall seconds, and process CPU seconds (all threads): on the shared machine the wall times
    # swing with the other jobs' load, the CPU times much less
    t0, c0 = time.perf_counter(), time.process_time()
    r = ours(X, y, p0)
    t_train, c_train = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    c = kkt_certificate(m, r.params, X, y)
    t_cert, c_cert = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    r2 = ours(X, y, p0)  # compiled: the per-step cost alone
    t_train2, c_train2 = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    steps_t, acc_t, p_t = torch_loop(X, y, p0)
    t_torch, c_torch = time.perf_counter() - t0, time.process_time() - c0
    rel = max(float(np.max(np.abs(np.asarray(r.params[k]) - p_t[k])) / np.max(np.abs(p_t[k]))) for k in p_t)
    ok = r.status == "converged" and c.clarke_residual <= KKT_TOL
    same = abs(r.steps - steps_t) <= 1 and rel <= 1e-6
    total = t_train + t_cert
    print(
        f"  digits 0 vs 1, N={N}, MLP width {WIDTH} (bias first layer), LossScaledGD(lr={LR}) to -log L >= {TARGET:g}: "
        f"status {r.status}, {r.steps} steps, -log L = {r.training_accuracy:.2f} (log10 L = {-r.training_accuracy / np.log(10):.0f}); "
        f"Clarke KKT residual {c.clarke_residual:.2e} (<= {KKT_TOL:g}: {c.clarke_residual <= KKT_TOL}), complementary slackness {c.clarke_complementary_slackness:.2e}, "
        f"plain residual {c.residual:.2e}, support {c.clarke_support.size} points; train {t_train:.1f} s + certificate {t_cert:.1f} s = {total:.1f} s (CPU {c_train:.1f} + {c_cert:.1f} s) "
        f"(target < 120 s: {total < 120}); torch: {steps_t} steps, -log L = {acc_t:.2f}, max relative parameter difference {rel:.1e}",
        flush=True,
    )
    base = "torch eager f64 (1 thr)"
    return [
        {
            "name": f"MLP-100 digits to -log L {TARGET:g} + KKT cert",
            "ours_s": total,
            "baseline": base,
            "baseline_s": t_torch,
            "notes": f"ours: first call (compilation included) + certificate; torch trains only (no certificate); certified {ok}; same steps and params: {same}; CPU s: ours {c_train + c_cert:.1f}, torch {c_torch:.1f} (ratio {c_torch / (c_train + c_cert):.1f}x)",
        },
        {
            "name": "  training only, first call",
            "ours_s": t_train,
            "baseline": base,
            "baseline_s": t_torch,
            "notes": f"{r.steps} steps (torch {steps_t}); compilation and first-call overhead {t_train - t_train2:.1f} s wall, {c_train - c_train2:.1f} s CPU; CPU ratio {c_torch / c_train:.1f}x",
        },
        {
            "name": "  training only, second call (compiled)",
            "ours_s": t_train2,
            "baseline": base,
            "baseline_s": t_torch,
            "notes": f"ours {t_train2 / r2.steps * 1e3:.3f} ms/step, torch {t_torch / steps_t * 1e3:.3f} ms/step (CPU: {c_train2 / r2.steps * 1e3:.3f} vs {c_torch / steps_t * 1e3:.3f}, ratio {c_torch / c_train2:.1f}x)",
        },
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
