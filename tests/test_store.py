"""The run store: zarr v3 files readable by zarr-python and xarray, crash safety, keys, sweeps."""

import json
import math
import os
import random
import shutil
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


def _zip_group(st, key):
    import zarr

    path, row = st.location(key)
    return zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r"), row


def test_zarr_python_reads_back_exactly(filled):
    st, key = filled
    g, row = _zip_group(st, key)
    assert sorted(g.array_keys()) == sorted(ARRAYS)
    for name, (dims, arr) in ARRAYS.items():
        z = g[name]
        exp = expected_array(arr)
        assert z.shape == (1,) + exp.shape and z.dtype == exp.dtype, name
        assert tuple(z.metadata.dimension_names) == ("point",) + dims
        np.testing.assert_array_equal(z[row], exp, strict=True)
    # attributes as stored: JSON text per row, with the documented encoding of non-finite floats
    assert g.attrs["keys"] == [key]
    raw = json.loads(g.attrs["attrs"][row])
    assert raw["final_loss"] == "NaN" and raw["log_loss"] == "-Infinity" and raw["bound"] == "Infinity"
    assert same(decode_json(raw), ATTRS_DECODED)


def test_xarray_reads_back_exactly(filled):
    import xarray as xr
    import zarr

    st, key = filled
    path, row = st.location(key)
    ds = xr.open_zarr(zarr.storage.ZipStore(path, mode="r"), consolidated=False).isel(point=row)
    assert sorted(ds.variables) == sorted(ARRAYS)
    for name, (dims, arr) in ARRAYS.items():
        exp = expected_array(arr)
        assert ds[name].dims == dims
        np.testing.assert_array_equal(ds[name].values, exp, strict=True)  # zeros are not masked
    assert ds.attrs["keys"] == [key] and same(decode_json(json.loads(ds.attrs["attrs"][row])), ATTRS_DECODED)
    mine = st.open_dataset(key)
    assert same(mine.attrs, ATTRS_DECODED)
    for name in ARRAYS:
        np.testing.assert_array_equal(mine[name].values, ds[name].values, strict=True)
        assert mine[name].dims == ds[name].dims


def test_a_batch_is_one_compressed_zarr_group_in_one_zip(st):
    """issue 20 item 7: points are written per batch, stacked along ``point``, compressed, by
    zarr-python (the metadata is what zarr-python's public create_array writes)."""
    import zarr

    items = [(f"p{i}", {"w": (("dim",), np.full(500, float(i % 3))), "s": ((), np.int64(i))}, {"i": i}, {"status": "converged"}) for i in range(40)]
    assert st.put_batch(items) == [True] * 40
    assert len(os.listdir(st.root / "batches")) == 1
    assert len((st.root / "index.log").read_bytes().splitlines()) == 1  # one index record
    g, row = _zip_group(st, "p7")
    assert row == 7 and g.attrs["keys"] == [f"p{i}" for i in range(40)]
    w = g["w"]
    assert w.shape == (40, 500) and [c.to_dict()["name"] for c in w.metadata.codecs] == ["bytes", "blosc"]
    np.testing.assert_array_equal(w[...], np.stack([np.full(500, float(i % 3)) for i in range(40)]), strict=True)
    ref = zarr.create_array(zarr.storage.MemoryStore(), shape=w.shape, dtype=w.dtype, chunks=w.shape, dimension_names=["point", "dim"], compressors=zarr.codecs.BloscCodec(cname="zstd", clevel=1, shuffle="shuffle"), fill_value=0, config={"write_empty_chunks": True})
    assert w.metadata.to_dict() == ref.metadata.to_dict()
    size = os.path.getsize(st.location("p0")[0])
    assert size < 40 * 500 * 8 / 10  # compressed (the rows repeat)
    for i in (0, 39):
        r = st.get(f"p{i}")
        assert r.attrs == {"i": i} and r.arrays["s"][1] == i and r.arrays["s"][1].shape == ()


