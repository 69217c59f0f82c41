"""The report: a static folder — index.html (the scoreboard), index.md, one page, one PNG and one
JSON verdict per study, and a geometry page with its animation. Viewing it needs no network.

It renders what :mod:`bitterlab.report.collect` gathered (verdicts, tables); it computes nothing.
The templates receive the verdicts as :class:`bitterlab.analysis.results.Verdict` objects (Jinja
reads ``v.words`` and ``p["values"]`` by attribute as well as by key); the JSON file of a study is
their ``to_json()``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

import bitterlab
from bitterlab.report.collect import GeometryInputs, StudyEntry
from bitterlab.report.figures import results_table, study_figure, training_figure, tuning_figure
from bitterlab.report.numbers import cell
from bitterlab.report.tables import scoreboard
from bitterlab.study import Study

_ENV = Environment(loader=PackageLoader("bitterlab", "report/templates"), undefined=StrictUndefined,
                   autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
_ENV.filters["num"] = cell


def command_for(study: Study, budget: str) -> str:
    """The exact command that reproduces a study's page (a user's study by the reference it was run by)."""
    from bitterlab.studies.load import reference

    ref = reference(study)
    return f"bitterlab run {ref} --budget {budget} && bitterlab report {ref} --budget {budget}"


def write_report(out: Path, entries: list[StudyEntry], geometry: GeometryInputs | None = None) -> Path:
    """Write the report for ``entries`` (and the geometry page if given); return index.html's path."""
    out.mkdir(parents=True, exist_ok=True)
    nav = [{"name": e.study.name, "html": f"{e.study.name}.html"} for e in entries]
    common = {"nav": nav, "geometry": geometry, "version": bitterlab.__version__}
    for e in entries:
        study = e.study
        fig = study_figure(study, e.rows if e.main is None else e.main, verdicts=e.verdicts)
        fig.savefig(out / f"{study.name}.png", dpi=110)
        side_figure = None
        if e.secondary is not None and study.secondary is not None:
            side_figure = f"{study.name}-{study.secondary.name}.png"
            fig = study_figure(study, e.secondary, axis=study.secondary,
                               verdicts=[v.secondary for v in e.verdicts if v.secondary])
            fig.savefig(out / side_figure, dpi=110)
        extra = {}
        for kind, make in (("tuning", lambda: tuning_figure(study, e.sweep if e.sweep is not None else e.rows,
                                                             e.verdicts)),
                           ("training", lambda: training_figure(study, e.rows if e.main is None else e.main))):
            fig = make()
            extra[f"{kind}_figure"] = None
            if fig is not None:
                extra[f"{kind}_figure"] = f"{study.name}-{kind}.png"
                fig.savefig(out / extra[f"{kind}_figure"], dpi=110)
        spec = study.budgets[e.budget]
        page = dict(study=study, verdicts=e.verdicts, figure=f"{study.name}.png", json=f"{study.name}.json",
                    side_figure=side_figure, secondary_grid=spec.secondary,
                    **extra, tune={c.name: dict(study.tune_grid(c.name, e.budget)) for c in study.contenders},
                    table=results_table(e.rows if e.main is None else pd.concat([e.main, e.secondary]) if
                                        e.secondary is not None else e.main, study.metric).to_dict("records"),
                    command=command_for(study, e.budget),
                    budget=e.budget, grid=spec.grid, options=", ".join(f"{k} {v}" for k, v in spec.options.items()) or
                    "no training options", seeds=sorted(int(s) for s in e.rows["seed"].unique()))
        (out / f"{study.name}.html").write_text(_ENV.get_template("study.html").render(**common, **page))
        (out / f"{study.name}.json").write_text(json.dumps([v.to_json() for v in e.verdicts], indent=2))
    board = scoreboard([(e.study, e.verdicts) for e in entries])
    rows = [{**r, "html": f"{r['study']}.html"} for r in board.to_dict("records")]
    columns = list(board.columns)
    (out / "index.html").write_text(_ENV.get_template("index.html").render(**common, rows=rows, columns=columns))
    (out / "index.md").write_text(_ENV.get_template("index.md").render(rows=rows, entries=entries,
                                                                      geometry=geometry))
    if geometry is not None:
        regime_columns = list(geometry.regimes[0]) if geometry.regimes else []
        continuity_columns = list(geometry.continuity[0]) if geometry.continuity else []
        (out / "geometry.html").write_text(_ENV.get_template("geometry.html").render(
            **common, regime_columns=regime_columns, continuity_columns=continuity_columns))
    return out / "index.html"
