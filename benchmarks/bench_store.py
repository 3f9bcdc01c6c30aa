"""Run store: write + index 10^4 small results with ``Store.put`` vs zarr-python's own writer.

Each result is what a sweep point stores: a 1000-float64 predictor as an array, 6 scalars as
attributes and an index entry (sweep name, status). The baseline writes the same group with
zarr-python (``zarr.open_group(path, mode="w", attributes=...)`` + ``create_array`` +
``a[...] = w``, uncompressed, one chunk) plus the same index JSON file; at ~7 ms per group it is
timed on 500 points and extrapolated linearly to 10^4 (stated in the notes). Both write to a
fresh folder on the same disk. A second row times ``entries()`` over the 10^4 index entries
(baseline: listing the 10^4 groups' attributes with zarr-python, timed on 500, extrapolated).
"""

import json
import os
import shutil
import tempfile
import time

import numpy as np

from implicit_bias.store import Store

N = 10_000
N_BASE = 500
TARGET_S = 10.0


def _point(i, rng_w):
    attrs = {"final_loss": 1e-12 * (i + 1), "log_loss": -27.6, "training_accuracy": float("nan"), "steps": 1000 + i, "time": 0.5, "status": "converged"}
    return {"predictor": (("dim",), rng_w)}, attrs


def _ours(root, keys, w):
    st = Store(root)
    t0 = time.perf_counter()
    for i, k in enumerate(keys):
        arrays, attrs = _point(i, w)
        st.put(k, arrays, attrs, index={"sweep": "bench", "status": "converged"})
    return time.perf_counter() - t0, st


def _zarr_python(root, keys, w):
    import zarr

    os.makedirs(os.path.join(root, "index"))
    t0 = time.perf_counter()
    for i, k in enumerate(keys):
        arrays, attrs = _point(i, w)
        attrs = {**attrs, "training_accuracy": "NaN"}
        g = zarr.open_group(os.path.join(root, "points", k + ".zarr"), mode="w", attributes=attrs)
        a = g.create_array("predictor", shape=w.shape, dtype=w.dtype, chunks=w.shape, dimension_names=["dim"], compressors=None, filters=None)
        a[...] = w
        with open(os.path.join(root, "index", k + ".json"), "w") as f:
            json.dump({"key": k, "sweep": "bench", "status": "converged"}, f)
    return time.perf_counter() - t0


def _zarr_python_list(root, keys):
    import zarr

    t0 = time.perf_counter()
    for k in keys:
        dict(zarr.open_group(os.path.join(root, "points", k + ".zarr"), mode="r").attrs)
    return time.perf_counter() - t0


def run():
    w = np.random.default_rng(0).standard_normal(1000)
    keys = [Store.key({"bench": i}) for i in range(N)]
    tmp = tempfile.mkdtemp(prefix="ibias-bench-store-")
    try:
        ours_s, st = _ours(os.path.join(tmp, "ours"), keys, w)
        assert len(st.entries()) == N
        np.testing.assert_array_equal(st.get(keys[-1]).arrays["predictor"][1], w)
        t0 = time.perf_counter()
        entries = st.entries()
        entries_s = time.perf_counter() - t0
        assert len(entries) == N
        t0 = time.perf_counter()
        Store(st.root)  # opening runs cleanup over the 10^4 entries
        open_s = time.perf_counter() - t0
        base_part = _zarr_python(os.path.join(tmp, "zarr"), keys[:N_BASE], w)
        base_s = base_part * N / N_BASE
        list_part = _zarr_python_list(os.path.join(tmp, "zarr"), keys[:N_BASE])
        list_s = list_part * N / N_BASE
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    verdict = "MET" if ours_s < TARGET_S else "MISSED"
    print(f"  store: {N} puts in {ours_s:.2f} s ({1e3 * ours_s / N:.3f} ms each): target < {TARGET_S:.0f} s {verdict}; entries() {entries_s:.3f} s; open+cleanup {open_s:.3f} s")
    return [
        {
            "name": f"store: write+index {N} results (1000 f64 + 6 attrs)",
            "ours_s": ours_s,
            "baseline_s": base_s,
            "baseline": "zarr-python create_array",
            "notes": f"target < {TARGET_S:.0f} s {verdict}; baseline timed on {N_BASE} points ({base_part:.2f} s, {1e3 * base_part / N_BASE:.1f} ms each), extrapolated x{N // N_BASE}",
        },
        {
            "name": f"store: entries() over {N} results",
            "ours_s": entries_s,
            "baseline_s": list_s,
            "baseline": "zarr-python open_group attrs",
            "notes": f"baseline timed on {N_BASE} groups ({list_part:.2f} s), extrapolated x{N // N_BASE}; Store() open+cleanup {open_s:.3f} s",
        },
    ]
