r"""Balancedness invariants, layer alignment and stable rank of fully-connected networks.

For a network ``x -> W_L σ(... σ(W_1 x + b_1) ...) + b_L`` with a 1-homogeneous activation
(linear, ReLU, leaky ReLU), gradient flow on *any* differentiable loss conserves, for every
hidden layer ``j`` (Du, Hu & Lee 2018, Thm 2.1; vardi2022 §6; azulay2021 §6):

* per neuron ``i``: ``||W_j[i, :]||^2 + b_j[i]^2 - ||W_{j+1}[:, i]||^2``
  (:func:`neuron_norm_gaps`), hence per layer
  ``||W_j||_F^2 + ||b_j||^2 - ||W_{j+1}||_F^2`` (:func:`layer_norm_gaps`);
* for the *linear* activation (Du et al. Thm 2.2; Arora et al. 2018), the matrix
  ``W_j W_j^T + b_j b_j^T - W_{j+1}^T W_{j+1}`` (``(m_j, m_j)``, :func:`layer_gram_gaps`).

*Why* (per neuron): scaling the incoming weights of neuron ``i`` by ``c`` and its outgoing ones
by ``1/c`` leaves the function unchanged, so ``<W_j[i,:], G_j[i,:]> + b_j[i] g_{b_j}[i] =
<W_{j+1}[:,i], G_{j+1}[:,i]>`` (``G`` the gradients), and the flow's derivative of the gap is
``-2`` times the difference, i.e. 0. (Biases enter the *incoming* side; with no biases these
are exactly the statements of the papers.)

Under gradient descent with step ``η`` the same identity gives the exact one-step change
``ΔC_j = η^2 (||G_j||^2 + ||g_{b_j}||^2 - ||G_{j+1}||^2)`` (and
``η^2 (G_j G_j^T + g g^T - G_{j+1}^T G_{j+1})`` for the matrix invariant): the drift per step,
or over a fixed number of steps, grows like ``η^2``; over a fixed training time ``T`` (``T/η``
steps) or until convergence it is ``≈ η int_0^T (...) dt``, i.e. grows like ``η^1``.
:func:`growth_exponent` fits the exponent.

For classification with deep linear networks the layers align and become rank one
(Ji & Telgarsky 2019; vardi2022 §3.2): :func:`layer_alignment`, :func:`stable_rank`,
:func:`layer_stable_ranks`, :func:`input_alignment`.

Warning (ReLU): gradient flow can reach a kink where a hidden pre-activation is 0 and the
vector field points into it from both sides (a sliding, Filippov, solution). Explicit adaptive
ODE solvers then crawl: measured on a seeded 5-3-3-1 ReLU net, both ``ib.GradientFlow``
(Tsit5) and scipy's DOP853 stall at ``t ≈ 0.225`` (``max_steps``) with a second-layer
pre-activation at ``1e-10``; the invariants are still conserved to ``2e-14`` relative up to
there. Check balancedness of ReLU nets on time windows before such a kink, or with gradient
descent.

Parameters are dicts with the names of :class:`~implicit_bias.models.FullyConnected`
(``W1 (m_1, d)``, ..., ``WL (1, m_{L-1})``, optional ``b1..bL``) or of
:class:`~implicit_bias.models.ShallowReLU` (``w1 (k, d)``, ``b1 (k,)``, ``w2 (k,)``, ``b2 ()``;
a ``skip`` connection is ignored: it is its own path and does not enter the hidden layer's
invariant). Everything is float64 NumPy.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

__all__ = [
    "layer_norm_gaps",
    "neuron_norm_gaps",
    "layer_gram_gaps",
    "InvariantDrift",
    "invariant_drift",
    "PowerLaw",
    "growth_exponent",
    "stable_rank",
    "layer_stable_ranks",
    "layer_alignment",
    "input_alignment",
]


# ----------------------------------------------------------------------------------------
# Layers from a params dict
# ----------------------------------------------------------------------------------------


def _arr(name, a):
    try:
        x = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name!r} must be a numeric array; received {type(a).__name__}") from None
    return x


def _layers(params) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """``([W_1, ..., W_L], [b_1 or None, ...])`` from FullyConnected or ShallowReLU names."""
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a dict of arrays named W1..WL (FullyConnected) or w1, b1, w2, b2 (ShallowReLU); received {type(params).__name__}")
    if "w1" in params and "w2" in params:  # ShallowReLU
        W1 = _arr("w1", params["w1"])
        w2 = _arr("w2", params["w2"])
        if W1.ndim != 2 or w2.shape != (W1.shape[0],):
            raise ValueError(f"ShallowReLU params need w1 (k, d) and w2 (k,); received {W1.shape} and {w2.shape}")
        b1 = _arr("b1", params["b1"]) if "b1" in params else None
        b2 = _arr("b2", params["b2"]).reshape(1) if "b2" in params else None
        return [W1, w2[None, :]], [b1, b2]
    idx = sorted(int(m.group(1)) for k in params if (m := re.fullmatch(r"W(\d+)", str(k))))
    if not idx or idx != list(range(1, len(idx) + 1)):
        raise ValueError(f"params must be named W1, ..., WL consecutively (FullyConnected); received names {sorted(map(str, params))}")
    Ws = [_arr(f"W{j}", params[f"W{j}"]) for j in idx]
    bs = [(_arr(f"b{j}", params[f"b{j}"]).reshape(-1) if f"b{j}" in params else None) for j in idx]
    for j, W in enumerate(Ws, start=1):
        if W.ndim != 2:
            raise ValueError(f"W{j} must be a 2-D matrix; received shape {W.shape}")
        if j > 1 and W.shape[1] != Ws[j - 2].shape[0]:
            raise ValueError(f"W{j} has {W.shape[1]} columns but W{j - 1} has {Ws[j - 2].shape[0]} rows; consecutive layers must chain")
        if bs[j - 1] is not None and bs[j - 1].shape != (W.shape[0],):
            raise ValueError(f"b{j} must have shape ({W.shape[0]},) to match W{j}; received {bs[j - 1].shape}")
    return Ws, bs


def _in_sq(W, b):
    """Squared norms of the incoming weights (and bias) per neuron, ``(m,)``."""
    s = np.sum(W * W, axis=1)
    return s if b is None else s + b * b


def layer_norm_gaps(params) -> np.ndarray:
    r"""``C_j = ||W_j||_F^2 + ||b_j||^2 - ||W_{j+1}||_F^2`` for ``j = 1..L-1`` (Du et al. 2018, Thm 2.1; vardi2022 §6).

    Conserved by gradient flow for linear, ReLU and leaky-ReLU networks, any loss.

    Args:
        params: FullyConnected (``W1..WL``, optional ``b1..bL``) or ShallowReLU parameters.

    Returns:
        ``(L-1,)``.

    Example:
        >>> import numpy as np
        >>> layer_norm_gaps({"W1": np.ones((2, 3)), "W2": np.ones((1, 2))}).tolist()
        [4.0]
    """
    Ws, bs = _layers(params)
    return np.array([float(np.sum(_in_sq(Ws[j], bs[j])) - np.sum(Ws[j + 1] ** 2)) for j in range(len(Ws) - 1)])


def neuron_norm_gaps(params) -> list[np.ndarray]:
    r"""Per hidden neuron ``i`` of layer ``j``: ``||W_j[i,:]||^2 + b_j[i]^2 - ||W_{j+1}[:,i]||^2`` (Du et al. 2018, Thm 2.1).

    The diagonal of :func:`layer_gram_gaps`; conserved by gradient flow for 1-homogeneous
    activations (per neuron, which is stronger than :func:`layer_norm_gaps`). For the
    two-layer single neuron it is ``-δ`` of azulay2021 (``δ = a^2 - ||w||^2``).

    Returns:
        A list of ``L-1`` arrays ``(m_j,)``.
    """
    Ws, bs = _layers(params)
    return [_in_sq(Ws[j], bs[j]) - np.sum(Ws[j + 1] ** 2, axis=0) for j in range(len(Ws) - 1)]


def layer_gram_gaps(params) -> list[np.ndarray]:
    r"""``W_j W_j^T + b_j b_j^T - W_{j+1}^T W_{j+1}`` (``(m_j, m_j)``) for ``j = 1..L-1`` (Du et al. 2018, Thm 2.2).

    Conserved by gradient flow for *linear* networks (vardi2022 §6: "``d/dt (W_j W_j^T -
    W_{j+1}^T W_{j+1}) = 0``"); not for ReLU (only its diagonal is). Zero for every ``j`` is the
    strictly balanced initialization of azulay2021 Prop 6.2 (``Δ = 0``).

    Returns:
        A list of ``L-1`` arrays ``(m_j, m_j)``.

    Example:
        >>> import numpy as np
        >>> a = np.array([1.0, 2.0]); u = np.array([0.6, 0.8])
        >>> float(np.abs(layer_gram_gaps({"W1": np.outer(a, u), "W2": a[None, :]})[0]).max())  # balanced
        0.0
    """
    Ws, bs = _layers(params)
    out = []
    for j in range(len(Ws) - 1):
        C = Ws[j] @ Ws[j].T - Ws[j + 1].T @ Ws[j + 1]
        if bs[j] is not None:
            C = C + np.outer(bs[j], bs[j])
        out.append(C)
    return out


# ----------------------------------------------------------------------------------------
# Drift along a trajectory
# ----------------------------------------------------------------------------------------


def _trajectory(traj):
    """``(list of params dicts, time (T,), step (T,))`` from a Run, an xarray Dataset, a list of
    dicts or a dict of stacked arrays."""
    if hasattr(traj, "trajectory") and hasattr(traj, "params"):  # a Run
        traj = traj.trajectory
    if hasattr(traj, "data_vars") and hasattr(traj, "coords"):  # xarray.Dataset from train()
        names = [str(k)[len("param_"):] for k in traj.data_vars if str(k).startswith("param_")]
        if not names:
            raise ValueError("the trajectory has no parameters: train with record=ib.Record(fields=('loss', 'params'))")
        stacked = {n: np.asarray(traj[f"param_{n}"].values, dtype=np.float64) for n in names}
        T = next(iter(stacked.values())).shape[0]
        time = np.asarray(traj["time"].values, dtype=np.float64) if "time" in traj.coords else np.arange(T, dtype=np.float64)
        step = np.asarray(traj["step"].values, dtype=np.int64) if "step" in traj.coords else np.arange(T)
        return [{n: a[t] for n, a in stacked.items()} for t in range(T)], time, step
    if isinstance(traj, Mapping):
        stacked = {k: np.asarray(v, dtype=np.float64) for k, v in traj.items()}
        Ts = {a.shape[0] if a.ndim else -1 for a in stacked.values()}
        if len(Ts) != 1 or -1 in Ts:
            raise ValueError("a dict trajectory must hold arrays stacked along a common leading time axis (T, ...)")
        T = Ts.pop()
        seq = [{n: a[t] for n, a in stacked.items()} for t in range(T)]
    elif isinstance(traj, Sequence) and not isinstance(traj, (str, bytes)):
        seq = list(traj)
    else:
        raise ValueError(f"trajectory must be a Run, an xarray.Dataset with param_* variables, a list of params dicts or a dict of stacked arrays; received {type(traj).__name__}")
    if len(seq) == 0:
        raise ValueError("the trajectory is empty")
    T = len(seq)
    return seq, np.arange(T, dtype=np.float64), np.arange(T)


@dataclasses.dataclass(frozen=True, eq=False)
class InvariantDrift:
    """Drift of the balancedness invariants along a trajectory (see :func:`invariant_drift`).

    Attributes (``T`` recorded points, ``L`` layers), NumPy float64:
        time, step: ``(T,)``.
        norm_gaps: ``(T, L-1)``, :func:`layer_norm_gaps` at each point.
        norm_drift: ``(T, L-1)``, ``|C_j(t) - C_j(0)|``.
        norm_relative: ``(L-1,)``, ``max_t norm_drift / max_t (||W_j||^2 + ||b_j||^2 + ||W_{j+1}||^2)``.
        neuron_relative: ``(L-1,)``, the same for the per-neuron gaps (max over neurons).
        gram_drift: ``(T, L-1)``, ``||M_j(t) - M_j(0)||_F`` for the matrix invariants.
        gram_relative: ``(L-1,)``, ``max_t gram_drift`` over the same scale.
        max_relative: the largest of ``norm_relative`` and ``neuron_relative`` (the invariants
            every 1-homogeneous network conserves); ``gram_relative`` is separate, since only
            linear networks conserve it.
    """

    time: np.ndarray
    step: np.ndarray
    norm_gaps: np.ndarray
    norm_drift: np.ndarray
    norm_relative: np.ndarray
    neuron_relative: np.ndarray
    gram_drift: np.ndarray
    gram_relative: np.ndarray
    max_relative: float


def invariant_drift(trajectory) -> InvariantDrift:
    r"""How far the invariants of :func:`layer_norm_gaps`, :func:`neuron_norm_gaps` and :func:`layer_gram_gaps` moved.

    Relative drifts are divided by ``S_j = max_t (||W_j(t)||_F^2 + ||b_j(t)||^2 + ||W_{j+1}(t)||_F^2)``,
    the scale at which an ODE solver's errors in the parameters show up in the gaps; exact
    gradient flow gives 0 (Du et al. 2018, Thms 2.1-2.2), a flow solved at relative tolerance
    ``rtol`` gives ``O(rtol)``, gradient descent gives ``O(η^2)`` per step.

    Args:
        trajectory: a :class:`~implicit_bias.Run` or its ``trajectory`` (recorded with
            ``record=ib.Record(fields=("loss", "params"))``), a list of params dicts, or a dict of
            arrays stacked along a leading time axis.

    Returns:
        :class:`InvariantDrift`.

    Raises:
        ValueError: no parameters recorded, inconsistent shapes, or names that are not
            FullyConnected/ShallowReLU parameters.

    Example:
        >>> import numpy as np
        >>> traj = [{"W1": np.ones((2, 3)), "W2": np.ones((1, 2))}, {"W1": 2 * np.ones((2, 3)), "W2": np.ones((1, 2))}]
        >>> invariant_drift(traj).norm_drift[:, 0].tolist()
        [0.0, 18.0]
    """
    seq, time, step = _trajectory(trajectory)
    layers = [_layers(p) for p in seq]
    L = len(layers[0][0])
    if L < 2:
        raise ValueError("the network has one layer: there is no balancedness invariant (it needs L >= 2)")
    T = len(seq)
    gaps = np.zeros((T, L - 1))
    neuron = [np.zeros((T, W.shape[0])) for W in layers[0][0][:-1]]
    gram = np.zeros((T, L - 1))
    scale = np.zeros(L - 1)
    grams0 = None
    for t, (Ws, bs) in enumerate(layers):
        if [W.shape for W in Ws] != [W.shape for W in layers[0][0]]:
            raise ValueError(f"parameter shapes change along the trajectory at point {t}")
        for j in range(L - 1):
            inn = _in_sq(Ws[j], bs[j])
            out = np.sum(Ws[j + 1] ** 2, axis=0)
            neuron[j][t] = inn - out
            gaps[t, j] = float(np.sum(inn) - np.sum(out))
            scale[j] = max(scale[j], float(np.sum(inn) + np.sum(out)))
        gg = layer_gram_gaps(seq[t])
        if grams0 is None:
            grams0 = gg
        gram[t] = [float(np.linalg.norm(g - g0)) for g, g0 in zip(gg, grams0)]
    scale = np.where(scale > 0, scale, 1.0)
    drift = np.abs(gaps - gaps[0])
    norm_rel = drift.max(axis=0) / scale
    neuron_rel = np.array([np.abs(neuron[j] - neuron[j][0]).max() for j in range(L - 1)]) / scale
    gram_rel = gram.max(axis=0) / scale
    return InvariantDrift(time, step, gaps, drift, norm_rel, neuron_rel, gram, gram_rel, float(max(norm_rel.max(), neuron_rel.max())))


class PowerLaw(NamedTuple):
    """``drift ≈ prefactor * eta^exponent`` (least squares in log-log); ``r2`` the fit's R²."""

    exponent: float
    prefactor: float
    r2: float


