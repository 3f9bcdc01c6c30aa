"""Diagonal linear networks in regression: initialization scale and shape decide the implicit bias.

Sources: azulay2021 §4 (Thm 4.1), §7.1, §9, Fig. 7.1; vardi2022 §4.2 (Woodworth et al. 2020);
moroshko2020 eq. (6). Every check trains the network in *parameter space* (gradient flow,
:class:`~implicit_bias.GradientFlow`, on :class:`~implicit_bias.models.Diagonal`) and compares
the endpoint with an independent route: ``theory.diagonal_interpolant`` (``argmin Q(w)``
s.t. ``Xw = y``, Newton's method on the N-dimensional dual), the min-l1 LP (cvxpy), or the
closed-form kernel (NTK-norm / min-l2) interpolants.

Stiffness: gradient flow of a diagonal net is stiff (the tangent kernel's eigenvalues spread
as ``D^2 u^{2D-2}`` over coordinates that grow and coordinates that stay at the init scale),
so the small checks use the implicit ``Kvaerno5`` solver; the large sparse-recovery check uses
the explicit ``Tsit5`` (4000 parameters, not stiff at its stopping loss). The figures run
through :func:`implicit_bias.sweep` and the run store, with the exact
:class:`~implicit_bias.ReducedFlow` (the same flow in ``N`` unknowns; tested against
parameter-space trajectories).
"""

from __future__ import annotations

import os

import diffrax
import numpy as np
import xarray as xr

from .. import data as ibdata
from .. import diagnostics, models
from ..algorithms import GradientFlow
from ..plotting import COLORS, caption, figure
from ..theory.diagonal import diagonal_interpolant, diagonal_interpolant_batch, equivalent_scale, min_l1_interpolant, ntk_norm_interpolant
from ..theory.interpolants import min_distance_interpolant
from ..train import Record, Stop, train
from .registry import CheckResult, ExperimentResult, register

__all__ = ["gf_endpoints"]

_TOL = 1e-5  # the tolerance for GF endpoint vs interpolant


def gf_endpoints(model_list, ds, *, loss: float = 1e-24, stiff: bool = True, max_steps: int = 2_000_000):
    """Parameter-space gradient flow of diagonal nets on one dataset, point by point.

    Args:
        model_list: models sharing structure (depth, tiedness, dimension).
        ds: the dataset.
        loss: stop at ``L <= loss`` (square loss ``1/(2N)||Xw - y||^2``).
        stiff: ``Kvaerno5`` (implicit) if True, else ``Tsit5``.

    Returns:
        The list of :class:`~implicit_bias.Run`.
    """
    # rtol 1e-7: the endpoints agree with the interpolants to ~1e-10, far inside 1e-5; tighter
    # tolerances multiply the steps spent on the sharp saddle-to-saddle jumps of small scales.
    # Few recording segments (growth 4): each segment restarts the step-size controller.
    solver = diffrax.Kvaerno5() if stiff else diffrax.Tsit5()
    alg = GradientFlow(rtol=1e-7 if stiff else 1e-10, atol=1e-12, solver=solver, max_steps=1_000_000)
    # One point at a time (one compilation per structure): a vmapped batch of flows advances in
    # lockstep, so the hardest point (smallest scale) would set the cost of every point.
    rec = Record(fields=("loss",), growth=4.0)
    return [train(m, ds, "square", alg, Stop(loss=loss, max_steps=max_steps), record=rec) for m in model_list]


def _store():
    """The run store used by the figures (``IBIAS_STORE``, default ``ibias-runs``)."""
    return os.environ.get("IBIAS_STORE", "ibias-runs")


# ------------------------------------------------------------------------------ check 1


