"""Run and sweep configurations: YAML (safe loader) validated by pydantic.

The fields are those of ``ibias fit``, nested (DESIGN.md, "Sweeps, store, scale"):

.. code-block:: yaml

    name: fig71-small
    data: {generator: sparse_regression, n: 100, d: 1000, sparsity: 5, noise_var: 0.01, seed: 0}
    model: {name: diagonal, depth: 2, untied: true, scale: 0.1, shape: 0.0}
    loss: square
    algorithm: {name: flow}
    stop: {loss: 1.0e-12, max_steps: 100000}
    record: [predictor, final_loss, training_accuracy, test_error, status]
    grid: {model.scale: [0.01, 0.1, 1.0], model.shape: [-0.5, 0.0, 0.5]}
    zip: [{model.scale: [0.1, 1.0], algorithm.lr: [0.5, 0.05]}]   # optional: axes varied together
    seeds: [0, 1]

An unknown or mistyped field is an error naming it and the allowed ones. Nothing in a config can
execute code: YAML is read with ``yaml.safe_load`` and every value is a plain number, string,
bool or list.

This module is also the one place where names become objects, for sweeps and ``ibias fit``
alike: :func:`build_data`, :func:`build_model` (over :func:`make_model`), :func:`build_loss`,
:func:`build_algorithm`, :func:`build_stop`, :func:`build_predictions` and
:func:`prediction_context`; :func:`build` composes them for a whole :class:`RunConfig`.
"""

from __future__ import annotations

import difflib
import math
import os
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

__all__ = [
    "DataConfig",
    "ModelConfig",
    "AlgorithmConfig",
    "StopConfig",
    "RunConfig",
    "SweepConfig",
    "load_sweep_config",
    "format_validation_error",
    "build",
    "build_data",
    "build_model",
    "build_loss",
    "build_algorithm",
    "build_stop",
    "build_predictions",
    "prediction_context",
    "make_model",
    "auto_predictions",
    "compare_auto",
    "load_init",
    "RECORDABLE",
    "MODEL_NAMES",
    "MATRIX_MODEL_NAMES",
    "MATRIX_INITS",
    "build_matrix_data",
    "build_matrix_model",
    "ALGORITHM_NAMES",
    "FLOW_NAMES",
    "NOISE_NAMES",
    "RELU_INITS",
]

# The accepted names live in _names (no pydantic or JAX there: `ibias --help` imports them).
from ._names import (  # noqa: E402
    ALGORITHM_NAMES as ALGORITHM_NAMES,
    FLOW_NAMES as FLOW_NAMES,
    MATRIX_INITS as MATRIX_INITS,
    MATRIX_MODEL_NAMES as MATRIX_MODEL_NAMES,
    MODEL_NAMES as MODEL_NAMES,
    NOISE_NAMES as NOISE_NAMES,
    RELU_INITS as RELU_INITS,
)

RECORDABLE = ("predictor", "final_loss", "log_loss", "training_accuracy", "test_error", "status", "steps", "time", "wall_time", "params")

