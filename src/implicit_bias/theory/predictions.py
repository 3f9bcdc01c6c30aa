"""Named predictions for ``ibias fit --predict NAME``: which solution the theory says training finds.

Each entry computes a predicted linear predictor from the problem alone (data, initial
predictor, the algorithm's geometry), never from training. ``kind`` says how it is compared
with a trained predictor: ``interpolant`` (relative l2 error of the vectors) or ``direction``
(relative l2 error of the unit vectors, since classification predictors grow without bound).
A ``function`` prediction (the univariate splines of wide ReLU nets, montufar2024 Thm 5) is a
function of the input, not a predictor: its ``fn`` returns a vectorised callable
``g(x (P,)) -> (P,)``, compared with the trained net's outputs on evaluation points
(:func:`function_eval_points`).

Each prediction states its **assumptions** (:class:`Assumption`): the model, loss, algorithm and
initialization its theorem covers, and whether it is a limit (initialization scale to 0 or to
infinity) that a run approaches rather than meets. :func:`select_predictions` (``ibias fit
--predict auto``) keeps the predictions whose conditions a run meets and gives one reason for each
of the others; every theorem here is about the trained limit, so a run that did not end
``converged`` meets none (:data:`CONVERGED`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .diagonal import diagonal_interpolant, min_l1_interpolant, ntk_norm_interpolant
from .interpolants import bregman_interpolant, min_distance_interpolant
from .margins import max_margin, polynomial_tail_direction

__all__ = ["Prediction", "PREDICTIONS", "get_prediction", "Context", "function_eval_points", "EVAL_GRID", "box_eval_points", "EVAL_POINTS_ND", "Assumption", "select_predictions", "CONVERGED"]

#: Number of evenly spaced points on ``S = [min x, max x]`` at which a ``function`` prediction is
#: compared when the data give no ``X_eval`` (the experiments' grid, ``experiments.splines``).
EVAL_GRID = 801


@dataclasses.dataclass(frozen=True)
class Context:
    """What a prediction may use: the data, the initial predictor and the algorithm's geometry."""

    X: np.ndarray
    y: np.ndarray
    w0: np.ndarray | None = None
    potential: str | None = None
    polynomial_k: float | None = None
    model: object | None = None  # the trained model (its hyperparameters and initialization)
    params0: dict | None = None  # the initial parameters (needed by the q-delta family)
    lr: float | None = None  # the constant step size of a discrete algorithm (effective-init)
    state: object | None = None  # the algorithm's state after training (effective-init: GD's gain sums)
    task: str | None = None  # "regression" or "classification" (the data's, ``Dataset.task``)
    loss: str | None = None  # the loss name (``losses.get_loss``): square, exponential, logistic, polynomial, ...
    algorithm: str | None = None  # the algorithm name of ``ibias fit --algorithm`` / ``algorithm.name``
    norm: str | None = None  # steepest descent's norm (l1, linf, lp:P)


@dataclasses.dataclass(frozen=True)
class Assumption:
    """One assumption of a prediction's theorem.

    Attributes:
        text: what it needs, as ``ibias fit --list-predictions`` shows it (with the flags that give it).
        holds: ``holds(ctx) -> bool`` on the run's :class:`Context` (model, loss, algorithm, initial
            parameters); ``None`` for a limit.
        limit: a limit the run approaches (e.g. initialization scale -> 0) rather than a condition
            it meets: never a reason to skip; the prediction's error says how far the run is from it.
    """

    text: str
    holds: Callable[[Context], bool] | None = None
    limit: bool = False


