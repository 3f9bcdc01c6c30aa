r"""Non-robustness of trained two-layer ReLU nets on nearly orthogonal data (issue 22, check 7).

Vardi, Yehudai & Shamir 2022 (*Gradient methods provably converge to non-robust networks*,
NeurIPS 2022; cited as [77] in vardi2022 §7): for data ``x_1..x_N`` in ``R^d`` that are nearly
orthogonal (``d >> N``; e.g. uniform on the sphere of radius ``sqrt(d)``) every KKT point of
``min ||θ||^2/2 s.t. y_n f(θ; x_n) >= 1`` for a depth-2 ReLU net, hence the direction gradient
flow converges to (Lyu & Li 2020; Ji & Telgarsky 2020), is flipped at a training point by a
perturbation of norm ``O(sqrt(d/N)) = O(||x|| / sqrt(N))`` along the single direction
``z = Σ_n y_n x_n``, while a depth-2 ReLU net exists that classifies the same data with every
training point robust up to ``Ω(||x||)``. (The survey states the implication in words; the
scaling is the paper's; we could not re-read its theorem text here, so the check compares with
``||x|| / sqrt(N)``, which is the exact flip distance along ``z`` for the l2 max-margin *linear*
classifier of exactly orthogonal equal-norm data, ``w ∝ z``, and the order of the paper's
bound.)

**Setting.** ``N`` points uniform on the sphere of radius ``sqrt(d)`` with random labels
(:func:`sphere_data`), a two-layer ReLU :class:`~implicit_bias.models.MLP` of width ``m``
(bias in the first layer: homogeneous of degree 2) from a small initialization (``scale``), the
logistic loss and :class:`~implicit_bias.algorithms.LossScaledGD` (the schedule of the
``lyu-li2020-*`` checks, base step ``0.2 * 256 / d``: :data:`LR_AT`) to a training accuracy
``-log L`` (``converged`` required). The grid
over ``d`` is trained as one vmapped ``train_many`` batch: each network lives in ``R^{d_max}``
with its data and its first-layer weights zero beyond its own ``d``; those weights get a zero
gradient (every ``x_n`` is zero there), so each point *is* the ``d``-dimensional network (the
padded block is checked to stay exactly 0 and is cut off before any attack).

**Routes.** Trained side (:mod:`implicit_bias.diagnostics.robustness`): the smallest
perturbation found, per training point, by two stated attacks, the line attack along
``-y_n z/||z||`` (the paper's direction; scan + bisection) and binary DeepFool; the minimum of
the two is an upper bound on the true smallest perturbation. Robust side
(:mod:`implicit_bias.theory.robustness`, no training): the dual-basis network
``Σ_i y_i [<u_i, x> - s_i/2]_+`` and its certified radius (a lower bound on its true radius,
exact for this construction). Both bounds point the conservative way: the measured ratio is an
upper bound on (smallest trained perturbation) / (robust radius).

**Measured** (seed 0, ``N = 32``; relative = median over training points of ``||δ_n|| / ||x_n||``).
Quick (width 32, ``-log L = 100``), ``d = 256 / 1024 / 4096``: trained 0.198 / 0.201 / 0.189
(``1/sqrt(N) = 0.177``), robust certified 0.452 / 0.489 / 0.498, ratio 0.44 / 0.41 / 0.38,
slope vs ``d`` -0.02; ``1 - cos(θ, -∇L)`` 0.038 / 0.020 / 0.013 plain and 2.3e-3 / 1.5e-3 /
1.3e-3 with the Clarke choice at near-kinks (measured once while choosing the step; the plain
value stalls at kinks, see ``experiments/homogeneous.py``): the nets are near KKT directions.
Full (width 50, ``-log L = 200``), ``d = 256 / 1024 / 4096 / 16384``: trained 0.199 / 0.199 /
0.188 / 0.190, robust 0.452 / 0.489 / 0.498 / 0.499, ratio 0.44 / 0.41 / 0.38 / 0.38, slope vs
``d`` -0.01, plain alignment 0.033 / 0.013 / 0.006 / 0.004 (Clarke 1.2e-3 / 1.5e-3 at the two
smaller ``d``); at ``d = 8192``, ``N = 8 / 16 / 32 / 64``: trained 0.367 / 0.259 / 0.191 / 0.139
(``1/sqrt(N)`` = 0.354 / 0.250 / 0.177 / 0.125), fitted slope -0.46, ratio 0.73 / 0.52 / 0.38 /
0.28: the gap opens with ``N``, not with ``d``. Full wall time about 10 min under load.
The line attack along ``z`` always found the smaller perturbation (DeepFool: 0.22-0.30), the
perturbation moved by < 3% between ``-log L`` = a third of the target and the target, and
DeepFool on the robust net lands within 3% of its certificate (the certificate is its radius).
Quick wall time 20-50 s on the shared 2-core machine (about 13 s of CPU past the import), most
of it compiling the training loop (one vmapped batch) and the attacks.

**Where the scaling sits.** The ratio is governed by ``N``: the trained perturbation is
``≈ ||x|| / sqrt(N)`` whatever ``d`` (once ``d >> N``), the robust radius ``≈ ||x|| / 2``, so
the ratio is ``≈ 2 / sqrt(N)`` and "much smaller" needs many points; growing ``d`` at fixed
``N`` only brings the robust radius up to ``||x|| / 2`` (its ``O(N/d)`` loss) and the data closer
to orthogonal. In absolute terms (the figure) both grow like ``sqrt(d)``.
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from .. import models
from ..algorithms import LossScaledGD
from ..diagnostics import alignment, gradient_attack, line_attack, loglog_slope
from ..plotting import caption, figure
from ..theory import robust_network
from ..train import Record, Stop, train_many
from .registry import CheckResult, ExperimentResult, register

#: per profile: N, width m, the d grid, target -log L; then the N grid (fixed d) of the full profile
SIZES = {
    "quick": dict(n=32, width=32, dims=(256, 1024, 4096), accuracy=100.0),
    "full": dict(n=32, width=50, dims=(256, 1024, 4096, 16384), accuracy=200.0),
}
N_GRID = dict(dim=8192, ns=(8, 16, 32, 64), width=50, accuracy=200.0)
#: the step at dimension d is ``LR * LR_AT / d``: the pre-activations move by ``∝ lr ||x||^2 = lr d``
#: per step, so this keeps the effective step the same across the grid (with one ``lr`` for all d
#: the d = 4096 run took 45 huge steps and ended far from a KKT direction, 1 - cos(θ, -∇L) = 0.28)
INIT_SCALE, LR, LR_AT, GROWTH = 0.01, 0.2, 256, 2.0
#: the Clarke alignment (a convex QP over the near-kinks) is computed up to this many parameters
CLARKE_MAX_PARAMS = 150_000
#: the stability of the measured perturbation along the run is read at this fraction of the target -log L
EARLY_FRACTION = 1.0 / 3.0


def sphere_data(n: int, d: int, seed: int = 0):
    """``n`` points uniform on the sphere of radius ``sqrt(d)`` in ``R^d`` and labels uniform in
    ``{-1, +1}`` (both present). Returns ``(X (n, d), y (n,))``. Nearly orthogonal: the cosines
    ``<x_i, x_j>/d`` are ``O(sqrt(log n / d))``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X *= np.sqrt(d) / np.linalg.norm(X, axis=1, keepdims=True)
    y = rng.choice([-1.0, 1.0], size=n)
    if np.all(y == y[0]):
        y[0] = -y[0]
    return X, y


