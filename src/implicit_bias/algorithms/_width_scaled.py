r"""Width-scaled gradient descent for wide univariate shallow ReLU nets (montufar2024 Thm 5).

Jin & Montufar (JMLR 2023; montufar2024 slides "Theorem 5") train
``f(x) = sum_{i=1}^n w2_i [w1_i x + b1_i]_+ + b2 + s x`` (``ShallowReLU(n, skip=True)``, standard
parametrization) by full-batch GD on ``L = (1/(2M)) sum_j (f(x_j) - y_j)^2`` with the
width-normalised step ``eta = eta_bar / n``; as ``n -> infinity`` the trained net tends to the
weighted cubic spline ``g*`` of their eq. (5) (:mod:`implicit_bias.theory.splines`). Eq. (5) leaves
the affine part ``a x + b`` free; plain GD charges it (the net then tends to the kernel
interpolant ``g_K``, :func:`implicit_bias.theory.kernel_interpolant` with ``beta = 0``). The
affine part is freed exactly by eliminating it: after every step ``(s, b2)`` is reset to its
least-squares fit (variable projection, ``affine="exact"``), which is GD with the affine step
``beta eta -> infinity`` (derivation: :mod:`implicit_bias.experiments.splines`).

Two forms of one iteration:

- :func:`width_scaled_gd`, an ``optax.GradientTransformation`` for
  :class:`~implicit_bias.algorithms.Optax` (autodiff of any loss, then the update): the generic,
  readable reference;
- :class:`WidthScaledGD`, a final algorithm with the step fused by hand for the square loss
  (no autodiff, one pass over the units per step, the loop's finiteness check folded in):
  the same iterates up to round-off, 3-5x faster at ``n = 2^14`` (``benchmarks/bench_wide_relu.py``).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import ShallowReLU, activation_degree, power_activation
from ..univariate import active_width
from ._base import AbstractDiscreteAlgorithm, Objective, as_float

__all__ = ["WidthScaledGD", "width_scaled_gd", "PowerWidthScaledGD"]

_AFFINE = ("exact", "gd")


def _check(name, eta_bar, affine):
    if affine not in _AFFINE:
        raise ValueError(f"{name}: affine must be 'exact' or 'gd'; received {affine!r}")
    if not (np.isfinite(eta_bar) and eta_bar > 0):
        raise ValueError(f"{name}: eta_bar must be a finite number > 0; received {eta_bar!r}")


class _WidthState(NamedTuple):
    lr: jax.Array  # eta_bar / n, n = number of non-zero units of this point


def width_scaled_gd(X, y, eta_bar: float, *, hidden: bool = True, affine: str = "exact"):
    r"""Full-batch GD with the per-parameter step ``eta_bar / n`` (standard parametrization, Thm 5), as an optax transformation.

    The hidden units ``(w1, b1)`` (if ``hidden``) and the output weights ``w2`` step by
    ``eta = eta_bar / n``, ``n`` the number of non-zero units of the point
    (:func:`implicit_bias.univariate.active_width`; so a batch of nets of several widths,
    zero-padded to one shape, trains as one vmapped computation: zero units have zero gradients
    and stay zero). The affine part (skip weight ``s``, output bias ``b2``):

    - ``affine="exact"``: after every step ``(s, b2)`` is reset to the least-squares fit of
      ``y - f_hidden(X)`` (variable projection). Since ``(s, b2)`` is then optimal at every
      step, the next gradient is the gradient of the *projected* loss ``(1/2M) ||P (f - y)||^2``
      (``P`` removes affine functions of the data): this is GD with the affine step
      ``beta eta -> infinity``, the setting in which eq. (5)'s affine part is free. Start from
      parameters whose affine part is already fitted (:func:`implicit_bias.univariate.fit_affine`).
    - ``affine="gd"``: ``(s, b2)`` step by ``eta`` like the rest (plain GD; with ``hidden``
      this is ``GradientDescent(lr=eta_bar/n)`` exactly).

    Args:
        X: training inputs ``(M, 1)``; y: targets ``(M,)`` (closed over: one transformation per
            data set).
        eta_bar: width-normalised step ``eta_bar = n eta``.
        hidden: train the hidden layer too (False: the output layer only).
        affine: ``"exact"`` or ``"gd"``.

    Returns:
        An ``optax.GradientTransformation`` for ``implicit_bias.Optax(..., lr=1.0)`` (time = steps).
        :class:`WidthScaledGD` is the same iteration, fused, for the square loss.
    """
    import optax

    _check("width_scaled_gd", eta_bar, affine)
    xs = [float(v) for v in np.asarray(X, dtype=np.float64).reshape(-1)]
    yv = jnp.asarray(np.asarray(y, dtype=np.float64))
    D = np.stack([np.asarray(xs), np.ones(len(xs))], axis=1)
    Dpinv = jnp.asarray(np.linalg.pinv(D))  # (2, M)
    eta_bar = float(eta_bar)

    def init(params):
        return _WidthState(lr=jnp.asarray(eta_bar, jnp.float64) / active_width(params))

    def update(g, state, params):
        lr = state.lr
        new = dict(params)
        if hidden:
            new["w1"] = params["w1"] - lr * g["w1"]
            new["b1"] = params["b1"] - lr * g["b1"]
        new["w2"] = params["w2"] - lr * g["w2"]
        if affine == "exact":
            # one n-vector per sample (M is small): XLA fuses this into one pass per sample,
            # where the (M, n) broadcast form costs several passes over memory
            w1 = new["w1"][:, 0]
            F = jnp.stack([jnp.sum(jax.nn.relu(w1 * xj + new["b1"]) * new["w2"]) for xj in xs])
            coef = Dpinv @ (yv - F)
            new["skip"] = coef[:1]
            new["b2"] = coef[1]
        else:
            new["skip"] = params["skip"] - lr * g["skip"]
            new["b2"] = params["b2"] - lr * g["b2"]
        return jax.tree_util.tree_map(lambda a, b: a - b, new, params), state

    return optax.GradientTransformation(init, update)


def _unit_update(w1, b1, w2, xs, c, lr):
    """One GD step ``theta - lr * grad`` of ``sum_j c_j sum_i w2_i relu(w1_i x_j + b1_i)`` in
    ``(w1, b1, w2)`` as one variadic reduction over ``j`` of ``(M + 1, n)`` terms (row 0: the
    parameters; rows ``j``: ``-lr`` times the per-sample gradient terms): XLA emits one pass over
    the units for the three outputs and materialises them once (a reduction is a fusion root).
    Written as three elementwise updates, XLA's CPU fusion recomputes the masks in each output
    and again inside every consumer (the finiteness test, the freezing selects and the next
    hidden-layer sum): 155 -> 89 us per seed-step at ``n = 2^14``, M = 6, 4 seeds.

    With ``c = (f - y)/M`` the gradient of the square loss ``(1/2M) sum_j (f_j - y_j)^2`` of a
    univariate ``ShallowReLU``, ``m_ij = 1[w1_i x_j + b1_i > 0]`` (``relu'(0) = 0`` as
    ``jax.nn.relu``): ``dL/dw2_i = sum_j c_j relu(w1_i x_j + b1_i)``,
    ``dL/dw1_i = w2_i sum_j c_j m_ij x_j``, ``dL/db1_i = w2_i sum_j c_j m_ij``. ``xs``: the M
    inputs as Python floats; ``c (M,)``; ``w1, b1, w2 (n,)``."""
    x = jnp.asarray(xs)[:, None]
    pre = w1[None, :] * x + b1[None, :]
    act = pre > 0
    cl = (-lr * c)[:, None]
    ta = jnp.concatenate([w1[None, :], jnp.where(act, cl * x * w2[None, :], 0.0)])
    tb = jnp.concatenate([b1[None, :], jnp.where(act, cl * w2[None, :], 0.0)])
    t2 = jnp.concatenate([w2[None, :], jnp.where(act, cl * pre, 0.0)])
    z = jnp.zeros((), w1.dtype)
    return jax.lax.reduce((ta, tb, t2), (z, z, z), lambda a, b: tuple(u + v for u, v in zip(a, b)), (0,))


def _hidden_out(xs, w1, b1, w2):
    """``(F, chk)``: ``F_j = sum_i w2_i relu(w1_i x_j + b1_i)`` and
    ``chk = sum_i 2^-60 (w1_i + b1_i + w2_i)``, finite iff every ``w1_i, b1_i, w2_i`` is
    (``inf``/``NaN`` propagate; the scaling keeps finite sums far from overflow).

    All M + 1 sums are one variadic reduction: XLA emits one pass over the units (M separate
    sums go to M library reductions, each reading materialised broadcasts of the constants
    ``x_j`` and 0). ``chk`` is the training loop's finiteness check of the new parameters
    (``checks_finite``), folded into this pass: done by the loop, a separate reduction over
    all parameters, it cost as much as the step (12 seeds at ``n = 2^14``: 64 -> 41 us per
    seed-step). Not differentiable (not needed here)."""
    s = jnp.asarray(2.0**-60, w2.dtype)
    terms = tuple(jax.nn.relu(w1 * xj + b1) * w2 for xj in xs) + (w1 * s + b1 * s + w2 * s,)
    zeros = tuple(jnp.zeros((), w2.dtype) for _ in terms)
    sums = jax.lax.reduce(terms, zeros, lambda a, b: tuple(u + v for u, v in zip(a, b)), (0,))
    return jnp.stack(sums[:-1]), sums[-1]


class WidthScaledState(NamedTuple):
    """State of :class:`WidthScaledGD`: the step ``lr = eta_bar / n`` of the point and the
    hidden-layer outputs ``F (M,)``, ``F_j = sum_i w2_i relu(w1_i x_j + b1_i)``, at the current
    parameters."""

    lr: jax.Array
    F: jax.Array


class WidthScaledGD(AbstractDiscreteAlgorithm):
    r"""Full-batch GD with the width-scaled step ``eta_bar / n`` on a univariate ``ShallowReLU(n, skip=True)`` (montufar2024 Thm 5).

    One step, with ``r_j = f(x_j) - y_j``, ``c_j = r_j / M`` and
    ``m_ij = 1[w1_i x_j + b1_i > 0]`` (``relu'(0) = 0``, as ``jax.nn.relu``), is GD on the
    library's square loss ``L = (1/(2M)) sum_j r_j^2`` with the per-parameter step
    ``eta = eta_bar / n`` (``n`` the number of units that are not zero padding,
    :func:`implicit_bias.univariate.active_width`):

        w2_i <- w2_i - eta sum_j c_j [w1_i x_j + b1_i]_+
        w1_i <- w1_i - eta w2_i sum_j c_j m_ij x_j,    b1_i <- b1_i - eta w2_i sum_j c_j m_ij
        (s, b2) <- least-squares fit of y - f_hidden(x)        (affine="exact")
        (s, b2) <- (s, b2) - eta (sum_j c_j x_j, sum_j c_j)    (affine="gd", plain GD)

    ``hidden=False`` freezes ``(w1, b1)`` (the output layer only). ``affine="exact"`` eliminates
    the affine part (variable projection: GD at an infinite relative step on ``(s, b2)``), the
    setting in which the trained net tends to eq. (5)'s ``g*`` with its natural boundary
    conditions. With ``affine="exact"`` every step, the first included, computes its residuals
    with ``(s, b2)`` at their least-squares fit, so the start's own ``(s, b2)`` do not matter (and
    the loss reported for the start is that of the fitted affine part); starting from
    :func:`implicit_bias.univariate.fit_affine`'s parameters gives the same iterates. Nets of several widths zero-padded to one
    shape (:func:`implicit_bias.univariate.pad_units`) train as one batch: padding units have
    zero gradients and stay zero.

    The same iterates as ``Optax(width_scaled_gd(X, y, eta_bar, hidden=hidden, affine=affine),
    lr=1.0)`` (autodiff of the loss, then the transformation), up to round-off, with the step
    fused by hand: the gradient in closed form in one pass over the units
    (``_unit_update``), no forward pass (the hidden-layer outputs ``F_j`` at the new parameters,
    which the least-squares refit needs anyway, are carried in the state and give the next
    step's residuals and its loss for the stopping test), and the training loop's finiteness
    check folded into the step (``checks_finite``: the sum ``2^-60 sum_i (w1_i + b1_i + w2_i)``,
    one more output of that pass, is finite iff the new parameters are; the step then returns
    ``log L = NaN`` and the loop keeps the last finite parameters, status ``diverged``). 12 seeds
    at ``n = 2^14``, M = 6: 64 us per seed-step, 41 us with ``train_many(..., fast_math=True)``
    (reassociation vectorises the two sums over the units; the iterates change at round-off
    level), against ~200 us for the generic step (``benchmarks/bench_wide_relu.py``).

    The data are part of the algorithm (static: one compilation per data set, reused by equal
    settings); ``init_state`` checks that the objective trains on them, with the square loss,
    a univariate ``ShallowReLU`` with ``skip=True`` and the ``relu`` activation. Training time
    counts steps (``lr = 1``).

    From the command line: ``ibias fit DATA --model relu --skip --algorithm width-scaled-gd
    [--lr ETA_BAR] [--affine exact|gd] [--antisymmetric] --predict weighted-spline``; in a run or
    sweep config, ``algorithm: {name: width-scaled-gd, lr: ETA_BAR}`` (``config.build_algorithm``
    builds it on the config's data).

    Args:
        X: training inputs ``(M, 1)`` or ``(M,)``; y: targets ``(M,)``.
        eta_bar: width-normalised step ``eta_bar = n eta > 0`` (stable below ``2M / lambda_max``
            of the limit kernel: :func:`implicit_bias.theory.stable_eta_bar`).
        hidden: train the hidden layer ``(w1, b1)`` too.
        affine: ``"exact"`` (eliminated) or ``"gd"`` (plain GD).

    Raises:
        ValueError: ``affine`` not ``"exact"``/``"gd"``, ``eta_bar`` not finite and positive, or
            ``X`` and ``y`` of different lengths; at ``init_state``, a model, loss or data set
            other than the above.

    Example:
        >>> import numpy as np, implicit_bias as ib
        >>> from implicit_bias.algorithms import WidthScaledGD
        >>> from implicit_bias.univariate import fit_affine
        >>> ds = ib.data.Dataset(np.array([[-1.0], [0.0], [1.0]]), np.array([0.0, 1.0, 0.0]))
        >>> m = ib.models.ShallowReLU(64, skip=True)
        >>> p0 = fit_affine(m.init(0), ds.X, ds.y)
        >>> run = ib.train(m, ds, "square", WidthScaledGD(ds.X, ds.y, 1.0), ib.Stop(loss=1e-10, max_steps=100_000), init=p0)
        >>> run.status
        'converged'

    Reference: montufar2024 Thm 5 (Jin & Montufar 2023); the elimination of the affine part is
    this library's (derived in :mod:`implicit_bias.experiments.splines`).
    """

    xs: tuple = eqx.field(static=True)
    ys: tuple = eqx.field(static=True)
    eta_bar: float = eqx.field(static=True)
    hidden: bool = eqx.field(static=True)
    affine: str = eqx.field(static=True)
    dpinv: tuple = eqx.field(static=True)  # rows of pinv([x, 1]) (2, M)
    lr: np.ndarray  # time unit: one step = time 1
    name: ClassVar[str] = "width-scaled-gd"
    checks_finite: ClassVar[bool] = True  # step folds the finiteness check of the new parameters into its F pass

    def __init__(self, X, y, eta_bar: float, *, hidden: bool = True, affine: str = "exact"):
        xs = tuple(float(v) for v in np.asarray(X, dtype=np.float64).reshape(-1))
        ys = tuple(float(v) for v in np.asarray(y, dtype=np.float64).reshape(-1))
        if len(xs) != len(ys) or not xs:
            raise ValueError(f"WidthScaledGD: X (M, 1) and y (M,) must have the same number M >= 1 of samples; received {np.shape(X)} and {np.shape(y)}")
        _check("WidthScaledGD", eta_bar, affine)
        D = np.stack([np.asarray(xs), np.ones(len(xs))], axis=1)
        self.xs, self.ys, self.eta_bar, self.hidden, self.affine = xs, ys, float(eta_bar), bool(hidden), affine
        self.dpinv = tuple(tuple(float(v) for v in row) for row in np.linalg.pinv(D))
        self.lr = as_float(1.0)

    def _check_objective(self, objective: Objective, params):
        model = objective.model
        if not (isinstance(model, ShallowReLU) and model.input_dim == 1 and model.skip and model.activation == "relu"):
            got = f"(input_dim={model.input_dim}, skip={model.skip}, activation={model.activation!r})" if isinstance(model, ShallowReLU) else ""
            raise ValueError(f"WidthScaledGD trains a univariate ShallowReLU(width, skip=True) with the relu activation (PowerWidthScaledGD: other activations and d > 1); received {type(model).__name__}{got}")
        if objective.loss.name != "square":
            raise ValueError(f"WidthScaledGD: the fused step is the gradient of the square loss; received loss {objective.loss.name!r}")
        X, y = np.asarray(objective.X, dtype=np.float64).reshape(-1), np.asarray(objective.y, dtype=np.float64).reshape(-1)
        if X.shape != (len(self.xs),) or not (np.array_equal(X, self.xs) and np.array_equal(y, self.ys)):
            raise ValueError("WidthScaledGD: the objective's data differ from the X, y the algorithm was built with; build one WidthScaledGD per data set")

    def init_state(self, objective, params):
        self._check_objective(objective, params)
        # in numpy: called once per point outside the jitted loop (no small compilations)
        p = {k: np.asarray(params[k], dtype=np.float64) for k in ("w1", "b1", "w2")}
        n_active = int(np.sum((p["w2"] != 0) | np.any(p["w1"] != 0, axis=-1) | (p["b1"] != 0)))  # active_width
        F = np.array([np.sum(np.maximum(p["w1"][:, 0] * xj + p["b1"], 0.0) * p["w2"]) for xj in self.xs])
        return WidthScaledState(lr=np.asarray(np.float64(self.eta_bar) / n_active), F=F)

    def step(self, objective, params, state, key):
        lr, F = state.lr, state.F
        x, y = jnp.asarray(self.xs), jnp.asarray(self.ys)
        M = len(self.xs)
        if self.affine == "exact":
            # the residual of the least-squares affine fit to y - F (what (skip, b2) hold after every
            # step; at the first step this also fits an unfitted start, so no fit_affine is needed)
            coef = jnp.asarray(self.dpinv) @ (y - F)
            r = F + coef[1] + x * coef[0] - y
        else:
            r = F + params["b2"] + x * params["skip"][0] - y
        lv = jnp.log(0.5 * jnp.mean(r * r))  # log L at the input parameters, as Optax.step
        c = r / M
        w1, b1, w2 = params["w1"][:, 0], params["b1"], params["w2"]
        new = dict(params)
        w1n, b1n, w2n = _unit_update(w1, b1, w2, self.xs, c, lr)
        if self.hidden:
            w1, b1 = w1n, b1n
            new["w1"], new["b1"] = w1[:, None], b1
        w2 = w2n
        new["w2"] = w2
        F, chk = _hidden_out(self.xs, w1, b1, w2)
        if self.affine == "exact":
            coef = jnp.asarray(self.dpinv) @ (y - F)
            new["skip"], new["b2"] = coef[:1], coef[1]
        else:
            new["skip"] = params["skip"] - lr * jnp.sum(c * x)
            new["b2"] = params["b2"] - lr * jnp.sum(c)
        # checks_finite: NaN log-loss when any new parameter is not finite (the loop keeps the old)
        finite = jnp.isfinite(chk) & jnp.all(jnp.isfinite(new["skip"])) & jnp.isfinite(new["b2"])
        return new, WidthScaledState(lr=lr, F=F), jnp.where(finite, lv, jnp.nan)


class PowerWidthScaledGD(AbstractDiscreteAlgorithm):
    r"""Width-scaled GD, affine part eliminated, for ``ShallowReLU(n, input_dim=d, skip=True, activation=...)``, any ``d >= 1`` (montufar2024 Thms 5, 8, 9).

    The network is ``f(x) = sum_{i=1}^n w2_i phi_k(<w1_i, x> + b1_i) + b2 + <s, x>`` with
    ``phi_k = [.]_+^k`` (the model's ``activation``: ``"relu"`` is ``k = 1``,
    ``"relu_power:k"``), inputs ``x`` in ``R^d``. One step, on the library's square loss
    ``L = (1/(2M)) sum_j (f(x_j) - y_j)^2`` with ``eta = eta_bar / n`` (``n`` the number of units
    that are not zero padding, :func:`implicit_bias.univariate.active_width`):

        (w1, b1, w2) <- (w1, b1, w2) - eta grad_{(w1, b1, w2)} L        (autodiff of the model)
        (s, b2)      <- pinv([X, 1]) (y - f_hidden(X)),   f_hidden(x) = sum_i w2_i phi_k(<w1_i, x> + b1_i)

    i.e. GD with the affine step ``beta eta -> infinity`` (variable projection), the setting in
    which the affine part of the limit ``g*`` is free (Thm 5's eq. (5) for ``d = 1``, ``k = 1``;
    Thm 9's weighted spline of degree ``2k+1`` for ``[x]_+^k``, trained on targets adjusted by the
    null-space polynomial, :func:`implicit_bias.theory.null_space_polynomial`; Thm 8's ``g*`` for
    ``d >= 2``, :func:`implicit_bias.theory.multivariate.multivariate_interpolant`). The gradient is
    taken with ``(s, b2)`` at their least-squares fit (the residual ``P (f_hidden - y)``), so the
    start's own affine part does not matter: from ``model.init`` (sweeps, ``ibias fit``) or from
    :func:`implicit_bias.univariate.fit_affine_power`'s parameters, the same iterates.
    Nets zero-padded to one width (:func:`implicit_bias.univariate.pad_units`) train as one batch.

    For the univariate ReLU net (``d = 1``, ``k = 1``) this is the iteration of
    :class:`WidthScaledGD` (``affine="exact"``), up to round-off, without its hand-fused step: use
    that one there (3-5x faster). This one takes any activation of the family and any ``d``.

    The data are part of the algorithm (static: one compilation per data set); ``init_state``
    checks that the objective trains on them, with the square loss, a ``ShallowReLU`` with
    ``skip=True`` and ``input_dim = d``. Training time counts steps (``lr = 1``).

    Args:
        X: training inputs ``(M, d)`` (or ``(M,)`` for ``d = 1``); y: targets ``(M,)``.
        eta_bar: width-normalised step ``eta_bar = n eta > 0``.

    Raises:
        ValueError: ``eta_bar`` not finite and positive, ``X`` and ``y`` of different lengths; at
            ``init_state``, another model, loss, input dimension or data set.

    Example:
        >>> import numpy as np, implicit_bias as ib
        >>> from implicit_bias.algorithms import PowerWidthScaledGD
        >>> from implicit_bias.univariate import fit_affine_power
        >>> ds = ib.data.Dataset(np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.5]]), np.array([0.0, 1.0, 0.0]))
        >>> m = ib.models.ShallowReLU(64, input_dim=2, skip=True, activation="relu_power:2")
        >>> p0 = fit_affine_power(m.init(0), ds.X, ds.y, k=2)
        >>> run = ib.train(m, ds, "square", PowerWidthScaledGD(ds.X, ds.y, 1.0), ib.Stop(loss=1e-10, max_steps=100_000), init=p0)
        >>> run.status
        'converged'

    Reference: montufar2024 Thms 5, 8, 9 (Jin & Montufar 2023); the elimination of the affine
    part is this library's (derived in :mod:`implicit_bias.experiments.splines`).
    """

    X: tuple = eqx.field(static=True)  # (M, d) rows as tuples of floats
    ys: tuple = eqx.field(static=True)
    eta_bar: float = eqx.field(static=True)
    dpinv: tuple = eqx.field(static=True)  # pinv([X, 1]) (d + 1, M)
    lr: np.ndarray  # time unit: one step = time 1
    name: ClassVar[str] = "power-width-scaled-gd"

    def __init__(self, X, y, eta_bar: float):
        Xn = np.asarray(X, dtype=np.float64)
        Xn = Xn.reshape(-1, 1) if Xn.ndim == 1 else Xn
        ys = tuple(float(v) for v in np.asarray(y, dtype=np.float64).reshape(-1))
        if Xn.ndim != 2 or Xn.shape[0] != len(ys) or not ys:
            raise ValueError(f"PowerWidthScaledGD: X (M, d) and y (M,) must have the same number M >= 1 of samples; received {np.shape(X)} and {np.shape(y)}")
        _check("PowerWidthScaledGD", eta_bar, "exact")
        self.X = tuple(tuple(float(v) for v in row) for row in Xn)
        self.ys, self.eta_bar = ys, float(eta_bar)
        self.dpinv = tuple(tuple(float(v) for v in row) for row in np.linalg.pinv(np.concatenate([Xn, np.ones((Xn.shape[0], 1))], axis=1)))
        self.lr = as_float(1.0)

    def init_state(self, objective, params):
        model, d = objective.model, len(self.X[0])
        if not (isinstance(model, ShallowReLU) and model.skip and model.input_dim == d):
            got = f"(input_dim={model.input_dim}, skip={model.skip})" if isinstance(model, ShallowReLU) else ""
            raise ValueError(f"PowerWidthScaledGD: built for X (M, {d}), it trains ShallowReLU(width, input_dim={d}, skip=True); received {type(model).__name__}{got}")
        if objective.loss.name != "square":
            raise ValueError(f"PowerWidthScaledGD: the affine refit is the square loss's; received loss {objective.loss.name!r}")
        X, y = np.asarray(objective.X, dtype=np.float64), np.asarray(objective.y, dtype=np.float64).reshape(-1)
        if not (np.array_equal(X, np.asarray(self.X)) and np.array_equal(y, self.ys)):
            raise ValueError("PowerWidthScaledGD: the objective's data differ from the X, y the algorithm was built with; build one PowerWidthScaledGD per data set")
        return _WidthState(lr=jnp.asarray(self.eta_bar, jnp.float64) / active_width(params))

    def step(self, objective, params, state, key):
        k, d = activation_degree(objective.model.activation), len(self.X[0])
        X, y, dpinv = jnp.asarray(self.X), jnp.asarray(self.ys), jnp.asarray(self.dpinv)
        D = jnp.concatenate([X, jnp.ones((X.shape[0], 1), X.dtype)], axis=1)

        def projected(hidden):
            # the square loss with (s, b2) at their least-squares fit: r = P (F - y), P = I - D pinv(D);
            # equal to objective.value(params) when params' affine part is fitted (every step after the
            # first), and at the first step it also fits an unfitted start (as WidthScaledGD does), so
            # the start's own (s, b2) do not matter (sweeps and `ibias fit` start from model.init)
            r = power_activation(X @ hidden["w1"].T + hidden["b1"][None, :], k) @ hidden["w2"] - y
            r = r - D @ (dpinv @ r)
            return 0.5 * jnp.mean(r * r)

        lv, g = jax.value_and_grad(projected)({name: params[name] for name in ("w1", "b1", "w2")})
        new = {name: params[name] - state.lr * g[name] for name in ("w1", "b1", "w2")}
        F = power_activation(X @ new["w1"].T + new["b1"][None, :], k) @ new["w2"]
        coef = dpinv @ (y - F)
        new["skip"], new["b2"] = coef[:d], coef[d]
        return new, state, jnp.log(lv)
