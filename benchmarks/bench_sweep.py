"""A 32 x 32 (scale x shape) grid of the diagonal-regression experiment (N=100, d=1000):
points per second with the ``vmap`` backend vs ``local`` (process pool) vs one at a time.

Every point trains an untied depth-2 diagonal network from the azulay2021 §7.1 init (scale
alpha, shape s) on the sparse-regression data of azulay2021 §9 with 2000 GD steps (a fixed
budget, so that every backend does the same arithmetic). ``vmap`` runs the whole grid;
one-at-a-time (``batch=1``, in process) and ``local`` (2 processes, ``batch=1``) run an 8 x 8
sub-grid and their rate is extrapolated, as stated in the notes. No store (``store=None``):
this measures compute, the store has its own benchmark.
"""

import time

import numpy as np

from implicit_bias.sweep import sweep

STEPS = 2000


def _cfg(n_scale, n_shape, every=1):
    return {
        "name": "bench",
        "data": {"generator": "sparse_regression", "n": 100, "d": 1000, "sparsity": 5, "noise_var": 0.01, "seed": 0},
        "model": {"name": "diagonal", "depth": 2, "untied": True},
        "loss": "square",
        "algorithm": {"name": "gd", "lr": 0.002},
        "stop": {"loss": 1e-300, "max_steps": STEPS},
        "record": ["predictor", "final_loss", "status"],
        "grid": {"model.scale": np.logspace(-3, 0, n_scale)[::every].tolist(), "model.shape": np.linspace(-0.8, 0.8, n_shape)[::every].tolist()},
        "seeds": [0],
    }


def _rate(cfg, **kw):
    t0 = time.perf_counter()
    ds = sweep(cfg, store=None, progress=False, **kw)
    dt = time.perf_counter() - t0
    return ds.predictor.shape[0] * ds.predictor.shape[1] / dt, dt, ds


def run():
    full, small = _cfg(32, 32), _cfg(32, 32, every=4)  # the 8 x 8 sub-grid of the same values
    _rate(_cfg(2, 2), backend="vmap", batch=1)  # warm-up compile of the single-point program
    r_one, t_one, d_one = _rate(small, backend="vmap", batch=1)
    r_vmap, t_vmap, d_vmap = _rate(full, backend="vmap", batch=64)
    r_loc, t_loc, _ = _rate(small, backend="local", workers=2, batch=1)
    sub = d_vmap.predictor.isel({"model.scale": slice(None, None, 4), "model.shape": slice(None, None, 4)})
    agree = float(np.nanmax(np.abs(sub.values - d_one.predictor.values)))
    return [
        {
            "name": "sweep 32x32 diag-regression, vmap",
            "ours_s": 1.0 / r_vmap,
            "baseline_s": 1.0 / r_one,
            "baseline": "one point at a time",
            "notes": f"{r_vmap:.1f} vs {r_one:.2f} points/s (vmap: whole grid in {t_vmap:.1f} s incl. compile; one-at-a-time on 8x8); max |diff| {agree:.1e}",
        },
        {
            "name": "sweep 32x32 diag-regression, vmap vs local",
            "ours_s": 1.0 / r_vmap,
            "baseline_s": 1.0 / r_loc,
            "baseline": "local backend (2 processes)",
            "notes": f"local: {r_loc:.2f} points/s on 8x8 incl. process start-up",
        },
    ]
