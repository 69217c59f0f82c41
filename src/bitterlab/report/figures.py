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


def study_figure(study: Study, df: pd.DataFrame, *, metric: str | None = None,
                 verdicts: list[dict] | None = None) -> Figure:
    """Log–log curves of ``metric`` vs the main axis: one panel per task, one point per seed, the
    mean over seeds; with ``verdicts``, the fitted curves with their 90% bands (extrapolation dashed)
    and the crossover marked. Failed trials are counted in the legend."""
    by_task = {v["task"]: v for v in verdicts or []}
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
            band = ((by_task.get(task) or {}).get("bands") or {}).get(c.name)
            if band and metric == study.metric:
                ax.plot(means.index, means.to_numpy(), color=color, marker=marker, linestyle="none", label=label)
                inside = [b for b in band if not b["extrapolated"]]
                beyond = [b for b in band if b["extrapolated"]]
                for part, style in ((inside, "-"), (inside[-1:] + beyond, "--")):
                    ax.plot([b["x"] for b in part], [b["value"] for b in part], color=color, linestyle=style)
                shown = [b for b in band if b["low"] is not None]
                ax.fill_between([b["x"] for b in shown], [b["low"] for b in shown], [b["high"] for b in shown],
                                color=color, alpha=0.15, linewidth=0)
            else:
                ax.plot(means.index, means.to_numpy(), color=color, marker=marker, label=label)
        cross = ((by_task.get(task) or {}).get("crossover") or {}).get("point")
        if cross and metric == study.metric:
            ax.axvline(cross, color="black", linestyle=":", linewidth=1, label=f"crossover ≈ {cross:.3g}")
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
