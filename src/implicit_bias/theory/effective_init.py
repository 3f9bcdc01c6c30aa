r"""The effective initialization of (S)GD on a depth-2 diagonal network, exactly (Even et al. 2023).

even2023: M. Even, S. Pesme, S. Gunasekar, N. Flammarion, *(S)GD over Diagonal Linear Networks:
Implicit Regularisation, Large Stepsizes and Edge of Stability*, NeurIPS 2023 (Thm 1); Pesme et
al. 2021 for SGD; surveyed in vardi2022 §5. Gradient *flow* on ``w = u_+^2 - u_-^2`` ends at the
hyperbolic-entropy interpolant of its initialization scale (:mod:`implicit_bias.theory.diagonal`);
(S)GD with a finite step ends at the interpolant of a *smaller*, trajectory-dependent scale.

Exact discrete derivation (tied depth 2, :class:`~implicit_bias.models.Diagonal`)
--------------------------------------------------------------------------------
With the square loss ``L(w) = 1/(2N) ||X w - y||^2`` (or a minibatch loss ``L_B``), let
``g_k = grad_w L_{B_k}(w_k)`` (``(d,)``) be the gradient in ``w`` at step ``k``; it lies in the row
space of ``X``: ``g_k = X^T rho_k`` (``rho_k = r_k / N`` for GD, the batch residuals ``/|B|`` on the
batch for SGD). Since ``dL/du_+ = 2 u_+ g`` and ``dL/du_- = -2 u_- g``, one step of size ``eta``
multiplies each branch coordinate-wise::

    u_+^{k+1} = u_+^k (1 - 2 eta g_k),        u_-^{k+1} = u_-^k (1 + 2 eta g_k),

and the factors multiply exactly. Put ``z_K = -eta sum_{k<K} g_k = X^T nu_K`` with
``nu_K = -eta sum_k rho_k`` (``(N,)``). Then, with ``u_+(0) = a``, ``u_-(0) = b``::

    w_K = alpha_+^2 e^{4 z_K} - alpha_-^2 e^{-4 z_K},
    alpha_+^2 = a^2 prod_k (1 - 2 eta g_k)^2 e^{+4 eta g_k},
    alpha_-^2 = b^2 prod_k (1 + 2 eta g_k)^2 e^{-4 eta g_k},

i.e. ``log alpha_+^2 = log a^2 + 2 sum_k [log|1 - 2 eta g_k| + 2 eta g_k]`` (and ``-g`` for
``alpha_-``): every term is ``<= 0``, so both effective scales *shrink*, by a gain that is
``O(eta^2 sum g_k^2)`` for small steps (``log alpha_±^2 - log u_±(0)^2 = -4 eta^2 sum_k g_k^2
-+ (16/3) eta^3 sum_k g_k^3 + O(eta^4)``: the branches differ at third order). As ``eta -> 0``
(``eta sum g^2 -> 0``), ``alpha_± -> a, b``: gradient flow. If ``w_K -> w_inf`` with
``X w_inf = y`` (and the gains converge, which they do when ``sum ||g_k||^2 < inf``), ``w_inf =
W(X^T nu_inf)`` for the increasing map ``W(z) = alpha_+^2 e^{4z} - alpha_-^2 e^{-4z}``: the KKT
conditions of

.. math:: w_\infty = \arg\min_w \; D_{\psi_{\alpha_\infty}}(w, \tilde w_0)
          \quad\text{s.t.}\quad X w = y,

with the hyperbolic entropy ``psi_alpha(w) = (1/4) sum_i [w_i arcsinh(w_i/(2 alpha_i^2)) -
sqrt(w_i^2 + 4 alpha_i^4) + 2 alpha_i^2]`` (``psi' = (1/4) arcsinh(w/(2 alpha^2))``, the
gradient-flow potential of :func:`~implicit_bias.theory.diagonal_interpolant` at scale ``alpha``),
at the **geometric-mean scale** and a **shifted centre**::

    alpha_inf = sqrt(alpha_+ alpha_-),        w~_0 = alpha_+^2 - alpha_-^2 = W(0).

Indeed ``W(z) = 2 alpha_inf^2 sinh(4z + (1/2) log(alpha_+^2/alpha_-^2))``, so ``W^{-1}(w) =
psi'_{alpha_inf}(w) - psi'_{alpha_inf}(w~_0)``. The scale is readable from the final parameters
alone: ``alpha_+ alpha_- = |u_+(K) u_-(K)|`` exactly (the product ``u_+ u_-`` is multiplied by
``1 - 4 eta^2 g_k^2`` at each step; it is conserved by the flow); the centre ``w~_0`` needs the
trajectory (the split of ``log(u_+/u_-)`` between ``z`` and ``log(alpha_+/alpha_-)``).

Relation to even2023 Thm 1. The paper writes ``alpha_inf = alpha ⊙ exp(-Gain)`` (for
``u_±(0) = alpha``) and the limit as ``argmin D_{psi_{alpha_inf}}(w, w~_0)`` with a small
perturbation ``w~_0``; here ``Gain = -(1/2) sum_k log|1 - 4 eta^2 g_k^2|`` (so ``alpha_inf^2 =
alpha^2 prod_k |1 - 4 eta^2 g_k^2|``, ``Gain ~ 2 eta^2 sum_k g_k^2``), and ``w~_0 = alpha_+^2 -
alpha_-^2`` exactly (its leading order is ``-(32/3) alpha^2 eta^3 sum_k g_k^3``, third order in
the step). Dropping the
shift (centre ``0``, :attr:`EffectiveInit.uncentred`) is the paper's "``w~_0`` negligible"
reading; :func:`effective_init_interpolant` solves the exact program. (Our copy of the papers
does not include even2023; the formulas above are derived here and checked against training.)

The interpolant is computed by the diagonal dual Newton solve of
:func:`~implicit_bias.theory.solve_diagonal_interpolant` with the tied depth-2 "initialization"
``u_+ = alpha_+``, ``u_- = alpha_-``, whose flow map is exactly ``W`` above. This module never
imports :mod:`implicit_bias.algorithms` or :mod:`implicit_bias.train`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..models import Diagonal
from ._solvers import check_X, check_y
from .diagonal import DiagonalInterpolant, diagonal_interpolant

__all__ = ["EffectiveInit", "effective_initialization", "effective_initialization_from_sums", "effective_scale_from_params", "gd_gradients", "effective_init_interpolant"]


@dataclasses.dataclass(frozen=True, eq=False)
class EffectiveInit:
    """Effective initialization of a tied depth-2 diagonal network after (S)GD steps.

    Attributes (all ``(d,)`` float64):
        alpha_plus, alpha_minus: the branches' effective scales (``w = alpha_+^2 e^{4z} - alpha_-^2 e^{-4z}``).
        alpha_inf: ``sqrt(alpha_+ alpha_-)``, the scale of the hyperbolic entropy (even2023's ``alpha_inf``).
        center: ``alpha_+^2 - alpha_-^2``, the centre ``w~_0`` of the Bregman divergence.
        z: ``-eta sum_k g_k`` (``= X^T nu``), the dual point reached.
        gain: ``log(alpha / alpha_inf)`` per coordinate with ``alpha = sqrt(|a b|)`` (``>= 0``).
    """

    alpha_plus: np.ndarray
    alpha_minus: np.ndarray
    alpha_inf: np.ndarray
    center: np.ndarray
    z: np.ndarray
    gain: np.ndarray

    def predictor(self) -> np.ndarray:
        """``alpha_+^2 e^{4z} - alpha_-^2 e^{-4z}``: the predictor after the recorded steps."""
        return self.alpha_plus**2 * np.exp(4 * self.z) - self.alpha_minus**2 * np.exp(-4 * self.z)

    def init_params(self) -> dict:
        """``{"u_plus": alpha_+, "u_minus": alpha_-}``: a tied depth-2 initialization whose gradient
        flow map is ``W`` (use with :class:`~implicit_bias.models.Diagonal`)."""
        return {"u_plus": self.alpha_plus.copy(), "u_minus": self.alpha_minus.copy()}

    def uncentred(self) -> dict:
        """``{"u_plus": alpha_inf, "u_minus": alpha_inf}``: the same scale, centre 0 (first-order reading)."""
        return {"u_plus": self.alpha_inf.copy(), "u_minus": self.alpha_inf.copy()}


def effective_initialization(u_plus0, u_minus0, grads, lr) -> EffectiveInit:
    r"""``alpha_+``, ``alpha_-``, ``alpha_inf`` and the centre from the per-step gradients (module docstring).

    .. math:: \log\alpha_\pm^2 = \log u_\pm(0)^2 + 2\sum_k \big[\log|1 \mp 2\eta g_k| \pm 2\eta g_k\big],
              \qquad z = -\eta \sum_k g_k

    (even2023 Thm 1, exact discrete form derived in the module docstring).

    Args:
        u_plus0: initial branch ``u_+(0)`` ``(d,)`` (or a scalar; the model's ``scale``), non-zero.
        u_minus0: initial branch ``u_-(0)``, as ``u_plus0``.
        grads: ``(K, d)``, ``g_k = grad_w L_{B_k}(w_k)`` at every step ``k = 0..K-1`` (all of them:
            a skipped step makes the result wrong). For GD, :func:`gd_gradients` computes them
            from the recorded predictors.
        lr: the step size ``eta`` (a number, or ``(K,)`` for a schedule).

    Returns:
        :class:`EffectiveInit`.

    Raises:
        ValueError: bad shapes, non-finite values, a zero initial branch, or a step with
            ``1 -+ 2 eta g_k = 0`` (a branch was zeroed: the map is no longer invertible).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.effective_init import effective_initialization
        >>> e = effective_initialization(0.1, 0.1, np.array([[0.5], [0.5]]), 0.1)
        >>> bool(np.allclose(e.alpha_plus * e.alpha_minus, 0.01 * (1 - 0.01) ** 2))   # (1 - 4 eta^2 g^2) per step
        True
    """
    G = np.asarray(grads, dtype=np.float64)
    if G.ndim != 2 or G.shape[0] == 0:
        raise ValueError(f"grads must be 2-D (K, d) with K >= 1 steps; received shape {G.shape}")
    d = G.shape[1]
    a = np.broadcast_to(np.asarray(u_plus0, dtype=np.float64), (d,))
    b = np.broadcast_to(np.asarray(u_minus0, dtype=np.float64), (d,))
    eta = np.asarray(lr, dtype=np.float64)
    if eta.ndim == 1:
        if eta.shape[0] != G.shape[0]:
            raise ValueError(f"lr has {eta.shape[0]} entries but grads has {G.shape[0]} steps; give one lr or one per step")
        eta = eta[:, None]
    elif eta.ndim != 0:
        raise ValueError(f"lr must be a number or (K,); received shape {eta.shape}")
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(eta)) and np.all(eta > 0)):
        raise ValueError("grads must be finite and lr finite and > 0 (a diverged run has no effective initialization)")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(a != 0) and np.all(b != 0)):
        raise ValueError("u_plus0 and u_minus0 must be finite and non-zero (a zero branch never moves)")
    x = 2.0 * eta * G
    fp, fm = 1.0 - x, 1.0 + x
    if np.any(fp == 0) or np.any(fm == 0):
        raise ValueError("a step has 1 -+ 2 lr g = 0: it zeroed a branch coordinate, after which the trajectory is not a diagonal-flow map")
    s_plus = np.sum(np.log(np.abs(fp)) + x, axis=0)
    s_minus = np.sum(np.log(np.abs(fm)) - x, axis=0)
    return _from_log_factors(a, b, s_plus, s_minus, -np.sum(eta * G, axis=0))


def _from_log_factors(a, b, s_plus, s_minus, z) -> EffectiveInit:
    """``log alpha_+^2 = log a^2 + 2 s_plus``, ``log alpha_-^2 = log b^2 + 2 s_minus``."""
    log_ap2 = np.log(a * a) + 2.0 * s_plus
    log_am2 = np.log(b * b) + 2.0 * s_minus
    ap, am = np.exp(0.5 * log_ap2), np.exp(0.5 * log_am2)
    alpha_inf = np.exp(0.25 * (log_ap2 + log_am2))
    gain = 0.5 * np.log(np.abs(a * b)) - np.log(alpha_inf)
    return EffectiveInit(ap, am, alpha_inf, ap * ap - am * am, z, gain)


def effective_initialization_from_sums(u_plus0, u_minus0, lr, grad_sum, log_minus_sum, log_plus_sum) -> EffectiveInit:
    r"""The effective initialization from the trajectory sums of a constant-step GD run.

    .. math:: \log\alpha_+^2 = \log u_+(0)^2 + 2 \big[S_- + 2\eta S_g\big], \quad
              \log\alpha_-^2 = \log u_-(0)^2 + 2 \big[S_+ - 2\eta S_g\big], \quad z = -\eta S_g,

    with ``S_g = sum_k g_k`` (``grad_sum``), ``S_- = sum_k log|1 - 2 eta g_k|`` (``log_minus_sum``)
    and ``S_+ = sum_k log|1 + 2 eta g_k|`` (``log_plus_sum``), all ``(d,)``: the formula of
    :func:`effective_initialization` with the sums over the steps taken first (even2023 Thm 1,
    exact discrete form, module docstring). The sums are what a training loop can accumulate
    as it goes (``implicit_bias.algorithms.GainTrackedGD`` carries them as its state) instead of
    recording every step.

    Args:
        u_plus0: initial branch ``u_+(0)`` ``(d,)`` or a scalar, non-zero.
        u_minus0: initial branch ``u_-(0)``, as ``u_plus0``.
        lr: the constant step size ``eta > 0``.
        grad_sum: ``(d,)`` finite sum over every step taken.
        log_minus_sum: ``(d,)`` finite sum over every step taken.
        log_plus_sum: ``(d,)`` finite sum over every step taken.

    Returns:
        :class:`EffectiveInit`.

    Raises:
        ValueError: shapes that differ, non-finite sums (a ``-inf`` log sum: a step zeroed a
            branch coordinate), a zero initial branch, ``lr <= 0``.

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.effective_init import effective_initialization, effective_initialization_from_sums
        >>> G = np.array([[0.5, -1.0], [0.25, 0.5]])
        >>> e = effective_initialization_from_sums(0.1, 0.1, 0.1, G.sum(0), np.log(np.abs(1 - 0.2 * G)).sum(0), np.log(1 + 0.2 * G).sum(0))
        >>> bool(np.allclose(e.alpha_plus, effective_initialization(0.1, 0.1, G, 0.1).alpha_plus, rtol=1e-14))
        True
    """
    S = [np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (grad_sum, log_minus_sum, log_plus_sum)]
    if any(v.ndim != 1 or v.shape != S[0].shape for v in S):
        raise ValueError(f"grad_sum, log_minus_sum and log_plus_sum must be (d,) of one shape; received {[v.shape for v in S]}")
    if not all(np.all(np.isfinite(v)) for v in S):
        raise ValueError("the trajectory sums must be finite (a -inf log sum means a step zeroed a branch coordinate; a diverged run has no effective initialization)")
    eta = float(lr)
    if not (np.isfinite(eta) and eta > 0):
        raise ValueError(f"lr must be a finite number > 0; received {lr!r}")
    d = S[0].shape[0]
    a = np.broadcast_to(np.asarray(u_plus0, dtype=np.float64), (d,))
    b = np.broadcast_to(np.asarray(u_minus0, dtype=np.float64), (d,))
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b)) and np.all(a != 0) and np.all(b != 0)):
        raise ValueError("u_plus0 and u_minus0 must be finite and non-zero (a zero branch never moves)")
    g, lm, lp = S
    return _from_log_factors(a, b, lm + 2.0 * eta * g, lp - 2.0 * eta * g, -eta * g)


def effective_scale_from_params(u_plus, u_minus) -> np.ndarray:
    r"""``alpha_inf = sqrt(|u_+ u_-|)`` (``(d,)``) from the parameters of a tied depth-2 diagonal net.

    .. math:: \alpha_{\infty,i}^2 = \alpha_{+,i}\,\alpha_{-,i} = |u_{+,i}(K)\, u_{-,i}(K)|
              = |u_{+,i}(0) u_{-,i}(0)| \prod_{k<K} |1 - 4\eta_k^2 g_{k,i}^2|

    (module docstring; even2023 Thm 1, Pesme et al. 2021 for SGD): each step multiplies the
    product ``u_+ u_-`` by ``1 - 4 eta^2 g_k^2`` whatever the batch, so the scale of the
    hyperbolic entropy is readable from the end point of *any* (S)GD run, without its trajectory
    (the centre ``w~_0`` is not: use :func:`effective_initialization`). Assumes no step zeroed a
    branch coordinate (then the scale is 0 and the interpolant is not defined).

    Args:
        u_plus: ``(d,)`` the final ``u_+`` (``Run.params["u_plus"]``).
        u_minus: ``(d,)`` the final ``u_-``.

    Returns:
        ``(d,)`` float64.

    Raises:
        ValueError: shapes that differ or non-finite values (a diverged run).

    Example:
        >>> import numpy as np
        >>> from implicit_bias.theory.effective_init import effective_initialization, effective_scale_from_params
        >>> e = effective_initialization(0.1, 0.1, np.array([[0.5], [-0.3]]), 0.1)
        >>> u_p, u_m = 0.1 * (1 - 0.1) * (1 + 0.06), 0.1 * (1 + 0.1) * (1 - 0.06)   # the two steps
        >>> bool(np.allclose(effective_scale_from_params([u_p], [u_m]), e.alpha_inf, rtol=1e-14))
        True
    """
    a = np.asarray(u_plus, dtype=np.float64)
    b = np.asarray(u_minus, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"u_plus and u_minus must be (d,) of one shape (tied depth 2); received {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("u_plus and u_minus must be finite (a diverged run has no effective initialization)")
    return np.sqrt(np.abs(a * b))


def gd_gradients(X, y, predictors) -> np.ndarray:
    """``g_k = X^T (X w_k - y) / N`` (``(K, d)``) for recorded full-batch predictors ``w_k`` (``(K, d)``).

    Pass the predictors at steps ``0..K-1`` (those the steps were taken *from*), e.g.
    ``run.trajectory.predictor.values[:-1]`` of a run recorded at every step.
    """
    X = check_X(X)
    y = check_y(y, X.shape[0])
    P = np.asarray(predictors, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != X.shape[1]:
        raise ValueError(f"predictors must be (K, d) with d = X.shape[1] = {X.shape[1]}; received {P.shape}")
    return (P @ X.T - y[None, :]) @ X / X.shape[0]


def effective_init_interpolant(X, y, eff: EffectiveInit, *, centred: bool = True, tol: float = 1e-12) -> DiagonalInterpolant:
    r"""``argmin D_{psi_{alpha_inf}}(w, w~_0)`` s.t. ``X w = y`` (even2023 Thm 1, exact discrete form).

    Solved by the diagonal dual Newton solve (:func:`~implicit_bias.theory.diagonal_interpolant`)
    with the tied depth-2 initialization ``u_+ = alpha_+``, ``u_- = alpha_-`` (module docstring).
    ``centred=False`` uses ``alpha_inf`` on both branches: ``argmin psi_{alpha_inf}(w)`` with
    centre 0, the reading that neglects ``w~_0``.

    Args:
        X: ``(N, d)``; y: ``(N,)``.
        eff: :class:`EffectiveInit` of :func:`effective_initialization`.
        centred: keep the exact centre ``w~_0 = alpha_+^2 - alpha_-^2`` (default).
        tol: residual tolerance of the dual solve.

    Returns:
        :class:`~implicit_bias.theory.DiagonalInterpolant` (``w (d,)``, ``nu``, ...).
    """
    init = eff.init_params() if centred else eff.uncentred()
    model = Diagonal(int(eff.alpha_inf.shape[0]), depth=2, tied=True, init_params=init)
    return diagonal_interpolant(X, y, model, tol=tol)
