"""The verdict in words: one paragraph per verdict (the ``words`` of the JSON), and the sentences on
the tuning protocol and on each fit's family.

:func:`bitterlab.analysis.verdict.task_verdict` calls :func:`words` to fill a verdict's ``words``:
the import goes from ``analysis.verdict`` to this module, which imports only the result types
(:mod:`bitterlab.analysis.results`), two constants of the analysis and the study's types; nothing of
the report's rendering (``bitterlab.report`` loads its modules lazily), so no import cycle.
"""

from __future__ import annotations

from bitterlab.analysis.compare import TIE
from bitterlab.analysis.results import FitSummary, Interval, Verdict
from bitterlab.analysis.scaling import BEYOND
from bitterlab.report.numbers import num, plain, prob, share
from bitterlab.study import Axis, Study


def _interval(d: Interval, level: float) -> str:
    return f"{int(level * 100)}% interval {num(d.low)} to {num(d.high)}"


def tuning_words(v: Verdict) -> str:
    """One sentence on the protocol: what was tuned and how it was selected, or that nothing was."""
    if not v.tuned:
        return "No hyperparameter was tuned: every contender ran with its declared options."
    tuned = sorted({o for pts in v.selected.values() for p in pts for o in p.values})
    who = [c for c, pts in v.selected.items() if any(p.n_points > 1 for p in pts)]
    text = (f"{', '.join(who)} tuned {', '.join(tuned)} on a validation split of the training data at each "
            f"{v.axis} (the grid point with the best mean validation {v.selected_by} over seeds; test data "
            "never chose)")
    edges = sum(p.at_edge for pts in v.selected.values() for p in pts)
    if edges:
        text += f"; {edges} selected point(s) sit at the edge of their grid"
    shares = {c: s for c, s in v.unconverged.items() if s}
    if shares:
        text += "; unconverged: " + ", ".join(f"{c} {share(s)}" for c, s in shares.items())
    return text + "."


def family_words(fit: FitSummary) -> str:
    """The family of a fit and how it was chosen: which families were eligible (had enough scales for
    the held-out check) and how the bootstrap replicates' choice fell among them."""
    sel = fit.selection
    eligible, shares = sel.eligible or (), sel.replicate_shares or {}
    head = f"{fit.family} ({fit.formula}"
    if not sel.held_out_scales:
        return head + "; too few scales for a held-out check, not chosen by one)"
    if len(eligible) <= 1:
        return head + "; the only family with enough scales for a held-out check)"
    split = ", ".join(f"{n} {share(shares[n])}" for n in eligible if shares.get(n))
    return head + f"; chosen by held-out scales among {', '.join(eligible)}; resamples chose {split})"


