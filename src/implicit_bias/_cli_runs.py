"""``ibias runs``: read, inspect, remove and export what the run store holds.

Commands (``--store DIR``, default ``ibias-runs``):

- ``ls [--json]``: one line per sweep (points done / total, created, counts by status) and the number of
  loose points (in no sweep);
- ``show NAME_OR_KEY [--json]``: a sweep's summary (config, grid axes, counts by status) or one
  point's attributes and arrays; a point may be named by a unique prefix of its key;
- ``rm NAME_OR_KEY [--keep-points]``: remove a sweep (and its points) or one point;
- ``export NAME --out FILE.nc [--allow-partial]``: the sweep's dataset as netCDF, readable by
  ``xarray``; an incomplete sweep (missing, damaged or failed points) is refused unless
  ``--allow-partial``;
- ``migrate``: convert a store of the old per-point layout (``points/<key>.zarr``) in place into
  the batched layout (:meth:`~implicit_bias.store.Store.migrate`).

``--store`` also takes an fsspec URL (``memory://...``, ``s3://...``).

User errors are ``ValueError`` with one sentence naming the problem and the fix; the main CLI
prints it as one line on stderr and exits with code 2.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter

import typer

from ._json import dumps
from .store import Store

__all__ = ["runs_app", "CONVERGED_LIKE"]

#: Statuses that count as a success in ``ls``; any other recorded status (``max_steps``,
#: ``diverged``, ``failed``, ...) counts as failed.
CONVERGED_LIKE = frozenset({"converged", "ok", "success", "succeeded", "done", "finished", "completed"})
_MIN_PREFIX = 6

runs_app = typer.Typer(
    help="Read the run store: list sweeps and points, show one, remove, export a sweep to netCDF.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_STORE_HELP = "The run store folder (or an fsspec URL)."


def _open(store: str) -> Store:
    if "://" not in store and not os.path.isdir(store):
        raise ValueError(f"store folder {store} does not exist; pass --store DIR pointing at a run store (`ibias sweep` creates one)")
    return Store(store)


def _print_json(obj) -> None:
    typer.echo(dumps(obj, "output", indent=1))


def _failed(entry) -> bool:
    s = entry.get("status")
    return s is not None and s not in CONVERGED_LIKE


def _resolve_key(st: Store, name: str, entries=None) -> str | None:
    """``name`` as a present key: exact, or a unique prefix of at least 6 characters."""
    if st.has(name):
        return name
    if len(name) < _MIN_PREFIX:
        return None
    entries = st.entries() if entries is None else entries
    hits = [e["key"] for e in entries if str(e.get("key", "")).startswith(name)]
    if len(hits) > 1:
        raise ValueError(f"{name!r} is the start of {len(hits)} keys ({', '.join(hits[:3])}, ...); give more characters of the key")
    return hits[0] if hits else None


def _sweep_names(st: Store) -> set[str]:
    return {s["name"] for s in st.sweeps()}


def _sweep_rows(st: Store, entries):
    by_key = {e["key"]: e for e in entries}
    rows, in_sweeps = [], set()
    for meta in st.sweeps():
        keys = [k for k in (meta.get("keys") or []) if isinstance(k, str)]
        in_sweeps.update(keys)
        words = [_point_status(st, k, by_key.get(k)) for k in keys]  # per grid position
        done = [by_key[k] for k, w in zip(keys, words) if w not in ("pending", "damaged")]
        counts = Counter(words)
        rows.append(
            {
                "name": meta["name"],
                "done": len(done),
                "total": len(keys),
                "failed": sum(_failed(e) for e in done),
                "status": dict(sorted(counts.items())),
                "created": meta.get("created"),
            }
        )
    loose = sum(1 for k in by_key if k not in in_sweeps)
    return rows, loose


@runs_app.command("ls")
def ls_cmd(
    store: str = typer.Option("ibias-runs", "--store", help=_STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help='One JSON object {"sweeps": [...], "points": N loose points, "total_points": M}.'),
):
    """One line per sweep (points done / total, created, counts by status) and the number of loose points.

    The status words are those of ``ibias sweep``, ``runs show`` and ``runs export``: each
    stored point's own status (``converged``, ``max_steps``, ``diverged``, ...), ``pending`` for
    a point not stored yet, ``damaged`` for one whose files cannot be read. In ``--json``,
    ``"status"`` holds these counts; ``"failed"`` (kept for scripts) counts stored points whose
    status is not converged-like.
    """
    st = _open(store)
    entries = st.entries()
    rows, loose = _sweep_rows(st, entries)
    if as_json:
        _print_json({"sweeps": rows, "points": loose, "total_points": len(entries)})
        return
    if rows:
        w = max(5, *(len(r["name"]) for r in rows))
        text = {r["name"]: ", ".join(f"{k} {v}" for k, v in r["status"].items()) or "-" for r in rows}
        ws = max(6, *(len(t) for t in text.values()))
        typer.echo(f"{'SWEEP':<{w}}  {'DONE/TOTAL':>11}  {'CREATED':<25}  STATUS")
        for r in rows:
            typer.echo(f"{r['name']:<{w}}  {str(r['done']) + '/' + str(r['total']):>11}  {r['created'] or '':<25}  {text[r['name']]:<{ws}}".rstrip())
    else:
        typer.echo(f"no sweeps in {st.root}")
    typer.echo(f"{loose} loose point{'s' if loose != 1 else ''} (in no sweep); {len(entries)} point{'s' if len(entries) != 1 else ''} in all")


def _axes_summary(meta) -> list[dict]:
    out = []
    axes = meta.get("axes")
    if isinstance(axes, list):
        for a in axes:
            try:
                name, fields = a[0], a[1]
                vals = {k: v for k, v in fields}
                size = len(next(iter(vals.values()))) if vals else 0
            except (TypeError, ValueError, IndexError, StopIteration):
                continue
            out.append({"name": name, "size": size, "values": vals})
        return out
    cfg = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    for k, v in (cfg.get("grid") or {}).items():
        out.append({"name": k, "size": len(v), "values": {k: v}})
    if "seeds" in cfg:
        out.append({"name": "seed", "size": len(cfg["seeds"]), "values": {"seed": cfg["seeds"]}})
    return out


def _point_status(st: Store, key: str, entry) -> str:
    """A point's status word: its run status if present and readable, else pending or damaged."""
    state = st.state(key)
    if state == "present" and entry is not None:
        return str(entry.get("status", "unknown"))
    return "pending" if state == "missing" else "damaged"


