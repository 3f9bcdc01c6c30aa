"""Norm specifications shared by the steepest-descent algorithm and the max-margin theory."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["parse_norm"]


def parse_norm(norm) -> tuple[str, float, bool]:
    """``(canonical name, p, named)`` for ``"l1" | "l2" | "linf" | p >= 1 | "lp:P"``.

    ``named`` is True for the three named norms (which get dedicated QP/LP routes in
    ``theory.max_margin``); numbers and ``"lp:P"`` strings are canonicalised to ``"lp:P"``.
    """
    expected = "unknown norm: norm must be 'l1', 'l2', 'linf', a number p >= 1 or a string 'lp:P' with P >= 1"
    if isinstance(norm, str):
        s = norm.strip().lower()
        named = {"l1": 1.0, "l2": 2.0, "linf": math.inf}
        if s in named:
            return s, named[s], True
        if s.startswith("lp:"):
            try:
                p = float(s[3:])
            except ValueError:
                raise ValueError(f"{expected}; received {norm!r}") from None
        else:
            raise ValueError(f"{expected}; received {norm!r}")
    elif isinstance(norm, (int, float, np.integer, np.floating)) and not isinstance(norm, bool):
        p = float(norm)
    else:
        raise ValueError(f"{expected}; received {norm!r}")
    if math.isnan(p) or p < 1.0:
        raise ValueError(f"{expected}; received {norm!r}")
    return f"lp:{p:g}", p, False