@dataclasses.dataclass(frozen=True)
class Prediction:
    name: str
    paper: str
    where: str
    kind: str  # "interpolant", "direction" or "function"
    task: str  # "regression" or "classification"
    description: str
    fn: Callable[[Context], np.ndarray]
    assumptions: tuple = ()  # (Assumption, ...): what the theorem needs beyond ``task`` and a converged run

    def unmet(self, ctx: Context) -> str | None:
        """The first assumption ``ctx`` does not meet, as ``"needs ..."``; None when all hold.
        The data's task is the first condition; limits are never unmet."""
        if ctx.task is not None and ctx.task != self.task:
            return f"needs {self.task} data (these data are {ctx.task})"
        for a in self.assumptions:
            if a.holds is not None and not a.holds(ctx):
                return f"needs {a.text}"
        return None

    def describe_assumptions(self) -> str:
        """The assumptions in one line (``ibias fit --list-predictions``)."""
        parts = [f"{self.task} data"] + [("limit: " if a.limit else "") + a.text for a in self.assumptions] + ["a converged run"]
        return "; ".join(parts)


# ------------------------------------------------------------------------------ assumptions

#: What every prediction needs of the run itself: the theorems describe the trained limit.
CONVERGED = "a converged run (status converged: the theorems describe the trained limit)"

_GRADIENT = ("flow", "reduced", "gd", "sgd")  # gradient flow and (stochastic) gradient descent on the loss
_L2_STEEPEST = _GRADIENT + ("normalized-gd", "loss-scaled-gd")  # steepest descent w.r.t. l2, any step schedule


def _is(c: Context, cls: str, **attrs) -> bool:
    from .. import models

    m = c.model
    return isinstance(m, getattr(models, cls)) and all(getattr(m, k, None) == v for k, v in attrs.items())


def _delta_nonnegative(c: Context) -> bool:
    from . import linear_networks as ln

    if c.params0 is None:
        return False
    return ln.neuron_init_quantities({k: np.asarray(v, dtype=np.float64) for k, v in c.params0.items()}).delta >= 0


def _uniform_covers(c: Context) -> bool:
    m = c.model
    x = np.abs(np.asarray(c.X, dtype=np.float64)).max() if np.size(c.X) else 0.0
    return getattr(m, "init_dist", None) == "uniform" and float(m.a_b) >= float(m.a_w) * x


