"""The tutorial (docs/tutorial.py, jupytext percent format) runs and reaches its claims."""

from __future__ import annotations

import os
import pathlib
import runpy

import numpy as np
import pytest

TUTORIAL = pathlib.Path(__file__).resolve().parents[1] / "docs" / "tutorial.py"


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("tutorial")
    old_cwd, old_backend = os.getcwd(), os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    os.chdir(cwd)
    try:
        ns = runpy.run_path(str(TUTORIAL), run_name="__main__")
    finally:
        os.chdir(old_cwd)
        if old_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old_backend
    ns["_cwd"] = cwd
    return ns


def test_tutorial_is_percent_format():
    text = TUTORIAL.read_text(encoding="utf-8")
    assert "# %% [markdown]" in text and "\n# %%\n" in text
    assert "plt.show()" not in text


def test_regression_reaches_min_distance_interpolant(tutorial):
    assert tutorial["run_gd"].status == "converged"
    assert tutorial["run_gf"].status == "converged"
    assert tutorial["err_gd"] < 1e-6
    assert tutorial["err_gf"] < 1e-6
    assert tutorial["err_min_norm"] > 0.1  # the initialization matters


def test_mirror_descent_reaches_bregman_interpolant(tutorial):
    assert tutorial["run_md"].status == "converged"
    assert tutorial["err_md"] < 1e-6
    assert tutorial["err_md_vs_euclid"] > 1e-3  # a different point than the Euclidean one


def test_classification_turns_to_max_margin(tutorial):
    assert tutorial["dist_cls"] < 0.1
    assert tutorial["gap_decreases"]
    assert np.all(np.isfinite(tutorial["dist_path"]))


def test_trajectory_and_figure(tutorial):
    traj = tutorial["traj"]
    assert {"step", "time"} <= set(traj.coords) and "predictor" in traj
    fig_path = pathlib.Path(tutorial["fig_path"])
    assert fig_path.exists() and fig_path.stat().st_size > 5_000
    assert not any(tutorial["_cwd"].iterdir()), "the tutorial must not write into the working folder"


def test_cli_json_agrees(tutorial):
    fit = tutorial["fit"]
    assert fit["status"] == "converged"
    assert fit["predictions"][0]["name"] == "min-distance"
    assert tutorial["cli_error"] < 1e-6
    assert tutorial["cli_agrees"] < 1e-6