def train_dimension_grid(cases, width, accuracy, seed=0, lr_at=LR_AT):
    """Train one network per ``(n, d)`` of ``cases`` (same ``n``) as one vmapped batch padded to
    ``d_max`` (module docstring: each point is exactly the ``d``-dimensional training, tested),
    with step ``LR * lr_at / d`` (``lr_at=None``: ``LR`` for every ``d``).

    Returns:
        ``[(X (n, d), y (n,), run, params, params_early, accuracy_early)]``: the final params and
        those at the first record with ``-log L >= EARLY_FRACTION * accuracy``, cut to ``d``.
    """
    d_max = max(d for _, d in cases)
    m = models.MLP(d_max, (width,), activation="relu", bias="first", scale=INIT_SCALE)
    datas, inits = [], []
    for n, d in cases:
        X, y = sphere_data(n, d, seed)
        datas.append((np.pad(X, ((0, 0), (0, d_max - d))), y))
        p = models.MLP(d, (width,), activation="relu", bias="first", scale=INIT_SCALE).init(seed)  # the d-dimensional net's own init
        inits.append({"W1": np.pad(np.asarray(p["W1"]), ((0, 0), (0, d_max - d))), "b1": np.asarray(p["b1"]), "W2": np.asarray(p["W2"])})
    runs = train_many(
        [m] * len(cases), datas, "logistic", [LossScaledGD(lr=LR if lr_at is None else LR * lr_at / d) for _, d in cases], Stop(training_accuracy=accuracy, max_steps=1_000_000),
        Record(fields=("log_loss", "params"), growth=GROWTH), [seed] * len(cases), inits=inits,
    )
    out = []
    for (n, d), (Xp, y), run in zip(cases, datas, runs):
        tr = run.trajectory
        acc = -tr.log_loss.values
        early = int(np.argmax(acc >= EARLY_FRACTION * accuracy))
        pads = [float(np.max(np.abs(tr["param_W1"].values[i][:, d:]), initial=0.0)) for i in (early, tr.sizes["t"] - 1)]
        if max(pads) != 0.0:  # cannot happen (zero gradient); a guard, not a tolerance
            raise RuntimeError(f"padded first-layer weights moved ({max(pads)}): the d={d} network is not the padded one")
        cut = lambda i: {"W1": tr["param_W1"].values[i][:, :d], "b1": tr["param_b1"].values[i], "W2": tr["param_W2"].values[i]}  # noqa: E731
        out.append((Xp[:, :d], y, run, cut(tr.sizes["t"] - 1), cut(early), float(acc[early])))
    return out


