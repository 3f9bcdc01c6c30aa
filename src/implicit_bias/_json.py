"""Strict JSON for the whole package: the one way numbers JSON has no word for are written.

JSON has no NaN and no infinities, and ``json.dumps`` writes the invalid tokens ``NaN`` and
``Infinity`` unless told ``allow_nan=False``. Everything the package writes as JSON goes through
:func:`encode_json` (or :func:`dumps`) here, so every file and every ``--json`` output is strict
JSON, and the two spellings of a non-finite float are chosen in one place:

- ``nonfinite="string"`` (the default): the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
  (zarr's encoding of non-finite fill values). Used where the value must read back as the float
  it was: the run store (attributes, index entries, sweep metadata), ``ibias runs ... --json``,
  the experiment results ``ID.json`` and the JSON attributes of ``ID.nc``. :func:`decode_json`
  (or :func:`loads`) turns the three strings back into floats.
- ``nonfinite="null"``: ``null``, the ``ibias fit --json`` contract of DESIGN.md (a quantity
  that is not a finite number is absent).

Files written before this module existed are still read: the run store always used the
``"NaN"`` strings; ``ID.json`` used Python's ``"nan"``, ``"inf"``, ``"-inf"``, which stay strings
on reading (the report shows them as they are, the same text as a decoded float).

Besides floats, :func:`encode_json` converts numpy and JAX scalars and arrays (to numbers and
nested lists), tuples (to lists) and pydantic models (through ``model_dump``).

Example:
    >>> dumps({"a": (1, float("inf")), "b": float("nan")})
    '{"a": [1, "Infinity"], "b": "NaN"}'
    >>> dumps({"a": (1, float("inf"))}, nonfinite="null")
    '{"a": [1, null]}'
    >>> loads('{"a": [1, "Infinity"]}')
    {'a': [1, inf]}
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np

__all__ = ["encode_json", "decode_json", "dumps", "loads", "NONFINITE"]

#: The strings non-finite floats are written as (``nonfinite="string"``) and read back from.
NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}

_POLICIES = ("string", "null")


def _nonfinite(x: float, nonfinite: str):
    if nonfinite == "null":
        return None
    return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")


def _key(k, where: str, str_keys: bool) -> str:
    if isinstance(k, str):
        return str(k)  # np.str_ too
    if str_keys and isinstance(k, (bool, int, float, np.generic)):
        return str(k)
    raise ValueError(f"{where} has a key {k!r} of type {type(k).__name__}; JSON keys must be strings: convert the key with str()")


def encode_json(obj, where: str = "value", *, nonfinite: str = "string", str_keys: bool = False):
    """Convert ``obj`` to plain JSON types; non-finite floats become strings or ``None``.

    numpy and JAX scalars become Python numbers, arrays and tuples become lists, non-finite
    floats become ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (``nonfinite="string"``) or ``None``
    (``nonfinite="null"``). ints and floats keep their JSON type (``1`` and ``1.0`` stay distinct).

    Args:
        obj: nested dicts, lists, tuples, numbers, strings, bools, ``None``, numpy / JAX scalars
            and arrays (numbers, bools or strings), pydantic models.
        where: how to name ``obj`` in an error message.
        nonfinite: ``"string"`` (readable back by :func:`decode_json`) or ``"null"``.
        str_keys: turn number and bool dict keys into strings with ``str()`` instead of raising.

    Returns:
        The same structure in JSON types, ready for ``json.dumps(..., allow_nan=False)``.

    Raises:
        ValueError: a dict key is not a string (unless ``str_keys``), or a value has no JSON
            form (the message names where).

    Example:
        >>> encode_json({"a": (1, float("inf")), "b": np.float64(0.5)})
        {'a': [1, 'Infinity'], 'b': 0.5}
    """
    if nonfinite not in _POLICIES:
        raise ValueError(f"nonfinite must be 'string' or 'null'; received {nonfinite!r}")
    return _encode(obj, where, nonfinite, str_keys)


def _encode(obj, where, nonfinite, str_keys):
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else _nonfinite(obj, nonfinite)
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            k = _key(k, where, str_keys)
            out[k] = _encode(v, f"{where}[{k!r}]", nonfinite, str_keys)
        return out
    if isinstance(obj, (list, tuple)):
        return [_encode(v, f"{where}[{i}]", nonfinite, str_keys) for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        if obj.dtype.kind in "biufUS":
            return _encode(obj.item(), where, nonfinite, str_keys)
    elif isinstance(obj, np.ndarray) or (hasattr(obj, "__array__") and hasattr(obj, "dtype") and hasattr(obj, "shape")):
        arr = np.asarray(obj)  # JAX arrays too
        if arr.dtype.kind not in "biufUS":
            raise ValueError(f"{where} is an array of dtype {arr.dtype}, which has no JSON form; store numbers, bools or strings")
        return _encode(arr.tolist(), where, nonfinite, str_keys)
    if hasattr(obj, "model_dump") and callable(obj.model_dump):  # pydantic models
        return _encode(obj.model_dump(), where, nonfinite, str_keys)
    raise ValueError(f"{where} has type {type(obj).__name__}, which has no JSON form; convert it to a number, string, bool, None, list or dict")


def decode_json(obj):
    """Inverse of :func:`encode_json` for non-finite floats: ``"NaN"`` etc. become floats.

    Only the three strings of :data:`NONFINITE` are decoded; any other string (``"nan"``
    included) stays a string.

    Example:
        >>> decode_json({"x": ["NaN", "-Infinity", "nan"]})
        {'x': [nan, -inf, 'nan']}
    """
    if isinstance(obj, str):
        return NONFINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {k: decode_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_json(v) for v in obj]
    return obj


def dumps(obj, where: str = "value", *, nonfinite: str = "string", str_keys: bool = False, **kwargs) -> str:
    """``json.dumps(encode_json(obj, ...), allow_nan=False, **kwargs)``: strict JSON text.

    ``kwargs`` are those of :func:`json.dumps` (``indent``, ``separators``, ``sort_keys``).
    """
    return json.dumps(encode_json(obj, where, nonfinite=nonfinite, str_keys=str_keys), allow_nan=False, **kwargs)


def loads(text: str | bytes):
    """``json.loads`` followed by :func:`decode_json`: the non-finite strings read back as floats.

    ``NaN`` / ``Infinity`` tokens of non-strict JSON (written by other tools) are accepted too.
    """
    obj = json.loads(text)
    has = (b"NaN" in text or b"Infinity" in text) if isinstance(text, bytes) else ("NaN" in text or "Infinity" in text)
    return decode_json(obj) if has else obj
