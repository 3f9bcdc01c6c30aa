"""Matrix observations (layer 0, next to :mod:`implicit_bias.data`): completion (observed entries) and sensing (linear measurements).

A :class:`MatrixDataset` holds observations of an unknown matrix ``W* (m, n)``:

- **completion**: ``entries (N, 2)`` integer index pairs ``(i, j)`` and values ``y (N,)``,
  ``y_k = W*[i_k, j_k]``; never a dense one-hot design (a 100 x 100 problem with 5000 entries
  allocates ``N x 2`` indices, not ``N x m x n``);
- **sensing**: ``A (N, m, n)`` and ``y (N,)``, ``y_k = <A_k, W*> = sum_ij A_k[i, j] W*[i, j]``.

**How the data enter** :func:`implicit_bias.train` (whose :class:`~implicit_bias.data.Dataset`
has ``X (N, d)``, ``y (N,)``): :attr:`MatrixDataset.dataset` is a plain ``Dataset`` whose rows
are, for completion, the index pairs as float64 (``X (N, 2)``, exact for indices below 2^53) and,
for sensing, the row-major flattened measurement matrices (``X (N, m n)``). A matrix model
(:class:`~implicit_bias.models.MatrixFactorization`) interprets ``X`` by its number of columns:
2 -> entries, ``m n`` -> sensing, where its output is ``<A_k, W> = X_k . vec(W)``, so for sensing
the model's flattened end-to-end matrix is literally the equivalent linear predictor. Nothing in
the training loop had to change.

Ground-truth convention of the generators: a rank-``r`` ``W*`` is scaled to Frobenius norm
``sqrt(m n)`` (entries of order 1, as Arora et al. 2019) unless ``norm="unit"`` (``||W*||_F = 1``).

Example:
    >>> from implicit_bias import matrix_data
    >>> md = matrix_data.matrix_completion((6, 5), rank=2, n_obs=12, seed=0)
    >>> md.kind, md.entries.shape, md.dataset.X.shape
    ('completion', (12, 2), (12, 2))
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from .data import Dataset

__all__ = [
    "MatrixDataset",
    "low_rank_matrix",
    "matrix_completion",
    "matrix_sensing",
    "commuting_sensing",
    "razin_cohen_completion",
    "load_matrix",
    "is_matrix_file",
]


def _finite(name, a):
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(a)))} NaN or Inf value(s); remove them")
    return a


def _float(name, a):
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric; received values of type {np.asarray(a).dtype}") from None


def _shape2(shape) -> tuple[int, int]:
    s = np.asarray(shape).reshape(-1) if shape is not None else None
    if s is None or s.shape != (2,) or not np.all(np.equal(np.mod(s, 1), 0)) or np.any(s < 1):
        raise ValueError(f"shape must be two positive integers (m, n); received {shape!r}")
    return int(s[0]), int(s[1])


@dataclasses.dataclass(frozen=True, eq=False)
class MatrixDataset:
    """Observations of a matrix ``W* (m, n)``: completion or sensing (final class).

    Give either ``entries`` and ``shape`` (completion) or ``A`` (sensing), with ``y``.

    Args:
        y: observed values ``(N,)``.
        entries: completion index pairs ``(N, 2)``, integer-valued, ``0 <= i < m``,
            ``0 <= j < n``. An entry listed twice with the same value is kept once; with two
            different values it is an error.
        shape: ``(m, n)`` (completion; for sensing it is ``A.shape[1:]`` and may be omitted).
        A: sensing matrices ``(N, m, n)``.
        W_star: optional ground truth ``(m, n)`` (generators set it).
        name: a label for reports.

    Attributes:
        kind: ``"completion"`` or ``"sensing"``.
        dataset: the :class:`~implicit_bias.data.Dataset` to train on (see the module doc):
            ``X`` is ``entries`` as float64 ``(N, 2)`` or ``A`` flattened row-major ``(N, m n)``.

    Raises:
        ValueError: one sentence naming the field: both or neither of ``entries``/``A``,
            wrong shapes, non-integer or out-of-range entries, conflicting duplicates,
            NaN/Inf, mismatched ``N``.
    """

    y: np.ndarray
    entries: np.ndarray | None = None
    shape: tuple | None = None
    A: np.ndarray | None = None
    W_star: np.ndarray | None = None
    name: str = "matrix-data"

    def __post_init__(self):
        if (self.entries is None) == (self.A is None):
            raise ValueError("give either entries (N, 2) with shape (m, n) for completion, or A (N, m, n) for sensing; received " + ("both" if self.A is not None else "neither"))
        y = _finite("y", _float("y", self.y))
        if y.ndim != 1 or y.shape[0] == 0:
            raise ValueError(f"y must be 1-D (N,) with N >= 1; received shape {y.shape}")
        if self.A is not None:
            A = _finite("A", _float("A", self.A))
            if A.ndim != 3 or 0 in A.shape:
                raise ValueError(f"sensing matrices A must be 3-D (N, m, n) and non-empty; received shape {A.shape}")
            if A.shape[0] != y.shape[0]:
                raise ValueError(f"A has {A.shape[0]} matrices but y has {y.shape[0]} values; they must match")
            shape = (int(A.shape[1]), int(A.shape[2]))
            if self.shape is not None and _shape2(self.shape) != shape:
                raise ValueError(f"shape {tuple(np.asarray(self.shape).tolist())} does not match the sensing matrices A (N, {shape[0]}, {shape[1]})")
            object.__setattr__(self, "A", A)
        else:
            shape = _shape2(self.shape)
            E, y = _check_entries(self.entries, y, shape)
            object.__setattr__(self, "entries", E)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "shape", shape)
        if self.W_star is not None:
            Ws = _finite("W_star", _float("W_star", self.W_star))
            if Ws.shape != shape:
                raise ValueError(f"W_star has shape {Ws.shape}; the observations are of a {shape[0]} x {shape[1]} matrix")
            object.__setattr__(self, "W_star", Ws)

    @property
    def kind(self) -> str:
        """``"completion"`` or ``"sensing"``."""
        return "sensing" if self.A is not None else "completion"

    @property
    def n(self) -> int:
        """Number of observations N."""
        return int(self.y.shape[0])

    @property
    def X(self) -> np.ndarray:
        """The design seen by a matrix model: ``entries`` as float64 ``(N, 2)`` or ``A`` flattened ``(N, m n)``."""
        if self.A is not None:
            return self.A.reshape(self.n, -1)
        return self.entries.astype(np.float64)

    @property
    def dataset(self) -> Dataset:
        """A :class:`~implicit_bias.data.Dataset` ``(X, y)`` for :func:`implicit_bias.train`."""
        w = self.W_star.reshape(-1) if (self.W_star is not None and self.A is not None) else None
        return Dataset(self.X, self.y, "regression", w_star=w, name=self.name)

    def measure(self, W) -> np.ndarray:
        """The observation operator ``W (m, n) -> (N,)``: ``W[entries]`` or ``<A_k, W>``."""
        W = np.asarray(W, dtype=np.float64)
        if W.shape != self.shape:
            raise ValueError(f"W has shape {W.shape}; expected {self.shape}")
        if self.A is not None:
            return self.A.reshape(self.n, -1) @ W.reshape(-1)
        return W[self.entries[:, 0], self.entries[:, 1]]


def _check_entries(entries, y, shape):
    E = _finite("entries", _float("entries", entries))
    if E.ndim != 2 or E.shape[1] != 2:
        raise ValueError(f"entries must be 2-D (N, 2), one (row, column) pair per observation; received shape {E.shape}")
    if E.shape[0] != y.shape[0]:
        raise ValueError(f"entries has {E.shape[0]} rows but y has {y.shape[0]} values; they must match")
    if not np.all(E == np.round(E)):
        raise ValueError("entries must be integer indices (row, column); received non-integer values")
    E = E.astype(np.int64)
    m, n = shape
    bad = (E[:, 0] < 0) | (E[:, 0] >= m) | (E[:, 1] < 0) | (E[:, 1] >= n)
    if np.any(bad):
        k = int(np.argmax(bad))
        raise ValueError(f"entries row {k} = ({E[k, 0]}, {E[k, 1]}) is out of range for a {m} x {n} matrix (0 <= i < {m}, 0 <= j < {n})")
    lin = E[:, 0] * n + E[:, 1]
    _, first, inverse = np.unique(lin, return_index=True, return_inverse=True)
    conflict = np.abs(y - y[first[inverse]]) > 0
    if np.any(conflict):
        k = int(np.argmax(conflict))
        raise ValueError(f"entry ({E[k, 0]}, {E[k, 1]}) is observed twice with different values {y[first[inverse[k]]]:.6g} and {y[k]:.6g}; keep one")
    keep = np.sort(first)
    return E[keep], y[keep]


def _check_int(name, v, lo=1):
    if not isinstance(v, (int, np.integer)) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}; received {v!r}")
    return int(v)


def low_rank_matrix(shape, rank: int, seed: int = 0, *, norm: str = "frobenius", symmetric: bool = False) -> np.ndarray:
    """A random rank-``r`` matrix ``W* = U V^T`` (``U (m, r)``, ``V (n, r)`` iid Gaussian).

    Scaled to ``||W*||_F = sqrt(m n)`` (``norm="frobenius"``, entries of order 1) or
    ``||W*||_F = 1`` (``norm="unit"``). ``symmetric=True`` gives the PSD ``U U^T`` (needs
    ``m = n``).

    Returns:
        ``W* (m, n)``, float64.
    """
    m, n = _shape2(shape)
    r = _check_int("rank", rank)
    if r > min(m, n):
        raise ValueError(f"rank must be <= min(m, n) = {min(m, n)}; received {r}")
    if norm not in ("frobenius", "unit"):
        raise ValueError(f"norm must be 'frobenius' (||W*||_F = sqrt(mn)) or 'unit'; received {norm!r}")
    if symmetric and m != n:
        raise ValueError(f"a symmetric ground truth needs a square shape; received {m} x {n}")
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((m, r))
    W = U @ U.T if symmetric else U @ rng.standard_normal((n, r)).T
    target = np.sqrt(m * n) if norm == "frobenius" else 1.0
    return W * (target / np.linalg.norm(W))


def matrix_completion(shape, rank: int, n_obs: int, seed: int = 0, *, norm: str = "frobenius") -> MatrixDataset:
    """Completion of a rank-``r`` ``W*`` (:func:`low_rank_matrix`) from ``n_obs`` entries drawn
    uniformly at random without replacement (Arora et al. 2019, §4)."""
    m, n = _shape2(shape)
    k = _check_int("n_obs", n_obs)
    if k > m * n:
        raise ValueError(f"n_obs must be <= m n = {m * n}; received {k}")
    W = low_rank_matrix((m, n), rank, seed, norm=norm)
    lin = np.sort(np.random.default_rng([seed, 1]).choice(m * n, size=k, replace=False))
    E = np.stack([lin // n, lin % n], axis=1)
    return MatrixDataset(W[E[:, 0], E[:, 1]], entries=E, shape=(m, n), W_star=W, name=f"matrix_completion({m}x{n},r={rank},N={k})")


def matrix_sensing(shape, rank: int, n_obs: int, seed: int = 0, *, norm: str = "frobenius") -> MatrixDataset:
    """Gaussian sensing of a rank-``r`` ``W*``: ``A_k`` with iid ``N(0, 1/(m n))`` entries (so
    ``E <A_k, W>^2 = ||W||_F^2 / (m n)``), ``y_k = <A_k, W*>``."""
    m, n = _shape2(shape)
    k = _check_int("n_obs", n_obs)
    W = low_rank_matrix((m, n), rank, seed, norm=norm)
    A = np.random.default_rng([seed, 2]).standard_normal((k, m, n)) / np.sqrt(m * n)
    return MatrixDataset(np.einsum("kij,ij->k", A, W), A=A, W_star=W, name=f"matrix_sensing({m}x{n},r={rank},N={k})")


def commuting_sensing(n: int, rank: int, n_obs: int, seed: int = 0) -> MatrixDataset:
    """Commuting symmetric sensing (gunasekar2017, §3): ``A_k = Q diag(a_k) Q^T``.

    ``Q`` is a random orthogonal matrix (QR of a Gaussian), ``a_k ~ N(0, I_n)``; the PSD
    ground truth ``W* = Q diag(w*) Q^T`` has ``rank`` positive eigenvalues ``|N(0,1)| + 0.5``
    (the rest zero), scaled to ``||W*||_F = n`` (the ``sqrt(m n)`` convention); ``y_k = a_k . w*``.
    """
    n = _check_int("n", n)
    r = _check_int("rank", rank)
    k = _check_int("n_obs", n_obs)
    if r > n:
        raise ValueError(f"rank must be <= n = {n}; received {r}")
    rng = np.random.default_rng([seed, 3])
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    Q = Q * np.sign(np.diag(R))[None, :]
    w = np.zeros(n)
    w[:r] = np.abs(rng.standard_normal(r)) + 0.5
    w *= n / np.linalg.norm(w)
    a = rng.standard_normal((k, n))
    A = np.einsum("ik,nk,jk->nij", Q, a, Q)
    A = 0.5 * (A + A.transpose(0, 2, 1))
    W = (Q * w[None, :]) @ Q.T
    return MatrixDataset(a @ w, A=A, W_star=0.5 * (W + W.T), name=f"commuting_sensing(n={n},r={r},N={k})")


def razin_cohen_completion() -> MatrixDataset:
    """The 2 x 2 completion problem of Razin & Cohen (2020): ``w12 = w21 = 1``, ``w22 = 0``,
    ``w11`` unobserved. Every completion ``[[w11, 1], [1, 0]]`` has determinant ``-1``."""
    return MatrixDataset(np.array([1.0, 1.0, 0.0]), entries=np.array([[0, 1], [1, 0], [1, 1]]), shape=(2, 2), name="razin_cohen_2x2")


def load_matrix(path: str | os.PathLike) -> MatrixDataset:
    """Load matrix observations from ``.npz``: keys ``entries``, ``y``, ``shape`` (completion)
    or ``A``, ``y`` (sensing); optional ``W_star``.

    Raises:
        ValueError: missing file, unreadable file, missing keys, or invalid arrays (one sentence).
    """
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ValueError(f"data file {p!r} does not exist")
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as e:
        raise ValueError(f"{p}: cannot read as .npz of numeric arrays ({type(e).__name__})") from None
    if "y" not in arrays:
        raise ValueError(f"{p}: missing array 'y'; matrix data need entries, y, shape (completion) or A, y (sensing)")
    if "A" in arrays:
        return MatrixDataset(arrays["y"], A=arrays["A"], shape=arrays.get("shape"), W_star=arrays.get("W_star"), name=os.path.basename(p))
    missing = {"entries", "shape"} - set(arrays)
    if missing:
        raise ValueError(f"{p}: missing array(s) {sorted(missing)}; completion data need entries (N, 2), y (N,), shape (2,) (or give A (N, m, n) for sensing)")
    return MatrixDataset(arrays["y"], entries=arrays["entries"], shape=arrays["shape"], W_star=arrays.get("W_star"), name=os.path.basename(p))


def is_matrix_file(path: str | os.PathLike) -> bool:
    """Whether an ``.npz`` file holds matrix observations (``entries`` or ``A``) rather than ``X``."""
    p = os.fspath(path)
    if not p.lower().endswith(".npz") or not os.path.exists(p):
        return False
    try:
        with np.load(p, allow_pickle=False) as f:
            keys = set(f.files)
    except Exception:
        return False
    return "X" not in keys and bool({"entries", "A"} & keys)
