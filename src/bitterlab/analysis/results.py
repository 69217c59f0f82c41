"""The result types of the analysis: frozen dataclasses for intervals, fits, comparisons and verdicts.

Inside bitterlab a verdict, a fit or a comparison is one of these types, read by attribute
(``v.per_scale[-1].winner``); it becomes JSON only at the edge (``bitterlab verdict --json``,
``bitterlab fit --json``, the report's JSON files) by ``to_json()``. Field names are the JSON keys
of docs/verdict.md and the fields are in the JSON's key order, so ``to_json()`` writes today's
documents byte for byte. Sequences are tuples (lists in JSON); mappings are plain dicts, read-only
by convention; ``None`` stays ``null``. A field marked :func:`optional` is left out of the JSON
while it is ``None`` (a key only some documents carry: ``predict`` without ``--predict``, ``at`` on
a secondary verdict only, ``also`` on a main verdict only, ``measured_sign_change`` in a verdict's
crossover only); a field marked :func:`internal` never enters it (the bands of ``bitterlab fit``,
drawn by ``--plot``).

This module imports nothing from bitterlab: the analysis builds these types, the report reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any


def optional() -> Any:
    """A field that defaults to ``None`` and is left out of the JSON while it is ``None``."""
    return field(default=None, metadata={"omit_none": True})


def internal() -> Any:
    """A mapping field (empty by default) that never enters the JSON."""
    return field(default_factory=dict, metadata={"json": False})


def to_json_value(value: Any) -> Any:
    """``value`` as JSON-ready Python: a type with ``to_json`` by it, other dataclasses field by field,
    mappings as dicts, tuples and lists as lists, anything else (numbers, strings, ``None``) as is.
    (Not :func:`dataclasses.asdict`: it would keep the keys that :func:`optional` leaves out and would
    not call :meth:`bitterlab.analysis.selection.SelectedPoint.to_json`, which renames a field.)"""
    if hasattr(value, "to_json"):
        return value.to_json()
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json_value(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    return value


@dataclass(frozen=True, kw_only=True)
class Result:
    """Base of the result types: ``to_json()`` writes the fields in order as a JSON object."""

    def to_json(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if not f.metadata.get("json", True) or (f.metadata.get("omit_none") and value is None):
                continue
            out[f.name] = to_json_value(value)
        return out


# --- intervals -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Bounds(Result):
    """A percentile interval over bootstrap replicates; ``None`` ends are undefined (too few clusters)
    or unbounded (some replicates never reach the value)."""

    low: float | None
    high: float | None


@dataclass(frozen=True, kw_only=True)
class Interval(Result):
    """An estimate with its interval (widened to reach the estimate where it missed it)."""

    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True, kw_only=True)
class LossAt(Result):
    """The fitted curve at ``x`` (10x the largest measured scale: an extrapolation) with its interval."""

    x: float
    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True, kw_only=True)
class BandPoint(Result):
    """One point of a fitted curve's band: the curve at ``x`` with its pointwise interval;
    ``extrapolated`` beyond the largest measured scale."""

    x: float
    value: float
    extrapolated: bool
    low: float | None
    high: float | None


@dataclass(frozen=True, kw_only=True)
class Prediction(Result):
    """The fitted mean loss at a chosen ``x`` with its interval, widened beyond the measured range by
    the calibrated discrepancy (:func:`bitterlab.analysis.extrapolate.predict`)."""

    x: float
    value: float
    low: float | None
    high: float | None
    extrapolated: bool


@dataclass(frozen=True, kw_only=True)
class Reversal(Result):
    """The probability that two groups' order at ``x`` differs from their order at the largest scale
    both measured (:func:`bitterlab.analysis.extrapolate.p_reversed`)."""

    x: float
    p_reversed: float


# --- one curve -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Trend(Result):
    """The log–log slope of the mean metric over the measured scales: ``direction`` is "falls" or
    "rises" when its interval excludes 0, "flat" otherwise, "unknown" with one scale (``slope`` None)."""

    slope: Interval | None
    direction: str


@dataclass(frozen=True, kw_only=True)
class FamilySelection(Result):
    """How a fit's family was chosen: the mean held-out |log error| of each candidate (``None``: too few
    scales) and of the last-value baseline, the held-out scales, whether the chosen family beat the
    baseline, the eligible families and the share of bootstrap replicates choosing each."""

    errors: dict[str, float | None]
    held_out_scales: tuple[float, ...]
    extrapolation_supported: bool | None
    eligible: tuple[str, ...]
    replicate_shares: dict[str, float] | None


@dataclass(frozen=True, kw_only=True)
class AtBound(Result):
    """A shape parameter on its family's box: the bound in natural units, whether the estimate and
    whether an end of the interval sit on it."""

    bound: float
    estimate: bool
    interval: bool


@dataclass(frozen=True, kw_only=True)
class FitSummary(Result):
    """One contender's (or group's) fitted curve: the family, each parameter with its interval, the
    loss at 10x the largest scale, the trend, how the family was chosen, the quantities whose interval
    was widened and the parameters on a bound; ``predict`` with ``bitterlab fit --predict``."""

    family: str
    formula: str
    params: dict[str, Interval]
    loss_at_10x: LossAt
    trend: Trend
    selection: FamilySelection
    widened: tuple[str, ...]
    at_bound: dict[str, AtBound]
    predict: tuple[Prediction, ...] | None = optional()


@dataclass(frozen=True, kw_only=True)
class TwoAxisSummary(Result):
    """The two-axis law L(N, D) = E + A/N^α + B/D^β fitted to one group, each parameter with its interval."""

    family: str
    formula: str
    params: dict[str, Interval]


# --- two curves ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MeasuredRate(Result):
    """The exchange rate read where both curves were measured (an interpolation) at scale ``x``."""

    value: float
    low: float | None
    high: float | None
    x: float
    widened: bool


@dataclass(frozen=True, kw_only=True)
class ExchangeRate(Result):
    """k(x) = x'/x at the largest common scale x (docs/verdict.md): the interval (with the calibrated
    extrapolation discrepancy when ``extrapolated``; ``bootstrap`` without it), the share of replicates
    that never get there, whether the value is an upper bound (``at_search_floor``), whether the
    held-out check supports the extrapolation, and the rate read inside the measured range.

    ``claim`` is what the verdict asserts: ``"finite"`` when the interval is bounded above (a finite
    rate, claimed with its interval), ``"at_least"`` when it is not (at least ``low``; the point value
    read off the fitted curves is not claimed, since too many resamples never close the gap),
    ``"point"`` when there is no interval (one seed). On a
    never-crossing truth a point value is read off the fits in ~15% of simulated studies but a
    bounded interval in none (docs/statistics.md), so only a bounded rate is called finite."""

    value: float
    low: float | None
    high: float | None
    x: float
    widened: bool
    bootstrap: Bounds
    p_unreachable: float
    at_search_floor: bool
    extrapolated: bool
    extrapolation_supported: bool | None
    measured: MeasuredRate | None
    claim: str  # "finite" (bounded interval), "at_least" (unbounded above: at least ``low``), "point" (no interval)


@dataclass(frozen=True, kw_only=True)
class Crossover(Result):
    """Where the curves first cross: the bootstrap probabilities inside the measured range and only
    within 10x beyond it, the fitted crossing ``point`` (``None``: none within 10x) with its interval
    over the crossing replicates; in a verdict, ``measured_sign_change``: whether two measured scales
    have opposite decisive winners."""

    p_within: float
    p_beyond_10x: float
    point: float | None
    extrapolation_supported: bool | None
    low: float | None
    high: float | None
    widened: bool
    measured_sign_change: bool | None = optional()


@dataclass(frozen=True, kw_only=True)
class Comparison(Result):
    """Two fitted curves compared (:func:`bitterlab.analysis.scaling.compare`): the exchange rate
    (``None``: the generic curve never reaches the structured loss) and the crossover."""

    exchange_rate: ExchangeRate | None
    crossover: Crossover


@dataclass(frozen=True, kw_only=True)
class GroupComparison(Result):
    """One group of ``bitterlab fit`` compared with the reference at ``x``, the largest scale both
    measured; ``predict`` with ``--predict``."""

    group: str
    reference: str
    x: float
    exchange_rate: ExchangeRate | None
    crossover: Crossover
    predict: tuple[Reversal, ...] | None = optional()


@dataclass(frozen=True, kw_only=True)
class FitReport(Result):
    """What ``bitterlab fit`` computes (:func:`bitterlab.analysis.grouped.fit_table`): a fit per group,
    the comparisons with the reference, warnings and notes; ``bands`` (per one-axis group, the curve
    with its interval) are drawn by ``--plot`` and are not part of the JSON."""

    fits: dict[str, FitSummary | TwoAxisSummary]
    comparisons: tuple[GroupComparison, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    bands: dict[str, tuple[BandPoint, ...]] = internal()


# --- the verdict -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ContenderRole(Result):
    """A contender of the verdict's study by name and role (generic, structured or reference)."""

    name: str
    role: str


