"""Figures of ``bitterlab fit --plot``: one-axis curves with their bands and crossover marks drawn
by probability, and the two-axis law as loss against N with one fitted line per D level. They
render what analysis computed (the two-axis lines evaluate the fitted formula); legends sit
outside the data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import cm, colormaps, colors
from matplotlib.figure import Figure

from bitterlab.analysis.results import BandPoint, GroupComparison, TwoAxisSummary
from bitterlab.report.figures import CYCLE, _log_axes, draw_curve
from bitterlab.report.numbers import num, prob

MAX_LEVELS = 6  # D levels drawn as lines; more distinct D values are binned in log space


def _outside_legend(ax) -> None:
    """The legend to the right of the axes (replacing the one over the data)."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)


def fit_figure(frame: pd.DataFrame, *, x: str, y: str, group: str, bands: Mapping[str, Sequence[BandPoint]],
               comparisons: Sequence[GroupComparison]) -> Figure:
    """Each group's points, fitted curve (dashed where extrapolated) and band; each comparison's
    crossing as a vertical line whose opacity is its probability (within the range or within 10x
    beyond), drawn only where it falls inside the plotted range."""
    fig = Figure(figsize=(7.6, 4.4))
    ax = fig.subplots()
    for (g, rows), (color, marker) in zip(frame.groupby(group, sort=False), CYCLE * 8, strict=False):
        draw_curve(ax, rows[x], rows[y], color=color, marker=marker, label=str(g), band=bands.get(g))
    lo = min(b[0].x for b in bands.values()) if bands else float(frame[x].min())
    hi = max(b[-1].x for b in bands.values()) if bands else float(frame[x].max())
    for c in comparisons:
        cross = c.crossover
        point, p = cross.point, cross.p_within + cross.p_beyond_10x
        if point is None or not lo <= point <= hi:
            continue
        ax.axvline(point, color="black", linestyle=":", linewidth=1.5, alpha=max(0.15, min(1.0, p)),
                   label=f"{c.group} × {c.reference} ≈ {num(point)} (P = {prob(p)})", gid="crossover")
    _log_axes(ax, f"{y} vs {x}", x, f"{y} (lower is better)")
    _outside_legend(ax)
    fig.tight_layout()
    return fig


def d_levels(d: np.ndarray, max_levels: int = MAX_LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """(level of each row, the D of each level): the distinct D values, or, when there are more than
    ``max_levels``, equal-width bins of log D represented by their geometric mean."""
    d = np.asarray(d, float)
    values = np.unique(d)
    if len(values) <= max_levels:
        return np.searchsorted(values, d), values
    edges = np.linspace(np.log(d.min()), np.log(d.max()), max_levels + 1)
    idx = np.clip(np.searchsorted(edges, np.log(d), side="right") - 1, 0, max_levels - 1)
    used = np.unique(idx)
    level = np.searchsorted(used, idx)
    return level, np.array([np.exp(np.log(d[idx == u]).mean()) for u in used])


def surface_figure(frame: pd.DataFrame, *, n: str, d: str, y: str, group: str,
                   fits: Mapping[str, TwoAxisSummary]) -> Figure:
    """Loss against N, the points coloured by D (log colour scale), and for each D level the fitted
    L(N, D) = E + A/N^α + B/D^β of the group as a line of the level's colour: one panel per group."""
    groups = list(dict.fromkeys(frame[group]))
    fig = Figure(figsize=(5.2 * len(groups) + 1.2, 4.4))
    axes = fig.subplots(1, len(groups), squeeze=False)
    norm = colors.LogNorm(vmin=float(frame[d].min()), vmax=float(frame[d].max()))
    cmap = colormaps["viridis"]
    for ax, g in zip(axes[0], groups, strict=True):
        rows = frame[frame[group] == g]
        p = {k: v.value for k, v in fits[g].params.items()}
        ax.scatter(rows[n], rows[y], c=rows[d], cmap=cmap, norm=norm, s=16, alpha=0.8)
        level, values = d_levels(rows[d].to_numpy(float))
        for k, dv in enumerate(values):
            at = rows[n].to_numpy(float)[level == k]
            grid = np.geomspace(at.min(), at.max(), 60) if at.min() < at.max() else np.geomspace(at.min() / 2, at.min() * 2, 60)
            curve = p["E"] + p["A"] * grid ** -p["alpha"] + p["B"] * dv ** -p["beta"]
            ax.plot(grid, curve, color=cmap(norm(dv)), linewidth=1.5, label=f"{d} ≈ {num(dv)}", gid="d-level")
        _log_axes(ax, f"{g}: {y} vs {n}, one fitted line per {d} level", n, f"{y} (lower is better)")
        _outside_legend(ax)
    fig.colorbar(cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes[0].tolist(), label=d, location="left", pad=0.12)
    return fig
