"""Benchmark runner: every ``bench_*.py`` here, measured side by side with its baseline in one
process; prints each figure and its ratio against the baseline.

    make bench                      # all
    .venv/bin/python benchmarks/run.py gd_least_squares   # one, by name

Each module defines ``run() -> list[dict]`` with keys ``name``, ``ours_s``, ``baseline_s``,
``baseline`` (what the baseline is) and optional ``notes``; ``ratio = baseline_s / ours_s``
(> 1 means this package is faster).
"""

from __future__ import annotations

import importlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv):
    sys.path.insert(0, HERE)
    names = sorted(f[6:-3] for f in os.listdir(HERE) if f.startswith("bench_") and f.endswith(".py"))
    if argv:
        unknown = [a for a in argv if a not in names]
        if unknown:
            print(f"unknown benchmark(s) {unknown}; available: {names}", file=sys.stderr)
            return 2
        names = argv
    rows = []
    for n in names:
        mod = importlib.import_module("bench_" + n)
        t0 = time.perf_counter()
        for r in mod.run():
            r["ratio"] = r["baseline_s"] / r["ours_s"]
            rows.append(r)
            print(f"{r['name']:<48} ours {r['ours_s']:9.4f} s   {r['baseline']:<28} {r['baseline_s']:9.4f} s   ratio {r['ratio']:7.2f}x   {r.get('notes', '')}", flush=True)
        print(f"  ({n}: {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
