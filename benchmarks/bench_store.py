"""Run store at scale (issue 20 item 7): write + index 10^5 sweep points, batched layout vs the
previous per-point layout, side by side in one run.

A point is what a sweep stores: a 100-float64 predictor and two 100-float64 parameter arrays,
9 scalar attributes and its run config, and an index entry (sweep name, status).

- ours: ``Store.put_batch`` in batches of 32 (the sweep's default ``--batch``): one zip per
  batch holding one zarr v3 group written by zarr-python 3 (arrays stacked along ``point``,
  Blosc-zstd), plus one line appended to ``index.log``. Timed on all N points.
- baseline: a minimal copy (below) of the previous writer: one uncompressed zarr v3 group
  folder per point (``points/<key>.zarr``: group ``zarr.json``, per array a ``zarr.json`` and a
  chunk file, written by hand, temp folder + rename) plus one ``index/<key>.json``. At ~1 ms
  and 9 files per point it is timed on N_BASE points and extrapolated linearly to N (files and
  bytes per point are exact: the layout costs the same for every point).

Only the writes are timed (making the points and their keys is not). The machine may be shared:
the CPU time of the writes is printed next to their wall time.

Printed: files per point, bytes per point (apparent size and disk blocks), write time, index
time (opening the store and listing every entry; the baseline lists its index folder and reads
each JSON file, as its ``entries()`` did), and ``has()`` over all N keys; each with its ratio.
``IBIAS_BENCH_STORE_N`` sets N (default 10^5).
"""

import json
import os
import shutil
import tempfile
import time

import numpy as np

from implicit_bias.store import Store

N = int(os.environ.get("IBIAS_BENCH_STORE_N", 100_000))
N_BASE = min(N, 2_000)
BATCH = 32
D = 100
TARGET_S = 30.0
FILES_TARGET = 0.05


def _points(n):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, D))
    for i in range(n):
        arrays = {"predictor": (("dim",), w[0] * (1 + 1e-3 * i)), "param_u": (("param_u_0",), w[1] + i), "param_v": (("param_v_0",), w[2] - i)}
        attrs = {"status": "converged", "message": "", "final_loss": 1e-12 * (i + 1), "log_loss": -27.6, "training_accuracy": float("nan"), "test_error": 1e-3, "steps": 1000 + i, "time": 0.5, "wall_time": 0.01}
        attrs["run_config"] = {"model": {"name": "diagonal", "depth": 2, "untied": True, "scale": 1e-3 * (i + 1), "shape": 0.0}, "algorithm": {"name": "gd", "lr": 0.05}, "seed": 0}
        yield Store.key({"bench": i}), arrays, attrs, {"sweep": "bench", "status": "converged"}


# ----------------------------------------------- the previous layout (baseline), minimal copy


def _dumps(obj) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


def _nan_str(attrs):
    return {k: ("NaN" if isinstance(v, float) and v != v else v) for k, v in attrs.items()}


def _old_put(root, key, arrays, attrs, index):
    """One point as its own uncompressed zarr v3 group folder + one index JSON (issue 20 before)."""
    points, idx = os.path.join(root, "points"), os.path.join(root, "index")
    tmp = os.path.join(points, f".tmp-{key}-{os.getpid()}-{os.urandom(4).hex()}")
    os.mkdir(tmp)
    for name, (dims, arr) in arrays.items():
        adir = os.path.join(tmp, name)
        os.mkdir(adir)
        meta = {"shape": list(arr.shape), "data_type": "float64", "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(arr.shape)}}, "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}}, "fill_value": 0.0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}], "attributes": {}, "dimension_names": list(dims), "zarr_format": 3, "node_type": "array", "storage_transformers": []}
        with open(os.path.join(adir, "zarr.json"), "wb") as f:
            f.write(_dumps(meta))
        os.makedirs(os.path.join(adir, "c"))
        with open(os.path.join(adir, "c", "0"), "wb") as f:
            f.write(np.ascontiguousarray(arr, dtype="<f8").tobytes())
    with open(os.path.join(tmp, "zarr.json"), "wb") as f:
        f.write(_dumps({"attributes": _nan_str(attrs), "zarr_format": 3, "node_type": "group"}))
    os.rename(tmp, os.path.join(points, key + ".zarr"))
    entry = {"key": key, "created": "2026-01-01T00:00:00+00:00", "version": "0.1.0", **index}
    t = os.path.join(idx, f".tmp-{key}.json")
    with open(t, "wb") as f:
        f.write(_dumps(entry))
    os.replace(t, os.path.join(idx, key + ".json"))


def _old_entries(root):
    idx, out = os.path.join(root, "index"), []
    present = set(os.listdir(os.path.join(root, "points")))
    for n in os.listdir(idx):
        if n.endswith(".json") and n[:-5] + ".zarr" in present:
            with open(os.path.join(idx, n), "rb") as f:
                out.append(json.loads(f.read()))
    return out