def _sweep_summary(st: Store, name: str) -> dict:
    meta = st.get_sweep(name)
    keys = [k for k in (meta.get("keys") or []) if isinstance(k, str)]
    by_key = {e["key"]: e for e in st.entries(sweep=name)}
    counts = Counter()
    for k in keys:
        counts[_point_status(st, k, by_key.get(k))] += 1
    return {
        "name": name,
        "created": meta.get("created"),
        "backend": meta.get("backend"),
        "total": len(keys),
        "done": sum(v for k, v in counts.items() if k not in ("pending", "damaged")),
        "status": dict(sorted(counts.items())),
        "axes": _axes_summary(meta),
        "config": meta.get("config"),
    }


def _fmt(v, n=80) -> str:
    if isinstance(v, str):
        s = v
    elif isinstance(v, float):
        s = repr(v)
    else:
        s = json.dumps(v, default=str)  # text for people: NaN shown as NaN
    return s if len(s) <= n else s[: n - 3] + "..."


def _point_summary(st: Store, key: str) -> dict:
    entry = st.entry(key) or {"key": key}
    r = st.get(key)
    arrays = {n: {"dims": list(d), "shape": list(a.shape), "dtype": str(a.dtype)} for n, (d, a) in r.arrays.items()}
    return {**entry, "attrs": r.attrs, "arrays": arrays}


