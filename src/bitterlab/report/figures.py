"""Figures: matplotlib Figures from a results table (usable from Jupyter; the report saves them)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bitterlab.study import Study  # noqa: E402

ROLE_STYLE = {"generic": ("tab:red", "o"), "structured": ("tab:blue", "s"), "reference": ("tab:gray", "^")}


def study_figure(study: Study, df: pd.DataFrame, *, metric: str | None = None) -> Figure:
    """Log–log curves of ``metric`` vs the main axis: one panel per task, one point per seed, the
    mean over seeds joined by a line; failed trials are counted in the legend."""
    metric = metric or study.metric
    tasks = [t.name for t in study.tasks if (df["task"] == t.name).any()]
    fig, axes = plt.subplots(1, max(len(tasks), 1), figsize=(5.2 * max(len(tasks), 1), 4.0), squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=False):
        rows = df[df["task"] == task]
        for c in study.contenders:
            color, marker = ROLE_STYLE[c.role]
            mine = rows[rows["contender"] == c.name]
            ok = mine[mine["status"] == "ok"]
            n_failed = int((mine["status"] == "failed").sum())
            label = f"{c.name} ({c.role})" + (f", {n_failed} failed" if n_failed else "")
            ax.scatter(ok["x"], ok[metric], color=color, marker=marker, alpha=0.35, s=18)
            means = ok.groupby("x")[metric].mean()
            ax.plot(means.index, means.to_numpy(), color=color, marker=marker, label=label)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{study.name} / {task}")
        ax.set_xlabel(study.axis.label)
        ax.set_ylabel(f"{metric} (lower is better)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def results_table(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean, standard deviation and counts of ``metric`` per (task, contender, x)."""
    ok = df[df["status"] == "ok"]
    table = ok.groupby(["task", "contender", "x"])[metric].agg(["mean", "std", "count"]).reset_index()
    failed = df[df["status"] == "failed"].groupby(["task", "contender", "x"]).size().rename("failed")
    table = table.merge(failed.reset_index(), how="left", on=["task", "contender", "x"])
    table["failed"] = table["failed"].fillna(0).astype(int)
    table["std"] = table["std"].replace(np.nan, 0.0)
    return table
