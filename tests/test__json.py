"""The one JSON encoder: strict JSON everywhere, non-finite numbers as strings or null, read back."""

import json
import math

import jax.numpy as jnp
import numpy as np
import pytest

from implicit_bias._json import NONFINITE, decode_json, dumps, encode_json, loads


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


VALUE = {"a": float("nan"), "b": [math.inf, -math.inf, 1.5, 2], "c": np.arange(2), "d": (1.0,), "e": np.float32(0.5), "f": np.bool_(True), "g": None, "h": "x"}


def test_string_policy_round_trips():
    enc = encode_json(VALUE)
    assert enc["a"] == "NaN" and enc["b"][:2] == ["Infinity", "-Infinity"]
    json.dumps(enc, allow_nan=False)
    assert same(decode_json(enc), {"a": math.nan, "b": [math.inf, -math.inf, 1.5, 2], "c": [0, 1], "d": [1.0], "e": 0.5, "f": True, "g": None, "h": "x"})
    assert same(loads(dumps(VALUE)), decode_json(enc))
    assert set(NONFINITE) == {"NaN", "Infinity", "-Infinity"}


def test_null_policy_is_the_fit_json_contract():
    text = dumps(VALUE, nonfinite="null")
    out = json.loads(text)
    assert out["a"] is None and out["b"] == [None, None, 1.5, 2]
    with pytest.raises(ValueError, match="nonfinite"):
        encode_json(1.0, nonfinite="nan")


def test_ints_and_floats_keep_their_type_and_jax_arrays_convert():
    assert dumps({"i": 1, "f": 1.0, "n": np.int64(3)}) == '{"i": 1, "f": 1.0, "n": 3}'
    assert encode_json(jnp.arange(3.0)) == [0.0, 1.0, 2.0]
    assert encode_json(jnp.float64(jnp.nan)) == "NaN"


def test_keys_and_unknown_types():
    with pytest.raises(ValueError, match="JSON keys must be strings"):
        encode_json({1: 2})
    assert encode_json({1: 2, np.int64(3): 4}, str_keys=True) == {"1": 2, "3": 4}
    with pytest.raises(ValueError, match=r"attrs\['x'\] has type object"):
        encode_json({"x": object()}, "attrs")
    with pytest.raises(ValueError, match="no JSON form"):
        encode_json(np.array([1 + 2j]))


def test_other_strings_are_not_decoded_and_nonstrict_input_is_read():
    assert decode_json(["nan", "inf", "NaN"])[:2] == ["nan", "inf"]
    assert math.isnan(loads("[NaN]")[0]) and loads(b'{"x": "-Infinity"}') == {"x": -math.inf}
