# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial: from data to a checked prediction
#
# Gradient-based training of an over-parametrized model has many zero-loss solutions to
# choose from. *Which* one it finds is its **implicit bias**, and for many models and
# algorithms the theory predicts it exactly. This tutorial trains small models with
# `implicit_bias` and compares the result with the prediction, computed by an independent
# route (a closed form, a dual Newton solve, a convex program):
#
# 1. least squares: gradient descent and gradient flow reach the interpolant closest to the
#    initialization (montufar2024, Thm 1);
# 2. mirror descent with the entropy potential reaches the interpolant closest in Bregman
#    divergence (montufar2024, Thm 2);
# 3. classification: gradient descent on the exponential loss turns towards the l2
#    max-margin separator (Soudry et al. 2018; vardi2022 §3.1);
# 4. the recorded trajectory (an `xarray.Dataset`) and a plot of the distance along training;
# 5. the same through the command line, `ibias fit ... --json`.
#
# Everything is float64 and small: the whole file runs in a few seconds. It is a
# [jupytext](https://jupytext.readthedocs.io) "percent" script: run it with `python
# docs/tutorial.py`, or open it as a notebook.

# %%
import json
import os
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")  # files, not windows
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import implicit_bias as ib  # noqa: E402  (switches on float64)

workdir = tempfile.mkdtemp(prefix="ibias-tutorial-")

# %% [markdown]
# ## 1. Least squares: the interpolant closest to the initialization
#
# `random_regression(n, d)` draws an underdetermined problem `X w = y` with `X` of shape
# `(n, d)` and `n < d`: infinitely many `w` fit the data exactly. We start a linear model
# `x -> w^T x` at a nonzero `w0` and train it on the square loss
# `L(w) = 1/(2N) ||X w - y||^2` until `L <= 1e-20`, once with gradient descent (step `1/λ_max`
# of the Hessian `X^T X / N`) and once with gradient flow (an ODE solved by diffrax, stopped
# exactly at the loss target).

# %%
n, d = 10, 40
ds = ib.data.random_regression(n=n, d=d, seed=0)
w0 = 0.5 * np.random.default_rng(1).standard_normal(d)
model = ib.models.Linear(d, w0=w0)

lmax = float(np.linalg.eigvalsh(ds.X.T @ ds.X / n).max())  # sharpness of the square loss
run_gd = ib.train(model, ds, "square", ib.GradientDescent(lr=1.0 / lmax), ib.Stop(loss=1e-20), seed=0)
run_gf = ib.train(model, ds, "square", ib.GradientFlow(), ib.Stop(loss=1e-20), seed=0)
print("GD:", run_gd.status, run_gd.steps, "steps, loss", run_gd.final_loss)
print("GF:", run_gf.status, "time", run_gf.time, "loss", run_gf.final_loss)

# %% [markdown]
# The theory (montufar2024, Thm 1) says both end at
# `argmin ||w - w0||  s.t.  X w = y = w0 + X^+ (y - X w0)`, computed here in closed form without
# any training. The minimum-*norm* interpolant `X^+ y` (what GD finds from `w0 = 0`) is a
# different point: the initialization matters.

# %%
pred = ib.theory.min_distance_interpolant(ds.X, ds.y, w0)
err_gd = ib.diagnostics.relative_error(run_gd.predictor, pred)
err_gf = ib.diagnostics.relative_error(run_gf.predictor, pred)
err_min_norm = ib.diagnostics.relative_error(run_gd.predictor, ib.theory.min_distance_interpolant(ds.X, ds.y))
print(f"relative error to argmin ||w - w0||: GD {err_gd:.2e}, GF {err_gf:.2e}")
print(f"relative distance to the min-norm interpolant instead: {err_min_norm:.2f}")

# %% [markdown]
# ## 2. Mirror descent: the Bregman interpolant
#
# Mirror descent with a potential `psi` steps in the dual coordinates `grad psi(w)`. With the
# negative entropy `psi(w) = sum_i w_i log w_i - w_i` (on `w > 0`) it finds, among all
# interpolants, the one closest to `w0` in the Bregman divergence `D_psi(w, w0)` — a relative
# entropy — rather than in Euclidean distance (montufar2024, Thm 2). The prediction
# `bregman_interpolant` solves the `N`-dimensional dual problem by Newton's method.

# %%
ds_pos = ib.data.random_regression(n=8, d=30, seed=3, positive=True)  # a positive solution exists
w0_pos = np.random.default_rng(2).uniform(0.5, 1.5, 30)
pred_md = ib.theory.bregman_interpolant(ds_pos.X, ds_pos.y, "entropy", w0_pos)

# The entropy's metric scales with |w|: keep lr * sharpness * max|w| below 1.
lmax_pos = float(np.linalg.eigvalsh(ds_pos.X.T @ ds_pos.X / ds_pos.n).max())
lr_md = 0.5 / (lmax_pos * (np.abs(pred_md).max() + np.abs(w0_pos).max()))
run_md = ib.train(
    ib.models.Linear(30, w0=w0_pos),
    ds_pos,
    "square",
    ib.MirrorDescent(lr=lr_md, potential="entropy"),
    ib.Stop(loss=1e-20, max_steps=200_000),
    seed=0,
)
err_md = ib.diagnostics.relative_error(run_md.predictor, pred_md)
err_md_vs_euclid = ib.diagnostics.relative_error(run_md.predictor, ib.theory.min_distance_interpolant(ds_pos.X, ds_pos.y, w0_pos))
print(f"mirror descent ({run_md.status}, {run_md.steps} steps): error to the Bregman interpolant {err_md:.2e}")
print(f"... and to the Euclidean one {err_md_vs_euclid:.3f}: the potential changes the answer")