_SQUARE = Assumption("the square loss (--loss square)", lambda c: c.loss == "square")
_EXP_TAIL = Assumption("an exponentially-tailed loss (--loss exponential|logistic)", lambda c: c.loss in ("exponential", "logistic"))
_POLY_TAIL = Assumption("a polynomially-tailed loss (--loss polynomial:K)", lambda c: c.polynomial_k is not None)
_LINEAR = Assumption("the linear model (--model linear)", lambda c: _is(c, "Linear"))
_GRAD = Assumption("gradient descent or flow (--algorithm flow|reduced|gd|sgd)", lambda c: c.algorithm in _GRADIENT)
_FLOW = Assumption("gradient flow (--algorithm flow|reduced)", lambda c: c.algorithm in ("flow", "reduced"))
_DIAGONAL_FLOW = Assumption("gradient flow (--algorithm flow|reduced; for constant-step GD see effective-init)", _FLOW.holds)
_L2_DESCENT = Assumption("a gradient method (--algorithm flow|reduced|gd|sgd|normalized-gd|loss-scaled-gd)", lambda c: c.algorithm in _L2_STEEPEST)
_MIRROR = Assumption("mirror descent with a potential (--algorithm mirror --potential P)", lambda c: c.algorithm == "mirror" and c.potential is not None)
_DIAGONAL = Assumption("a diagonal linear network (--model diagonal)", lambda c: _is(c, "Diagonal"))
_DIAGONAL2 = Assumption("the tied depth-2 diagonal network (--model diagonal --depth 2, not --untied)", lambda c: _is(c, "Diagonal", depth=2, tied=True))
_GD = Assumption("constant-step gradient descent (--algorithm gd)", lambda c: c.algorithm == "gd")
_NEURON = Assumption("a single hidden linear neuron (--model fc --widths 1 --activation linear)", lambda c: _is(c, "FullyConnected", widths=(1,), activation="linear", bias=False))
_DELTA = Assumption("delta = a(0)^2 - ||w(0)||^2 >= 0 at the initialization (--shape s >= 0)", _delta_nonnegative)
_FC_LINEAR = Assumption("a fully-connected linear network (--model fc --activation linear)", lambda c: _is(c, "FullyConnected", activation="linear", bias=False))
_RELU1 = Assumption("a univariate shallow ReLU net with a skip connection (--model relu --skip, data X (N, 1))", lambda c: _is(c, "ShallowReLU", input_dim=1, activation="relu", skip=True))
_RELU_K1 = Assumption(
    "a univariate shallow ReLU net with a skip connection (--model relu --skip, data X (N, 1)); for relu_power:k, k >= 2, Thm 9's g* is the limit of "
    "the net trained on y - p (its null-space polynomial), which ibias fit does not do",
    lambda c: _is(c, "ShallowReLU", input_dim=1, activation="relu", skip=True),
)
_RELU_SKIP = Assumption("a shallow ReLU net with a skip connection (--model relu --skip)", lambda c: _is(c, "ShallowReLU", activation="relu", skip=True))
_GAUSSIAN = Assumption("the Gaussian init (--init gaussian): the arc-cosine kernel of Thm 8's g*", lambda c: getattr(c.model, "init_dist", None) == "gaussian")
_WIDTH_GD = Assumption("width-scaled GD (--algorithm width-scaled-gd)", lambda c: c.algorithm == "width-scaled-gd")
_ANTISYMMETRIC = Assumption("f(., theta_0) = 0 (--antisymmetric)", lambda c: bool(getattr(c.model, "antisymmetric", False)))
_UNIFORM = Assumption("the uniform init with a_b >= a_w max|x| (--init uniform --a-b, --a-w): zeta constant on the data's interval", _uniform_covers)
_CONV = Assumption("a depth-2 linear convolutional network (--model conv --depth 2)", lambda c: _is(c, "LinearConv", depth=2))
_FACTORIZATION = Assumption("a matrix factorization (--model factorization)", lambda c: _is(c, "MatrixFactorization"))
_SYMMETRIC = Assumption("the PSD factorization U U^T (--model factorization --symmetric)", lambda c: _is(c, "MatrixFactorization", symmetric=True))
_IDENTITY = Assumption("U(0) = scale I (--init identity, the default of --symmetric)", lambda c: getattr(c.model, "initialization", None) in (None, "identity"))
_SMALL = Assumption("initialization scale -> 0 (the rich regime)", limit=True)
_LARGE = Assumption("initialization scale -> infinity (the kernel regime)", limit=True)


def _steepest(norm: str) -> Assumption:
    return Assumption(f"steepest descent w.r.t. {norm} (--algorithm steepest --norm {norm})", lambda c: c.algorithm == "steepest" and c.norm == norm)


#: The assumptions of each prediction (beyond its task and a converged run).
ASSUMPTIONS = {
    "min-distance": (_LINEAR, _SQUARE, _GRAD),
    "bregman": (_LINEAR, _SQUARE, _MIRROR),
    "diagonal": (_DIAGONAL, _SQUARE, _DIAGONAL_FLOW),
    "effective-init": (_DIAGONAL2, _SQUARE, _GD),
    "min-l1": (_DIAGONAL, _SQUARE, _GRAD, _SMALL),
    "ntk-norm": (_DIAGONAL, _SQUARE, _GRAD, _LARGE),
    "q-delta": (_NEURON, _DELTA, _SQUARE, _FLOW),
    "min-l2": (_FC_LINEAR, _SQUARE, _GRAD, _SMALL),
    "fc-ntk": (_NEURON, _DELTA, _SQUARE, _FLOW, _LARGE),
    "max-margin-l2": (_LINEAR, _EXP_TAIL, _L2_DESCENT),
    "max-margin-l1": (_LINEAR, _EXP_TAIL, _steepest("l1")),
    "max-margin-linf": (_LINEAR, _EXP_TAIL, _steepest("linf")),
    "polynomial-tail": (_LINEAR, _POLY_TAIL, _GRAD),
    "weighted-spline": (_RELU1, _SQUARE, _WIDTH_GD),
    "natural-spline": (_RELU1, _ANTISYMMETRIC, _UNIFORM, _SQUARE, _WIDTH_GD),
    "min-nuclear": (_FACTORIZATION, _SQUARE, _GRAD, _SMALL),
    "min-nuclear-psd": (_SYMMETRIC, _SQUARE, _GRAD, _SMALL),
    "min-frobenius": (_FACTORIZATION, _SQUARE, _GRAD, _LARGE),
    "commuting-limit": (_SYMMETRIC, _IDENTITY, _SQUARE, _FLOW),
    "dft-l1": (_CONV, _EXP_TAIL, _L2_DESCENT),
}


