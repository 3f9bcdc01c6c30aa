"""Shared by the benchmarks: timing a first call in a new process, cold or with a warm on-disk cache."""

import os
import subprocess
import sys
import tempfile

_SCRIPT = """
import sys, time
sys.path.insert(0, {here!r})
import implicit_bias as ib
if {warm!r}:
    ib.enable_compilation_cache({cache!r})
{setup}
t0 = time.perf_counter()
{call}
print(time.perf_counter() - t0)
"""


def first_call_with_warm_disk_cache(setup: str, call: str, timeout: float = 900, warm: bool = True) -> float:
    """Seconds of ``call`` (Python source) in a *new* process whose on-disk compilation cache
    (``ib.enable_compilation_cache``) an earlier process filled by running the same ``setup`` and
    ``call``: what a researcher re-running a script sees (XLA compilation skipped; tracing and
    lowering remain). ``warm=False``: one new process without the cache (a cold first call).
    ``setup`` runs untimed; both may import the benchmark modules."""
    with tempfile.TemporaryDirectory() as cache:
        code = _SCRIPT.format(here=os.path.dirname(os.path.abspath(__file__)), cache=cache, setup=setup, call=call, warm=warm)
        out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=timeout).stdout for _ in range(2 if warm else 1)]
    return float(out[-1].strip().splitlines()[-1])