# %% [markdown]
# ## 3. Classification: the direction of the l2 max-margin separator
#
# On linearly separable data the exponential loss `L = 1/N sum_n exp(-y_n w^T x_n)` has no
# minimizer: `||w||` grows without bound. Its *direction* converges to the l2 max-margin
# separator `argmin ||w|| s.t. y_n x_n^T w >= 1` (Soudry et al. 2018; vardi2022 §3.1), slowly,
# like `1/log t`. Losses are kept in log domain, so the loss can become astronomically small
# without underflow; `run.training_accuracy` is `-log L`.

# %%
cls = ib.data.separable_classification(n=20, d=5, margin=0.1, seed=0)
mm = ib.theory.max_margin(cls.X, cls.y, "l2")  # a QP (cvxpy + Clarabel), no training
lmax_cls = float(np.linalg.eigvalsh(cls.X.T @ cls.X / cls.n).max())
run_cls = ib.train(
    ib.models.Linear(cls.dim),
    cls,
    "exponential",
    ib.GradientDescent(lr=1.0 / lmax_cls),
    ib.Stop(max_steps=20_000),
    seed=0,
)
dist_cls = ib.diagnostics.direction_distance(run_cls.predictor, mm.w)
print(f"after {run_cls.steps} steps: -log L = {run_cls.training_accuracy:.1f}, ||w|| = {np.linalg.norm(run_cls.predictor):.2f}")
print(f"distance between the unit directions of w and of the max-margin separator: {dist_cls:.4f}")
print(f"normalized margin of w: {ib.diagnostics.normalized_margin(cls.X, cls.y, run_cls.predictor):.4f} (max-margin {mm.margin:.4f})")

# %% [markdown]
# ## 4. The trajectory
#
# Every run records a trajectory: an `xarray.Dataset` over the record dimension `t`, with
# coordinates `step` and `time` and (by default) the loss, the log-loss, the training accuracy
# and the predictor, on a geometric grid of steps. Here is the direction distance along
# training, against the number of steps, and the regression run's distance to its prediction.

# %%
traj = run_cls.trajectory
print(traj)

steps = traj.step.values[1:]  # step 0 is w = 0, which has no direction
dist_path = np.array([ib.diagnostics.direction_distance(w, mm.w) for w in traj.predictor.values[1:]])
reg_steps = run_gd.trajectory.step.values
reg_path = np.array([ib.diagnostics.relative_error(w, pred) for w in run_gd.trajectory.predictor.values])

fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.4))
ax0.loglog(steps, dist_path)
ax0.set(xlabel="GD steps", ylabel="|| w/||w|| - w_hat/||w_hat|| ||", title="exponential loss: direction gap")
ax1.semilogy(reg_steps, np.maximum(reg_path, 1e-17))
ax1.set(xlabel="GD steps", ylabel="||w - w_pred|| / ||w_pred||", title="least squares: distance to prediction")
fig.tight_layout()
fig_path = os.path.join(workdir, "tutorial-distance.png")
fig.savefig(fig_path, dpi=100)
plt.close(fig)
print("figure written to", fig_path)

# %% [markdown]
# The direction gap falls slowly and steadily (the theory says like `1/log t`); the
# regression error falls linearly (geometrically) to rounding level.

# %%
gap_decreases = bool(dist_path[-1] < dist_path[len(dist_path) // 4])

# %% [markdown]
# ## 5. The same from the command line
#
# `ibias fit` trains on your own data: an `.npz` with `X (N, d)` and `y (N,)` (or a `.csv` with
# `y` in the last column). `--init FILE.npz` sets the initial parameters by name (`w` for the
# linear model), `--predict` names the predictions to compare with (`ibias fit
# --list-predictions`), and `--json` prints one JSON object (a public contract: `status`,
# `final`, `predictor`, `params`, `predictions`, ...). In a shell:
#
# ```bash
# ibias fit data.npz --model linear --init w0.npz --algorithm gd --stop-loss 1e-20 \
#     --predict min-distance --json
# ```
#
# Here we call it through `python -m implicit_bias.cli` (the same program as `ibias`).

# %%
data_path = os.path.join(workdir, "data.npz")
init_path = os.path.join(workdir, "w0.npz")
np.savez(data_path, X=ds.X, y=ds.y)
np.savez(init_path, w=w0)
cmd = [
    sys.executable, "-m", "implicit_bias.cli", "fit", data_path,
    "--model", "linear", "--init", init_path, "--algorithm", "gd",
    "--stop-loss", "1e-20", "--predict", "min-distance", "--json", "--quiet",
]
proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
fit = json.loads(proc.stdout)
cli_error = fit["predictions"][0]["relative_error"]
cli_agrees = ib.diagnostics.relative_error(fit["predictor"], pred)
print(f"ibias fit: status {fit['status']}, {fit['final']['steps']} steps, loss {fit['final']['loss']:.2e}")
print(f"prediction {fit['predictions'][0]['name']} ({fit['predictions'][0]['paper']}): relative error {cli_error:.2e}")

# %% [markdown]
# ## Where next
#
# - `ibias verify` runs every check of the papers (quick profile) and `ibias report` turns
#   the results into one HTML page.
# - The [API reference](api/train.md) documents each layer: models, algorithms, losses,
#   theory (the predictions) and diagnostics.