def select_predictions(ctx: Context, names=None, *, status: str | None = None) -> tuple[list, list[dict]]:
    """The predictions among ``names`` (all by default) whose assumptions ``ctx`` meets, and one
    ``{"name", "reason"}`` for each of the others (``ibias fit --predict auto``).

    ``status`` is the run's final status once known: every prediction needs ``converged``
    (:data:`CONVERGED`), so any other status skips them all.

    Example:
        >>> import numpy as np
        >>> from implicit_bias import models
        >>> ctx = Context(np.eye(2), np.ones(2), model=models.Linear(2), task="regression", loss="square", algorithm="gd")
        >>> keep, skipped = select_predictions(ctx)
        >>> [p.name for p in keep]
        ['min-distance']
        >>> next(s["reason"] for s in skipped if s["name"] == "bregman")
        'needs mirror descent with a potential (--algorithm mirror --potential P)'
    """
    keep, skipped = [], []
    for name in PREDICTIONS if names is None else names:
        p = get_prediction(name)
        why = p.unmet(ctx)
        if why is None and status is not None and status != "converged":
            why = f"needs {CONVERGED}; this run ended {status}"
        if why is None:
            keep.append(p)
        else:
            skipped.append({"name": p.name, "reason": why})
    return keep, skipped


def _min_distance(c: Context):
    return min_distance_interpolant(c.X, c.y, c.w0)


def _bregman(c: Context):
    if c.potential is None:
        raise ValueError("prediction 'bregman' needs a potential: use --algorithm mirror --potential entropy|quadratic|lp:P")
    return bregman_interpolant(c.X, c.y, c.potential, c.w0)


def _mm(norm):
    return lambda c: max_margin(c.X, c.y, norm).w


def _poly(c: Context):
    if c.polynomial_k is None:
        raise ValueError("prediction 'polynomial-tail' needs the polynomial loss: use --loss polynomial:K")
    return polynomial_tail_direction(c.X, c.y, c.polynomial_k)


def _diagonal(c: Context):
    from ..models import Diagonal

    if not isinstance(c.model, Diagonal):
        raise ValueError("prediction 'diagonal' is for diagonal networks: use --model diagonal")
    sol = diagonal_interpolant(c.X, c.y, c.model)
    if not sol.converged:
        raise ValueError(f"prediction 'diagonal': the dual Newton solve did not converge (residual {sol.residual:.2e})")
    return sol.w


def _ntk_norm(c: Context):
    """Kernel limit: ``argmin sum_i w_i^2 / K_ii`` s.t. ``Xw = y`` with ``K_ii = ||d w_i / d theta||^2``
    at the initialization (the diagonal tangent kernel; azulay2021 §7.1 for untied depth 2)."""
    import jax

    if c.model is None or not getattr(c.model, "has_predictor", False) or not hasattr(c.model, "tied"):
        raise ValueError("prediction 'ntk-norm' is for diagonal networks: use --model diagonal")
    p0 = c.model.init(jax.random.key(0))
    jac = jax.jacfwd(c.model.predictor)(p0)  # {name: (d, *shape)}
    k = sum(np.sum(np.asarray(j).reshape(j.shape[0], j.shape[0], -1) ** 2, axis=(1, 2)) for j in jax.tree_util.tree_leaves(jac))
    return ntk_norm_interpolant(c.X, c.y, np.sqrt(k), 0.0)


