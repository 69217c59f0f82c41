"""Calibration of the intervals: simulate studies from a known curve with seed noise, fit each one,
and count how often the nominal intervals cover the truth (used by a test and a benchmark).

Truth L(x) = E + A·x^-α at log-spaced scales; each (seed, scale) result is L(x)·exp(u_s + e_sx)
with a seed effect u_s ~ N(0, ρσ²) shared across scales (nested data) and e_sx ~ N(0, (1−ρ)σ²).
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
        a, f = summary["params"]["alpha"], summary["loss_at_10x"]
        hits["alpha"] += a["low"] <= s.alpha <= a["high"]
        hits["loss_at_10x"] += f["low"] <= truth_far <= f["high"]
    return {k: v / studies for k, v in hits.items()}