def words(v: Verdict, study: Study, generic: str, structured: str, axis: Axis | None = None) -> str:
    """A paragraph: the winner at the largest measured scale with its interval, the tally, the fitted
    families and trends, the exchange rate and the crossover, extrapolations labelled as such."""
    axis = axis or study.axis
    level = v.level
    scales = v.per_scale
    if not scales:
        return f"On {v.task}: no scale has ok results for both {generic} and {structured}."
    last = scales[-1]
    n_struct = sum(s.winner == structured for s in scales)
    n_decisive = sum(s.decisive for s in scales)
    loser = generic if last.winner == structured else structured
    if last.low is None:
        spread = f"one seed, so no interval and not decisive"
    else:
        spread = (f"{int(level * 100)}% t interval of the paired difference {num(last.low)} to "
                  f"{num(last.high)} over {last.n_seeds} seeds; "
                  f"{'decisive' if last.decisive else 'not decisive: the interval includes 0'}")
    if last.winner == TIE:
        head = (f"On {v.task}, at the largest measured {axis.label} ({num(last.x)}), {generic} and "
                f"{structured} tie on {v.metric} (equal means over {last.n_seeds} seeds). ")
    else:
        head = (f"On {v.task}, at the largest measured {axis.label} ({num(last.x)}), {last.winner} "
                f"beats {loser} on {v.metric} by {num(abs(last.difference))} ({spread}). ")
    text = (head +
            f"{structured} (structured) has the lower mean at {n_struct} of {len(scales)} measured "
            f"{'scales' if axis.scale else 'values'}; "
            f"{n_decisive} of the {len(scales)} differences are decisive. ")
    if v.failed_trials:
        text += f"{v.failed_trials} trial(s) failed and are counted, not dropped. "
    n_censored = sum((v.censored or {}).values())
    if n_censored:
        text += (f"{n_censored} selected trial(s) hit their cap before the target: their {v.metric} is "
                 "counted as at least the cap (censored in the fits). ")
    text += tuning_words(v) + " "
    fits = v.fits
    if not axis.scale:
        return (text + f"{axis.label} is a condition, not a scale: the contenders are compared at each value, "
                       "and no curve is fitted along it.").strip()
    if not fits or generic not in fits or structured not in fits:
        return (text + "No curve could be fitted, so nothing is said beyond the measured range.").strip()
    families = "; ".join(f"{n}: {family_words(f)}" for n, f in fits.items())
    text += f"Curves — {families}. "
    for n, f in fits.items():
        t = f.trend
        if t.direction in ("flat", "rises"):
            slope = t.slope
            text += (f"{n}'s {v.metric} does not fall with scale over the measured range (log–log slope "
                     f"{num(slope.value)}, {_interval(slope, level)}: "
                     f"{'no clear trend' if t.direction == 'flat' else 'it rises'}). ")
    ex, cross = v.exchange_rate, v.crossover
    if ex is None:
        text += (f"The fitted generic curve never reaches the structured loss at {num(last.x)}, so no amount "
                 f"of extra {axis.resource.removeprefix('the ')} ({axis.label}) closes the gap on these fits "
                 "(exchange rate undefined). ")
    else:
        label = ""
        if ex.extrapolated:
            label = " — an extrapolation of the generic curve beyond its measured range"
            if ex.extrapolation_supported is False:
                label += ", which its held-out check does not support"
        if ex.claim == "at_least":  # unbounded above: the point value read off the fits is not a claim
            text += (f"Exchange rate at {num(ex.x)}: {generic} needs at least {num(ex.low)}x {axis.resource} "
                     f"({axis.label}) to match {structured}, perhaps never: the {_interval(ex, level)} is "
                     f"unbounded above (never reached in {share(ex.p_unreachable)} of resamples), so the fitted "
                     f"curves' {num(ex.value)}x is not claimed{label}. ")
        else:
            needs = f"at most {num(ex.value)}x (the lower end of the search)" if ex.at_search_floor \
                else f"{num(ex.value)}x"
            text += (f"Exchange rate at {num(ex.x)}: {generic} needs {needs} {axis.resource} ({axis.label}) "
                     f"({_interval(ex, level)}; never reached in {share(ex.p_unreachable)} of resamples) to match "
                     f"{structured}{label}. ")
        inside = ex.measured
        if ex.extrapolated and inside is not None:
            text += (f"Read where both were measured (an interpolation): at {num(inside.x)}, {generic} needs "
                     f"{num(inside.value)}x ({_interval(inside, level)}). ")
    if cross and cross.p_within is not None:
        caveat = " — not supported by the held-out checks" if cross.extrapolation_supported is False else ""
        text += (f"Probability that the curves cross inside the measured range: {prob(cross.p_within)}; only "
                 f"within 10x beyond it (extrapolation{caveat}): {prob(cross.p_beyond_10x)}.")
        if cross.point is not None:
            where = "inside the measured range" if cross.point <= last.x else \
                f"beyond the measured range, extrapolated (up to {plain(BEYOND)}x)"
            text += f" The fitted curves cross at {num(cross.point)}, {where}."
        if cross.p_within >= 0.5 and cross.measured_sign_change is False:
            text += (" But no two measured scales have opposite decisive winners: the crossing inside the range "
                     "is a feature of the fitted curves (often near the first scale, where both start level), "
                     "not a sign change seen in the data.")
    return text.strip()


def secondary_words(study: Study, at: float, text: str) -> str:
    """The words of a secondary sweep, prefixed by where it was taken."""
    return f"Along {study.secondary.label}, at {study.axis.label} {num(at)}: " + text


def also_words(metric: str, text: str) -> str:
    """The words of a further metric's verdict, prefixed by the metric."""
    return f"On {metric}: " + text