def _measure(X, y, run, params, early, width, clarke=False):
    """Per-point perturbations (trained net), robust radii and references, as a dict of arrays / numbers."""
    n, d = X.shape
    m = models.MLP(d, (width,), activation="relu", bias="first")
    line = line_attack(m, params, X, y)
    deep = gradient_attack(m, params, X, y)
    pert = np.minimum(line.distance, deep.distance)
    pert_early = np.minimum(line_attack(m, early, X, y).distance, gradient_attack(m, early, X, y).distance)
    net = robust_network(X, y)
    robust_attack = gradient_attack(net.model, net.params, X, y).distance  # an upper bound on its true radius
    norms = np.linalg.norm(X, axis=1)
    dist = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)
    half_gap = 0.5 * np.min(np.where(y[:, None] != y[None, :], dist, np.inf), axis=1)  # no classifier is robust beyond this
    cos = (X @ X.T) / np.outer(norms, norms)
    return dict(
        rel_line=float(np.median(line.distance / norms)),
        rel_deepfool=float(np.median(deep.distance / norms)),
        rel_pert=float(np.median(pert / norms)),
        rel_robust=float(np.median(net.radius / norms)),
        rel_robust_attack=float(np.median(robust_attack / norms)),
        rel_best_possible=float(np.median(half_gap / norms)),
        ratio=float(np.median(pert / net.radius)),
        ratio_max=float(np.max(pert / net.radius)),
        drift=float(np.median(np.abs(pert - pert_early) / pert)),
        alignment=alignment(m, params, X, y, "logistic"),  # 1 - cos(θ, -∇L): -> 0 at a KKT direction (Ji & Telgarsky 2020)
        alignment_clarke=alignment(m, params, X, y, "logistic", clarke=True) if clarke and width * (d + 2) <= CLARKE_MAX_PARAMS else float("nan"),
        max_cos=float(np.max(np.abs(cos - np.eye(n)))),
        status=run.status,
        steps=run.steps,
        accuracy=run.training_accuracy,
    )


