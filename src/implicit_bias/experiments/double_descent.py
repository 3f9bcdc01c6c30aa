"""Double descent of min-norm random-feature regression (belkin2019 Fig. 2; vardi2022 §6, Figs. 1-2).

Sources (issue 23): belkin2019 (M. Belkin, D. Hsu, S. Ma, S. Mandal, *Reconciling modern
machine-learning practice and the classical bias-variance trade-off*, PNAS 116(32), 2019),
surveyed in vardi2022 §6 (Fig. 2: dashed training risk, solid test risk, the interpolation
threshold; Fig. 1: a degree-3 and a degree-8 polynomial fit of a noisy cubic).

The risk curves come from the closed-form route
(:func:`implicit_bias.theory.min_norm_random_features`: ``lstsq`` on the nested features,
``N`` over a grid of ratios ``N/n``); the training route is real where it is checked: GD from
zero through :func:`implicit_bias.train_many` on a linear model over the features ends at the
same min-norm solution. Data: a synthetic nonlinear regression and sklearn's shipped
``load_digits`` (8x8 digits, 1797 images, no download; one-hot targets, as belkin2019 fit MNIST).
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import xarray as xr

from .. import models, theory
from ..algorithms import GradientDescent
from ..data import Dataset
from ..plotting import COLORS, caption, figure
from ..train import Record, Stop, train_many
from .registry import CheckResult, ExperimentResult, register

__all__ = ["synthetic_problem", "digits_problem", "risk_curves", "curve_checks", "gd_min_norm", "gd_steps", "double_descent_figure", "polynomial_fits", "polynomial_figure"]

_KINDS = ("relu", "fourier")
_PEAK_WINDOW = 0.25  # the test risk peaks at N with |N/n - 1| <= 0.25
_SECOND_DESCENT = 0.25  # test risk at the largest N <= 0.25 x the peak
_INTERP_TOL = 1e-20  # training risk / mean ||y||^2 past the threshold (N > n)
_PINV_TOL = 1e-8  # GD from zero vs lstsq, relative l2 distance of the coefficients


def synthetic_problem(n: int, n_test: int = 1000, dim: int = 5, noise: float = 0.3, seed: int = 0):
    """``x ~ N(0, I_dim)``, ``y = sin(2 u^T x) + noise * eps`` with ``u`` a random unit vector,
    ``eps ~ N(0, 1)``; ``n`` training and ``n_test`` test points (noisy labels on both, so the
    test risk includes ``noise^2``). Returns ``(X (n, dim), y (n,), X_test, y_test)``."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(dim)
    u /= np.linalg.norm(u)
    X = rng.standard_normal((n + n_test, dim))
    y = np.sin(2.0 * X @ u) + noise * rng.standard_normal(n + n_test)
    return X[:n], y[:n], X[n:], y[n:]


