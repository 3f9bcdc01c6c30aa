"""The run store: zarr v3 files readable by zarr-python and xarray, crash safety, keys, sweeps."""

import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import implicit_bias
from implicit_bias import _version
from implicit_bias import store as store_mod
from implicit_bias.store import Store, StoredResult, decode_json, encode_json

ARRAYS = {
    "predictor": (("dim",), np.array([0.0, -1.5, np.nan, np.inf, 1e-300])),
    "matrix": (("row", "col"), np.arange(12.0).reshape(3, 4) - 5.0),
    "transposed": (("col", "row"), (np.arange(12.0).reshape(3, 4) * 0.5).T),  # not C-contiguous
    "steps": (("dim",), np.array([0, -3, 2**62, 7, -(2**63)], dtype=np.int64)),
    "mask": (("dim",), np.array([True, False, True, True, False])),
    "loss": ((), np.float64(0.0)),
    "ok": ((), np.bool_(True)),
    "count": ((), np.int64(-4)),
    "small": (("col",), np.array([0, 1, -2, 3], dtype=np.int8)),
    "f32": (("col",), np.array([0.5, -1.0, np.nan, 3.0], dtype=">f4")),  # big-endian input
    "empty": (("empty",), np.zeros(0)),
    "empty2": (("empty", "col"), np.zeros((0, 4), dtype=np.int64)),
}
ATTRS = {
    "final_loss": float("nan"),
    "log_loss": float("-inf"),
    "bound": float("inf"),
    "steps": 100,
    "lr": 1.0,
    "status": "converged",
    "flag": True,
    "none": None,
    "nested": {"grid": [0.1, float("nan"), [1, 2]], "name": "x", "deep": {"inf": float("inf")}},
    "np_scalar": np.float64(2.5),
    "np_int": np.int32(3),
    "np_vector": np.array([1.0, np.nan]),
    "tuple": (1, "a"),
}
ATTRS_DECODED = {
    **ATTRS,
    "np_scalar": 2.5,
    "np_int": 3,
    "np_vector": [1.0, float("nan")],
    "tuple": [1, "a"],
}