def test_put_batch_mixed_layouts_and_repeats(st):
    items = [
        ("a", {"w": (("d",), np.zeros(2))}, {}, None),
        ("b", {"w": (("d",), np.zeros(3))}, {}, None),  # another shape: another zip
        ("a", {"w": (("d",), np.ones(2))}, {}, None),  # repeated: the first wins
        ("c", {"w": (("d",), np.ones(2))}, {}, None),
    ]
    assert st.put_batch(items) == [True, True, False, True]
    assert len(os.listdir(st.root / "batches")) == 2
    assert st.get("a").arrays["w"][1].tolist() == [0.0, 0.0] and st.get("b").arrays["w"][1].shape == (3,)
    assert st.put_batch(items) == [False] * 4
    assert st.batch_keys("c") == ["a", "c"] and st.batch_keys("b") == ["b"] and st.batch_keys("z") is None
    with pytest.raises(ValueError, match="keeps for stacking"):
        st.put("p", {"w": (("point",), np.zeros(2))}, {})


def test_files_per_point_at_scale(tmp_path):
    """issue 20 item 7: <= 0.05 files per point (here 2,000 points in batches of 32)."""
    st = Store(tmp_path / "s")
    w = np.random.default_rng(0).standard_normal(50)
    for b in range(0, 2000, 32):
        st.put_batch([(f"k{i}", {"predictor": (("dim",), w + i), "param_u": (("u",), w)}, {"status": "converged", "i": i}, {"sweep": "s"}) for i in range(b, min(b + 32, 2000))])
    files = sum(len(fs) for _, _, fs in os.walk(tmp_path / "s"))
    assert files / 2000 <= 0.05, files
    assert len(st.entries()) == 2000 and st.get("k1999").attrs["i"] == 1999
    np.testing.assert_array_equal(st.get("k1234").arrays["predictor"][1], w + 1234, strict=True)


def test_another_store_object_sees_new_writes(tmp_path):
    a, b = Store(tmp_path), Store(tmp_path)
    assert not b.has("k")
    a.put("k", {"w": (("d",), np.zeros(1))}, {"v": 1})
    assert b.has("k") and b.get("k").attrs == {"v": 1}  # the log is followed incrementally
    b.remove("k")
    assert not a.has("k") and a.put("k", {"w": (("d",), np.ones(1))}, {"v": 2}) and b.get("k").attrs == {"v": 2}


def test_remove_deletes_a_batch_once_all_its_points_are_gone(st):
    st.put_batch([(k, {"w": (("d",), np.zeros(1))}, {}, None) for k in ("a", "b")])
    (zipname,) = os.listdir(st.root / "batches")
    assert st.remove("a") and (st.root / "batches" / zipname).exists() and st.has("b")
    assert st.remove_many(["b", "nope"]) == 1 and not (st.root / "batches" / zipname).exists()
    assert st.batch_keys("a") == ["a", "b"]  # the composition is remembered
    # a result recomputed alone for a larger call records that call
    assert st.put_batch([("b", {"w": (("d",), np.zeros(1))}, {}, None)], call=["a", "b", "c"]) == [True]
    assert st.batch_keys("b") == ["a", "b", "c"] and st.batch_keys("a") == ["a", "b"]


def test_url_store_memory(tmp_path):
    pytest.importorskip("fsspec")
    url = f"memory://ibias-test-{os.getpid()}-{random.getrandbits(32)}"
    st = Store(url)
    assert not st.local and str(st.root) == url and not st.has("k")
    assert st.put_batch([(k, {"w": (("d",), np.arange(3.0) + i)}, {"i": i}, {"status": "converged"}) for i, k in enumerate("abc")]) == [True] * 3
    assert st.claim("a") and not st.claimed("a")  # no claims on a URL store: one writer at a time
    again = Store(url)
    assert [e["key"] for e in again.entries()] == ["a", "b", "c"]
    np.testing.assert_array_equal(again.get("c").arrays["w"][1], np.arange(3.0) + 2, strict=True)
    again.put_sweep("s", {"keys": ["a", "b"]})
    assert again.remove_sweep("s") == 2 and Store(url).entries()[0]["key"] == "c"
    assert Store("file://" + str(tmp_path / "f")).local  # a file:// URL is a local path


