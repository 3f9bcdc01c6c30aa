"""Startup: ``import implicit_bias``, ``ibias --help`` and ``ibias list`` import no JAX (nor
xarray, nor pydantic for the import), and float64 is on before the first array however the
package is entered. Each case runs in a fresh interpreter (``sys.modules`` is per process); the
times themselves are measured in benchmarks/bench_startup.py, not asserted here."""

import json
import os
import subprocess
import sys

import pytest

HEAVY = ("jax", "xarray", "pydantic", "diffrax", "equinox", "matplotlib")


def _fresh(code, **env):
    e = {k: v for k, v in os.environ.items() if k not in ("JAX_ENABLE_X64", "JAX_COMPILATION_CACHE_DIR")} | {"PYTHONWARNINGS": "ignore"} | env
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().splitlines()[-1]


def _loaded_after(code):
    """The heavy packages in ``sys.modules`` after ``code`` ran in a fresh interpreter."""
    report = f"import sys, json\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    return set(json.loads(_fresh(code + "\n" + report)))


def test_import_implicit_bias_imports_no_jax_xarray_or_pydantic():
    assert _loaded_after("import implicit_bias as ib\nassert ib.__version__") == set()


@pytest.mark.parametrize("args", [["--help"], ["list"], ["list", "--json", "--kind", "figure"], ["run", "--help"]])
def test_help_and_list_import_no_jax(args):
    code = f"import implicit_bias.cli as cli\ntry:\n    cli.main({args!r})\nexcept SystemExit as e:\n    assert e.code == 0, e.code"
    loaded = _loaded_after(code)
    assert not loaded & {"jax", "xarray", "diffrax", "matplotlib"}, loaded  # (typer itself imports pydantic to parse options)
    if args == ["--help"]:
        assert "pydantic" not in loaded


@pytest.mark.parametrize(
    "entry",
    [
        "import implicit_bias as ib\nib.models",  # the lazy attribute
        "from implicit_bias.models import Linear",  # a subpackage first
        "from implicit_bias import losses",  # a layer-0 module
        "import jax\nimport implicit_bias as ib\nib.GradientFlow",  # JAX imported before the package
        "import jax\nfrom implicit_bias.models import Diagonal",  # JAX first, then a subpackage
        "import implicit_bias",  # the package alone, then the user's own JAX
        "import implicit_bias.univariate",  # a module that imports JAX but not _config
        "import implicit_bias.cli",  # the `ibias` program: a command's JAX comes after this import
        "import implicit_bias.cli as cli\ncli._jax_setup()",  # what fit/run/verify/sweep call first
    ],
)
def test_float64_is_on_before_the_first_array(entry):
    assert _fresh(f"{entry}\nimport jax.numpy as jnp\nprint(jnp.zeros(1).dtype, jnp.asarray(1.0).dtype)") == "float64 float64"


@pytest.mark.parametrize("entry", ["import implicit_bias", "import implicit_bias.cli", "from implicit_bias.models import Linear"])
def test_float64_even_when_the_environment_turns_it_off(entry):
    # as before the package was lazy: float64 regardless of JAX_ENABLE_X64 (never float32 arrays
    # first and float64 after the first lazy name)
    code = f"{entry}\nimport jax.numpy as jnp\nprint(jnp.zeros(1).dtype)"
    assert _fresh(code, JAX_ENABLE_X64="0") == "float64"


def test_the_lazy_names_are_the_public_names():
    code = """
import implicit_bias as ib
import implicit_bias.train  # binds the submodule to the package attribute `train`
from implicit_bias import Stop
from implicit_bias.algorithms import GradientFlow
names = set(dir(ib))
assert set(ib.__all__) <= names, set(ib.__all__) - names
assert callable(ib.train) and ib.train.__module__ == "implicit_bias.train"  # the function, not the module
assert ib.GradientFlow is GradientFlow and ib.Stop is Stop and ib.losses.__name__ == "implicit_bias.losses"
try:
    ib.no_such_name
except AttributeError as e:
    assert "no_such_name" in str(e)
else:
    raise AssertionError("no AttributeError")
print("ok")
"""
    assert _fresh(code) == "ok"