def same(a, b):
    """Structural equality where NaN equals NaN and types must match (1 vs 1.0 vs True differ)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def expected_array(arr):
    return np.asarray(arr).astype(np.asarray(arr).dtype.newbyteorder("="))


@pytest.fixture
def st(tmp_path):
    return Store(tmp_path / "runs")


@pytest.fixture
def filled(st):
    key = Store.key({"test": "round-trip"})
    assert st.put(key, ARRAYS, ATTRS, index={"sweep": "s", "status": "converged"})
    return st, key


# ----------------------------------------------------------------------------- round trip


def test_round_trip_get(filled):
    st, key = filled
    r = st.get(key)
    assert isinstance(r, StoredResult) and r.key == key
    assert sorted(r.arrays) == sorted(ARRAYS)
    for name, (dims, arr) in ARRAYS.items():
        rdims, rarr = r.arrays[name]
        assert rdims == dims
        exp = expected_array(arr)
        assert rarr.dtype == exp.dtype and rarr.shape == exp.shape, name
        np.testing.assert_array_equal(rarr, exp, strict=True)
    assert same(r.attrs, ATTRS_DECODED)


def test_zarr_python_reads_back_exactly(filled):
    import zarr

    st, key = filled
    g = zarr.open_group(st.root / "points" / f"{key}.zarr", mode="r")
    assert sorted(g.array_keys()) == sorted(ARRAYS)
    for name, (dims, arr) in ARRAYS.items():
        z = g[name]
        exp = expected_array(arr)
        assert z.shape == exp.shape and z.dtype == exp.dtype, name
        assert tuple(z.metadata.dimension_names or ()) == dims
        np.testing.assert_array_equal(z[...], exp, strict=True)
    # attributes as stored: JSON, with the documented encoding of non-finite floats
    raw = dict(g.attrs)
    assert raw["final_loss"] == "NaN" and raw["log_loss"] == "-Infinity" and raw["bound"] == "Infinity"
    assert same(decode_json(raw), ATTRS_DECODED)


def test_xarray_reads_back_exactly(filled):
    import xarray as xr

    st, key = filled
    ds = xr.open_zarr(st.root / "points" / f"{key}.zarr", consolidated=False)
    assert sorted(ds.variables) == sorted(ARRAYS)
    for name, (dims, arr) in ARRAYS.items():
        exp = expected_array(arr)
        assert ds[name].dims == dims
        np.testing.assert_array_equal(ds[name].values, exp, strict=True)  # zeros are not masked
    assert same(decode_json(dict(ds.attrs)), ATTRS_DECODED)
    mine = st.open_dataset(key)
    assert same(mine.attrs, ATTRS_DECODED)
    for name in ARRAYS:
        np.testing.assert_array_equal(mine[name].values, ds[name].values, strict=True)
        assert mine[name].dims == ds[name].dims


def test_metadata_mimics_zarr_python(tmp_path, filled):
    """Each array's zarr.json equals what zarr-python writes for the same uncompressed array."""
    import zarr

    st, key = filled
    ref = zarr.open_group(tmp_path / "ref.zarr", mode="w")
    for name, (dims, arr) in ARRAYS.items():
        exp = expected_array(arr)
        a = ref.create_array(name, shape=exp.shape, dtype=exp.dtype, chunks=tuple(max(1, s) for s in exp.shape), dimension_names=list(dims) or None, compressors=None, filters=None, config={"write_empty_chunks": True})
        if exp.size:  # (we always write the chunk; zarr-python skips chunks equal to the fill value unless told)
            a[...] = exp
    for name in ARRAYS:
        ours = json.loads((st.root / "points" / f"{key}.zarr" / name / "zarr.json").read_text())
        theirs = json.loads((tmp_path / "ref.zarr" / name / "zarr.json").read_text())
        assert ours == theirs, name
        chunks_ours = sorted(p.relative_to(st.root / "points" / f"{key}.zarr" / name).as_posix() for p in (st.root / "points" / f"{key}.zarr" / name).rglob("*") if p.is_file())
        chunks_theirs = sorted(p.relative_to(tmp_path / "ref.zarr" / name).as_posix() for p in (tmp_path / "ref.zarr" / name).rglob("*") if p.is_file())
        assert chunks_ours == chunks_theirs, name


def test_encode_decode_json():
    enc = encode_json({"a": float("nan"), "b": [float("inf"), -math.inf], "c": np.arange(2), "d": (1.0,)})
    assert enc == {"a": "NaN", "b": ["Infinity", "-Infinity"], "c": [0, 1], "d": [1.0]}
    json.dumps(enc, allow_nan=False)
    assert same(decode_json(enc), {"a": float("nan"), "b": [math.inf, -math.inf], "c": [0, 1], "d": [1.0]})
    with pytest.raises(ValueError, match=r"attrs\['x'\] has type object"):
        encode_json({"x": object()}, "attrs")
    with pytest.raises(ValueError, match="keys must be strings"):
        encode_json({1: 2})


def test_put_validation(st):
    k = "k"
    with pytest.raises(ValueError, match="dtype <U"):
        st.put(k, {"s": (("d",), np.array(["a"]))}, {})
    with pytest.raises(ValueError, match="one non-empty dimension name per axis"):
        st.put(k, {"w": (("d",), np.zeros((2, 2)))}, {})
    with pytest.raises(ValueError, match="dimension 'd' has size 3"):
        st.put(k, {"a": (("d",), np.zeros(2)), "b": (("d",), np.zeros(3))}, {})
    with pytest.raises(ValueError, match=r"must be given as \(dims, array\)"):
        st.put(k, {"a": np.zeros(2)}, {})
    with pytest.raises(ValueError, match="array name"):
        st.put(k, {".hidden": (("d",), np.zeros(2))}, {})
    with pytest.raises(ValueError, match="key '../x' is not valid"):
        st.put("../x", {}, {})
    with pytest.raises(ValueError, match="no JSON form"):
        st.put(k, {}, {"when": object()})
    with pytest.raises(ValueError, match="set by the store"):
        st.put(k, {}, {}, index={"created": "yesterday"})
    assert not st.has(k)
    assert not (st.root / "points").exists() or not any((st.root / "points").iterdir())


