"""Who wins at each measured scale: the paired difference of a metric between two contenders, with
a Student t interval over seeds.

Seeds are shared across contenders (same data, window and noise), so the difference is taken per
seed, dᵢ = L_generic,i − L_structured,i, and the interval is the paired t interval
d̄ ± t_{n−1,(1+level)/2}·s_d/√n (Student 1908) — exact for normal differences and, unlike the
percentile bootstrap, honest with the 3–5 seeds of a quick budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True, kw_only=True)
class ScaleComparison:
    """One scale point. ``difference`` = mean L_generic − mean L_structured (lower is better, so a
    positive difference means the structured contender wins); ``low``/``high`` bound it at ``level``
    (None with a single seed: no interval, never decisive)."""

    x: float
    winner: str  # the contender with the lower mean metric; "tie" when the two means are equal
    difference: float
    low: float | None
    high: float | None
    decisive: bool  # the interval excludes 0
    n_seeds: int  # seeds where both contenders have an ok result (the pairs)
    generic_mean: float
    structured_mean: float


def t_interval(values, *, level: float = 0.9) -> tuple[float | None, float | None]:
    """Student t interval of the mean of ``values``; (None, None) for fewer than two values."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return None, None
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    half = float(stats.t.ppf((1 + level) / 2, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


TIE = "tie"


def per_scale(df: pd.DataFrame, metric: str, generic: str, structured: str, *, level: float = 0.9
              ) -> list[ScaleComparison]:
    """Compare two contenders at every scale where both have ok results, paired by seed.

    ``df`` holds ok rows with columns ``contender``, ``x``, ``seed`` and ``metric``."""
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
        low, high = t_interval(diff, level=level)
        g, s = float(pairs[generic].mean()), float(pairs[structured].mean())
        out.append(ScaleComparison(x=float(x), winner=TIE if s == g else structured if s < g else generic,
                                   difference=float(diff.mean()), low=low, high=high,
                                   decisive=bool(low is not None and (low > 0 or high < 0)), n_seeds=len(pairs),
                                   generic_mean=g, structured_mean=s))
    return out
