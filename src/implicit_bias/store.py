"""The run store: finished results on disk as zarr (format 3), content-addressed, crash-safe.

A result (one point of a sweep, one fit) is a set of named arrays with dimension names plus a
dict of JSON attributes. It is stored under a *key*: the first 24 hex digits of the SHA-256 of
its full configuration and the package version (:meth:`Store.key`), so the same configuration
run by the same version of the code is found again, and a new version never serves a stale
result.

On-disk layout (root defaults to ``./ibias-runs``)::

    ibias-runs/
      points/<key>.zarr/            one zarr v3 group per result
        zarr.json                   {"attributes": {...}, "zarr_format": 3, "node_type": "group"}
        <array>/zarr.json           array metadata: shape, data_type, one chunk = whole array,
                                    "bytes" codec (little endian), dimension_names
        <array>/c/0/.../0           the chunk: raw C-order little-endian bytes
        <array>/c                   (0-d arrays: the chunk key is ``c``; empty arrays: no chunk)
      index/<key>.json              {"key", "created" (ISO 8601, UTC), "version", **index}
      sweeps/<name>.json            sweep metadata (``put_sweep``), e.g. {"config", "axes", "keys"}
      claims/<key>                  a point being computed ({"host", "pid", "time"}; ``claim``)
      points/.tmp-*, index/.tmp-*   writes in progress (or left by a crash): never read

Every group is a plain zarr v3 group, readable by ``zarr.open_group(path, mode="r")`` and by
``xarray.open_zarr(path, consolidated=False)``. The files are written directly (not through
zarr-python, whose writer costs ~7 ms per group here): the metadata mimics what zarr-python 3
itself writes for an uncompressed single-chunk array, byte for byte in content.

Atomicity. A result is written in full into a fresh temporary directory inside ``points/``
(``.tmp-<key>-<host>-<pid>-<random>``), which is then renamed to ``points/<key>.zarr`` with
one ``os.rename`` (atomic on POSIX within one file system); only then is ``index/<key>.json``
written, to a temporary file renamed over the final name with ``os.replace`` (atomic too). A
result is *present* (:meth:`Store.has`) only if its index entry exists and its group
``zarr.json`` parses. A ``kill -9`` at any moment therefore leaves one of:

- a temporary directory or file: never read; removed by :meth:`Store.cleanup` (run when a store
  is opened) once its writer is dead (same host) or it is older than ``stale_after``;
- a complete ``<key>.zarr`` without its index entry: not present; the next ``put`` of that key
  finds the complete group and only writes the index entry, and ``cleanup`` removes such an
  orphan once it is older than ``stale_after`` (the age guard keeps a concurrent ``cleanup``
  from deleting a group whose writer is between the rename and the index write);
- a complete, present entry.

Two processes writing the same key race on the rename: the loser's rename fails, it deletes its
temporary directory and treats the key as done (the content is the same: the key is a hash of
the configuration). The guarantee is against process crashes; surviving a power cut also needs
``Store(..., fsync=True)`` (slower: every file and directory is flushed before the renames).

Attributes and index entries are JSON (no pickle anywhere). JSON has no NaN or infinities:
non-finite floats are written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``
(zarr's own encoding of non-finite fill values) and decoded back to floats on read; the encoder
is the package's one JSON encoder, :mod:`implicit_bias._json`. The
converse follows: an attribute *string* equal to one of these three reads back as a float.
Arrays hold NaN natively.

Example:
    >>> import numpy as np, tempfile
    >>> from implicit_bias.store import Store
    >>> st = Store(tempfile.mkdtemp())
    >>> k = Store.key({"model": {"name": "linear"}, "seed": 0})
    >>> st.put(k, {"predictor": (("dim",), np.arange(3.0))}, {"final_loss": float("nan")})
    True
    >>> r = st.get(k)
    >>> r.arrays["predictor"][0], r.attrs["final_loss"]
    (('dim',), nan)
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import hashlib
import json
import math
import os
import pathlib
import re
import shutil
import socket
import time
from collections.abc import Mapping, Sequence

import numpy as np

from ._json import decode_json as decode_json
from ._json import encode_json as encode_json
from ._json import NONFINITE, loads
from . import _version

__all__ = ["Store", "StoredResult", "encode_json", "decode_json", "NAME_RULE"]

NAME_RULE = "letters, digits, '_', '.' and '-' only, not starting with '.'"
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")
_MAX_NAME = 200  # leaves room for the temp-name decorations under the 255-byte file-name limit

# numpy dtype name -> (zarr v3 data_type, little-endian numpy dtype, JSON fill value)
_DTYPES = {
    "bool": ("bool", np.dtype("|b1"), False),
    "int8": ("int8", np.dtype("|i1"), 0),
    "int16": ("int16", np.dtype("<i2"), 0),
    "int32": ("int32", np.dtype("<i4"), 0),
    "int64": ("int64", np.dtype("<i8"), 0),
    "uint8": ("uint8", np.dtype("|u1"), 0),
    "uint16": ("uint16", np.dtype("<u2"), 0),
    "uint32": ("uint32", np.dtype("<u4"), 0),
    "uint64": ("uint64", np.dtype("<u8"), 0),
    "float16": ("float16", np.dtype("<f2"), 0.0),
    "float32": ("float32", np.dtype("<f4"), 0.0),
    "float64": ("float64", np.dtype("<f8"), 0.0),
}
_CHUNK_KEY_ENCODING = {"name": "default", "configuration": {"separator": "/"}}
_BYTES_LE = [{"name": "bytes", "configuration": {"endian": "little"}}]
_BYTES_1 = [{"name": "bytes"}]  # zarr-python omits the endianness of one-byte types

_OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
# A short tag of this host in temporary file names, so a reaper only removes its own host's files.
HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


# ------------------------------------------------------------------------------------- JSON
# One encoder for the package (implicit_bias._json); ``encode_json`` and ``decode_json`` stay
# importable from here.


def _dumps(obj) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- file helpers


def _write_new(path: str, data, fsync: bool = False) -> None:
    """Create ``path`` (must not exist) holding ``data`` (bytes or a buffer)."""
    fd = os.open(path, _OPEN_NEW, 0o644)
    try:
        view = memoryview(data).cast("B")
        while view:
            n = os.write(fd, view)
            view = view[n:]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover  (Windows: directories cannot be opened)
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover  (os.kill would terminate the process there)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, owned by someone else
        return True
    return True


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _check_name(name, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or len(name) > _MAX_NAME:
        raise ValueError(f"{what} {name!r} is not valid: use {NAME_RULE} (at most {_MAX_NAME} characters)")
    return name


# ------------------------------------------------------------------------------- results


@dataclasses.dataclass(frozen=True)
class StoredResult:
    """One result read back from a :class:`Store`.

    Attributes:
        key: its key in the store.
        arrays: ``{name: (dims, array)}``; ``dims`` is a tuple of dimension names, one per axis.
        attrs: the JSON attributes, non-finite floats decoded.
    """

    key: str
    arrays: dict
    attrs: dict

    def to_dataset(self):
        """The result as an ``xarray.Dataset`` (arrays as variables, ``attrs`` as attributes)."""
        import xarray as xr

        return xr.Dataset({n: (d, a) for n, (d, a) in self.arrays.items()}, attrs=dict(self.attrs))


def _prepare_arrays(arrays: Mapping) -> list:
    if not isinstance(arrays, Mapping):
        raise ValueError(f"arrays must be a mapping {{name: (dims, array)}}; received {type(arrays).__name__}")
    out, sizes = [], {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not _NAME_RE.match(name) or name.startswith("__") or name == "zarr.json":
            raise ValueError(f"array name {name!r} is not valid: use {NAME_RULE}, not starting with '__'")
        if not (isinstance(value, (tuple, list)) and len(value) == 2):
            raise ValueError(f"array {name!r} must be given as (dims, array), e.g. ((\"dim\",), np.zeros(3)); received {type(value).__name__}")
        dims, arr = value
        if isinstance(dims, str):
            dims = (dims,)
        dims = tuple(dims)
        arr = np.asarray(arr)
        if arr.dtype.name not in _DTYPES:
            raise ValueError(f"array {name!r} has dtype {arr.dtype}; the store keeps {', '.join(_DTYPES)} arrays: put strings and objects in attrs")
        if len(dims) != arr.ndim or not all(isinstance(d, str) and d for d in dims):
            raise ValueError(f"array {name!r} has {arr.ndim} axes and dims {dims!r}: give one non-empty dimension name per axis")
        for d, s in zip(dims, arr.shape):
            if sizes.setdefault(d, (s, name))[0] != s:
                raise ValueError(f"dimension {d!r} has size {s} in array {name!r} but {sizes[d][0]} in array {sizes[d][1]!r}: one dimension name, one size")
        zdt, le, fill = _DTYPES[arr.dtype.name]
        arr = arr.astype(le, copy=False)
        if not arr.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
            arr = arr.copy(order="C")
        out.append((name, dims, arr, zdt, fill))
    return out


def _array_meta(shape, zdt, fill, dims, itemsize) -> bytes:
    meta = {
        "shape": list(shape),
        "data_type": zdt,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [max(1, s) for s in shape]}},
        "chunk_key_encoding": _CHUNK_KEY_ENCODING,
        "fill_value": fill,
        "codecs": _BYTES_1 if itemsize == 1 else _BYTES_LE,
        "attributes": {},
    }
    if shape:
        meta["dimension_names"] = list(dims)  # zarr-python omits it for 0-d arrays
    meta["zarr_format"] = 3
    meta["node_type"] = "array"
    meta["storage_transformers"] = []
    return _dumps(meta)


def _read_array(path: str):
    """``(dims, array)`` of the zarr v3 array at ``path``: fast path for what this module writes."""
    meta = json.loads(_read(os.path.join(path, "zarr.json")))
    shape = tuple(meta["shape"])
    dims = tuple(meta.get("dimension_names") or ())
    zdt = meta.get("data_type")
    codecs = meta.get("codecs") or []
    grid = meta.get("chunk_grid") or {}
    fast = (
        zdt in _DTYPES
        and len(codecs) == 1
        and codecs[0].get("name") == "bytes"
        and (codecs[0].get("configuration") or {}).get("endian", "little") == "little"
        and grid.get("name") == "regular"
        and tuple(grid["configuration"]["chunk_shape"]) in (shape, tuple(max(1, s) for s in shape))
        and (meta.get("chunk_key_encoding") or {}).get("configuration", {}).get("separator", "/") == "/"
        and (meta.get("chunk_key_encoding") or {}).get("name", "default") == "default"
    )
    if not fast:  # written by someone else (compressed, several chunks): let zarr-python read it
        import zarr

        arr = zarr.open_array(path, mode="r")[...]
        return (dims or tuple(f"dim_{i}" for i in range(np.ndim(arr)))), np.asarray(arr)
    dtype = _DTYPES[zdt][1]
    if 0 in shape:
        return dims, np.zeros(shape, dtype=dtype)
    chunk = os.path.join(path, "c", *(["0"] * len(shape))) if shape else os.path.join(path, "c")
    try:
        arr = np.fromfile(chunk, dtype=dtype)
    except FileNotFoundError:  # an absent chunk holds the fill value
        fill = meta.get("fill_value", 0)
        return dims, np.full(shape, NONFINITE.get(fill, fill) if isinstance(fill, str) else fill, dtype=dtype)
    n = math.prod(shape)
    if arr.size != n:
        raise ValueError(f"chunk {chunk} holds {arr.size} values, expected {n} for shape {shape}")
    return dims, arr.astype(dtype.newbyteorder("="), copy=False).reshape(shape)


# --------------------------------------------------------------------------------- store


class Store:
    """A folder of finished results, content-addressed and crash-safe (see the module docstring).

    Args:
        root: the store folder (default ``ibias-runs``). Its sub-folders ``points``, ``index`` and
            ``sweeps`` are created on the first write, so opening a store to read creates nothing.
        fsync: flush every file and directory to disk before the atomic renames (survives a
            power cut; ~10x slower on a local disk). Process crashes are safe without it.
        stale_after: seconds after which a temporary file of another host, or a result group
            without an index entry, counts as abandoned and is removed by :meth:`cleanup`.

    Opening a store runs :meth:`cleanup`.

    Example:
        >>> import numpy as np, tempfile
        >>> st = Store(tempfile.mkdtemp())
        >>> k = Store.key({"lr": 0.1})
        >>> st.put(k, {"w": (("dim",), np.ones(2))}, {"status": "converged"}, index={"status": "converged"})
        True
        >>> st.has(k), st.put(k, {"w": (("dim",), np.ones(2))}, {})
        (True, False)
        >>> [e["status"] for e in st.entries()]
        ['converged']
    """

    def __init__(self, root="ibias-runs", *, fsync: bool = False, stale_after: float = 3600.0):
        self.root = pathlib.Path(root)
        self.fsync = bool(fsync)
        self.stale_after = float(stale_after)
        self._points = str(self.root / "points")
        self._index = str(self.root / "index")
        self._sweeps = str(self.root / "sweeps")
        self._made = False
        if self.root.is_dir():
            try:
                self.cleanup()
            except OSError:  # a read-only store can still be read
                pass

    def __repr__(self):
        return f"Store({str(self.root)!r})"

    # ------------------------------------------------------------------------------ keys

    @staticmethod
    def key(config: Mapping) -> str:
        """The key of a configuration: 24 hex digits of SHA-256 of its canonical JSON and the version.

        The hashed text is ``json.dumps({"config": config, "version": implicit_bias.__version__},
        sort_keys=True, separators=(",", ":"), allow_nan=False)`` after :func:`encode_json`
        (numpy scalars and arrays to Python numbers and lists, tuples to lists, non-finite floats
        to ``"NaN"``/``"Infinity"``/``"-Infinity"``). Dict order does not matter; JSON types do:
        ``{"lr": 1}`` and ``{"lr": 1.0}`` have different keys (validated configs always carry
        the same types, so a sweep never meets this).

        Args:
            config: the full configuration of a result (nested dicts of JSON values).

        Returns:
            A 24-character lowercase hex string.

        Raises:
            ValueError: the configuration holds a value with no JSON form.

        Example:
            >>> Store.key({"a": 1, "b": [1.0, 2.0]}) == Store.key({"b": (1.0, 2.0), "a": 1})
            True
        """
        payload = {"config": encode_json(config, "config"), "version": _version.__version__}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    # ------------------------------------------------------------------------------ paths

    def _zarr(self, key: str) -> str:
        return os.path.join(self._points, key + ".zarr")

    def _entry(self, key: str) -> str:
        return os.path.join(self._index, key + ".json")

    def _tmp_name(self, tag: str, suffix: str = "") -> str:
        return f".tmp-{tag}-{HOST_TAG}-{os.getpid()}-{os.urandom(4).hex()}{suffix}"

    def _ensure_dirs(self) -> None:
        if not self._made:
            for d in (self._points, self._index, self._sweeps):
                os.makedirs(d, exist_ok=True)
            self._made = True

    @staticmethod
    def _valid_group(path: str) -> bool:
        try:
            meta = json.loads(_read(os.path.join(path, "zarr.json")))
        except (OSError, ValueError):
            return False
        return isinstance(meta, dict) and meta.get("node_type") == "group" and meta.get("zarr_format") == 3

    # ---------------------------------------------------------------------------- results

    def has(self, key: str) -> bool:
        """Whether a complete result is stored under ``key`` (index entry present, group readable).

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).has("0" * 24)
            False
        """
        if not isinstance(key, str) or not _NAME_RE.match(key):
            return False
        return os.path.exists(self._entry(key)) and self._valid_group(self._zarr(key))

    def state(self, key: str) -> str:
        """``"present"``, ``"missing"`` or ``"damaged"``: what the store holds under ``key``.

        ``damaged``: an index entry that does not parse, a group whose ``zarr.json`` is missing
        or truncated, or an index entry without its group. A complete group whose index entry
        a crash lost is ``missing`` (the next :meth:`put` completes it). Resuming a sweep
        recomputes damaged points and replaces their files.

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).state("0" * 24)
            'missing'
        """
        if not isinstance(key, str) or not _NAME_RE.match(key):
            return "missing"
        has_entry = os.path.exists(self._entry(key))
        group_ok = self._valid_group(self._zarr(key))
        if not has_entry:
            return "damaged" if os.path.lexists(self._zarr(key)) and not group_ok else "missing"
        try:
            entry_ok = isinstance(loads(_read(self._entry(key))), dict)
        except (OSError, ValueError):
            entry_ok = False
        return "present" if entry_ok and group_ok else "damaged"

    def damaged(self) -> list[str]:
        """Keys whose index entry or group is damaged (see :meth:`state`), sorted."""
        try:
            names = set(os.listdir(self._index)) | {n[:-5] + ".json" for n in os.listdir(self._points) if n.endswith(".zarr")}
        except FileNotFoundError:
            return []
        return sorted(n[:-5] for n in names if n[0] != "." and n.endswith(".json") and self.state(n[:-5]) == "damaged")

    # ----------------------------------------------------------------------------- claims

    def _claim_path(self, key: str) -> str:
        return os.path.join(str(self.root / "claims"), key)

    def claim(self, key: str) -> bool:
        """Claim ``key`` for computing it: ``True`` if this process now holds the claim.

        A claim is a file ``claims/<key>`` created atomically (``O_EXCL``) holding the host tag,
        pid and time. An existing claim is taken over only if it is stale: its writer is dead
        (same host) or it is older than ``stale_after`` (another host); the stale file is
        renamed away first (atomic), so two processes never both take it over. Two sweeps into
        one store therefore never compute a point twice; a killed sweep's claims do not block.
        """
        _check_name(key, "key")
        path = self._claim_path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        body = _dumps({"host": HOST_TAG, "pid": os.getpid(), "time": time.time()})
        for _ in range(2):
            try:
                _write_new(path, body)
                return True
            except FileExistsError:
                if not self._claim_stale(path):
                    return False
                trash = os.path.join(os.path.dirname(path), self._tmp_name("stale-" + key))
                try:
                    os.rename(path, trash)
                except FileNotFoundError:
                    continue  # released or taken over meanwhile: try once more
                os.unlink(trash)
        return False

    def _claim_stale(self, path: str) -> bool:
        try:
            c = json.loads(_read(path))
            host, pid = c["host"], int(c["pid"])
        except FileNotFoundError:
            return True
        except (OSError, ValueError, KeyError, TypeError):  # half-written claim: stale once old
            return self._older(path, time.time(), min(self.stale_after, 60.0))
        if host == HOST_TAG:
            return pid != os.getpid() and not _pid_alive(pid)
        return self._older(path, time.time(), self.stale_after)

    def claimed(self, key: str) -> bool:
        """Whether another live process holds a claim on ``key`` (a stale claim does not count)."""
        path = self._claim_path(key)
        return os.path.exists(path) and not self._claim_stale(path)

    def release(self, key: str) -> None:
        """Drop this process's claim on ``key`` (nothing if it holds none)."""
        path = self._claim_path(key)
        try:
            c = json.loads(_read(path))
        except (OSError, ValueError):
            return
        if c.get("host") == HOST_TAG and c.get("pid") == os.getpid():
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def put(self, key: str, arrays: Mapping, attrs: Mapping, index: Mapping | None = None) -> bool:
        """Store a result under ``key``, atomically.

        Args:
            key: usually :meth:`key` of the result's configuration; any name made of
                letters, digits, ``_``, ``.``, ``-`` (not starting with ``.``) is accepted.
            arrays: ``{name: (dims, array)}``, ``dims`` one name per axis (``()`` for a
                scalar); dtypes bool, (u)int8-64, float16/32/64; one name, one size across arrays.
            attrs: JSON attributes of the result (the zarr group's attributes).
            index: extra JSON for the index entry (e.g. ``{"sweep": name, "status": "converged"}``),
                read back by :meth:`entries` without opening the result.

        Returns:
            ``True`` if this call stored the result; ``False`` if it was already present or
            another process stored the same key first (its index entry is completed if a crash
            had left it missing).

        Raises:
            ValueError: an invalid key, array name, dims, dtype, or a non-JSON attribute.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> st.put("k1", {"x": ((), np.float64(1.5)), "m": (("a", "b"), np.eye(2))}, {"n": 2})
            True
        """
        _check_name(key, "key")
        if not isinstance(attrs, Mapping):
            raise ValueError(f"attrs must be a mapping of JSON values; received {type(attrs).__name__}")
        if index is not None and not isinstance(index, Mapping):
            raise ValueError(f"index must be a mapping of JSON values; received {type(index).__name__}")
        clash = sorted({"key", "created", "version"} & set(index or {}))
        if clash:
            raise ValueError(f"index field(s) {clash} are set by the store; rename them (e.g. 'run_{clash[0]}')")
        if self.has(key):
            return False
        prepared = _prepare_arrays(arrays)
        group = _dumps({"attributes": encode_json(dict(attrs), "attrs"), "zarr_format": 3, "node_type": "group"})
        entry = _dumps({"key": key, "created": _now_iso(), "version": _version.__version__, **encode_json(dict(index or {}), "index")})
        self._ensure_dirs()
        final = self._zarr(key)
        if self._valid_group(final):  # complete group whose index entry a crash lost
            self._write_entry(key, entry)
            return False
        tmp = os.path.join(self._points, self._tmp_name(key))
        stored = False
        try:
            self._write_group(tmp, prepared, group)
            try:
                os.rename(tmp, final)
                stored = True
            except OSError as e:
                if not os.path.lexists(final) or e.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM):
                    raise
                if not self._valid_group(final):  # junk in the way (not written by a Store): replace it
                    self._discard(final)
                    try:
                        os.rename(tmp, final)
                        stored = True
                    except OSError:
                        if not self._valid_group(final):
                            raise
            if self.fsync:
                _fsync_dir(self._points)
        finally:
            if not stored and os.path.lexists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)
        if stored or not os.path.exists(self._entry(key)):
            self._write_entry(key, entry)
        return stored

    def _write_group(self, tmp: str, prepared, group: bytes) -> None:
        fs = self.fsync
        os.mkdir(tmp)
        for name, dims, arr, zdt, fill in prepared:
            adir = os.path.join(tmp, name)
            os.mkdir(adir)
            _write_new(os.path.join(adir, "zarr.json"), _array_meta(arr.shape, zdt, fill, dims, arr.itemsize), fs)
            if arr.size == 0:
                continue
            if arr.ndim == 0:
                chunk = os.path.join(adir, "c")
            else:
                cdir = os.path.join(adir, "c", *(["0"] * (arr.ndim - 1)))
                os.makedirs(cdir)
                chunk = os.path.join(cdir, "0")
            _write_new(chunk, arr.reshape(-1).view(np.uint8), fs)
            if fs:
                for d in [os.path.dirname(chunk)] + ([os.path.join(adir, "c", *(["0"] * i)) for i in range(arr.ndim - 1)] if arr.ndim > 1 else []):
                    _fsync_dir(d)
                _fsync_dir(adir)
        _write_new(os.path.join(tmp, "zarr.json"), group, fs)
        if fs:
            _fsync_dir(tmp)

    def _write_entry(self, key: str, entry: bytes) -> None:
        self._atomic_write(self._index, key + ".json", key, entry)

    def _atomic_write(self, folder: str, name: str, tag: str, data: bytes) -> None:
        tmp = os.path.join(folder, self._tmp_name(tag, ".json"))
        try:
            _write_new(tmp, data, self.fsync)
            os.replace(tmp, os.path.join(folder, name))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        if self.fsync:
            _fsync_dir(folder)

    def _discard(self, path: str) -> bool:
        """Rename ``path`` out of the way (atomic), then delete it; False if it was not there."""
        trash = os.path.join(os.path.dirname(path), self._tmp_name("rm-" + os.path.basename(path)))
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return False
        if os.path.isdir(trash):
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.unlink(trash)
        return True

    def get(self, key: str) -> StoredResult:
        """Read a stored result.

        Args:
            key: its key.

        Returns:
            A :class:`StoredResult` with ``arrays`` ``{name: (dims, np.ndarray)}`` (names sorted)
            and ``attrs`` (non-finite floats decoded).

        Raises:
            ValueError: no result ``key`` in the store, or its files are damaged.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> _ = st.put("k", {"v": (("i",), np.array([True, False]))}, {"s": "ok"})
            >>> st.get("k").arrays["v"][1].tolist(), st.get("k").attrs
            ([True, False], {'s': 'ok'})
        """
        if not self.has(key):
            raise ValueError(f"no result {key} in store {self.root}; `ibias runs ls --store {self.root}` lists what it holds")
        path = self._zarr(key)
        try:
            attrs = loads(_read(os.path.join(path, "zarr.json"))).get("attributes", {})
            arrays = {}
            for name in sorted(os.listdir(path)):
                sub = os.path.join(path, name)
                if name.startswith(".") or not os.path.isfile(os.path.join(sub, "zarr.json")):
                    continue
                arrays[name] = _read_array(sub)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"result {key} in store {self.root} is damaged ({type(e).__name__}: {e}); remove it with `ibias runs rm {key}` and recompute it") from None
        return StoredResult(key=key, arrays=arrays, attrs=attrs)

    def open_dataset(self, key: str):
        """The result ``key`` as an ``xarray.Dataset`` (in memory; attributes decoded).

        Raises:
            ValueError: no result ``key`` in the store.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> _ = st.put("k", {"w": (("dim",), np.zeros(3))}, {"loss": 0.5})
            >>> st.open_dataset("k").w.dims, st.open_dataset("k").attrs["loss"]
            (('dim',), 0.5)
        """
        return self.get(key).to_dataset()

    def entry(self, key: str) -> dict | None:
        """The index entry of ``key`` (``None`` if it is not present)."""
        if not self.has(key):
            return None
        try:
            return loads(_read(self._entry(key)))
        except (OSError, ValueError):
            return None

    def entries(self, sweep: str | None = None) -> list[dict]:
        """Index entries of the present results, oldest first, without opening any result.

        Args:
            sweep: only the results of this sweep: entries whose ``"sweep"`` field is ``sweep``
                or whose key the sweep's metadata lists in ``"keys"`` (a point shared by two
                sweeps is stored once and recorded under the first).

        Returns:
            ``[{"key", "created" (ISO 8601 UTC), "version", **index}]`` sorted by ``created``
            (then key). Entries whose result group is missing are skipped.

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).entries()
            []
        """
        try:
            names = os.listdir(self._index)
        except FileNotFoundError:
            return []
        try:
            present = set(os.listdir(self._points))
        except FileNotFoundError:
            return []
        wanted = None
        if sweep is not None:
            try:
                wanted = set(self.get_sweep(sweep).get("keys") or ())
            except ValueError:
                wanted = set()
        out = []
        join = os.path.join
        for n in names:
            if n[0] == "." or not n.endswith(".json"):
                continue
            key = n[:-5]
            if key + ".zarr" not in present:
                continue
            try:
                e = loads(_read(join(self._index, n)))
            except (OSError, ValueError):
                continue
            if sweep is not None and e.get("sweep") != sweep and key not in wanted:
                continue
            out.append(e)
        out.sort(key=lambda e: (str(e.get("created", "")), str(e.get("key", ""))))
        return out

    def remove(self, key: str) -> bool:
        """Remove the result ``key`` (group, then index entry); ``False`` if there was nothing.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> _ = st.put("k", {"w": (("d",), np.zeros(1))}, {})
            >>> st.remove("k"), st.has("k"), st.remove("k")
            (True, False, False)
        """
        _check_name(key, "key")
        removed = os.path.isdir(self._points) and self._discard(self._zarr(key))
        try:
            os.unlink(self._entry(key))
            removed = True
        except FileNotFoundError:
            pass
        return bool(removed)

    def cleanup(self, stale_after: float | None = None) -> int:
        """Remove what interrupted writes left behind.

        Removed: temporary files and folders (``.tmp-*``) of writers that are dead (same host)
        or older than ``stale_after``; result groups without an index entry, and index entries
        without a result group, older than ``stale_after`` (younger ones may belong to a write
        in progress in another process). Runs when a store is opened.

        Args:
            stale_after: seconds; default the store's ``stale_after`` (one hour).

        Returns:
            The number of files and folders removed.

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).cleanup()
            0
        """
        limit = self.stale_after if stale_after is None else float(stale_after)
        now = time.time()
        removed = 0
        listing = {}
        for d in (self._points, self._index, self._sweeps):
            try:
                listing[d] = os.listdir(d)
            except FileNotFoundError:
                listing[d] = []
        for d, names in listing.items():
            for n in names:
                if n.startswith(".tmp-") and self._stale_tmp(os.path.join(d, n), n, now, limit):
                    p = os.path.join(d, n)
                    try:
                        shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.unlink(p)
                        removed += 1
                    except FileNotFoundError:
                        pass
        indexed = {n[:-5] for n in listing[self._index] if n.endswith(".json") and n[0] != "."}
        grouped = {n[:-5] for n in listing[self._points] if n.endswith(".zarr") and n[0] != "."}
        for key in grouped - indexed:
            if self._older(self._zarr(key), now, limit) and not os.path.exists(self._entry(key)):
                removed += int(self._discard(self._zarr(key)))
        for key in indexed - grouped:
            p = self._entry(key)
            if self._older(p, now, limit) and not os.path.exists(self._zarr(key)):
                try:
                    os.unlink(p)
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed

    @staticmethod
    def _older(path: str, now: float, limit: float) -> bool:
        try:
            return now - os.lstat(path).st_mtime >= limit
        except FileNotFoundError:
            return False

    def _stale_tmp(self, path: str, name: str, now: float, limit: float) -> bool:
        parts = name.rsplit("-", 3)  # .tmp-<tag>-<host>-<pid>-<random>[.json]
        if len(parts) == 4 and parts[1] == HOST_TAG and parts[2].isdigit():
            pid = int(parts[2])
            if pid != os.getpid() and not _pid_alive(pid):
                return True
        return self._older(path, now, limit)

    # ----------------------------------------------------------------------------- sweeps

    def _sweep_path(self, name: str) -> str:
        return os.path.join(self._sweeps, _check_name(name, "sweep name") + ".json")

    def put_sweep(self, name: str, meta: Mapping) -> None:
        """Write (or replace) a sweep's metadata, atomically, as ``sweeps/<name>.json``.

        Args:
            name: the sweep's name: letters, digits, ``_``, ``.``, ``-``, not starting with ``.``.
            meta: JSON metadata; by convention ``"config"``, ``"axes"`` and ``"keys"`` (the keys
                of its points, in grid order). ``"created"`` is added if missing (kept from an
                earlier version of the same sweep, else now).

        Raises:
            ValueError: an invalid name, or metadata with no JSON form.

        Example:
            >>> import tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> st.put_sweep("demo", {"keys": ["a", "b"]})
            >>> st.get_sweep("demo")["keys"]
            ['a', 'b']
        """
        path = self._sweep_path(name)
        if not isinstance(meta, Mapping):
            raise ValueError(f"sweep metadata must be a mapping; received {type(meta).__name__}")
        enc = encode_json(dict(meta), f"sweep {name!r} metadata")
        if "created" not in enc:
            try:
                enc["created"] = loads(_read(path))["created"]
            except (OSError, ValueError, KeyError, TypeError):
                enc["created"] = _now_iso()
        self._ensure_dirs()
        self._atomic_write(self._sweeps, name + ".json", name, _dumps(enc))

    def has_sweep(self, name: str) -> bool:
        """Whether a sweep record ``sweeps/<name>.json`` exists (readable or not)."""
        return os.path.exists(self._sweep_path(name))

    def get_sweep(self, name: str) -> dict:
        """A sweep's metadata.

        Raises:
            ValueError: an invalid name, or no sweep of that name.

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).get_sweep("nope")
            Traceback (most recent call last):
            ValueError: no sweep named nope in store ...; `ibias runs ls` lists them
        """
        path = self._sweep_path(name)
        try:
            return loads(_read(path))
        except FileNotFoundError:
            raise ValueError(f"no sweep named {name} in store {self.root}; `ibias runs ls` lists them") from None
        except ValueError as e:
            raise ValueError(f"sweep {name} in store {self.root} has damaged metadata ({e}); remove it with `ibias runs rm {name}`") from None

    def sweeps(self) -> list[dict]:
        """All sweeps' metadata, each with its ``"name"``, sorted by name."""
        try:
            names = sorted(os.listdir(self._sweeps))
        except FileNotFoundError:
            return []
        out = []
        for n in names:
            if n[0] == "." or not n.endswith(".json"):
                continue
            try:
                meta = loads(_read(os.path.join(self._sweeps, n)))
            except (OSError, ValueError):
                continue
            out.append({**meta, "name": n[:-5]})
        return out

    def remove_sweep(self, name: str, points: bool = True) -> int:
        """Remove a sweep's metadata and (with ``points``) its points.

        Points that another sweep also lists are kept (the store holds each result once).

        Args:
            name: the sweep's name.
            points: also remove the points listed in its ``"keys"``.

        Returns:
            The number of points removed.

        Raises:
            ValueError: no sweep of that name.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> _ = st.put("p1", {"w": (("d",), np.zeros(1))}, {})
            >>> st.put_sweep("s", {"keys": ["p1"]})
            >>> st.remove_sweep("s"), st.has("p1")
            (1, False)
        """
        meta = self.get_sweep(name)
        n = 0
        if points:
            others = set()
            for s in self.sweeps():
                if s["name"] != name:
                    others.update(s.get("keys") or ())
            for k in meta.get("keys") or ():
                if isinstance(k, str) and _NAME_RE.match(k) and k not in others and self.remove(k):
                    n += 1
        try:
            os.unlink(self._sweep_path(name))
        except FileNotFoundError:
            pass
        return n