@functools.lru_cache(maxsize=2)
def _d_sweep(profile_name):
    s = SIZES[profile_name]
    res = train_dimension_grid([(s["n"], d) for d in s["dims"]], s["width"], s["accuracy"])
    rows = [_measure(X, y, run, p, early, s["width"], clarke=profile_name == "full") | {"early_accuracy": acc_e} for X, y, run, p, early, acc_e in res]
    fields = [k for k in rows[0] if k != "status"]
    ds = xr.Dataset({k: ("d", np.array([r[k] for r in rows], dtype=float)) for k in fields}, coords={"d": list(s["dims"])})
    ds["status"] = ("d", np.array([r["status"] for r in rows], dtype=object))
    ds.attrs.update(n=s["n"], width=s["width"], target_accuracy=s["accuracy"], init_scale=INIT_SCALE, lr=f"{LR} * {LR_AT} / d")
    return ds


@functools.lru_cache(maxsize=1)
def _n_sweep():
    g = N_GRID
    rows = []
    for n in g["ns"]:  # different N: different shapes, one batch each
        (X, y, run, p, early, acc_e), = train_dimension_grid([(n, g["dim"])], g["width"], g["accuracy"])
        rows.append(_measure(X, y, run, p, early, g["width"]) | {"early_accuracy": acc_e})
    fields = [k for k in rows[0] if k != "status"]
    ds = xr.Dataset({k: ("n", np.array([r[k] for r in rows], dtype=float)) for k in fields}, coords={"n": list(g["ns"])})
    ds["status"] = ("n", np.array([r["status"] for r in rows], dtype=object))
    ds.attrs.update(d=g["dim"], width=g["width"], target_accuracy=g["accuracy"])
    return ds


#: the claim "much smaller", made a number before measuring: at most half the robust radius
RATIO_TOL = 0.5
#: fitted log-log slopes: relative perturbation vs d (predicted 0) and vs N (predicted -1/2)
SLOPE_TOL = 0.1


def _figure(ds, nds=None):
    fig, ax = figure(2 if nds is not None else 1, 1)
    a = ax[0, 0]
    d = ds.d.values
    a.loglog(d, ds.rel_pert * np.sqrt(d), "o-", label="trained net: smallest perturbation found")
    a.loglog(d, ds.rel_line * np.sqrt(d), "x:", label="  along z = Σ y_n x_n (paper's direction)")
    a.loglog(d, ds.rel_robust * np.sqrt(d), "s-", label="robust net: certified radius")
    a.loglog(d, ds.rel_best_possible * np.sqrt(d), "--", color="gray", label="half distance to the other class")
    a.loglog(d, np.sqrt(d / ds.n), ":", color="k", label="sqrt(d/N) = ||x||/sqrt(N)")
    a.set(xlabel="input dimension d", ylabel="l2 perturbation (median over training points)", title=f"N={ds.n}: perturbation size vs d")
    a.set_xticks(d, [str(int(v)) for v in d], minor=False)
    a.set_xticks([], minor=True)
    a.legend(fontsize=7, loc="lower right")
    if nds is not None:
        b = ax[0, 1]
        b.loglog(nds.n, nds.rel_pert, "o-", label="trained: perturbation / ||x||")
        b.loglog(nds.n, nds.rel_robust, "s-", label="robust: radius / ||x||")
        b.loglog(nds.n, 1 / np.sqrt(nds.n.values), ":", color="k", label="1/sqrt(N)")
        b.set(xlabel="number of points N", ylabel="relative perturbation", title=f"d={nds.d}: vs N")
        b.set_xticks(nds.n.values, [str(int(v)) for v in nds.n.values], minor=False)
        b.set_xticks([], minor=True)
        b.legend(fontsize=7)
    caption(fig, f"Vardi, Yehudai & Shamir 2022: two-layer ReLU MLP width {ds.width} (bias first layer, init scale {INIT_SCALE}), logistic loss, LossScaledGD(lr={LR}*{LR_AT}/d) to -log L = {ds.target_accuracy:g}; N points uniform on the sphere of radius sqrt(d), random labels.")
    return fig