def _neuron_init(c: Context, name: str):
    from ..models import FullyConnected
    from . import linear_networks as ln

    m = c.model
    if not (isinstance(m, FullyConnected) and m.widths == (1,) and m.activation == "linear" and not m.bias) or c.params0 is None:
        raise ValueError(f"prediction {name!r} is for the two-layer single linear neuron: use --model fc --widths 1 --activation linear")
    return ln, ln.neuron_init_quantities({k: np.asarray(v, dtype=np.float64) for k, v in c.params0.items()})


def _q_delta(c: Context):
    ln, q = _neuron_init(c, "q-delta")
    if q.delta < 0:
        raise ValueError(f"prediction 'q-delta' needs delta = a(0)^2 - ||w(0)||^2 >= 0 (shape s >= 0); this init has delta = {q.delta:.4g}")
    return ln.fc_neuron_interpolant(c.X, c.y, {k: np.asarray(v, dtype=np.float64) for k, v in c.params0.items()}).w


def _fc_ntk(c: Context):
    ln, q = _neuron_init(c, "fc-ntk")
    if q.delta < 0:
        raise ValueError(f"prediction 'fc-ntk' needs delta = a(0)^2 - ||w(0)||^2 >= 0 (shape s >= 0); this init has delta = {q.delta:.4g}")
    return ln.ntk_mahalanobis_interpolant(c.X, c.y, q.w0, q.delta)


def _effective_init(c: Context):
    """even2023 Thm 1, exact discrete form: GD on a tied depth-2 diagonal net ends at the
    hyperbolic-entropy interpolant of its effective initialization, computed from the gain sums the
    run carried (``algorithms.GainTrackedGD``'s state: ``grad``, ``log_minus``, ``log_plus``)."""
    from ..models import Diagonal
    from .effective_init import effective_init_interpolant, effective_initialization_from_sums

    m = c.model
    if not (isinstance(m, Diagonal) and m.depth == 2 and m.tied) or c.params0 is None:
        raise ValueError("prediction 'effective-init' is for the tied depth-2 diagonal network: use --model diagonal --depth 2 --tied")
    sums = c.state
    if c.lr is None or not all(hasattr(sums, k) for k in ("grad", "log_minus", "log_plus")):
        raise ValueError("prediction 'effective-init' needs the gain sums of a constant-step GD run: use --algorithm gd")
    p0 = {k: np.asarray(v, dtype=np.float64) for k, v in c.params0.items()}
    eff = effective_initialization_from_sums(p0["u_plus"], p0["u_minus"], c.lr, *(np.asarray(getattr(sums, k), dtype=np.float64) for k in ("grad", "log_minus", "log_plus")))
    sol = effective_init_interpolant(c.X, c.y, eff)
    if not sol.converged:
        raise ValueError(f"prediction 'effective-init': the dual Newton solve did not converge (residual {sol.residual:.2e})")
    return sol.w