def digits_problem(n: int, seed: int = 0):
    """sklearn's ``load_digits`` (shipped with sklearn, no download): ``n`` random training images,
    the other ``1797 - n`` as the test set; pixels standardised with the training set's mean and
    standard deviation (pixels constant on it dropped); targets one-hot ``(., 10)``.
    Returns ``(X (n, d), Y (n, 10), X_test, Y_test)``."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:  # pragma: no cover - scikit-learn is a dependency
        raise ImportError("the digits problem needs scikit-learn (pip install scikit-learn); its load_digits ships the data") from err
    digits = load_digits()
    X, labels = np.asarray(digits.data, dtype=np.float64), np.asarray(digits.target)
    if not 1 <= n < X.shape[0]:
        raise ValueError(f"n must be in [1, {X.shape[0] - 1}] (load_digits has {X.shape[0]} images); received {n!r}")
    idx = np.random.default_rng(seed).permutation(X.shape[0])
    tr, te = idx[:n], idx[n:]
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    keep = sd > 0
    Z = (X[:, keep] - mu[keep]) / sd[keep]
    Y = np.eye(10)[labels]
    return Z[tr], Y[tr], Z[te], Y[te]


def _blas_one_thread():
    """One BLAS thread for the lstsq sweep: on two shared cores OpenBLAS's own threads
    oversubscribe (a 200 x 2000 lstsq took 2.0 s threaded under load, 0.056 s on one thread)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def risk_curves(problem, n: int, ratios, seeds, bandwidth: float, problem_seed: int = 0) -> dict:
    """Training and test risk of the min-norm random-feature fit at ``N = round(ratio * n)``.

    ``problem(n, seed) -> (X, y, X_test, y_test)``. For each feature kind and seed: one draw of
    ``N_max = max(N)`` features (:func:`theory.random_features`, seed ``seed``) on the problem
    drawn with ``problem_seed + seed``; risks averaged over seeds.

    Returns:
        dict kind -> dict with ``n_features`` (the grid of ``N``), ``train_risk``, ``test_risk``,
        ``norm`` (arrays of the grid's length, means over seeds) and ``scale`` (mean ``||y||^2``
        of the training targets, what :func:`curve_checks` divides the training risk by).
    """
    grid = sorted({max(1, int(round(r * n))) for r in ratios})
    out = {}
    with _blas_one_thread():
        for kind in _KINDS:
            acc = []
            for s in seeds:
                X, y, Xt, yt = problem(n, problem_seed + s)
                feats = theory.random_features(X.shape[1], max(grid), kind, bandwidth=bandwidth, seed=1000 + s)
                acc.append((theory.min_norm_random_features(X, y, feats, Xt, yt).risks(grid), float(np.mean(np.sum(np.reshape(y, (n, -1)) ** 2, axis=1)))))
            out[kind] = {
                "n_features": np.asarray(grid),
                "train_risk": np.mean([c.train_risk for c, _ in acc], axis=0),
                "test_risk": np.mean([c.test_risk for c, _ in acc], axis=0),
                "norm": np.mean([c.norm for c, _ in acc], axis=0),
                "scale": float(np.mean([sc for _, sc in acc])),
            }
    return out


def gd_min_norm(cases) -> dict:
    """GD from zero on linear models over random features, as one :func:`train_many` batch.

    ``cases``: list of ``(name, Phi (n, N), y (n,))`` of one shape. Each point: ``Linear(N)``
    from ``w = 0`` on the square loss ``(1/2n) ||Phi w - y||^2``, GD with
    ``lr = 2/(lambda_min + lambda_max)`` of ``Phi^T Phi / n`` (nonzero eigenvalues). ``N > n``:
    to ``L <= 1e-26`` (status ``converged``; budget 3x the steps that contract the error ``1e13``
    times); ``N < n``: the steps that contract the error ``1e12`` times (:func:`gd_steps`;
    status ``max_steps``; the least-squares loss stays positive). Compared with ``numpy.linalg.lstsq``.

    Returns:
        dict name -> ``{"error": relative l2 distance to lstsq, "status", "steps", "kappa"}``.
    """
    over = cases[0][1].shape[1] > cases[0][1].shape[0]
    dsets, algs, refs, kappas = [], [], [], []
    for _, P, y in cases:
        lam = np.linalg.svd(P, compute_uv=False) ** 2 / P.shape[0]
        lam = lam[lam > lam[0] * 1e-13]
        algs.append(GradientDescent(lr=2.0 / float(lam[0] + lam[-1])))
        kappas.append(float(lam[0] / lam[-1]))
        dsets.append(Dataset(P, y, "regression"))
        refs.append(np.linalg.lstsq(P, y, rcond=None)[0])
    N = cases[0][1].shape[1]
    stop = Stop(loss=1e-26, max_steps=3 * gd_steps(max(kappas), 1e-13)) if over else Stop(max_steps=gd_steps(max(kappas)))
    runs = train_many([models.Linear(N)] * len(cases), dsets, "square", algs, stop, Record(fields=("loss",), steps=()), list(range(len(cases))), inits=[{"w": np.zeros(N)}] * len(cases))
    return {
        name: {"error": float(np.linalg.norm(r.predictor - ref) / np.linalg.norm(ref)), "status": r.status, "steps": int(r.steps), "kappa": k}
        for (name, _, _), r, ref, k in zip(cases, runs, refs, kappas)
    }