_GENERATOR_FIELDS = {
    "sparse_regression": {"n", "d", "sparsity", "noise_var", "seed"},
    "random_regression": {"n", "d", "seed", "positive"},
    "separable_classification": {"n", "d", "margin", "seed"},
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """Data: a generator of :mod:`implicit_bias.data` with its parameters, or a file ``path``."""

    generator: Literal["sparse_regression", "random_regression", "separable_classification"] | None = None
    path: str | None = None
    n: int | None = None
    d: int | None = None
    sparsity: int | None = None
    noise_var: float | None = None
    margin: float | None = None
    positive: bool | None = None
    seed: int = 0

    @field_validator("n", "d", "sparsity")
    @classmethod
    def _positive_int(cls, v, info):
        if v is not None and v < 1:
            raise ValueError(f"data.{info.field_name} must be >= 1")
        return v

    @field_validator("noise_var")
    @classmethod
    def _noise_var(cls, v):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise ValueError("data.noise_var must be a finite number >= 0")
        return v

    @model_validator(mode="after")
    def _one_source(self):
        if (self.generator is None) == (self.path is None):
            raise ValueError("data needs exactly one of 'generator' (sparse_regression, random_regression, separable_classification) or 'path'")
        if self.generator is not None:
            allowed = _GENERATOR_FIELDS[self.generator]
            given = {k for k in ("n", "d", "sparsity", "noise_var", "margin", "positive") if getattr(self, k) is not None}
            bad = sorted(given - allowed)
            if bad:
                raise ValueError(f"data field(s) {bad} do not apply to generator {self.generator}; allowed: {sorted(allowed)}")
        return self


class ModelConfig(_Strict):
    """Model: ``linear``, ``diagonal``, ``fc``, ``neuron``, ``relu`` or ``factorization`` with the DESIGN.md hyperparameters."""

    name: Literal[MODEL_NAMES] = "linear"
    depth: int = 2
    untied: bool = False
    scale: float = 1.0
    shape: float = 0.0
    init: str | None = None  # an .npz of initial parameters by name
    widths: list[int] = [1]  # fc, mlp: hidden widths m_1..m_{L-1}
    activation: str | None = None  # fc (linear | relu | leaky_relu; default linear), neuron and mlp (default relu), relu (relu | relu_power:k; default relu)
    slope: float = 0.01  # leaky_relu
    width: int = 100  # relu: hidden units k
    skip: bool = False  # relu: linear skip connection
    init_dist: Literal["gaussian", "uniform", "binary-uniform", "pytorch"] = "gaussian"  # relu (montufar2024 Thm 6)
    sigma_w: float = 1.0
    sigma_b: float = 1.0
    a_w: float = 1.0
    a_b: float = 1.0
    antisymmetric: bool = False  # relu: paired units, f(., theta_0) = 0 (even width; montufar2024 Thm 5's setting without f0)
    bias: Literal["first", "none", "all"] = "first"  # mlp: where the biases are ("first" keeps it homogeneous)
    outputs: int = 1  # mlp: number of outputs (C > 1 with the cross-entropy loss)

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, v):
        if v < 1:
            raise ValueError("outputs must be >= 1")
        return v
    symmetric: bool = False  # factorization: W = U U^T

    @field_validator("widths")
    @classmethod
    def _widths(cls, v):
        if any(m < 1 for m in v):
            raise ValueError("widths must be positive integers")
        return v

    @field_validator("width")
    @classmethod
    def _width(cls, v):
        if v < 1:
            raise ValueError("width must be >= 1")
        return v

    @field_validator("depth")
    @classmethod
    def _depth(cls, v):
        if v < 1:
            raise ValueError("depth must be >= 1")
        return v

    @field_validator("scale", "shape")
    @classmethod
    def _finite(cls, v, info):
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        if info.field_name == "scale" and v <= 0:
            raise ValueError("model.scale must be > 0")
        if info.field_name == "shape" and not -1 < v < 1:
            raise ValueError("model.shape must lie in (-1, 1)")
        return v

    @model_validator(mode="after")
    def _activation(self):
        if self.antisymmetric and self.name != "relu":
            raise ValueError(f"model.antisymmetric (paired units, f(., theta_0) = 0) applies to model relu, not {self.name}")
        a = self.activation
        if a is None:
            return self
        if self.name == "relu":
            from .models import activation_degree

            activation_degree(a)  # relu | relu_power:k: the activations with a known Green's operator (montufar2024 Thm 9)
        elif a not in ("linear", "relu", "leaky_relu"):
            raise ValueError(f"activation {a!r} is not available for model {self.name}: use linear, relu or leaky_relu (relu_power:k is for model relu)")
        return self


