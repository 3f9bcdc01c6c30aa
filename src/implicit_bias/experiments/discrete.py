"""Beyond gradient flow: double descent of min-norm least squares, discrete step sizes and noise.

Sources (issue 23): hastie2019 (T. Hastie, A. Montanari, S. Rosset, R. Tibshirani, *Surprises in
High-Dimensional Ridgeless Least Squares Interpolation*, 2019, Thm 1), surveyed in vardi2022 §6;
even2023 (M. Even, S. Pesme, S. Gunasekar, N. Flammarion, *(S)GD over Diagonal Linear Networks:
Implicit Regularisation, Large Stepsizes and Edge of Stability*, NeurIPS 2023), vardi2022 §5;
nacson2022 (M. S. Nacson, K. Ravichandran, N. Srebro, D. Soudry, *Implicit Bias of the Step Size in
Linear Diagonal Neural Networks*, ICML 2022) and pesme2021 (S. Pesme, L. Pillaud-Vivien,
N. Flammarion, *Implicit Bias of SGD for Diagonal Linear Networks: a Provable Benefit of
Stochasticity*, NeurIPS 2021), vardi2022 §5.
Every check trains through the one loop (:func:`implicit_bias.train_many`) and compares with a
prediction computed without training (:mod:`implicit_bias.theory`).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from .. import data as ibdata
from .. import models, theory
from ..algorithms import SGD, GainTrackedGD, GradientDescent, GradientFlow, LabelNoiseSGD, ParamNoiseGD
from ..diagnostics import loglog_slope
from ..plotting import COLORS, caption, figure
from ..train import Record, Stop, train_many
from .registry import CheckResult, ExperimentResult, register

__all__ = ["ridgeless_monte_carlo", "gd_steps", "n_seeds", "risk_figure", "effective_init_runs", "label_noise_runs", "igr_distances", "modified_flows", "step_size_runs", "step_size_table", "step_size_figure", "threshold_bracket", "sgd_gd_runs"]

_PINV_TOL = 1e-8  # GD from zero vs numpy's pinv(X) y, relative l2 error
_SIGNAL, _NOISE = 1.0, 1.0  # r^2 = ||beta||^2 and sigma^2 of the ridgeless experiments (SNR 1)


def gd_steps(lam_min, lam_max, accuracy=1e-12) -> int:
    """Steps of GD with ``lr = 2/(lam_min + lam_max)`` that contract the error by ``accuracy``:
    the contraction per step is ``(lam_max - lam_min)/(lam_max + lam_min)`` in every direction."""
    rate = (lam_max - lam_min) / (lam_max + lam_min)
    return int(math.ceil(math.log(accuracy) / math.log(rate))) + 10


def ridgeless_monte_carlo(n: int, d: int, seeds, signal: float = _SIGNAL, noise_var: float = _NOISE) -> dict:
    """Test risk of GD from zero on ``len(seeds)`` isotropic regression problems (``data.isotropic_regression``).

    Each problem is trained through :func:`implicit_bias.train_many` (all seeds as one
    vectorised batch): a linear model from ``w = 0``, GD with the optimal constant step
    ``lr = 2/(lambda_min + lambda_max)`` of ``X^T X / n`` (nonzero eigenvalues; stable, below
    ``2/lambda_max``). Overparametrised (``d > n``): to ``L <= 1e-26``, status
    ``converged`` (the min-norm interpolant). Underparametrised (``d < n``): the least-squares
    loss is positive, so GD runs for a step budget that contracts the error ``1e12`` times in
    the slowest direction (``(1 - lambda_min/lambda_max)^K <= 1e-12``), status ``max_steps``.
    Either way the endpoint is compared with ``pinv(X) y`` (numpy). Only the endpoints are
    recorded (``Record(steps=())``: one compiled segment per 20000 steps for the whole batch).

    Returns:
        dict with ``risk`` (``(S,)``, ``||w - beta*||^2``), ``pinv_error`` (``(S,)``, relative l2
        distance of GD's endpoint to ``pinv(X) y``), ``status`` (list), ``steps`` (``(S,)``),
        ``expected_status``.
    """
    dsets = [ibdata.isotropic_regression(n=n, d=d, signal=signal, noise_var=noise_var, seed=int(s)) for s in seeds]
    lams = [np.linalg.svd(ds.X, compute_uv=False) ** 2 / n for ds in dsets]
    lrs = [2.0 / float(lam[0] + lam[-1]) for lam in lams]
    over = d > n
    if over:
        stop = Stop(loss=1e-26, max_steps=2_000_000)
    else:
        stop = Stop(max_steps=max(gd_steps(float(lam[-1]), float(lam[0])) for lam in lams))
    runs = train_many([models.Linear(d)] * len(dsets), dsets, "square", [GradientDescent(lr=lr) for lr in lrs], stop, Record(fields=("loss",), steps=()), list(seeds), inits=[{"w": np.zeros(d)}] * len(dsets))
    risk, perr = [], []
    for run, ds in zip(runs, dsets):
        w = run.predictor
        ref = np.linalg.pinv(ds.X) @ ds.y
        perr.append(float(np.linalg.norm(w - ref) / np.linalg.norm(ref)))
        risk.append(float(np.sum((w - ds.w_star) ** 2)))
    return {
        "risk": np.asarray(risk),
        "pinv_error": np.asarray(perr),
        "status": [r.status for r in runs],
        "steps": np.asarray([r.steps for r in runs]),
        "expected_status": "converged" if over else "max_steps",
    }


def n_seeds(n, d, se, least=8):
    """Seeds for a relative Monte-Carlo standard error ``se`` of the mean risk.

    The risk of one problem is ``V + B``: the label-noise part ``V`` is a chi-square-like
    quadratic form with ``min(n, d)`` degrees of freedom (relative variance ``2/min(n, d)`` for
    equal eigenvalues, inflated by their Marchenko-Pastur spread: by 1.7 at gamma = 0.2, 0.5,
    3.75 at 0.8 and 2.4 at 2, measured with numpy's pinv over 30 seeds at n = 100, 200; bounded
    here by ``1.5 + 1/|1 - gamma|``), and for ``d > n`` the bias ``||(I - P) beta||^2 / r^2``,
    a Beta((d - n)/2, n/2) variable (relative variance ``2n / ((d - n)(d + 2))``).
    """
    g = d / n
    r = theory.ridgeless_risk(g, _SIGNAL, _NOISE)
    R, B, V = float(r.risk), float(r.bias), float(r.variance)
    rel = (1.5 + 1.0 / abs(1.0 - g)) * 2.0 * (V / R) ** 2 / min(n, d)
    if d > n:
        rel += (B / R) ** 2 * 2.0 * n / ((d - n) * (d + 2.0))
    return max(least, int(math.ceil(rel / se**2)))


def _risk_table(gammas, n, se):
    rows = []
    for g in gammas:
        d = int(round(g * n))
        mc = ridgeless_monte_carlo(n, d, range(n_seeds(n, d, se)))
        r = mc["risk"]
        rows.append(
            {
                "gamma": d / n,
                "d": d,
                "seeds": r.size,
                "mc": float(r.mean()),
                "se": float(r.std(ddof=1) / math.sqrt(r.size)),
                "curve": float(theory.ridgeless_risk(d / n, _SIGNAL, _NOISE).risk),
                "finite": float(theory.ridgeless_risk_finite(n, d, _SIGNAL, _NOISE).risk),
                "pinv_error": float(mc["pinv_error"].max()),
                "status_ok": all(s == mc["expected_status"] for s in mc["status"]),
                "statuses": sorted(set(mc["status"])),
                "max_steps": int(mc["steps"].max()),
            }
        )
    return rows


def _table_dataset(rows, n):
    keys = ("d", "seeds", "mc", "se", "curve", "finite", "pinv_error", "max_steps")
    return xr.Dataset(
        {k: (("gamma",), np.asarray([r[k] for r in rows])) for k in keys},
        coords={"gamma": [r["gamma"] for r in rows]},
        attrs={"n": n, "signal": _SIGNAL, "noise_var": _NOISE},
    )


def _pinv_check(id, rows, n):
    bad = [r["gamma"] for r in rows if not r["status_ok"]]
    err = max(r["pinv_error"] for r in rows) if not bad else math.inf
    return CheckResult.compare(
        f"{id}/gd-equals-pinv",
        "GD from zero (lr = 2/(lambda_min + lambda_max)) ends at pinv(X) y, the min-norm least-squares solution "
        "(error: largest relative l2 distance over all gammas and seeds; runs must end converged "
        "(d > n, L <= 1e-26) or after the step budget that contracts the error 1e12 times (d < n))",
        "hastie2019",
        "§2 (ridgeless limit = min-norm); vardi2022 §4.1",
        measured=err,
        predicted=0.0,
        error=err,
        tolerance=_PINV_TOL,
        n=n,
        bad_status_gammas=bad,
    )


@register(
    "hastie2019-ridgeless",
    paper="hastie2019",
    kind="check",
    where="Thm 1 (isotropic features)",
    title="Test risk of min-norm least squares (GD from zero) matches the asymptotic double-descent curve",
)
def ridgeless_check(profile):
    """Monte-Carlo test risk of GD's min-norm solution vs hastie2019 Thm 1, ``gamma = d/n`` in ``[0.1, 10]``.

    Route 1: GD from zero through ``train_many`` on ``isotropic_regression`` problems
    (``r^2 = 1``, ``sigma^2 = 1``), ``n = 100`` (quick) / ``400`` (full), seeds for a relative
    standard error of about 1.5 % (quick) / 1 % (full) (:func:`n_seeds`; at least 8); risk
    ``||w - beta*||^2``. The finite-``n`` bias ``O(1/(n |1 - gamma|))`` is at most 1.3 % here.
    Route 2: ``theory.ridgeless_risk`` (closed form). Error: ``|MC / curve - 1|``, tolerance 0.05
    at each gamma (``|gamma - 1| > 0.1``); plus GD's endpoint equal to ``pinv(X) y`` to 1e-8.
    """
    n = profile.pick(100, 400)
    gammas = profile.pick((0.2, 0.4, 3.0, 5.0), (0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 1.25, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0))
    rows = _risk_table(gammas, n, profile.pick(0.015, 0.01))
    checks = [_pinv_check("hastie2019-ridgeless", rows, n)]
    for r in rows:
        err = abs(r["mc"] / r["curve"] - 1.0)
        checks.append(
            CheckResult.compare(
                f"hastie2019-ridgeless/gamma={r['gamma']:g}",
                f"the Monte-Carlo test risk E||w - beta*||^2 of GD's min-norm solution at gamma = d/n = {r['gamma']:g} "
                f"(n = {n}, {r['seeds']} seeds) matches the asymptotic ridgeless risk (error: |MC / curve - 1|)",
                "hastie2019",
                "Thm 1",
                measured=r["mc"],
                predicted=r["curve"],
                error=err,
                tolerance=0.05,
                standard_error=r["se"],
                finite_n_expectation=r["finite"],
                seeds=r["seeds"],
                n=n,
                d=r["d"],
            )
        )
    fig = risk_figure(rows, n, f"hastie2019 Thm 1: GD from zero (= pinv) on isotropic Gaussian regression, n={n}, r^2 = sigma^2 = 1.")
    return ExperimentResult(_table_dataset(rows, n), checks, fig)


@register(
    "hastie2019-risk-curve",
    paper="hastie2019",
    kind="figure",
    where="Fig. 2 (isotropic features)",
    title="Double descent: Monte-Carlo risk of min-norm least squares vs the closed-form curve",
)
def risk_curve(profile):
    """The ridgeless risk curve over ``gamma = d/n`` with Monte-Carlo points (GD from zero).

    Check: at every gamma (including points close to the threshold, where the asymptotic curve
    is a poor guide at finite ``n``) the Monte-Carlo mean agrees with the *exact finite-n*
    Gaussian expectation (``theory.ridgeless_risk_finite``) within 4 standard errors.
    """
    n = profile.pick(50, 200)
    gammas = profile.pick((0.1, 0.3, 0.6, 0.8, 1.3, 2.0, 4.0, 10.0), (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1, 1.2, 1.35, 1.5, 2.0, 3.0, 4.0, 6.0, 10.0))
    rows = _risk_table(gammas, n, profile.pick(0.05, 0.02))
    z = [abs(r["mc"] - r["finite"]) / r["se"] for r in rows]
    checks = [
        _pinv_check("hastie2019-risk-curve", rows, n),
        CheckResult.compare(
            "hastie2019-risk-curve/finite-n",
            "at every gamma the Monte-Carlo risk of GD's min-norm solution agrees with the exact finite-n Gaussian "
            "expectation sigma^2 d/(n-d-1) or r^2 (1-n/d) + sigma^2 n/(d-n-1) (error: largest |MC - E| in standard errors)",
            "hastie2019",
            "§2 (inverse-Wishart moments); Thm 1 as n -> inf",
            measured=max(z),
            predicted=0.0,
            error=max(z),
            tolerance=4.0,
            z_scores=z,
            gammas=[r["gamma"] for r in rows],
        ),
    ]
    fig = risk_figure(rows, n, f"hastie2019 Fig. 2 setting: r^2 = sigma^2 = 1, n = {n}; points: GD from zero (mean +- 2 s.e.).")
    return ExperimentResult(_table_dataset(rows, n), checks, fig)


def risk_figure(rows, n, text):
    fig, ax = figure(1, 1, width=5.2, height=3.6)
    a = ax[0, 0]
    lo = np.geomspace(0.08, 0.985, 200)
    hi = np.geomspace(1.015, 12.0, 200)
    for k, seg in enumerate((lo, hi)):
        a.plot(seg, theory.ridgeless_risk(seg, _SIGNAL, _NOISE).risk, color=COLORS[0], label="asymptotic (Thm 1)" if k == 0 else None)
        dd = [int(round(g * n)) for g in seg]
        fin = [float(theory.ridgeless_risk_finite(n, d, _SIGNAL, _NOISE).risk) if abs(d - n) > 1 else np.nan for d in dd]
        a.plot(np.asarray(dd) / n, fin, color=COLORS[2], ls="--", lw=1, label=f"exact E at n = {n}" if k == 0 else None)
    g = np.asarray([r["gamma"] for r in rows])
    a.errorbar(g, [r["mc"] for r in rows], yerr=[2 * r["se"] for r in rows], fmt="o", color=COLORS[1], ms=4, label="GD from zero (Monte Carlo)")
    a.axvline(1.0, color="0.5", lw=0.8, ls=":")
    a.axhline(_SIGNAL, color="0.5", lw=0.8, ls="-.", label="null risk r^2")
    a.set(xscale="log", ylim=(0, 6), xlabel="gamma = d / n", ylabel="test risk E||w - beta*||^2", title="ridgeless least squares: double descent")
    a.legend(fontsize=7)
    caption(fig, text)
    return fig


# --------------------------------------------------------------------------------- even2023


def effective_init_runs(lrs, max_steps, alpha=0.1, every_step=False):
    """GD on a tied depth-2 diagonal net (d = 30, n = 20, 3-sparse, ``u_±(0) = alpha``) at each step
    size, as one ``train_many`` batch to ``L <= 1e-22``, by :class:`~implicit_bias.algorithms.GainTrackedGD`
    (GD carrying the trajectory sums of the effective initialization in ``Run.state``: the runs
    record only their end points, one compiled segment per 20 000 steps). ``every_step=True``
    also records the predictor at every step (one segment per step: slow; for the tests)."""
    ds = ibdata.sparse_regression(n=20, d=30, sparsity=3, noise_var=0.0, seed=0)
    model = models.Diagonal(30, depth=2, scale=alpha)
    rec = Record(fields=("loss", "predictor"), steps=range(1, max_steps + 1) if every_step else ())
    runs = train_many([model] * len(lrs), [ds] * len(lrs), "square", [GainTrackedGD(lr=float(lr)) for lr in lrs], Stop(loss=1e-22, max_steps=max_steps), rec)
    return ds, model, runs


@register(
    "even2023-effective-init",
    paper="even2023",
    kind="check",
    where="Thm 1 (exact discrete form)",
    title="GD with large steps on a diagonal net ends at the hyperbolic-entropy interpolant of the effective initialization",
)
def effective_init_check(profile):
    """GD at several step sizes ends at ``argmin D_{psi_{alpha_inf}}(w, w~_0)`` s.t. ``Xw = y``.

    Route 1: GD on ``u_+^2 - u_-^2`` (d = 30, n = 20, sparsity 3, ``alpha = 0.1``) through
    ``train_many`` to ``L <= 1e-22``, carrying the per-coordinate trajectory sums of ``g_k``,
    ``log|1 -+ 2 eta g_k|`` (:class:`~implicit_bias.algorithms.GainTrackedGD`). Route 2:
    ``alpha_±`` from those sums (``theory.effective_initialization_from_sums``, the exact product of
    the per-step factors ``1 -+ 2 eta g_k``), then the interpolant by the diagonal dual solve
    (``theory.effective_init_interpolant``). Error: relative l2 distance, tolerance 1e-4, at every
    step size whose run converged (step sizes past the edge of stability, ~0.7 here, oscillate or
    diverge and are reported, not compared). Details: the same distance to the uncentred reading
    (``w~_0 = 0``) and to the gradient-flow interpolant at ``alpha``.
    """
    lrs = profile.pick((0.4, 0.55, 0.65, 0.75), tuple(np.geomspace(0.05, 1.2, 20)))
    ds, model, runs = effective_init_runs(lrs, profile.pick(6000, 60_000))
    flow = theory.diagonal_interpolant(ds.X, ds.y, model).w
    rows = []
    for lr, run in zip(lrs, runs):
        row = {"lr": float(lr), "status": run.status, "steps": run.steps, "err": np.nan, "err_uncentred": np.nan, "err_flow": np.nan, "alpha_inf_min": np.nan, "l1_ratio": np.nan}
        if run.status == "converged":
            eff = theory.effective_initialization_from_sums(model.scale, model.scale, float(lr), *run.state)
            w = run.predictor
            rel = lambda ref: float(np.linalg.norm(w - ref) / np.linalg.norm(ref))  # noqa: E731
            row.update(
                err=rel(theory.effective_init_interpolant(ds.X, ds.y, eff).w),
                err_uncentred=rel(theory.effective_init_interpolant(ds.X, ds.y, eff, centred=False).w),
                err_flow=rel(flow),
                alpha_inf_min=float(eff.alpha_inf.min()),
                l1_ratio=float(np.abs(w).sum() / np.abs(theory.min_l1_interpolant(ds.X, ds.y)).sum()),
            )
        rows.append(row)
    conv = [r for r in rows if r["status"] == "converged"]
    err = max(r["err"] for r in conv) if conv else math.inf
    check = CheckResult.compare(
        "even2023-effective-init",
        "GD at every converged step size ends at argmin D_psi_{alpha_inf}(w, alpha_+^2 - alpha_-^2) s.t. Xw = y with alpha_± "
        "from the recorded gradients (error: largest relative l2 distance over the converged step sizes)",
        "even2023",
        "Thm 1",
        measured=err,
        predicted=0.0,
        error=err,
        tolerance=1e-4,
        step_sizes=[r["lr"] for r in rows],
        # the claim is about the step sizes whose run converged (the compared runs); the others
        # (past the edge of stability: max_steps or diverged) are reported, never compared
        statuses=[r["status"] for r in conv],
        status_of_each_step_size=[r["status"] for r in rows],
        converged=len(conv),
        error_uncentred=[r["err_uncentred"] for r in rows],
        error_flow_interpolant=[r["err_flow"] for r in rows],
    )
    keys = ("steps", "err", "err_uncentred", "err_flow", "alpha_inf_min", "l1_ratio")
    out = xr.Dataset({k: (("lr",), np.asarray([r[k] for r in rows], dtype=float)) for k in keys}, coords={"lr": [r["lr"] for r in rows]})
    out["status"] = (("lr",), np.asarray([r["status"] for r in rows], dtype=object))
    fig, ax = figure(2, 1)
    c = np.asarray([r["lr"] for r in conv])
    for key, label, col in (("err", "exact (centred)", 0), ("err_uncentred", "centre 0", 1), ("err_flow", "flow interpolant at alpha", 2)):
        ax[0, 0].loglog(c, np.maximum([r[key] for r in conv], 1e-17), "o-", color=COLORS[col], label=label)
    ax[0, 0].axhline(1e-4, color="0.5", ls=":", lw=0.8)
    ax[0, 0].set(xlabel="step size eta", ylabel="||w_GD - w_pred|| / ||w_pred||", title="distance to the predictions")
    ax[0, 0].legend(fontsize=7)
    ax[0, 1].semilogx(c, [r["alpha_inf_min"] for r in conv], "o-", color=COLORS[3], label="min_i alpha_inf,i")
    ax[0, 1].semilogx(c, [r["l1_ratio"] for r in conv], "s-", color=COLORS[4], label="||w||_1 / min l1")
    ax[0, 1].set(xlabel="step size eta", title="effective scale and sparsity")
    ax[0, 1].legend(fontsize=7)
    caption(fig, "even2023 Thm 1: GD on u+^2 - u-^2, d=30, n=20, 3-sparse, alpha=0.1; non-converged step sizes omitted.")
    return ExperimentResult(out, [check], fig)


# -------------------------------------------------------------------------------- haochen2021

_LN_LR, _LN_NOISE = 0.05, 4.0  # label-noise GD: step and label-noise standard deviation
_PN_NOISE = (0.001, 0.01)  # parameter-noise GD (Langevin) diffusion coefficients, the controls
_POLISH_LOSS = 1e-5  # the noise-free end phase stops at L <= this


def label_noise_runs(K: int, seeds, polish_steps: int = 50_000):
    """HaoChen et al. (2021) setting: d = 100, n = 40, 5-sparse ``beta*`` (``||beta*|| = 1``),
    noiseless labels, tied depth-2 diagonal net at the large scale ``alpha = 1`` (``w(0) = 0``).

    Phase 1, ``K`` steps of each noisy algorithm from the same initialization: label-noise GD
    (:class:`~implicit_bias.algorithms.LabelNoiseSGD` with a full batch, ``eta = 0.05``,
    ``sigma = 4``) and parameter-noise GD (:class:`~implicit_bias.algorithms.ParamNoiseGD`,
    ``eta = 0.05``, ``sigma`` in ``(0.001, 0.01)``), one run per seed, recorded on a geometric
    grid. Phase 2, the noise switched off: plain GD (``eta = 0.05``) from each phase-1 end point,
    and from the initialization (the plain-GD control), to ``L <= 1e-5``: the constant noise
    leaves fluctuations of test error ~0.05-0.2 around the point it found, which the noise-free
    end phase removes without moving along the interpolating manifold.

    Returns:
        ``(ds, phase1, final)``: ``phase1`` a dict ``{name: [Run per seed]}``, ``final`` the same
        names plus ``"gd"`` (one run per seed), after phase 2.
    """
    seeds = list(seeds)
    ds = ibdata.sparse_regression(n=40, d=100, sparsity=5, noise_var=0.0, seed=0)
    model = models.Diagonal(100, depth=2, scale=1.0)
    S = len(seeds)
    grid = sorted({int(k) for k in np.geomspace(1, K, 30)})
    rec = Record(fields=("loss", "predictor"), steps=grid)
    stop = Stop(loss=None, max_steps=K)
    phase1 = {"label-noise": train_many([model] * S, [ds] * S, "square", [LabelNoiseSGD(lr=_LN_LR, noise=_LN_NOISE, batch_size=ds.n)] * S, stop, rec, seeds)}
    pn = train_many([model] * (2 * S), [ds] * (2 * S), "square", [ParamNoiseGD(lr=_LN_LR, noise=s) for s in _PN_NOISE for _ in seeds], stop, rec, seeds * 2)
    for j, s in enumerate(_PN_NOISE):
        phase1[f"param-noise {s:g}"] = pn[j * S : (j + 1) * S]
    names = list(phase1)
    starts = [r.params for nm in names for r in phase1[nm]] + [None] * S
    polished = train_many(
        [model] * len(starts), [ds] * len(starts), "square", [GradientDescent(lr=_LN_LR)] * len(starts),
        Stop(loss=_POLISH_LOSS, max_steps=polish_steps), Record(fields=("loss",), steps=()), seeds * (len(names) + 1), inits=starts,
    )
    final = {nm: polished[i * S : (i + 1) * S] for i, nm in enumerate(names + ["gd"])}
    return ds, phase1, final


@register(
    "haochen2021-label-noise",
    paper="haochen2021",
    kind="check",
    where="§1, Fig. 1 (label noise vs parameter noise, quadratically parametrized regression)",
    title="Label-noise GD finds the sparse solution from a large initialization where GD and parameter-noise GD do not",
)
def label_noise_check(profile):
    """Test error ``||w - beta*||^2`` (isotropic Gaussian inputs, noiseless labels) after
    :func:`label_noise_runs` (quick: K = 10 000 noisy steps, 2 seeds; full: K = 100 000, 5 seeds).

    Check 1: label-noise GD's largest test error over the seeds <= 1e-2 (its noise-free end
    phase must reach ``L <= 1e-5``: status ``converged``). Check 2: the smallest test error of the
    controls (plain GD, parameter-noise GD at both levels; each converged) is >= 10 x label-noise
    GD's largest (error ``10 * max(label noise) / min(controls)``, tolerance 1). The theory
    (HaoChen et al. 2021; Pillaud-Vivien et al. 2022; vardi2022 §5): label noise on the
    quadratic parametrization acts as an l1-like regularizer shrinking the off-support
    coordinates, parameter noise (isotropic) does not; GD from ``alpha = 1`` stays l2-like.
    """
    K, seeds = profile.pick((10_000, (0, 1)), (100_000, (0, 1, 2, 3, 4)))
    ds, phase1, final = label_noise_runs(K, seeds)
    err = {nm: np.asarray([ds.population_error(r.predictor) if r.status == "converged" else np.inf for r in runs]) for nm, runs in final.items()}
    steps = {nm: [r.steps for r in runs] for nm, runs in final.items()}
    ln = float(err["label-noise"].max())
    ctrl = float(min(v.min() for nm, v in err.items() if nm != "label-noise"))
    detail = dict(noisy_steps=K, seeds=list(seeds), polish_loss=_POLISH_LOSS, test_error={nm: v.tolist() for nm, v in err.items()}, polish_steps=steps,
                  status_by_run={nm: [r.status for r in runs] for nm, runs in final.items()},
                  statuses=[r.status for runs in final.values() for r in runs])  # every compared run ends converged
    checks = [
        CheckResult.compare(
            "haochen2021-label-noise",
            f"label-noise GD (eta {_LN_LR}, sigma {_LN_NOISE}, {K} steps, then noise off to L <= {_POLISH_LOSS:g}) from alpha = 1 reaches test error <= 1e-2",
            "haochen2021", "§1, Fig. 1", measured=ln, predicted=0.0, error=ln, tolerance=1e-2, **detail,
        ),
        CheckResult.compare(
            "haochen2021-label-noise/controls",
            "plain GD and parameter-noise GD (same init, same steps, same end phase) end with >= 10x label-noise GD's test error",
            "haochen2021", "§1, Fig. 1", measured=ctrl, predicted=10 * ln, error=10 * ln / ctrl if ctrl > 0 else math.inf, tolerance=1.0, **detail,
        ),
    ]
    fig, ax = figure(1, 1)
    for c, (nm, runs) in enumerate(phase1.items()):
        for j, r in enumerate(runs):
            tr = r.trajectory
            e = [ds.population_error(w) for w in tr.predictor.values]
            ax[0, 0].loglog(np.maximum(tr.step.values, 1), e, color=COLORS[c], alpha=0.8, label=nm if j == 0 else None)
    ax[0, 0].axhline(float(err["gd"].min()), color="0.3", ls="--", lw=0.8, label="plain GD (converged)")
    ax[0, 0].axhline(1e-2, color="0.5", ls=":", lw=0.8)
    ax[0, 0].set(xlabel="step", ylabel="test error ||w - beta*||^2", title="noisy phase (before the noise-free end phase)")
    ax[0, 0].legend(fontsize=7)
    caption(fig, f"haochen2021: tied diagonal net, d=100, n=40, 5-sparse, alpha=1; final test errors after the noise-free end phase: {', '.join(f'{nm} {v.max():.2g}' for nm, v in err.items())}.")
    out = xr.Dataset({nm.replace(" ", "_"): (("seed",), v) for nm, v in err.items()}, coords={"seed": list(seeds)})
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------- barrett-dherin2021

_IGR_RTOL, _IGR_ATOL = 1e-12, 1e-14  # the flows' tolerances (their error is far below the distances)


def _flat(params) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(params[k])) for k in sorted(params)])


def modified_flows(model, ds, params0, lrs, T: float, rtols=(_IGR_RTOL,), atol: float = _IGR_ATOL) -> np.ndarray:
    """The gradient flows of ``L~ = L + (lr/4) ||grad L||^2`` at time ``T`` for each ``lr`` in ``lrs``
    (``lr = 0``: the flow of ``L``) and each relative tolerance in ``rtols``, by scipy's ``solve_ivp``
    (DOP853, an 8th-order Runge-Kutta) on the flattened parameters.

    An independent route to :class:`~implicit_bias.algorithms.GradientFlow` with ``objective="igr"``:
    ``L(theta) = ||model.apply(theta, X) - y||^2 / (2N)`` written out here, and ``grad L~`` by
    reverse-over-reverse differentiation of ``L~`` as defined (no Hessian-vector identity, no
    diffrax); one compiled vector field serves every ``lr``.

    Returns:
        ``(len(rtols), len(lrs), P)``: the parameters at ``T``, flattened in sorted name order.
    """
    import jax
    import jax.flatten_util
    import jax.numpy as jnp
    from scipy.integrate import solve_ivp

    theta0, unravel = jax.flatten_util.ravel_pytree({k: jnp.asarray(v) for k, v in params0.items()})
    X, y = jnp.asarray(ds.X), jnp.asarray(ds.y)

    def L(th):
        return 0.5 * jnp.mean((model.apply(unravel(th), X) - y) ** 2)

    def modified(th, eta):
        g = jax.grad(L)(th)
        return L(th) + 0.25 * eta * jnp.vdot(g, g)

    vf = jax.jit(lambda th, eta: -jax.grad(modified)(th, eta))
    out = np.empty((len(rtols), len(lrs), theta0.size))
    for i, rtol in enumerate(rtols):
        for j, lr in enumerate(lrs):
            eta = jnp.asarray(lr, dtype=jnp.float64)
            sol = solve_ivp(lambda t, th: np.asarray(vf(th, eta)), (0.0, T), np.asarray(theta0), method="DOP853", rtol=rtol, atol=atol)
            if not sol.success:
                raise RuntimeError(f"modified_flows: scipy's DOP853 failed at lr={lr} ({sol.message})")
            out[i, j] = _flat(unravel(jnp.asarray(sol.y[:, -1])))
    return out


def igr_distances(model, ds, steps, T: float, seed: int = 0, library_flow: bool = False) -> dict:
    """Distances in parameter space between GD and the two flows at time ``T``, for ``eta = T/k``.

    Route 1: GD with step ``eta = T/k`` for ``k`` steps (``k`` in ``steps``) from
    ``model.init(seed)``, one ``train_many`` batch to ``Stop(max_time=T)`` (status ``max_time``). Route 2: the gradient flow of ``L`` and
    of the modified loss ``L~ = L + (eta/4) ||grad L||^2`` to ``t = T`` from the same initial
    parameters, by :func:`modified_flows` (scipy DOP853, ``rtol = 1e-12``, ``atol = 1e-14``); the
    same flows at ``rtol = 1e-10`` give ``flow_error``, the largest distance between the two
    tolerances (a bound on the error at ``rtol = 1e-12``, which is far below it).
    ``library_flow=True`` also runs the library's :class:`~implicit_bias.algorithms.GradientFlow`
    with ``objective="igr"`` (``lr = 0`` for the flow of ``L``) at the same tolerances, one
    ``train_many`` batch, and reports its largest distance to the scipy flows (``library_gap``).

    Returns:
        dict with ``eta`` (``(K,)``), ``to_flow`` and ``to_modified`` (``(K,)``, the l2 distances
        ``||theta_GD(k) - theta(T)||`` over all parameters), ``flow_error`` (float), ``statuses``
        (every trained run's status), ``scale`` (``||theta_flow(T)||``), ``library_gap`` (float or NaN).
    """
    steps = [int(k) for k in steps]
    etas = [T / k for k in steps]
    K = len(steps)
    rec = Record(fields=("loss",), steps=(), times=())
    p0 = {k: np.asarray(v) for k, v in model.init(seed).items()}
    gd = train_many([model] * K, [ds] * K, "square", [GradientDescent(lr=e) for e in etas], Stop(max_time=T, max_steps=None), rec, [seed] * K, inits=[p0] * K)
    fine, coarse = modified_flows(model, ds, p0, [0.0] + etas, T, rtols=(_IGR_RTOL, 1e-10))
    statuses = [r.status for r in gd]
    gap = math.nan
    if library_flow:
        algs = [GradientFlow(objective="igr", lr=e, rtol=_IGR_RTOL, atol=_IGR_ATOL) for e in [0.0] + etas]
        lib = train_many([model] * (K + 1), [ds] * (K + 1), "square", algs, Stop(max_time=T, max_steps=None), rec, [seed] * (K + 1), inits=[p0] * (K + 1))
        statuses += [r.status for r in lib]
        gap = float(max(np.linalg.norm(_flat(r.params) - f) for r, f in zip(lib, fine)))
    th = [_flat(r.params) for r in gd]
    return {
        "eta": np.asarray(etas),
        "to_flow": np.asarray([np.linalg.norm(t - fine[0]) for t in th]),
        "to_modified": np.asarray([np.linalg.norm(t - f) for t, f in zip(th, fine[1:])]),
        "flow_error": float(max(np.linalg.norm(a - b) for a, b in zip(fine, coarse))),
        "statuses": statuses,
        "scale": float(np.linalg.norm(fine[0])),
        "library_gap": gap,
    }


def _igr_problems(profile):
    """``{name: (model, dataset)}``: the diagonal model and a small deep linear net (smooth, non-convex)."""
    n, d = profile.pick((4, 8), (20, 30))
    diag = (models.Diagonal(d, depth=2, scale=0.5), ibdata.random_regression(n=n, d=d, seed=0))
    m, widths = profile.pick((5, (4, 3)), (10, (16, 16)))
    fc = (models.FullyConnected(m, widths=widths, activation="linear", scale=1.0), ibdata.random_regression(n=profile.pick(6, 20), d=m, seed=1))
    return {"diagonal": diag, "fc": fc}


@register(
    "barrett-dherin2021-igr",
    paper="barrett-dherin2021",
    kind="check",
    where="Thm 3.1 (backward error analysis: the modified loss L + (eta/4)||grad L||^2)",
    title="GD with step eta is O(eta) from the gradient flow of L and O(eta^2) from the flow of the modified loss",
)
def igr_check(profile):
    """Log-log slopes of ``||theta_GD(k) - theta(k eta)||`` against ``eta`` at fixed time ``T = 1``.

    Route 1: GD for ``k = T/eta`` steps through ``train_many``. Route 2: the flows of ``L`` and of
    ``L~ = L + (eta/4) ||grad L||^2`` to ``t = T`` by scipy (DOP853, rtol 1e-12; :func:`igr_distances`,
    :func:`modified_flows`); the full profile also runs the library's
    ``GradientFlow(objective="igr", lr=eta)`` and checks it ends at the scipy flows (to 1 % of the
    smallest measured distance; the quick profile leaves it to tests/algorithms/test_modified.py:
    one flow compilation costs ~10 s). Problems: a tied depth-2 diagonal net (``scale 0.5``; quick
    d = 8, n = 4; full d = 30, n = 20) and a depth-3 linear fully-connected net (quick 5-4-3-1,
    full 10-16-16-1, Gaussian init of scale 1) on ``random_regression``. Step counts ``k`` in
    ``10, 20, 40, 80`` (quick) / ``10 ... 320`` (full, 6 values), so ``eta`` in ``[T/80, T/10]`` /
    ``[T/320, T/10]``. Checks per problem: the slope (:func:`~implicit_bias.diagnostics.loglog_slope`)
    of the distance to the flow of ``L`` is ``1 +- 0.1`` and to the modified flow ``2 +- 0.15``; every
    run ends at ``t = T`` (status ``max_time``); the flows' own error (rtol 1e-10 vs 1e-12) is below
    1 % of the smallest measured distance.
    """
    T = 1.0
    steps = profile.pick((10, 20, 40, 80), (10, 20, 40, 80, 160, 320))
    rows, checks = {}, []
    for name, (model, ds) in _igr_problems(profile).items():
        r = igr_distances(model, ds, steps, T, library_flow=profile.pick(False, True))
        rows[name] = r
        s1, se1 = loglog_slope(r["eta"], r["to_flow"])
        s2, se2 = loglog_slope(r["eta"], r["to_modified"])
        common = dict(statuses=r["statuses"], require_status=("max_time",), eta=r["eta"].tolist(), T=T, model=type(model).__name__, dim=ds.dim, n=ds.n)
        checks += [
            CheckResult.compare(
                f"barrett-dherin2021-igr/{name}/flow",
                f"{name}: the distance between GD after k steps of size eta and the gradient flow of L at t = k eta = {T:g} "
                "scales like eta (error: |fitted log-log slope - 1|)",
                "barrett-dherin2021", "Thm 3.1 (first order)", measured=s1, predicted=1.0, error=abs(s1 - 1.0), tolerance=0.1,
                slope_standard_error=se1, distances=r["to_flow"].tolist(), **common,
            ),
            CheckResult.compare(
                f"barrett-dherin2021-igr/{name}/modified",
                f"{name}: the distance between GD after k steps of size eta and the gradient flow of L + (eta/4)||grad L||^2 at t = k eta = {T:g} "
                "scales like eta^2 (error: |fitted log-log slope - 2|)",
                "barrett-dherin2021", "Thm 3.1", measured=s2, predicted=2.0, error=abs(s2 - 2.0), tolerance=0.15,
                slope_standard_error=se2, distances=r["to_modified"].tolist(), **common,
            ),
            CheckResult.compare(
                f"barrett-dherin2021-igr/{name}/flow-accuracy",
                f"{name}: the flows (rtol {_IGR_RTOL:g}) are accurate far below the measured distances (error: largest distance between the "
                "flows at rtol 1e-10 and 1e-12 over the smallest GD-to-modified-flow distance)",
                "barrett-dherin2021", "(numerics)", measured=r["flow_error"], predicted=0.0, error=r["flow_error"] / float(r["to_modified"].min()),
                tolerance=1e-2, **common,
            ),
        ]
        if not math.isnan(r["library_gap"]):
            checks.append(
                CheckResult.compare(
                    f"barrett-dherin2021-igr/{name}/library-flow",
                    f"{name}: GradientFlow(objective='igr', lr=eta) (diffrax Tsit5, rtol {_IGR_RTOL:g}; lr = 0 for the flow of L) ends at the "
                    "scipy DOP853 flows (error: largest l2 distance over the smallest GD-to-modified-flow distance)",
                    "barrett-dherin2021", "Thm 3.1 (the library's modified flow)", measured=r["library_gap"], predicted=0.0,
                    error=r["library_gap"] / float(r["to_modified"].min()), tolerance=1e-2, **common,
                )
            )
    fig, ax = figure(len(rows), 1)
    for j, (name, r) in enumerate(rows.items()):
        a = ax[0, j]
        a.loglog(r["eta"], r["to_flow"], "o-", color=COLORS[0], label="to the flow of L")
        a.loglog(r["eta"], r["to_modified"], "s-", color=COLORS[1], label="to the flow of L + (eta/4)||grad L||^2")
        e = r["eta"]
        a.loglog(e, r["to_flow"][-1] * e / e[-1], ":", color="0.5", lw=0.8, label="slope 1, 2")
        a.loglog(e, r["to_modified"][-1] * (e / e[-1]) ** 2, ":", color="0.5", lw=0.8)
        a.set(xlabel="step size eta", ylabel=f"||theta_GD(k) - theta(k eta)||, k eta = {T:g}", title=name)
        a.legend(fontsize=7)
    caption(fig, "barrett-dherin2021 Thm 3.1: GD is O(eta) from gradient flow and O(eta^2) from the flow of the modified loss (fixed time T = 1).")
    keys = ("to_flow", "to_modified")
    out = xr.Dataset({f"{nm}_{k}": (("k",), rows[nm][k]) for nm in rows for k in keys}, coords={"k": list(steps)}, attrs={"T": T})
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------- nacson2022

_NAC = dict(n=20, d=30, sparsity=3, mean=3.0, alpha=0.3)  # non-centred sparse regression, one init scale
_NAC_LOSS = 1e-12  # converged: L <= this (the l1 norms are then exact to ~1e-6 relative)


def step_size_runs(lrs, max_steps: int, n=_NAC["n"], d=_NAC["d"], sparsity=_NAC["sparsity"], mean=_NAC["mean"], alpha=_NAC["alpha"]):
    """GD on a tied depth-2 diagonal net (``w = u_plus^2 - u_minus^2``, ``u_±(0) = alpha``) on
    non-centred noiseless sparse regression (``x_n ~ N(mean 1, I_d)``, ``data.sparse_regression``
    with ``mean``), one run per step size in ``lrs``, as one ``train_many`` batch to
    ``L <= 1e-12`` (status ``converged``), ``max_steps`` otherwise, ``diverged`` on overflow.
    :class:`~implicit_bias.algorithms.GainTrackedGD` carries the sums of the effective
    initialization (even2023) in ``Run.state``; only end points are recorded.

    Returns:
        ``(ds, model, runs)``.
    """
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=sparsity, noise_var=0.0, seed=0, mean=mean)
    model = models.Diagonal(d, depth=2, scale=alpha)
    runs = train_many([model] * len(lrs), [ds] * len(lrs), "square", [GainTrackedGD(lr=float(lr)) for lr in lrs], Stop(loss=_NAC_LOSS, max_steps=max_steps), Record(fields=("loss",), steps=()))
    return ds, model, runs


def step_size_table(lrs, max_steps: int, **setting) -> dict:
    """:func:`step_size_runs`, then per step size: status, steps and, for converged runs only,
    ``||w||_1 / ||w_l1||_1`` (``w_l1 = theory.min_l1_interpolant``, cvxpy/HiGHS), the relative l2
    distance to the gradient-flow interpolant at ``alpha`` (``theory.diagonal_interpolant``), the
    final ``eta * lambda_max(Hess L)`` (``diagnostics.sharpness``, dense) and the median effective
    scale ``alpha_inf`` (``theory.effective_initialization_from_sums``).

    Returns:
        dict with ``rows`` (one dict per step size), ``l1`` (``||w_l1||_1``), ``l2_ratio``
        (``||pinv(X) y||_1 / ||w_l1||_1``), ``flow_ratio`` (the flow interpolant's), ``eta0``
        (``2 / lambda_max`` at the initialization: the largest step stable from the start).
    """
    from ..algorithms import Objective
    from ..diagnostics import sharpness
    from ..losses import get_loss

    ds, model, runs = step_size_runs(lrs, max_steps, **setting)
    obj = Objective(model, get_loss("square"), ds.X, ds.y)
    wl1 = theory.min_l1_interpolant(ds.X, ds.y)
    l1 = float(np.abs(wl1).sum())
    flow = theory.diagonal_interpolant(ds.X, ds.y, model).w
    rows = []
    for lr, run in zip(lrs, runs):
        row = {"lr": float(lr), "status": run.status, "steps": int(run.steps)}
        if run.status == "converged":
            w = run.predictor
            eff = theory.effective_initialization_from_sums(model.scale, model.scale, float(lr), *run.state)
            row.update(
                l1_ratio=float(np.abs(w).sum() / l1),
                to_flow=float(np.linalg.norm(w - flow) / np.linalg.norm(flow)),
                eta_sharpness=float(lr) * sharpness(obj, run.params),
                alpha_inf_median=float(np.median(eff.alpha_inf)),
            )
        rows.append(row)
    return {
        "rows": rows,
        "l1": l1,
        "l2_ratio": float(np.abs(np.linalg.pinv(ds.X) @ ds.y).sum() / l1),
        "flow_ratio": float(np.abs(flow).sum() / l1),
        "eta0": 2.0 / sharpness(obj, model.init(0)),
    }


def step_size_figure(table: dict, text: str):
    """``||w_GD||_1 / min l1`` against the step size (converged runs), the min-l2 and flow levels,
    the divergence threshold (between the largest converged step and the next one) and
    ``eta * sharpness`` of the converged runs; ``table`` as :func:`step_size_table` returns."""
    rows = table["rows"]
    conv = [r for r in rows if r["status"] == "converged"]
    fig, ax = figure(2, 1, width=4.4)
    a, b = ax[0, 0], ax[0, 1]
    c = [r["lr"] for r in conv]
    a.semilogx(c, [r["l1_ratio"] for r in conv], "o-", color=COLORS[0], label="GD (converged)")
    a.axhline(table["l2_ratio"], color=COLORS[1], ls="--", lw=1, label="min l2 (pinv)")
    a.axhline(table["flow_ratio"], color=COLORS[2], ls="-.", lw=1, label="gradient flow at alpha")
    a.axhline(1.0, color="0.3", ls=":", lw=1, label="min l1")
    other = [r for r in rows if r["status"] != "converged"]
    top = table["l2_ratio"] * 1.03
    for st, mk in (("diverged", "x"), ("max_steps", "^")):
        pts = [r["lr"] for r in other if r["status"] == st]
        if pts:
            a.semilogx(pts, [top] * len(pts), mk, color="0.4", ls="none", label=st)
    lo, hi = threshold_bracket(rows)
    if hi is not None:
        a.axvspan(lo, hi, color="0.85", zorder=0, label="divergence threshold")
    a.axvline(table["eta0"], color="0.5", lw=0.8, ls=":")
    a.set(xlabel="step size eta", ylabel="||w_GD||_1 / ||w_l1||_1", title="l1 norm of GD's interpolant")
    a.legend(fontsize=6)
    b.semilogx(c, [r["eta_sharpness"] for r in conv], "s-", color=COLORS[3], label="eta * sharpness (end)")
    b.semilogx(c, [r["alpha_inf_median"] for r in conv], "d-", color=COLORS[4], label="median alpha_inf")
    b.axhline(2.0, color="0.5", ls=":", lw=0.8)
    b.set(xlabel="step size eta", title="stability (<= 2) and effective scale")
    b.legend(fontsize=6)
    caption(fig, text)
    return fig


def threshold_bracket(rows):
    """``(largest converged step, smallest larger step that did not converge)`` (``None`` if every
    larger step converged, or no step converged)."""
    conv = [r["lr"] for r in rows if r["status"] == "converged"]
    if not conv:
        return None, None
    lo = max(conv)
    above = [r["lr"] for r in rows if r["lr"] > lo and r["status"] != "converged"]
    return lo, (min(above) if above else None)


@register(
    "nacson2022-step-size",
    paper="nacson2022",
    kind="check",
    where="main theorem (dynamically stable minima have a bounded weighted l1 norm); vardi2022 §5",
    title="Larger GD steps on non-centred data drive a diagonal net's interpolant from l2-like to min-l1, up to divergence",
)
def step_size_check(profile):
    """``||w_GD(eta)||_1 / min_{Xw=y} ||w||_1`` falls as the step ``eta`` grows, reaching min-l1
    near the divergence threshold; small steps follow gradient flow.

    Setting (:func:`step_size_runs`): ``x_n ~ N(3 * 1, I_30)``, ``n = 20``, noiseless 3-sparse
    ``beta*``, tied ``u_±(0) = alpha = 0.3`` (flow's interpolant is l2-leaning: l1 ratio 1.55, min-l2
    1.74); GD at step sizes from ``0.003`` past divergence (quick 8, full 24), ``L <= 1e-12``.
    Route 2: ``min ||w||_1`` s.t. ``Xw = y`` by cvxpy/HiGHS (``theory.min_l1_interpolant``) and the
    flow interpolant by the dual Newton solve (``theory.diagonal_interpolant``).

    Mechanism (nacson2022's stability theorem, in this code's convention ``L = ||Xw - y||^2 / (2N)``): at an
    interpolant ``Hess L = J^T J / N`` with ``J = X [diag 2u_+, -diag 2u_-]``, so
    ``lambda_max = (4/N) lambda_max(X diag(u_+^2 + u_-^2) X^T) >= 4 sum_i m_i^2 |w_i|`` (Rayleigh
    quotient at ``1/sqrt N``; ``m_i`` the column means, ``~ mean``). GD converges only to minima
    with ``lambda_max <= 2/eta``: a weighted l1 norm ``<= 1/(2 eta)``.

    Checks: (1) at the largest converged step the l1 ratio is ``<= 1 + 0.15`` (measured 1.113
    quick, at eta = 0.0164; 1.077 full, at 0.0170, threshold (0.0170, 0.0186); the full curve's
    minimum is 1.051 at 0.0155); (2) the ratio decreases over the steps stable from the start
    (``eta <= eta0 = 2 / lambda_max(0)`` = 0.0100) and every larger converged step ends below all
    of them (tolerance 1e-3; measured: the largest rise over the first range is -4e-3 quick,
    -2e-4 full (the curve is flat but decreasing at small steps), the larger steps end >= 0.04 below). Close to the threshold the
    curve is not monotone (full: +0.026 from 0.0155 to 0.0170; ``largest_rise``); (3) the smallest step (0.003) is within 1e-2 relative l2 of the flow
    interpolant (measured 1.1e-3; 4.2e-3 at eta = 0.006: the gap shrinks with the step,
    at a local log-log slope 1.6-1.9, not made a check); (4) every converged run ends stable,
    ``eta * lambda_max <= 2 + 1e-6``.

    Why not closer to 1 (measured, derived): with a uniform tied init the sharpness at the start is
    ``~ 8 alpha^2 mean^2 d``, and flow's interpolant is l2-like only when ``2 alpha^2 d >>
    ||w||_1``, i.e. when the start is far sharper than the min-l1 interpolant (``~ 4 mean^2
    ||w_l1||_1``). Steps large enough for the stability bound to reach min-l1 are then
    ``~ 2 alpha^2 d / ||w_l1||_1`` (here 3.1) times the step that is stable at the start; GD
    survives the initial instability (a catapult that shrinks ``alpha_inf``) only up to ~1.6-2x
    that step, then diverges. Smaller ``alpha`` (0.2: flow ratio 1.39) reaches 1.003 at the
    threshold but needs > 8e5 steps there; the weights ``m_i^2`` spread by ``~ 1 +- 2/(mean sqrt N)``.
    """
    lrs = profile.pick((0.003, 0.006, 0.009, 0.011, 0.0164, 0.020), tuple(np.geomspace(0.003, 0.0245, 24)))
    table = step_size_table(lrs, profile.pick(100_000, 400_000))
    rows = table["rows"]
    conv = [r for r in rows if r["status"] == "converged"]
    lo, hi = threshold_bracket(rows)
    top = next(r for r in rows if r["lr"] == lo) if lo is not None else None
    small = rows[0]
    common = dict(step_sizes=[r["lr"] for r in rows], status_of_each_step_size=[r["status"] for r in rows], steps=[r["steps"] for r in rows],
                  l1_ratio_converged=[r["l1_ratio"] for r in conv], converged_step_sizes=[r["lr"] for r in conv],
                  largest_converged_step=lo, smallest_larger_step_not_converged=hi, eta0_stable_at_init=table["eta0"],
                  min_l2_l1_ratio=table["l2_ratio"], flow_l1_ratio=table["flow_ratio"], min_l1_norm=table["l1"], setting=dict(_NAC))
    rises = [b["l1_ratio"] - a["l1_ratio"] for a, b in zip(conv, conv[1:])]
    stable = [r for r in conv if r["lr"] <= table["eta0"]]  # stable from the start: no catapult
    beyond = [r for r in conv if r["lr"] > table["eta0"]]  # past it: GD survives an initial instability
    rise_stable = max((b["l1_ratio"] - a["l1_ratio"] for a, b in zip(stable, stable[1:])), default=math.inf)
    above = max((r["l1_ratio"] for r in beyond), default=math.inf) - min((r["l1_ratio"] for r in stable), default=-math.inf)
    falls = max(rise_stable, above)
    checks = [
        CheckResult.compare(
            "nacson2022-step-size",
            "at the largest step size for which GD converges, its interpolant's l1 norm is within 15 % of the min-l1 interpolant's "
            "(error: ||w_GD||_1 / ||w_l1||_1 - 1; the next larger step must not converge, so the threshold is bracketed)",
            "nacson2022", "main theorem (stability bound on a weighted l1 norm); vardi2022 §5",
            measured=top["l1_ratio"] if top else math.nan, predicted=1.0, error=(top["l1_ratio"] - 1.0) if (top and hi is not None) else math.inf,
            tolerance=0.15, statuses=[top["status"]] if top else ["none converged"], smallest_l1_ratio=min((r["l1_ratio"] for r in conv), default=math.nan), **common,
        ),
        CheckResult.compare(
            "nacson2022-step-size/falls",
            "the l1 ratio of GD's interpolant falls as the step grows: it decreases over the steps stable from the start (eta <= 2/lambda_max(0)), "
            "and every larger converged step ends below all of them (error: the larger of the largest rise in the first range and "
            "max(ratio past 2/lambda_max(0)) - min(ratio before); close to the threshold the curve may rise again, reported in largest_rise)",
            "nacson2022", "large step: kernel -> rich regime; vardi2022 §5", measured=falls, predicted=0.0, error=max(0.0, falls) if (len(stable) >= 2 and beyond) else math.inf,
            tolerance=1e-3, statuses=[r["status"] for r in conv], largest_rise=max(rises, default=math.nan),
            converged_stable_from_start=len(stable), converged_past_it=len(beyond), **common,
        ),
        CheckResult.compare(
            "nacson2022-step-size/small-step",
            f"GD at the smallest step ({small['lr']:g}) ends at the gradient-flow interpolant at alpha (l2-leaning; error: relative l2 distance)",
            "nacson2022", "gradient flow at alpha (hyperbolic entropy; woodworth2020, azulay2021 Thm 4.1)",
            measured=small.get("to_flow", math.nan), predicted=0.0, error=small.get("to_flow", math.inf), tolerance=1e-2,
            statuses=[small["status"]], small_step_l1_ratio=small.get("l1_ratio", math.nan), **common,
        ),
        CheckResult.compare(
            "nacson2022-step-size/stable",
            "every converged run ends at a minimum stable for its step: eta * lambda_max(Hess L) <= 2 (error: largest eta * lambda_max - 2, clipped at 0)",
            "nacson2022", "dynamical stability (lambda_max <= 2/eta); vardi2022 §5",
            measured=max(r["eta_sharpness"] for r in conv) if conv else math.nan, predicted=2.0,
            error=max(0.0, max(r["eta_sharpness"] for r in conv) - 2.0) if conv else math.inf, tolerance=1e-6,
            statuses=[r["status"] for r in conv], eta_sharpness=[r["eta_sharpness"] for r in conv], **common,
        ),
    ]
    out = xr.Dataset(
        {"status": (("lr",), np.asarray([r["status"] for r in rows], dtype=object)), "steps": (("lr",), np.asarray([r["steps"] for r in rows]))}
        | {k: (("lr_converged",), np.asarray([r[k] for r in conv], dtype=float)) for k in ("l1_ratio", "to_flow", "eta_sharpness", "alpha_inf_median")},
        coords={"lr": [r["lr"] for r in rows], "lr_converged": [r["lr"] for r in conv]},
        attrs={"min_l1_norm": table["l1"], "min_l2_l1_ratio": table["l2_ratio"], "flow_l1_ratio": table["flow_ratio"], "eta0": table["eta0"],
               "threshold_low": lo if lo is not None else -1.0, "threshold_high": hi if hi is not None else -1.0},
    )
    band = f"({lo:.4g}, {hi:.4g})" if hi is not None else "(not bracketed)"
    fig = step_size_figure(table, f"nacson2022: GD on u+^2 - u-^2, x ~ N(3*1, I), d=30, n=20, 3-sparse, alpha=0.3; grey band: divergence threshold "
                                  f"{band}; dotted: the largest step stable at the start.")
    return ExperimentResult(out, checks, fig)


# -------------------------------------------------------------------------------- pesme2021

_PESME = dict(n=20, d=30, sparsity=3, alpha=0.3, lr=0.05)  # centred sparse regression; GD and SGD at one step


def sgd_gd_runs(seeds, n=_PESME["n"], d=_PESME["d"], sparsity=_PESME["sparsity"], alpha=_PESME["alpha"], lr=_PESME["lr"], max_steps: int = 200_000):
    """GD and SGD (batch 1) at the same step ``lr`` and the same init ``u_±(0) = alpha`` on a tied
    depth-2 diagonal net, one centred noiseless sparse-regression problem per seed
    (``data.sparse_regression(seed=s)``; SGD's batches from the same seed), each a ``train_many``
    batch to ``L <= 1e-12`` (full-batch loss). GD is :class:`~implicit_bias.algorithms.GainTrackedGD`
    (its effective initialization from the trajectory sums as well).

    Returns:
        ``(dsets, model, gd_runs, sgd_runs)``.
    """
    seeds = [int(s) for s in seeds]
    S = len(seeds)
    dsets = [ibdata.sparse_regression(n=n, d=d, sparsity=sparsity, noise_var=0.0, seed=s) for s in seeds]
    model = models.Diagonal(d, depth=2, scale=alpha)
    stop, rec = Stop(loss=_NAC_LOSS, max_steps=max_steps), Record(fields=("loss",), steps=())
    gd = train_many([model] * S, dsets, "square", [GainTrackedGD(lr=lr)] * S, stop, rec, seeds)
    sgd = train_many([model] * S, dsets, "square", [SGD(lr=lr, batch_size=1)] * S, stop, rec, seeds)
    return dsets, model, gd, sgd


def _fmt_spread(v) -> str:
    d = _spread(v)
    return " / ".join(f"{d[k]:.3f}" for k in ("min", "median", "max")) if d else "none"


def _spread(v) -> dict:
    v = np.asarray(v, dtype=float)
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())} if v.size else {}


@register(
    "pesme2021-sgd-sparser",
    paper="pesme2021",
    kind="check",
    where="SGD's effective scale alpha_inf < alpha (smaller than GD's at equal step); even2023 Thm 1; vardi2022 §6",
    title="At equal step and init, SGD (batch 1) on a diagonal net has a smaller effective scale than GD and a sparser interpolant",
)
def sgd_sparser_check(profile):
    """Per seed: ``rho_alpha = mean_i alpha_inf,i(SGD) / alpha_inf,i(GD)`` and
    ``rho_1 = ||w_SGD||_1 / ||w_GD||_1``, both ``< 1``.

    Setting (:func:`sgd_gd_runs`): centred noiseless sparse regression, ``n = 20``, ``d = 30``,
    3-sparse, tied ``u_±(0) = alpha = 0.3``, step ``eta = 0.05`` for both; seeds 0-3 (quick) /
    0-11 (full); every run must converge (``L <= 1e-12``). ``alpha_inf = sqrt(|u_+ u_-|)`` at the
    end (``theory.effective_scale_from_params``, exact for any step sequence: each step multiplies
    ``u_+ u_-`` by ``1 - 4 eta^2 g_k^2``), so ``log(alpha / alpha_inf) ~ 2 eta^2 sum_k g_k^2``: SGD's
    single-sample gradients are larger than GD's averages (``E||g_B||^2 = ||g||^2 + Var``), so its
    gain is larger (pesme2021; even2023 Thm 1; vardi2022 §6). Route 2 for GD: the same scale from the trajectory sums
    (``theory.effective_initialization_from_sums``), which validates the read-out.

    Checks: (1) the largest ``rho_alpha`` over the seeds is ``<= 1`` (measured min / median / max
    0.857 / 0.910 / 0.940 over the full profile's 12 seeds, and every coordinate smaller on every
    seed); (2) the *median* ``rho_1`` over the seeds is ``<= 1`` (measured 0.987; spread 0.974 -
    1.019: SGD is sparser on 9 of 12 seeds, all 4 quick seeds); (3) the two routes to GD's
    ``alpha_inf`` agree to 1e-10 relative (measured 2e-14). The spread and the fraction of
    coordinates with a smaller SGD scale are in the details.

    Why the l1 claim is about the median: the interpolant is ``argmin D_{psi_{alpha_inf}}(w, w~_0)``
    (even2023), and SGD's ``alpha_inf`` is smaller but not uniformly so across coordinates, and its
    centre ``w~_0`` (third order in the step, ``-(32/3) alpha^2 eta^3 sum_k g_k^3``, larger for
    single-sample gradients) moves too; neither is monotone in the l1 norm. At this step the l1
    effect is 1-3 %; at ``eta = 0.08`` (measured) ``rho_alpha`` is 0.40-0.78 and the median ``rho_1``
    0.91, but one seed of 12 ends with ``rho_1 = 1.16``.
    """
    seeds = profile.pick(range(4), range(12))
    dsets, model, gd, sgd = sgd_gd_runs(seeds)
    rho_a, rho_1, frac, routes, l1_gd, l1_sgd = [], [], [], [], [], []
    for ds, g, q in zip(dsets, gd, sgd):
        if g.status != "converged" or q.status != "converged":
            continue
        ag = theory.effective_scale_from_params(g.params["u_plus"], g.params["u_minus"])
        aq = theory.effective_scale_from_params(q.params["u_plus"], q.params["u_minus"])
        sums = theory.effective_initialization_from_sums(model.scale, model.scale, _PESME["lr"], *g.state).alpha_inf
        l1 = float(np.abs(theory.min_l1_interpolant(ds.X, ds.y)).sum())
        rho_a.append(float(np.mean(aq / ag)))
        frac.append(float(np.mean(aq < ag)))
        routes.append(float(np.max(np.abs(ag / sums - 1.0))))
        rho_1.append(float(np.abs(q.predictor).sum() / np.abs(g.predictor).sum()))
        l1_gd.append(float(np.abs(g.predictor).sum()) / l1)
        l1_sgd.append(float(np.abs(q.predictor).sum()) / l1)
    complete = len(rho_a) == len(gd)
    statuses = [r.status for r in gd] + [r.status for r in sgd]
    common = dict(seeds=list(seeds), setting=dict(_PESME), statuses_gd=[r.status for r in gd], statuses_sgd=[r.status for r in sgd],
                  steps_gd=[r.steps for r in gd], steps_sgd=[r.steps for r in sgd], alpha_inf_ratio=rho_a, alpha_inf_ratio_spread=_spread(rho_a),
                  fraction_of_coordinates_smaller=frac, l1_ratio=rho_1, l1_ratio_spread=_spread(rho_1),
                  l1_over_min_l1_gd=l1_gd, l1_over_min_l1_sgd=l1_sgd)
    worst = lambda v: max(v) if (v and complete) else math.inf  # noqa: E731
    checks = [
        CheckResult.compare(
            "pesme2021-sgd-sparser",
            "at equal step and init, SGD's effective scale alpha_inf = sqrt(|u+ u-|) is smaller than GD's coordinate-wise on average, on every seed "
            "(error: largest over the seeds of mean_i alpha_inf,i(SGD) / alpha_inf,i(GD); the claim is < 1)",
            "pesme2021", "SGD's effective scale; vardi2022 §6", measured=float(np.median(rho_a)) if rho_a else math.nan, predicted=1.0, error=worst(rho_a), tolerance=1.0,
            statuses=statuses, **common,
        ),
        CheckResult.compare(
            "pesme2021-sgd-sparser/l1",
            "at equal step and init, SGD's interpolant has a smaller l1 norm than GD's over the seeds (error: the median over the seeds of "
            "||w_SGD||_1 / ||w_GD||_1; the claim is < 1; not every seed: see seeds_lower and the spread)",
            "pesme2021", "SGD is sparser than GD; vardi2022 §6", measured=float(np.median(rho_1)) if rho_1 else math.nan, predicted=1.0,
            error=float(np.median(rho_1)) if (rho_1 and complete) else math.inf, tolerance=1.0,
            statuses=statuses, seeds_lower=int(np.sum(np.asarray(rho_1) < 1.0)), **common,
        ),
        CheckResult.compare(
            "pesme2021-sgd-sparser/routes",
            "GD's alpha_inf read from its final parameters (sqrt|u+ u-|) equals the one from its trajectory sums (error: largest relative difference)",
            "even2023", "Thm 1 (exact discrete form)", measured=worst(routes), predicted=0.0, error=worst(routes), tolerance=1e-10,
            statuses=[r.status for r in gd], **common,
        ),
    ]
    out = xr.Dataset(
        {k: (("seed",), np.asarray(v, dtype=float)) for k, v in (("alpha_inf_ratio", rho_a), ("l1_ratio", rho_1), ("fraction_smaller", frac),
                                                                  ("gd_l1_over_min_l1", l1_gd), ("sgd_l1_over_min_l1", l1_sgd))},
        coords={"seed": [s for s, g, q in zip(seeds, gd, sgd) if g.status == q.status == "converged"]},
        attrs={k: float(v) for k, v in _PESME.items()},
    )
    fig, ax = figure(2, 1, width=4.2)
    x = np.arange(len(rho_a))
    ax[0, 0].plot(x, rho_a, "o", color=COLORS[0], label="mean_i alpha_inf(SGD) / alpha_inf(GD)")
    ax[0, 0].plot(x, rho_1, "s", color=COLORS[1], label="||w_SGD||_1 / ||w_GD||_1")
    ax[0, 0].axhline(1.0, color="0.5", ls=":", lw=0.8)
    ax[0, 0].set_xticks(x, [str(s) for s, g, q in zip(seeds, gd, sgd) if g.status == q.status == "converged"])
    ax[0, 0].set(xlabel="seed", ylabel="SGD / GD", title="SGD vs GD at equal step and init")
    ax[0, 0].legend(fontsize=7)
    if gd and complete:
        g, q = gd[0], sgd[0]
        ag = theory.effective_scale_from_params(g.params["u_plus"], g.params["u_minus"])
        aq = theory.effective_scale_from_params(q.params["u_plus"], q.params["u_minus"])
        ax[0, 1].plot(ag, aq, "o", ms=3, color=COLORS[2])
        lim = (min(ag.min(), aq.min()) * 0.98, model.scale * 1.01)
        ax[0, 1].plot(lim, lim, ":", color="0.5", lw=0.8)
        ax[0, 1].set(xlabel="alpha_inf,i (GD)", ylabel="alpha_inf,i (SGD)", title=f"coordinates, seed {seeds[0]}")
    caption(fig, f"pesme2021: tied diagonal net, centred sparse regression d=30, n=20, 3-sparse, alpha=0.3, eta=0.05; SGD batch 1 vs GD; "
                 f"min/median/max alpha_inf ratio {_fmt_spread(rho_a)}, l1 ratio {_fmt_spread(rho_1)}.")
    return ExperimentResult(out, checks, fig)