def _legacy_store(root, key, arrays, attrs, entry):
    """A store in the old per-point layout, written with zarr-python (not with this package)."""
    import zarr

    g = zarr.open_group(root / "points" / f"{key}.zarr", mode="w", attributes=encode_json(attrs))
    for name, (dims, arr) in arrays.items():
        a = g.create_array(name, shape=arr.shape, dtype=arr.dtype, chunks=tuple(max(1, s) for s in arr.shape), dimension_names=list(dims) or None, compressors=None)
        a[...] = arr
    (root / "index").mkdir(parents=True)
    (root / "index" / f"{key}.json").write_text(json.dumps({"key": key, "created": "2026-01-01T00:00:00+00:00", "version": "0.1.0", **entry}))


def test_old_layout_is_refused_in_one_line_and_migrates(tmp_path):
    arrays = {"w": (("dim",), np.array([1.0, np.nan])), "n": ((), np.int64(3))}
    _legacy_store(tmp_path, "k", arrays, {"loss": float("inf"), "status": "converged"}, {"sweep": "s", "status": "converged"})
    with pytest.raises(ValueError) as e:
        Store(tmp_path)
    assert "old layout" in str(e.value) and "ibias runs migrate" in str(e.value) and "\n" not in str(e.value)
    assert Store.migrate(tmp_path) == 1
    st = Store(tmp_path)
    assert st.entries()[0]["sweep"] == "s" and not (tmp_path / "points").exists() and not (tmp_path / "index").exists()
    r = st.get("k")
    np.testing.assert_array_equal(r.arrays["w"][1], arrays["w"][1], strict=True)
    assert r.arrays["n"][0] == () and r.arrays["n"][1] == 3
    assert r.attrs == {"loss": math.inf, "status": "converged"}
    assert Store.migrate(tmp_path) == 0


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
    st.put("j", {"w": (("d",), np.arange(4.0))}, {})
    path = st.location("k")[0]
    data = bytearray(open(path, "rb").read())
    open(path, "wb").write(bytes(data[: len(data) // 2]))  # truncated
    assert st.state("k") == "damaged" and not st.has("k") and st.damaged() == ["k"]
    with pytest.raises(ValueError, match="result k in store .* is damaged.*ibias runs rm k"):
        st.get("k")
    path = st.location("j")[0]
    data = bytearray(open(path, "rb").read())
    i = data.find(b"zarr.json") + 40
    data[i : i + 8] = b"\xff" * 8  # same size, bytes flipped: found on reading
    open(path, "wb").write(bytes(data))
    with pytest.raises(ValueError, match="result j in store .* is damaged"):
        st.get("j")
    assert st.remove("k") and st.state("k") == "missing" and st.put("k", {"w": (("d",), np.ones(2))}, {})
    assert st.get("k").arrays["w"][1].tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------ atomicity


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_simulated_crash_leftovers(st, tmp_path):
    arrays, attrs = {"w": (("d",), np.arange(3.0))}, {"a": 1}
    st.put("other", arrays, attrs)
    host = store_mod.HOST_TAG
    pid = _dead_pid()
    batches = st.root / "batches"
    # a crash while writing a zip: a half-written temp zip of a dead process
    dead = batches / f".tmp-0011aa-{host}-{pid}-deadbeef.zip"
    dead.write_bytes(b"PK\x03\x04 half")
    # a crash between the rename and the index append: a complete zip without a record
    side = Store(tmp_path / "side")
    side.put("k3", arrays, attrs)
    orphan = batches / "00112233445566778899.zip"
    shutil.copy(side.location("k3")[0], orphan)
    # temp zips of a live writer (this process) and of another host: kept while young
    live = batches / f".tmp-0022bb-{host}-{os.getpid()}-00000000.zip"
    live.write_bytes(b"")
    foreign = batches / f".tmp-0033cc-0123abcd-{pid}-00000000.zip"
    foreign.write_bytes(b"")
    for k in ("k1", "k3"):
        assert not st.has(k) and st.state(k) == "missing"
    assert [e["key"] for e in st.entries()] == ["other"]
    assert st.cleanup() == 1  # the dead writer's temp zip; the young orphan is kept
    assert not dead.exists() and live.exists() and foreign.exists() and orphan.exists()
    old = time.time() - 2 * st.stale_after
    for p in (live, foreign, orphan):
        os.utime(p, (old, old))
    assert Store(st.root).has("other")  # opening runs cleanup
    assert not live.exists() and not foreign.exists() and not orphan.exists()
    assert len(os.listdir(batches)) == 1
    assert st.put("k3", arrays, attrs) and st.has("k3")
    np.testing.assert_array_equal(st.get("k3").arrays["w"][1], arrays["w"][1])


def test_a_torn_or_junk_index_line_is_reported_not_fatal(st):
    st.put("a", {"w": (("d",), np.ones(2))}, {})
    with open(st.root / "index.log", "ab") as f:
        f.write(b"not json at all\n")  # junk naming no batch: ignored
    assert st.put("b", {"w": (("d",), np.ones(2))}, {})
    assert [e["key"] for e in Store(st.root).entries()] == ["a", "b"]
    (st.root / "batches" / "notes.txt").write_text("someone's file")  # not a zip: left alone
    assert Store(st.root).cleanup() == 0 and (st.root / "batches" / "notes.txt").exists()


WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from implicit_bias.store import Store
    st = Store(sys.argv[1])
    start, stop, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    won = 0
    for i in range(start, stop):
        arrays = {"w": (("dim",), np.random.default_rng(i).standard_normal(n)), "m": (("a", "b"), np.arange(6).reshape(2, 3) + i)}
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
        np.testing.assert_array_equal(r.arrays["w"][1], np.random.default_rng(i).standard_normal(n), strict=True)
        np.testing.assert_array_equal(r.arrays["m"][1], np.arange(6).reshape(2, 3) + i, strict=True)
        assert r.attrs["i"] == i and math.isnan(r.attrs["nan"])
    assert st.damaged() == []
    return set(keys)


def test_kill_9_leaves_only_complete_entries(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = tmp_path / "runs"
    n = 50_000  # 400 kB per point (incompressible): a kill is likely to land inside a write
    rng = random.Random(0)
    done = set()
    for round_ in range(2):
        p = subprocess.Popen([sys.executable, str(script), str(root), "0", "100000", str(n)], stdout=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            target = len(done) + 15
            while time.time() < deadline:
                log = root / "index.log"
                if log.exists() and len(log.read_bytes().splitlines()) >= target:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.05))
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait()
        st = Store(root, stale_after=1e9)  # opening cleans up the dead writer's temp zips
        assert not [f for f in os.listdir(root / "batches") if f.startswith(".tmp-")]
        keys = _check_complete(st, n)
        assert len(keys) >= target and done <= keys
        done = keys
    # what the killed writers left unfinished is written by the next put
    nxt = max(int(k[1:]) for k in done) + 1
    arrays = {"w": (("dim",), np.random.default_rng(nxt).standard_normal(n)), "m": (("a", "b"), np.arange(6).reshape(2, 3) + nxt)}
    assert st.put(f"p{nxt:05d}", arrays, {"i": nxt, "nan": float("nan")}) in (True, False)
    assert st.has(f"p{nxt:05d}")
    _check_complete(st, n)


def test_concurrent_writers_same_keys(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    root = tmp_path / "runs"
    n, count = 100, 300
    procs = [subprocess.Popen([sys.executable, str(script), str(root), "0", str(count), str(n)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    won = [int(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(won) == count  # each key stored by exactly one writer
    st = Store(root)
    assert len(_check_complete(st, n)) == count
    assert not [f for f in os.listdir(root / "batches") if f.startswith(".")]
    assert len(os.listdir(root / "batches")) == count  # the losers' zips are deleted


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
    log = tmp_path / "index.log"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1][:60] + b"\n"  # b's index record torn (its batch id still readable)
    log.write_bytes(b"".join(lines))
    zc = st.location("c")[0]
    open(zc, "r+b").truncate(100)  # c's zip truncated
    fresh = Store(tmp_path)
    assert [fresh.state(k) for k in ("a", "b", "c", "d")] == ["present", "damaged", "damaged", "missing"]
    assert fresh.damaged() == ["b", "c"]
    assert [e["key"] for e in fresh.entries()] == ["a"]
    assert fresh.remove("b") and fresh.remove("c") and fresh.damaged() == []
    assert fresh.put("b", {"w": (("d",), np.ones(2))}, {}) and fresh.has("b")
