"""One self-contained HTML page from a results folder: check table, figures, provenance.

Input is a folder written by ``ibias verify --out DIR`` or ``ibias run ID --out DIR`` (see
:func:`implicit_bias.experiments.runner.save`): for each experiment ``ID.json`` (``id``,
``profile``, ``wall_time``, ``passed``, ``checks``), plus ``ID.png``, ``ID.svg`` and ``ID.nc``.
Experiment metadata (kind, paper, where, title) comes from the registry (loaded by
:mod:`implicit_bias.experiments.runner`); a result whose id is not registered is shown with what
its JSON holds. Non-finite numbers in ``ID.json`` are read in both encodings: ``"NaN"``,
``"Infinity"``, ``"-Infinity"`` (:mod:`implicit_bias._json`, decoded to floats) and the
``"nan"``, ``"inf"``, ``"-inf"`` of files written before it (shown as they are: the same text).

The page has no external resources: inline CSS, no scripts, figures embedded as base64 PNG.
Every text is escaped (Jinja2 autoescape).

Example:
    >>> from implicit_bias.report import build_report
    >>> build_report("ibias-results", "report.html")  # doctest: +SKIP
    'report.html'
"""

from __future__ import annotations

import base64
import datetime as _dt
import glob
import json
import math
import os
import platform
import re
import subprocess
import sys
from importlib import metadata

from .._json import loads

__all__ = ["build_report", "render_report", "DEPENDENCIES"]

#: Distributions whose versions the provenance section lists.
DEPENDENCIES = (
    "jax",
    "jaxlib",
    "diffrax",
    "equinox",
    "optax",
    "numpy",
    "scipy",
    "cvxpy",
    "xarray",
    "zarr",
    "dask",
    "matplotlib",
)

_TEMPLATE = "report.html.j2"


# ----------------------------------------------------------------------------- formatting


def _num(x, digits: int = 6) -> str:
    """A number for a table cell: ``digits`` significant digits; strings (e.g. ``"nan"``) as-is."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0:
            return "0"
        return f"{x:.{digits}g}"
    return str(x)


def _as_text(v):
    """``v`` with non-finite floats as the strings ``"nan"``, ``"inf"``, ``"-inf"`` (for display)."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: _as_text(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_as_text(x) for x in v]
    return v