def gd_steps(kappa: float, accuracy: float = 1e-12) -> int:
    """Steps of GD at ``lr = 2/(lambda_min + lambda_max)`` that contract the error ``1/accuracy``
    times in every direction (rate ``(kappa - 1)/(kappa + 1)``)."""
    return int(math.ceil(math.log(accuracy) / math.log((kappa - 1.0) / (kappa + 1.0)))) + 10


def _problems(profile):
    """The two problems of the check: ``name -> (problem(n, seed), n, bandwidth)``."""
    n = profile.pick(100, 400)
    return {
        "synthetic": (lambda m, s: synthetic_problem(m, profile.pick(1000, 4000), seed=s), n, 1.0),
        "digits": (digits_problem, n, 8.0),
    }


def curve_checks(name: str, kind: str, c: dict, n: int) -> list[CheckResult]:
    """The three checks of one risk curve ``c`` (a value of :func:`risk_curves`): the test risk
    peaks at ``|N_peak/n - 1| <= 0.25``; at the largest ``N`` it is ``<= 0.25`` x the peak; the
    training risk past ``N = n`` is ``<= 1e-20 mean ||y||^2`` and positive below ``n``."""
    N, test, train = c["n_features"], c["test_risk"], c["train_risk"]
    k = int(np.argmax(test))
    base = f"belkin2019-double-descent/{name}-{kind}"
    common = {"n": n, "n_features": N.tolist(), "test_risk": test.tolist(), "train_risk": train.tolist()}
    past = train[N > n] / c["scale"]
    below = train[N < n]
    return [
        CheckResult.compare(
            f"{base}/peak",
            f"the test risk of the min-norm fit with N random {kind} features ({name}, n = {n}) is largest at an N "
            f"within [{1 - _PEAK_WINDOW:g} n, {1 + _PEAK_WINDOW:g} n] (error: |N_peak / n - 1|)",
            "belkin2019", "Fig. 2; vardi2022 Fig. 2(B)",
            measured=N[k] / n, predicted=1.0, error=abs(N[k] / n - 1.0), tolerance=_PEAK_WINDOW, peak_risk=float(test[k]), **common,
        ),
        CheckResult.compare(
            f"{base}/second-descent",
            f"past the peak the test risk falls again: at the largest N = {N[-1]} it is at most {_SECOND_DESCENT:g} x the peak "
            f"(error: R_test(N_max) / R_test(N_peak))",
            "belkin2019", "Fig. 2; vardi2022 Fig. 2(B)",
            measured=float(test[-1] / test[k]), predicted=0.0, error=float(test[-1] / test[k]), tolerance=_SECOND_DESCENT, risk_at_largest_N=float(test[-1]),
            min_risk_below_threshold=float(test[N < n].min()), min_risk_past_threshold=float(test[N > n].min()), **common,
        ),
        CheckResult.compare(
            f"{base}/interpolation",
            f"past the threshold (every N > n = {n} on the grid) the min-norm fit interpolates: training risk / mean ||y||^2 "
            f"<= {_INTERP_TOL:g}; below it (N < n) the least-squares training risk is positive (error: the largest ratio past n, "
            f"or inf if a fit below n interpolates)",
            "belkin2019", "Fig. 2 (interpolation threshold)",
            measured=float(past.max()), predicted=0.0, error=float(past.max()) if below.min() > 0 else math.inf, tolerance=_INTERP_TOL,
            min_train_risk_below_threshold=float(below.min()), **common,
        ),
    ]


