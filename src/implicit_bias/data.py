"""Datasets: validated containers, generators from the papers, and file loaders.

Shapes (DESIGN.md): ``X`` is ``(N, d)``, one row per sample; ``y`` is ``(N,)``. Every array is
float64. A :class:`Dataset` is validated on construction: a bad array raises ``ValueError``
with one sentence naming the field, what was expected and what was received.

Example:
    >>> from implicit_bias import data
    >>> ds = data.sparse_regression(n=20, d=50, sparsity=3, noise_var=0.01, seed=0)
    >>> ds.X.shape, ds.y.shape, ds.task
    ((20, 50), (20,), 'regression')
"""

from __future__ import annotations

import csv
import dataclasses
import os
from typing import Literal

import numpy as np

from . import _config  # noqa: F401

__all__ = [
    "Dataset",
    "sparse_regression",
    "random_regression",
    "separable_classification",
    "load",
    "isotropic_regression",
]

Task = Literal["regression", "classification"]


def _as_matrix(name: str, a, *, allow_empty=False) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric; received values of type {np.asarray(a).dtype}") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, d), one row per sample; received shape {arr.shape}")
    if not allow_empty and (arr.shape[0] == 0 or arr.shape[1] == 0):
        raise ValueError(f"{name} is empty (shape {arr.shape}); it needs at least one sample and one feature")
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or Inf value(s); remove or impute them")
    return _check_magnitude(name, arr)


_MAX_ABS = 1e100  # squares and products of larger values overflow float64 in any loss


def _check_magnitude(name, arr):
    m = float(np.max(np.abs(arr))) if arr.size else 0.0
    if m > _MAX_ABS:
        raise ValueError(f"{name} has values of magnitude up to {m:.3g}, beyond {_MAX_ABS:.0e}: every loss overflows float64; rescale the data")
    return arr


def _as_vector(name: str, a) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric; received values of type {np.asarray(a).dtype}") from None
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,); received shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; it needs at least one sample")
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or Inf value(s); remove or impute them")
    return _check_magnitude(name, arr)