@register(
    "woodworth2020-tied-q",
    paper="woodworth2020",
    kind="check",
    where="§4.2 (Woodworth et al. 2020); moroshko2020 eq. (6)",
    title="Tied depth-D diagonal nets: the GF endpoint is the Q^D_mu interpolant with mu = alpha^D",
)
def tied_q(profile):
    """Parameter-space GF endpoint of the tied depth-D diagonal net equals ``argmin Q^D_mu``.

    Route 1: :class:`~implicit_bias.models.Diagonal` (tied, ``u_±(0) = alpha``), gradient flow
    to ``L <= 1e-24``, D in {2, 3, 5}, alpha in {0.01, 0.3, 3}. Route 2:
    ``theory.diagonal_interpolant``, ``Q = alpha^2/(D(D-2)) sum q^D(w_i/alpha^D)`` (``alpha^2/4
    sum q^2(w_i/alpha^2)`` for D = 2), i.e. ``mu = alpha^D`` with alpha the per-layer scale
    (derived from the closed-form flow in ``theory/diagonal.py``; a 1% change of mu moves the
    interpolant by 3e-5..4e-4, far above the agreement measured here). Error: relative l2
    distance of the predictors; tolerance 1e-5.
    """
    n, d = profile.pick((6, 15), (20, 60))
    depths, alphas = (2, 3, 5), (0.01, 0.3, 3.0)
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=3, noise_var=0.0, seed=11)
    errs = np.full((len(depths), len(alphas)), np.nan)
    steps = np.zeros_like(errs)
    checks = []
    for i, D in enumerate(depths):
        ms = [models.Diagonal(d, depth=D, scale=a) for a in alphas]
        runs = gf_endpoints(ms, ds)
        for j, (a, m, run) in enumerate(zip(alphas, ms, runs)):
            pred = diagonal_interpolant(ds.X, ds.y, m).w
            errs[i, j] = diagnostics.relative_error(run.predictor, pred)
            steps[i, j] = run.steps
            checks.append(
                CheckResult.compare(
                    f"woodworth2020-tied-q/D{D}-alpha{a:g}",
                    f"tied depth-{D} diagonal net, u(0) = {a:g}: the GF endpoint is argmin Q^D_mu(w) s.t. Xw = y with mu = alpha^D "
                    "(error: relative l2 distance of the predictors)",
                    "woodworth2020",
                    "vardi2022 §4.2; moroshko2020 eq. (6)",
                    measured=float(np.linalg.norm(run.predictor, 1)),
                    predicted=float(np.linalg.norm(pred, 1)),
                    error=errs[i, j],
                    tolerance=_TOL,
                    statuses=run.status,
                    steps=run.steps,
                    final_loss=run.final_loss,
                )
            )
    fig, ax = figure(1, 1, width=5.0)
    for i, D in enumerate(depths):
        ax[0, 0].loglog(alphas, np.maximum(errs[i], 1e-17), "o-", color=COLORS[i], label=f"D = {D}")
    ax[0, 0].axhline(_TOL, color="k", ls=":", lw=1, label="tolerance")
    ax[0, 0].set(xlabel="initialization scale alpha = u(0)", ylabel="||w_GF - w_Q|| / ||w_Q||", title="GF endpoint vs Q^D interpolant (mu = alpha^D)")
    ax[0, 0].legend()
    caption(fig, f"vardi2022 §4.2 (Woodworth et al. 2020), moroshko2020 eq. (6): N={n}, d={d}; parameter-space gradient flow (Kvaerno5) vs the dual-Newton Q^D_mu interpolant.")
    out = xr.Dataset({"relative_error": (("depth", "alpha"), errs), "solver_steps": (("depth", "alpha"), steps)}, coords={"depth": list(depths), "alpha": list(alphas)})
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------ check 2


@register(
    "azulay2021-thm4.1",
    paper="azulay2021",
    kind="check",
    where="Thm 4.1",
    title="Untied two-layer diagonal nets: the GF endpoint is the Q_k interpolant for every shape s",
)
def untied_qk(profile):
    """Untied ``w = u_+∘v_+ - u_-∘v_-`` from the azulay2021 §7.1 init (scale alpha, shape s): the
    GF endpoint equals ``argmin sum_i q_{k_i}(w_i)`` s.t. ``Xw = y``, with
    ``sqrt(k_i) = 2(u_{+,i}(0)^2 + v_{+,i}(0)^2)`` (azulay2021 Thm 4.1).

    Route 1: parameter-space gradient flow to ``L <= 1e-24`` for s in {-0.9, 0, 0.5, 0.99}.
    Route 2: the dual-Newton Q_k interpolant. Error: relative l2 distance; tolerance 1e-5.
    """
    n, d = profile.pick((6, 15), (20, 60))
    shapes = (-0.9, 0.0, 0.5, 0.99)
    alpha = 0.05
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=3, noise_var=0.0, seed=12)
    ms = [models.Diagonal(d, depth=2, tied=False, scale=alpha, shape=s) for s in shapes]
    runs = gf_endpoints(ms, ds)
    checks, errs = [], []
    for s, m, run in zip(shapes, ms, runs):
        pred = diagonal_interpolant(ds.X, ds.y, m).w
        errs.append(diagnostics.relative_error(run.predictor, pred))
        checks.append(
            CheckResult.compare(
                f"azulay2021-thm4.1/s{s:g}",
                f"untied two-layer diagonal net, alpha = {alpha:g}, s = {s:g}: the GF endpoint is argmin Q_k(w) s.t. Xw = y "
                "(error: relative l2 distance of the predictors)",
                "azulay2021",
                "Thm 4.1",
                measured=float(np.linalg.norm(run.predictor, 1)),
                predicted=float(np.linalg.norm(pred, 1)),
                error=errs[-1],
                tolerance=_TOL,
                statuses=run.status,
                steps=run.steps,
                final_loss=run.final_loss,
            )
        )
    fig, ax = figure(1, 1, width=5.0)
    ax[0, 0].semilogy(shapes, np.maximum(errs, 1e-17), "o-", color=COLORS[0], label=f"alpha = {alpha:g}")
    ax[0, 0].axhline(_TOL, color="k", ls=":", lw=1, label="tolerance")
    ax[0, 0].set(xlabel="initialization shape s", ylabel="||w_GF - w_Qk|| / ||w_Qk||", title="GF endpoint vs Q_k interpolant")
    ax[0, 0].legend()
    caption(fig, f"azulay2021 Thm 4.1: N={n}, d={d}; parameter-space gradient flow vs the dual-Newton Q_k interpolant across shapes.")
    out = xr.Dataset({"relative_error": (("shape",), np.asarray(errs))}, coords={"shape": list(shapes)})
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------ check 3


