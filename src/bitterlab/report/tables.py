"""Tables (pandas) from verdicts: the scoreboard and the per-scale comparison. Usable from Jupyter;
the report renders them. They format what analysis computed; they compute nothing."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from bitterlab.analysis.evidence import GRADES
from bitterlab.analysis.results import Crossover, ExchangeRate, Verdict
from bitterlab.report.numbers import num, plain, prob
from bitterlab.study import Study

OUTCOME_WORDS = {"cross_within": "cross inside the range", "cross_beyond": "cross beyond it (extrapolated)",
                 "no_cross": "gap persists within 10x"}


def _num(v: float | None) -> str:
    return num(v, "—")


def exchange_text(ex: ExchangeRate | None) -> str:
    """'4.2x [2.1, 9.8]' (90% interval), '≤ 0.01x' at the search floor, or 'never' (undefined)."""
    if ex is None:
        return "never reached"
    high = "∞" if ex.high is None or ex.high == float("inf") else _num(ex.high)
    if ex.claim == "at_least":  # unbounded above: at least the lower end, the point value not claimed
        return f"≥ {_num(ex.low)}x [{_num(ex.low)}, ∞]{' (extrapolated)' if ex.extrapolated else ''}"
    value = f"≤ {_num(ex.value)}x" if ex.at_search_floor else f"{_num(ex.value)}x"
    label = " (extrapolated)" if ex.extrapolated else ""
    return f"{value} [{_num(ex.low)}, {high}]{label}"


def crossover_text(cross: Crossover | None) -> str:
    if not cross or cross.p_within is None:
        return "—"
    text = f"inside: {prob(cross.p_within)}; within 10x beyond: {prob(cross.p_beyond_10x)}"
    if cross.point is not None:
        text += f"; at ≈ {num(cross.point)}"
    if cross.p_within >= 0.5 and cross.measured_sign_change is False:
        text += " (fitted only: no measured sign change)"
    return text


def winner_text(v: Verdict) -> str:
    if not v.per_scale:
        return "—"
    last = v.per_scale[-1]
    interval = "" if last.low is None else \
        f" (difference {num(last.difference)}, 90% [{num(last.low)}, {num(last.high)}])"
    return f"{last.winner}{interval}{'' if last.decisive else ', not decisive'}"


def secondary_text(study: Study, side: Verdict | None) -> str:
    """The secondary sweep in one line: the axis, its range and where, the structured tally and the
    winner at its largest value with the interval."""
    if not side or not side.per_scale or study.secondary is None:
        return "—"
    xs = [s.x for s in side.per_scale]
    structured = next(c.name for c in study.contenders if c.role == "structured")
    tally = sum(s.winner == structured for s in side.per_scale)
    return (f"{study.secondary.label} {plain(min(xs))}–{plain(max(xs))} at {study.axis.name} = {plain(side.at.x)}: "
            f"{structured} lower at {tally} of {len(xs)}; at {plain(max(xs))}: {winner_text(side)}")


def scoreboard(entries: list[tuple[Study, list[Verdict]]]) -> pd.DataFrame:
    """One row per (study, task), strongest evidence first: claim, generic vs structured, winner at
    the largest scale with the difference's interval, exchange rate with interval, crossover
    probabilities, outcome, failed trials, the evidence grade with its reasons and the verdict in
    words."""
    rows = []
    for study, verdicts in entries:
        generic = next(c.name for c in study.contenders if c.role == "generic")
        structured = next(c.name for c in study.contenders if c.role == "structured")
        for v in verdicts:
            outcome = v.outcome
            rows.append({
                "study": study.name, "task": v.task, "claim": study.claim,
                "generic vs structured": f"{generic} vs {structured}",
                "winner at largest scale": winner_text(v),
                "exchange rate": exchange_text(v.exchange_rate),
                "crossover probability": crossover_text(v.crossover),
                "outcome": "—" if not outcome else f"{OUTCOME_WORDS[outcome.name]} (p = {prob(outcome.probability)})",
                "failed": f"{v.failed_trials} of {v.n_trials}",
                "evidence": v.evidence.grade if v.evidence else "—",
                "evidence reasons": "; ".join(v.evidence.reasons if v.evidence else ()),
                "secondary axis": secondary_text(study, v.secondary),
                "verdict": v.words,
            })
    rank = {g: i for i, g in enumerate(GRADES)}
    rows.sort(key=lambda r: rank.get(r["evidence"], len(GRADES)))  # strongest evidence first (stable)
    return pd.DataFrame(rows)


def per_scale_table(v: Verdict) -> pd.DataFrame:
    """The paired comparison at each measured scale of one verdict."""
    return pd.DataFrame([asdict(s) for s in v.per_scale])
