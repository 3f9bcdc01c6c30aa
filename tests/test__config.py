"""_config: float64 everywhere, and the opt-in on-disk compilation cache."""

import os
import subprocess
import sys

import jax.numpy as jnp

import implicit_bias as ib


def test_float64_is_on():
    assert jnp.zeros(1).dtype == jnp.float64


def _in_fresh_process(code, **env):
    e = dict(os.environ, PYTHONWARNINGS="ignore") | env
    e.pop("JAX_COMPILATION_CACHE_DIR", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=300)


def test_enable_compilation_cache_writes_compiled_programs(tmp_path):
    code = (
        "import implicit_bias as ib, jax, jax.numpy as jnp\n"
        f"print(ib.enable_compilation_cache({str(tmp_path / 'c')!r}))\n"
        "print(float(jax.jit(lambda x: jnp.sin(x) * 2)(1.0)))\n"
    )
    p = _in_fresh_process(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == str(tmp_path / "c")
    assert any(f.name.endswith("-cache") for f in (tmp_path / "c").iterdir())


def test_switched_off_by_the_environment_and_unwritable_folder(tmp_path):
    code = "import implicit_bias as ib; print(ib.enable_compilation_cache())"
    p = _in_fresh_process(code, IBIAS_COMPILATION_CACHE="0", XDG_CACHE_HOME=str(tmp_path / "x"))
    assert p.returncode == 0 and p.stdout.strip() == "None" and not (tmp_path / "x").exists()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not os.access(ro, os.W_OK):  # (root can write anywhere)
            assert ib.enable_compilation_cache(str(ro / "sub")) is None
    finally:
        ro.chmod(0o700)
