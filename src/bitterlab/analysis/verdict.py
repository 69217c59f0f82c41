"""The verdict of a study: machine-readable (the JSON contract of design.md) and in words.

One verdict per task. Keys every script may rely on: ``study``, ``task``, ``axis``, ``metric``
(lower is better), ``contenders`` ([{name, role}]), ``per_scale`` ([{x, winner, difference, low,
high}]; difference = L_generic − L_structured), ``winner_at_largest``, ``fits``, ``exchange_rate``,
``crossover``, ``failed_trials``. More keys: ``outcome``, ``budget``, ``level``, ``n_trials``,
``seeds``, ``warnings``, ``words``, ``bands`` (per contender, the fitted curve with its pointwise
interval to 10x the largest scale, extrapolated points marked), ``secondary`` (for a study with a
secondary axis: the same verdict along that axis at the largest main-axis value, with ``at``; else
``null``), ``also`` (one verdict, with the same keys, per further metric the study declares in
``Study.verdicts``, at the grid points the main metric's validation selected; ``[]`` if none),
``selected_by`` (the metric whose validation value selected the grid points). The schema is in
docs/verdict.md.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from bitterlab.analysis.compare import TIE, per_scale
from bitterlab.analysis.evidence import evidence
from bitterlab.analysis.grouped import few_seeds_warning, fit_grouped
from bitterlab.analysis.scaling import (BEYOND, ContenderFit, bound_warnings, compare, fit_band, fit_summary,
                                        selection_warnings, shape_warnings)
from bitterlab.analysis.selection import protocol_warnings, select
from bitterlab.study import Axis, Study

LEVEL = 0.9
MIN_SCALES = 5
MIN_DECADES = 1.5


def pick_budget(df: pd.DataFrame) -> str:
    """The budget a verdict reads by default: ``full`` if the store has any, else ``quick``."""
    budgets = set(df["budget"])
    return "full" if "full" in budgets else "quick"


def fit_task(study: Study, ok: pd.DataFrame, metric: str | None = None) -> dict[str, ContenderFit]:
    """Fit every contender of one task that has ok results; replicates are shared (paired by seed)."""
    metric = metric or study.metric
    frames = {c.name: ok[ok["contender"] == c.name] for c in study.contenders}
    return fit_grouped({k: v for k, v in frames.items() if len(v)}, metric, x="x", seed="seed")


def outcome(crossover: dict | None) -> dict[str, Any] | None:
    """The most probable of the three outcomes: the curves cross inside the measured range, they
    cross only beyond it (within 10x), or the gap persists (no crossing within 10x)."""
    if crossover is None or crossover.get("p_within") is None:
        return None
    p = {"cross_within": crossover["p_within"], "cross_beyond": crossover["p_beyond_10x"],
         "no_cross": 1 - crossover["p_within"] - crossover["p_beyond_10x"]}
    name = max(p, key=p.get)
    return {"name": name, "probability": float(p[name])}


def task_verdict(study: Study, task: str, rows: pd.DataFrame, budget: str, *,
                 axis: Axis | None = None, metric: str | None = None) -> dict[str, Any]:
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
    xs = sorted(set(ok["x"]))
    if len(xs) >= 2 and max(xs) / min(xs) < 10**MIN_DECADES:
        warnings.append(f"the measured range spans {np.log10(max(xs) / min(xs)):.2f} decades (less than "
                        f"{MIN_DECADES})")
    fits, bands, comparison = None, None, {"exchange_rate": None, "crossover": None}
    if axis.scale:
        fits, bands, comparison, fit_notes = _fit_and_compare(study, ok, generic.name, structured.name, metric)
        warnings += fit_notes
        if comparison["crossover"] is not None:  # does the data itself change sign, decisively?
            decisive = {s.winner for s in scales if s.decisive}
            comparison["crossover"]["measured_sign_change"] = len(decisive) == 2
    verdict = {
        "study": study.name,
        "task": task,
        "axis": axis.name,
        "axis_is_scale": axis.scale,
        "axis_kind": axis.kind,
        "metric": metric,
        "selected_by": study.metric,
        "contenders": [{"name": c.name, "role": c.role} for c in study.contenders],
        "per_scale": [asdict(s) for s in scales],
        "winner_at_largest": scales[-1].winner if scales else None,
        "fits": fits,
        "exchange_rate": comparison["exchange_rate"],
        "crossover": comparison["crossover"],
        "outcome": outcome(comparison["crossover"]),
        "failed_trials": int(len(failed)),
        "failed_tuning_trials": selection.sweep_failed,
        "tuned": selection.tuned,
        "selected": selection.selected_json(),
        "unconverged": dict(selection.unconverged),
        "bands": bands,
        "budget": budget,
        "level": LEVEL,
        "n_trials": int(len(rows)),
        "seeds": sorted(int(s) for s in rows["seed"].unique()),
        "warnings": warnings,
        "secondary": None,
    }
    verdict["words"] = words(verdict, study, generic.name, structured.name, axis)
    return verdict


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
        return None, None, {"exchange_rate": None, "crossover": None}, [f"no scaling fit: {exc}"]


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


def verdict(study: Study, df: pd.DataFrame, *, budget: str | None = None) -> list[dict[str, Any]]:
    """One verdict per task of ``study`` from the results table ``df`` (any studies)."""
    rows = df[df["study"] == study.name]
    if rows.empty:
        raise LookupError(f"no results for study {study.name!r} in the store (run: bitterlab run {study.name})")
    budget = budget or pick_budget(rows)
    rows = rows[rows["budget"] == budget]
    if rows.empty:
        raise LookupError(f"no results for study {study.name!r} at budget {budget!r}")
    out = []
    for t in study.tasks:
        if not (rows["task"] == t.name).any():
            continue
        main, sweep = split_axes(study, t.name, rows[rows["task"] == t.name], budget)
        v = task_verdict(study, t.name, main, budget)
        v["evidence"] = evidence(v)
        if sweep is not None and len(sweep):
            v["secondary"] = task_verdict(study, t.name, sweep, budget, axis=study.secondary)
            v["secondary"]["evidence"] = evidence(v["secondary"])
            at = study.secondary_at(t.name, budget)
            v["secondary"]["at"] = {"axis": study.axis.name, "x": at}
            v["secondary"]["words"] = (f"Along {study.secondary.label}, at {study.axis.label} {_fmt(at)}: "
                                       + v["secondary"]["words"])
        v["also"] = [_also(study, t.name, main, budget, m) for m in study.verdicts]
        out.append(v)
    return out


def _also(study: Study, task: str, rows: pd.DataFrame, budget: str, metric: str) -> dict[str, Any]:
    """The verdict on a further declared metric (``Study.verdicts``), at the same selected grid points."""
    v = task_verdict(study, task, rows, budget, metric=metric)
    v["evidence"] = evidence(v)
    v["words"] = f"On {metric}: " + v["words"]
    return v


def _fmt(v: float | None) -> str:
    return "unbounded" if v is None else f"{v:.3g}"


def _interval(d: dict) -> str:
    return f"{int(LEVEL * 100)}% interval {_fmt(d['low'])} to {_fmt(d['high'])}"


def tuning_words(v: dict[str, Any]) -> str:
    """One sentence on the protocol: what was tuned and how it was selected, or that nothing was."""
    if not v.get("tuned"):
        return "No hyperparameter was tuned: every contender ran with its declared options."
    tuned = sorted({o for pts in v["selected"].values() for p in pts for o in p["values"]})
    who = [c for c, pts in v["selected"].items() if any(p["grid_points"] > 1 for p in pts)]
    text = (f"{', '.join(who)} tuned {', '.join(tuned)} on a validation split of the training data at each "
            f"{v['axis']} (the grid point with the best mean validation {v.get('selected_by', v['metric'])} over seeds; test data "
            "never chose)")
    edges = sum(p["at_edge"] for pts in v["selected"].values() for p in pts)
    if edges:
        text += f"; {edges} selected point(s) sit at the edge of their grid"
    shares = {c: s for c, s in v.get("unconverged", {}).items() if s}
    if shares:
        text += "; unconverged: " + ", ".join(f"{c} {s:.0%}" for c, s in shares.items())
    return text + "."


def family_words(fit: dict) -> str:
    """The family of a fit and how it was chosen: which families were eligible (had enough scales for
    the held-out check) and how the bootstrap replicates' choice fell among them."""
    sel = fit.get("selection") or {}
    eligible, shares = sel.get("eligible") or [], sel.get("replicate_shares") or {}
    head = f"{fit['family']} ({fit['formula']}"
    if not sel.get("held_out_scales"):
        return head + "; too few scales for a held-out check, not chosen by one)"
    if len(eligible) <= 1:
        return head + "; the only family with enough scales for a held-out check)"
    split = ", ".join(f"{n} {shares[n]:.0%}" for n in eligible if shares.get(n))
    return head + f"; chosen by held-out scales among {', '.join(eligible)}; resamples chose {split})"