@register(
    "vardi2022-non-robust",
    paper="vardi2022",
    kind="check",
    where="vardi2022 §7 ([77]: Vardi, Yehudai & Shamir 2022)",
    title="Two-layer ReLU nets trained on nearly orthogonal data are non-robust although a robust net exists: perturbation size vs d",
)
def non_robust(profile):
    """The trained net flips at ``≈ ||x||/sqrt(N)`` while a robust net tolerates ``≈ ||x||/2``.

    Checks: (ratio) at every ``d`` of the grid, the median over training points of (smallest
    perturbation found on the trained net) / (certified radius of the robust net) is at most
    :data:`RATIO_TOL` = 0.5 (predicted ``2/sqrt(N)`` = 0.35 at ``N = 32``); (flat) the relative
    perturbation does not grow with ``d``: |fitted log-log slope vs d| <= :data:`SLOPE_TOL`
    (predicted 0: ``O(sqrt(d/N))`` against ``||x|| = sqrt(d)``); full profile only (n-scaling)
    at ``d = 8192`` the relative perturbation falls like ``N^{-1/2}``: |slope + 1/2| <= 0.1.
    Every run must be ``converged``. Details: each attack's median, the robust net attacked
    (an upper bound: equal to the certificate means the certificate is its exact radius), the
    best radius any classifier can have (half the distance to the other class), the largest
    cosine between data points, and the drift of the perturbation since ``-log L`` was a third of
    its target (small: the quantity has settled along the run).
    """
    ds = _d_sweep(profile.name)
    statuses = list(ds.status.values)
    n = ds.n
    per_d = {f"d={int(d)}": dict(rel_pert=float(ds.rel_pert.sel(d=d)), rel_line=float(ds.rel_line.sel(d=d)), rel_deepfool=float(ds.rel_deepfool.sel(d=d)),
                                 rel_robust=float(ds.rel_robust.sel(d=d)), rel_robust_attack=float(ds.rel_robust_attack.sel(d=d)),
                                 rel_best_possible=float(ds.rel_best_possible.sel(d=d)), ratio=float(ds.ratio.sel(d=d)), drift=float(ds.drift.sel(d=d)),
                                 max_cos=float(ds.max_cos.sel(d=d)), alignment=float(ds.alignment.sel(d=d)), alignment_clarke=float(ds.alignment_clarke.sel(d=d)), steps=int(ds.steps.sel(d=d))) for d in ds.d.values}
    slope_d = loglog_slope(ds.d.values, ds.rel_pert.values)[0]
    checks = [
        CheckResult.compare(
            "vardi2022-non-robust/ratio",
            f"at every d, median over the N={n} training points of (smallest perturbation found on the trained net: min of the line attack along sum y_n x_n and DeepFool) / (certified radius of the robust dual-basis net) <= {RATIO_TOL} (error: the largest such median over d)",
            "vardi2022",
            "§7 ([77] Vardi, Yehudai & Shamir 2022)",
            measured=float(ds.ratio.max()),
            predicted=2.0 / np.sqrt(n),
            error=float(ds.ratio.max()),
            tolerance=RATIO_TOL,
            statuses=statuses,
            per_d=per_d,
        ),
        CheckResult.compare(
            "vardi2022-non-robust/flat-in-d",
            f"the relative perturbation (median ||δ_n||/||x_n||) does not change with d at fixed N: |log-log slope vs d| <= {SLOPE_TOL} (predicted 0: O(sqrt(d/N)) against ||x|| = sqrt(d))",
            "vardi2022",
            "§7 ([77] Vardi, Yehudai & Shamir 2022)",
            measured=slope_d,
            predicted=0.0,
            error=abs(slope_d),
            tolerance=SLOPE_TOL,
            statuses=statuses,
            rel_pert=ds.rel_pert.values.tolist(),
            one_over_sqrt_n=1.0 / np.sqrt(n),
        ),
    ]
    nds = None
    if not profile.quick:
        nds = _n_sweep()
        slope_n = loglog_slope(nds.n.values, nds.rel_pert.values)[0]
        checks.append(
            CheckResult.compare(
                "vardi2022-non-robust/n-scaling",
                f"at d={nds.d} the relative perturbation falls like N^(-1/2): |log-log slope vs N + 1/2| <= {SLOPE_TOL}",
                "vardi2022",
                "§7 ([77] Vardi, Yehudai & Shamir 2022)",
                measured=slope_n,
                predicted=-0.5,
                error=abs(slope_n + 0.5),
                tolerance=SLOPE_TOL,
                statuses=list(nds.status.values),
                rel_pert=nds.rel_pert.values.tolist(),
                rel_robust=nds.rel_robust.values.tolist(),
                ratio=nds.ratio.values.tolist(),
            )
        )
    out = ds.drop_vars("status").assign_attrs(statuses=",".join(statuses))
    if nds is not None:
        out = xr.merge([out, nds.drop_vars("status").rename({k: f"{k}_vs_n" for k in nds.data_vars if k != "status"})], combine_attrs="drop_conflicts")
    return ExperimentResult(out, checks, _figure(ds, nds))


