"""Loading, looking up, running and saving the registered experiments.

The paper modules (one per family: ``diagonal``, ``fc``, ``splines``, ``wide``, ``discrete``, ...,
one import line each in :func:`load_all`) register their experiments into :data:`~implicit_bias.experiments.registry.REGISTRY`
The paper modules (``diagonal``, ``diagonal_classification``, ``fc``, ``homogeneous``, ``linear``, ``splines``,
``stability``) register their experiments into :data:`~implicit_bias.experiments.registry.REGISTRY`
when they are imported; :func:`load_all` imports them. Every lookup here (:func:`get`,
:func:`select`, :func:`run`) loads them first, so ``ibias list/run/verify`` and the report see
every experiment. A new paper module is added to the import in :func:`load_all`.

Import direction: ``runner`` -> paper modules -> ``registry``; the registry imports no paper.

Example:
    >>> from implicit_bias.experiments import runner
    >>> runner.get("montufar2024-thm1-min-distance").paper
    'montufar2024'
"""

from __future__ import annotations

import difflib
import fnmatch
import os

from .._json import dumps
from .registry import REGISTRY, Experiment, ExperimentResult

__all__ = ["load_all", "get", "select", "run", "save"]


def load_all() -> dict[str, Experiment]:
    """The registry with every paper module's experiments in it (they register when imported).

    The paper modules are imported here, on first use, and not when the package is: importing
    :mod:`implicit_bias.experiments` (e.g. for :class:`~implicit_bias.experiments.registry.CheckResult`)
    stays cheap. A new paper module is added to this import.
    """
    from . import conv  # noqa: F401
    from . import diagonal  # noqa: F401
    from . import diagonal_classification  # noqa: F401
    from . import discrete  # noqa: F401
    from . import factorization  # noqa: F401
    from . import fc  # noqa: F401
    from . import homogeneous  # noqa: F401
    from . import linear  # noqa: F401
    from . import splines  # noqa: F401
    from . import stability  # noqa: F401
    from . import wide  # noqa: F401

    return REGISTRY


def get(id: str) -> Experiment:
    """The experiment registered under ``id``.

    Raises:
        ValueError: unknown id (the message lists close matches).
    """
    table = load_all()
    if id not in table:
        close = difflib.get_close_matches(id, list(table), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; run `ibias list` for the ids"
        raise ValueError(f"unknown experiment id {id!r}{hint}")
    return table[id]


def select(pattern: str | None = None, kind: str | None = None) -> list[Experiment]:
    """Registered experiments whose id matches the glob or substring ``pattern`` (and ``kind``)."""
    out = []
    for e in load_all().values():
        if kind is not None and e.kind != kind:
            continue
        if pattern and not (fnmatch.fnmatch(e.id, pattern) or pattern in e.id):
            continue
        out.append(e)
    return out


def run(id: str, profile: str = "quick") -> ExperimentResult:
    """Run the experiment ``id`` in ``profile``."""
    return get(id).run(profile)


def save(result: ExperimentResult, out_dir: str | os.PathLike) -> dict:
    """Write ``ID.png``, ``ID.svg``, ``ID.nc`` and ``ID.json`` to ``out_dir``; return the paths.

    ``ID.json`` holds ``id``, ``profile``, ``wall_time``, ``passed`` and ``checks``
    (:meth:`~implicit_bias.experiments.registry.CheckResult.to_dict`), in strict JSON: a
    non-finite number is written as ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``
    (:mod:`implicit_bias._json`). Dataset attributes that are not strings or numbers are
    written to ``ID.nc`` as JSON text.
    """
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(os.fspath(out_dir), result.id)
    paths = {}
    if result.figure is not None:
        for ext in ("png", "svg"):
            p = f"{base}.{ext}"
            result.figure.savefig(p, dpi=130 if ext == "png" else None, bbox_inches="tight")
            paths[ext] = p
    ds = result.data.copy()
    ds.attrs = {k: (dumps(v, f"attrs[{k!r}]", str_keys=True) if not isinstance(v, (str, int, float)) else v) for k, v in ds.attrs.items()}
    p = f"{base}.nc"
    ds.to_netcdf(p)
    paths["nc"] = p
    meta = {
        "id": result.id,
        "profile": result.profile,
        "wall_time": result.wall_time,
        "passed": result.passed,
        "checks": [c.to_dict() for c in result.checks],
    }
    p = f"{base}.json"
    with open(p, "w") as fh:
        fh.write(dumps(meta, "result", indent=2))
    paths["json"] = p
    return paths