def _gd_cases(profile, ratio):
    """``(name, Phi, y)`` for the GD check at ``N = ratio * n_gd``: synthetic with Fourier features,
    digits (one-hot column of the digit 0) with ReLU and Fourier features. Random ReLU features of
    the 5-dim synthetic inputs are left out: their ``Phi^T Phi`` has condition numbers ~1e5 (GD
    would need ~1e6 steps)."""
    n = profile.pick(40, 100)
    N = int(round(ratio * n))
    X, y, _, _ = synthetic_problem(n, 1, seed=0)
    Xd, Yd, _, _ = digits_problem(n, seed=0)
    out = [("synthetic-fourier", theory.random_features(X.shape[1], N, "fourier", bandwidth=1.0, seed=1000)(X), y)]
    for kind in _KINDS:
        out.append((f"digits-{kind}", theory.random_features(Xd.shape[1], N, kind, bandwidth=8.0, seed=1000)(Xd), Yd[:, 0]))
    return out, n, N


def _gd_check(profile, ratio):
    cases, n, N = _gd_cases(profile, ratio)
    res = gd_min_norm(cases)
    over = N > n
    err = max(r["error"] for r in res.values())
    regime = f"N = {N} > n = {n}: the min-norm interpolant, runs to L <= 1e-26" if over else f"N = {N} < n = {n}: the least-squares fit, a step budget contracting the error 1e12 times"
    return CheckResult.compare(
        f"belkin2019-double-descent/gd-equals-pinv/{'over' if over else 'under'}",
        f"GD from zero on a linear model over the random features ({regime}) ends at lstsq's min-norm solution Phi^+ y "
        f"(error: largest relative l2 distance over {', '.join(res)})",
        "belkin2019", "§3 (min-norm fitting); vardi2022 §4.1",
        measured=err, predicted=0.0, error=err, tolerance=_PINV_TOL,
        statuses=[r["status"] for r in res.values()], require_status=("converged",) if over else ("max_steps",),
        runs=res, n=n, N=N,
    )


def _curves_dataset(curves, n, ratios, seeds):
    ds = xr.Dataset(
        {
            v: (("problem", "features", "N"), np.asarray([[c[k][v] for k in _KINDS] for c in curves.values()]))
            for v in ("train_risk", "test_risk", "norm")
        },
        coords={"problem": list(curves), "features": list(_KINDS), "N": next(iter(curves.values()))["relu"]["n_features"]},
        attrs={"n": n, "ratios": list(ratios), "seeds": list(seeds), "peak_window": _PEAK_WINDOW},
    )
    return ds


@register(
    "belkin2019-double-descent",
    paper="belkin2019",
    kind="check",
    where="Fig. 2 (random features); vardi2022 §6, Fig. 2(B)",
    title="Min-norm random-feature regression: test risk peaks at N = n features and falls again; training risk 0 past it",
)
def double_descent_check(profile):
    """Double descent of min-norm random ReLU / Fourier feature regression, synthetic and digits.

    Curves (closed-form route, :func:`theory.min_norm_random_features`): ``n = 100`` (quick) /
    ``400`` (full) training points of each problem (synthetic: ``d = 5``, ``y = sin(2 u^T x) +
    0.3 eps``, 1000 / 4000 test points; digits: ``load_digits``, one-hot, the other images as test
    set, Fourier bandwidth 8 on standardised pixels), ``N/n`` over 13 (quick) / 27 (full) ratios
    in ``[0.1, 10]``, seeds ``(0,)`` (quick) / ``(0, 1, 2)`` (full; risks averaged). Checks per
    problem and kind: the test risk peaks at ``|N/n - 1| <= 0.25``; at ``N = 10 n`` it is at most
    0.25 x the peak; the training risk past ``N = n`` is ``<= 1e-20`` of ``mean ||y||^2``.
    Training route: GD from zero (``train_many``) at ``N = 4n`` (quick; each ``N`` is one more
    compilation, ~3 s on a loaded 2-core machine) and also ``N = n/4`` (full) on ``n = 40``
    (quick) / ``100`` (full) problems equals ``lstsq`` to 1e-8.
    """
    ratios = profile.pick(
        (0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0),
        (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0),
    )
    seeds = profile.pick((0,), (0, 1, 2))
    curves, checks = {}, []
    for name, (problem, n, bw) in _problems(profile).items():
        curves[name] = risk_curves(problem, n, ratios, seeds, bw)
        for kind in _KINDS:
            checks += curve_checks(name, kind, curves[name][kind], n)
    checks += [_gd_check(profile, r) for r in profile.pick((4.0,), (0.25, 4.0))]
    ds = _curves_dataset(curves, n, ratios, seeds)
    return ExperimentResult(ds, checks, double_descent_figure(ds))