def function_eval_points(X, X_eval=None) -> np.ndarray:
    """The points ``(P,)`` at which a ``function`` prediction is compared with a univariate net.

    ``X_eval (P, 1)`` if given (sorted), else ``EVAL_GRID`` evenly spaced points on the data's
    interval ``S = [min x, max x]`` (``X (N, 1)``), where ``sqrt(trapezoid((f - g)^2))`` is
    ``||f - g||_{L2(S)}``, the error of montufar2024 Thm 5.

    Raises:
        ValueError: inputs that are not univariate.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 1 or (X_eval is not None and (np.ndim(X_eval) != 2 or np.shape(X_eval)[1] != 1)):
        raise ValueError(f"the spline predictions are for univariate data: X must be (N, 1); received X {X.shape}" + ("" if X_eval is None else f", X_eval {np.shape(X_eval)}"))
    if X_eval is not None:
        return np.sort(np.asarray(X_eval, dtype=np.float64)[:, 0])
    return np.linspace(float(X.min()), float(X.max()), EVAL_GRID)


def _univariate_relu(c: Context, name: str):
    from ..models import ShallowReLU

    m = c.model
    if not (isinstance(m, ShallowReLU) and m.input_dim == 1 and m.activation == "relu"):
        raise ValueError(f"prediction {name!r} is for univariate shallow ReLU nets: use --model relu (--activation relu) on data X (N, 1)")
    x = np.asarray(c.X, dtype=np.float64)[:, 0]
    if np.unique(x).size != x.size:
        raise ValueError(f"prediction {name!r} interpolates: the inputs x_j must be distinct")
    order = np.argsort(x)
    return m, x[order], np.asarray(c.y, dtype=np.float64)[order]


def _weighted_spline(c: Context):
    """``g*`` of montufar2024 Thm 5, eq. (5): the init's ``zeta`` and the net's own ``f(., theta_0)``."""
    from .splines import weighted_spline_interpolant

    m, x, y = _univariate_relu(c, "weighted-spline")
    f0 = None if c.params0 is None else {k: np.asarray(v, dtype=np.float64) for k, v in c.params0.items()}
    return weighted_spline_interpolant(x, y, m, f0=f0)


def _natural_spline(c: Context):
    """The natural cubic spline of the data (scipy): ``g*`` for constant ``zeta`` on ``S`` and ``f(., theta_0) = 0``."""
    import scipy.interpolate

    _, x, y = _univariate_relu(c, "natural-spline")
    return scipy.interpolate.CubicSpline(x, y, bc_type="natural")


PREDICTIONS: dict[str, Prediction] = {
    p.name: p
    for p in [
        Prediction("min-distance", "montufar2024", "Thm 1", "interpolant", "regression", "argmin ||w - w0|| s.t. Xw = y (GD/GF/SGD on linear least squares)", _min_distance),
        Prediction("bregman", "montufar2024", "Thm 2", "interpolant", "regression", "argmin D_psi(w, w0) s.t. Xw = y (mirror descent with --potential)", _bregman),
        Prediction("diagonal", "azulay2021", "Thm 4.1", "interpolant", "regression", "argmin Q(w) s.t. Xw = y for the diagonal net's own init (Woodworth Q^D, azulay Q_k)", _diagonal),
        Prediction("effective-init", "even2023", "Thm 1", "interpolant", "regression", "argmin D_psi(w, w~0) s.t. Xw = y at GD's effective initialization alpha_inf (tied depth-2 diagonal net, --algorithm gd; from the run's gain sums)", _effective_init),
        Prediction("min-l1", "azulay2021", "§7.1", "interpolant", "regression", "argmin ||w||_1 s.t. Xw = y (rich limit: diagonal nets, scale -> 0)", lambda c: min_l1_interpolant(c.X, c.y)),
        Prediction("ntk-norm", "azulay2021", "§7.1", "interpolant", "regression", "argmin sum w_i^2/K_ii s.t. Xw = y, K the init tangent kernel (kernel limit)", _ntk_norm),
        Prediction("q-delta", "azulay2021", "Thm 6.1", "interpolant", "regression", "argmin q_delta(w) s.t. Xw = y for the single linear neuron's own init (--model fc --widths 1)", _q_delta),
        Prediction("min-l2", "azulay2021", "Thm 6.3", "interpolant", "regression", "argmin ||w|| s.t. Xw = y (fully-connected linear nets, vanishing init)", lambda c: min_distance_interpolant(c.X, c.y)),
        Prediction("fc-ntk", "azulay2021", "§7.2", "interpolant", "regression", "argmin (w - w~(0))^T B (w - w~(0)) s.t. Xw = y (single linear neuron, alpha -> infinity)", _fc_ntk),
        Prediction("max-margin-l2", "vardi2022", "§3.1", "direction", "classification", "l2 max-margin direction (GD on exponential-tailed losses)", _mm("l2")),
        Prediction("max-margin-l1", "montufar2024", "Thm 4", "direction", "classification", "l1 max-margin direction (steepest descent w.r.t. l1)", _mm("l1")),
        Prediction("max-margin-linf", "montufar2024", "Thm 4", "direction", "classification", "l-inf max-margin direction (steepest descent w.r.t. l-inf)", _mm("linf")),
        Prediction("polynomial-tail", "vardi2022", "§3.4", "direction", "classification", "argmin_(||v||<=1) sum (y x^T v)^(-k) (GD on a polynomial-tailed loss)", _poly),
        Prediction("weighted-spline", "montufar2024", "Thm 5", "function", "regression", "g* of eq. (5): argmin int (g'' - f0'')^2 / zeta s.t. g(x_j) = y_j, zeta of the --init distribution, f0 the net at init (--model relu --skip, --algorithm width-scaled-gd)", _weighted_spline),
        Prediction("natural-spline", "montufar2024", "Thm 6", "function", "regression", "the natural cubic spline of the data: g* for constant zeta on [min x, max x] and f0 = 0 (--antisymmetric, --init uniform with a_b/a_w >= max|x|)", _natural_spline),
    ]
}


def get_prediction(name: str) -> Prediction:
    """The prediction called ``name``; ``ValueError`` listing the names otherwise."""
    if name not in PREDICTIONS:
        raise ValueError(f"unknown prediction {name!r}: use one of {', '.join(PREDICTIONS)} (ibias fit --list-predictions)")
    return PREDICTIONS[name]


def _matrix(name: str):
    """A matrix-model prediction (theory.factorization): the data rebuilt from the model's shape
    and the training view ``(X, y)``; the predictor is the matrix flattened row-major."""

    def fn(c: Context):
        from ..models import MatrixFactorization
        from .factorization import matrix_data_of, matrix_prediction

        if not isinstance(c.model, MatrixFactorization):
            raise ValueError(f"prediction {name!r} is for matrix models: use --model factorization")
        data = matrix_data_of(c.X, c.y, c.model.shape, c.model.observations)
        return matrix_prediction(name, data, float(c.model.scale)).predictor

    return fn


def _register_matrix_predictions():
    from .factorization import MATRIX_PREDICTIONS

    for name, (paper, where, description) in MATRIX_PREDICTIONS.items():
        PREDICTIONS[name] = Prediction(name, paper, where, "interpolant", "regression", description, _matrix(name))


_register_matrix_predictions()


def _dft_l1(c: Context):
    from .linear_conv import dft_l1_max_margin

    return dft_l1_max_margin(c.X, c.y).beta


PREDICTIONS["dft-l1"] = Prediction(
    "dft-l1", "gunasekar2018", "Thm 2", "direction", "classification", "argmin ||F beta||_1 s.t. y_n <beta, x_n> >= 1, F the unitary DFT (depth-2 linear conv nets, --model conv)", _dft_l1
)

# ---------------------------------------------------------------------------------------
# Wide nets beyond univariate ReLU (issue 24): Thm 9 (ReLU^k) and Thm 8 (d >= 2)
# ---------------------------------------------------------------------------------------

#: Points per ``d >= 2`` evaluation grid of :func:`box_eval_points` (41 x 41 for ``d = 2``).
EVAL_POINTS_ND = 1681


def box_eval_points(X, X_eval=None, points: int = EVAL_POINTS_ND) -> tuple[np.ndarray, float | None]:
    """The points ``(P, d)`` at which a ``function`` prediction is compared with a net on ``d >= 2``
    inputs, and the volume of the region they grid: ``(X_eval, None)`` if given, else a regular grid
    of ``round(points^(1/d))`` points per axis on the data's bounding box and the box's volume
    (``sqrt(volume * mean((f - g)^2))`` is then a Riemann sum of ``||f - g||_{L2(box)}``)."""
    X = np.asarray(X, dtype=np.float64)
    if X_eval is not None:
        return np.asarray(X_eval, dtype=np.float64), None
    lo, hi = X.min(axis=0), X.max(axis=0)
    m = max(2, int(round(points ** (1.0 / X.shape[1]))))
    axes = [np.linspace(a, b, m) for a, b in zip(lo, hi)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, X.shape[1])
    return grid, float(np.prod(hi - lo))


def _initial_function(c: Context):
    """``f(., theta_0)`` of a ``ShallowReLU`` (any activation ``[.]_+^k``, any ``d``) as a numpy callable, or None."""
    from ..models import activation_degree
    from ..univariate import evaluate_power_net

    if c.params0 is None:
        return None
    p0 = {k: np.asarray(v, dtype=np.float64) for k, v in c.params0.items()}
    k = activation_degree(c.model.activation)
    return lambda t: evaluate_power_net(p0, t, k)


def _relu_power_spline(c: Context):
    """``g*`` of montufar2024 Thm 9 for the net's own ``[.]_+^k``, init (``zeta_k``) and ``f(., theta_0)``."""
    from ..models import ShallowReLU
    from .relu_power import relu_power_spline

    m = c.model
    if not isinstance(m, ShallowReLU):
        raise ValueError(
            "prediction 'relu-power-spline' (montufar2024 Thm 9) needs an activation with a known Green's operator L: use --model relu "
            f"with --activation relu or relu_power:k (L = D^(k+1)/k!); received --model {type(m).__name__}"
        )
    if m.input_dim != 1:
        raise ValueError(f"prediction 'relu-power-spline' (montufar2024 Thm 9) is for univariate data X (N, 1); these data have d = {m.input_dim}: use --predict multivariate (Thm 8)")
    x = np.asarray(c.X, dtype=np.float64)[:, 0]
    if np.unique(x).size != x.size:
        raise ValueError("prediction 'relu-power-spline' interpolates: the inputs x_j must be distinct")
    order = np.argsort(x)
    return relu_power_spline(x[order], np.asarray(c.y, dtype=np.float64)[order], m, m.activation, f0=_initial_function(c))


