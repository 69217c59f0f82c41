"""The text of ``bitterlab fit``: each group's fit, then for each comparison who needs how much
more of the x axis, where the curves cross and what is extrapolated; notes and warnings last."""

from __future__ import annotations

from collections.abc import Sequence

from bitterlab.analysis.results import FitReport, FitSummary, GroupComparison, Prediction, TwoAxisSummary
from bitterlab.report.numbers import num, precise, prob, share


def _params(fit: FitSummary | TwoAxisSummary) -> str:
    return ", ".join(f"{k}={precise(v.value)} [{num(v.low)}, {num(v.high)}]" for k, v in fit.params.items())


def exchange_words(c: GroupComparison, x: str, y: str) -> str:
    """Who needs how much more ``x`` to match the other's ``y``, with the interval, labelled as an
    interpolation (read where the group was measured) or an extrapolation."""
    g, ref, ex = c.group, c.reference, c.exchange_rate
    if ex is None:
        return (f"{g}'s fitted curve never reaches {ref}'s {y} at their largest common {x}: no amount of extra {x} "
                "closes the gap on these fits")
    where = (f"extrapolated beyond {g}'s largest measured {x}" if ex.extrapolated
             else f"interpolated: read inside {g}'s measured range")
    band = f"90% interval {num(ex.low)} to {num(ex.high)}"
    if ex.at_search_floor:
        return f"{g} is ahead of {ref} down to 1/100 of {x}={num(ex.x)} ({where})"
    if ex.claim == "at_least":  # unbounded above: at least the lower end, the fitted value not claimed
        who = (f"{g} needs at least {num(ex.low)}x the {x} of {ref} to match {ref}'s {y} at {x}={num(ex.x)}, perhaps "
               f"never: the interval is unbounded above (the fitted curves' {num(ex.value)}x is not claimed)")
    elif ex.value >= 1:
        who = f"{g} needs {num(ex.value)}x the {x} of {ref} to match {ref}'s {y} at {x}={num(ex.x)}"
    else:
        who = (f"{g} is ahead: {ref} needs {num(1 / ex.value)}x the {x} of {g} to match {g}'s {y} at "
               f"{x}={num(ex.value * ex.x)} (i.e. {g} needs only {num(ex.value)}x)")
    unreachable = f"; never reached in {share(ex.p_unreachable)} of resamples" if ex.p_unreachable else ""
    inside = ex.measured
    read = ""
    if ex.extrapolated and inside is not None:
        read = (f"; read where both were measured (interpolated): at {x}={num(inside.x)} {g} needs "
                f"{num(inside.value)}x, 90% interval {num(inside.low)} to {num(inside.high)}")
    return f"{who} ({band}{unreachable}; {where}){read}"


def crossover_words(c: GroupComparison, x: str, x_max: float) -> str:
    cr = c.crossover
    text = (f"P(the curves cross inside the measured range) = {prob(cr.p_within)}, P(only within 10x beyond it, "
            f"extrapolated) = {prob(cr.p_beyond_10x)}")
    if cr.point is not None:
        where = "inside the measured range" if cr.point <= x_max else "beyond the measured range (extrapolated)"
        text += (f"; the fitted curves cross at {x}={num(cr.point)} {where}, 90% interval {num(cr.low)} to "
                 f"{num(cr.high)}")
    else:
        text += f"; the fitted curves do not cross up to 10x the largest {x}"
    return text


def predict_words(g: str, items: Sequence[Prediction], x: str) -> list[str]:
    return [f"  {g} at {x}={num(p.x)}: {precise(p.value)} (90% interval {num(p.low)} to {num(p.high)}"
            f"{', extrapolated' if p.extrapolated else ''})" for p in items]


def fit_lines(out: FitReport, *, x: str, y: str) -> list[str]:
    """The lines ``bitterlab fit`` prints for the output of :func:`bitterlab.analysis.grouped.fit_table`."""
    lines = [f"{g}: {f.family} ({f.formula}): {_params(f)}" for g, f in out.fits.items()]
    for g, f in out.fits.items():
        lines += predict_words(g, (f.predict if isinstance(f, FitSummary) else None) or (), x)
    for c in out.comparisons:
        lines.append(f"{c.group} vs {c.reference}: {exchange_words(c, x, y)}. {crossover_words(c, x, c.x)}.")
        for p in c.predict or ():
            lines.append(f"  at {x}={num(p.x)}: P(their order differs from the order at the largest measured {x}) = "
                         f"{prob(p.p_reversed)}")
    lines += [f"  note: {n}" for n in out.notes]
    lines += [f"  warning: {w}" for w in out.warnings]
    return lines