def _monotone(x, decreasing=True) -> bool:
    dx = np.diff(np.asarray(x))
    return bool(np.all(dx < 0) if decreasing else np.all(dx > 0))


@register(
    "azulay2021-limits",
    paper="azulay2021",
    kind="check",
    where="§7.1; Woodworth et al. 2020",
    title="Limits: alpha -> 0 gives min-l1, alpha -> inf gives min-l2, |s| -> 1 gives the NTK-norm solution",
)
def limits(profile):
    """The three limits of the GF endpoint, each as a monotone curve of a distance.

    Route 1: parameter-space gradient flow (Kvaerno5, ``L <= 1e-24``) of

    - tied depth 2, ``u_±(0) = alpha``, alpha from 1e-4 to 10: the distance to the min-l1
      interpolant (LP, cvxpy) falls as alpha -> 0, the distance to the min-l2 interpolant
      (``X^+ y``) falls as alpha -> inf;
    - untied depth 2 at alpha = 0.01 with s -> 1: the distance to the NTK-norm interpolant
      ``argmin sum w_i^2/(2(u_i(0)^2 + v_i(0)^2))`` (closed form) falls (azulay2021 §7.1).

    Pass: each curve is strictly monotone and its end point is within the stated tolerance
    (min-l1 at alpha = 1e-4: 1e-2, where Q^2 still weighs l1 against l2 by ~1/log(1/alpha);
    min-l2 at alpha = 10: 1e-5; NTK at s = 0.9999: 1e-5). Data: sparse, noiseless, N < d, so
    min-l1 recovers the planted predictor.
    """
    n, d = profile.pick((10, 30), (30, 100))
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=2, noise_var=0.0, seed=3)
    l1 = min_l1_interpolant(ds.X, ds.y)
    l2 = min_distance_interpolant(ds.X, ds.y, np.zeros(d))
    alphas = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0])
    runs = gf_endpoints([models.Diagonal(d, depth=2, scale=a) for a in alphas], ds)
    W = np.stack([r.predictor for r in runs])
    to_l1 = np.linalg.norm(W - l1, axis=1) / np.linalg.norm(l1)
    to_l2 = np.linalg.norm(W - l2, axis=1) / np.linalg.norm(l2)
    shapes = np.array([0.0, 0.9, 0.99, 0.999, 0.9999])
    ms = [models.Diagonal(d, depth=2, tied=False, scale=0.01, shape=s) for s in shapes]
    runs_s = gf_endpoints(ms, ds)
    to_ntk = []
    for m, r in zip(ms, runs_s):
        p = m.init()
        ntk = ntk_norm_interpolant(ds.X, ds.y, p["u_plus"][0], p["u_plus"][1])
        to_ntk.append(np.linalg.norm(r.predictor - ntk) / np.linalg.norm(ntk))
    to_ntk = np.asarray(to_ntk)
    status = [r.status for r in runs + runs_s]
    cases = [
        ("alpha-to-0-min-l1", "tied depth 2: as alpha -> 0 the GF endpoint approaches the min-l1 interpolant (monotone in alpha)", to_l1[0], 1e-2, _monotone(to_l1, decreasing=False), "Woodworth et al. 2020; §7.1"),
        ("alpha-to-inf-min-l2", "tied depth 2: as alpha -> inf the GF endpoint approaches the min-l2 (kernel) interpolant (monotone in alpha)", to_l2[-1], 1e-5, _monotone(to_l2), "§7.1"),
        ("shape-to-1-ntk", "untied depth 2, alpha = 0.01: as s -> 1 the GF endpoint approaches the NTK-norm interpolant (monotone in s)", to_ntk[-1], 1e-5, _monotone(to_ntk), "§7.1"),
    ]
    checks = []
    for cid, claim, end, tol, mono, where in cases:
        checks.append(
            CheckResult.compare(
                f"azulay2021-limits/{cid}",
                claim + " (error: relative distance at the end point; a non-monotone curve fails)",
                "azulay2021",
                where,
                measured=end,
                predicted=0.0,
                error=end if mono else float("inf"),
                tolerance=tol,
                monotone=mono,
                statuses=status,
            )
        )
    fig, ax = figure(2, 1)
    ax[0, 0].loglog(alphas, to_l1, "o-", color=COLORS[0], label="to min-l1 (LP)")
    ax[0, 0].loglog(alphas, np.maximum(to_l2, 1e-17), "s-", color=COLORS[1], label="to min-l2")
    ax[0, 0].set(xlabel="initialization scale alpha (tied, D = 2)", ylabel="relative distance of the GF endpoint", title="rich (alpha -> 0) and kernel (alpha -> inf) limits")
    ax[0, 0].legend()
    ax[0, 1].semilogy(-np.log10(1 - shapes + 1e-300), np.maximum(to_ntk, 1e-17), "o-", color=COLORS[2], label="to NTK-norm solution")
    ax[0, 1].set(xlabel="-log10(1 - s)  (untied, alpha = 0.01)", ylabel="relative distance of the GF endpoint", title="shape limit |s| -> 1")
    ax[0, 1].legend()
    caption(fig, f"azulay2021 §7.1 and Woodworth et al. (2020): N={n}, d={d}, 2-sparse noiseless target. Parameter-space gradient flow endpoints vs the min-l1 LP, min-l2 and NTK-norm closed forms.")
    out = xr.Dataset(
        {"to_min_l1": (("alpha",), to_l1), "to_min_l2": (("alpha",), to_l2), "to_ntk_norm": (("shape",), to_ntk)},
        coords={"alpha": alphas, "shape": shapes},
    )
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------ check 4


