"""Figures: matplotlib Figures from results and the bands analysis computed (usable from Jupyter;
the report and ``bitterlab fit --plot`` save them). They render; they compute nothing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from bitterlab.analysis.results import BandPoint, Verdict
from bitterlab.report.numbers import num, plain
from bitterlab.study import Axis, Study

ROLE_STYLE = {"generic": ("tab:red", "o"), "structured": ("tab:blue", "s"), "reference": ("tab:gray", "^")}
CYCLE = [("tab:red", "o"), ("tab:blue", "s"), ("tab:green", "D"), ("tab:purple", "v"), ("tab:orange", "P"),
         ("tab:brown", "X"), ("tab:pink", "*"), ("tab:olive", "h")]


def draw_curve(ax: Axes, x, y, *, color: str, marker: str, label: str, band: Sequence[BandPoint] | None = None) -> None:
    """One contender on log–log axes: every point (one per seed), the mean per scale, and with a
    ``band`` the fitted curve (solid inside the measured range, dashed where extrapolated) and its
    interval."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ax.scatter(x, y, color=color, marker=marker, alpha=0.35, s=18)
    means = pd.Series(y).groupby(x).mean()
    if not band:
        ax.plot(means.index, means.to_numpy(), color=color, marker=marker, label=label)
        return
    ax.plot(means.index, means.to_numpy(), color=color, marker=marker, linestyle="none", label=label)
    inside = [b for b in band if not b.extrapolated]
    beyond = [b for b in band if b.extrapolated]
    ax.plot([b.x for b in inside], [b.value for b in inside], color=color, linestyle="-")
    ax.plot([b.x for b in inside[-1:] + beyond], [b.value for b in inside[-1:] + beyond], color=color,
            linestyle="--")
    shown = [b for b in band if b.low is not None and b.high is not None]
    ax.fill_between([b.x for b in shown], [b.low for b in shown], [b.high for b in shown],
                    color=color, alpha=0.15, linewidth=0)


def mark_crossover(ax: Axes, point: float | None, label: str) -> None:
    if point:
        ax.axvline(point, color="black", linestyle=":", linewidth=1, label=label)


