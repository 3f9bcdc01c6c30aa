"""The run store: finished results, batched in compressed zarr v3 groups, content-addressed, crash-safe.

A result (one point of a sweep, one fit) is a set of named arrays with dimension names plus a
dict of JSON attributes. It is stored under a *key*: the first 24 hex digits of the SHA-256 of
its full configuration and the package version (:meth:`Store.key`), so the same configuration
run by the same version of the code is found again, and a new version never serves a stale
result.

Layout (root defaults to ``./ibias-runs``; issue 20: it holds 10^6 points in ~3·10^4 files)::

    ibias-runs/
      batches/<id>.zip        one zarr v3 group per *batch* of results written together
                              (a sweep's vectorised batch; a single ``put`` is a batch of one),
                              inside a zip file (``zarr.storage.ZipStore``), written by
                              zarr-python 3 (no hand-written format code):
        zarr.json               the group; its attributes: "keys" (the results' keys, in row
                                order) and "attrs" (each result's attributes as JSON text)
        <array>                 each array of the results stacked along a first dimension
                                ``point`` (dims ``("point", *dims)``), one chunk, compressed
                                (Blosc zstd with byte shuffle)
      index.log               the index: an append-only log of JSON lines, one per batch
                              ``{"batch", "size", "entries": [{"key", "created", "version",
                              **index}, ...], "call"?}`` (entry i describes row i; ``call``: the
                              keys of the vectorised call, if it held more) or per removal
                              ``{"rm": [keys]}``
      sweeps/<name>.json      sweep metadata (``put_sweep``), e.g. {"config", "axes", "keys"}
      claims/<key>            a point being computed ({"host", "pid", "time"}; ``claim``)
      batches/.tmp-*          writes in progress (or left by a crash): never read

Results with different array names, dims, shapes or dtypes cannot share a stacked array, so a
:meth:`Store.put_batch` writes one zip per such group (a sweep's batch shares structure: one zip).
Any zip is readable without this package::

    import zarr, xarray as xr
    g = zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")
    ds = xr.open_zarr(zarr.storage.ZipStore(path, mode="r"), consolidated=False)

(:meth:`Store.location` gives a key's zip and row.)

The index is read once and then followed incrementally (only the bytes appended since), so
:meth:`Store.has`, :meth:`Store.state` and :meth:`Store.entry` are dictionary look-ups plus one
``stat`` of the log and of the result's zip; :meth:`Store.entries` reads no zip. The records are
replayed in log order: a batch record makes each of its keys present unless it already is (the
first writer wins), a removal record removes them.

Atomicity. A batch's zip is written in full under a temporary name inside ``batches/``
(``.tmp-<id>-<host>-<pid>-<random>.zip``) and renamed to ``batches/<id>.zip`` with one
``os.rename`` (atomic on POSIX within one file system); only then is its record appended to
``index.log`` with one ``write`` on a file opened ``O_APPEND`` (concurrent appenders on one
host never interleave; a record is one line). A result is *present* only if a record names it
and its zip has the recorded size. A ``kill -9`` at any moment therefore leaves one of:

- a temporary zip: never read; removed by :meth:`Store.cleanup` (run when a store is opened)
  once its writer is dead (same host) or it is older than ``stale_after``;
- a complete zip without its record: not present (its keys are ``missing`` and written again
  by the next ``put``); ``cleanup`` removes it once it is older than ``stale_after``;
- a complete, present batch.

Two processes writing the same key both write their zip and append their record; the record
appended first wins (its writer's ``put`` returns ``True``, the other's ``False``, and a zip
none of whose rows won is deleted). The guarantees are against process crashes; surviving a
power cut also needs ``Store(..., fsync=True)`` (every zip, the log and the folders flushed).

A damaged record (a log line that does not parse) or a zip whose size differs from its record
makes its keys ``damaged`` (:meth:`Store.state`, :meth:`Store.damaged`): reported, never dropped;
a damaged key is written again by ``put`` after :meth:`Store.remove`.

Batch composition. The log keeps the keys of every batch's vectorised call, in order (removed or
not): :meth:`Store.batch_keys` returns the call a key was computed in, so a sweep recomputes a
removed or damaged point in that same call (see :mod:`implicit_bias.sweep`).

URLs. ``root`` may be an fsspec URL (``memory://runs``, ``s3://bucket/runs`` with the matching
fsspec package; ``file://`` URLs are local paths). Zips are written to a local temporary file
and uploaded in one piece (an object store's put is atomic), the index is appended through
fsspec. Claims (:meth:`Store.claim`) and the first-writer-wins rule need a local path: a URL
store takes one writer at a time (``claim`` always succeeds there; :attr:`Store.local` says
which).

Old stores. A store written before this layout (``points/<key>.zarr``, ``index/<key>.json``,
one group per point) is refused with one line when opened (:class:`Store` raises
``ValueError``); :meth:`Store.migrate` copies its results into the batched layout.

Attributes and index entries are JSON (no pickle anywhere). JSON has no NaN or infinities:
non-finite floats are written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``
(zarr's own encoding of non-finite fill values) and decoded back to floats on read; the encoder
is the package's one JSON encoder, :mod:`implicit_bias._json`. The converse follows: an
attribute *string* equal to one of these three reads back as a float. Arrays hold NaN natively.

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

import collections
import concurrent.futures
import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence

import numpy as np

from ._json import decode_json as decode_json
from ._json import encode_json as encode_json
from ._json import loads
from . import _version

__all__ = ["Store", "StoredResult", "encode_json", "decode_json", "NAME_RULE", "HOST_TAG", "POINT_DIM"]

NAME_RULE = "letters, digits, '_', '.' and '-' only, not starting with '.'"
_NAME_RE = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")
_MAX_NAME = 200  # leaves room for the temp-name decorations under the 255-byte file-name limit
#: The dimension along which a batch's results are stacked in its zarr group.
POINT_DIM = "point"
_LAYOUT = "implicit-bias run store batch 1"
_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64")
_LOG = "index.log"
_BIG_ENDIAN = not np.little_endian
_CACHE_BATCHES, _CACHE_BYTES = 64, 256 * 2**20  # decoded batch zips kept by a Store (reads in grid order hit)
_BATCH_RE = re.compile(rb'"batch":\s*"([0-9a-f]{8,64})"')

_OPEN_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_OPEN_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
#: A short tag of this host in temporary file names, so a reaper only removes its own host's files.
HOST_TAG = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _dumps(obj) -> bytes:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


_NONFINITE_TEXT = {True: "Infinity", False: "-Infinity"}


def _json_text(obj: Mapping, where: str) -> str:
    """Strict JSON text of a mapping with string keys, as :func:`encode_json` + ``json.dumps``
    would write it: through the C encoder directly when it can (top-level non-finite floats
    written as their strings first), else through :func:`encode_json` (numpy values, nested
    non-finite floats; it also raises the package's error for what has no JSON form)."""
    if all(type(k) is str for k in obj):
        flat = {k: (("NaN" if v != v else _NONFINITE_TEXT[v > 0]) if type(v) is float and v - v != 0 else v) for k, v in obj.items()}
        try:
            return json.dumps(flat, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError):
            pass
    return json.dumps(encode_json(dict(obj), where), allow_nan=False, separators=(",", ":"))


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


def _fsync_path(path: str) -> None:
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


class _LocalFS:
    """The store's file operations on a local folder (atomic renames, ``O_APPEND`` appends)."""

    local = True

    def join(self, *parts) -> str:
        return os.path.join(*parts)

    def read(self, path: str) -> bytes:
        return _read(path)

    def read_from(self, path: str, offset: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read()

    def stat(self, path: str):
        """``(size, mtime, identity)`` or ``None`` if absent."""
        try:
            s = os.stat(path)
        except FileNotFoundError:
            return None
        return s.st_size, s.st_mtime, (s.st_dev, s.st_ino)

    def listdir(self, path: str) -> list[str]:
        try:
            return os.listdir(path)
        except FileNotFoundError:
            return []

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def remove(self, path: str) -> bool:
        try:
            os.unlink(path)
            return True
        except FileNotFoundError:
            return False

    def append(self, path: str, data: bytes, fsync: bool) -> None:
        fd = os.open(path, _OPEN_APPEND, 0o644)
        try:
            n = os.write(fd, data)  # one write: appenders on one host never interleave
            if n != len(data):  # (a full disk): the torn line is reported as damaged
                raise OSError(f"short write to {path}: {n} of {len(data)} bytes")
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    def write_atomic(self, folder: str, name: str, tmp: str, data: bytes, fsync: bool) -> None:
        tmp = os.path.join(folder, tmp)
        try:
            _write_new(tmp, data, fsync)
            os.replace(tmp, os.path.join(folder, name))
        except BaseException:
            self.remove(tmp)
            raise
        if fsync:
            _fsync_path(folder)

    def publish(self, local_tmp: str, final: str, fsync: bool) -> None:
        """Move a finished zip (written at ``local_tmp`` in the same folder) to ``final``."""
        if fsync:
            _fsync_path(local_tmp)
        os.rename(local_tmp, final)
        if fsync:
            _fsync_path(os.path.dirname(final))

    def local_copy(self, path: str):
        return path, False


class _FsspecFS(_LocalFS):
    """The same operations through an fsspec filesystem (object stores, ``memory://``)."""

    local = False

    def __init__(self, fs):
        self.fs = fs

    def join(self, *parts) -> str:
        return "/".join(p.rstrip("/") for p in parts)

    def read(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def read_from(self, path: str, offset: int) -> bytes:
        return self.fs.cat_file(path, start=offset)

    def stat(self, path: str):
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        when = info.get("mtime", info.get("created", info.get("LastModified")))
        if isinstance(when, datetime.datetime):
            when = when.timestamp()
        return int(info.get("size") or 0), (float(when) if isinstance(when, (int, float)) else None), None

    def listdir(self, path: str) -> list[str]:
        try:
            return [p.rstrip("/").rsplit("/", 1)[-1] for p in self.fs.ls(path, detail=False)]
        except FileNotFoundError:
            return []

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    def remove(self, path: str) -> bool:
        try:
            self.fs.rm_file(path)
            return True
        except FileNotFoundError:
            return False

    def append(self, path: str, data: bytes, fsync: bool) -> None:
        with self.fs.open(path, "ab") as f:
            f.write(data)

    def write_atomic(self, folder: str, name: str, tmp: str, data: bytes, fsync: bool) -> None:
        self.fs.pipe_file(self.join(folder, name), data)  # one object put

    def publish(self, local_tmp: str, final: str, fsync: bool) -> None:
        try:
            self.fs.put_file(local_tmp, final)  # one object put
        finally:
            os.unlink(local_tmp)

    def local_copy(self, path: str):
        fd, tmp = tempfile.mkstemp(suffix=".zip", prefix="ibias-")
        os.close(fd)
        self.fs.get_file(path, tmp)
        return tmp, True


class _DeferInterrupt:
    """Hold Ctrl-C (SIGINT) back while a batch is written and indexed (milliseconds), then
    deliver it: a write is never cut in half by an interrupt, nor does an interrupt surface inside
    zarr's event loop. Only in the main thread (where Python handles signals)."""

    def __enter__(self):
        self.prev, self.hit = None, None
        if threading.current_thread() is threading.main_thread():
            try:
                self.prev = signal.signal(signal.SIGINT, self._hold)
            except (ValueError, OSError):  # pragma: no cover  (no signals here)
                self.prev = None
        return self

    def _hold(self, signum, frame):
        self.hit = (signum, frame)

    def __exit__(self, *exc):
        if self.prev is not None:
            signal.signal(signal.SIGINT, self.prev)
            if self.hit is not None:
                if callable(self.prev):
                    self.prev(*self.hit)  # Python's handler raises KeyboardInterrupt here
                elif self.prev == signal.SIG_DFL:  # pragma: no cover
                    signal.raise_signal(signal.SIGINT)
        return False


def _filesystem(root):
    """``(root as given for messages, root path string, filesystem)``."""
    if isinstance(root, str) and "://" in root:
        if root.startswith("file://"):
            root = root[len("file://") :]
        else:
            try:
                import fsspec
            except ImportError:
                raise ValueError(f"store {root} is a URL and fsspec is not installed; pip install fsspec (and the package of its protocol), or give a local folder") from None
            try:
                fs, path = fsspec.core.url_to_fs(root)
            except (ImportError, ValueError) as e:
                raise ValueError(f"store {root}: {str(e).splitlines()[0] if str(e) else type(e).__name__}; install the fsspec package of its protocol, or give a local folder") from None
            return root, path.rstrip("/") or "/", _FsspecFS(fs)
    path = pathlib.Path(root)
    return path, str(path), _LocalFS()


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
    """``[(name, dims, native little-endian C-contiguous array)]``, checked, sorted by name."""
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
        dt = arr.dtype
        if dt.kind not in "biuf" or (dt.kind == "f" and dt.itemsize > 8):  # (dtype.name is slow)
            raise ValueError(f"array {name!r} has dtype {arr.dtype}; the store keeps {', '.join(_DTYPES)} arrays: put strings and objects in attrs")
        if len(dims) != arr.ndim or not all(isinstance(d, str) and d for d in dims):
            raise ValueError(f"array {name!r} has {arr.ndim} axes and dims {dims!r}: give one non-empty dimension name per axis")
        if POINT_DIM in dims:
            raise ValueError(f"array {name!r} uses the dimension name {POINT_DIM!r}, which the store keeps for stacking a batch's results; rename that dimension")
        for d, s in zip(dims, arr.shape):
            if sizes.setdefault(d, (s, name))[0] != s:
                raise ValueError(f"dimension {d!r} has size {s} in array {name!r} but {sizes[d][0]} in array {sizes[d][1]!r}: one dimension name, one size")
        if dt.byteorder == ">" or (dt.byteorder == "=" and _BIG_ENDIAN):
            arr = arr.astype(dt.newbyteorder("<"))
        out.append((name, dims, arr))
    out.sort(key=lambda t: t[0])
    return out


def _schema(prepared) -> tuple:
    return tuple((n, d, a.shape, a.dtype.str) for n, d, a in prepared)


_ARRAY_META: dict = {}  # (name, dims, shape, dtype) -> (zarr ArrayV3Metadata, its zarr.json buffer)


def _codec():
    from zarr.codecs import BloscCodec

    return BloscCodec(cname="zstd", clevel=1, shuffle="shuffle")


async def _array_meta(name: str, dims: tuple, data: np.ndarray):
    """The zarr metadata of a stacked array and its encoded ``zarr.json``, made by zarr-python
    (``create_array``) once per layout and reused for every batch of that layout."""
    sig = (name, dims, data.shape, data.dtype.str)
    hit = _ARRAY_META.get(sig)
    if hit is None:
        import zarr.api.asynchronous as za
        from zarr.core.buffer import default_buffer_prototype
        from zarr.storage import MemoryStore

        arr = await za.create_array(MemoryStore(), shape=data.shape, dtype=data.dtype, chunks=tuple(max(1, s) for s in data.shape), dimension_names=list(dims), compressors=_codec(), fill_value=0, config={"write_empty_chunks": True})
        hit = (arr.metadata, arr.metadata.to_buffer_dict(default_buffer_prototype())["zarr.json"])
        if len(_ARRAY_META) > 256:
            _ARRAY_META.clear()
        _ARRAY_META[sig] = hit
    return hit


async def _write_group(store, attributes: dict, stacked: list) -> None:
    """Write a zarr v3 group (``attributes``) with the arrays ``[(name, dims, data)]`` through
    zarr-python's async API (metadata documents, codec pipeline, store), all arrays concurrently."""
    import asyncio

    from zarr import AsyncArray
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.group import GroupMetadata
    from zarr.storage import StorePath

    proto = default_buffer_prototype()
    for name, buf in GroupMetadata(attributes=attributes, zarr_format=3).to_buffer_dict(proto).items():
        await store.set(name, buf)

    async def one(name, dims, data):
        meta, buf = await _array_meta(name, dims, data)
        await store.set(f"{name}/zarr.json", buf)
        await AsyncArray(metadata=meta, store_path=StorePath(store, name)).setitem(Ellipsis, data)

    await asyncio.gather(*[one(n, d, a) for n, d, a in stacked])


_LOOP: list = []  # this thread's own event loop for zarr's async API (no hop to zarr's loop thread)


def _run(coro):
    """Run a zarr coroutine to completion: on a private event loop of the calling thread (one
    wake-up of zarr's background loop thread per call costs milliseconds on a loaded machine),
    or through ``zarr.core.sync.sync`` when an event loop already runs here (Jupyter)."""
    import asyncio
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        from zarr.core.sync import sync

        return sync(coro)
    if not _LOOP or _LOOP[0][0] is not threading.current_thread() or _LOOP[0][1].is_closed():
        loop = asyncio.new_event_loop()
        loop.set_default_executor(_InlineExecutor())  # codecs run inline: no thread hand-offs
        _LOOP[:] = [(threading.current_thread(), loop)]
    return _LOOP[0][1].run_until_complete(coro)


class _InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs what ``asyncio.to_thread`` hands it at once, in the calling thread (small chunks
    compress in microseconds; a thread hand-off costs milliseconds on a loaded machine)."""

    def submit(self, fn, /, *args, **kwargs):
        f = concurrent.futures.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as e:  # handed to the awaiting coroutine
            f.set_exception(e)
        return f


def _write_zip(path: str, keys: list[str], attrs: list[str], prepared_rows: list[list]) -> None:
    """Write one batch as a zarr v3 group in a new zip file at ``path``, through zarr-python.

    ``prepared_rows[i]`` is the prepared arrays of row ``i`` (all rows share one schema). The
    group's attributes hold ``keys`` (row order) and ``attrs`` (each row's JSON text)."""
    import zarr

    n = len(keys)
    stacked = []
    for j, (name, dims, first) in enumerate(prepared_rows[0]):
        data = np.stack([row[j][2] for row in prepared_rows]) if first.size else np.zeros((n,) + first.shape, dtype=first.dtype)
        stacked.append((name, (POINT_DIM, *dims), data))
    attributes = {"layout": _LAYOUT, "keys": list(keys), "attrs": list(attrs)}
    store = zarr.storage.ZipStore(path, mode="w")
    try:
        _run(_write_group(store, attributes, stacked))
    finally:
        store.close()


def _nbytes(data: dict) -> int:
    return sum(a.nbytes for _d, a in data["arrays"].values()) + sum(len(t) for t in data["attrs"])


def _read_zip(path: str) -> dict:
    """``{"keys": [...], "attrs": [JSON text], "arrays": {name: (dims, stacked)}}`` of a batch zip."""
    import zarr

    store = zarr.storage.ZipStore(path, mode="r")
    try:
        g = zarr.open_group(store, mode="r", zarr_format=3)
        meta = g.attrs
        out = {"keys": [str(k) for k in meta["keys"]], "attrs": [str(a) for a in meta["attrs"]], "arrays": {}}
        for name in sorted(g.array_keys()):
            a = g[name]
            dims = tuple(a.metadata.dimension_names or ())
            if not dims or dims[0] != POINT_DIM:
                raise ValueError(f"array {name} is not stacked along {POINT_DIM!r}")
            out["arrays"][name] = (dims[1:], np.asarray(a[...]))
    finally:
        store.close()
    n = len(out["keys"])
    if len(out["attrs"]) != n or any(arr.shape[0] != n for _d, arr in out["arrays"].values()):
        raise ValueError(f"the arrays of {path} do not all have {n} rows")
    return out


# --------------------------------------------------------------------------------- index


class _Index:
    """The replayed index log: present keys, batches, damage; followed incrementally."""

    def __init__(self):
        self.offset = 0
        self.ident = None
        self.live: dict[str, tuple] = {}  # key -> (batch, row, entry)
        self.batches: dict[str, dict] = {}  # batch -> {"size", "keys", "live"}
        self.composition: dict[str, str] = {}  # key -> the batch it was last written in
        self.damaged: dict[str, str] = {}  # key -> why (damaged records)
        self.bad_lines = 0  # damaged records whose keys cannot be told
        self.bad_batches: set[str] = set()  # batches named by damaged records (kept by cleanup)

    def apply(self, line: bytes, resolve) -> None:
        try:
            rec = loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except ValueError:
            self._damaged_line(line, resolve)
            return
        if "rm" in rec:
            for k in rec.get("rm") or ():
                self.damaged.pop(k, None)
                hit = self.live.pop(k, None)
                if hit is not None:
                    self.batches[hit[0]]["live"] -= 1
            return
        try:
            batch, size, entries = str(rec["batch"]), int(rec["size"]), list(rec["entries"])
            keys = [str(e["key"]) for e in entries]
        except (KeyError, TypeError, ValueError):
            self._damaged_line(line, resolve)
            return
        call = rec.get("call")
        call = [str(k) for k in call] if isinstance(call, list) and call else keys
        info = self.batches.setdefault(batch, {"size": size, "keys": keys, "call": call, "live": 0})
        for row, (k, e) in enumerate(zip(keys, entries)):
            if k not in self.live and k not in self.damaged:  # the first writer wins
                self.composition[k] = batch
                self.live[k] = (batch, row, e)
                info["live"] += 1

    def _damaged_line(self, line: bytes, resolve) -> None:
        ids = _BATCH_RE.findall(line)
        self.bad_batches.update(b.decode() for b in ids)
        keys = [k for b in ids for k in (resolve(b.decode()) or ())]
        if not keys:
            self.bad_lines += 1
        for k in keys:
            hit = self.live.pop(k, None)
            if hit is not None:
                self.batches[hit[0]]["live"] -= 1
            self.damaged[k] = "its index record does not parse"


# --------------------------------------------------------------------------------- store


class Store:
    """A folder (or fsspec URL) of finished results, batched, content-addressed, crash-safe.

    See the module docstring for the layout and the guarantees.

    Args:
        root: the store folder (default ``ibias-runs``) or an fsspec URL (``memory://runs``).
            Its contents are created on the first write, so opening a store to read creates
            nothing.
        fsync: flush every zip, the index log and the folders to disk before and after the
            atomic renames (survives a power cut). Process crashes are safe without it.
        stale_after: seconds after which a temporary file of another host, or a batch zip
            without an index record, counts as abandoned and is removed by :meth:`cleanup`.

    Raises:
        ValueError: ``root`` holds a store of the old per-point layout (one line naming
            :meth:`migrate`), or a URL whose fsspec protocol is not installed.

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

    def __init__(self, root="ibias-runs", *, fsync: bool = False, stale_after: float = 3600.0, _legacy: bool = False):
        self.root, path, self._fs = _filesystem(root)
        self.fsync = bool(fsync)
        self.stale_after = float(stale_after)
        self._path = path
        self._batches = self._fs.join(path, "batches")
        self._log = self._fs.join(path, _LOG)
        self._sweeps = self._fs.join(path, "sweeps")
        self._claims = self._fs.join(path, "claims")
        self._made = False
        self._idx = _Index()
        self._cache: collections.OrderedDict = collections.OrderedDict()
        if self.local and not _legacy and os.path.isdir(self._fs.join(path, "points")):
            raise ValueError(f"store {self.root} has the old layout (points/<key>.zarr, one zarr group per point), which this version does not read; convert it once with `ibias runs migrate --store {self.root}` (Store.migrate), or use a new --store folder")
        if self._fs.stat(self._log) is not None or self._fs.listdir(self._batches):
            try:
                self.cleanup()
            except OSError:  # a read-only store can still be read
                pass

    def __repr__(self):
        return f"Store({str(self.root)!r})"

    @property
    def local(self) -> bool:
        """Whether the store is a local folder (claims and concurrent writers need one)."""
        return self._fs.local

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

    def _zip(self, batch: str) -> str:
        return self._fs.join(self._batches, batch + ".zip")

    def _tmp_name(self, tag: str, suffix: str = "") -> str:
        return f".tmp-{tag}-{HOST_TAG}-{os.getpid()}-{os.urandom(4).hex()}{suffix}"

    def _ensure_dirs(self) -> None:
        if not self._made:
            for d in (self._batches, self._sweeps):
                self._fs.makedirs(d)
            self._made = True

    def location(self, key: str) -> tuple[str, int] | None:
        """``(path or URL of the batch zip, row)`` holding the present result ``key``, else ``None``.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> _ = st.put("k", {"w": (("d",), np.zeros(2))}, {})
            >>> path, row = st.location("k"); path.endswith(".zip"), row
            (True, 0)
        """
        if self.state(key) != "present":
            return None
        batch, row, _e = self._idx.live[key]
        return self._zip(batch), row

    # ------------------------------------------------------------------------------ index

    def _resolve(self, batch: str):
        """The keys of a batch from its zip (for a damaged record), or ``None``."""
        try:
            return self._load(batch, None)["keys"]
        except (OSError, ValueError, KeyError, TypeError, ImportError):
            return None
        except Exception:  # a zip too damaged for zipfile / zarr
            return None

    def _refresh(self) -> _Index:
        """Replay what was appended to the log since the last call (all of it if it was replaced)."""
        idx = self._idx
        st = self._fs.stat(self._log)
        if st is None:
            if idx.offset:
                self._idx = idx = _Index()
            return idx
        size, _mtime, ident = st
        if size < idx.offset or (ident is not None and idx.ident is not None and ident != idx.ident):
            self._idx = idx = _Index()
        if size == idx.offset:
            return idx
        data = self._fs.read_from(self._log, idx.offset)
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].split(b"\n"):
            if line.strip():
                idx.apply(line, self._resolve)
        idx.offset += end
        idx.ident = ident
        return idx

    def _zip_ok(self, batch: str, idx: _Index) -> bool:
        st = self._fs.stat(self._zip(batch))
        return st is not None and st[0] == idx.batches[batch]["size"]

    # ---------------------------------------------------------------------------- results

    def has(self, key: str) -> bool:
        """Whether a complete result is stored under ``key`` (an index record names it, its zip has
        the recorded size).

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).has("0" * 24)
            False
        """
        return self.state(key) == "present"

    def state(self, key: str) -> str:
        """``"present"``, ``"missing"`` or ``"damaged"``: what the store holds under ``key``.

        ``damaged``: the index record naming it does not parse, or its batch zip is missing or
        has another size than recorded (truncated). A complete zip whose record a crash lost is
        ``missing`` (the next :meth:`put` writes the key again). Resuming a sweep recomputes
        damaged points (after :meth:`remove`).

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).state("0" * 24)
            'missing'
        """
        if not isinstance(key, str) or not _NAME_RE.match(key):
            return "missing"
        self._refresh()
        return self._state(key)

    def _state(self, key: str) -> str:
        """:meth:`state` without reading what the log gained since the last refresh."""
        idx = self._idx
        hit = idx.live.get(key)
        if hit is not None:
            return "present" if self._zip_ok(hit[0], idx) else "damaged"
        return "damaged" if key in idx.damaged else "missing"

    def damaged(self) -> list[str]:
        """Keys whose index record or batch zip is damaged (see :meth:`state`), sorted."""
        idx = self._refresh()
        bad = set(idx.damaged)
        for batch in {b for b, _r, _e in idx.live.values()}:
            if not self._zip_ok(batch, idx):
                bad.update(k for k, (b, _r, _e) in idx.live.items() if b == batch)
        return sorted(bad)

    def batch_keys(self, key: str) -> list[str] | None:
        """The keys of the call (vectorised batch) that computed ``key``, in their order: the
        ``call`` given to :meth:`put_batch` when it was written, else the keys written with it
        (``None`` if it was never written).

        The log keeps this after the key is removed, so a point recomputed after ``ibias runs rm``
        can be recomputed in the same vectorised batch (identical numbers, bit for bit).

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> _ = st.put_batch([(k, {"w": (("d",), np.zeros(1))}, {}, None) for k in ("a", "b")])
            >>> _ = st.remove("a"); st.batch_keys("a")
            ['a', 'b']
        """
        idx = self._refresh()
        batch = idx.composition.get(key)
        return None if batch is None else list(idx.batches[batch]["call"])

    # ----------------------------------------------------------------------------- claims

    def _claim_path(self, key: str) -> str:
        return os.path.join(self._claims, key)

    def claim(self, key: str) -> bool:
        """Claim ``key`` for computing it: ``True`` if this process now holds the claim.

        A claim is a file ``claims/<key>`` created atomically (``O_EXCL``) holding the host tag,
        pid and time. An existing claim is taken over only if it is stale: its writer is dead
        (same host) or it is older than ``stale_after`` (another host); the stale file is
        renamed away first (atomic), so two processes never both take it over. Two sweeps into
        one store therefore never compute a point twice; a killed sweep's claims do not block.
        A URL store (:attr:`local` false) has no claims: this returns ``True`` (one writer at a
        time).
        """
        _check_name(key, "key")
        if not self.local:
            return True
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
        if not self.local:
            return False
        path = self._claim_path(key)
        return os.path.exists(path) and not self._claim_stale(path)

    def release(self, key: str) -> None:
        """Drop this process's claim on ``key`` (nothing if it holds none)."""
        if not self.local:
            return
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

    # ------------------------------------------------------------------------------ write

    def put(self, key: str, arrays: Mapping, attrs: Mapping, index: Mapping | None = None) -> bool:
        """Store a result under ``key``, atomically: a batch of one (see :meth:`put_batch`).

        Args:
            key: usually :meth:`key` of the result's configuration; any name made of
                letters, digits, ``_``, ``.``, ``-`` (not starting with ``.``) is accepted.
            arrays: ``{name: (dims, array)}``, ``dims`` one name per axis (``()`` for a
                scalar; not ``"point"``); dtypes bool, (u)int8-64, float16/32/64; one name, one
                size across arrays.
            attrs: JSON attributes of the result.
            index: extra JSON for the index entry (e.g. ``{"sweep": name, "status": "converged"}``),
                read back by :meth:`entries` without opening the result.

        Returns:
            ``True`` if this call stored the result; ``False`` if it was already present or
            another process stored the same key first.

        Raises:
            ValueError: an invalid key, array name, dims, dtype, or a non-JSON attribute.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> st.put("k1", {"x": ((), np.float64(1.5)), "m": (("a", "b"), np.eye(2))}, {"n": 2})
            True
        """
        return self.put_batch([(key, arrays, attrs, index)])[0]

    def put_batch(self, items: Sequence, call: Sequence[str] | None = None) -> list[bool]:
        """Store a batch of results at once: one zip (per array layout) and one index append.

        The batch is atomic: after a crash either all its results are present or none (its
        records are appended in one write, after its zips are complete). Results already
        present are skipped; a damaged one is replaced.

        Args:
            items: ``[(key, arrays, attrs, index or None)]`` as in :meth:`put`.
            call: the keys of the vectorised call that computed these results, in its order,
                if it held more points than are written here (recorded in the index and returned
                by :meth:`batch_keys`, so they can be recomputed in the same call).

        Returns:
            Per item, whether this call stored it (``False``: present before, repeated in
            ``items``, or stored first by another process).

        Raises:
            ValueError: as :meth:`put`; nothing is written then.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> st.put_batch([(f"k{i}", {"w": (("d",), np.full(2, i))}, {"i": i}, None) for i in range(3)])
            [True, True, True]
            >>> st.get("k2").attrs, st.location("k2")[1]
            ({'i': 2}, 2)
        """
        rows, seen = [], set()
        for item in items:
            if not (isinstance(item, (tuple, list)) and len(item) == 4):
                raise ValueError("put_batch takes (key, arrays, attrs, index) tuples; index may be None")
            key, arrays, attrs, index = item
            _check_name(key, "key")
            if not isinstance(attrs, Mapping):
                raise ValueError(f"attrs must be a mapping of JSON values; received {type(attrs).__name__}")
            if index is not None and not isinstance(index, Mapping):
                raise ValueError(f"index must be a mapping of JSON values; received {type(index).__name__}")
            clash = sorted({"key", "created", "version"} & set(index or {}))
            if clash:
                raise ValueError(f"index field(s) {clash} are set by the store; rename them (e.g. 'run_{clash[0]}')")
            prepared = _prepare_arrays(arrays)
            text = _json_text(attrs, "attrs")
            entry = _json_text({"key": key, "created": _now_iso(), "version": _version.__version__, **(index or {})}, "index")
            rows.append((key, prepared, text, entry))
        self._refresh()
        states = {r[0]: self._state(r[0]) for r in rows}
        todo = []
        for r in rows:
            if states[r[0]] != "present" and r[0] not in seen:
                seen.add(r[0])
                todo.append(r)
        if not todo:
            return [False] * len(rows)
        self._ensure_dirs()
        groups: dict[tuple, list] = {}
        for r in todo:
            groups.setdefault(_schema(r[1]), []).append(r)
        damaged = [r[0] for r in todo if states[r[0]] == "damaged"]
        records = [_dumps({"rm": damaged}) + b"\n"] if damaged else []
        written = []
        with _DeferInterrupt():
            return self._commit(rows, groups, records, written, seen, call)

    def _commit(self, rows, groups, records, written, seen, call) -> list[bool]:
        """Write the zips of :meth:`put_batch`, append their records, tell which rows won."""
        try:
            for group in groups.values():
                batch = os.urandom(10).hex()
                size = self._write_batch(batch, group)
                written.append(batch)
                extra = f',"call":{json.dumps([str(k) for k in call])}' if call is not None and list(call) != [r[0] for r in group] else ""
                records.append(f'{{"batch":"{batch}","size":{size},"entries":[{",".join(r[3] for r in group)}]{extra}}}\n'.encode())
            self._fs.append(self._log, b"".join(records), self.fsync)
        except BaseException:
            for batch in written:  # not indexed: never read; removed here (or by cleanup)
                self._fs.remove(self._zip(batch))
            raise
        idx = self._refresh()
        won_keys = {k for k in seen if k in idx.live and idx.live[k][0] in written}
        for batch in written:
            if idx.batches.get(batch, {}).get("live", 0) == 0:  # another writer won every row
                self._fs.remove(self._zip(batch))
        out, first = [], set()
        for r in rows:
            out.append(r[0] in won_keys and r[0] not in first)
            first.add(r[0])
        return out

    def _write_batch(self, batch: str, group: list) -> int:
        """Write a zip for ``group`` (rows sharing one schema) and move it into place; its size."""
        if self.local:
            tmp = os.path.join(self._batches, self._tmp_name(batch, ".zip"))
        else:
            fd, tmp = tempfile.mkstemp(suffix=".zip", prefix="ibias-")
            os.close(fd)
            os.unlink(tmp)
        try:
            _write_zip(tmp, [r[0] for r in group], [r[2] for r in group], [r[1] for r in group])
            size = os.path.getsize(tmp)
            self._fs.publish(tmp, self._zip(batch), self.fsync)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return size

    # ------------------------------------------------------------------------------- read

    def _load(self, batch: str, size: int | None) -> dict:
        """The decoded batch zip (a few recent ones are cached)."""
        hit = self._cache.get(batch)
        if hit is not None and (size is None or hit[0] == size):
            self._cache.move_to_end(batch)
            return hit[1]
        path, temp = self._fs.local_copy(self._zip(batch))
        try:
            data = _read_zip(path)
            real = os.path.getsize(path)
        finally:
            if temp:
                os.unlink(path)
        self._cache[batch] = (real, data)
        while len(self._cache) > 1 and (len(self._cache) > _CACHE_BATCHES or sum(_nbytes(d) for _s, d in self._cache.values()) > _CACHE_BYTES):
            self._cache.popitem(last=False)
        return data

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
        state = self.state(key)
        if state == "missing":
            raise ValueError(f"no result {key} in store {self.root}; `ibias runs ls --store {self.root}` lists what it holds")
        try:
            if state == "damaged":
                raise ValueError("its index record does not parse, or its batch zip is missing or truncated")
            batch, row, _e = self._idx.live[key]
            data = self._load(batch, self._idx.batches[batch]["size"])
            if data["keys"][row] != key:
                raise ValueError(f"row {row} of batch {batch} holds {data['keys'][row]}")
            attrs = loads(data["attrs"][row])
            arrays = {n: (d, np.array(a[row])) for n, (d, a) in data["arrays"].items()}
        except Exception as e:  # zipfile, zarr and numcodecs raise many kinds on damaged bytes
            raise ValueError(f"result {key} in store {self.root} is damaged ({type(e).__name__}: {str(e)[:200]}); remove it with `ibias runs rm {key}` and recompute it") from None
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
        return dict(self._idx.live[key][2])

    def entries(self, sweep: str | None = None) -> list[dict]:
        """Index entries of the present results, oldest first, without opening any result.

        Args:
            sweep: only the results of this sweep: entries whose ``"sweep"`` field is ``sweep``
                or whose key the sweep's metadata lists in ``"keys"`` (a point shared by two
                sweeps is stored once and recorded under the first).

        Returns:
            ``[{"key", "created" (ISO 8601 UTC), "version", **index}]`` sorted by ``created``
            (then key). Entries whose batch zip is missing or truncated are left out (they are
            :meth:`damaged`).

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).entries()
            []
        """
        idx = self._refresh()
        wanted = None
        if sweep is not None:
            try:
                wanted = set(self.get_sweep(sweep).get("keys") or ())
            except ValueError:
                wanted = set()
        ok: dict[str, bool] = {}
        out = []
        for k, (batch, _row, e) in idx.live.items():
            if sweep is not None and e.get("sweep") != sweep and k not in wanted:
                continue
            if batch not in ok:
                ok[batch] = self._zip_ok(batch, idx)
            if ok[batch]:
                out.append(dict(e))
        out.sort(key=lambda e: (str(e.get("created", "")), str(e.get("key", ""))))
        return out

    # ----------------------------------------------------------------------------- remove

    def remove(self, key: str) -> bool:
        """Remove the result ``key`` (present or damaged); ``False`` if there was nothing.

        A removal is a record appended to the index; a batch zip none of whose results is
        present any more is deleted.

        Example:
            >>> import numpy as np, tempfile
            >>> st = Store(tempfile.mkdtemp())
            >>> _ = st.put("k", {"w": (("d",), np.zeros(1))}, {})
            >>> st.remove("k"), st.has("k"), st.remove("k")
            (True, False, False)
        """
        _check_name(key, "key")
        return self.remove_many([key]) == 1

    def remove_many(self, keys: Sequence[str]) -> int:
        """Remove several results with one index record; the number removed (present or damaged)."""
        idx = self._refresh()
        gone = list(dict.fromkeys(k for k in keys if isinstance(k, str) and (k in idx.live or k in idx.damaged)))
        if not gone:
            return 0
        batches = {idx.live[k][0] for k in gone if k in idx.live}
        with _DeferInterrupt():
            self._fs.append(self._log, _dumps({"rm": gone}) + b"\n", self.fsync)
        idx = self._refresh()
        for b in batches:
            if idx.batches.get(b, {}).get("live", 1) == 0:
                self._fs.remove(self._zip(b))
                self._cache.pop(b, None)
        return len(gone)

    def cleanup(self, stale_after: float | None = None) -> int:
        """Remove what interrupted writes left behind, and batch zips with no present result.

        Removed: temporary zips (``.tmp-*``) of writers that are dead (same host) or older than
        ``stale_after``; batch zips without an index record older than ``stale_after`` (younger
        ones may belong to a write in progress in another process); batch zips all of whose
        results were removed. Runs when a store is opened.

        Args:
            stale_after: seconds; default the store's ``stale_after`` (one hour).

        Returns:
            The number of files removed.

        Example:
            >>> import tempfile
            >>> Store(tempfile.mkdtemp()).cleanup()
            0
        """
        limit = self.stale_after if stale_after is None else float(stale_after)
        now = time.time()
        idx = self._refresh()
        removed = 0
        for n in self._fs.listdir(self._batches):
            path = self._fs.join(self._batches, n)
            if n.startswith(".tmp-"):
                drop = self._stale_tmp(path, n, now, limit)
            elif n.endswith(".zip"):
                b = n[:-4]
                if b in idx.batches:
                    drop = idx.batches[b]["live"] == 0
                else:
                    drop = b not in idx.bad_batches and self._older(path, now, limit)
                    drop = drop and self._fs.stat(path) is not None and b not in self._refresh().batches
            else:
                drop = False
            if drop and self._fs.remove(path):
                removed += 1
        return removed

    def _older(self, path: str, now: float, limit: float) -> bool:
        st = self._fs.stat(path)
        return st is not None and st[1] is not None and now - st[1] >= limit

    def _stale_tmp(self, path: str, name: str, now: float, limit: float) -> bool:
        parts = name.rsplit("-", 3)  # .tmp-<tag>-<host>-<pid>-<random>[.zip]
        if len(parts) == 4 and parts[1] == HOST_TAG and parts[2].isdigit():
            pid = int(parts[2])
            if pid != os.getpid() and not _pid_alive(pid):
                return True
        return self._older(path, now, limit)

    # ----------------------------------------------------------------------------- sweeps

    def _sweep_path(self, name: str) -> str:
        return self._fs.join(self._sweeps, _check_name(name, "sweep name") + ".json")

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
                enc["created"] = loads(self._fs.read(path))["created"]
            except (OSError, ValueError, KeyError, TypeError):
                enc["created"] = _now_iso()
        self._ensure_dirs()
        self._fs.write_atomic(self._sweeps, name + ".json", self._tmp_name(name, ".json"), _dumps(enc), self.fsync)

    def has_sweep(self, name: str) -> bool:
        """Whether a sweep record ``sweeps/<name>.json`` exists (readable or not)."""
        return self._fs.stat(self._sweep_path(name)) is not None

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
            return loads(self._fs.read(path))
        except FileNotFoundError:
            raise ValueError(f"no sweep named {name} in store {self.root}; `ibias runs ls` lists them") from None
        except ValueError as e:
            raise ValueError(f"sweep {name} in store {self.root} has damaged metadata ({e}); remove it with `ibias runs rm {name}`") from None

    def sweeps(self) -> list[dict]:
        """All sweeps' metadata, each with its ``"name"``, sorted by name."""
        out = []
        for n in sorted(self._fs.listdir(self._sweeps)):
            if n[0] == "." or not n.endswith(".json"):
                continue
            try:
                meta = loads(self._fs.read(self._fs.join(self._sweeps, n)))
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
            n = self.remove_many([k for k in meta.get("keys") or () if isinstance(k, str) and _NAME_RE.match(k) and k not in others])
        self._fs.remove(self._sweep_path(name))
        return n

    # ---------------------------------------------------------------------------- migrate

    @staticmethod
    def migrate(root, batch: int = 256) -> int:
        """Convert a store of the old per-point layout (``points/<key>.zarr``, ``index/<key>.json``)
        in place into the batched layout; the number of results moved.

        Each old group is read with zarr-python (they are plain zarr v3 groups), written again
        ``batch`` results per zip with its index fields (``created`` becomes now), then the old
        folders are removed. Sweep records are kept as they are. Interrupted, it can be run again
        (results already moved are skipped). A store already in the batched layout: 0.

        Example:
            >>> import tempfile
            >>> Store.migrate(tempfile.mkdtemp())
            0
        """
        import zarr

        root = pathlib.Path(root)
        old_points, old_index = root / "points", root / "index"
        if not old_points.is_dir():
            return 0
        st = Store(root, _legacy=True)
        moved, pending = 0, []
        names = sorted(n for n in os.listdir(old_index) if n.endswith(".json") and n[0] != ".") if old_index.is_dir() else []
        for n in names:
            key = n[:-5]
            try:
                entry = loads(_read(str(old_index / n)))
                g = zarr.open_group(str(old_points / (key + ".zarr")), mode="r")
                arrays = {a: (tuple(g[a].metadata.dimension_names or ()), np.asarray(g[a][...])) for a in g.array_keys()}
                attrs = decode_json(dict(g.attrs))
            except Exception:  # an unreadable old result is not moved (it was damaged)
                continue
            pending.append((key, arrays, attrs, {k: v for k, v in entry.items() if k not in ("key", "created", "version")}))
            if len(pending) == batch:
                moved += sum(st.put_batch(pending))
                pending = []
        if pending:
            moved += sum(st.put_batch(pending))
        for d in (old_points, old_index):
            if d.is_dir():
                trash = root / f".tmp-legacy-{d.name}-{HOST_TAG}-{os.getpid()}-{os.urandom(4).hex()}"
                os.rename(d, trash)
                shutil.rmtree(trash, ignore_errors=True)
        return moved