@runs_app.command("show")
def show_cmd(
    name: str = typer.Argument(..., help="A sweep name, or a point's key (or a unique prefix of it, 6+ characters)."),
    store: str = typer.Option("ibias-runs", "--store", help=_STORE_HELP),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of text."),
):
    """A sweep's summary (config, grid axes, counts by status) or one point's attributes and arrays."""
    st = _open(store)
    if name in _sweep_names(st):
        s = _sweep_summary(st, name)
        if as_json:
            _print_json({"kind": "sweep", **s})
            return
        typer.echo(f"sweep {s['name']}  ({s['done']}/{s['total']} points done; created {s['created'] or '?'}" + (f"; backend {s['backend']})" if s["backend"] else ")"))
        typer.echo("status: " + (", ".join(f"{k} {v}" for k, v in s["status"].items()) or "no points"))
        typer.echo("axes:")
        for a in s["axes"]:
            for field, vals in a["values"].items():
                typer.echo(f"  {a['name'] if field == a['name'] else a['name'] + ' / ' + field}: {a['size']} values {_fmt(vals, 60)}")
        cfg = s["config"]
        if isinstance(cfg, dict):
            typer.echo("config:")
            for k, v in cfg.items():
                if k not in ("grid", "seeds", "zip"):
                    typer.echo(f"  {k}: {_fmt(v)}")
        return
    key = _resolve_key(st, name)
    if key is None:
        raise ValueError(f"no sweep or point named {name} in store {st.root}; `ibias runs ls --store {st.root}` lists them")
    p = _point_summary(st, key)
    if as_json:
        _print_json({"kind": "point", **p})
        return
    typer.echo(f"point {p['key']}  (created {p.get('created', '?')}, version {p.get('version', '?')})")
    extra = {k: v for k, v in p.items() if k not in ("key", "created", "version", "attrs", "arrays")}
    for k, v in extra.items():
        typer.echo(f"  {k}: {_fmt(v)}")
    typer.echo("arrays:")
    for n, a in p["arrays"].items():
        typer.echo(f"  {n}: {a['dtype']} ({', '.join(f'{d}={s}' for d, s in zip(a['dims'], a['shape']))})")
    typer.echo("attrs:")
    for k, v in p["attrs"].items():
        typer.echo(f"  {k}: {_fmt(v)}")


@runs_app.command("rm")
def rm_cmd(
    name: str = typer.Argument(..., help="A sweep name, or a point's key (or a unique prefix of it, 6+ characters)."),
    store: str = typer.Option("ibias-runs", "--store", help=_STORE_HELP),
    keep_points: bool = typer.Option(False, "--keep-points", help="Remove a sweep's metadata only; keep its points."),
):
    """Remove a sweep (and its points, unless --keep-points) or a single point."""
    st = _open(store)
    if name in _sweep_names(st):
        n = st.remove_sweep(name, points=not keep_points)
        kept = " (points kept)" if keep_points else f" and {n} point{'s' if n != 1 else ''}"
        typer.echo(f"removed sweep {name}{kept} from {st.root}")
        return
    key = _resolve_key(st, name)
    if key is None:
        raise ValueError(f"no sweep or point named {name} in store {st.root}; `ibias runs ls --store {st.root}` lists them")
    st.remove(key)
    typer.echo(f"removed point {key} from {st.root}")


def _nc_attr(v):
    """An attribute value netCDF can hold: numbers, strings, 1-d numeric lists; else JSON text."""
    import numpy as np

    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, float, str, np.integer, np.floating)):
        return v
    if isinstance(v, np.ndarray) and v.dtype.kind in "iuf" and v.ndim <= 1:
        return v
    if v is None:
        return ""
    return dumps(v, "attribute")