@register(
    "azulay2021-equivalent-scale",
    paper="azulay2021",
    kind="check",
    where="§7.1, Thm 4.1",
    title="Scale and shape act through one number: alpha (1 + s^2)/(1 - s^2), not alpha/(1 - s^2)",
)
def scale_shape_one_number(profile):
    r"""Which combination of alpha and s the untied two-layer implicit bias depends on.

    Derivation (azulay2021 Thm 4.1): ``Q_k`` depends on the init only through
    ``sqrt(k_i) = 2(u_i(0)^2 + v_i(0)^2)``. With the §7.1 init ``|u| = sqrt(alpha (1-s)/(1+s))``,
    ``|v| = sqrt(alpha (1+s)/(1-s))``:

    .. math:: u^2 + v^2 = \alpha\,\frac{(1-s)^2 + (1+s)^2}{1-s^2} = 2\alpha\,\frac{1+s^2}{1-s^2},

    so ``sqrt(k) = 4 alpha (1+s^2)/(1-s^2)`` and two inits with equal
    ``alpha_eff = alpha (1+s^2)/(1-s^2)`` (``theory.equivalent_scale``) have the same ``Q_k``,
    hence the same GF endpoint, exactly. The paper's ``alpha/(1-s^2)`` is the same quantity
    up to the factor ``1 + s^2`` in (1, 2): it controls the transition to within that factor
    but does not leave the endpoint unchanged.

    Route: parameter-space gradient flow (``L <= 1e-24``) for (alpha, 0), the partner
    ``(alpha (1-s^2)/(1+s^2), s)`` and ``(alpha (1-s^2), s)``, s in {0.6, 0.9}. Pass: partners
    equal in ``alpha_eff`` agree to 1e-6 relative; pairs equal only in ``alpha/(1-s^2)``
    differ by more than 1e-3 (measured and reported).
    """
    n, d = profile.pick((8, 25), (30, 100))
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=2, noise_var=0.0, seed=5)
    base, shapes = 0.02, (0.6, 0.9)
    pts = [(base, 0.0)]
    for s in shapes:
        pts.append((base * (1 - s**2) / (1 + s**2), s))  # equal alpha_eff
        pts.append((base * (1 - s**2), s))  # equal alpha / (1 - s^2) only
    ms = [models.Diagonal(d, depth=2, tied=False, scale=a, shape=s) for a, s in pts]
    runs = gf_endpoints(ms, ds)
    W = [r.predictor for r in runs]
    checks, same, paper = [], [], []
    for i, s in enumerate(shapes):
        e_same = diagnostics.relative_error(W[1 + 2 * i], W[0])
        e_paper = diagnostics.relative_error(W[2 + 2 * i], W[0])
        same.append(e_same)
        paper.append(e_paper)
        a_same, a_paper = pts[1 + 2 * i][0], pts[2 + 2 * i][0]
        checks.append(
            CheckResult.compare(
                f"azulay2021-equivalent-scale/same-alpha-eff-s{s:g}",
                f"(alpha, s) = ({base:g}, 0) and ({a_same:.4g}, {s:g}) share alpha (1+s^2)/(1-s^2) = {equivalent_scale(base, 0.0):g}: "
                "their GF endpoints coincide (error: relative l2 distance)",
                "azulay2021",
                "§7.1, Thm 4.1",
                measured=float(np.linalg.norm(W[1 + 2 * i])),
                predicted=float(np.linalg.norm(W[0])),
                error=e_same,
                tolerance=1e-6,
                statuses=[runs[0].status, runs[1 + 2 * i].status],
            )
        )
        checks.append(
            CheckResult.compare(
                f"azulay2021-equivalent-scale/paper-factor-s{s:g}",
                f"(alpha, s) = ({base:g}, 0) and ({a_paper:.4g}, {s:g}) share only alpha/(1-s^2): their GF endpoints differ "
                "(error: 1e-3 / relative distance; passes when the distance exceeds 1e-3)",
                "azulay2021",
                "§7.1",
                measured=e_paper,
                predicted=diagnostics.relative_error(diagonal_interpolant(ds.X, ds.y, ms[2 + 2 * i]).w, diagonal_interpolant(ds.X, ds.y, ms[0]).w),
                error=1e-3 / e_paper,
                tolerance=1.0,
                statuses=[runs[0].status, runs[2 + 2 * i].status],
            )
        )
    fig, ax = figure(1, 1, width=5.0)
    x = np.arange(len(shapes))
    ax[0, 0].bar(x - 0.2, np.maximum(same, 1e-17), 0.4, color=COLORS[0], label="equal alpha (1+s^2)/(1-s^2)")
    ax[0, 0].bar(x + 0.2, paper, 0.4, color=COLORS[1], label="equal alpha/(1-s^2) only")
    ax[0, 0].set_yscale("log")
    ax[0, 0].axhline(1e-6, color="k", ls=":", lw=1)
    ax[0, 0].set(xticks=x, xticklabels=[f"s = {s:g}" for s in shapes], ylabel="relative distance to the (alpha, 0) endpoint", title="one number controls scale and shape")
    ax[0, 0].legend()
    caption(fig, f"azulay2021 §7.1: N={n}, d={d}; base alpha = {base:g}, s = 0. Parameter-space GF endpoints.")
    out = xr.Dataset({"same_alpha_eff": (("shape",), np.asarray(same)), "same_paper_factor": (("shape",), np.asarray(paper))}, coords={"shape": list(shapes)})
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------ check 5


