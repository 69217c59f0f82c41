"""Calibration of the intervals: simulate studies from a known curve with seed noise, fit each one,
and count how often the nominal intervals cover the truth (used by a test and a benchmark).

Truth L(x) = E + A·x^-α (or, for duels, any two curves of the families) at log-spaced scales; each
(seed, scale) result is L(x)·exp(u_s + e_sx) with a seed effect u_s ~ N(0, ρσ²) shared across
scales (nested data; in a duel shared by both contenders) and e_sx ~ N(0, (1−ρ)σ²).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitterlab.analysis.bootstrap import replicates
from bitterlab.analysis.scaling import BEYOND, Points, fit_contender, fit_summary


@dataclass(frozen=True, kw_only=True)
class Setting:
    E: float = 0.3
    A: float = 5.0
    alpha: float = 0.5
    scales: tuple[float, ...] = tuple(np.geomspace(100, 1e4, 6))
    seeds: int = 5
    sigma: float = 0.05  # log-normal noise per result
    rho: float = 0.0  # share of the noise variance that is a per-seed effect


def coverage(setting: Setting, studies: int, *, level: float = 0.9, seed: int = 0, n_boot: int = 400
             ) -> dict[str, float]:
    """Share of ``studies`` simulated studies whose interval covers the true α and the true loss at
    10x the largest scale."""
    s = setting
    rng = np.random.default_rng(seed)
    xs = np.asarray(s.scales, float)
    x = np.repeat(xs, s.seeds)
    cluster = np.tile(np.arange(s.seeds), len(xs))
    far = BEYOND * xs.max()
    truth_far = s.E + s.A * far**-s.alpha
    reps = replicates(s.seeds, n_boot=n_boot, seed=seed)
    hits = {"alpha": 0, "loss_at_10x": 0}
    for _ in range(studies):
        u = rng.normal(0, s.sigma * np.sqrt(s.rho), s.seeds)
        e = rng.normal(0, s.sigma * np.sqrt(1 - s.rho), len(x))
        y = (s.E + s.A * x**-s.alpha) * np.exp(u[cluster] + e)
        fit = fit_contender(Points(x=x, y=y, cluster=cluster, n_clusters=s.seeds), reps, family="pow3",
                            leave_one_out=False)
        summary = fit_summary(fit, level)
        a, f = summary.params["alpha"], summary.loss_at_10x
        hits["alpha"] += a.low <= s.alpha <= a.high
        hits["loss_at_10x"] += f.low <= truth_far <= f.high
    return {k: v / studies for k, v in hits.items()}


@dataclass(frozen=True, kw_only=True)
class PairSetting:
    """Two true curves (any families of :mod:`bitterlab.analysis.families`, natural parameters) measured
    at the same scales and seeds; the seed effect is shared by the two contenders (paired)."""

    generic: tuple[str, dict]
    structured: tuple[str, dict]
    scales: tuple[float, ...] = tuple(np.geomspace(100, 1e4, 6))
    seeds: int = 5
    sigma: float = 0.1
    rho: float = 0.5


def pair_outcomes(setting: PairSetting, studies: int, *, level: float = 0.9, seed: int = 0,
                  n_boot: int = 300) -> dict[str, float]:
    """Over ``studies`` simulated duels: the share whose fitted curves give a finite point value of the
    exchange rate (``finite_rate``), the share where the verdict claims a finite rate (``claimed_finite``:
    ``claim == "finite"``, a bounded 90% interval), one below 100x, P(cross within 10x) ≥ 0.5, and whose
    exchange-rate interval covers the true rate (an infinite truth: an unbounded interval or no rate);
    and the rate read where both curves were measured (``measured``, an interpolation): the share of
    studies that have one (``measured_found``) and, among those, whose interval covers the true rate at
    its x (``measured_covered``; NaN when none has one). The fits choose their family by held-out
    scales, as a verdict does."""
    from bitterlab.analysis.curves import FamilyCurves
    from bitterlab.analysis.families import get_family
    from bitterlab.analysis.scaling import compare, exchange_rates

    s = setting
    rng = np.random.default_rng(seed)
    xs = np.asarray(s.scales, float)
    x = np.repeat(xs, s.seeds)
    cluster = np.tile(np.arange(s.seeds), len(xs))
    truth = {role: FamilyCurves(get_family(name), get_family(name).encode(**params))
             for role, (name, params) in (("g", s.generic), ("s", s.structured))}
    true_rate = float(exchange_rates(truth["g"], truth["s"], float(xs.max()))[0])
    reps = replicates(s.seeds, n_boot=n_boot, seed=seed)
    counts = {"finite_rate": 0, "claimed_finite": 0, "rate_below_100x": 0, "p_cross_ge_half": 0, "rate_covered": 0,
              "measured_found": 0}
    measured_hits = 0
    for _ in range(studies):
        u = rng.normal(0, s.sigma * np.sqrt(s.rho), s.seeds)[cluster]
        fits = {}
        for role, curve in truth.items():
            y = curve(x)[0] * np.exp(u + rng.normal(0, s.sigma * np.sqrt(1 - s.rho), len(x)))
            fits[role] = fit_contender(Points(x=x, y=y, cluster=cluster, n_clusters=s.seeds), reps,
                                       leave_one_out=False)
        out = compare(fits["g"], fits["s"], level)
        ex, cr = out.exchange_rate, out.crossover
        counts["finite_rate"] += ex is not None
        counts["claimed_finite"] += ex is not None and ex.claim == "finite"  # a finite rate with a bounded interval
        counts["rate_below_100x"] += ex is not None and ex.value < 100
        counts["p_cross_ge_half"] += cr.p_within + cr.p_beyond_10x >= 0.5
        if np.isfinite(true_rate):
            low = ex.low if ex else None
            high = ex.high if ex else None
            counts["rate_covered"] += ex is not None and (low or 0) <= true_rate <= (high or np.inf)
        else:  # an infinite truth is covered by an unbounded interval (or no finite rate at all)
            counts["rate_covered"] += ex is None or ex.high is None
        inside = ex.measured if ex is not None else None
        if inside is not None:
            counts["measured_found"] += 1
            truth_there = float(exchange_rates(truth["g"], truth["s"], inside.x)[0])
            measured_hits += (inside.low or 0) <= truth_there <= (inside.high if inside.high is not None else np.inf)
    out = {k: v / studies for k, v in counts.items()}
    out["measured_covered"] = measured_hits / counts["measured_found"] if counts["measured_found"] else float("nan")
    return out
