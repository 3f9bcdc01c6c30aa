"""One house style for every figure.

Figures take data (an ``xarray.Dataset`` or arrays) and return a ``matplotlib`` Figure; they
never train. Axes are labelled with units, log axes where the papers use them, and each figure
carries its paper reference in a caption line.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["figure", "caption", "COLORS", "plt"]

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

_STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
    "savefig.dpi": 130,
}


def figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.2, height: float = 3.2, **kw):
    """A figure with ``nrows x ncols`` axes in the house style; returns ``(fig, axes)``."""
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kw)
    for ax in axes.flat:
        for k, v in (("axes.grid", True),):
            ax.grid(v, alpha=0.3)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    return fig, axes


def caption(fig, text: str):
    """Put the caption (with the paper reference) under the figure."""
    fig.text(0.01, -0.02, text, ha="left", va="top", fontsize=8, wrap=True)
    fig.tight_layout()
    return fig
