"""Tables (pandas) from verdicts: the scoreboard and the per-scale comparison. Usable from Jupyter;
the report renders them. They format what analysis computed; they compute nothing."""

from __future__ import annotations

from typing import Any

import pandas as pd

from bitterlab.analysis.evidence import GRADES
from bitterlab.study import Study

OUTCOME_WORDS = {"cross_within": "cross inside the range", "cross_beyond": "cross beyond it (extrapolated)",
                 "no_cross": "gap persists within 10x"}


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.3g}"


def exchange_text(ex: dict | None) -> str:
    """'4.2x [2.1, 9.8]' (90% interval), '≤ 0.01x' at the search floor, or 'never' (undefined)."""
    if ex is None:
        return "never reached"
    high = "∞" if ex.get("high") is None or ex["high"] == float("inf") else _num(ex["high"])
    value = f"≤ {_num(ex['value'])}x" if ex.get("at_search_floor") else f"{_num(ex['value'])}x"
    label = " (extrapolated)" if ex.get("extrapolated") else ""
    return f"{value} [{_num(ex.get('low'))}, {high}]{label}"


def crossover_text(cross: dict | None) -> str:
    if not cross or cross.get("p_within") is None:
        return "—"
    text = f"inside: {cross['p_within']:.2f}; within 10x beyond: {cross['p_beyond_10x']:.2f}"
    if cross.get("point") is not None:
        text += f"; at ≈ {cross['point']:.3g}"
    if cross["p_within"] >= 0.5 and cross.get("measured_sign_change") is False:
        text += " (fitted only: no measured sign change)"
    return text


def winner_text(v: dict[str, Any]) -> str:
    if not v["per_scale"]:
        return "—"
    last = v["per_scale"][-1]
    interval = "" if last["low"] is None else f" (difference {last['difference']:.3g}, 90% [{last['low']:.3g}, {last['high']:.3g}])"
    return f"{last['winner']}{interval}{'' if last['decisive'] else ', not decisive'}"


def secondary_text(study: Study, side: dict | None) -> str:
    """The secondary sweep in one line: the axis, its range and where, the structured tally and the
    winner at its largest value with the interval."""
    if not side or not side["per_scale"] or study.secondary is None:
        return "—"
    xs = [s["x"] for s in side["per_scale"]]
    structured = next(c.name for c in study.contenders if c.role == "structured")
    tally = sum(s["winner"] == structured for s in side["per_scale"])
    return (f"{study.secondary.label} {min(xs):g}–{max(xs):g} at {study.axis.name} = {side['at']['x']:g}: "
            f"{structured} lower at {tally} of {len(xs)}; at {max(xs):g}: {winner_text(side)}")


def scoreboard(entries: list[tuple[Study, list[dict[str, Any]]]]) -> pd.DataFrame:
    """One row per (study, task), strongest evidence first: claim, generic vs structured, winner at
    the largest scale with the difference's interval, exchange rate with interval, crossover
    probabilities, outcome, failed trials, the evidence grade with its reasons and the verdict in
    words."""
    rows = []
    for study, verdicts in entries:
        generic = next(c.name for c in study.contenders if c.role == "generic")
        structured = next(c.name for c in study.contenders if c.role == "structured")
        for v in verdicts:
            outcome = v.get("outcome")
            rows.append({
                "study": study.name, "task": v["task"], "claim": study.claim,
                "generic vs structured": f"{generic} vs {structured}",
                "winner at largest scale": winner_text(v),
                "exchange rate": exchange_text(v["exchange_rate"]),
                "crossover probability": crossover_text(v["crossover"]),
                "outcome": "—" if not outcome else f"{OUTCOME_WORDS[outcome['name']]} (p = {outcome['probability']:.2f})",
                "failed": f"{v['failed_trials']} of {v['n_trials']}",
                "evidence": (v.get("evidence") or {}).get("grade", "—"),
                "evidence reasons": "; ".join((v.get("evidence") or {}).get("reasons", [])),
                "secondary axis": secondary_text(study, v.get("secondary")),
                "verdict": v["words"],
            })
    rank = {g: i for i, g in enumerate(GRADES)}
    rows.sort(key=lambda r: rank.get(r["evidence"], len(GRADES)))  # strongest evidence first (stable)
    return pd.DataFrame(rows)


def per_scale_table(v: dict[str, Any]) -> pd.DataFrame:
    """The paired comparison at each measured scale of one verdict."""
    return pd.DataFrame(v["per_scale"])
