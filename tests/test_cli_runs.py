"""``ibias runs ls|show|rm|export`` through typer's CliRunner on the sub-app."""

import json
import sys

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from implicit_bias._cli_runs import runs_app
from implicit_bias.store import Store

runner = CliRunner()


def invoke(*args):
    return runner.invoke(runs_app, [str(a) for a in args])


def ok(*args):
    res = invoke(*args)
    assert res.exit_code == 0, (res.output, res.exception)
    return res.output


def error(*args) -> str:
    res = invoke(*args)
    assert isinstance(res.exception, ValueError), (res.output, res.exception)
    return str(res.exception)


def _point(st, i, status):
    key = Store.key({"i": i})
    st.put(key, {"predictor": (("dim",), np.full(4, float(i))), "steps": ((), np.int64(10 * i))}, {"status": status, "final_loss": float("nan") if status == "diverged" else 1e-12, "run_config": {"i": i}}, index={"sweep": "fig", "status": status})
    return key


@pytest.fixture
def store(tmp_path):
    st = Store(tmp_path / "runs")
    statuses = ["converged", "diverged", "max_steps", "converged"]
    keys = [_point(st, i, s) for i, s in enumerate(statuses)]
    pending = Store.key({"i": 99})
    st.put_sweep(
        "fig",
        {
            "config": {"name": "fig", "model": {"name": "diagonal"}, "grid": {"model.scale": [0.1, 1.0]}, "seeds": [0, 1, 2]},
            "axes": [["model.scale", [["model.scale", [0.1, 1.0]]]], ["seed", [["seed", [0, 1, 2]]]]],
            "keys": keys[:3] + [pending, keys[3], keys[0]],  # one pending, one repeated
            "created": "2026-01-01T00:00:00+00:00",
            "backend": "vmap",
        },
    )
    st.put_sweep("empty", {"keys": []})
    loose = Store.key({"loose": True})
    st.put(loose, {"w": (("d",), np.zeros(2))}, {"note": "by hand"}, index={"status": "converged"})
    return st, keys, loose


def test_ls_text_and_json(store):
    st, keys, loose = store
    out = ok("ls", "--store", st.root)
    lines = out.splitlines()
    # issue 20 item 4: counts by status in the words of `sweep`/`show`/`export`, not "FAILED 2"
    assert lines[0].split() == ["SWEEP", "DONE/TOTAL", "CREATED", "STATUS"]
    assert lines[1].split()[0] == "empty" and lines[1].split()[1] == "0/0"
    assert lines[2].split()[:3] == ["fig", "5/6", "2026-01-01T00:00:00+00:00"]
    assert lines[2].endswith("converged 3, diverged 1, max_steps 1, pending 1")
    assert "1 loose point (in no sweep); 5 points in all" in out
    data = json.loads(ok("ls", "--store", st.root, "--json"))
    assert data["points"] == 1 and data["total_points"] == 5
    fig = next(s for s in data["sweeps"] if s["name"] == "fig")
    assert (fig["done"], fig["total"], fig["failed"]) == (5, 6, 2)
    assert fig["status"] == {"converged": 3, "diverged": 1, "max_steps": 1, "pending": 1}


def test_ls_empty_store(tmp_path):
    (tmp_path / "r").mkdir()
    assert "no sweeps" in ok("ls", "--store", tmp_path / "r")
    assert json.loads(ok("ls", "--store", tmp_path / "r", "--json")) == {"sweeps": [], "points": 0, "total_points": 0}


def test_missing_store_folder(tmp_path):
    for cmd in (["ls"], ["show", "x"], ["rm", "x"], ["export", "x", "--out", tmp_path / "x.nc"]):
        msg = error(*cmd, "--store", tmp_path / "nope")
        assert msg.startswith(f"store folder {tmp_path / 'nope'} does not exist")
    assert not (tmp_path / "nope").exists()


def test_show_sweep(store):
    st, keys, _ = store
    data = json.loads(ok("show", "fig", "--store", st.root, "--json"))
    assert data["kind"] == "sweep" and data["name"] == "fig"
    assert data["status"] == {"converged": 3, "diverged": 1, "max_steps": 1, "pending": 1}
    assert [(a["name"], a["size"]) for a in data["axes"]] == [("model.scale", 2), ("seed", 3)]
    assert data["config"]["model"] == {"name": "diagonal"}
    out = ok("show", "fig", "--store", st.root)
    assert "sweep fig" in out and "5/6 points done" in out and "diverged 1" in out and "model.scale: 2 values" in out


def test_show_point(store):
    st, keys, _ = store
    data = json.loads(ok("show", keys[1], "--store", st.root, "--json"))
    assert data["kind"] == "point" and data["key"] == keys[1] and data["status"] == "diverged"
    assert data["attrs"]["final_loss"] == "NaN"  # JSON output: the store's encoding of NaN
    assert data["arrays"] == {"predictor": {"dims": ["dim"], "shape": [4], "dtype": "float64"}, "steps": {"dims": [], "shape": [], "dtype": "int64"}}
    out = ok("show", keys[1][:8], "--store", st.root)  # a unique prefix
    assert f"point {keys[1]}" in out and "predictor: float64 (dim=4)" in out and "final_loss: nan" in out