def _old_has(root, key):
    if not os.path.exists(os.path.join(root, "index", key + ".json")):
        return False
    with open(os.path.join(root, "points", key + ".zarr", "zarr.json"), "rb") as f:
        return json.loads(f.read()).get("node_type") == "group"


# ------------------------------------------------------------------------------------ run


def _usage(root):
    files = apparent = blocks = 0
    for d, _, names in os.walk(root):
        for n in names:
            s = os.stat(os.path.join(d, n))
            files, apparent, blocks = files + 1, apparent + s.st_size, blocks + s.st_blocks * 512
    return files, apparent, blocks


def run():
    tmp = tempfile.mkdtemp(prefix="ibias-bench-store-")
    try:
        ours_root = os.path.join(tmp, "ours")
        st = Store(ours_root)
        pts = _points(N)
        write_s = write_cpu = 0.0
        while True:
            batch = [p for _, p in zip(range(BATCH), pts)]  # (making the points is not timed)
            if not batch:
                break
            t0, c0 = time.perf_counter(), time.process_time()
            st.put_batch(batch)
            write_s, write_cpu = write_s + time.perf_counter() - t0, write_cpu + time.process_time() - c0
        t0 = time.perf_counter()
        fresh = Store(ours_root)  # replays index.log (and runs cleanup)
        entries = fresh.entries()
        index_s = time.perf_counter() - t0
        keys = [e["key"] for e in entries]
        t0 = time.perf_counter()
        assert all(fresh.has(k) for k in keys)
        has_s = time.perf_counter() - t0
        assert len(entries) == N
        last = list(_points(N))[-1] if N <= 2_000 else None
        r = fresh.get(Store.key({"bench": N - 1}))
        assert r.attrs["steps"] == 1000 + N - 1 and (last is None or np.array_equal(r.arrays["predictor"][1], last[1]["predictor"][1]))
        files, apparent, blocks = _usage(ours_root)
        shutil.rmtree(ours_root)

        base_root = os.path.join(tmp, "base")
        os.makedirs(os.path.join(base_root, "points"))
        os.makedirs(os.path.join(base_root, "index"))
        base_write = base_cpu = 0.0
        for key, arrays, attrs, index in _points(N_BASE):
            t0, c0 = time.perf_counter(), time.process_time()
            _old_put(base_root, key, arrays, attrs, index)
            base_write, base_cpu = base_write + time.perf_counter() - t0, base_cpu + time.process_time() - c0
        t0 = time.perf_counter()
        base_entries = _old_entries(base_root)
        base_index = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert all(_old_has(base_root, e["key"]) for e in base_entries)
        base_has = time.perf_counter() - t0
        bfiles, bapparent, bblocks = _usage(base_root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    x = N / N_BASE
    fpp, bfpp = files / N, bfiles / N_BASE
    print(f"  store layout at {N:,} points (batches of {BATCH}; baseline measured on {N_BASE:,} points, times x{x:g}):")
    print(f"    files per point   ours {fpp:.4f}   previous {bfpp:.2f}   ratio {bfpp / fpp:.0f}x   target <= {FILES_TARGET} {'MET' if fpp <= FILES_TARGET else 'MISSED'}")
    print(f"    bytes per point   ours {apparent / N:,.0f} ({blocks / N:,.0f} on disk)   previous {bapparent / N_BASE:,.0f} ({bblocks / N_BASE:,.0f} on disk)   ratio {bblocks / N_BASE / (blocks / N):.1f}x on disk")
    print(f"    write             ours {write_s:.1f} s   previous {base_write * x:.1f} s   ratio {base_write * x / write_s:.1f}x   target: write + index {write_s + index_s:.1f} s <= {TARGET_S:.0f} s {'MET' if write_s + index_s <= TARGET_S else 'MISSED'}")
    print(f"    write CPU time    ours {write_cpu:.1f} s   previous {base_cpu * x:.1f} s   (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall time above CPU time is waiting for a core)")
    print(f"    index (open + entries) ours {index_s:.2f} s   previous {base_index * x:.2f} s;  has() x {N:,}: ours {has_s:.2f} s, previous {base_has * x:.2f} s")
    note = f"baseline timed on {N_BASE:,} points, x{x:g}"
    return [
        {"name": f"store: write {N:,} points (batches of {BATCH})", "ours_s": write_s, "baseline_s": base_write * x, "baseline": "per-point groups (previous)", "notes": f"{note}; files/point {fpp:.4f} vs {bfpp:.2f}"},
        {"name": f"store: open + entries() over {N:,} points", "ours_s": index_s, "baseline_s": base_index * x, "baseline": "index/<key>.json (previous)", "notes": note},
        {"name": f"store: has() x {N:,}", "ours_s": has_s, "baseline_s": base_has * x, "baseline": "index/<key>.json (previous)", "notes": note},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