def growth_exponent(etas, drifts) -> PowerLaw:
    r"""Fit ``drift ≈ c η^k`` by least squares on ``log drift = k log η + log c``.

    Used for the drift of the invariants under gradient descent: ``k ≈ 2`` over a fixed number
    of steps, ``k ≈ 1`` over a fixed training time or to convergence (module docstring).

    Args:
        etas: ``(K,)`` step sizes, ``> 0``, at least two distinct.
        drifts: ``(K,)`` measured drifts, ``> 0``.

    Returns:
        :class:`PowerLaw` ``(exponent, prefactor, r2)``.

    Example:
        >>> round(growth_exponent([0.1, 0.2, 0.4], [0.03, 0.12, 0.48]).exponent, 12)
        2.0
    """
    e = np.asarray(etas, dtype=np.float64).reshape(-1)
    dr = np.asarray(drifts, dtype=np.float64).reshape(-1)
    if e.shape != dr.shape or e.size < 2:
        raise ValueError(f"etas and drifts must be 1-D of the same length >= 2; received shapes {np.shape(etas)} and {np.shape(drifts)}")
    if not (np.all(np.isfinite(e)) and np.all(e > 0) and np.all(np.isfinite(dr)) and np.all(dr > 0)):
        raise ValueError("etas and drifts must be finite and > 0 (a zero drift has no exponent: it is conserved exactly)")
    if np.unique(e).size < 2:
        raise ValueError("etas must contain at least two distinct values")
    x, yv = np.log(e), np.log(dr)
    k, c = np.polyfit(x, yv, 1)
    fit = k * x + c
    ss = float(np.sum((yv - yv.mean()) ** 2))
    r2 = 1.0 - float(np.sum((yv - fit) ** 2)) / ss if ss > 0 else 1.0
    return PowerLaw(float(k), float(np.exp(c)), r2)