@register(
    "azulay2021-sparse-recovery",
    paper="azulay2021",
    kind="check",
    where="§9; Woodworth et al. 2020",
    title="Sparse recovery: the rich regime recovers a 5-sparse beta* (N=100, d=1000), the kernel regime does not",
)
def sparse_recovery(profile):
    """Sparse recovery at the papers' size (N = 100, d = 1000, r* = 5, noise variance 0.01).

    Route: parameter-space gradient flow (Tsit5; 4000 parameters) of the untied two-layer
    net, s = 0, to ``L <= 1e-12``, at alpha = 1e-6 (rich) and alpha = 10 (kernel). Population
    error ``||w - beta*||^2 + sigma^2`` (x ~ N(0, I)).

    Pass: rich, population error within 3 sigma^2 (the noise level); kernel, population
    error equal (1e-3 relative) to that of the min-l2 interpolant ``X^+ y`` (closed form),
    which is ``~ (1 - N/d) ||beta*||^2 >> sigma^2``: no recovery.
    """
    n, d, r = 100, 1000, 5
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=r, noise_var=0.01, seed=0)
    alphas = (1e-6, 10.0)
    runs = gf_endpoints([models.Diagonal(d, depth=2, tied=False, scale=a) for a in alphas], ds, loss=1e-12, stiff=False)
    pop = [ds.population_error(rn.predictor) for rn in runs]
    pop_l2 = ds.population_error(min_distance_interpolant(ds.X, ds.y, np.zeros(d)))
    pop_l1 = ds.population_error(min_l1_interpolant(ds.X, ds.y))
    s2 = ds.noise_var
    checks = [
        CheckResult.compare(
            "azulay2021-sparse-recovery/rich",
            f"rich regime (alpha = {alphas[0]:g}): population error within 3 sigma^2 = {3 * s2:g} (error: population error / sigma^2)",
            "azulay2021",
            "§9",
            measured=pop[0],
            predicted=s2,
            error=pop[0] / s2,
            tolerance=3.0,
            statuses=runs[0].status,
            min_l1_population_error=pop_l1,
        ),
        CheckResult.compare(
            "azulay2021-sparse-recovery/kernel",
            f"kernel regime (alpha = {alphas[1]:g}): population error equals the min-l2 interpolant's ({pop_l2:.3f} = {pop_l2 / s2:.0f} sigma^2), no recovery "
            "(error: relative difference)",
            "azulay2021",
            "§9",
            measured=pop[1],
            predicted=pop_l2,
            error=abs(pop[1] - pop_l2) / pop_l2,
            tolerance=1e-3,
            statuses=runs[1].status,
        ),
    ]
    fig, ax = figure(2, 1)
    for i, (a, rn) in enumerate(zip(alphas, runs)):
        ax[0, i].stem(np.arange(40), rn.predictor[:40], linefmt=COLORS[i], markerfmt="o", basefmt="k-", label=f"GF, alpha = {a:g}")
        ax[0, i].plot(np.arange(40), ds.w_star[:40], "kx", label="beta*")
        ax[0, i].set(xlabel="coordinate (first 40 of 1000)", ylabel="w_i", title=f"alpha = {a:g}: population error {pop[i]:.3f}")
        ax[0, i].legend()
    caption(fig, f"azulay2021 §9 / Woodworth et al. 2020: N={n}, d={d}, r*={r}, sigma^2={s2:g}. Rich vs kernel gradient flow endpoints (min-l1 LP: {pop_l1:.4f}).")
    out = xr.Dataset(
        {"population_error": (("alpha",), np.asarray(pop)), "predictor": (("alpha", "dim"), np.stack([rn.predictor for rn in runs]))},
        coords={"alpha": list(alphas)},
        attrs={"min_l2_population_error": pop_l2, "min_l1_population_error": pop_l1, "noise_var": s2},
    )
    return ExperimentResult(out, checks, fig)


