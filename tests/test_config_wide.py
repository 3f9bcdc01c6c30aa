"""Sweep configs for the Thm 8 / Thm 9 settings (issue 24): ``algorithm: width-scaled-gd`` on data
with ``d > 1`` inputs or a ``relu_power:k`` net is :class:`PowerWidthScaledGD`, and ``ib.sweep``
trains exactly what ``experiments.wide.train_power_nets`` trains from the same initial parameters."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import implicit_bias as ib
from implicit_bias.algorithms import PowerWidthScaledGD, WidthScaledGD
from implicit_bias.config import RunConfig, build
from implicit_bias.experiments.wide import thm8_data, train_power_nets
from implicit_bias.models import ShallowReLU

pytestmark = pytest.mark.xdist_group("wide")


@pytest.fixture
def thm8_file(tmp_path):
    ds = thm8_data()
    path = tmp_path / "thm8.npz"
    np.savez(path, X=ds.X, y=ds.y)
    return str(path)


def _cfg(path, **model):
    return {"data": {"path": path}, "model": {"name": "relu", "width": 16, "skip": True, "antisymmetric": True, **model}, "algorithm": {"name": "width-scaled-gd", "lr": 5.0}}


def test_width_scaled_gd_config_builds_the_power_step_for_d2_and_relu_power(thm8_file, tmp_path):
    assert isinstance(build(RunConfig.model_validate(_cfg(thm8_file)))[3], PowerWidthScaledGD)
    x = np.linspace(-1, 1, 5)
    p1 = tmp_path / "d1.npz"
    np.savez(p1, X=x[:, None], y=np.sin(3 * x))
    assert isinstance(build(RunConfig.model_validate(_cfg(str(p1))))[3], WidthScaledGD)  # univariate relu: the fused step
    assert isinstance(build(RunConfig.model_validate(_cfg(str(p1), activation="relu_power:2")))[3], PowerWidthScaledGD)
    bad = _cfg(thm8_file) | {"algorithm": {"name": "width-scaled-gd", "lr": 5.0, "affine": "gd"}}
    with pytest.raises(ValueError, match="with d = 2 inputs width-scaled-gd eliminates the affine part: use affine exact"):
        build(RunConfig.model_validate(bad))


def test_sweep_over_widths_is_train_power_nets_from_the_same_inits(thm8_file, tmp_path):
    """The sweep starts from ``model.init`` (affine part not fitted); ``train_power_nets`` fits it
    first: the step takes its gradient with the affine part at its least-squares fit, so the
    iterates agree to round-off (100 steps, widths 8 and 24, two seeds)."""
    widths, seeds, steps = [8, 24], [0, 1], 100
    cfg = _cfg(thm8_file) | {
        "name": "thm8-test", "stop": {"loss": 1e-10, "max_steps": steps}, "record": ["final_loss", "status", "steps", "params"],
        "grid": {"model.width": widths}, "seeds": seeds,
    }
    out = ib.sweep(cfg, backend="vmap", store=str(tmp_path / "store"), progress=False)
    ds = thm8_data()
    inits = [ShallowReLU(w, input_dim=2, skip=True, antisymmetric=True).init(jax.random.fold_in(jax.random.key(s), 0)) for w in widths for s in seeds]
    params, runs = train_power_nets(ds.X, ds.y, inits, 1, 5.0, loss=1e-10, max_steps=steps)
    i = 0
    for w in widths:
        for s in seeds:
            pt = out.sel({"model.width": w, "seed": s})
            assert str(pt.status.values) == "max_steps" and int(pt.steps) == steps == runs[i].steps
            for k in ("w1", "b1", "w2", "skip", "b2"):
                got = np.asarray(pt["param_" + k].values, dtype=np.float64)
                got = got[np.isfinite(got)].reshape(np.shape(params[i][k]))  # the sweep pads params to the widest point
                np.testing.assert_allclose(got, params[i][k], rtol=1e-9, atol=1e-12, err_msg=f"{k} n={w} seed={s}")
            i += 1
