"""The cluster bootstrap over seeds, as exchangeable random weights, and its intervals.

Resampling unit: the seed. A seed's results at every scale are weighted together (a cluster), so
whatever a seed shares across scales (a data permutation, a window, an initialisation stream) is
kept. With one seed, points are the clusters. A replicate is a vector of cluster weights W (mean
1); a fit to the replicate weights every point by its cluster's weight, so every replicate curve is
a fitted curve of its family (never a pointwise mix of curves) and every positive parameter stays
positive.

Weights (the exchangeably weighted bootstrap, Præstgaard & Wellner 1993; Rubin's 1981 Bayesian
bootstrap is the case α = 1): W = S·w with w ~ Dirichlet(α, …, α). For a weighted mean
T* = Σ Wᵢ yᵢ / S,

    Var*(T*) = Σ (yᵢ − ȳ)² / (S (Sα + 1)),

and α = (S − 2)/S makes it s²/S — the unbiased variance of the mean, without the (S−1)/S bias of
the multinomial bootstrap that the rescaling of Rao & Wu (1988) corrected by inflating each
replicate's deviation (which turned shallow replicate curves into rising hybrids). S = 2 is the
limit α → 0: each seed alone, with probability ½ each (enumerated). The weights are continuous, so
3 seeds give as many distinct replicates as are drawn instead of the 10 multisets of the
multinomial bootstrap, whose interval ends were one-seed fits.

Intervals: percentiles of the replicate distribution (Efron & Tibshirani 1993, ch. 13), weighted by
the replicates' probabilities; an interval that misses its point estimate (possible with few
seeds, where the replicates of a nonlinear fit fall on one side) is widened to include it, and the
caller says so (:func:`estimate_interval`). Coverage is measured, not assumed:
benchmarks/bench_calibration.py and tests/analysis/test_calibration.py (docs/statistics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bitterlab.analysis.results import Bounds, Interval

N_BOOT = 1000  # Monte Carlo replicates


@dataclass(frozen=True)
class Replicates:
    """Bootstrap replicates: ``weights`` (B, S) of each cluster (mean 1 per row), ``prob`` (B,)."""

    weights: np.ndarray
    prob: np.ndarray

    @property
    def n_clusters(self) -> int:
        return self.weights.shape[1]

    def point_weights(self, cluster: np.ndarray) -> np.ndarray:
        """Weights (B, n) of n points whose clusters are ``cluster`` (n,) ints in 0..S−1."""
        return self.weights[:, cluster].astype(float)

    def take(self, rows) -> Replicates:
        return Replicates(weights=self.weights[rows], prob=self.prob[rows])


def concentration(n_clusters: int) -> float:
    """α = (S − 2)/S: Dirichlet(α) weights give a weighted mean the unbiased variance s²/S."""
    return (n_clusters - 2) / n_clusters


def replicates(n_clusters: int, *, n_boot: int = N_BOOT, seed: int = 0) -> Replicates:
    """Exchangeable cluster weights: ``n_boot`` draws of S·Dirichlet((S−2)/S) for S ≥ 3; for S = 2
    the two one-seed replicates (the α → 0 limit, exact); for S = 1 the data itself. Independent
    bootstraps (unpaired contenders) use different ``seed`` s."""
    s = n_clusters
    if s < 1:
        raise ValueError("the bootstrap needs at least one cluster")
    if s <= 2:
        return Replicates(weights=float(s) * np.eye(s), prob=np.full(s, 1.0 / s))
    rng = np.random.default_rng(seed)
    g = rng.gamma(concentration(s), size=(n_boot, s))
    g[g.sum(axis=1) == 0] = 1.0  # all-zero rows underflow only for absurdly small α
    return Replicates(weights=s * g / g.sum(axis=1, keepdims=True), prob=np.full(n_boot, 1.0 / n_boot))


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


def interval(values, reps: Replicates, level: float) -> Bounds:
    """The percentile interval of a per-replicate quantity (NaN = undefined, dropped; ±inf allowed and
    reported as None, i.e. unbounded)."""
    values = np.asarray(values, float)
    if reps.n_clusters < 2 or np.all(np.isnan(values)):
        return Bounds(low=None, high=None)
    tail = (1 - level) / 2
    low = weighted_quantile(values, reps.prob, tail)
    high = weighted_quantile(values, reps.prob, 1 - tail)
    return Bounds(low=low if math.isfinite(low) else None, high=high if math.isfinite(high) else None)


def estimate_interval(value: float, values, reps: Replicates, level: float) -> tuple[Interval, bool]:
    """The estimate with the percentile interval widened, where it misses the estimate, to reach it;
    the flag says whether it was widened (None ends, i.e. unbounded, are kept)."""
    band = interval(values, reps, level)
    low, high, widened = band.low, band.high, False
    if math.isfinite(value):
        if low is not None and value < low:
            low, widened = float(value), True
        if high is not None and value > high:
            high, widened = float(value), True
    return Interval(value=float(value), low=low, high=high), widened


def probability(flags, reps: Replicates) -> float:
    """Bootstrap probability of an event given per replicate as booleans."""
    return float(np.sum(reps.prob * np.asarray(flags, bool)) / reps.prob.sum())