class AlgorithmConfig(_Strict):
    """Algorithm and its hyperparameters (``lr`` is required by the discrete ones)."""

    name: Literal[ALGORITHM_NAMES] = "flow"
    lr: float | None = None
    batch_size: int = 1
    sampling: Literal["iid", "reshuffle"] = "iid"  # sgd: independent batches, or random reshuffling (each sample once per epoch)
    noise: float | None = None  # label-noise-sgd, param-noise-gd: the noise standard deviation (required)
    potential: str = "quadratic"
    norm: str = "l2"
    normalize: bool = False
    rtol: float | None = None  # flow/reduced; default: each one's own (1e-10)
    atol: float | None = None  # flow/reduced; default: each one's own (flow 1e-12, reduced 1e-16)
    solver: Literal["tsit5", "dopri5", "dopri8", "kvaerno5"] | None = None  # flow/reduced; default: each one's own
    clock: Literal["time", "normalized", "accuracy"] = "time"  # flow/reduced: see GradientFlow
    objective: Literal["loss", "igr"] = "loss"  # flow: the flow of L, or of L + (lr/4)||grad L||^2 (barrett-dherin2021; needs lr)
    affine: Literal["exact", "gd"] | None = None  # width-scaled-gd: affine part (skip, b2) eliminated (exact, the default) or plain GD

    @model_validator(mode="after")
    def _lr(self):
        if self.name not in FLOW_NAMES and self.lr is None:
            raise ValueError(f"algorithm {self.name} needs a step size: add 'lr' to algorithm")
        if self.lr is not None and not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError("algorithm.lr must be a finite number > 0")
        if self.batch_size < 1:
            raise ValueError("algorithm.batch_size must be >= 1")
        if self.name in NOISE_NAMES and self.noise is None:
            raise ValueError(f"algorithm {self.name} needs a noise level: add 'noise' (a standard deviation >= 0) to algorithm, or --noise")
        if self.noise is not None and not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError("algorithm.noise must be a finite number >= 0 (a standard deviation)")
        if self.noise is not None and self.name not in NOISE_NAMES:
            raise ValueError(f"algorithm.noise applies to {' or '.join(NOISE_NAMES)}, not {self.name}")
        if self.sampling != "iid" and self.name != "sgd":
            raise ValueError(f"algorithm.sampling applies to sgd, not {self.name}")
        if self.clock != "time" and self.name not in FLOW_NAMES:
            raise ValueError(f"algorithm.clock applies to flow or reduced, not {self.name}")
        if self.affine is not None and self.name != "width-scaled-gd":
            raise ValueError(f"algorithm.affine applies to width-scaled-gd, not {self.name}")
        if self.objective == "igr":
            if self.name != "flow":
                raise ValueError(f"algorithm.objective igr (the modified loss L + (lr/4)||grad L||^2) applies to flow, not {self.name}: use --algorithm flow --objective igr --lr ETA")
            if self.lr is None:
                raise ValueError("algorithm.objective igr needs the step size of the GD it models: add 'lr' to algorithm (--lr ETA)")
            if self.clock != "time":
                raise ValueError(f"algorithm.objective igr follows the flow in time t = k lr: use clock time, not {self.clock}")
        return self


class StopConfig(_Strict):
    """Stopping rule (:class:`implicit_bias.Stop`)."""

    loss: float | None = None
    training_accuracy: float | None = None
    max_steps: int | None = 100_000
    max_time: float | None = None


class RunConfig(_Strict):
    """One point: everything needed to train once."""

    data: DataConfig
    model: ModelConfig = ModelConfig()
    loss: str = "square"
    algorithm: AlgorithmConfig = AlgorithmConfig()
    stop: StopConfig = StopConfig()
    seed: int = 0

    @field_validator("loss")
    @classmethod
    def _loss(cls, v):
        return _check_loss(v)


class SweepConfig(_Strict):
    """A sweep: a base run, a grid (cartesian product of axes), zip groups, seeds, records."""

    name: str
    data: DataConfig
    model: ModelConfig = ModelConfig()
    loss: str = "square"
    algorithm: AlgorithmConfig = AlgorithmConfig()
    stop: StopConfig = StopConfig()
    record: list[str] = ["predictor", "final_loss", "training_accuracy", "test_error", "status"]
    grid: dict[str, list[Any]] = {}
    zip: list[dict[str, list[Any]]] = []
    seeds: list[int] = [0]

    @field_validator("loss")
    @classmethod
    def _loss(cls, v):
        return _check_loss(v)

    @field_validator("name")
    @classmethod
    def _name(cls, v):
        import re

        if not re.fullmatch(r"[A-Za-z0-9_.-]+", v):
            raise ValueError("name may contain only letters, digits, '_', '.', '-'")
        return v

    @field_validator("record")
    @classmethod
    def _record(cls, v):
        bad = [r for r in v if r not in RECORDABLE]
        if bad:
            raise ValueError(f"unknown record field(s) {bad}; allowed: {', '.join(RECORDABLE)}")
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if not v:
            raise ValueError("seeds needs at least one seed")
        if len(set(v)) != len(v):
            raise ValueError("seeds must be distinct")
        return v

    @model_validator(mode="after")
    def _axes(self):
        axes = list(self.grid)
        for group in self.zip:
            lens = {k: len(v) for k, v in group.items()}
            if len(set(lens.values())) > 1:
                raise ValueError(f"zip group {sorted(group)} has lists of different lengths {lens}; they must match")
            axes += list(group)
        seen = set()
        for key in axes:
            if key in seen:
                raise ValueError(f"axis {key!r} appears twice in grid/zip")
            seen.add(key)
            _check_axis(key)
        for key, vals in list(self.grid.items()) + [kv for g in self.zip for kv in g.items()]:
            if not vals:
                raise ValueError(f"axis {key!r} has no values")
        return self


