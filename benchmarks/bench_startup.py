"""Startup: ``import implicit_bias``, ``ibias --help`` and ``ibias list``, each the median wall
time of 5 fresh interpreters, against the eager import the package had before its imports were
lazy (``import implicit_bias.models, .algorithms, .theory, .train, .experiments.runner`` plus the
paper modules that ``list`` loaded), measured side by side in this run.

Targets (issue 19 item 10): ``ibias --help`` < 0.5 s, ``ibias list`` < 1 s, ``import
implicit_bias`` < 1 s. The time of a bare ``python -c pass`` is printed as the floor.

    .venv/bin/python benchmarks/bench_startup.py      # or: benchmarks/run.py startup
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

REPEATS = 5
EAGER = "import implicit_bias.models, implicit_bias.algorithms, implicit_bias.theory, implicit_bias.train, implicit_bias.experiments.runner"
CLI = "from implicit_bias.cli import main; main()"

#: name -> (our command, baseline command, baseline's name, target in seconds)
CASES = {
    "import implicit_bias": (["-c", "import implicit_bias"], ["-c", EAGER], "eager import", 1.0),
    "ibias --help": (["-c", CLI, "--help"], ["-c", f"{EAGER}; {CLI}", "--help"], "eager import + --help", 0.5),
    "ibias list": (["-c", CLI, "list"], ["-c", f"{EAGER}; implicit_bias.experiments.runner.load_all(); {CLI}", "list"], "eager import + paper modules + list", 1.0),
}


def median_seconds(args: list[str], repeats: int = REPEATS) -> float:
    """Median wall time of ``python ARGS`` in ``repeats`` fresh interpreters (output discarded)."""
    env = dict(os.environ, PYTHONWARNINGS="ignore", IBIAS_COMPILATION_CACHE="0")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True, timeout=300)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run() -> list[dict]:
    floor = median_seconds(["-c", "pass"])
    rows = []
    for name, (ours, base, base_name, target) in CASES.items():
        o, b = median_seconds(ours), median_seconds(base)  # side by side, same load
        verdict = "meets" if o < target else "MISSES"
        rows.append({"name": name, "ours_s": o, "baseline_s": b, "baseline": base_name, "notes": f"target < {target} s: {verdict}; python -c pass {floor:.3f} s; load {os.getloadavg()[0]:.1f}"})
    return rows


if __name__ == "__main__":
    for r in run():
        print(f"{r['name']:<24} ours {r['ours_s']:7.3f} s   {r['baseline']:<38} {r['baseline_s']:7.3f} s   ratio {r['baseline_s'] / r['ours_s']:6.2f}x   {r['notes']}")