def _short_json(v, limit: int = 240) -> str:
    try:
        s = json.dumps(_as_text(v), separators=(", ", ": "), default=str)
    except (TypeError, ValueError):
        s = str(v)
    if isinstance(v, str):
        s = v
    elif isinstance(v, float):
        s = _num(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _anchor(prefix: str, name: str, used: set) -> str:
    """An HTML id for ``name``: no whitespace, unique in the page."""
    base = prefix + re.sub(r"[^A-Za-z0-9._:/-]+", "-", str(name)).strip("-")
    a, k = base, 2
    while a in used:
        a, k = f"{base}-{k}", k + 1
    used.add(a)
    return a


# ----------------------------------------------------------------------------- provenance


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
    except Exception:  # a broken install must not break the report
        return "unknown"


def _git(args, cwd) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except Exception:  # no git, timeout, bad cwd
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip()


def _git_commit() -> dict:
    """Commit of the package's source tree, if it is a git checkout; ``unknown`` otherwise.

    The package file must be tracked by that repository, so a site-packages install inside an
    unrelated repository does not report that repository's commit. Never raises.
    """
    try:
        pkg_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if _git(["ls-files", "--error-unmatch", "__init__.py"], pkg_dir) is None:
            return {"commit": "unknown", "dirty": None}
        commit = _git(["rev-parse", "HEAD"], pkg_dir)
        if not commit:
            return {"commit": "unknown", "dirty": None}
        status = _git(["status", "--porcelain", "--untracked-files=no", "--", "."], pkg_dir)
        return {"commit": commit, "dirty": bool(status) if status is not None else None}
    except Exception:
        return {"commit": "unknown", "dirty": None}


def _provenance(profiles, seeds) -> dict:
    from .._version import __version__

    git = _git_commit()
    if git["dirty"] is None:
        tree = "unknown"
    else:
        tree = "uncommitted changes in the package" if git["dirty"] else "clean"
    return {
        "implicit_bias": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "machine": platform.machine() or "unknown",
        "executable": sys.executable,
        "git_commit": git["commit"],
        "git_tree": tree,
        "generated": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "profiles": ", ".join(sorted(profiles)) or "unknown",
        "seeds": seeds,
        "dependencies": [(name, _dist_version(name)) for name in DEPENDENCIES],
    }


# ----------------------------------------------------------------------------- loading


def _registry_meta() -> dict:
    try:
        from ..experiments import runner

        return {e.id: e for e in runner.select()}
    except Exception:  # the report still renders what the files hold
        return {}


def _read_png(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return base64.b64encode(raw).decode("ascii")


def _check_row(c: dict, exp: dict) -> dict:
    passed = bool(c.get("passed", False))
    details = c.get("details") if isinstance(c.get("details"), dict) else {}
    return {
        "id": str(c.get("id", exp["id"])),
        "experiment": exp["id"],
        "anchor": exp["anchor"],
        "claim": str(c.get("claim", "")),
        "paper": str(c.get("paper", exp["paper"])),
        "where": str(c.get("where", exp["where"])),
        "measured": _num(c.get("measured")),
        "predicted": _num(c.get("predicted")),
        "error": _num(c.get("error"), 3),
        "tolerance": _num(c.get("tolerance"), 3),
        "passed": passed,
        "time": _num(exp["wall_time"], 3) if exp["wall_time"] is not None else "—",
        "details": [(str(k), _short_json(v)) for k, v in details.items()],
    }


def _load(results_dir: str):
    """Read every ``ID.json`` result in ``results_dir``; returns (experiments, problems)."""
    meta = _registry_meta()
    order = {eid: k for k, eid in enumerate(meta)}
    exps, problems, used = [], [], set()
    for path in sorted(glob.glob(os.path.join(glob.escape(results_dir), "*.json"))):
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as fh:
                raw = loads(fh.read())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            problems.append(f"{name}: could not be read ({type(e).__name__}: {e})")
            continue
        if not isinstance(raw, dict) or not isinstance(raw.get("checks"), list):
            continue  # not a result file (some other JSON in the folder)
        eid = str(raw.get("id") or os.path.splitext(name)[0])
        reg = meta.get(eid)
        checks = [c for c in raw["checks"] if isinstance(c, dict)]
        if len(checks) != len(raw["checks"]):
            problems.append(f"{name}: {len(raw['checks']) - len(checks)} malformed check entr(y/ies) skipped")
        first = checks[0] if checks else {}
        wall = raw.get("wall_time")
        wall = float(wall) if isinstance(wall, (int, float)) and not isinstance(wall, bool) else None
        exp = {
            "id": eid,
            "anchor": _anchor("exp-", eid, used),
            "registered": reg is not None,
            "kind": reg.kind if reg else "unregistered",
            "paper": reg.paper if reg else str(first.get("paper", "unknown")),
            "where": reg.where if reg else str(first.get("where", "")),
            "title": (reg.title if reg and reg.title else "") or eid,
            "profile": str(raw.get("profile", "unknown")),
            "wall_time": wall,
            "time": _num(wall, 3) if wall is not None else "—",
        }
        exp["checks"] = [_check_row(c, exp) for c in checks]
        exp["passed"] = all(c["passed"] for c in exp["checks"]) and bool(raw.get("passed", True))
        base = os.path.splitext(path)[0]
        exp["png"] = _read_png(base + ".png")
        exp["files"] = [os.path.basename(base + ext) for ext in (".json", ".png", ".svg", ".nc") if os.path.exists(base + ext)]
        exp["_order"] = (0, order[eid]) if eid in order else (1, eid)
        exp["_raw_checks"] = checks
        exps.append(exp)
    exps.sort(key=lambda e: e["_order"])
    return exps, problems


def _seeds(exps) -> list:
    out = []
    for e in exps:
        for c, row in zip(e["_raw_checks"], e["checks"]):
            d = c.get("details")
            if not isinstance(d, dict):
                continue
            for key in ("seed", "seeds"):
                if key in d:
                    out.append((row["id"], key, _short_json(d[key])))
    return out


# ----------------------------------------------------------------------------- build


def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_report(results_dir: str | os.PathLike) -> str:
    """The report for ``results_dir`` as an HTML string (see :func:`build_report`)."""
    results_dir = os.fspath(results_dir)
    if not os.path.isdir(results_dir):
        raise ValueError(f"results folder {results_dir!r} does not exist; run `ibias verify --out {results_dir}` first")
    exps, problems = _load(results_dir)
    if not exps:
        raise ValueError(
            f"no result files (ID.json) in {results_dir!r}; run `ibias verify --out {results_dir}` "
            f"or `ibias run ID --out {results_dir}` first"
        )
    checks = [c for e in exps for c in e["checks"]]
    failed = [c for c in checks if not c["passed"]]
    table = failed + [c for c in checks if c["passed"]]  # failed checks first
    failed_exps = [e for e in exps if not e["passed"] and not e["checks"]]
    total = sum(e["wall_time"] or 0.0 for e in exps)
    profiles = {e["profile"] for e in exps}
    summary = {
        "n_checks": len(checks),
        "n_passed": len(checks) - len(failed),
        "n_failed": len(failed),
        "n_experiments": len(exps),
        "profiles": ", ".join(sorted(profiles)),
        "total_time": _num(total, 3),
        "ok": not failed and not failed_exps,
    }
    for e in exps:
        e.pop("_order", None)
    html = _environment().get_template(_TEMPLATE).render(
        title="implicit-bias report",
        results_dir=os.path.abspath(results_dir),
        summary=summary,
        table=table,
        failed=failed,
        experiments=exps,
        problems=problems,
        prov=_provenance(profiles, _seeds(exps)),
    )
    return html


def build_report(results_dir: str | os.PathLike, out_path: str | os.PathLike) -> str:
    """Write one self-contained HTML report of the results in ``results_dir`` to ``out_path``.

    Args:
        results_dir: folder written by ``ibias verify --out DIR`` / ``ibias run ID --out DIR``
            (``ID.json`` per experiment, with ``ID.png`` figures beside them).
        out_path: the HTML file to write (parent folders are created).

    Returns:
        The path written (``out_path`` as a string).

    Raises:
        ValueError: ``results_dir`` is not a folder or holds no result file.
    """
    html = render_report(results_dir)
    out_path = os.fspath(out_path)
    parent = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(parent, exist_ok=True)
    tmp = f"{out_path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(html)
    os.replace(tmp, out_path)
    return out_path