def test_put_twice_and_remove(st):
    arrays = {"w": (("d",), np.arange(3.0))}
    assert st.put("a", arrays, {"v": 1})
    assert not st.put("a", {"w": (("d",), np.zeros(3))}, {"v": 2})  # present: not rewritten
    assert st.get("a").attrs == {"v": 1}
    assert st.remove("a") and not st.has("a") and not st.remove("a")
    with pytest.raises(ValueError, match=r"no result a in store .*runs"):
        st.get("a")
    assert st.put("a", arrays, {"v": 3}) and st.get("a").attrs == {"v": 3}


def test_opening_creates_nothing(tmp_path):
    st = Store(tmp_path / "none")
    assert not st.has("x") and st.entries() == [] and st.sweeps() == [] and st.cleanup() == 0
    assert not (tmp_path / "none").exists()
    assert isinstance(st.root, os.PathLike) and st.root.name == "none"


def test_entries_sorted_with_index_fields(st):
    for i in range(5):
        st.put(f"p{4 - i}", {"x": ((), np.float64(i))}, {}, index={"sweep": "s" if i % 2 else "t", "status": "converged", "err": float("nan")})
    es = st.entries()
    assert [e["key"] for e in es] == ["p4", "p3", "p2", "p1", "p0"]
    assert all(e["version"] == implicit_bias.__version__ and e["created"].endswith("+00:00") for e in es)
    assert math.isnan(es[0]["err"])
    assert [e["key"] for e in st.entries(sweep="s")] == ["p3", "p1"]
    st.put_sweep("s", {"keys": ["p0", "p3"]})  # a sweep also owns the points its meta lists
    assert [e["key"] for e in st.entries(sweep="s")] == ["p3", "p1", "p0"]


def test_fsync_mode(tmp_path):
    st = Store(tmp_path / "r", fsync=True)
    assert st.put("k", {"m": (("a", "b", "c"), np.ones((2, 1, 3)))}, {"x": 1})
    np.testing.assert_array_equal(st.get("k").arrays["m"][1], np.ones((2, 1, 3)))


def test_damaged_result_is_reported(st):
    st.put("k", {"w": (("d",), np.arange(4.0))}, {})
    chunk = st.root / "points" / "k.zarr" / "w" / "c" / "0"
    chunk.write_bytes(chunk.read_bytes()[:8])
    with pytest.raises(ValueError, match="result k in store .* is damaged.*ibias runs rm k"):
        st.get("k")


# ------------------------------------------------------------------------------ atomicity


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_simulated_crash_leftovers(st):
    arrays, attrs = {"w": (("d",), np.arange(3.0))}, {"a": 1}
    st.put("other", arrays, attrs)
    host = store_mod.HOST_TAG
    pid = _dead_pid()
    # a crash while writing the group: a half-written temp dir of a dead process
    tmpdir = st.root / "points" / f".tmp-k1-{host}-{pid}-deadbeef"
    (tmpdir / "w").mkdir(parents=True)
    (tmpdir / "w" / "zarr.json").write_text("{")
    # a crash while writing an index entry
    (st.root / "index" / f".tmp-k2-{host}-{pid}-cafe0001.json").write_text('{"key": "k2"')
    # a crash between the rename and the index write: a complete group, no index entry
    st.put("k3", arrays, attrs)
    (st.root / "index" / "k3.json").unlink()
    # a temp dir of a live writer (this process) and of another host: kept while young
    live = st.root / "points" / f".tmp-k4-{host}-{os.getpid()}-00000000"
    live.mkdir()
    foreign = st.root / "points" / f".tmp-k5-0123abcd-{pid}-00000000"
    foreign.mkdir()
    for k in ("k1", "k2", "k3", "k4", "k5"):
        assert not st.has(k)
    assert [e["key"] for e in st.entries()] == ["other"]
    assert st.cleanup() == 2  # the dead writer's two leftovers; the young orphan k3 is kept
    assert not tmpdir.exists() and live.exists() and foreign.exists()
    assert (st.root / "points" / "k3.zarr").exists()
    old = time.time() - 2 * st.stale_after
    for p in (live, foreign, st.root / "points" / "k3.zarr"):
        os.utime(p, (old, old))
    assert Store(st.root).has("other")  # opening runs cleanup
    assert not live.exists() and not foreign.exists() and not (st.root / "points" / "k3.zarr").exists()
    assert sorted(os.listdir(st.root / "points")) == ["other.zarr"]
    assert sorted(os.listdir(st.root / "index")) == ["other.json"]
    for k in ("k1", "k2", "k3"):
        assert st.put(k, arrays, attrs) and st.has(k)
        np.testing.assert_array_equal(st.get(k).arrays["w"][1], arrays["w"][1])