def _multivariate(c: Context):
    """``g*`` of montufar2024 Thm 8 (the arc-cosine kernel interpolant, affine part free) for the net's Gaussian init and ``f(., theta_0)``."""
    from ..models import ShallowReLU
    from .multivariate import multivariate_interpolant

    m = c.model
    if not (isinstance(m, ShallowReLU) and m.activation == "relu"):
        got = f"--activation {m.activation}" if isinstance(m, ShallowReLU) else f"--model {type(m).__name__}"
        raise ValueError(f"prediction 'multivariate' (montufar2024 Thm 8) is for shallow ReLU nets: use --model relu --activation relu; received {got}")
    g = multivariate_interpolant(np.asarray(c.X, dtype=np.float64), np.asarray(c.y, dtype=np.float64), m, f0=_initial_function(c))
    return lambda Z: g(np.asarray(Z, dtype=np.float64).reshape(np.shape(Z)[0], -1))


PREDICTIONS["relu-power-spline"] = Prediction(
    "relu-power-spline", "montufar2024", "Thm 9", "function", "regression",
    "g* of Thm 9: the weighted spline of degree 2k+1, argmin int (L(g - f0))^2 / zeta_k s.t. g(x_j) = y_j, L = D^(k+1)/k!, for --model relu "
    "--activation relu_power:k --skip --algorithm width-scaled-gd (univariate; trained on y, not y - p, the net differs by Thm 9's null-space term)",
    _relu_power_spline,
)
PREDICTIONS["multivariate"] = Prediction(
    "multivariate", "montufar2024", "Thm 8", "function", "regression",
    "g* of Thm 8 for d >= 1 inputs: the arc-cosine kernel interpolant with the affine part free (Gaussian --init; --model relu --skip --algorithm width-scaled-gd)",
    _multivariate,
)

ASSUMPTIONS["relu-power-spline"] = (_RELU_K1, _SQUARE, _WIDTH_GD)
ASSUMPTIONS["multivariate"] = (_RELU_SKIP, _GAUSSIAN, _SQUARE, _WIDTH_GD)

# every prediction carries its assumptions (``ASSUMPTIONS``; tests/theory/test_predictions.py: one entry each)
for _name, _p in list(PREDICTIONS.items()):
    PREDICTIONS[_name] = dataclasses.replace(_p, assumptions=ASSUMPTIONS[_name])
