"""The verdict of a study: machine-readable (the JSON contract of design.md) and in words.

One verdict per task. Keys every script may rely on: ``study``, ``task``, ``axis``, ``metric``
(lower is better), ``contenders`` ([{name, role}]), ``per_scale`` ([{x, winner, difference, low,
high}]; difference = L_generic − L_structured), ``winner_at_largest``, ``fits``, ``exchange_rate``,
``crossover``, ``failed_trials``. More keys: ``budget``, ``level``, ``n_trials``, ``seeds``,
``warnings``, ``words``, ``bands`` (per contender, the fitted curve with its pointwise interval
to 10x the largest scale, extrapolated points marked).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from bitterlab.analysis.compare import per_scale
from bitterlab.analysis.scaling import compare, fit_band, fit_summary, fit_with_bootstrap, held_out_check, shape_warnings
from bitterlab.study import Study

LEVEL = 0.9
MIN_SEEDS_FOR_BOOTSTRAP = 5


def pick_budget(df: pd.DataFrame) -> str:
    """The budget a verdict reads by default: ``full`` if the store has any, else ``quick``."""
    budgets = set(df["budget"])
    return "full" if "full" in budgets else "quick"


def task_verdict(study: Study, task: str, rows: pd.DataFrame, budget: str) -> dict[str, Any]:
    """Verdict for one task of a study from its result rows (ok and failed) at one budget."""
    generic = next(c for c in study.contenders if c.role == "generic")
    structured = next(c for c in study.contenders if c.role == "structured")
    ok = rows[rows["status"] == "ok"]
    failed = rows[rows["status"] == "failed"]
    scales = per_scale(ok, study.metric, generic.name, structured.name, level=LEVEL) if len(ok) else []
    warnings = []
    n_x = len(scales)
    if n_x < 5:
        warnings.append(f"only {n_x} scales measured with both contenders (fewer than 5)")
    if scales and min(s.n_seeds for s in scales) < MIN_SEEDS_FOR_BOOTSTRAP:
        warnings.append(f"bootstrap over {min(s.n_seeds for s in scales)} seeds: intervals are rough "
                        f"(percentile bootstrap under-covers below ~{MIN_SEEDS_FOR_BOOTSTRAP} seeds)")
    if len(failed):
        reasons = failed["reason"].value_counts().head(3)
        warnings.append(f"{len(failed)} failed trial(s): " + "; ".join(f"{r} (×{n})" for r, n in reasons.items()))
    fits, bands, comparison = None, None, {"exchange_rate": None, "crossover": None}
    xs = sorted(set(ok["x"]))
    if len(xs) >= 2 and max(xs) / min(xs) < 10**1.5:
        warnings.append(f"the measured range spans {np.log10(max(xs) / min(xs)):.2f} decades (less than 1.5)")
    try:
        curves = {c.name: fit_with_bootstrap(ok[ok["contender"] == c.name], study.metric)
                  for c in study.contenders if (ok["contender"] == c.name).any()}
        fits = {name: fit_summary(cf, LEVEL) for name, cf in curves.items()}
        bands = {name: fit_band(cf, LEVEL) for name, cf in curves.items()}
        for c in study.contenders:
            if c.name in curves:
                mine = ok[ok["contender"] == c.name]
                warnings += shape_warnings(mine, study.metric, c.name)
                check = held_out_check(mine, study.metric)
                fits[c.name]["held_out"] = check
                if check and check["power_law_error"] > check["last_value_error"]:
                    warnings.append(f"{c.name}: fitted on the smaller scales, the power law predicts the largest "
                                    f"scale worse than carrying the last value forward (log error "
                                    f"{check['power_law_error']:.3g} vs {check['last_value_error']:.3g}): "
                                    "treat its extrapolation with suspicion")
        comparison = compare(curves[generic.name], curves[structured.name], LEVEL)
    except (ValueError, KeyError) as exc:
        warnings.append(f"no scaling fit: {exc}")
    verdict = {
        "study": study.name,
        "task": task,
        "axis": study.axis.name,
        "metric": study.metric,
        "contenders": [{"name": c.name, "role": c.role} for c in study.contenders],
        "per_scale": [asdict(s) for s in scales],
        "winner_at_largest": scales[-1].winner if scales else None,
        "fits": fits,
        "exchange_rate": comparison["exchange_rate"],
        "crossover": comparison["crossover"],
        "failed_trials": int(len(failed)),
        "bands": bands,
        "budget": budget,
        "level": LEVEL,
        "n_trials": int(len(rows)),
        "seeds": sorted(int(s) for s in rows["seed"].unique()),
        "warnings": warnings,
    }
    verdict["words"] = words(verdict, study, generic.name, structured.name)
    return verdict


def verdict(study: Study, df: pd.DataFrame, *, budget: str | None = None) -> list[dict[str, Any]]:
    """One verdict per task of ``study`` from the results table ``df`` (any studies)."""
    rows = df[df["study"] == study.name]
    if rows.empty:
        raise LookupError(f"no results for study {study.name!r} in the store (run: bitterlab run {study.name})")
    budget = budget or pick_budget(rows)
    rows = rows[rows["budget"] == budget]
    if rows.empty:
        raise LookupError(f"no results for study {study.name!r} at budget {budget!r}")
    return [task_verdict(study, t.name, rows[rows["task"] == t.name], budget) for t in study.tasks
            if (rows["task"] == t.name).any()]


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def words(v: dict[str, Any], study: Study, generic: str, structured: str) -> str:
    """A paragraph: the winner at the largest measured scale with its interval, and the tally."""
    scales = v["per_scale"]
    if not scales:
        return f"On {v['task']}: no scale has ok results for both {generic} and {structured}."
    last = scales[-1]
    n_struct = sum(s["winner"] == structured for s in scales)
    n_decisive = sum(s["decisive"] for s in scales)
    loser = generic if last["winner"] == structured else structured
    gap = abs(last["difference"])
    text = (f"On {v['task']}, at the largest measured {study.axis.label} ({_fmt(last['x'])}), {last['winner']} "
            f"beats {loser} on {v['metric']} by {_fmt(gap)} "
            f"({int(LEVEL * 100)}% bootstrap interval of the difference {_fmt(last['low'])} to {_fmt(last['high'])} "
            f"over {last['n_seeds']} seeds; {'decisive' if last['decisive'] else 'not decisive: the interval includes 0'}). "
            f"{structured} (structured) has the lower mean at {n_struct} of {len(scales)} measured scales; "
            f"{n_decisive} of the {len(scales)} differences are decisive. ")
    if v["failed_trials"]:
        text += f"{v['failed_trials']} trial(s) failed and are counted, not dropped. "
    if v["fits"] is None:
        return (text + "No curve could be fitted, so nothing is said beyond the measured range.").strip()
    ex, cross = v["exchange_rate"], v["crossover"]
    if ex is None:
        text += (f"Fitted curves (E + A·x^-α): the generic curve's floor lies above the structured loss at "
                 f"{_fmt(last['x'])}, so no amount of extra data reaches it on these fits (exchange rate undefined). ")
    else:
        rng = "" if ex["low"] is None else f" ({int(LEVEL * 100)}% interval {_fmt(ex['low'])} to {_fmt(ex['high'])})"
        text += (f"Exchange rate at {_fmt(ex['x'])}: {generic} needs {_fmt(ex['value'])}x the data{rng} to match "
                 f"{structured}" + (" — an extrapolation of the generic curve beyond the measured range. "
                                   if ex["value"] > 1 else ". "))
    if cross["p_within"] is not None:
        text += (f"Probability that the curves cross inside the measured range: {cross['p_within']:.2f}; "
                 f"within 10x beyond it (extrapolation): {cross['p_beyond_10x']:.2f}.")
    return text.strip()