def test_orphan_group_is_completed_by_put(st):
    arrays = {"w": (("d",), np.arange(3.0))}
    st.put("k", arrays, {"a": 1})
    (st.root / "index" / "k.json").unlink()
    assert not st.has("k")
    assert st.put("k", arrays, {"a": 1}, index={"status": "converged"}) is False  # group reused
    assert st.has("k") and st.entries()[0]["status"] == "converged"


def test_junk_in_the_way_is_replaced(st):
    (st.root / "points" / "k.zarr").mkdir(parents=True)
    (st.root / "points" / "k.zarr" / "zarr.json").write_text("not json")
    assert not st.has("k")
    assert st.put("k", {"w": (("d",), np.ones(2))}, {})
    assert st.has("k") and st.get("k").arrays["w"][1].tolist() == [1.0, 1.0]


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from implicit_bias.store import Store
    st = Store(sys.argv[1])
    start, stop, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    won = 0
    for i in range(start, stop):
        arrays = {"w": (("dim",), np.full(n, float(i))), "m": (("a", "b"), np.arange(6).reshape(2, 3) + i)}
        won += st.put(f"p{i:05d}", arrays, {"i": i, "nan": float("nan")}, index={"i": i, "status": "converged"})
    print(won)
    """
)


def _check_complete(st, n):
    """Every result the store reports is complete and intact; returns the keys present."""
    keys = [e["key"] for e in st.entries()]
    assert len(keys) == len(set(keys))
    for k in keys:
        assert st.has(k)
        i = int(k[1:])
        r = st.get(k)
        np.testing.assert_array_equal(r.arrays["w"][1], np.full(n, float(i)), strict=True)
        np.testing.assert_array_equal(r.arrays["m"][1], np.arange(6).reshape(2, 3) + i, strict=True)
        assert r.attrs["i"] == i and math.isnan(r.attrs["nan"])
    for name in os.listdir(st.root / "points"):  # a group without index entry is not reported
        if name.endswith(".zarr") and name[:-5] not in keys:
            assert not st.has(name[:-5])
    return set(keys)


def test_kill_9_leaves_only_complete_entries(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = tmp_path / "runs"
    n = 50_000  # 400 kB per point: a kill is likely to land inside a write
    rng = random.Random(0)
    done = set()
    for round_ in range(2):
        p = subprocess.Popen([sys.executable, str(script), str(root), "0", "100000", str(n)], stdout=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            target = len(done) + 15
            while time.time() < deadline:
                idx = root / "index"
                if idx.exists() and sum(1 for f in os.listdir(idx) if not f.startswith(".")) >= target:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait()
        st = Store(root, stale_after=1e9)  # opening cleans up the dead writer's temp dirs
        assert not [f for d in ("points", "index") for f in os.listdir(root / d) if f.startswith(".tmp-")]
        keys = _check_complete(st, n)
        assert len(keys) >= target and done <= keys
        done = keys
    # what the killed writers left unfinished is written by the next put
    nxt = max(int(k[1:]) for k in done) + 1
    assert st.put(f"p{nxt:05d}", {"w": (("dim",), np.full(n, float(nxt))), "m": (("a", "b"), np.arange(6).reshape(2, 3) + nxt)}, {"i": nxt, "nan": float("nan")}) in (True, False)
    assert st.has(f"p{nxt:05d}")
    _check_complete(st, n)


def test_concurrent_writers_same_keys(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = tmp_path / "runs"
    n, count = 100, 300
    procs = [subprocess.Popen([sys.executable, str(script), str(root), "0", str(count), str(n)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    won = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(won) == count  # each key stored by exactly one writer
    st = Store(root)
    assert len(_check_complete(st, n)) == count
    assert not [f for d in ("points", "index") for f in os.listdir(root / d) if f.startswith(".")]


# ------------------------------------------------------------------------------------ keys


CONFIG = {"model": {"name": "diagonal", "depth": 2, "scale": 0.1}, "seed": 0, "grid": [1.0, 2.0]}


def test_key_stable_across_processes():
    k = Store.key(CONFIG)
    code = f"from implicit_bias.store import Store; print(Store.key({CONFIG!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == k and len(k) == 24 and all(c in "0123456789abcdef" for c in k)


def test_key_normalisation_and_version(monkeypatch):
    k = Store.key(CONFIG)
    reordered = {"seed": 0, "grid": (1.0, 2.0), "model": {"scale": 0.1, "name": "diagonal", "depth": 2}}
    assert Store.key(reordered) == k
    numpy_typed = {"seed": np.int64(0), "grid": np.array([1.0, 2.0]), "model": {"name": "diagonal", "depth": np.int32(2), "scale": np.float64(0.1)}}
    assert Store.key(numpy_typed) == k
    assert Store.key({**CONFIG, "seed": 1}) != k
    assert Store.key({**CONFIG, "seed": 0.0}) != k  # JSON types are kept: 0 and 0.0 differ
    assert Store.key({"x": float("nan")}) == Store.key({"x": np.nan})
    monkeypatch.setattr(_version, "__version__", "999.0.0")  # the version the store reads
    assert Store.key(CONFIG) != k
    with pytest.raises(ValueError, match=r"config\['x'\]"):
        Store.key({"x": {1, 2}})


# ---------------------------------------------------------------------------------- sweeps


def test_sweep_meta_round_trip(st):
    meta = {"config": {"name": "s1", "grid": {"model.scale": [0.1, 1.0]}}, "keys": ["a", "b"], "err": float("inf"), "created": "2020-01-01T00:00:00+00:00"}
    st.put_sweep("s1", meta)
    got = st.get_sweep("s1")
    assert same(got, {**meta, "err": math.inf})
    st.put_sweep("s1", {"keys": ["a"]})  # replaced; "created" kept from before
    assert st.get_sweep("s1") == {"keys": ["a"], "created": "2020-01-01T00:00:00+00:00"}
    st.put_sweep("s0", {"keys": []})
    assert "created" in st.get_sweep("s0")
    assert [s["name"] for s in st.sweeps()] == ["s0", "s1"]
    assert not [f for f in os.listdir(st.root / "sweeps") if f.startswith(".")]


@pytest.mark.parametrize("bad", ["", "a b", "../x", ".hidden", "a/b", "x" * 300, "é"])
def test_sweep_name_validation(st, bad):
    with pytest.raises(ValueError, match=r"letters, digits, '_', '\.' and '-' only"):
        st.put_sweep(bad, {})


def test_get_sweep_missing(st):
    with pytest.raises(ValueError, match=r"no sweep named nope in store .*; `ibias runs ls` lists them"):
        st.get_sweep("nope")
    with pytest.raises(ValueError, match="no sweep named nope"):
        st.remove_sweep("nope")


def test_remove_sweep(st):
    for k in ("a", "b", "c", "d"):
        st.put(k, {"w": (("d",), np.zeros(2))}, {})
    st.put_sweep("one", {"keys": ["a", "b", "missing"]})
    st.put_sweep("two", {"keys": ["b", "c"]})
    st.put_sweep("three", {"keys": ["d"]})
    assert st.remove_sweep("one") == 1  # b is shared with sweep two: kept
    assert not st.has("a") and st.has("b") and st.has("c")
    assert st.remove_sweep("three", points=False) == 0 and st.has("d")
    assert [s["name"] for s in st.sweeps()] == ["two"]
    assert st.remove_sweep("two") == 2 and st.sweeps() == []


def test_state_tells_missing_damaged_and_present_apart(tmp_path):
    # issue 20 item 3: damaged entries are reported, not silently dropped
    st = Store(tmp_path)
    for k in ("a", "b", "c"):
        st.put(k, {"w": (("d",), np.zeros(2))}, {})
    (tmp_path / "index" / "b.json").write_text("{trunc")
    (tmp_path / "points" / "c.zarr" / "zarr.json").write_text('{"attri')
    assert [st.state(k) for k in ("a", "b", "c", "d")] == ["present", "damaged", "damaged", "missing"]
    assert st.damaged() == ["b", "c"]
