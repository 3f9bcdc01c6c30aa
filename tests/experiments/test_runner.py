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


# ------------------------------------------------------------ the static index (`ibias list`)


def test_the_static_index_equals_the_live_registry():
    # `ibias list` prints experiments/_index.json without importing the paper modules; an
    # experiment added, removed or renamed without `make experiments-index` fails here
    assert runner.index_difference() == ""
    assert runner.index() == runner.live_index()
    assert [e["id"] for e in runner.index()] == list(runner.load_all())


def test_a_stale_index_is_named_with_the_command_that_regenerates_it():
    live = runner.live_index()
    entry = dict(live[0], title="an old title")
    msg = runner.index_difference([entry] + live[2:], live)
    assert f"not in it: {live[1]['id']}" in msg and f"changed: {live[0]['id']}" in msg and "`make experiments-index`" in msg
    assert "no longer registered: gone" in runner.index_difference(live + [dict(live[0], id="gone")], live)
    assert "order" in runner.index_difference(live[::-1], live)


def test_listing_selects_like_select_without_loading(tmp_path):
    for pattern, kind in ((None, None), ("montufar2024-thm1*", None), ("fig", "figure"), (None, "check")):
        assert [e["id"] for e in runner.listing(pattern, kind)] == [e.id for e in runner.select(pattern, kind)]
    path = runner.write_index(tmp_path / "index.json")
    assert json.loads(open(path).read()) == runner.live_index()


# --------------------------------------------------------------- running in worker processes


def test_longest_expected_first_from_earlier_results(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"id": "a", "profile": "quick", "wall_time": 3.0}))
    (tmp_path / "b.json").write_text(json.dumps({"id": "b", "profile": "full", "wall_time": 9.0}))  # another profile: not used
    cost = runner.expected_seconds(["a", "b", "no-such-experiment"], "quick", tmp_path)
    assert cost["a"] == 3.0
    assert cost["b"] == cost["no-such-experiment"] == max(cost.values())  # unknown: as long as the longest known
    assert runner.usable_cores() >= 1
    with pytest.raises(ValueError, match="jobs must be >= 1"):
        runner.run_many(["a"], "quick", tmp_path, jobs=0)
