"""Packaging: what the code imports is declared, and the declared license ships (issue 19)."""

import ast
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "implicit_bias"
# import name -> distribution name, where they differ
DIST = {"yaml": "pyyaml", "jinja2": "jinja2", "netCDF4": "netcdf4", "dask": "dask", "sklearn": "scikit-learn"}
OPTIONAL = {"torch", "playwright", "mpmath", "dask_jobqueue", "h5netcdf", "IPython"}  # imported lazily, behind a clear error


def _declared():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {re.split(r"[<>=!\[ ;]", d, maxsplit=1)[0].lower() for d in deps}


def test_every_third_party_import_is_declared():
    declared = _declared()
    missing = set()
    for f in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for n in names:
                top = n.split(".")[0]
                if top in sys.stdlib_module_names or top in ("implicit_bias", "__future__") or top in OPTIONAL:
                    continue
                dist = DIST.get(top, top).lower().replace("_", "-")
                if dist not in declared and dist.replace("-", "_") not in declared:
                    missing.add(f"{top} ({f.relative_to(ROOT)})")
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"


def test_the_apache_license_ships():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == {"text": "Apache-2.0"}