# ------------------------------------------------------------------------------ figures


def sweep_config(name, n, d, model, grid, *, stop_loss=1e-12):
    """A sweep of diagonal nets on the azulay2021 §9 sparse regression, flow by ReducedFlow."""
    return {
        "name": name,
        "data": {"generator": "sparse_regression", "n": n, "d": d, "sparsity": 5, "noise_var": 0.01, "seed": 0},
        "model": {"name": "diagonal", **model},
        "loss": "square",
        # Tsit5 on the N-dim reduced flow: not stiff at these sizes, ~10x cheaper per step than
        # Kvaerno5; atol on nu must be tiny (see ReducedFlow).
        "algorithm": {"name": "reduced", "solver": "tsit5", "rtol": 1e-8, "atol": 1e-16},
        "stop": {"loss": stop_loss, "max_steps": 10_000_000},
        "record": ["predictor", "test_error", "final_loss", "status", "steps"],
        "grid": grid,
        "seeds": [0],
    }


def fig71_grid(profile):
    """The (alpha, s) grid of ``azulay2021-fig7.1``: alpha log-spaced, s = tanh(u) with u uniform."""
    na, ns = profile.pick((6, 5), (20, 20))
    return np.logspace(-5, 1, na), np.round(np.tanh(np.linspace(-3.0, 3.0, ns)), 12)


