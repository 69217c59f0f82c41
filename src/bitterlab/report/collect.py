"""What the report shows, computed before it renders: verdicts per study (analysis) and the geometry
page's tables and animation (geometry module). The templates only format these values."""

from __future__ import annotations

from concurrent.futures import FIRST_EXCEPTION, wait
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bitterlab.analysis.results import Verdict
from bitterlab.study import Study

GEODESIC_ENDS = ("normal:-2,0.5", "normal:3,1.5")  # the animation's endpoints (as `bitterlab geodesic` takes them)


@dataclass(frozen=True)
class StudyEntry:
    study: Study
    rows: pd.DataFrame  # the study's result rows at ``budget`` (ok and failed), both sweeps, every grid point
    verdicts: list[Verdict]  # the templates read them by attribute; the JSON file is their to_json()
    budget: str
    main: pd.DataFrame | None = None  # the main sweep's rows at the selected grid points
    secondary: pd.DataFrame | None = None  # the secondary sweep's selected rows, ``x`` holding its value
    sweep: pd.DataFrame | None = None  # the main sweep's rows of every grid point (the tuning curves)


def _sweeps(study: Study, rows: pd.DataFrame, budget: str
            ) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """The selected rows of the main and secondary sweeps, and the main sweep's rows of every grid point."""
    from bitterlab.analysis.selection import select
    from bitterlab.analysis.verdict import split_axes

    mains, sides, sweeps = [], [], []
    for t in study.tasks:
        main, side = split_axes(study, t.name, rows[rows["task"] == t.name], budget)
        sweeps.append(main)
        mains.append(select(main, study.metric).rows)
        if side is not None:
            sides.append(select(side, study.metric).rows)
    return pd.concat(mains), (pd.concat(sides) if sides else None), pd.concat(sweeps)


@dataclass(frozen=True)
class GeometryInputs:
    regimes: list[dict[str, object]]  # regimes_table(): every measure per regime, None where undefined
    continuity: list[dict[str, float]]  # continuity_table(): measures as two point masses merge
    animation: str  # file name of the geodesic animation, beside the pages
    ends: tuple[str, str]


def analyse(study: Study, rows: pd.DataFrame, budget: str | None = None) -> StudyEntry:
    """One study's entry from its result rows: verdicts at ``budget`` (default: full if any, else quick)
    and the selected sweeps. Raises ``LookupError`` when there are no results at that budget."""
    from bitterlab.analysis import verdict

    verdicts = verdict(study, rows, budget=budget)
    chosen = verdicts[0].budget
    mine = rows[rows["budget"] == chosen]
    main, side, sweep = _sweeps(study, mine, chosen)
    return StudyEntry(study=study, rows=mine, verdicts=verdicts, budget=chosen, main=main, secondary=side,
                      sweep=sweep)


def collect(df: pd.DataFrame, studies: list[Study], budget: str | None = None, *, jobs: int = 1) -> list[StudyEntry]:
    """One entry per study with results in ``df`` (:func:`analyse`), in the order of ``studies``. With
    ``jobs`` > 1 the studies are analysed in that many worker processes, those with the most result rows
    first (each analysis is a pure function of its rows: the entries are the same as with one job).
    Raises ``LookupError`` for a study without results at that budget, before any analysis starts."""
    from bitterlab.analysis.verdict import budget_rows

    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    parts = [df[df["study"] == s.name] for s in studies]
    for s, rows in zip(studies, parts, strict=True):
        budget_rows(s, rows, budget)
    if jobs == 1 or len(studies) < 2:
        return [analyse(s, rows, budget) for s, rows in zip(studies, parts, strict=True)]
    from bitterlab.engine.executors import worker_pool

    order = sorted(range(len(studies)), key=lambda i: -len(parts[i]))
    with worker_pool(min(jobs, len(studies))) as pool:
        futures = {i: pool.submit(analyse, studies[i], parts[i], budget) for i in order}
        done, _ = wait(futures.values(), return_when=FIRST_EXCEPTION)
        failed = [f for f in done if f.exception() is not None]
        if failed:  # drop the analyses not yet started (those running finish first)
            pool.shutdown(wait=False, cancel_futures=True)
            raise failed[0].exception()
        return [futures[i].result() for i in range(len(studies))]


def geometry_inputs(out: Path, *, frames: int = 24) -> GeometryInputs:
    """The regimes and continuity tables, and the Fisher–Rao / Wasserstein / mixture geodesics from
    N(−2, 0.5²) to N(3, 1.5²) as a GIF written into ``out``."""
    from bitterlab.geometry import continuity_table, geodesic_animation, parse_distribution, regimes_table

    out.mkdir(parents=True, exist_ok=True)
    name = "geodesics.gif"
    p, q = (parse_distribution(s) for s in GEODESIC_ENDS)
    geodesic_animation(p, q, out / name, frames=frames, fps=8)
    return GeometryInputs(regimes=regimes_table(), continuity=continuity_table(), animation=name, ends=GEODESIC_ENDS)