def test_show_unknown(store):
    st, _, _ = store
    msg = error("show", "nothing-here", "--store", st.root)
    assert msg.startswith("no sweep or point named nothing-here in store") and "ibias runs ls" in msg
    assert "no sweep or point named abc" in error("show", "abc", "--store", st.root)  # too short a prefix


def test_rm_point_and_sweep(store):
    st, keys, loose = store
    assert f"removed point {loose}" in ok("rm", loose, "--store", st.root)
    assert not st.has(loose)
    assert "removed sweep empty (points kept)" in ok("rm", "empty", "--store", st.root, "--keep-points")
    out = ok("rm", "fig", "--store", st.root)
    assert "removed sweep fig and 4 points" in out
    assert st.sweeps() == [] and st.entries() == []
    assert "no sweep or point named fig" in error("rm", "fig", "--store", st.root)


def test_rm_keep_points(store):
    st, keys, _ = store
    ok("rm", "fig", "--store", st.root, "--keep-points")
    assert all(st.has(k) for k in keys)
    assert json.loads(ok("ls", "--store", st.root, "--json"))["points"] == 5


def _small_dataset():
    scale, seed = [0.1, 1.0], [0, 1, 2]
    status = np.array([["converged", "diverged", "converged"], ["max_steps", "converged", None]], dtype=object)
    return xr.Dataset(
        {
            "status": (("model.scale", "seed"), status),
            "final_loss": (("model.scale", "seed"), np.array([[1e-12, np.nan, 2e-12], [0.5, 1e-13, np.nan]])),
            "predictor": (("model.scale", "seed", "dim"), np.arange(12.0).reshape(2, 3, 2)),
            "converged": (("model.scale", "seed"), status == "converged"),
        },
        coords={"model.scale": scale, "seed": seed},
        attrs={"sweep": "fig", "config": {"name": "fig", "grid": {"model.scale": scale}}, "keys": ["a", "b"], "quick": True, "nothing": None},
    )


@pytest.fixture
def fake_load_sweep(monkeypatch):
    calls = []

    def load_sweep(name, store="ibias-runs"):
        calls.append((name, store))
        return _small_dataset()

    import implicit_bias  # noqa: F401  (imports the sweep module)

    # `implicit_bias.sweep` as an attribute is the function ib.sweep; the module is in sys.modules
    monkeypatch.setattr(sys.modules["implicit_bias.sweep"], "load_sweep", load_sweep)
    return calls


def test_export_netcdf(store, tmp_path, fake_load_sweep):
    st, _, _ = store
    out = tmp_path / "fig.nc"
    msg = ok("export", "fig", "--out", out, "--store", st.root)
    assert f"wrote {out}" in msg and "model.scale=2" in msg
    assert fake_load_sweep[0][0] == "fig" and isinstance(fake_load_sweep[0][1], Store)
    ref = _small_dataset()
    with xr.open_dataset(out) as ds:
        assert ds["status"].dims == ("model.scale", "seed")
        assert ds["status"].values.tolist() == [["converged", "diverged", "converged"], ["max_steps", "converged", ""]]
        np.testing.assert_array_equal(ds["final_loss"].values, ref["final_loss"].values)
        np.testing.assert_array_equal(ds["predictor"].values, ref["predictor"].values)
        np.testing.assert_array_equal(ds["converged"].values, ref["converged"].values)
        assert ds["model.scale"].values.tolist() == [0.1, 1.0] and ds["seed"].values.tolist() == [0, 1, 2]
        assert json.loads(ds.attrs["config"]) == {"name": "fig", "grid": {"model.scale": [0.1, 1.0]}}
        assert json.loads(ds.attrs["keys"]) == ["a", "b"] and ds.attrs["quick"] == 1 and ds.attrs["sweep"] == "fig"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_export_errors(store, tmp_path, fake_load_sweep):
    st, _, _ = store
    assert error("export", "nope", "--out", tmp_path / "x.nc", "--store", st.root).startswith("no sweep named nope")
    assert "output folder" in error("export", "fig", "--out", tmp_path / "no" / "x.nc", "--store", st.root)
    assert fake_load_sweep == []


def test_no_args_shows_help():
    res = invoke()
    assert "ls" in res.output and "export" in res.output


def test_migrate_old_layout(tmp_path):
    import zarr

    root = tmp_path / "old"
    g = zarr.open_group(root / "points" / "k1.zarr", mode="w", attributes={"status": "converged", "final_loss": "NaN"})
    g.create_array("predictor", shape=(3,), dtype="f8", dimension_names=["dim"], compressors=None)[...] = np.arange(3.0)
    (root / "index").mkdir()
    (root / "index" / "k1.json").write_text(json.dumps({"key": "k1", "created": "2026-01-01T00:00:00+00:00", "version": "0.1.0", "status": "converged"}))
    msg = error("ls", "--store", root)
    assert "old layout" in msg and "ibias runs migrate" in msg
    assert "migrated 1 result in" in ok("migrate", "--store", root)
    assert "already in the batched layout" in ok("migrate", "--store", root)
    assert json.loads(ok("ls", "--store", root, "--json"))["total_points"] == 1
    assert json.loads(ok("show", "k1", "--store", root, "--json"))["attrs"]["status"] == "converged"