@register(
    "azulay2021-fig7.1",
    paper="azulay2021",
    kind="figure",
    where="Fig. 7.1, §7.1, §9",
    title="Population error of the GF solution over initialization scale alpha x shape s (simulated and predicted)",
)
def fig71(profile):
    """azulay2021 Fig. 7.1: population error of the gradient-flow solution over scale x shape.

    Setting (§9): N = 100, d = 1000, r* = 5, noise variance 0.01, untied two-layer diagonal net
    with the §7.1 init (scale alpha, shape s). Simulated route: the exact flow, run as a sweep
    (:func:`implicit_bias.sweep`, vmap backend, through the run store) with
    :class:`~implicit_bias.ReducedFlow` to ``L <= 1e-12`` (the endpoints then lie ~2e-6 from
    the flow's limit). Predicted route: the Q_k interpolants
    of the same grid in one vmapped dual-Newton call (``diagonal_interpolant_batch``).
    Both heatmaps and their difference are drawn. Check: every simulated endpoint is within
    1e-4 relative of the predicted limit. The heatmap is symmetric in s because Q_k depends on
    (alpha, s) only through ``alpha (1+s^2)/(1-s^2)`` (``azulay2021-equivalent-scale``).
    """
    from ..sweep import sweep

    alphas, shapes = fig71_grid(profile)
    n, d = 100, 1000
    cfg = sweep_config(f"azulay2021-fig7.1-{profile.name}", n, d, {"depth": 2, "untied": True, "scale": 1.0, "shape": 0.0}, {"model.scale": alphas.tolist(), "model.shape": shapes.tolist()})
    sim = sweep(cfg, backend="vmap", store=_store(), progress=False).isel(seed=0)
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=5, noise_var=0.01, seed=0)
    A, S = np.meshgrid(alphas, shapes, indexing="ij")
    pred = diagonal_interpolant_batch(ds.X, ds.y, models.Diagonal(d, depth=2, tied=False), A.ravel(), S.ravel())
    w_pred = pred.w.reshape(len(alphas), len(shapes), d)
    err_pred = np.sum((w_pred - ds.w_star) ** 2, axis=-1) + ds.noise_var
    w_sim = sim.predictor.transpose("model.scale", "model.shape", "dim").values
    err_sim = sim.test_error.transpose("model.scale", "model.shape").values
    rel = np.linalg.norm(w_sim - w_pred, axis=-1) / np.linalg.norm(w_pred, axis=-1)
    status = sim.status.transpose("model.scale", "model.shape").values
    n_conv = int(np.sum(status == "converged"))
    checks = [
        CheckResult.compare(
            "azulay2021-fig7.1/flow-vs-qk",
            "over the whole (alpha, s) grid the simulated flow's endpoint equals the Q_k interpolant (azulay2021 Thm 4.1) "
            "(error: largest relative l2 distance; every point must converge)",
            "azulay2021",
            "Fig. 7.1, Thm 4.1",
            measured=float(np.max(err_sim)),
            predicted=float(np.max(err_pred)),
            error=float(np.max(rel)),
            tolerance=1e-4,
            statuses=status.ravel().tolist(),  # a claim about the flow's limit: every point must reach L <= 1e-12
            converged=n_conv,
            points=int(status.size),
            max_test_error_difference=float(np.max(np.abs(err_sim - err_pred))),
        )
    ]
    fig, ax = figure(3, 1, width=4.0, height=3.4)
    ext = [shapes[0], shapes[-1], np.log10(alphas[0]), np.log10(alphas[-1])]
    kw = dict(origin="lower", aspect="auto", extent=ext, cmap="viridis", vmin=0.0, vmax=float(max(err_sim.max(), err_pred.max())))
    for k, (title, z) in enumerate((("simulated flow (ReducedFlow)", err_sim), ("predicted: argmin Q_k", err_pred))):
        im = ax[0, k].imshow(z, **kw)
        ax[0, k].set(xlabel="shape s", ylabel="log10 alpha", title=title)
        fig.colorbar(im, ax=ax[0, k], label="population error")
    im = ax[0, 2].imshow(np.abs(err_sim - err_pred), origin="lower", aspect="auto", extent=ext, cmap="magma")
    ax[0, 2].set(xlabel="shape s", ylabel="log10 alpha", title="|simulated - predicted|")
    fig.colorbar(im, ax=ax[0, 2])
    caption(fig, f"azulay2021 Fig. 7.1: N={n}, d={d}, r*=5, sigma^2=0.01; {len(alphas)}x{len(shapes)} grid. Low error = rich (sparse) regime, high = kernel regime; |s| -> 1 moves towards the kernel regime.")
    out = xr.Dataset(
        {
            "test_error_simulated": (("alpha", "shape"), err_sim),
            "test_error_predicted": (("alpha", "shape"), err_pred),
            "endpoint_relative_error": (("alpha", "shape"), rel),
        },
        coords={"alpha": alphas, "shape": shapes},
    )
    return ExperimentResult(out, checks, fig)


