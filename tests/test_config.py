import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from implicit_bias.config import RunConfig, build, load_sweep_config

BASE = """
name: t
data: {generator: sparse_regression, n: 10, d: 20, sparsity: 2, noise_var: 0.01, seed: 0}
model: {name: diagonal, depth: 2, untied: true, scale: 0.1, shape: 0.0}
loss: square
algorithm: {name: flow}
stop: {loss: 1.0e-12, max_steps: 100000}
record: [predictor, final_loss, training_accuracy, test_error, status]
grid: {model.scale: [0.01, 0.1, 1.0], model.shape: [-0.5, 0.0, 0.5]}
seeds: [0, 1]
"""


def test_design_example_parses():
    cfg = load_sweep_config(BASE)
    assert cfg.model.untied and cfg.grid["model.scale"] == [0.01, 0.1, 1.0]


@pytest.mark.parametrize(
    "patch,fragment",
    [
        (("model: {name: diagonal", "model: {name: diagonal, sclae: 1"), "unknown field 'model.sclae' (did you mean 'scale'?)"),
        (("seeds: [0, 1]", "seeds: [0, 1]\nsede: 3"), "unknown field 'sede'"),
        (("grid: {model.scale", "grid: {model.scal"), "unknown grid axis 'model.scal'"),
        (("algorithm: {name: flow}", "algorithm: {name: gd}"), "needs a step size"),
        (("algorithm: {name: flow}", "algorithm: {name: adam}"), "algorithm.name"),
        (("record: [predictor", "record: [predictr"), "unknown record field"),
        (("seeds: [0, 1]", "seeds: []"), "at least one seed"),
        (("n: 10,", "margin: 3, n: 10,"), "do not apply to generator"),
        (("name: t", "name: 'a b'"), "name may contain only"),
        (("algorithm: {name: flow}", "algorithm: {name: label-noise-sgd, lr: 0.1}"), "needs a noise level"),
        (("algorithm: {name: flow}", "algorithm: {name: param-noise-gd, lr: 0.1, noise: -1}"), "algorithm.noise must be"),
        (("algorithm: {name: flow}", "algorithm: {name: gd, lr: 0.1, noise: 0.5}"), "algorithm.noise applies to"),
    ],
)
def test_bad_configs_get_one_line_naming_the_field(patch, fragment):
    src = BASE.replace(*patch)
    with pytest.raises(ValueError) as e:
        load_sweep_config(src)
    msg = str(e.value)
    assert fragment in msg and "\n" not in msg


def test_yaml_is_safe_loaded():
    # a python object tag must not construct anything
    with pytest.raises(ValueError, match="invalid YAML"):
        load_sweep_config("!!python/object/apply:os.system ['echo pwned']")


def test_build_makes_the_objects():
    run = RunConfig.model_validate({"data": {"generator": "random_regression", "n": 3, "d": 5}, "algorithm": {"name": "gd", "lr": 0.1}})
    ds, model, loss, alg, stop = build(run)
    assert ds.X.shape == (3, 5) and loss.name == "square" and alg.name == "gd" and stop.max_steps == 100_000


@pytest.mark.parametrize("name,extra", [("label-noise-sgd", {"batch_size": 2}), ("param-noise-gd", {})])
def test_build_makes_the_noisy_algorithms(name, extra):
    run = RunConfig.model_validate({"data": {"generator": "random_regression", "n": 3, "d": 5}, "algorithm": {"name": name, "lr": 0.05, "noise": 0.3, **extra}})
    alg = build(run)[3]
    assert alg.name == name and float(alg.lr) == 0.05 and float(alg.noise) == 0.3
    assert getattr(alg, "batch_size", 2) == 2


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
_values = st.recursive(_scalars, lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=6), c, max_size=3)), max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["name", "data", "model", "loss", "algorithm", "stop", "record", "grid", "zip", "seeds", "x"]), _values, max_size=6))


def test_fuzz_config_loader_never_crashes(d):
    # Every input either validates or raises ValueError with one line: never another exception.
    try:
        load_sweep_config(d)
    except ValueError as e:
        assert "\n" not in str(e)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))


def test_fuzz_yaml_text(text):
    try:
        load_sweep_config(text)
    except ValueError as e:
        assert "\n" not in str(e)


def test_relu_model_takes_the_relu_power_activation():
    # model relu, activation relu_power:k: ShallowReLU with [x]_+^k (montufar2024 Thm 9); the
    # activations without a known Green's operator, or relu_power for fc, fail naming the field
    run = RunConfig.model_validate({"data": {"generator": "random_regression", "n": 3, "d": 2}, "model": {"name": "relu", "width": 4, "activation": "relu_power:2"}, "algorithm": {"name": "gd", "lr": 0.1}})
    _, model, *_ = build(run)
    assert model.activation == "relu_power:2" and model.input_dim == 2
    _, model, *_ = build(RunConfig.model_validate({"data": {"generator": "random_regression", "n": 3, "d": 2}, "model": {"name": "relu", "width": 4}, "algorithm": {"name": "gd", "lr": 0.1}}))
    assert model.activation == "relu"
    for model_cfg, fragment in (("{name: relu, activation: tanh}", "activation must be 'relu' or 'relu_power:k'"), ("{name: fc, activation: 'relu_power:2'}", "is not available for model fc")):
        with pytest.raises(ValueError) as e:
            load_sweep_config(BASE.replace("model: {name: diagonal, depth: 2, untied: true, scale: 0.1, shape: 0.0}", f"model: {model_cfg}").replace("grid: {model.scale: [0.01, 0.1, 1.0], model.shape: [-0.5, 0.0, 0.5]}", "grid: {}"))
        assert fragment in str(e.value) and "\n" not in str(e.value), str(e.value)


