"""One evidence grade per verdict, in place of a list of warnings on every line (the JSON keeps
every warning; the grade's reasons say which of them decided it).

Grades, strongest first:

* **strong** — the winner at the largest measured scale is decisive, the same contender wins
  decisively at ≥ 2 scales, ≥ 5 scales and ≥ 5 seeds, no unconverged selected trials, no failed
  trials, and an exchange rate can be read inside the measured range (an interpolation, at the
  largest scale or a smaller one: ``exchange_rate.measured``);
* **suggestive** — the winner at the largest scale is decisive, but one of the other conditions of
  *strong* (other than the interpolation) fails;
* **extrapolated** — the measured evidence would be strong, but no exchange rate can be read inside
  the measured range (or the fitted generic curve never reaches the loss): that number rests on
  the curves' extrapolation;
* **inconclusive** — the winner at the largest scale is not decisive, or nothing was measured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bitterlab.analysis.results import Evidence

if TYPE_CHECKING:
    from bitterlab.analysis.results import Verdict

GRADES = ("strong", "suggestive", "extrapolated", "inconclusive")
MIN_SEEDS, MIN_SCALES = 5, 5


def evidence(v: Verdict) -> Evidence:
    """The grade of a verdict (:func:`bitterlab.analysis.verdict.task_verdict`) and its reasons. It reads
    ``per_scale``, ``failed_trials``, ``unconverged``, ``exchange_rate`` and ``axis_is_scale``."""
    scales = v.per_scale
    if not scales:
        return Evidence(grade="inconclusive", reasons=("no scale was measured with both contenders",))
    last = scales[-1]
    if not last.decisive:
        why = "one seed: no interval" if last.low is None else "its interval includes 0"
        return Evidence(grade="inconclusive", reasons=(f"the winner at the largest scale is not decisive ({why})",))
    reasons = []
    same = sum(s.decisive and s.winner == last.winner for s in scales)
    if same < 2:
        reasons.append(f"{last.winner} wins decisively at {same} scale(s) only (fewer than 2)")
    if len(scales) < MIN_SCALES:
        reasons.append(f"{len(scales)} scales (fewer than {MIN_SCALES})")
    seeds = min(s.n_seeds for s in scales)
    if seeds < MIN_SEEDS:
        reasons.append(f"{seeds} seeds (fewer than {MIN_SEEDS}: intervals under-cover)")
    if v.failed_trials:
        reasons.append(f"{v.failed_trials} failed trial(s)")
    unconverged = {k: s for k, s in (v.unconverged or {}).items() if s}
    if unconverged:
        reasons.append("unconverged selected trials: " + ", ".join(f"{k} {s:.0%}" for k, s in unconverged.items()))
    if reasons:
        return Evidence(grade="suggestive", reasons=tuple(reasons))
    ex = v.exchange_rate
    if v.axis_is_scale and (ex is None or ex.measured is None):
        return Evidence(grade="extrapolated", reasons=(
            "the exchange rate lies beyond the measured range, and no smaller scale gives a read inside it" if ex else
            "the fitted generic curve never reaches the structured loss: the exchange rate is undefined",))
    return Evidence(grade="strong", reasons=(f"{last.winner} wins decisively at {same} of {len(scales)} scales over "
                                             f"{seeds} seeds" + ("; an exchange rate is read inside the measured range"
                                                                 if v.axis_is_scale else ""),))
