"""The runner: loads every paper module, looks experiments up, saves results as strict JSON.
The experiments themselves run in tests/experiments/test_registry.py."""

import json
import math

import numpy as np
import pytest
import xarray as xr

from implicit_bias import experiments
from implicit_bias.experiments import registry, runner


def test_registry_imports_no_paper_module():
    import ast
    import pathlib

    tree = ast.parse(pathlib.Path(registry.__file__).read_text())
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    papers = {"diagonal", "diagonal_classification", "fc", "linear", "splines", "stability"}
    assert not any(m.split(".")[-1] in papers for m in imported), imported
    assert not any(isinstance(n, ast.ImportFrom) and n.level == 1 and n.module is None for n in ast.walk(tree))  # no `from . import paper`


def test_load_all_registers_every_paper_module():
    table = runner.load_all()
    assert table is registry.REGISTRY
    assert {e.paper for e in table.values()} >= {"montufar2024", "azulay2021", "moroshko2020", "mulayoff2021", "jin-montufar2023"}


def test_select_get_and_public_names():
    ids = [e.id for e in runner.select()]
    assert len(ids) == len(set(ids)) >= 6
    assert all(e.kind == "check" for e in runner.select(kind="check"))
    assert [e.id for e in runner.select("montufar2024-thm1*")] == [i for i in ids if i.startswith("montufar2024-thm1")]
    assert runner.get(ids[0]) is registry.REGISTRY[ids[0]]
    for name in ("get", "select", "run", "save", "load_all"):
        assert getattr(experiments, name) is getattr(runner, name)
    with pytest.raises(ValueError, match="unknown experiment id"):
        runner.get("no-such-experiment")


def test_save_writes_strict_json_with_nonfinite_strings(tmp_path):
    checks = [registry.CheckResult.compare("x/1", "c", "vardi2022", "Thm 1", math.nan, math.inf, math.nan, 1e-6, slopes=np.array([1.0, -math.inf]), per={1: 0.5})]
    res = registry.ExperimentResult(data=xr.Dataset({"v": ("n", np.arange(3.0))}, attrs={"grid": [0.1, math.nan], "n": 3}), checks=checks, id="x", profile="quick", wall_time=0.5)
    paths = runner.save(res, tmp_path)
    assert set(paths) == {"nc", "json"}
    text = open(paths["json"]).read()
    meta = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON token {c}"))
    c = meta["checks"][0]
    assert (c["measured"], c["predicted"], c["error"], c["passed"]) == ("NaN", "Infinity", "NaN", False)
    assert c["details"] == {"slopes": [1.0, "-Infinity"], "per": {"1": 0.5}}
    assert meta["passed"] is False and meta["wall_time"] == 0.5
    with xr.open_dataset(paths["nc"]) as ds:
        assert json.loads(ds.attrs["grid"]) == [0.1, "NaN"] and ds.attrs["n"] == 3
