"""Diagonal linear networks in classification: initialization scale vs training accuracy (moroshko2020).

With the exponential loss on separable data, gradient flow of a tied depth-D diagonal net
(``u_±(0) = alpha``) ends, in direction, at the l2 max-margin point when ``log(1/eps)`` grows
slower than ``alpha^D`` (Thm 4), at the ``Q^D_mu`` max-margin point when
``alpha^D / log(1/eps) -> mu`` (Thm 6, under Condition 5), and at the l1 max-margin point beyond
(Thm 7). ``eps`` is the training loss at which the flow is stopped; ``gamma = log(1/eps)`` is
the training accuracy.

Route: parameter-space :class:`~implicit_bias.GradientFlow` on the *accuracy clock*
(``d theta/d gamma = -grad log L / ||grad log L||^2``, the same path as
``theta' = -grad L`` with the training accuracy as time; tested against the time clock), stopped
exactly at ``gamma``, against independent routes: the ``Q^D_mu`` max-margin point by its dual
Newton solve (:func:`~implicit_bias.theory.q_mu_max_margin`), the l2 max-margin by cvxpy, and the
Lemma 3 bound in closed form. The margin-normalised predictor ``w / min_n y_n x_n^T w`` is
compared (moroshko2020 §4's ``hat w``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import data as ibdata
from .. import diagnostics, models
from ..algorithms import GradientFlow
from ..plotting import COLORS, caption, figure
from ..theory.margins import lemma3_loss_bound, max_margin, q_mu_max_margin
from ..train import Record, Stop, train
from .registry import CheckResult, ExperimentResult, register

__all__ = ["accuracy_flow_endpoint"]


def accuracy_flow_endpoint(model, ds, gamma: float, *, max_steps: int = 2_000_000):
    """Parameter-space gradient flow (exponential loss) of ``model`` on ``ds`` to training
    accuracy ``gamma = -log L``, on the accuracy clock (explicit Tsit5, rtol 1e-10)."""
    alg = GradientFlow(clock="accuracy", rtol=1e-10, atol=1e-12)
    return train(model, ds, "exponential", alg, Stop(training_accuracy=gamma, max_steps=max_steps), record=Record(fields=("loss",), growth=10.0))


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(b))


def _slope(x, y) -> float:
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def _dataset(profile):
    # a separable problem on which Condition 5 holds for mu in {0.5, 0.05} (checked in thm6)
    return ibdata.separable_classification(n=8, d=5, margin=0.1, seed=0)


# ------------------------------------------------------------------------------ Lemma 3


@register(
    "moroshko2020-lemma3",
    paper="moroshko2020",
    kind="check",
    where="Lemma 3",
    title="Along gradient flow the exponential loss stays below 1/(1 + 2 D^2 alpha^(2D-2) gamma_2^2 t)",
)
def lemma3(profile):
    """moroshko2020 Lemma 3 along recorded gradient-flow trajectories (D = 2, 3; several alpha).

    Route: parameter-space gradient flow in flow time ``t`` (tied ``Diagonal``, unbiased init
    ``u_±(0) = alpha``, mean exponential loss, ``L(0) = 1``), the loss recorded on a geometric
    time grid until ``-log L = 10``; the bound ``1/(1 + 2 D^2 alpha^{2D-2} gamma_2^2 t)``
    (:func:`~implicit_bias.theory.lemma3_loss_bound`) with ``gamma_2`` from the l2 max-margin
    (cvxpy). Pass: ``L(t) <= bound(t)`` at every recorded time, to the solver's relative
    accuracy (error: ``max_t L(t)/bound(t) - 1``, clipped at 0; tolerance 1e-8). The smallest
    ratio is reported as the bound's slack.
    """
    ds = _dataset(profile)
    g2 = max_margin(ds.X, ds.y, "l2").margin
    depths = (2, 3)
    alphas = profile.pick((0.3, 1.0, 2.0), (0.1, 0.3, 1.0, 2.0, 4.0))
    alg = GradientFlow(rtol=1e-10, atol=1e-14)
    rows, checks = [], []
    fig, ax = figure(len(depths), 1, width=4.2)
    for j, D in enumerate(depths):
        worst, slack, statuses = 0.0, np.inf, []
        for k, a in enumerate(alphas):
            run = train(models.Diagonal(ds.dim, depth=D, scale=a), ds, "exponential", alg, Stop(training_accuracy=10.0, max_steps=200_000), record=Record(fields=("loss",), growth=1.3, first=1e-3 / a ** (2 * D - 2)))
            t = run.trajectory.time.values
            L = run.trajectory.loss.values
            bound = lemma3_loss_bound(t, a, D, g2)
            ratio = L / bound
            worst = max(worst, float(np.max(ratio)) - 1.0)
            slack = min(slack, float(np.min(ratio[1:])))
            statuses.append(run.status)
            rows.append((D, a, float(np.max(ratio)), float(np.min(ratio[1:]))))
            ax[0, j].loglog(t[1:], L[1:], "-", color=COLORS[k], label=f"alpha = {a:g}: L(t)")
            ax[0, j].loglog(t[1:], bound[1:], ":", color=COLORS[k])
        ax[0, j].set(xlabel="flow time t", ylabel="training loss", title=f"D = {D} (dotted: Lemma 3 bound)")
        ax[0, j].legend(fontsize=7)
        checks.append(
            CheckResult.compare(
                f"moroshko2020-lemma3/D{D}",
                f"D = {D}, alpha in {list(alphas)}: L(t) <= 1/(1 + 2 D^2 alpha^(2D-2) gamma_2^2 t) at every recorded time "
                "(error: max_t L/bound - 1, clipped at 0)",
                "moroshko2020",
                "Lemma 3",
                measured=worst + 1.0,
                predicted=1.0,
                error=max(worst, 0.0),
                tolerance=1e-8,
                smallest_ratio=slack,
                status=statuses,
                gamma2=g2,
            )
        )
    caption(fig, f"moroshko2020 Lemma 3: N={ds.n}, d={ds.dim}, separable data (gamma_2 = {g2:.3g}); tied diagonal nets, gradient flow in time t.")
    arr = np.array(rows)
    out = xr.Dataset({"max_ratio": ("run", arr[:, 2]), "min_ratio": ("run", arr[:, 3])}, coords={"depth": ("run", arr[:, 0].astype(int)), "alpha": ("run", arr[:, 1])})
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------ Thm 4


@register(
    "moroshko2020-thm4",
    paper="moroshko2020",
    kind="check",
    where="Thm 4",
    title="Stopping at eps = exp(-alpha^(D/2)) (kernel regime), the margin-normalised solution tends to the l2 max-margin",
)
def thm4(profile):
    """moroshko2020 Thm 4: ``log(1/eps) = alpha^{D/2} = o(alpha^D)`` gives the l2 max-margin.

    Route: parameter-space gradient flow on the accuracy clock to ``gamma = alpha^{D/2}``, for
    growing alpha (D = 2, 3); the margin-normalised predictor vs the l2 max-margin point
    (cvxpy). Pass: the relative distance decreases monotonically in alpha and the last point is
    within 2e-2 (D = 2, alpha = 256 in quick) — the theorem is asymptotic, the measured rate
    (log-log slope, about -1 in alpha for D = 2) is reported.
    """
    ds = _dataset(profile)
    l2 = max_margin(ds.X, ds.y, "l2").w
    cases = {2: profile.pick((4.0, 16.0, 64.0, 256.0), (4.0, 16.0, 64.0, 256.0, 1024.0)), 3: profile.pick((4.0, 16.0, 64.0), (4.0, 16.0, 64.0, 256.0))}
    checks, data = [], {}
    fig, ax = figure(1, 1, width=4.5)
    for k, (D, alphas) in enumerate(cases.items()):
        dist, statuses = [], []
        for a in alphas:
            run = accuracy_flow_endpoint(models.Diagonal(ds.dim, depth=D, scale=a), ds, a ** (D / 2))
            statuses.append(run.status)
            dist.append(_rel(diagnostics.margin_normalized(ds.X, ds.y, run.predictor), l2))
        dist = np.asarray(dist)
        data[D] = (np.asarray(alphas), dist)
        mono = bool(np.all(np.diff(dist) < 0))
        ok = all(s == "converged" for s in statuses)
        ax[0, 0].loglog(alphas, dist, "o-", color=COLORS[k], label=f"D = {D}")
        checks.append(
            CheckResult.compare(
                f"moroshko2020-thm4/D{D}",
                f"D = {D}: stopping at gamma = alpha^(D/2), the margin-normalised GF solution approaches the l2 max-margin point as alpha grows "
                "(error: relative distance at the largest alpha; must decrease monotonically and every run converge)",
                "moroshko2020",
                "Thm 4",
                measured=float(dist[-1]),
                predicted=0.0,
                error=float(dist[-1]) if (mono and ok) else float("inf"),
                tolerance=2e-2,
                distances=dist,
                alphas=list(alphas),
                loglog_slope=_slope(alphas, dist),
                status=statuses,
            )
        )
    ax[0, 0].set(xlabel="alpha", ylabel="relative distance to the l2 max-margin", title="kernel regime: gamma = alpha^(D/2)")
    ax[0, 0].legend()
    caption(fig, f"moroshko2020 Thm 4: N={ds.n}, d={ds.dim}; tied diagonal nets, gradient flow stopped at training accuracy alpha^(D/2).")
    out = xr.Dataset({f"distance_D{D}": (f"alpha_D{D}", d) for D, (a, d) in data.items()}, coords={f"alpha_D{D}": a for D, (a, d) in data.items()})
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------ Thm 6


@register(
    "moroshko2020-thm6",
    paper="moroshko2020",
    kind="check",
    where="Thm 6, Condition 5",
    title="Stopping at eps = exp(-alpha^D / mu), the margin-normalised solution tends to the Q^D_mu max-margin point",
)
def thm6(profile):
    """moroshko2020 Thm 6: ``alpha^D / log(1/eps) -> mu`` gives ``argmin Q^D_mu s.t. margins >= 1``.

    Route: parameter-space gradient flow on the accuracy clock to ``gamma = alpha^D / mu``
    (D = 2; mu in {0.5, 0.05}; alpha growing), against the Q^D_mu max-margin point solved in the
    dual (:func:`~implicit_bias.theory.q_mu_max_margin`, independent of training). Condition 5
    is verified on the data first (:func:`~implicit_bias.diagnostics.condition5_holds`).
    Pass: the relative distance decreases monotonically in alpha and is within 2e-3 at the
    largest alpha (measured rate ~alpha^-2); and the Q_mu point is far (> 10x the final
    distance) from the l2 max-margin, so the check tells the two regimes apart.
    """
    ds = _dataset(profile)
    D = 2
    l2 = max_margin(ds.X, ds.y, "l2").w
    alphas = np.asarray(profile.pick((3.0, 10.0, 30.0), (3.0, 10.0, 30.0, 100.0)))
    checks, dists = [], []
    fig, ax = figure(1, 1, width=4.5)
    for k, mu in enumerate((0.5, 0.05)):
        c5 = diagnostics.condition5_holds(ds.X, ds.y, mu=mu, depth=D)
        q = q_mu_max_margin(ds.X, ds.y, mu, D).w
        dist, statuses = [], []
        for a in alphas:
            run = accuracy_flow_endpoint(models.Diagonal(ds.dim, depth=D, scale=float(a)), ds, float(a) ** D / mu)
            statuses.append(run.status)
            dist.append(_rel(diagnostics.margin_normalized(ds.X, ds.y, run.predictor), q))
        dist = np.asarray(dist)
        dists.append(dist)
        sep = _rel(l2, q)
        ok = bool(np.all(np.diff(dist) < 0)) and all(s == "converged" for s in statuses) and bool(c5.holds) and sep > 10 * dist[-1]
        ax[0, 0].loglog(alphas, dist, "o-", color=COLORS[k], label=f"mu = {mu:g}")
        checks.append(
            CheckResult.compare(
                f"moroshko2020-thm6/mu{mu:g}",
                f"D = {D}, mu = {mu:g}: stopping at gamma = alpha^D/mu, the margin-normalised GF solution approaches argmin Q^D_mu s.t. margins >= 1 "
                "(error: relative distance at the largest alpha; must decrease monotonically, Condition 5 hold, every run converge, "
                "and the Q_mu point lie > 10x farther from the l2 max-margin)",
                "moroshko2020",
                "Thm 6",
                measured=float(dist[-1]),
                predicted=0.0,
                error=float(dist[-1]) if ok else float("inf"),
                tolerance=2e-3,
                distances=dist,
                alphas=alphas,
                loglog_slope=_slope(alphas, dist),
                q_mu_to_l2=sep,
                condition5=bool(c5.holds),
                status=statuses,
            )
        )
    ax[0, 0].set(xlabel="alpha", ylabel="relative distance to the Q_mu max-margin point", title=f"D = {D}: gamma = alpha^D / mu")
    ax[0, 0].legend()
    caption(fig, f"moroshko2020 Thm 6: N={ds.n}, d={ds.dim}; tied diagonal nets, gradient flow stopped at training accuracy alpha^D/mu.")
    out = xr.Dataset({"distance": (("mu", "alpha"), np.asarray(dists))}, coords={"mu": [0.5, 0.05], "alpha": alphas})
    return ExperimentResult(out, checks, fig)