def _log_axes(ax: Axes, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def label_measured_x(ax: Axes, xs) -> None:
    """On a log x axis spanning less than two decades, tick and label the measured axis values
    themselves (matplotlib's log ticks would label such a range "8×10⁰, 9×10⁰, 10¹" and leave 16
    unlabelled)."""
    xs = sorted({float(x) for x in xs if x > 0})
    if len(xs) < 2 or len(xs) > 10 or xs[-1] / xs[0] >= 100:
        return
    ax.xaxis.set_major_locator(FixedLocator(xs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: num(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())


def study_figure(study: Study, df: pd.DataFrame, *, metric: str | None = None,
                 verdicts: list[Verdict] | None = None, axis: Axis | None = None) -> Figure:
    """Log–log curves of ``metric`` vs the main axis (or ``axis``, e.g. the secondary one, whose values
    ``df["x"]`` then holds): one panel per task, one point per seed, the mean over seeds; with
    ``verdicts``, the fitted curves with their 90% bands (extrapolation dashed) and the crossover
    marked. Failed trials are counted in the legend."""
    axis = axis or study.axis
    by_task = {v.task: v for v in verdicts or []}
    metric = metric or study.metric
    tasks = [t.name for t in study.tasks if (df["task"] == t.name).any()]
    fig = Figure(figsize=(5.2 * max(len(tasks), 1), 4.0))
    axes = fig.subplots(1, max(len(tasks), 1), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=False):
        rows = df[df["task"] == task]
        verdict = by_task.get(task)
        for c in study.contenders:
            color, marker = ROLE_STYLE[c.role]
            mine = rows[rows["contender"] == c.name]
            if mine.empty:
                continue
            ok = mine[mine["status"] == "ok"]
            n_failed = int((mine["status"] == "failed").sum())
            label = f"{c.name} ({c.role})" + (f", {n_failed} failed" if n_failed else "")
            band = ((verdict and verdict.bands) or {}).get(c.name) if metric == study.metric else None
            draw_curve(ax, ok["x"], ok[metric], color=color, marker=marker, label=label, band=band)
        if metric == study.metric:
            point = verdict.crossover.point if verdict and verdict.crossover else None
            mark_crossover(ax, point, f"crossover ≈ {num(point)}" if point else "")
        at = verdict.at.x if verdict and verdict.at else 0
        title = f"{study.name} / {task}" + ("" if axis is study.axis else f" (at {study.axis.name} = {plain(at)})")
        _log_axes(ax, title, axis.label, f"{metric} (lower is better)")
        label_measured_x(ax, rows["x"])
    fig.tight_layout()
    return fig


def _largest_x(rows: pd.DataFrame, task: str) -> tuple[pd.DataFrame, float | None]:
    mine = rows[rows["task"] == task]
    return (mine[mine["x"] == mine["x"].max()], float(mine["x"].max())) if len(mine) else (mine, None)


def tuning_figure(study: Study, rows: pd.DataFrame, verdicts: list[Verdict]) -> Figure | None:
    """Each contender's tuning curve at the largest main-axis value: the mean validation value of the
    main metric (over ok seeds) against the first tuned option, the selected point ringed; one panel
    per task. ``rows``: the main sweep's rows of every grid point. ``None`` when nothing was tuned."""
    tuned_tasks = [v.task for v in verdicts if v.tuned]
    if not tuned_tasks or "tuned" not in rows:
        return None
    fig = Figure(figsize=(5.2 * len(tuned_tasks), 3.8))
    axes = fig.subplots(1, len(tuned_tasks), squeeze=False)
    for ax, task in zip(axes[0], tuned_tasks, strict=True):
        at, x = _largest_x(rows, task)
        verdict = next(v for v in verdicts if v.task == task)
        option = None
        for c in study.contenders:
            mine = at[(at["contender"] == c.name) & (at["status"] == "ok")]
            names = sorted({k for t in mine["tuned"] for k in t})
            if mine.empty or not names:
                continue
            option = option or names[0]
            values = [t.get(option) for t in mine["tuned"]]
            val = [v.get(study.metric, np.nan) for v in mine["validation"]]
            curve = pd.Series(val, index=values).groupby(level=0).mean().sort_index()
            color, marker = ROLE_STYLE[c.role]
            ax.plot(curve.index, curve.to_numpy(), color=color, marker=marker, label=c.name)
            chosen = next((p for p in (verdict.selected.get(c.name) or ()) if p.x == x), None)
            if chosen and option in chosen.values and chosen.values[option] in curve.index:
                ax.scatter([chosen.values[option]], [curve[chosen.values[option]]], s=160,
                           facecolors="none", edgecolors=color, linewidths=2)
        ax.set_title(f"{study.name} / {task}: tuning at {study.axis.name} = {plain(x)}")
        ax.set_xlabel(f"{option or 'tuned option'} (ringed: selected)")
        ax.set_ylabel(f"validation {study.metric} (mean over seeds)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_figure(study: Study, rows: pd.DataFrame) -> Figure | None:
    """Training (dashed) and validation (solid) loss against steps of the selected trials at the
    largest main-axis value, one line per seed; one panel per task. ``rows``: selected rows with a
    ``curve`` column. ``None`` when no trial recorded a curve."""
    if "curve" not in rows or not any(isinstance(c, dict) for c in rows["curve"]):
        return None
    tasks = [t.name for t in study.tasks if any(isinstance(c, dict) for c in rows[rows["task"] == t.name]["curve"])]
    fig = Figure(figsize=(5.2 * len(tasks), 3.8))
    axes = fig.subplots(1, len(tasks), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        at, x = _largest_x(rows[rows["curve"].map(lambda c: isinstance(c, dict))], task)
        for c in study.contenders:
            color, _ = ROLE_STYLE[c.role]
            for i, curve in enumerate(at[at["contender"] == c.name]["curve"]):
                steps = np.maximum(np.asarray(curve["steps"], float), 1.0)
                ax.plot(steps, curve["validation"], color=color, alpha=0.7, label=c.name if i == 0 else None)
                ax.plot(steps, curve["train"], color=color, alpha=0.4, linestyle="--")
        ax.set_title(f"{study.name} / {task}: training at {study.axis.name} = {plain(x)}")
        _log_axes(ax, ax.get_title(), "optimiser step", "loss (solid: validation; dashed: training)")
    fig.tight_layout()
    return fig


def results_table(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean, standard deviation and counts of ``metric`` per (task, contender, x), and per x2 (the
    secondary axis's value) where the rows have one."""
    keys = ["task", "contender", "x"] + (["x2"] if "x2" in df and df["x2"].notna().any() else [])
    ok = df[df["status"] == "ok"]
    table = ok.groupby(keys)[metric].agg(["mean", "std", "count"]).reset_index()
    failed = df[df["status"] == "failed"].groupby(keys).size().rename("failed")
    table = table.merge(failed.reset_index(), how="left", on=keys)
    table["failed"] = table["failed"].fillna(0).astype(int)
    table["std"] = table["std"].replace(np.nan, 0.0)
    return table