@register(
    "woodworth2020-scale",
    paper="woodworth2020",
    kind="figure",
    where="§4.2 (Woodworth et al. 2020, Fig. 1)",
    title="Kernel-to-rich transition: test error and l1/l2 norms of the GF solution vs scale, D = 2, 3, 5",
)
def woodworth_scale(profile):
    """Test error and norms of the gradient-flow solution vs the initialization scale, D = 2, 3, 5.

    Tied depth-D diagonal net, ``u_±(0) = alpha`` (effective scale ``alpha^D``), on the §9 sparse
    regression (smaller N, d: see below). Simulated route: a sweep over (depth, alpha) through
    the run store, parameter-space gradient flow with the implicit ``Kvaerno5`` solver, one
    point per call (``batch=1``). Why not the reduced flow or a vmapped batch: for D > 2 the
    small-scale flow makes sharp saddle-to-saddle jumps (``u^{2-D}`` reaching 0 in finite
    dual time) that explicit solvers resolve only with 1e5+ steps, and the reduced flow's
    tiny ``atol`` on ``nu`` (needed in the kernel regime) sends implicit solvers into step
    rejection cycles; vmapped implicit flows advance in lockstep. Predicted route: the Q^D_mu
    interpolants (``diagonal_interpolant_batch``); reference lines: min-l1 (LP) and min-l2.
    Deeper nets reach the rich (min-l1) regime at larger alpha: the transition sits where
    ``alpha^D`` is small. Check: every simulated endpoint within 1e-4 relative of its prediction.
    """
    from ..sweep import sweep

    n, d = profile.pick((20, 60), (40, 200))
    depths = (2, 3, 5)
    # quick starts at alpha = 10^-0.5: the D = 5 flow from alpha = 0.1 needs ~9,000 implicit steps
    # (about a minute of CPU, most of this experiment's quick cost) for a point the full grid covers
    alphas = np.logspace(profile.pick(-0.5, -2.0), np.log10(3.0), profile.pick(4, 16))
    cfg = sweep_config(f"woodworth2020-scale-{profile.name}", n, d, {"depth": 2, "untied": False, "scale": 1.0}, {"model.depth": list(depths), "model.scale": alphas.tolist()}, stop_loss=1e-20)
    cfg["algorithm"] = {"name": "flow", "solver": "kvaerno5", "rtol": 1e-7, "atol": 1e-12}
    sim = sweep(cfg, backend="vmap", store=_store(), progress=False, batch=1).isel(seed=0)
    ds = ibdata.sparse_regression(n=n, d=d, sparsity=5, noise_var=0.01, seed=0)
    w_sim = sim.predictor.transpose("model.depth", "model.scale", "dim").values
    w_pred = np.stack([diagonal_interpolant_batch(ds.X, ds.y, models.Diagonal(d, depth=D), alphas).w for D in depths])
    rel = np.linalg.norm(w_sim - w_pred, axis=-1) / np.linalg.norm(w_pred, axis=-1)
    status = sim.status.transpose("model.depth", "model.scale").values
    n_conv = int(np.sum(status == "converged"))
    test_sim = np.sum((w_sim - ds.w_star) ** 2, axis=-1) + ds.noise_var
    l1 = min_l1_interpolant(ds.X, ds.y)
    l2 = min_distance_interpolant(ds.X, ds.y, np.zeros(d))
    checks = [
        CheckResult.compare(
            "woodworth2020-scale/flow-vs-q",
            "for D = 2, 3, 5 and every scale the simulated flow's endpoint equals the Q^D_mu interpolant with mu = alpha^D "
            "(error: largest relative l2 distance; every point must converge)",
            "woodworth2020",
            "vardi2022 §4.2",
            measured=float(np.max(test_sim)),
            predicted=float(np.max(np.sum((w_pred - ds.w_star) ** 2, axis=-1) + ds.noise_var)),
            error=float(np.max(rel)),
            tolerance=1e-4,
            statuses=status.ravel().tolist(),  # a claim about the flow's limit: every point must reach its loss target
            converged=n_conv,
            points=int(status.size),
        )
    ]
    fig, ax = figure(3, 1, width=3.8)
    for i, D in enumerate(depths):
        ax[0, 0].semilogx(alphas, test_sim[i], "o-", color=COLORS[i], label=f"D = {D}")
        ax[0, 1].semilogx(alphas, np.abs(w_sim[i]).sum(-1), "o-", color=COLORS[i], label=f"D = {D}")
        ax[0, 2].semilogx(alphas, np.linalg.norm(w_sim[i], axis=-1), "o-", color=COLORS[i], label=f"D = {D}")
    for k, (ref_l1, ref_l2) in enumerate(((ds.population_error(l1), ds.population_error(l2)), (np.abs(l1).sum(), np.abs(l2).sum()), (np.linalg.norm(l1), np.linalg.norm(l2)))):
        ax[0, k].axhline(ref_l1, color="k", ls="--", lw=1, label="min-l1")
        ax[0, k].axhline(ref_l2, color="k", ls=":", lw=1, label="min-l2")
    ax[0, 0].set(xlabel="initialization scale alpha = u(0)", ylabel="population error", title="test error")
    ax[0, 1].set(xlabel="initialization scale alpha = u(0)", ylabel="||w||_1", title="l1 norm of the solution")
    ax[0, 2].set(xlabel="initialization scale alpha = u(0)", ylabel="||w||_2", title="l2 norm of the solution")
    ax[0, 0].legend()
    caption(fig, f"Woodworth et al. 2020 (vardi2022 §4.2): N={n}, d={d}, r*=5, sigma^2=0.01; tied depth-D nets, parameter-space gradient flow endpoints.")
    out = xr.Dataset(
        {
            "test_error": (("depth", "alpha"), test_sim),
            "l1_norm": (("depth", "alpha"), np.abs(w_sim).sum(-1)),
            "l2_norm": (("depth", "alpha"), np.linalg.norm(w_sim, axis=-1)),
            "endpoint_relative_error": (("depth", "alpha"), rel),
        },
        coords={"depth": list(depths), "alpha": alphas},
        attrs={"min_l1_test_error": ds.population_error(l1), "min_l2_test_error": ds.population_error(l2)},
    )
    return ExperimentResult(out, checks, fig)
