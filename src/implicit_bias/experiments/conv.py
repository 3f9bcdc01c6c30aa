"""Linear convolutional networks: sparsity in the frequency domain (Gunasekar et al. 2018b).

Source: vardi2022 §3.2 ("in linear convolutional networks they proved bias towards sparsity of
the linear predictors in the frequency domain"), montufar2024 (slide on Gunasekar et al. 2018b:
"full-width linear convolutional networks of depth L converge to a linear predictor related to
the l_{2/L} penalty in frequency domain"); Gunasekar, Lee, Soudry & Srebro (2018b), Thm 2.

Route 1 (training): :class:`~implicit_bias.models.LinearConv` (``F beta = prod_l F w_l``) from a
small Gaussian init (``scale = 1e-3``: ``E ||beta(0)|| = 1e-3``), exponential loss, trained
through :func:`~implicit_bias.train` by :class:`~implicit_bias.algorithms.LossScaledGD`
(``lr = 0.1``, the Lyu-Li loss-scaled step in log domain: ``-log L`` grows by O(1) per step, so
``-log L = 1e3`` costs ~4e4 steps) to a training-accuracy target. Route 2 (theory, no training):
the DFT-l1 max-margin predictor :func:`~implicit_bias.theory.linear_conv.dft_l1_max_margin` (an
SOCP in cvxpy) and the l2 max margin :func:`~implicit_bias.theory.max_margin` for the
fully-connected control (:class:`~implicit_bias.models.FullyConnected`, linear, width ``d``).

Data: ``separable_classification(n=2d, d, seed=0)`` for the direction checks (with ``N = 2d``
points the DFT-l1 solution is well determined: measured for ``d = 16``, cosine 0.990 at
``-log L = 100`` and 0.9969 at 1000; with ``N = d/2`` the approach is far slower, cosine 0.917
at 1000, because the max-margin problem is nearly degenerate); ``n = d/2`` for the depth study
(sparser solutions).
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from .. import data as ibdata
from .. import models, theory
from ..algorithms import LossScaledGD
from ..diagnostics.metrics import loglog_slope
from ..plotting import COLORS, caption, figure
from ..theory.linear_conv import active_frequencies, dft_l1_max_margin
from ..train import Record, Stop, train
from .registry import CheckResult, ExperimentResult, register

__all__ = ["conv_run", "dft_magnitudes"]

SCALE = 1e-3
LR = 0.1
#: relative threshold of an "active" frequency: ``|(F beta)_m| > ACTIVE_RTOL * max |F beta|``
ACTIVE_RTOL = 0.1
#: accuracy target of the fully-connected control (measured for d = 16: cosine with the l2 max
#: margin 0.99981 at 100, 0.99998 at 1000; 100 is enough for its tolerance and 9x fewer steps)
FC_GAMMA = 100.0


def dft_magnitudes(beta) -> np.ndarray:
    """``|F beta| / max |F beta|`` (unitary DFT), shape ``(d,)``."""
    z = np.abs(np.fft.fft(np.asarray(beta, dtype=np.float64), norm="ortho"))
    return z / z.max()


@functools.lru_cache(maxsize=64)
def conv_run(kind: str, d: int, n: int, depth: int, gamma: float, seed: int = 0, trajectory: bool = False):
    """One training run (cached within the process: the check and the figure share runs).

    ``kind`` is ``"conv"`` (:class:`LinearConv` of ``depth``) or ``"fc"`` (linear
    :class:`FullyConnected` with ``depth - 1`` hidden layers of width ``d``), both at init scale
    :data:`SCALE`, on ``separable_classification(n, d, seed=0)``, exponential loss,
    ``LossScaledGD(lr=0.1)`` to ``-log L >= gamma``; ``seed`` draws the init. Returns the run."""
    ds = ibdata.separable_classification(n=n, d=d, seed=0)
    m = models.LinearConv(d, depth=depth, scale=SCALE) if kind == "conv" else models.FullyConnected(d, widths=(d,) * (depth - 1), scale=SCALE)
    rec = Record(fields=("training_accuracy", "predictor"), growth=1.25) if trajectory else Record(fields=("training_accuracy",))
    return train(m, ds, "exponential", LossScaledGD(lr=LR), Stop(training_accuracy=gamma, max_steps=2_000_000), rec, seed=seed)


def _cosine(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _direction_check(d: int, gamma: float):
    """Depth-2 conv net vs the DFT-l1 max margin, and the fc control vs the l2 max margin."""
    n = 2 * d
    ds = ibdata.separable_classification(n=n, d=d, seed=0)
    sol = dft_l1_max_margin(ds.X, ds.y)
    mm = theory.max_margin(ds.X, ds.y, "l2")
    run = conv_run("conv", d, n, 2, gamma, 0, True)
    acc = run.trajectory.training_accuracy.values
    cos = np.array([_cosine(p, sol.beta) for p in run.trajectory.predictor.values])
    late = acc >= 10.0
    slope = loglog_slope(acc[late], 1.0 - cos[late])[0]
    increasing = bool(np.all(np.diff(cos[late]) > 0))
    final = float(cos[-1])
    cos_l2 = _cosine(run.predictor, mm.w)  # the two predictions must be told apart: closer to DFT-l1 than to l2
    conv_check = CheckResult.compare(
        f"gunasekar2018-linear-conv/d{d}",
        f"depth-2 linear conv net (d={d}, N={n}, init {SCALE:g}, exponential loss) trained to -log L = {gamma:g} points along the "
        "DFT-l1 max-margin direction argmin ||F beta||_1 s.t. y_n <beta, x_n> >= 1 (error: 1 - cosine at the end, tolerance 0.01; "
        "also required: the cosine increases with the accuracy for -log L >= 10, and it exceeds the cosine with the l2 max margin)",
        "gunasekar2018",
        "Thm 2 (L = 2)",
        measured=final,
        predicted=1.0,
        error=(1.0 - final) if increasing and final > cos_l2 else float("inf"),
        tolerance=0.01,
        statuses=run.status,
        cosine_increasing=increasing,
        fitted_rate_one_minus_cos_vs_accuracy=float(slope),
        accuracy=acc[late].tolist(),
        cosine=cos[late].tolist(),
        active_frequencies_trained=active_frequencies(run.predictor, ACTIVE_RTOL),
        active_frequencies_predicted=active_frequencies(sol.beta, ACTIVE_RTOL),
        cosine_with_l2=cos_l2,
    )
    fc = conv_run("fc", d, n, 2, FC_GAMMA)
    fc_cos = _cosine(fc.predictor, mm.w)
    fc_dft = _cosine(fc.predictor, sol.beta)
    fc_check = CheckResult.compare(
        f"gunasekar2018-linear-conv/fc-control-d{d}",
        f"control: the fully-connected linear net of equal depth (2, width {d}) on the same data and training (to -log L = {FC_GAMMA:g}) reaches the l2 "
        "max-margin direction, not the DFT-l1 one (error: 1 - cosine with the l2 max margin, tolerance 1e-3; also required: "
        "it exceeds the cosine with the DFT-l1 max margin)",
        "vardi2022",
        "§3.2",
        measured=fc_cos,
        predicted=1.0,
        error=(1.0 - fc_cos) if fc_cos > fc_dft else float("inf"),
        tolerance=1e-3,
        statuses=fc.status,
        cosine_with_dft_l1=fc_dft,
    )
    return [conv_check, fc_check], (acc[late], cos[late])


def _depth_check(d: int, gamma: float, seeds):
    """Active-frequency counts of conv nets of depth 2, 3, 4 (several inits) on ``N = d/2`` points."""
    n = d // 2
    counts = {L: [active_frequencies(conv_run("conv", d, n, L, gamma, s).predictor, ACTIVE_RTOL) for s in seeds] for L in (2, 3, 4)}
    statuses = [conv_run("conv", d, n, L, gamma, s).status for L in (2, 3, 4) for s in seeds]
    mean = {L: float(np.mean(v)) for L, v in counts.items()}
    gap = min(mean[2] - mean[3], mean[2] - mean[4])
    ds = ibdata.separable_classification(n=n, d=d, seed=0)
    stationary = {L: [active_frequencies(q.beta, ACTIVE_RTOL) for q in theory.dft_lp_stationary_points(ds.X, ds.y, L, n_random=4)] for L in (3, 4)}
    return CheckResult.compare(
        f"gunasekar2018-linear-conv/depth-d{d}",
        f"deeper conv nets are sparser in frequency (d={d}, N={n}, -log L = {gamma:g}, inits {list(seeds)}): the mean number of active "
        f"frequencies (|F beta|_m > {ACTIVE_RTOL} max) at depths 3 and 4 is below depth 2's (l_(2/L) stationary points, L > 2; error: "
        "1 / (smallest drop), tolerance 1: a drop of at least one frequency)",
        "gunasekar2018",
        "Thm 2 (L = 2, 3, 4)",
        measured=gap,
        predicted=1.0,
        error=1.0 / gap if gap > 0 else float("inf"),
        tolerance=1.0,
        statuses=statuses,
        counts={str(L): v for L, v in counts.items()},
        stationary_point_counts={str(L): v for L, v in stationary.items()},
        dft_l1_count=active_frequencies(dft_l1_max_margin(ds.X, ds.y).beta, ACTIVE_RTOL),
        mean_counts={str(L): v for L, v in mean.items()},
    )


@register(
    "gunasekar2018-linear-conv",
    paper="gunasekar2018",
    kind="check",
    where="Thm 2; vardi2022 §3.2",
    title="Linear conv nets -> DFT-l1 max margin (depth 2), sparser in frequency with depth; fc control -> l2 max margin",
)
def linear_conv(profile):
    """Gunasekar et al. 2018b Thm 2 (module docstring for the routes).

    Checked, per ``d`` (quick: 16; full: 16 and 32), on ``N = 2d`` points: the depth-2 conv
    net's cosine with the DFT-l1 max-margin predictor at ``-log L = 1e3`` is ``>= 0.99`` and
    increases with the accuracy (the fitted log-log rate of ``1 - cos`` against ``-log L`` is
    reported); the fully-connected control (depth 2, width ``d``) reaches the l2 max margin
    (cosine ``>= 0.999``). Full profile also: conv nets of depth 2, 3, 4 from four inits on
    ``N = d/2`` points (``d = 16``, ``-log L = 100``): the mean number of active frequencies at
    depths 3 and 4 is at least one below depth 2's (measured: 9.25, 5.0, 5.25 active frequencies;
    the DFT-l1 limit of depth 2 has 8, the depth-2 runs at ``-log L = 100`` are still on the way.
    Depth 4 is not sparser than depth 3 on this instance: for ``L > 2`` the limit is one of
    several stationary points of the l_(2/L) problem, whose counts, as found by
    :func:`~implicit_bias.theory.dft_lp_stationary_points`, are reported beside them: 5, 7, 8
    for L = 3 and 5, 5, 7, 8 for L = 4). The
    direction checks also require the trained predictor to be closer (in cosine) to its own
    prediction than to the other one (conv: DFT-l1 over l2; fc: l2 over DFT-l1). Every run must
    end ``converged``.
    """
    ds_list = profile.pick((16,), (16, 32))
    checks, curves = [], {}
    for d in ds_list:
        cs, curve = _direction_check(d, 1e3)
        checks += cs
        curves[d] = curve
    if not profile.quick:
        checks.append(_depth_check(16, 100.0, (0, 1, 2, 3)))
    fig, ax = figure(1, 1)
    for i, (d, (acc, cos)) in enumerate(curves.items()):
        ax[0, 0].loglog(acc, 1.0 - cos, "o-", ms=3, color=COLORS[i], label=f"d = {d}")
    ax[0, 0].axhline(0.01, color="k", ls=":", label="tolerance (cos 0.99)")
    ax[0, 0].set(xlabel="training accuracy -log L", ylabel="1 - cos(beta, beta_DFT-l1)", title="depth-2 linear conv net")
    ax[0, 0].legend()
    caption(fig, f"gunasekar2018 Thm 2: depth-2 linear conv nets, N = 2d, init {SCALE:g}, exponential loss, LossScaledGD(lr={LR}); DFT-l1 max margin by an SOCP.")
    out = xr.Dataset({f"cosine_d{d}": ((f"acc_d{d}",), cos) for d, (acc, cos) in curves.items()}, coords={f"acc_d{d}": acc for d, (acc, _) in curves.items()})
    return ExperimentResult(out, checks, fig)


@register(
    "gunasekar2018-conv-dft",
    paper="gunasekar2018",
    kind="figure",
    where="Thm 2 (figure of the DFT magnitudes)",
    title="DFT magnitudes of conv vs fully-connected linear predictors by depth",
)
def conv_dft_figure(profile):
    """DFT magnitudes ``|F beta| / max`` of trained conv and fully-connected linear predictors.

    ``d = 16``, ``N = 32``, init ``1e-3``, exponential loss, ``LossScaledGD`` to ``-log L = 1e3``
    (conv) and ``100`` (fully-connected, :data:`FC_GAMMA`);
    depth 2 (quick: the check's runs, cached, so the figure costs no training; each further depth
    costs two more compilations, ~8 s) or 2, 3, 4 (full), with the DFT-l1 max margin (convex, L = 2) and, for
    ``L > 2``, the best l_(2/L) stationary point found (full profile) drawn for comparison. Check:
    at every depth the conv predictor has fewer active frequencies (``> 0.1 max``) than the
    fully-connected one (error: the largest ratio conv/fc count, tolerance < 1; the fc
    predictor, near the l2 max margin, is not sparse in frequency).
    """
    d, n, gamma = 16, 32, 1e3
    depths = profile.pick((2,), (2, 3, 4))
    ds = ibdata.separable_classification(n=n, d=d, seed=0)
    sol = dft_l1_max_margin(ds.X, ds.y)
    mags, ratios, statuses = {}, [], []
    for L in depths:
        rc, rf = conv_run("conv", d, n, L, gamma, 0, L == 2), conv_run("fc", d, n, L, FC_GAMMA)
        mags[("conv", L)], mags[("fc", L)] = dft_magnitudes(rc.predictor), dft_magnitudes(rf.predictor)
        ratios.append(active_frequencies(rc.predictor, ACTIVE_RTOL) / active_frequencies(rf.predictor, ACTIVE_RTOL))
        statuses += [rc.status, rf.status]
    worst = float(max(ratios))
    check = CheckResult.compare(
        "gunasekar2018-conv-dft",
        f"conv predictors are sparser in frequency than fully-connected ones of equal depth (d={d}, N={n}, -log L = {gamma:g}; "
        f"error: largest ratio of active-frequency counts conv/fc over depths {list(depths)}, must be < 1)",
        "gunasekar2018",
        "Thm 2",
        measured=worst,
        predicted=0.0,
        error=worst,
        tolerance=0.999,
        statuses=statuses,
        ratios=ratios,
    )
    fig, ax = figure(len(depths), 1)
    freq = np.arange(d)
    for j, L in enumerate(depths):
        a = ax[0, j]
        a.plot(freq, mags[("fc", L)], "s-", ms=3, color=COLORS[1], label="fully-connected")
        a.plot(freq, mags[("conv", L)], "o-", ms=3, color=COLORS[0], label="conv")
        if L == 2:
            a.plot(freq, dft_magnitudes(sol.beta), "x", color="k", label="DFT-l1 max margin")
        elif not profile.quick:
            pts = theory.dft_lp_stationary_points(ds.X, ds.y, L, n_random=2)
            if pts:
                a.plot(freq, dft_magnitudes(pts[0].beta), "x", color="k", label=f"lowest l_(2/{L}) stationary point found")
        a.set(xlabel="frequency m", ylabel="|F beta|_m / max", title=f"depth {L}")
        a.legend(fontsize=7)
    caption(fig, f"gunasekar2018: d={d}, N={n}, init {SCALE:g}, exponential loss, LossScaledGD(lr={LR}) to -log L = {gamma:g} (conv) and {FC_GAMMA:g} (fully-connected, width {d}); x: the DFT-l1 max margin (L = 2) or the lowest l_(2/L) stationary point found (L > 2).")
    out = xr.Dataset({f"{k}_depth{L}": (("frequency",), v) for (k, L), v in mags.items()}, coords={"frequency": freq})
    return ExperimentResult(out, [check], fig)