def test_mlp_and_loss_scaled_gd_build_from_a_config():
    """Issue 22 names: model ``mlp`` (widths, bias, outputs) and algorithm ``loss-scaled-gd``."""
    from implicit_bias.algorithms import LossScaledGD
    from implicit_bias.config import RunConfig, build
    from implicit_bias.models import MLP

    rc = RunConfig.model_validate(
        dict(data=dict(generator="separable_classification", n=6, d=2, margin=0.2), model=dict(name="mlp", widths=[3, 4], bias="none", outputs=1), loss="logistic", algorithm=dict(name="loss-scaled-gd", lr=0.2))
    )
    _, m, _, a, _ = build(rc)
    assert isinstance(m, MLP) and m.widths == (3, 4) and m.bias == "none" and m.homogeneity_degree == 3
    assert isinstance(a, LossScaledGD) and float(a.lr) == 0.2
    with pytest.raises(ValueError, match="lr"):
        RunConfig.model_validate(dict(data=dict(generator="separable_classification"), algorithm=dict(name="loss-scaled-gd")))


@pytest.mark.parametrize(
    "patch, fragment",
    [
        ({"model": {"name": "diagonal", "scale": -0.01}}, "model.scale must be > 0"),
        ({"model": {"name": "diagonal", "shape": -1.0}}, "model.shape must lie in (-1, 1)"),
        ({"data": {"generator": "sparse_regression", "n": 0}}, "data.n must be >= 1"),
        ({"loss": "squared"}, "unknown loss 'squared'"),
    ],
)
def test_ranges_are_part_of_the_schema(patch, fragment):
    import re

    import yaml

    BASE_DICT = yaml.safe_load(BASE)
    # issue 20 item 5: out-of-range values are config errors, not run-time failures
    with pytest.raises(ValueError, match=re.escape(fragment)):
        load_sweep_config({**BASE_DICT, **patch})


def test_flow_objective_igr_builds_the_modified_flow():
    from implicit_bias.algorithms import GradientFlow

    run = RunConfig.model_validate({"data": {"generator": "random_regression", "n": 3, "d": 5}, "algorithm": {"name": "flow", "objective": "igr", "lr": 0.2}})
    alg = build(run)[3]
    assert isinstance(alg, GradientFlow) and alg.objective == "igr" and float(alg.lr) == 0.2
    # the default is the flow of L, and a flow's lr is still ignored without objective igr
    plain = build(RunConfig.model_validate({"data": {"generator": "random_regression", "n": 3, "d": 5}, "algorithm": {"name": "flow", "lr": 0.2}}))[3]
    assert plain.objective == "loss" and plain.lr is None


@pytest.mark.parametrize(
    "algorithm,fragment",
    [
        ({"name": "gd", "lr": 0.1, "objective": "igr"}, "applies to flow, not gd"),
        ({"name": "reduced", "lr": 0.1, "objective": "igr"}, "applies to flow, not reduced"),
        ({"name": "flow", "objective": "igr"}, "needs the step size of the GD it models"),
        ({"name": "flow", "objective": "igr", "lr": 0.1, "clock": "accuracy"}, "use clock time, not accuracy"),
        ({"name": "flow", "objective": "modified"}, "objective"),
    ],
)
def test_bad_objective_is_one_line_naming_the_field(algorithm, fragment):
    from pydantic import ValidationError

    from implicit_bias.config import format_validation_error

    with pytest.raises(ValidationError) as e:
        RunConfig.model_validate({"data": {"generator": "random_regression"}, "algorithm": algorithm})
    msg = format_validation_error(e.value, RunConfig)
    assert fragment in msg and "\n" not in msg


def test_relu_antisymmetric_and_width_scaled_gd_build_from_a_config():
    """Issue 19 item 16: model.antisymmetric and algorithm width-scaled-gd (lr = eta_bar, affine
    exact by default) in a run config: the objects the experiments of jin-montufar2023 use."""
    import numpy as np

    import implicit_bias as ib
    from implicit_bias.algorithms import WidthScaledGD
    from implicit_bias.models import ShallowReLU

    cfg = {"data": {"generator": "random_regression", "n": 4, "d": 1}, "model": {"name": "relu", "width": 8, "skip": True, "antisymmetric": True, "init_dist": "uniform"}, "algorithm": {"name": "width-scaled-gd", "lr": 2.0}}
    ds, m, loss, a, stop = build(RunConfig.model_validate(cfg))
    assert isinstance(m, ShallowReLU) and m.antisymmetric and m.skip and m.width == 8
    assert isinstance(a, WidthScaledGD) and a.eta_bar == 2.0 and a.affine == "exact" and a.xs == tuple(ds.X[:, 0])
    run = ib.train(m, ds, loss, a, ib.Stop(max_steps=3), seed=0)
    assert run.steps == 3 and np.isfinite(run.final_loss)
    assert build(RunConfig.model_validate(cfg | {"algorithm": {"name": "width-scaled-gd", "lr": 2.0, "affine": "gd"}}))[3].affine == "gd"
    for patch, fragment in (
        ({"algorithm": {"name": "gd", "lr": 0.1, "affine": "exact"}}, "algorithm.affine applies to width-scaled-gd, not gd"),
        ({"algorithm": {"name": "width-scaled-gd"}}, "needs a step size"),
        ({"model": {"name": "relu", "width": 7, "antisymmetric": True}}, "width must be even"),
        ({"model": {"name": "diagonal", "antisymmetric": True}}, "applies to model relu, not diagonal"),
    ):
        with pytest.raises(ValueError, match=fragment):
            build(RunConfig.model_validate(cfg | patch))
