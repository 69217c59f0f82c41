"""The report: a static folder with index.html, index.md and one page plus one PNG per study.

It renders what analysis computed (verdicts, tables); it computes nothing itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from bitterlab.report.figures import results_table, study_figure
from bitterlab.study import Study

_ENV = Environment(loader=PackageLoader("bitterlab", "report/templates"),
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_ENV.filters["num"] = lambda v, spec="%.4g": "—" if v is None else spec % v


def command_for(study: Study, budget: str) -> str:
    return f"bitterlab run {study.name} --budget {budget} && bitterlab report {study.name}"


def write_report(out: Path, entries: list[tuple[Study, pd.DataFrame, list[dict[str, Any]]]]) -> Path:
    """Write the report for ``(study, its rows, its verdicts)`` entries; return index.html's path."""
    out.mkdir(parents=True, exist_ok=True)
    pages = []
    for study, rows, verdicts in entries:
        budget = verdicts[0]["budget"]
        rows = rows[rows["budget"] == budget]
        fig = study_figure(study, rows, verdicts=verdicts)
        fig.savefig(out / f"{study.name}.png", dpi=110)
        plt.close(fig)
        table = results_table(rows, study.metric)
        page = dict(study=study, verdicts=verdicts, figure=f"{study.name}.png", html=f"{study.name}.html",
                    table=table.to_dict("records"), command=command_for(study, budget), budget=budget,
                    grid=study.budgets[budget].grid, seeds=sorted(rows["seed"].unique().tolist()))
        (out / page["html"]).write_text(_ENV.get_template("study.html").render(**page))
        (out / f"{study.name}.json").write_text(json.dumps(verdicts, indent=2))
        pages.append(page)
    (out / "index.html").write_text(_ENV.get_template("index.html").render(pages=pages))
    (out / "index.md").write_text(_ENV.get_template("index.md").render(pages=pages))
    return out / "index.html"
