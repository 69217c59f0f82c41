"""The cluster bootstrap over seeds, and its intervals.

Resampling unit: the seed. A seed's results at every scale are resampled together (a cluster), so
whatever a seed shares across scales (a data permutation, a window, an initialisation stream) is
kept. With one seed, points are the clusters. A replicate is a vector of counts c (how many times
each cluster was drawn); a fit to the replicate weights every point by its cluster's count.

Exact bootstrap: with S ≤ ``EXACT_UP_TO`` clusters, every one of the C(2S−1, S) multisets is
enumerated with its multinomial probability S!/(∏ cᵢ!)/S^S (Fisher & Hall 1991), so the bootstrap
distribution carries no Monte Carlo error; otherwise ``n_boot`` replicates are drawn, each with
probability 1/n_boot.

Rescaling (Rao & Wu 1988, JASA 83, §3): the bootstrap variance of a statistic of S clusters is
biased low by (S−1)/S, which matters with the 3–10 seeds of a sweep. Each replicate's deviation
from the estimate is therefore scaled by √(S/(S−1)) before intervals and probabilities are read
off: T*ᵣ = T̂ + √(S/(S−1))·(T* − T̂) for every reported quantity T — the curve at each x, each
natural parameter, a slope (:class:`bitterlab.analysis.curves.RescaledCurves`).

Intervals: percentiles of the rescaled bootstrap distribution (Efron & Tibshirani 1993, ch. 13),
weighted by the replicates' probabilities. Their coverage is measured, not assumed:
benchmarks/bench_calibration.py and tests/analysis/test_calibration.py (see docs/statistics.md for
the numbers and for two corrections that were tried and rejected).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np

EXACT_UP_TO = 6  # clusters: C(11, 6) = 462 multisets
N_BOOT = 1000  # Monte Carlo replicates above that


@dataclass(frozen=True)
class Replicates:
    """Bootstrap replicates: ``counts`` (B, S) draws of each cluster, ``prob`` (B,) their probabilities."""

    counts: np.ndarray
    prob: np.ndarray

    @property
    def n_clusters(self) -> int:
        return self.counts.shape[1]

    @property
    def rescale(self) -> float:
        """√(S/(S−1)) (Rao & Wu 1988); 1 for a single cluster."""
        s = self.n_clusters
        return math.sqrt(s / (s - 1)) if s > 1 else 1.0

    def spread(self, estimate: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Replicate values with their deviations from ``estimate`` rescaled."""
        return estimate + self.rescale * (values - estimate)

    def point_weights(self, cluster: np.ndarray) -> np.ndarray:
        """Weights (B, n) of n points whose clusters are ``cluster`` (n,) ints in 0..S−1."""
        return self.counts[:, cluster].astype(float)


def replicates(n_clusters: int, *, n_boot: int = N_BOOT, seed: int = 0, exact: bool = True) -> Replicates:
    """All multisets of the clusters (exact) when there are few, else ``n_boot`` random draws
    (always random with ``exact=False``, e.g. for independent bootstraps of unpaired data)."""
    s = n_clusters
    if s < 1:
        raise ValueError("the bootstrap needs at least one cluster")
    if exact and s <= EXACT_UP_TO:
        counts = np.array([np.bincount(m, minlength=s) for m in combinations_with_replacement(range(s), s)])
        log_p = (math.lgamma(s + 1) - np.sum([[math.lgamma(c + 1) for c in row] for row in counts], axis=1)
                 - s * math.log(s))
        return Replicates(counts=counts, prob=np.exp(log_p))
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, s, s), minlength=s) for _ in range(n_boot)])
    return Replicates(counts=counts, prob=np.full(n_boot, 1.0 / n_boot))


def weighted_quantile(values: np.ndarray, prob: np.ndarray, q: float) -> float:
    """inf{v : P(V ≤ v) ≥ q} for a discrete distribution; values may be ±inf, NaNs are dropped."""
    keep = ~np.isnan(values)
    v, p = values[keep], prob[keep]
    if len(v) == 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    cdf = np.cumsum(p[order]) / p.sum()
    i = int(np.searchsorted(cdf, q - 1e-12, side="left"))
    return float(v[order][min(i, len(v) - 1)])


def interval(values, reps: Replicates, level: float) -> dict[str, float | None]:
    """``{low, high}``: the percentile interval of a per-replicate quantity (NaN = undefined, dropped;
    ±inf allowed and reported as None, i.e. unbounded)."""
    values = np.asarray(values, float)
    if reps.n_clusters < 2 or np.all(np.isnan(values)):
        return {"low": None, "high": None}
    tail = (1 - level) / 2
    low = weighted_quantile(values, reps.prob, tail)
    high = weighted_quantile(values, reps.prob, 1 - tail)
    return {"low": low if math.isfinite(low) else None, "high": high if math.isfinite(high) else None}


def probability(flags, reps: Replicates) -> float:
    """Bootstrap probability of an event given per replicate as booleans."""
    return float(np.sum(reps.prob * np.asarray(flags, bool)) / reps.prob.sum())