def _is_pm1(y: np.ndarray) -> bool:
    return bool(np.all((y == 1.0) | (y == -1.0)))


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A training set ``(X, y)`` with an optional evaluation set and ground truth.

    Args:
        X: inputs, shape ``(N, d)``.
        y: targets, shape ``(N,)``; labels in ``{-1, +1}`` for classification.
        task: ``"regression"``, ``"classification"`` or ``"auto"`` (classification iff every
            label is -1 or +1).
        X_eval: optional points ``(M, d)`` at which to report the trained function.
        X_test: optional held-out inputs ``(T, d)`` on which :meth:`test_error` scores the
            trained function (with ``y_test``: both or neither).
        y_test: the held-out targets ``(T,)``.
        w_star: optional ground-truth linear predictor ``(d,)`` (generators set it).
        noise_var: noise variance of the generator (0 if none), for population errors.
        name: a label for reports.

    Raises:
        ValueError: non-numeric, wrongly shaped, empty or non-finite arrays; mismatched N;
            classification labels outside ``{-1, +1}``.
    """

    X: np.ndarray
    y: np.ndarray
    task: str = "auto"
    X_eval: np.ndarray | None = None
    w_star: np.ndarray | None = None
    noise_var: float = 0.0
    name: str = "data"
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    def __post_init__(self):
        X = _as_matrix("X", self.X)
        y = _as_vector("y", self.y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows; they must match (one label per sample)")
        task = self.task
        if task == "auto":
            task = "classification" if _is_pm1(y) else "regression"
        if task not in ("regression", "classification"):
            raise ValueError(f"task must be 'regression', 'classification' or 'auto'; received {self.task!r}")
        if task == "classification" and not _is_pm1(y):
            raise ValueError("classification labels y must be -1 or +1; received other values (use task='regression' for real targets)")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "task", task)
        if self.X_eval is not None:
            Xe = _as_matrix("X_eval", self.X_eval)
            if Xe.shape[1] != X.shape[1]:
                raise ValueError(f"X_eval has {Xe.shape[1]} columns but X has {X.shape[1]}; they must have the same features")
            object.__setattr__(self, "X_eval", Xe)
        if (self.X_test is None) != (self.y_test is None):
            raise ValueError("X_test and y_test come together: give both (a held-out set) or neither")
        if self.X_test is not None:
            Xt, yt = _as_matrix("X_test", self.X_test), _as_vector("y_test", self.y_test)
            if Xt.shape[1] != X.shape[1]:
                raise ValueError(f"X_test has {Xt.shape[1]} columns but X has {X.shape[1]}; they must have the same features")
            if yt.shape[0] != Xt.shape[0]:
                raise ValueError(f"y_test has {yt.shape[0]} entries but X_test has {Xt.shape[0]} rows; they must match")
            if task == "classification" and not _is_pm1(yt):
                raise ValueError("classification test labels y_test must be -1 or +1; received other values")
            object.__setattr__(self, "X_test", Xt)
            object.__setattr__(self, "y_test", yt)
        if self.w_star is not None:
            ws = _as_vector("w_star", self.w_star)
            if ws.shape[0] != X.shape[1]:
                raise ValueError(f"w_star has {ws.shape[0]} entries but X has {X.shape[1]} columns")
            object.__setattr__(self, "w_star", ws)

    @property
    def n(self) -> int:
        """Number of samples N."""
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        """Input dimension d."""
        return int(self.X.shape[1])

    def test_error(self, outputs) -> float:
        """Error of the trained function on the held-out set: ``mean_t (f(x_t) - y_t)^2`` for
        regression (no 1/2: the squared error, as :meth:`population_error`), the fraction of
        test points with ``sign f(x_t) != y_t`` for classification.

        Args:
            outputs: the model's outputs at ``X_test``, shape ``(T,)``.

        Example:
            >>> ds = Dataset(np.eye(2), np.array([1.0, 2.0]), X_test=np.ones((2, 2)), y_test=np.array([3.0, 1.0]))
            >>> ds.test_error(np.array([3.0, 3.0]))  # ((3-3)^2 + (3-1)^2) / 2
            2.0
        """
        if self.X_test is None:
            raise ValueError("test_error needs a held-out set: a dataset with X_test and y_test")
        f = np.asarray(outputs, dtype=np.float64).reshape(-1)
        if f.shape[0] != self.y_test.shape[0]:
            raise ValueError(f"outputs has {f.shape[0]} entries but X_test has {self.y_test.shape[0]} rows")
        with np.errstate(over="ignore", invalid="ignore"):
            if self.task == "classification":
                return float(np.mean(np.where(np.isfinite(f), np.sign(f) != self.y_test, True)))
            return float(np.mean((f - self.y_test) ** 2))

    def population_error(self, w) -> float:
        """``E[(x^T w - y)^2]`` for ``x ~ N(0, I)`` and ``y = x^T w_star + noise``:
        ``||w - w_star||^2 + noise_var`` (needs ``w_star``; the generators' covariance is I)."""
        if self.w_star is None:
            raise ValueError("population_error needs a dataset with a ground truth w_star (use a generator)")
        w = np.asarray(w, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged w: inf/NaN, no warning
            return float(np.sum((w - self.w_star) ** 2) + self.noise_var)


def sparse_regression(n: int = 100, d: int = 1000, sparsity: int = 5, noise_var: float = 0.01, seed: int = 0, mean: float = 0.0) -> Dataset:
    """Sparse regression of Woodworth et al. (2020) as in azulay2021 §9.

    ``x_n ~ N(mean 1, I_d)``, ``y_n ~ N(<beta*, x_n>, noise_var)``, and ``beta*`` is
    ``sparsity``-sparse with non-zero entries ``1/sqrt(sparsity)`` (so ``||beta*|| = 1``) on
    the first ``sparsity`` coordinates. The paper uses ``n=100, d=1000, sparsity=5,
    noise_var=0.01`` (centred, ``mean = 0``). A ``mean != 0`` gives the non-centred inputs of
    nacson2022 (every coordinate shifted by ``mean``; the same random draws as ``mean = 0``).

    Returns:
        Dataset with ``X (n, d)``, ``y (n,)``, ``w_star = beta* (d,)`` and ``noise_var``.

    Example:
        >>> ds = sparse_regression(n=200, d=3, sparsity=1, noise_var=0.0, mean=2.0)
        >>> bool(abs(ds.X.mean() - 2.0) < 0.2), float(abs(ds.y - ds.X[:, 0]).max())
        (True, 0.0)
    """
    _check_sizes(n=n, d=d)
    if not 1 <= sparsity <= d:
        raise ValueError(f"sparsity must be between 1 and d={d}; received {sparsity}")
    if noise_var < 0:
        raise ValueError(f"noise_var must be >= 0; received {noise_var}")
    if not np.isfinite(mean):
        raise ValueError(f"mean must be a finite number; received {mean}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if mean != 0:
        X = X + float(mean)
    beta = np.zeros(d)
    beta[:sparsity] = 1.0 / np.sqrt(sparsity)
    y = X @ beta + np.sqrt(noise_var) * rng.standard_normal(n)
    name = f"sparse_regression(n={n},d={d},r={sparsity}" + (f",mean={float(mean):g})" if mean != 0 else ")")
    return Dataset(X, y, "regression", w_star=beta, noise_var=float(noise_var), name=name)


def random_regression(n: int = 10, d: int = 30, seed: int = 0, *, positive: bool = False) -> Dataset:
    """Random underdetermined least squares: ``X ~ N(0,1)^{n x d} / sqrt(d)``, ``y = X w*``.

    ``w* ~ N(0, I)``, or ``|N(0, I)| + 0.1`` when ``positive`` (targets reachable with a
    positive predictor, as the entropy potential needs). With ``n < d`` there are infinitely
    many interpolants; the algorithms' implicit bias picks one.
    """
    _check_sizes(n=n, d=d)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    w = rng.standard_normal(d)
    if positive:
        w = np.abs(w) + 0.1
    return Dataset(X, X @ w, "regression", w_star=w, name=f"random_regression(n={n},d={d})")


def separable_classification(n: int = 20, d: int = 5, margin: float = 0.1, seed: int = 0) -> Dataset:
    """Linearly separable data with a planted margin.

    ``x_n ~ N(0, I_d)``, labels ``y_n = sign(<w*, x_n>)`` for a random unit ``w*``; points with
    ``|<w*, x_n>| < margin`` are pushed out to ``margin`` along ``w*``, so the data are separable
    by ``w*`` with margin at least ``margin``.
    """
    _check_sizes(n=n, d=d)
    if margin <= 0:
        raise ValueError(f"margin must be > 0; received {margin}")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(d)
    w /= np.linalg.norm(w)
    X = rng.standard_normal((n, d))
    s = X @ w
    y = np.where(s >= 0, 1.0, -1.0)
    shift = np.where(np.abs(s) < margin, y * margin - s, 0.0)
    X = X + shift[:, None] * w[None, :]
    return Dataset(X, y, "classification", w_star=w, name=f"separable_classification(n={n},d={d})")


def _check_sizes(**sizes):
    for k, v in sizes.items():
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{k} must be a positive integer; received {v!r}")


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def load(path: str | os.PathLike, task: str = "auto") -> Dataset:
    """Load a dataset from ``.npz`` (keys ``X``, ``y``, optional ``X_eval``, ``X_test`` with ``y_test``) or ``.csv``.

    A CSV holds one sample per row, features first and the target ``y`` in the last column;
    a header row (a first row with no number in it, e.g. ``x1,x2,y``) is skipped. A row with
    numbers and other text (``1,2,x``) is an error, also as the first row: it is no header.

    Raises:
        ValueError: missing file, unknown extension, missing keys, non-numeric cells, bad
            shapes or NaN/Inf (one sentence naming the problem).
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ValueError(f"data file {p!r} does not exist")
    ext = os.path.splitext(p)[1].lower()
    if ext == ".npz":
        try:
            with np.load(p, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except Exception as e:  # not a zip, pickled object arrays, truncated file, ...
            raise ValueError(f"{p}: cannot read as .npz of numeric arrays ({type(e).__name__})") from None
        missing = {"X", "y"} - set(arrays)
        if missing:
            raise ValueError(f"{p}: missing array(s) {sorted(missing)}; an .npz needs X (N, d) and y (N,) (optional X_eval, X_test and y_test)")
        X, y, X_eval = arrays["X"], arrays["y"], arrays.get("X_eval")
        return Dataset(X, y, task, X_eval=X_eval, name=os.path.basename(p), X_test=arrays.get("X_test"), y_test=arrays.get("y_test"))
    if ext == ".csv":
        rows = []
        with open(p, newline="") as fh:
            for i, row in enumerate(csv.reader(fh)):
                if not row or all(not c.strip() for c in row):
                    continue
                cells = [_number(c) for c in row]
                bad = [c for c, v in zip(row, cells) if v is None]
                if not bad:
                    rows.append(cells)
                elif i == 0 and len(bad) == len(row):
                    continue  # header: no number in it
                else:
                    raise ValueError(f"{p}: line {i + 1} has a non-numeric value {bad[0].strip()!r}; every cell must be a number (a header row holds no numbers)")
        if not rows:
            raise ValueError(f"{p}: no numeric rows; a CSV needs one sample per row with y in the last column")
        widths = {len(r) for r in rows}
        if len(widths) != 1:
            raise ValueError(f"{p}: rows have different numbers of columns {sorted(widths)}; every row needs the same")
        if widths.pop() < 2:
            raise ValueError(f"{p}: needs at least two columns (features, then y in the last column)")
        arr = np.asarray(rows, dtype=np.float64)
        return Dataset(arr[:, :-1], arr[:, -1], task, name=os.path.basename(p))
    raise ValueError(f"data file {p!r}: unknown extension {ext!r}; use .npz (X, y[, X_eval]) or .csv (last column y)")


def isotropic_regression(n: int = 200, d: int = 100, signal: float = 1.0, noise_var: float = 1.0, seed: int = 0) -> Dataset:
    """Isotropic Gaussian linear regression, the setting of the ridgeless risk curve (hastie2019 Thm 1).

    ``x_n ~ N(0, I_d)``, ``beta*`` uniform on the sphere of radius ``sqrt(signal)``
    (``||beta*||^2 = r^2 = signal``), ``y_n = <beta*, x_n> + eps_n`` with
    ``eps_n ~ N(0, noise_var)``. The population covariance is ``I``; the sample covariance
    ``X^T X / n`` is only nearly isotropic (Marchenko-Pastur spread for ``d/n`` not small), which
    is what makes the risk of ``X^+ y`` depend on ``gamma = d/n``
    (:func:`implicit_bias.theory.double_descent.ridgeless_risk`). The test risk of a predictor
    ``w`` is :meth:`Dataset.population_error` minus ``noise_var``, i.e. ``||w - beta*||^2``.

    Returns:
        Dataset with ``X (n, d)``, ``y (n,)``, ``w_star = beta* (d,)`` and ``noise_var``.

    Example:
        >>> from implicit_bias import data
        >>> ds = data.isotropic_regression(n=50, d=100, signal=2.0, noise_var=0.5, seed=0)
        >>> ds.X.shape, round(float(ds.w_star @ ds.w_star), 12)
        ((50, 100), 2.0)
    """
    _check_sizes(n=n, d=d)
    for name, v in (("signal", signal), ("noise_var", noise_var)):
        if not (isinstance(v, (int, float, np.floating)) and np.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be a finite number >= 0; received {v!r}")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    u = rng.standard_normal(d)
    beta = np.sqrt(float(signal)) * u / np.linalg.norm(u)
    y = X @ beta + np.sqrt(float(noise_var)) * rng.standard_normal(n)
    return Dataset(X, y, "regression", w_star=beta, noise_var=float(noise_var), name=f"isotropic_regression(n={n},d={d})")