def _nc_safe(ds):
    """A copy of ``ds`` netCDF can hold: object and byte-string arrays to str, attrs to numbers or text.

    Bool variables are left to xarray (it encodes them as int8 with ``dtype: bool`` and restores
    them on read); attributes that are dicts or lists become JSON text, bools become 0/1 and
    ``None`` an empty string.
    """
    import numpy as np

    ds = ds.copy(deep=False)
    for name in list(ds.variables):
        var = ds[name].variable
        data = var.values if var.dtype.kind in "OS" else None
        if data is not None and data.dtype.kind == "O":
            flat = [x if isinstance(x, str) else ("" if x is None or (isinstance(x, float) and math.isnan(x)) else dumps(x, name)) for x in data.reshape(-1)]
            data = np.array(flat, dtype=str).reshape(data.shape) if flat else np.zeros(data.shape, dtype="U1")
        elif data is not None and data.dtype.kind == "S":
            data = np.char.decode(data, "utf-8")
        attrs = {k: _nc_attr(v) for k, v in var.attrs.items()}
        new = var.copy(deep=False, data=data if data is not None else var.data)
        new.attrs = attrs
        new.encoding = {}
        if name in ds.coords:
            ds = ds.assign_coords({name: new})
        else:
            ds[name] = new
    ds.attrs = {k: _nc_attr(v) for k, v in ds.attrs.items()}
    return ds


@runs_app.command("export")
def export_cmd(
    name: str = typer.Argument(..., help="The sweep's name (see `ibias runs ls`)."),
    out: str = typer.Option(..., "--out", help="The netCDF file to write (FILE.nc)."),
    store: str = typer.Option("ibias-runs", "--store", help=_STORE_HELP),
    allow_partial: bool = typer.Option(False, "--allow-partial", help="Export even if points are missing, damaged or failed (they are NaN, with their status)."),
):
    """Write a sweep's dataset (one dimension per grid axis plus seed) to a netCDF file.

    An incomplete sweep (points missing, damaged or failed) is refused with one line naming the
    counts, unless ``--allow-partial``; a diverged point is a result (status ``diverged``, its
    non-finite loss kept) and does not count as missing.
    """
    import importlib.util

    st = _open(store)
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise ValueError(f"output folder {folder} does not exist; create it or choose another --out")
    st.get_sweep(name)  # a clear error for an unknown sweep
    from .sweep import load_sweep

    ds = load_sweep(name, st)
    if "status" in ds:
        statuses = Counter(str(v) for v in ds["status"].values.ravel())
        bad = {w: statuses.get(k, 0) for w, k in (("missing", "pending"), ("damaged", "damaged"), ("failed", "failed"))}
        if any(bad.values()) and not allow_partial:
            raise ValueError(
                f"sweep {name} is incomplete: {bad['missing']} missing, {bad['damaged']} damaged, {bad['failed']} failed of {sum(statuses.values())} points; "
                f"rerun the sweep to compute them (damaged points are recomputed), or pass --allow-partial to export them as NaN"
            )
    ds = _nc_safe(ds)
    engine = "netcdf4" if importlib.util.find_spec("netCDF4") is not None else "scipy"
    tmp = os.path.join(folder, f".{os.path.basename(out)}.tmp-{os.getpid()}")
    try:
        ds.to_netcdf(tmp, engine=engine)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    dims = ", ".join(f"{d}={n}" for d, n in ds.sizes.items())
    typer.echo(f"wrote {out} (sweep {name}: {dims}; {len(ds.data_vars)} variables)")


@runs_app.command("migrate")
def migrate_cmd(
    store: str = typer.Option("ibias-runs", "--store", help="The run store folder in the old per-point layout."),
    batch: int = typer.Option(256, "--batch", help="Results per zip in the new layout."),
):
    """Convert a store of the old per-point layout (points/<key>.zarr) in place into the batched layout."""
    if not os.path.isdir(store):
        raise ValueError(f"store folder {store} does not exist; pass --store DIR pointing at a run store")
    if batch < 1:
        raise ValueError(f"--batch must be >= 1; received {batch}")
    if not os.path.isdir(os.path.join(store, "points")):
        typer.echo(f"{store} is already in the batched layout: nothing to migrate")
        return
    n = Store.migrate(store, batch=batch)
    typer.echo(f"migrated {n} result{'s' if n != 1 else ''} in {store} to the batched layout")
