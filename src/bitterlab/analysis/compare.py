"""Who wins at each measured scale: the paired difference of a metric between two contenders,
with a percentile-bootstrap interval over seeds (Efron & Tibshirani 1993, ch. 13)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True, kw_only=True)
class ScaleComparison:
    """One scale point. ``difference`` = mean L_generic − mean L_structured (lower is better, so a
    positive difference means the structured contender wins); ``low``/``high`` bound it at ``level``."""

    x: float
    winner: str  # the contender with the lower mean metric
    difference: float
    low: float
    high: float
    decisive: bool  # the interval excludes 0
    n_seeds: int  # seeds where both contenders have an ok result (the pairs bootstrapped)
    generic_mean: float
    structured_mean: float


def bootstrap_mean_interval(values: np.ndarray, *, level: float = 0.9, n_boot: int = 4000,
                            seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (resampled with replacement)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def per_scale(df: pd.DataFrame, metric: str, generic: str, structured: str, *, level: float = 0.9,
              n_boot: int = 4000) -> list[ScaleComparison]:
    """Compare two contenders at every scale where both have ok results, paired by seed.

    ``df`` holds ok rows with columns ``contender``, ``x``, ``seed`` and ``metric``. Seeds are shared
    across contenders (same data window and noise), so differences are taken per seed and their
    mean is bootstrapped over seeds.
    """
    ok = df[df["contender"].isin([generic, structured])]
    wide = ok.pivot_table(index=["x", "seed"], columns="contender", values=metric, aggfunc="first")
    out = []
    for x, block in wide.groupby(level="x"):
        if generic not in block or structured not in block:
            continue
        pairs = block[[generic, structured]].dropna()
        if pairs.empty:
            continue
        diff = (pairs[generic] - pairs[structured]).to_numpy()
        low, high = bootstrap_mean_interval(diff, level=level, n_boot=n_boot, seed=int(x) % (2**32))
        g, s = float(pairs[generic].mean()), float(pairs[structured].mean())
        out.append(ScaleComparison(x=float(x), winner=structured if s < g else generic,
                                   difference=float(diff.mean()), low=low, high=high,
                                   decisive=bool(low > 0 or high < 0), n_seeds=len(pairs),
                                   generic_mean=g, structured_mean=s))
    return out