# ----------------------------------------------------------------------------------------
# Rank and alignment
# ----------------------------------------------------------------------------------------


def stable_rank(W) -> float:
    r"""``||W||_F^2 / ||W||_2^2``, in ``[1, rank W]`` (1 iff ``W`` is rank one; 0 for ``W = 0``).

    Example:
        >>> import numpy as np
        >>> stable_rank(np.outer([1.0, 2.0], [3.0, 4.0])), stable_rank(np.eye(3))
        (1.0, 3.0)
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"stable_rank needs a 2-D matrix; received shape {W.shape}")
    s = np.linalg.svd(W, compute_uv=False)
    return float(np.sum(s * s) / (s[0] * s[0])) if s.size and s[0] > 0 else 0.0


def layer_stable_ranks(params) -> np.ndarray:
    r"""Stable rank of each ``W_j``, ``(L,)`` (vardi2022 §3.2: ``W_1..W_{L-1}`` tend to rank one for
    deep linear nets on separable data with logistic/exponential loss; ``W_L`` is a row, always 1)."""
    Ws, _ = _layers(params)
    return np.array([stable_rank(W) for W in Ws])


def _top(W):
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    return U[:, 0], Vt[0], s[0]


def layer_alignment(params) -> np.ndarray:
    r"""``|<u_1(W_j), v_1(W_{j+1})>|`` for ``j = 1..L-1`` (Ji & Telgarsky 2019; vardi2022 §3.2).

    ``u_1(W_j) (m_j,)`` is the top left singular vector of ``W_j`` and ``v_1(W_{j+1}) (m_j,)`` the
    top right singular vector of ``W_{j+1}``: 1 means adjacent layers are aligned (as gradient
    flow makes them, in the limit, on separable data). Exactly 1 for the balanced init.

    Returns:
        ``(L-1,)`` in ``[0, 1]``.
    """
    Ws, _ = _layers(params)
    return np.array([abs(float(_top(Ws[j])[0] @ _top(Ws[j + 1])[1])) for j in range(len(Ws) - 1)])


def input_alignment(params) -> float:
    r"""``|<v_1(W_1), w~/||w~||>|``: alignment of the first layer's top right singular vector with
    the end-to-end linear predictor ``w~ = (W_L ... W_1)^T`` (linear networks without bias).

    With :func:`layer_alignment` near 1 this is near 1 too, and ``w~`` then points along the
    l2 max-margin direction (vardi2022 §3.2).
    """
    Ws, _ = _layers(params)
    P = Ws[0]
    for W in Ws[1:]:
        P = W @ P
    w = P.reshape(-1)
    n = float(np.linalg.norm(w))
    if n == 0:
        raise ValueError("the end-to-end predictor is zero: its direction is undefined")
    return abs(float(_top(Ws[0])[1] @ w)) / n