def double_descent_figure(ds: xr.Dataset):
    """Training risk (dashed) and test risk (solid) against ``N``, one panel per problem, the
    threshold ``N = n`` marked (vardi2022 Fig. 2(B), belkin2019 Fig. 2)."""
    fig, ax = figure(ds.sizes["problem"], 1, width=4.2, height=3.3)
    n = int(ds.attrs["n"])
    for j, p in enumerate(ds["problem"].values):
        a = ax[0, j]
        for i, k in enumerate(ds["features"].values):
            sel = ds.sel(problem=p, features=k)
            a.plot(ds["N"], sel["test_risk"], color=COLORS[i], marker="o", ms=3, label=f"{k} test")
            a.plot(ds["N"], np.maximum(sel["train_risk"], 1e-30), color=COLORS[i], ls="--", label=f"{k} train")
        a.axvline(n, color="0.4", ls=":", lw=1)
        a.text(n, 0.98, " N = n", transform=a.get_xaxis_transform(), va="top", fontsize=7, color="0.3")
        a.set(xscale="log", yscale="log", ylim=(1e-3, None), xlabel="number of random features N", ylabel="risk (mean squared error)", title=f"{p} (n = {n})")
        a.minorticks_off()  # log-log over 8 decades: matplotlib's minor ticks cost ~1 s of layout
        a.legend(fontsize=7)
    caption(fig, f"belkin2019 Fig. 2 / vardi2022 Fig. 2(B): min-norm random-feature regression; solid: test risk, dashed: training risk (it drops below the axis to ~1e-28, i.e. 0, past the threshold N = n); seeds {list(ds.attrs['seeds'])}.")
    return fig


# ------------------------------------------------------------------------ vardi2022 Fig. 1


def _cubic(x):
    return x**3 - x


def polynomial_fits(n: int, degrees=(3, 8), noise: float = 0.1, seeds=(0,), n_test: int = 2000) -> dict:
    """Least-squares polynomial fits of a noisy cubic (vardi2022 Fig. 1).

    ``x`` uniform on ``[-1.5, 1.5]``, ``y = x^3 - x + noise * eps``; each degree fitted by
    ``numpy.polynomial.Polynomial.fit`` (least squares in a scaled power basis). Training risk:
    mean squared error on the ``n`` points; test risk: mean squared error to the noiseless cubic
    on ``n_test`` fresh uniform points (excess risk).

    Returns:
        dict with ``train``, ``test`` (arrays ``(len(seeds), len(degrees))``), ``degrees``, and
        ``example`` (seed ``seeds[0]``: ``x``, ``y``, and the fitted polynomials by degree).
    """
    train = np.empty((len(seeds), len(degrees)))
    test = np.empty_like(train)
    example = None
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        x = rng.uniform(-1.5, 1.5, n)
        y = _cubic(x) + noise * rng.standard_normal(n)
        xt = rng.uniform(-1.5, 1.5, n_test)
        fits = {k: np.polynomial.Polynomial.fit(x, y, k) for k in degrees}
        for j, k in enumerate(degrees):
            train[i, j] = np.mean((fits[k](x) - y) ** 2)
            test[i, j] = np.mean((fits[k](xt) - _cubic(xt)) ** 2)
        if example is None:
            example = {"x": x, "y": y, "fits": fits}
    return {"train": train, "test": test, "degrees": tuple(degrees), "example": example}