@register(
    "vardi2022-non-robust-fig",
    paper="vardi2022",
    kind="figure",
    where="vardi2022 §7 ([77]: Vardi, Yehudai & Shamir 2022)",
    title="Perturbation size vs input dimension d: trained two-layer ReLU net vs a robust net for the same data",
)
def non_robust_figure(profile):
    r"""The data of ``vardi2022-non-robust`` (its cached sweep, not retrained) as a figure:
    the median over training points of the smallest perturbation found on the trained net (and
    along ``z = Σ_n y_n x_n`` alone), the certified radius of the robust dual-basis net, half the
    distance to the other class (no classifier is robust beyond it) and ``sqrt(d/N)``, against
    ``d``; the full profile adds the panel against ``N`` at ``d = 8192``.

    Check ``/bounds``: the robust net's three routes are ordered as they must be, at every ``d``
    (and every ``N`` in the full profile): certified radius (:func:`~implicit_bias.theory.robust_network`,
    a lower bound on its true radius) ``<=`` the DeepFool perturbation found on it (an actual
    flip: an upper bound) and ``<=`` half the distance to the other class (any classifier's
    upper bound); the per-point inequalities carry over to the plotted medians. Error: the
    largest relative excess of the certificate over either bound; tolerance 1e-9 (round-off).
    """
    ds = _d_sweep(profile.name)
    nds = None if profile.quick else _n_sweep()
    parts = [ds] + ([nds] if nds is not None else [])
    excess = max(float(np.max(np.maximum(p.rel_robust.values - np.minimum(p.rel_robust_attack.values, p.rel_best_possible.values), 0.0) / p.rel_robust.values)) for p in parts)
    statuses = [s for p in parts for s in p.status.values]
    check = CheckResult.compare(
        "vardi2022-non-robust-fig/bounds",
        "robust net, median over training points: certified radius <= DeepFool perturbation found on it and <= half the distance to the other class, at every d (error: largest relative excess)",
        "vardi2022",
        "§7 ([77] Vardi, Yehudai & Shamir 2022); certificate of theory.robust_network",
        measured=excess,
        predicted=0.0,
        error=excess,
        tolerance=1e-9,
        statuses=statuses,
        certified_over_attack=(ds.rel_robust / ds.rel_robust_attack).values.tolist(),
        certified_over_half_gap=(ds.rel_robust / ds.rel_best_possible).values.tolist(),
    )
    keep = ["rel_pert", "rel_line", "rel_deepfool", "rel_robust", "rel_robust_attack", "rel_best_possible", "ratio"]
    out = ds[keep].assign(pert=ds.rel_pert * np.sqrt(ds.d), robust=ds.rel_robust * np.sqrt(ds.d), sqrt_d_over_n=np.sqrt(ds.d / ds.n)).assign_attrs(statuses=",".join(ds.status.values))
    if nds is not None:
        out = xr.merge([out, nds[keep].rename({k: f"{k}_vs_n" for k in keep})], combine_attrs="drop_conflicts")
    return ExperimentResult(out, [check], _figure(ds, nds))