def words(v: dict[str, Any], study: Study, generic: str, structured: str, axis: Axis | None = None) -> str:
    """A paragraph: the winner at the largest measured scale with its interval, the tally, the fitted
    families and trends, the exchange rate and the crossover, extrapolations labelled as such."""
    axis = axis or study.axis
    scales = v["per_scale"]
    if not scales:
        return f"On {v['task']}: no scale has ok results for both {generic} and {structured}."
    last = scales[-1]
    n_struct = sum(s["winner"] == structured for s in scales)
    n_decisive = sum(s["decisive"] for s in scales)
    loser = generic if last["winner"] == structured else structured
    if last["low"] is None:
        spread = f"one seed, so no interval and not decisive"
    else:
        spread = (f"{int(LEVEL * 100)}% t interval of the paired difference {_fmt(last['low'])} to "
                  f"{_fmt(last['high'])} over {last['n_seeds']} seeds; "
                  f"{'decisive' if last['decisive'] else 'not decisive: the interval includes 0'}")
    if last["winner"] == TIE:
        head = (f"On {v['task']}, at the largest measured {axis.label} ({_fmt(last['x'])}), {generic} and "
                f"{structured} tie on {v['metric']} (equal means over {last['n_seeds']} seeds). ")
    else:
        head = (f"On {v['task']}, at the largest measured {axis.label} ({_fmt(last['x'])}), {last['winner']} "
                f"beats {loser} on {v['metric']} by {_fmt(abs(last['difference']))} ({spread}). ")
    text = (head +
            f"{structured} (structured) has the lower mean at {n_struct} of {len(scales)} measured "
            f"{'scales' if axis.scale else 'values'}; "
            f"{n_decisive} of the {len(scales)} differences are decisive. ")
    if v["failed_trials"]:
        text += f"{v['failed_trials']} trial(s) failed and are counted, not dropped. "
    text += tuning_words(v) + " "
    fits = v["fits"]
    if not axis.scale:
        return (text + f"{axis.label} is a condition, not a scale: the contenders are compared at each value, "
                       "and no curve is fitted along it.").strip()
    if not fits or generic not in fits or structured not in fits:
        return (text + "No curve could be fitted, so nothing is said beyond the measured range.").strip()
    families = "; ".join(f"{n}: {family_words(f)}" for n, f in fits.items())
    text += f"Curves — {families}. "
    for n, f in fits.items():
        t = f["trend"]
        if t["direction"] in ("flat", "rises"):
            slope = t["slope"]
            text += (f"{n}'s {v['metric']} does not fall with scale over the measured range (log–log slope "
                     f"{_fmt(slope['value'])}, {_interval(slope)}: {'no clear trend' if t['direction'] == 'flat' else 'it rises'}). ")
    ex, cross = v["exchange_rate"], v["crossover"]
    if ex is None:
        text += (f"The fitted generic curve never reaches the structured loss at {_fmt(last['x'])}, so no amount "
                 f"of extra {axis.resource.removeprefix('the ')} ({axis.label}) closes the gap on these fits "
                 "(exchange rate undefined). ")
    else:
        label = ""
        if ex["extrapolated"]:
            label = " — an extrapolation of the generic curve beyond its measured range"
            if ex["extrapolation_supported"] is False:
                label += ", which its held-out check does not support"
        needs = f"at most {_fmt(ex['value'])}x (the lower end of the search)" if ex.get("at_search_floor") \
            else f"{_fmt(ex['value'])}x"
        text += (f"Exchange rate at {_fmt(ex['x'])}: {generic} needs {needs} {axis.resource} ({axis.label}) "
                 f"({_interval(ex)}; never reached in {ex['p_unreachable']:.0%} of resamples) to match {structured}"
                 f"{label}. ")
        inside = ex.get("measured")
        if ex["extrapolated"] and inside is not None:
            text += (f"Read where both were measured (an interpolation): at {_fmt(inside['x'])}, {generic} needs "
                     f"{_fmt(inside['value'])}x ({_interval(inside)}). ")
    if cross and cross["p_within"] is not None:
        caveat = " — not supported by the held-out checks" if cross["extrapolation_supported"] is False else ""
        text += (f"Probability that the curves cross inside the measured range: {cross['p_within']:.2f}; only "
                 f"within 10x beyond it (extrapolation{caveat}): {cross['p_beyond_10x']:.2f}.")
        if cross["point"] is not None:
            where = "inside the measured range" if cross["point"] <= last["x"] else \
                f"beyond the measured range, extrapolated (up to {BEYOND:g}x)"
            text += f" The fitted curves cross at {_fmt(cross['point'])}, {where}."
        if cross["p_within"] >= 0.5 and cross.get("measured_sign_change") is False:
            text += (" But no two measured scales have opposite decisive winners: the crossing inside the range "
                     "is a feature of the fitted curves (often near the first scale, where both start level), "
                     "not a sign change seen in the data.")
    return text.strip()