@register(
    "vardi2022-fig1",
    paper="vardi2022",
    kind="figure",
    where="Fig. 1 (§1)",
    title="A degree-8 fit of a noisy cubic has lower training error than the degree-3 fit but overfits",
)
def fig1(profile):
    """vardi2022 Fig. 1: ``n = 12`` noisy samples of ``x^3 - x`` (noise s.d. 0.1), fitted by
    least squares with degree 3 and degree 8 over 20 (quick) / 200 (full) seeds. Checks: the
    degree-8 training risk is at most the degree-3 one on every seed (nested least squares: a
    theorem); the degree-8 test risk exceeds the degree-3 one on at least 80 % of the seeds
    (overfitting; measured fraction)."""
    seeds = tuple(range(profile.pick(20, 200)))
    res = polynomial_fits(12, (3, 8), 0.1, seeds)
    tr, te = res["train"], res["test"]
    worse = float(np.mean(te[:, 1] > te[:, 0]))
    checks = [
        CheckResult.compare(
            "vardi2022-fig1/train",
            f"the degree-8 least-squares fit has training risk <= the degree-3 fit on every one of {len(seeds)} seeds "
            "(error: largest ratio train_8 / train_3)",
            "vardi2022", "Fig. 1",
            measured=float(np.median(tr[:, 1])), predicted=float(np.median(tr[:, 0])), error=float(np.max(tr[:, 1] / tr[:, 0])), tolerance=1.0 + 1e-12,
            median_train=np.median(tr, axis=0).tolist(),
        ),
        CheckResult.compare(
            "vardi2022-fig1/overfits",
            f"the degree-8 fit has a larger test risk (to the noiseless cubic) than the degree-3 fit on at least 80 % of "
            f"{len(seeds)} seeds (error: 1 - fraction of seeds where it is larger; tolerance 0.2)",
            "vardi2022", "Fig. 1",
            measured=worse, predicted=1.0, error=1.0 - worse, tolerance=0.2,
            median_test=np.median(te, axis=0).tolist(),
        ),
    ]
    ds = xr.Dataset(
        {"train_risk": (("seed", "degree"), tr), "test_risk": (("seed", "degree"), te)},
        coords={"seed": list(seeds), "degree": list(res["degrees"])},
        attrs={"n": 12, "noise": 0.1, "target": "x^3 - x on [-1.5, 1.5]"},
    )
    return ExperimentResult(ds, checks, polynomial_figure(res))


def polynomial_figure(res: dict):
    """The data of the first seed with the degree-3 (green) and degree-8 (red) fits, as vardi2022 Fig. 1."""
    fig, ax = figure(1, 1, width=4.6, height=3.4)
    a = ax[0, 0]
    ex = res["example"]
    grid = np.linspace(-1.5, 1.5, 400)
    a.plot(grid, _cubic(grid), color="0.6", lw=1, ls=":", label="x^3 - x (truth)")
    for k, color in zip(res["degrees"], (COLORS[2], COLORS[1])):
        a.plot(grid, ex["fits"][k](grid), color=color, label=f"degree {k}: train {res['train'][0, res['degrees'].index(k)]:.2g}, test {res['test'][0, res['degrees'].index(k)]:.2g}")
    a.plot(ex["x"], ex["y"], "o", color="k", ms=4, label="training points")
    lo, hi = float(ex["y"].min()), float(ex["y"].max())
    a.set(ylim=(lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo)), xlabel="x", ylabel="y", title="degree-3 vs degree-8 fit")
    a.legend(fontsize=7)
    caption(fig, "vardi2022 Fig. 1: least-squares fits of a noisy cubic (n = 12, noise s.d. 0.1); the degree-8 fit has the lower training error but overfits.")
    return fig