def _check_loss(v: str) -> str:
    """A loss name :func:`build_loss` knows (``auto`` too), or ``ValueError`` naming them."""
    if v == "auto":
        return v
    from .losses import get_loss

    get_loss(v)  # ValueError: "unknown loss ...: use one of ..."
    return v


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "algorithm": AlgorithmConfig, "stop": StopConfig}


def _check_axis(key: str):
    if key == "loss":
        return
    parts = key.split(".")
    allowed = [f"{s}.{f}" for s, c in _SECTIONS.items() for f in c.model_fields] + ["loss"]
    if len(parts) != 2 or parts[0] not in _SECTIONS or parts[1] not in _SECTIONS[parts[0]].model_fields:
        close = difflib.get_close_matches(key, allowed, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; allowed: {', '.join(allowed)}"
        raise ValueError(f"unknown grid axis {key!r}{hint}")


def _allowed_at(cls, loc):
    """The field names allowed at a pydantic error location (for 'unknown field' messages)."""
    c = cls
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        f = c.model_fields.get(part) if hasattr(c, "model_fields") else None
        if f is None:
            return None
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            c = ann
        else:
            return None
    return list(c.model_fields) if hasattr(c, "model_fields") else None


def format_validation_error(e: ValidationError, cls=SweepConfig, source: str = "config") -> str:
    """One line naming the first problem: the field, what is wrong, what is allowed."""
    err = e.errors()[0]
    loc = tuple(err.get("loc", ()))
    where = ".".join(str(p) for p in loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        allowed = _allowed_at(cls, loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed or [], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"{source}: unknown field {where!r}{hint}; allowed: {', '.join(allowed or [])}"
    if err["type"] == "missing":
        return f"{source}: missing required field {where!r}"
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    if err["type"] == "literal_error":
        return f"{source}: {where}: {msg}; received {err.get('input')!r}"
    return f"{source}: {where}: {msg}" + (f" (received {err.get('input')!r})" if err["type"] not in ("value_error",) and not isinstance(err.get("input"), dict) else "")


def load_sweep_config(source) -> SweepConfig:
    """Read a sweep config from a YAML file path, a YAML string, a dict or a SweepConfig.

    Raises:
        ValueError: unreadable file, invalid YAML, or a schema violation (one line).
    """
    if isinstance(source, SweepConfig):
        return source
    name = "config"
    if isinstance(source, (str, os.PathLike)) and (os.fspath(source).endswith((".yaml", ".yml")) or os.path.exists(os.fspath(source))):
        p = os.fspath(source)
        if not os.path.exists(p):
            raise ValueError(f"config file {p!r} does not exist")
        name = os.path.basename(p)
        try:
            with open(p) as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"config file {p!r} cannot be read ({type(e).__name__})") from None
        source = text
    if isinstance(source, str):
        try:
            source = yaml.safe_load(source)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise ValueError(f"{name}: invalid YAML{at}; check indentation and quoting") from None
    if not isinstance(source, dict):
        raise ValueError(f"{name}: a sweep config must be a mapping with keys name, data, model, ...; received {type(source).__name__}")
    try:
        return SweepConfig.model_validate(source)
    except ValidationError as e:
        raise ValueError(format_validation_error(e, SweepConfig, name)) from None


def load_init(path: str, what: str = "--init") -> dict:
    """Initial parameters by name from an ``.npz`` (no pickle); ``ValueError`` naming ``what``."""
    if not os.path.exists(path):
        raise ValueError(f"{what} file {path!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: np.asarray(f[k], dtype=np.float64) for k in f.files}
    except Exception as e:
        raise ValueError(f"{what} {path!r}: cannot read as .npz of named arrays ({type(e).__name__})") from None


def make_model(
    name: str,
    dim: int,
    *,
    depth=2,
    untied=False,
    scale=1.0,
    shape=0.0,
    init: dict | None = None,
    widths=(1,),
    activation: str | None = None,
    slope: float = 0.01,
    width: int = 100,
    skip: bool = False,
    init_dist: str = "gaussian",
    sigma_w: float = 1.0,
    sigma_b: float = 1.0,
    a_w: float = 1.0,
    a_b: float = 1.0,
    bias: str = "first",
    outputs: int = 1,
    antisymmetric: bool = False,
):
    """The model called ``name`` (``linear``, ``diagonal``, ``fc``, ``neuron``, ``relu``) for inputs
    of dimension ``dim``; the one place where ``ibias fit`` flags and sweep configs become a model
    (DESIGN.md model table). ``init`` (parameters by name) overrides scale/shape/``init_dist``.
    ``activation`` defaults to ``linear`` for ``fc`` and ``relu`` for ``neuron`` and ``relu``
    (``relu`` also takes ``relu_power:k``, the activation ``[x]_+^k`` of montufar2024 Thm 9).
    ``antisymmetric`` (``relu`` only) pairs the hidden units so that ``f(., theta_0) = 0``."""
    from . import models

    if antisymmetric and name != "relu":
        raise ValueError(f"antisymmetric (paired units, f(., theta_0) = 0) applies to model relu, not {name}")
    if name == "linear":
        return models.Linear(dim, w0=None if init is None else init.get("w"))
    if name == "diagonal":
        return models.Diagonal(dim, depth=depth, tied=not untied, scale=scale, shape=shape, init_params=init)
    if name == "fc":
        return models.FullyConnected(dim, widths=tuple(widths), activation=activation or "linear", slope=slope, scale=scale, shape=shape, init_params=init)
    if name == "neuron":
        return models.SingleNeuron(dim, activation=activation or "relu", slope=slope, scale=scale, init_params=init)
    if name == "relu":
        if init_dist == "breakpoints" and init is None:
            raise ValueError("init 'breakpoints' needs a breakpoint density (a function): build ShallowReLU(init_dist='breakpoints', breakpoint_density=...) in Python")
        return models.ShallowReLU(
            width, input_dim=dim, skip=skip, init_dist=init_dist, sigma_w=sigma_w, sigma_b=sigma_b, a_w=a_w, a_b=a_b, init_params=init, activation=activation or "relu", antisymmetric=antisymmetric
        )
    if name == "mlp":
        return models.MLP(dim, widths=tuple(widths), activation=activation or "relu", bias=bias, outputs=outputs, slope=slope, scale=scale, init_params=init)
    if name == "conv":  # gunasekar2018: full-width linear conv net, params w1..wL (d,)
        bad = {k: np.shape(v) for k, v in (init or {}).items() if np.ndim(v) == 1 and np.shape(v) != (dim,)}
        if bad:
            k = sorted(bad)[0]
            raise ValueError(f"model conv: initial filter {k!r} has length {bad[k][0]} but the data have dimension {dim} (the filters are full width: each w1..wL has the input's length); give filters of length {dim}")
        return models.LinearConv(dim, depth=depth, scale=scale, init_params=init)
    if name in MATRIX_MODEL_NAMES:
        raise ValueError(f"model {name!r} is a model of a matrix: it is built from matrix data by build_matrix_model (ibias fit DATA.npz with entries/y/shape or A/y)")
    raise ValueError(f"model {name!r} is not available: use one of {', '.join(MODEL_NAMES)}")


def build_data(dc: DataConfig):
    """The :class:`~implicit_bias.data.Dataset` of a data config: a file or a generator."""
    from . import data as ibdata

    if dc.path is not None:
        return ibdata.load(dc.path)
    kw = {k: getattr(dc, k) for k in _GENERATOR_FIELDS[dc.generator] if getattr(dc, k) is not None}
    return getattr(ibdata, dc.generator)(**kw)


def build_model(mc: ModelConfig, dim: int, *, init_label: str = "model.init"):
    """The model of a model config for inputs of dimension ``dim`` (see :func:`make_model`).

    ``mc.init`` (an ``.npz`` of initial parameters) is read with :func:`load_init`; its errors
    name the file as ``init_label`` (``--init`` for the CLI).
    """
    init = load_init(mc.init, init_label) if mc.init is not None else None
    return make_model(
        mc.name,
        dim,
        depth=mc.depth,
        untied=mc.untied,
        scale=mc.scale,
        shape=mc.shape,
        init=init,
        **{k: getattr(mc, k) for k in ("widths", "activation", "slope", "width", "skip", "init_dist", "sigma_w", "sigma_b", "a_w", "a_b", "bias", "outputs", "antisymmetric")},
    )


def build_loss(name: str, task: str | None = None):
    """The loss called ``name`` (:func:`implicit_bias.losses.get_loss`); with the data's ``task``
    given, ``auto`` is ``logistic`` for classification and ``square`` for regression."""
    from .losses import get_loss

    if name == "auto" and task is not None:
        name = "logistic" if task == "classification" else "square"
    return get_loss(name)


def build_algorithm(ac: AlgorithmConfig, data=None, model=None):
    """The algorithm of an algorithm config (:func:`implicit_bias.algorithms.get_algorithm`).

    Flows get ``clock`` and, when set, ``rtol``, ``atol`` and ``solver``; ``flow`` with
    ``objective: igr`` also gets ``objective`` and ``lr`` (the flow of the modified loss
    ``L + (lr/4)||grad L||^2``, barrett-dherin2021); discrete algorithms get
    ``lr`` and their own hyperparameters (``batch_size`` for sgd, ``potential`` for mirror,
    ``norm`` and ``normalize`` for steepest, ``noise`` for the noisy ones and ``batch_size`` for
    label-noise-sgd); ``width-scaled-gd`` is :class:`~implicit_bias.algorithms.WidthScaledGD`
    built on the training data ``data`` (a :class:`~implicit_bias.data.Dataset`, required) with
    ``eta_bar = lr`` and ``affine`` (default ``exact``); for data with ``d > 1`` inputs or a
    ``model`` with the ``relu_power:k`` activation it is
    :class:`~implicit_bias.algorithms.PowerWidthScaledGD` (the same step for montufar2024 Thms 8
    and 9; ``affine`` must be ``exact`` there).
    """
    from .algorithms import get_algorithm, get_solver

    if ac.name == "width-scaled-gd":
        if data is None:
            raise ValueError("algorithm width-scaled-gd is built on the training data: call build_algorithm(ac, data)")
        X = np.asarray(data.X)
        from .algorithms import PowerWidthScaledGD
        from .models import ShallowReLU

        power = isinstance(model, ShallowReLU) and model.activation != "relu"
        if (X.ndim == 2 and X.shape[1] > 1) or power:

            if ac.affine == "gd":
                why = f"d = {X.shape[1]} inputs" if not power else f"activation {model.activation}"
                raise ValueError(f"algorithm.affine gd (plain GD on the affine part) is for univariate relu nets; with {why} width-scaled-gd eliminates the affine part: use affine exact (or omit it)")
            return PowerWidthScaledGD(X, np.asarray(data.y), ac.lr)
        return get_algorithm(ac.name, X=X, y=np.asarray(data.y), eta_bar=ac.lr, affine=ac.affine or "exact")

    kw = {}
    if ac.name in FLOW_NAMES:
        kw = {k: getattr(ac, k) for k in ("rtol", "atol") if getattr(ac, k) is not None}
        kw["clock"] = ac.clock
        if ac.solver is not None:
            kw["solver"] = get_solver(ac.solver)
        if ac.objective != "loss":
            kw["objective"] = ac.objective
            kw["lr"] = ac.lr
    else:
        kw["lr"] = ac.lr
        if ac.name in ("sgd", "label-noise-sgd"):
            kw["batch_size"] = ac.batch_size
        if ac.name == "sgd":
            kw["sampling"] = ac.sampling
        if ac.name in NOISE_NAMES:
            kw["noise"] = ac.noise
        if ac.name == "mirror":
            kw["potential"] = ac.potential
        if ac.name == "steepest":
            kw["norm"] = ac.norm
            kw["normalize"] = ac.normalize
    return get_algorithm(ac.name, **kw)


def build_stop(sc: StopConfig):
    """The :class:`~implicit_bias.Stop` of a stop config."""
    from .train import Stop

    return Stop(loss=sc.loss, training_accuracy=sc.training_accuracy, max_steps=sc.max_steps, max_time=sc.max_time)


def build_predictions(names) -> list:
    """The theory predictions called ``names`` (:func:`implicit_bias.theory.get_prediction`)."""
    from .theory import get_prediction

    return [get_prediction(n) for n in names]


def auto_predictions(auto: bool, explicit: list, ctx) -> tuple[list, list[dict]]:
    """``--predict auto``: the predictions (besides the ``explicit`` ones) whose assumptions the
    run's model, loss, algorithm and initialization meet, and ``{"name", "reason"}`` for the
    others (``predictions_skipped``); ``([], [])`` without ``auto``."""
    if not auto:
        return [], []
    from .theory import PREDICTIONS, select_predictions

    named = {p.name for p in explicit}
    return select_predictions(ctx, [n for n in PREDICTIONS if n not in named])


def compare_auto(auto_preds: list, ctx, run, skipped: list, compare) -> list:
    """The comparisons of the ``--predict auto`` predictions once the run has ended: none unless it
    ``converged`` (each is then skipped with that reason); a prediction that cannot be computed for
    these data (e.g. ``commuting-limit`` on non-commuting sensing) is skipped with its error."""
    from .theory import select_predictions

    kept, late = select_predictions(ctx, [p.name for p in auto_preds], status=run.status)
    skipped.extend(late)
    out = []
    for p in kept:
        try:
            out += compare([p])
        except ValueError as e:
            skipped.append({"name": p.name, "reason": str(e)})
    return out


def prediction_context(ds, model, params0, loss, ac: AlgorithmConfig):
    """What a prediction may use (:class:`implicit_bias.theory.predictions.Context`).

    The potential is the algorithm's geometry: ``ac.potential`` for mirror descent, ``quadratic``
    for the Euclidean algorithms (gd, sgd, flow, reduced), none otherwise.
    """
    from .losses import Polynomial
    from .theory.predictions import Context

    euclidean = ("gd", "sgd") + FLOW_NAMES
    return Context(
        X=ds.X,
        y=ds.y,
        w0=np.asarray(model.predictor(params0)) if model.has_predictor else None,
        potential=ac.potential if ac.name == "mirror" else ("quadratic" if ac.name in euclidean else None),
        model=model,
        params0=params0,
        polynomial_k=float(loss.k) if isinstance(loss, Polynomial) else None,
        task=ds.task,
        loss=loss.name,
        algorithm=ac.name,
        norm=ac.norm if ac.name == "steepest" else None,
    )


def build(run: RunConfig):
    """Turn a :class:`RunConfig` into ``(dataset, model, loss, algorithm, stop)`` objects."""
    ds = build_data(run.data)
    model = build_model(run.model, ds.dim)
    return ds, model, build_loss(run.loss), build_algorithm(run.algorithm, ds, model), build_stop(run.stop)


def build_matrix_data(path: str):
    """The :class:`~implicit_bias.matrix_data.MatrixDataset` of an ``.npz`` file (``entries, y,
    shape`` for completion or ``A, y`` for sensing; :func:`~implicit_bias.matrix_data.load_matrix`)."""
    from .matrix_data import load_matrix

    return load_matrix(path)


def build_matrix_model(mc: ModelConfig, data, *, init_label: str = "model.init"):
    """The matrix model of a model config for the observations ``data`` (a ``MatrixDataset``):
    ``factorization`` is :class:`~implicit_bias.models.MatrixFactorization` of ``data.shape`` with
    ``depth``, ``scale``, ``symmetric`` and ``init`` (one of :data:`MATRIX_INITS`, or an ``.npz`` of
    the factors ``W1..WL`` / ``U`` read with :func:`load_init`)."""
    from .models import MatrixFactorization

    if mc.name not in MATRIX_MODEL_NAMES:
        raise ValueError(f"model {mc.name!r} is not a matrix model: use one of {', '.join(MATRIX_MODEL_NAMES)}")
    initialization, params = None, None
    if mc.init is not None and mc.init.strip().lower() in MATRIX_INITS:
        initialization = mc.init.strip().lower()
    elif mc.init is not None:
        params = load_init(mc.init, init_label)
    return MatrixFactorization(data.shape, depth=mc.depth, scale=mc.scale, initialization=initialization, symmetric=mc.symmetric, observations=data.kind, init_params=params)
