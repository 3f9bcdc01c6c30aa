"""moroshko2020 at extreme training accuracy (issue 6, Performance).

All three use :func:`implicit_bias.algorithms.exponential_flow_path` (the exact D = 2 flow in
excess-margin coordinates, Radau) and the datasets of ``implicit_bias.experiments.
diagonal_classification`` (``fig_dataset``):

1. Fig. 3b, alpha = 1e4, traced to mu = 0.001 (gamma~ = alpha^2/mu = 1e11): wall time and the
   direction error against a reference solve at rtol 1e-12 (target: error <= 1e-6, < 10 s).
2. The paper's method, parameter-space normalized GD with learning rate 1e-3 (the library's
   ``NormalizedGD`` in ``train``), to the alpha = 100, mu = 0.5 point (gamma~ = 2e4), vs our
   route at a tolerance whose direction error is no larger than NGD's; both errors against the
   rtol-1e-12 reference; side by side in one run (target >= 50x). NGD is timed on its second
   call (compiled), ours includes everything. Two rows: NGD at the paper's learning rate (its
   error is then ~5e-4, ours already ~1e-7 at our loosest tolerance), and NGD with the learning
   rate that brings its (first-order) error to <= 1e-6, the accuracy our route delivers.
3. Fig. 3d (support vectors change along the path), alpha = 1e6 to gamma~ = 1e15: wall time,
   a-posteriori direction error (difference to a solve at rtol/100), and the distance of the
   margin-normalised trajectory to the Q_mu max-margin points before and past the kink mu_0.
"""

import time

import numpy as np

import implicit_bias as ib
from implicit_bias import models
from implicit_bias.algorithms import exponential_flow_path
from implicit_bias.diagnostics.margins import margin_normalized
from implicit_bias.experiments.diagonal_classification import fig_dataset
from implicit_bias.theory.margins import q_mu_max_margin


def _dist(a, b):
    return float(np.linalg.norm(a / np.linalg.norm(a) - b / np.linalg.norm(b)))


def run():
    rows = []
    # 1. alpha = 1e4 to gamma = 1e11
    ds = fig_dataset("fig3b")
    m = models.Diagonal(ds.dim, depth=2, scale=1e4)
    gam = np.geomspace(1e2, 1e11, 28)
    t0 = time.perf_counter()
    path = exponential_flow_path(m, ds.X, ds.y, gam, rtol=1e-9)
    t1 = time.perf_counter() - t0
    ref = exponential_flow_path(m, ds.X, ds.y, gam, rtol=1e-12)
    err = max(_dist(a, b) for a, b in zip(path.predictors, ref.predictors))
    rows.append(
        {
            "name": "Fig 3b alpha=1e4 to gamma=1e11 (mu=0.001)",
            "ours_s": t1,
            "baseline": "target 10 s",
            "baseline_s": 10.0,
            "notes": f"direction error vs rtol-1e-12 reference {err:.1e} (target 1e-6); {path.rhs_evals} rhs evals, 28 recorded accuracies",
        }
    )
    # 2. NGD (paper's method) vs ours at alpha = 100, mu = 0.5
    m = models.Diagonal(ds.dim, depth=2, scale=100.0)
    g_t = 100.0**2 / 0.5
    ref_w = exponential_flow_path(m, ds.X, ds.y, [g_t], rtol=1e-12).predictors[0]
    alg = ib.NormalizedGD(lr=1e-3)
    stop = ib.Stop(training_accuracy=g_t, max_steps=10**8)
    ib.train(m, ds, "exponential", alg, ib.Stop(training_accuracy=10.0, max_steps=10**8), ib.Record(fields=("loss",)))  # compile
    t0 = time.perf_counter()
    run_ngd = ib.train(m, ds, "exponential", alg, stop, ib.Record(fields=("loss",)))
    t_ngd = time.perf_counter() - t0
    e_ngd = _dist(run_ngd.predictor, ref_w)
    for tol in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
        t0 = time.perf_counter()
        w = exponential_flow_path(m, ds.X, ds.y, [g_t], rtol=tol).predictors[0]
        t_ours = time.perf_counter() - t0
        e_ours = _dist(w, ref_w)
        if e_ours <= e_ngd:
            break
    rows.append(
        {
            "name": "alpha=100 to mu=0.5 (gamma=2e4), NGD at the paper lr",
            "ours_s": t_ours,
            "baseline": "NGD lr 1e-3 (paper), compiled",
            "baseline_s": t_ngd,
            "notes": f"NGD {run_ngd.steps} steps ({run_ngd.status}), direction error {e_ngd:.1e}; ours rtol {tol:g}, error {e_ours:.1e}",
        }
    )
    # 2b. equal direction error 1e-6: NGD's error is first order in lr (measured 5.5e-4 at 1e-3)
    target = 1e-6
    lr_eq = 1e-3 * 0.5 * target / max(e_ngd, 1e-300)
    alg_eq = ib.NormalizedGD(lr=lr_eq)
    t0 = time.perf_counter()
    run_eq = ib.train(m, ds, "exponential", alg_eq, stop, ib.Record(fields=("loss",)))
    t_eq = time.perf_counter() - t0
    e_eq = _dist(run_eq.predictor, ref_w)
    rows.append(
        {
            "name": "alpha=100 to mu=0.5, both at direction error <= 1e-6",
            "ours_s": t_ours,
            "baseline": f"NGD lr {lr_eq:.2g}, compiled",
            "baseline_s": t_eq,
            "notes": f"NGD {run_eq.steps} steps ({run_eq.status}), direction error {e_eq:.1e}; ours rtol {tol:g}, error {e_ours:.1e}",
        }
    )
    # 3. alpha = 1e6 on the Fig 3d data to gamma = 1e15
    ds = fig_dataset("fig3d")
    alpha = 1e6
    mus = np.array([0.5, 0.2, 0.1, 0.06, 0.048, 0.03, 0.01, 0.003, 0.001])
    gam = np.sort(alpha**2 / mus)  # up to alpha^2 / 0.001 = 1e15
    t0 = time.perf_counter()
    path = exponential_flow_path(models.Diagonal(ds.dim, depth=2, scale=alpha), ds.X, ds.y, gam, rtol=1e-10, error_estimate=True)
    t3 = time.perf_counter() - t0
    dq = []
    for g, w in zip(path.gammas, path.predictors):
        mu = alpha**2 / g
        q = q_mu_max_margin(ds.X, ds.y, mu, 2).w
        dq.append((mu, float(np.linalg.norm(margin_normalized(ds.X, ds.y, w) - q) / np.linalg.norm(q))))
    rows.append(
        {
            "name": "Fig 3d alpha=1e6 to gamma=1e15 (certified)",
            "ours_s": t3,
            "baseline": "target 60 s",
            "baseline_s": 60.0,
            "notes": f"error estimate (vs rtol/100) {path.error_estimate:.1e} (incl. the second solve in the time); distance to Q_mu point by mu: "
            + ", ".join(f"{mu:g}: {d:.1e}" for mu, d in sorted(dq, reverse=True)),
        }
    )
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