@dataclass(frozen=True, kw_only=True)
class Outcome(Result):
    """The most probable of the three outcomes (cross_within, cross_beyond, no_cross) and its probability."""

    name: str
    probability: float


@dataclass(frozen=True, kw_only=True)
class Evidence(Result):
    """The verdict's evidence grade (:mod:`bitterlab.analysis.evidence`) and the reasons that decided it."""

    grade: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class At(Result):
    """Where a secondary sweep was taken: the main axis and its value."""

    axis: str
    x: float


@dataclass(frozen=True, kw_only=True)
class Verdict(Result):
    """The verdict of one task (docs/verdict.md: every key, its meaning). ``per_scale`` holds
    :class:`bitterlab.analysis.compare.ScaleComparison` and ``selected`` holds
    :class:`bitterlab.analysis.selection.SelectedPoint`; ``fits``, ``bands``, ``exchange_rate`` and
    ``crossover`` are ``None`` where no curve is fitted. A main verdict has ``secondary`` (a verdict
    along the secondary axis, with ``at``, or ``None``) and ``also`` (one verdict per further metric);
    the nested verdicts have no ``also`` (``None``: not in their JSON)."""

    study: str
    task: str
    axis: str
    axis_is_scale: bool
    axis_kind: str
    metric: str
    selected_by: str
    contenders: tuple[ContenderRole, ...]
    per_scale: tuple[Any, ...]  # ScaleComparison (analysis.compare imports nothing from here, nor we from it)
    winner_at_largest: str | None
    fits: dict[str, FitSummary] | None
    exchange_rate: ExchangeRate | None
    crossover: Crossover | None
    outcome: Outcome | None
    failed_trials: int
    censored: dict[str, int]
    failed_tuning_trials: int
    tuned: bool
    selected: dict[str, tuple[Any, ...]]  # contender -> SelectedPoint per axis value
    unconverged: dict[str, float | None]
    bands: dict[str, tuple[BandPoint, ...]] | None
    budget: str
    level: float
    n_trials: int
    seeds: tuple[int, ...]
    warnings: tuple[str, ...]
    secondary: Verdict | None
    words: str
    evidence: Evidence | None
    at: At | None = optional()
    also: tuple[Verdict, ...] | None = optional()
