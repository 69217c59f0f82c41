"""The verdict of a study: machine-readable (the JSON contract of design.md) and in words.

One verdict per task. Keys every script may rely on: ``study``, ``task``, ``axis``, ``metric``
(lower is better), ``contenders`` ([{name, role}]), ``per_scale`` ([{x, winner, difference, low,
high}]; difference = L_generic − L_structured), ``winner_at_largest``, ``fits``, ``exchange_rate``,
``crossover``, ``failed_trials``, ``censored`` (per contender: how many of its selected trials hit their
cap before their target; their value of the metric is a lower bound, fitted as one). More keys: ``outcome``, ``budget``, ``level``, ``n_trials``,
``seeds``, ``warnings``, ``words``, ``bands`` (per contender, the fitted curve with its pointwise
interval to 10x the largest scale, extrapolated points marked), ``secondary`` (for a study with a
secondary axis: the same verdict along that axis at the largest main-axis value, with ``at``; else
``null``), ``also`` (one verdict, with the same keys, per further metric the study declares in
``Study.verdicts``, at the grid points the main metric's validation selected; ``[]`` if none),
``selected_by`` (the metric whose validation value selected the grid points). The schema is in
docs/verdict.md; in Python a verdict is a :class:`bitterlab.analysis.results.Verdict` (attributes
named as the keys), its JSON ``Verdict.to_json()``. Its words come from
:mod:`bitterlab.report.verdict_words` (the one import of the report by the analysis).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from bitterlab.analysis.compare import per_scale
from bitterlab.analysis.evidence import evidence
from bitterlab.analysis.grouped import few_seeds_warning, fit_grouped
from bitterlab.analysis.results import At, ContenderRole, Crossover, Outcome, Verdict
from bitterlab.analysis.scaling import (ContenderFit, bound_warnings, compare, fit_band, fit_summary,
                                        selection_warnings, shape_warnings)
from bitterlab.analysis.selection import protocol_warnings, select
from bitterlab.report.verdict_words import also_words, secondary_words, words
from bitterlab.study import Axis, Study

LEVEL = 0.9
MIN_SCALES = 5
MIN_DECADES = 1.5


def pick_budget(df: pd.DataFrame) -> str:
    """The budget a verdict reads by default: ``full`` if the store has any, else ``quick``."""
    budgets = set(df["budget"])
    return "full" if "full" in budgets else "quick"


CENSORED = "_censored"  # the column of flags the verdict's fits read: the row's metric is a lower bound


def censored_flags(rows: pd.DataFrame, metric: str) -> np.ndarray:
    """Per row: whether ``metric`` is a lower bound there (the trial hit its cap first; store column
    ``censored``, a list of metric names; all false for stores before schema 4)."""
    if "censored" not in rows:
        return np.zeros(len(rows), bool)
    return np.array([isinstance(c, (list, tuple)) and metric in c for c in rows["censored"]], bool)


def fit_task(study: Study, ok: pd.DataFrame, metric: str | None = None) -> dict[str, ContenderFit]:
    """Fit every contender of one task that has ok results; replicates are shared (paired by seed).
    Censored rows (a trial that hit its cap) enter the fit as lower bounds, "at least this value" —
    the fit of ``bitterlab fit --censored`` (:func:`bitterlab.analysis.grouped.fit_grouped`)."""
    metric = metric or study.metric
    ok = ok.assign(**{CENSORED: censored_flags(ok, metric)})
    frames = {c.name: ok[ok["contender"] == c.name] for c in study.contenders}
    return fit_grouped({k: v for k, v in frames.items() if len(v)}, metric, x="x", seed="seed",
                       censored=CENSORED if ok[CENSORED].any() else None)


def outcome(crossover: Crossover | None) -> Outcome | None:
    """The most probable of the three outcomes: the curves cross inside the measured range, they
    cross only beyond it (within 10x), or the gap persists (no crossing within 10x)."""
    if crossover is None or crossover.p_within is None:
        return None
    p = {"cross_within": crossover.p_within, "cross_beyond": crossover.p_beyond_10x,
         "no_cross": 1 - crossover.p_within - crossover.p_beyond_10x}
    name = max(p, key=p.get)
    return Outcome(name=name, probability=float(p[name]))


def task_verdict(study: Study, task: str, rows: pd.DataFrame, budget: str, *,
                 axis: Axis | None = None, metric: str | None = None) -> Verdict:
    """Verdict for one task of a study from its result rows (ok and failed) at one budget, along
    ``axis`` (default: the main axis; rows' ``x`` holds its values), on test ``metric`` (default: the
    main one; the grid points compared are always those selected by the main metric's validation). Along
    an axis that is not a scale (``axis.scale`` false) results are compared per value and no curve is
    fitted."""
    axis = axis or study.axis
    metric = metric or study.metric
    generic = next(c for c in study.contenders if c.role == "generic")
    structured = next(c for c in study.contenders if c.role == "structured")
    selection = select(rows, study.metric)  # each contender's tuned options, chosen by validation
    rows = selection.rows
    ok = rows[rows["status"] == "ok"]
    ok = ok[np.isfinite(ok[metric].to_numpy(float))] if metric in ok else ok.iloc[0:0]
    failed = rows[rows["status"] == "failed"]
    scales = per_scale(ok, metric, generic.name, structured.name, level=LEVEL) if len(ok) else []
    warnings = []
    if len(scales) < MIN_SCALES:
        warnings.append(f"only {len(scales)} scales measured with both contenders (fewer than {MIN_SCALES})")
    if scales:
        warnings += few_seeds_warning(min(s.n_seeds for s in scales))
    if len(failed):
        reasons = failed["reason"].value_counts().head(3)
        warnings.append(f"{len(failed)} failed trial(s): " + "; ".join(f"{r} (×{n})" for r, n in reasons.items()))
    warnings += protocol_warnings(selection)
    flags = censored_flags(ok, metric)
    censored = {c.name: int(flags[(ok["contender"] == c.name).to_numpy()].sum()) for c in study.contenders}
    if flags.any():
        who = ", ".join(f"{c} {n} of {int((ok['contender'] == c).sum())}" for c, n in censored.items() if n)
        warnings.append(f"{int(flags.sum())} selected trial(s) hit their cap before the target ({who}): their "
                        f"{metric} is a lower bound ('at least the cap'), fitted as censored, not dropped; "
                        "per-scale means and differences that include them are bounds too")
    xs = sorted(set(ok["x"]))
    if len(xs) >= 2 and max(xs) / min(xs) < 10**MIN_DECADES:
        warnings.append(f"the measured range spans {np.log10(max(xs) / min(xs)):.2f} decades (less than "
                        f"{MIN_DECADES})")
    fits, bands, exchange, crossover = None, None, None, None
    if axis.scale:
        fits, bands, comparison, fit_notes = _fit_and_compare(study, ok, generic.name, structured.name, metric)
        warnings += fit_notes
        if comparison is not None:
            exchange, crossover = comparison.exchange_rate, comparison.crossover
        if crossover is not None:  # does the data itself change sign, decisively?
            decisive = {s.winner for s in scales if s.decisive}
            crossover = replace(crossover, measured_sign_change=len(decisive) == 2)
    draft = Verdict(
        study=study.name,
        task=task,
        axis=axis.name,
        axis_is_scale=axis.scale,
        axis_kind=axis.kind,
        metric=metric,
        selected_by=study.metric,
        contenders=tuple(ContenderRole(name=c.name, role=c.role) for c in study.contenders),
        per_scale=tuple(scales),
        winner_at_largest=scales[-1].winner if scales else None,
        fits=fits,
        exchange_rate=exchange,
        crossover=crossover,
        outcome=outcome(crossover),
        failed_trials=int(len(failed)),
        censored=censored,
        failed_tuning_trials=selection.sweep_failed,
        tuned=selection.tuned,
        selected=dict(selection.selected),
        unconverged=dict(selection.unconverged),
        bands=bands,
        budget=budget,
        level=LEVEL,
        n_trials=int(len(rows)),
        seeds=tuple(sorted(int(s) for s in rows["seed"].unique())),
        warnings=tuple(warnings),
        secondary=None,
        words="",
        evidence=None,
    )
    return replace(draft, words=words(draft, study, generic.name, structured.name, axis), evidence=evidence(draft))


def _fit_and_compare(study: Study, ok: pd.DataFrame, generic: str, structured: str, metric: str):
    """Fitted curves (summaries and bands) and the exchange rate and crossover of a pair, with the
    warnings the fits raise; ``None`` s and a warning when no curve can be fitted."""
    notes: list[str] = []
    try:
        curves = fit_task(study, ok, metric)
        fits = {name: fit_summary(cf, LEVEL) for name, cf in curves.items()}
        bands = {name: fit_band(cf, LEVEL) for name, cf in curves.items()}
        for name, cf in curves.items():
            notes += shape_warnings(cf, name, metric) + selection_warnings(cf, name)
            notes += bound_warnings(fits[name], name)
            if not cf.selection.targets:
                notes.append(f"{name}: fewer than 5 scales, so no held-out check of the {cf.family} fit")
        return fits, bands, compare(curves[generic], curves[structured], LEVEL), notes
    except (ValueError, KeyError) as exc:
        return None, None, None, [f"no scaling fit: {exc}"]


def split_axes(study: Study, task: str, rows: pd.DataFrame,
               budget: str) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A task's rows as the main sweep (at the secondary axis's default value) and the secondary
    sweep (at the largest main-axis value, generic and structured contenders only, with ``x`` set to
    the secondary value; ``None`` when the budget does not sweep it). Rows without ``x2`` belong to
    the main sweep (stores before schema 2)."""
    if study.secondary is None or "x2" not in rows:
        return rows, None
    default = study.secondary_default(task, budget)
    if default is None:
        return rows, None
    x2 = rows["x2"].astype(float).fillna(default)
    main = rows[np.isclose(x2, default)]
    if task not in study.budgets[budget].secondary:
        return main, None
    at = (rows["x"].astype(float) == study.secondary_at(task, budget)) & (rows["role"] != "reference")
    sweep = rows[at].assign(x=x2[at])
    return main, sweep


def budget_rows(study: Study, df: pd.DataFrame, budget: str | None = None) -> tuple[pd.DataFrame, str]:
    """``study``'s rows of ``df`` at ``budget`` (default: full if any, else quick) and that budget;
    ``LookupError`` when there are none."""
    rows = df[df["study"] == study.name]
    if rows.empty:
        raise LookupError(f"no results for study {study.name!r} in the store (run: bitterlab run {study.name})")
    budget = budget or pick_budget(rows)
    rows = rows[rows["budget"] == budget]
    if rows.empty:
        raise LookupError(f"no results for study {study.name!r} at budget {budget!r}")
    return rows, budget


def verdict(study: Study, df: pd.DataFrame, *, budget: str | None = None) -> list[Verdict]:
    """One verdict per task of ``study`` from the results table ``df`` (any studies)."""
    rows, budget = budget_rows(study, df, budget)
    out = []
    for t in study.tasks:
        if not (rows["task"] == t.name).any():
            continue
        main, sweep = split_axes(study, t.name, rows[rows["task"] == t.name], budget)
        v = task_verdict(study, t.name, main, budget)
        if sweep is not None and len(sweep):
            side = task_verdict(study, t.name, sweep, budget, axis=study.secondary)
            at = study.secondary_at(t.name, budget)
            side = replace(side, at=At(axis=study.axis.name, x=at), words=secondary_words(study, at, side.words))
            v = replace(v, secondary=side)
        out.append(replace(v, also=tuple(_also(study, t.name, main, budget, m) for m in study.verdicts)))
    return out


def _also(study: Study, task: str, rows: pd.DataFrame, budget: str, metric: str) -> Verdict:
    """The verdict on a further declared metric (``Study.verdicts``), at the same selected grid points."""
    v = task_verdict(study, task, rows, budget, metric=metric)
    return replace(v, words=also_words(metric, v.words))
