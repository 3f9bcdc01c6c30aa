"""``ibias verify --profile quick`` (the main job of ``make demo``): ``--jobs 2`` against
``--jobs 1`` (one after another in one process, as before ``--jobs`` existed), side by side in
this run, each from a cold compilation cache of its own (a fresh machine), and optionally
``--jobs 2`` again on its now warm cache (a second ``make demo``).

The budget (issue 19 item 10): the whole quick profile in < 5 minutes of wall time on 2 cores.
The two runs must also agree: the same checks pass, with the same numbers (the figures printed
under the row compare every ``ID.json`` but its ``wall_time``).

    .venv/bin/python benchmarks/bench_quick_profile.py                  # a subset (benchmarks/run.py too)
    .venv/bin/python benchmarks/bench_quick_profile.py --all            # every experiment (~10-20 min)
    .venv/bin/python benchmarks/bench_quick_profile.py --only PATTERN --warm
    .venv/bin/python benchmarks/bench_quick_profile.py --all --record-costs   # also write experiments/_costs.json

``--record-costs`` writes each experiment's quick-profile wall time of the ``--jobs 1`` run to
``src/implicit_bias/experiments/_costs.json``: the longest-first order of ``--jobs N``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

SUBSET = "montufar2024"  # 4 experiments of different lengths: a few minutes in all
BUDGET_S = 300.0


def verify(out: str, cache: str, jobs: int, only: str | None) -> float:
    """Wall seconds of ``ibias verify --profile quick --jobs JOBS [--only ONLY] --out OUT``."""
    args = [sys.executable, "-c", "from implicit_bias.cli import main; main()", "verify", "--profile", "quick", "--out", out, "--jobs", str(jobs), "--quiet"]
    if only:
        args += ["--only", only]
    env = dict(os.environ, PYTHONWARNINGS="ignore", IBIAS_COMPILATION_CACHE=cache)
    t0 = time.perf_counter()
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=7200)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        raise RuntimeError(f"ibias verify --jobs {jobs} failed ({p.returncode}): {p.stderr[-2000:]}")
    return wall


def results(out: str) -> dict:
    """``{id: ID.json without wall_time}`` of a results folder."""
    res = {}
    for f in sorted(glob.glob(os.path.join(out, "*.json"))):
        with open(f) as fh:
            meta = json.load(fh)
        meta.pop("wall_time", None)
        res[os.path.basename(f)[:-5]] = meta
    return res


def record_costs(out: str) -> str:
    """Write ``{id: wall_time}`` of the results in ``out`` to experiments/_costs.json."""
    costs = {}
    for f in sorted(glob.glob(os.path.join(out, "*.json"))):
        with open(f) as fh:
            meta = json.load(fh)
        costs[meta["id"]] = round(float(meta["wall_time"]), 2)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "implicit_bias", "experiments", "_costs.json")
    with open(path, "w") as fh:
        fh.write(json.dumps(costs, indent=1, sort_keys=True) + "\n")
    return os.path.normpath(path)


def run(only: str | None = SUBSET, warm: bool = False, costs: bool = False) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        d = {k: os.path.join(tmp, k) for k in ("out1", "out2", "cache1", "cache2")}
        one = verify(d["out1"], d["cache1"], 1, only)
        if costs:
            print(f"recorded the --jobs 1 wall times in {record_costs(d['out1'])}", flush=True)
        two = verify(d["out2"], d["cache2"], 2, only)
        r1, r2 = results(d["out1"]), results(d["out2"])
        same = "identical results" if r1 == r2 else f"RESULTS DIFFER: {sorted(k for k in r1 if r1.get(k) != r2.get(k))}"
        n = sum(len(m["checks"]) for m in r1.values())
        scope = f"--only {only}" if only else "all"
        budget = f"; budget {BUDGET_S:.0f} s: {'meets' if two < BUDGET_S else 'MISSES'}" if not only else ""
        load = f"load {os.getloadavg()[0]:.1f}"
        rows.append({"name": f"verify quick {scope} --jobs 2, cold cache", "ours_s": two, "baseline_s": one, "baseline": "--jobs 1, cold cache", "notes": f"{len(r1)} experiments, {n} checks, {same}{budget}; {load}"})
        if warm:
            again = verify(os.path.join(tmp, "out3"), d["cache2"], 2, only)
            same3 = "identical results" if results(os.path.join(tmp, "out3")) == r1 else "RESULTS DIFFER"
            rows.append({"name": f"verify quick {scope} --jobs 2, warm cache", "ours_s": again, "baseline_s": one, "baseline": "--jobs 1, cold cache", "notes": f"{same3}; {load}"})
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="every experiment (not a subset)")
    ap.add_argument("--only", default=None, help=f"ids matching this glob or substring (default {SUBSET})")
    ap.add_argument("--warm", action="store_true", help="also time --jobs 2 again on its warm cache")
    ap.add_argument("--record-costs", action="store_true", help="write experiments/_costs.json from the --jobs 1 run")
    a = ap.parse_args()
    for r in run(None if a.all else (a.only or SUBSET), a.warm, a.record_costs):
        print(f"{r['name']:<52} ours {r['ours_s']:8.1f} s   {r['baseline']:<22} {r['baseline_s']:8.1f} s   ratio {r['baseline_s'] / r['ours_s']:5.2f}x   {r['notes']}")
