"""Uncertainty on fits and the numbers derived from them: bootstrap over seeds, the exchange rate
and the crossover of two curves.

Bootstrap (Efron & Tibshirani 1993, ch. 6): seeds are resampled with replacement (the whole curve of a
seed at once, since a seed's data is shared across scales), the power law is refitted to each
resample, and every derived number is computed per resample; intervals are percentiles at ``level``.

Exchange rate at x (design.md): k(x) = L_g⁻¹(L_s(x)) / x, the factor of extra data the generic
contender needs to reach the structured one's loss; ``None`` where the generic curve never reaches
that loss (L_s(x) ≤ E_g). Crossover: the first x where L_g − L_s changes sign, searched on a dense log
grid inside the measured range and up to 10x beyond it (extrapolation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bitterlab.analysis.fit import PowerLaw, fit_power_law, fit_two_axis

N_BOOT = 100
BEYOND = 10.0  # how far past the largest measured scale the crossover is extrapolated


@dataclass(frozen=True, kw_only=True)
class CurveFit:
    """A fit and its bootstrap replicates (``None`` where a resample could not be fitted)."""

    fit: PowerLaw
    replicates: tuple[PowerLaw | None, ...]
    x_min: float
    x_max: float


def _interval(values, level: float) -> dict[str, float | None]:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if len(v) == 0:
        return {"low": None, "high": None}
    a = (1 - level) / 2
    return {"low": float(np.quantile(v, a)), "high": float(np.quantile(v, 1 - a))}


def fit_with_bootstrap(rows: pd.DataFrame, y: str, *, x: str = "x", seed_col: str = "seed",
                       n_boot: int = N_BOOT, rng_seed: int = 0) -> CurveFit:
    """Fit ``y`` vs ``x`` over all rows; bootstrap by resampling seeds (or rows if there is one seed)."""
    xs, ys = rows[x].to_numpy(float), rows[y].to_numpy(float)
    fit = fit_power_law(xs, ys)
    rng = np.random.default_rng(rng_seed)
    groups = [g.index.to_numpy() for _, g in rows.groupby(seed_col)] if seed_col in rows else []
    if len(groups) < 2:  # one seed: resample points instead
        groups = [np.array([i]) for i in rows.index]
    reps = []
    for _ in range(n_boot):
        pick = np.concatenate([groups[i] for i in rng.integers(0, len(groups), len(groups))])
        sample = rows.loc[pick]
        try:
            reps.append(fit_power_law(sample[x].to_numpy(float), sample[y].to_numpy(float), n_starts=1))
        except ValueError:
            reps.append(None)
    return CurveFit(fit=fit, replicates=tuple(reps), x_min=float(xs.min()), x_max=float(xs.max()))


def fit_summary(cf: CurveFit, level: float) -> dict[str, dict[str, float | None]]:
    """Each parameter with its bootstrap interval, and the loss at 10x the largest scale (extrapolated)."""
    reps = [r for r in cf.replicates if r is not None]
    out = {}
    for name in ("E", "A", "alpha"):
        out[name] = {"value": getattr(cf.fit, name), **_interval([getattr(r, name) for r in reps], level)}
    far = BEYOND * cf.x_max
    out["loss_at_10x"] = {"value": float(cf.fit(far)), "x": far, **_interval([float(r(far)) for r in reps], level)}
    return out


def fit_band(cf: CurveFit, level: float, n: int = 40) -> list[dict[str, float | bool | None]]:
    """The fitted curve and its pointwise bootstrap band from the smallest scale to 10x the largest;
    ``extrapolated`` marks points beyond the measured range."""
    reps = [r for r in cf.replicates if r is not None]
    grid = np.geomspace(cf.x_min, BEYOND * cf.x_max, n)
    return [{"x": float(x), "value": float(cf.fit(x)), "extrapolated": bool(x > cf.x_max * (1 + 1e-9)),
             **_interval([float(r(x)) for r in reps], level)} for x in grid]


def exchange_rate(generic: PowerLaw, structured: PowerLaw, x: float) -> float | None:
    """k(x) = L_g⁻¹(L_s(x)) / x; None where the generic curve never reaches L_s(x)."""
    needed = generic.inverse(float(structured(x)))
    return None if needed is None else needed / x


def first_crossing(generic: PowerLaw, structured: PowerLaw, low: float, high: float) -> float | None:
    """The first x in [low, high] where L_g − L_s changes sign (log-grid search), or None."""
    grid = np.geomspace(low, high, 400)
    diff = generic(grid) - structured(grid)
    change = np.nonzero(np.sign(diff[1:]) != np.sign(diff[:-1]))[0]
    if len(change) == 0:
        return None
    i = change[0]
    # linear interpolation of the sign change in log x
    t = diff[i] / (diff[i] - diff[i + 1])
    return float(np.exp(np.log(grid[i]) + t * (np.log(grid[i + 1]) - np.log(grid[i]))))


def compare(generic: CurveFit, structured: CurveFit, level: float) -> dict[str, dict[str, float | None] | None]:
    """Exchange rate at the largest common scale and crossover probabilities, with intervals."""
    low = max(generic.x_min, structured.x_min)
    high = min(generic.x_max, structured.x_max)
    rate = exchange_rate(generic.fit, structured.fit, high)
    pairs = [(g, s) for g, s in zip(generic.replicates, structured.replicates, strict=True) if g and s]
    rates = [exchange_rate(g, s, high) for g, s in pairs]
    exchange = None if rate is None else {"value": rate, "x": high, **_interval(rates, level),
                                          "p_unreachable": float(np.mean([r is None for r in rates])) if rates else None}
    within = [first_crossing(g, s, low, high) for g, s in pairs]
    beyond = [first_crossing(g, s, high, BEYOND * high) for g, s in pairs]
    where = [w if w is not None else b for w, b in zip(within, beyond, strict=True)]
    crossover = {
        "p_within": float(np.mean([w is not None for w in within])) if pairs else None,
        "p_beyond_10x": float(np.mean([w is None and b is not None for w, b in zip(within, beyond, strict=True)]))
        if pairs else None,
        "point": first_crossing(generic.fit, structured.fit, low, BEYOND * high),
        **_interval([w for w in where if w is not None], level),
    }
    return {"exchange_rate": exchange, "crossover": crossover}


def two_axis_summary(n, d, y, *, level: float = 0.9, n_boot: int = N_BOOT, rng_seed: int = 0) -> dict:
    """The two-axis fit (Hoffmann et al. 2022, eq. (2)) with a bootstrap over rows: each parameter as
    ``{value, low, high}``."""
    n, d, y = (np.asarray(v, float) for v in (n, d, y))
    fit = fit_two_axis(n, d, y)
    rng = np.random.default_rng(rng_seed)
    reps = []
    for _ in range(n_boot):
        i = rng.integers(0, len(y), len(y))
        try:
            reps.append(fit_two_axis(n[i], d[i], y[i], n_starts=2))
        except ValueError:
            continue
    return {name: {"value": getattr(fit, name), **_interval([getattr(r, name) for r in reps], level)}
            for name in ("E", "A", "B", "alpha", "beta")}


def shape_warnings(rows: pd.DataFrame, y: str, name: str, *, x: str = "x") -> list[str]:
    """Warnings about a contender's curve: means that rise with scale beyond seed noise (non-monotone),
    and a fit driven by one scale (leaving it out moves the exponent by more than half, or the loss at
    10x by more than 25 %)."""
    out = []
    stats = rows.groupby(x)[y].agg(["mean", "std", "count"]).sort_index()
    se = (stats["std"].fillna(0) / np.sqrt(stats["count"])).to_numpy()
    m = stats["mean"].to_numpy()
    rises = [i for i in range(1, len(m)) if m[i] - m[i - 1] > 2 * np.hypot(se[i], se[i - 1])]
    if rises:
        xs = ", ".join(f"{stats.index[i]:g}" for i in rises)
        out.append(f"{name}: non-monotone curve — the mean {y} rises beyond seed noise at {xs}")
    if len(m) >= 4:
        full = fit_power_law(rows[x], rows[y])
        far = BEYOND * float(rows[x].max())
        for value in stats.index:
            keep = rows[rows[x] != value]
            try:
                loo = fit_power_law(keep[x], keep[y])
            except ValueError:
                continue
            moved_alpha = abs(loo.alpha - full.alpha) > 0.5 * abs(full.alpha)
            moved_far = abs(loo(far) - full(far)) > 0.25 * abs(full(far))
            if moved_alpha or moved_far:
                out.append(f"{name}: fit driven by few points — leaving out x={value:g} moves α from "
                           f"{full.alpha:.3g} to {loo.alpha:.3g} and the loss at 10x from {full(far):.3g} to {loo(far):.3g}")
                break
    return out


def held_out_check(rows: pd.DataFrame, y: str, *, x: str = "x") -> dict[str, float] | None:
    """Fit on every scale but the largest and predict the largest: the power law against the
    last-value baseline (the mean at the second-largest scale carried forward). Errors are
    |log prediction − log mean| at the held-out scale; ``None`` with fewer than 4 scales."""
    scales = sorted(rows[x].unique())
    if len(scales) < 4:
        return None
    train = rows[rows[x] < scales[-1]]
    target = float(rows[rows[x] == scales[-1]][y].mean())
    try:
        law = fit_power_law(train[x], train[y])
    except ValueError:
        return None
    last = float(train[train[x] == scales[-2]][y].mean())
    return {"x": float(scales[-1]), "power_law_error": float(abs(np.log(law(scales[-1])) - np.log(target))),
            "last_value_error": float(abs(np.log(last) - np.log(target)))}
