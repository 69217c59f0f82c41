"""One contender's scaling curve with its uncertainty, and the comparison of two contenders.

1. **Selection by held-out points** (not by eye). Forward-chaining folds: each of the last one or
   two measured scales is predicted from the scales below it, by every family that has at least
   one more training scale than parameters, and by the last-value baseline (the mean at the scale
   below carried forward). The family with the lowest mean |log prediction − log mean| is chosen;
   ties go to the simpler. With 5–6 scales only ``pow3`` qualifies; the 4- and 6-parameter families
   need 7 and 9 scales (LCDB-sized curves). The baseline is the bar the chosen family must clear:
   when it predicts the held-out scales better, the fit's extrapolation is marked unsupported
   (a flat baseline used as the extrapolation itself would manufacture crossovers against any
   curve that still falls).
2. **Bootstrap over seeds** (:mod:`bitterlab.analysis.bootstrap`): the chosen curve is refitted to
   every replicate (exchangeable seed weights); the same seed weights are used for every
   contender of a task, so comparisons are paired. Every derived number is computed per replicate
   and gets a percentile interval.
3. **Derived numbers.** Exchange rate at x (design.md): k(x) = L_g⁻¹(L_s(x))/x, the factor of
   extra data the generic contender needs to reach the structured one's loss (∞ where the generic
   curve never gets there). Crossover: the first x where L_g − L_s changes sign, inside the
   measured range and up to 10x beyond it (extrapolation).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from bitterlab.analysis.bootstrap import Replicates, estimate_interval, interval, probability, replicates
from bitterlab.analysis.calibrated import TAU
from bitterlab.analysis.curves import (Curves, FamilyCurves, LastValueCurves, MixedCurves, first_below, first_crossing,
                                       reached_since)
from bitterlab.analysis.families import FAMILIES, get_family
from bitterlab.analysis.results import (AtBound, BandPoint, Bounds, Comparison, Crossover, ExchangeRate,
                                        FamilySelection, FitSummary, Interval, LossAt, MeasuredRate, Trend)
from bitterlab.analysis.robust import fit_batch

BEYOND = 10.0  # how far past the largest measured scale extrapolations go
CANDIDATES = ("pow3", "pow4", "mmf4", "wbl4", "bnsl")  # in order of simplicity (ties go left)
LAST_VALUE = "last_value"
SEARCH_BELOW, SEARCH_ABOVE = 1e-2, 1e6  # exchange-rate search range, relative to the scale x


@dataclass(frozen=True)
class Points:
    """One contender's results: x, y and the cluster (seed) of each point, 0..n_clusters−1;
    ``censored`` marks lower bounds (a failed or capped trial: "at least this loss"), fitted by a
    one-sided loss (:func:`bitterlab.analysis.robust.fit_batch`)."""

    x: np.ndarray
    y: np.ndarray
    cluster: np.ndarray
    n_clusters: int
    censored: np.ndarray | None = None

    @property
    def scales(self) -> np.ndarray:
        return np.unique(self.x)


def points(rows: pd.DataFrame, y: str, *, x: str = "x", seed_col: str | None = "seed",
           seeds: list | None = None) -> Points:
    """Points from result rows. ``seeds`` fixes the cluster numbering (shared across contenders, so
    that their replicates are paired); without a seed column every row is its own cluster."""
    xs, ys = rows[x].to_numpy(float), rows[y].to_numpy(float)
    if seed_col is None or seed_col not in rows:
        return Points(x=xs, y=ys, cluster=np.arange(len(xs)), n_clusters=len(xs))
    order = list(seeds) if seeds is not None else sorted(rows[seed_col].unique())
    index = {s: i for i, s in enumerate(order)}
    return Points(x=xs, y=ys, cluster=np.array([index[s] for s in rows[seed_col]], int), n_clusters=len(order))


def check_points(pts: Points, n_params: int = 3) -> None:
    """The errors of bad input, each naming what is wrong."""
    if len(pts.x) != len(pts.y):
        raise ValueError("x and y must have the same length")
    if not (np.all(np.isfinite(pts.x)) and np.all(pts.x > 0)):
        raise ValueError("x must be positive and finite")
    if not (np.all(np.isfinite(pts.y)) and np.all(pts.y > 0)):
        raise ValueError("y (the loss) must be positive and finite to be fitted in log space")
    if len(pts.scales) < n_params:
        raise ValueError(f"need at least {n_params} distinct x values to fit {n_params} parameters, got "
                         f"{len(pts.scales)}")


def scale_means(pts: Points, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of y at each scale for each weighting (B, n) -> (B, S); NaN where a scale has no weight."""
    scales = pts.scales
    at = pts.x[None, :] == scales[:, None]  # (S, n)
    num = weights @ (at * pts.y[None, :]).T
    den = weights @ at.T.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _fit_family(name: str, pts: Points, weights: np.ndarray, warm: np.ndarray | None = None, *,
                n_polish: int = 2) -> FamilyCurves:
    """Fit a family under each weighting; rows with fewer weighted scales than parameters are NaN.
    With a ``warm`` start (the fit to all points, for replicates and left-out scales: perturbations of
    the data) two grid starts are polished beside it to a relative tolerance of 1e-9; otherwise the
    whole grid is screened (an L1-like objective has many shallow local minima on flat, noisy data:
    hypothesis kept finding basins that a handful of starts missed), to 1e-13."""
    family = get_family(name)
    if warm is None:
        fit = fit_batch(family, pts.x, pts.y, weights, censored=pts.censored)
    else:
        fit = fit_batch(family, pts.x, pts.y, weights, extra_starts=warm, n_polish=n_polish, exhaustive=False,
                        ftol=1e-9, max_iter=300, censored=pts.censored)
    theta = fit.theta.copy()
    n_scales = np.array([len(np.unique(pts.x[row > 0])) for row in weights])
    theta[n_scales < family.n_params] = np.nan
    return FamilyCurves(family, theta)


def _last_value(pts: Points, weights: np.ndarray) -> LastValueCurves:
    means = scale_means(pts, weights)
    full = scale_means(pts, np.ones((1, len(pts.x))))[0]
    return LastValueCurves(pts.scales, np.where(np.isnan(means), full[None, :], means))


def _curves(name: str, pts: Points, weights: np.ndarray, warm: np.ndarray | None = None) -> Curves:
    return _last_value(pts, weights) if name == LAST_VALUE else _fit_family(name, pts, weights, warm)


# --- selection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    chosen: str
    errors: dict[str, float | None]  # mean held-out |log error| per candidate; None: too few scales
    targets: tuple[float, ...]  # the held-out scales (empty: no check was possible)
    shares: dict[str, float] | None = None  # share of bootstrap replicates choosing each eligible family
    fold_theta: dict = field(default_factory=dict, compare=False, repr=False)  # family -> (folds, p) fits

    @property
    def eligible(self) -> list[str]:
        """The families that had enough training scales to be checked."""
        return [n for n, e in self.errors.items() if n != LAST_VALUE and e is not None]

    @property
    def supported(self) -> bool | None:
        """Did the chosen family predict the held-out scales at least as well as the last value?
        None when no check was run."""
        mine, base = self.errors.get(self.chosen), self.errors.get(LAST_VALUE)
        if mine is None or base is None:
            return None
        return bool(mine <= base)


def select_family(pts: Points, candidates: tuple[str, ...] = CANDIDATES) -> Selection:
    """Choose among ``candidates`` by forward-chaining held-out scales, scoring the last-value
    baseline on the same folds. With fewer than 5 scales no fold has enough training scales for
    ``pow3``: the choice is the first candidate, unchecked (``targets`` is empty; the verdict warns)."""
    scales = pts.scales
    n_folds = 2 if len(scales) >= 6 else 1
    if len(scales) < 5:
        return Selection(chosen=candidates[0], errors={}, targets=())
    targets = scales[-n_folds:]
    means = scale_means(pts, np.ones((1, len(pts.x))))[0]
    truth = np.log(means[-n_folds:])
    weights = np.stack([(pts.x < t).astype(float) for t in targets])
    errors: dict[str, float | None] = {}
    fold_theta = {}
    for name in candidates:
        family = FAMILIES[name]
        if any(len(scales[scales < t]) < family.n_params + 1 for t in targets):
            errors[name] = None
            continue
        curves = _fit_family(name, pts, weights)
        fold_theta[name] = curves.theta
        errors[name] = float(np.mean(np.abs(np.log(curves.at(targets)) - truth)))
    errors[LAST_VALUE] = float(np.mean(np.abs(np.log(means[-n_folds - 1:-1]) - truth)))
    ranked = [n for n in candidates if errors.get(n) is not None and np.isfinite(errors[n])]
    chosen = min(ranked, key=lambda n: errors[n]) if ranked else candidates[0]
    return Selection(chosen=chosen, errors=errors, targets=tuple(float(t) for t in targets), fold_theta=fold_theta)


# --- one contender -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContenderFit:
    """The chosen curve fitted to all points (``best``, one row), to every bootstrap replicate
    (``reps``, weighted by ``replicates.prob``) and with each scale left out (``loo``)."""

    points: Points
    selection: Selection
    best: Curves
    reps: Curves
    replicates: Replicates
    loo: Curves | None

    @property
    def family(self) -> str:
        return self.best.name

    @property
    def x_min(self) -> float:
        return float(self.points.x.min())

    @property
    def x_max(self) -> float:
        return float(self.points.x.max())


def fit_contender(pts: Points, reps: Replicates, *, family: str = "auto",
                  candidates: tuple[str, ...] = CANDIDATES, leave_one_out: bool = True) -> ContenderFit:
    """Select (``family="auto"``) or take a family, then fit it to all points, every replicate and
    (with ``leave_one_out``) every leave-one-scale-out subset."""
    check_points(pts)
    if family == "auto":
        selection = select_family(pts, candidates)
    else:
        if family != LAST_VALUE:
            get_family(family)
        selection = Selection(chosen=family, errors={}, targets=())
    name = selection.chosen
    if name != LAST_VALUE:
        check_points(pts, FAMILIES[name].n_params)
    best = _curves(name, pts, np.ones((1, len(pts.x))))
    warm = None if name == LAST_VALUE else best.theta
    if family == "auto" and len(selection.eligible) >= 2 and reps.n_clusters >= 2:
        boot, shares = _reselect(pts, reps, selection, best)
        selection = replace(selection, shares=shares)
    else:
        boot = _curves(name, pts, reps.point_weights(pts.cluster), warm)
        if family == "auto" and selection.targets:
            selection = replace(selection, shares={name: 1.0})
    loo = None
    scales = pts.scales
    if leave_one_out and name != LAST_VALUE and len(scales) >= 4:
        loo = _curves(name, pts, np.stack([(pts.x != s).astype(float) for s in scales]), warm)
    return ContenderFit(points=pts, selection=selection, best=best, reps=boot, replicates=reps, loo=loo)


def _fold_errors(name: str, pts: Points, weights: np.ndarray, targets: tuple[float, ...],
                 warm: np.ndarray) -> np.ndarray:
    """Mean |log prediction − log weighted mean| over the held-out ``targets`` for each weighting
    (B,), each fold fitted on the scales below its target under that weighting, warm-started from
    the fold's fit to all the data (``warm``: one row per fold); NaN where undefined."""
    means = scale_means(pts, weights)
    errs = []
    for j, t in enumerate(targets):
        fold = _fit_family(name, pts, weights * (pts.x < t)[None, :], warm[j], n_polish=0)
        truth = means[:, int(np.searchsorted(pts.scales, t))]
        with np.errstate(invalid="ignore", divide="ignore"):
            errs.append(np.abs(np.log(fold.at(np.full(len(weights), t))) - np.log(truth)))
    return np.mean(errs, axis=0)


def _reselect(pts: Points, reps: Replicates, selection: Selection, best: FamilyCurves
              ) -> tuple[MixedCurves, dict[str, float]]:
    """Family selection redone inside every bootstrap replicate (so intervals carry the family's
    uncertainty): each replicate's weights pick, by the same held-out scales, among the families
    that were eligible on all the data, and the replicate curve is that family fitted to those
    weights. Returns the replicate curves and the probability-weighted share of each family."""
    weights = reps.point_weights(pts.cluster)
    eligible = [n for n in CANDIDATES if n in selection.eligible]
    ones = np.ones((1, len(pts.x)))
    full = {n: best.theta if n == selection.chosen else _fit_family(n, pts, ones, selection.fold_theta[n][-1]).theta
            for n in eligible}
    errs = np.stack([_fold_errors(n, pts, weights, selection.targets, selection.fold_theta[n])
                     for n in eligible])  # (F, B)
    errs = np.where(np.isfinite(errs), errs, np.inf)
    pick = np.argmin(errs, axis=0)  # ties go to the simpler (earlier) family
    pick[~np.isfinite(errs.min(axis=0))] = eligible.index(selection.chosen)
    parts, which, pos = [], np.zeros(len(pick), int), np.zeros(len(pick), int)
    used = [k for k in range(len(eligible)) if (pick == k).any()]
    if eligible.index(selection.chosen) not in used:
        used.append(eligible.index(selection.chosen))
    for j, k in enumerate(used):
        rows = np.nonzero(pick == k)[0]
        parts.append(_fit_family(eligible[k], pts, weights[rows] if len(rows) else weights[:1], full[eligible[k]]))
        which[rows], pos[rows] = j, np.arange(len(rows))
    prob = reps.prob / reps.prob.sum()
    shares = {n: float(prob[pick == k].sum()) for k, n in enumerate(eligible)}
    main = used.index(eligible.index(selection.chosen))
    return MixedCurves(tuple(parts), which, pos, main), shares


def _with_interval(value: float, per_rep: np.ndarray, reps: Replicates, level: float,
                   widened: list[str] | None = None, name: str = "") -> Interval:
    """The estimate with its interval; an interval that missed its estimate is widened to it and
    ``name`` is appended to ``widened`` (the warnings say so)."""
    out, moved = estimate_interval(value, per_rep, reps, level)
    if moved and widened is not None:
        widened.append(name)
    return out


def trend(cf: ContenderFit, level: float) -> Trend:
    """Least-squares slope of log(mean metric) on log x over the measured scales, with its interval;
    ``direction`` is "falls" / "rises" when the interval excludes 0, else "flat" (no clear trend)."""
    pts = cf.points
    lx = np.log(pts.scales)
    if len(lx) < 2:
        return Trend(slope=None, direction="unknown")
    full = np.log(scale_means(pts, np.ones((1, len(pts.x)))))
    boot = np.log(scale_means(pts, cf.replicates.point_weights(pts.cluster)))

    def slope(rows: np.ndarray) -> np.ndarray:  # OLS slope of each row on lx, ignoring NaN scales
        if not np.isnan(rows).any():
            c = lx - lx.mean()
            return (rows - rows.mean(axis=1, keepdims=True)) @ c / (c @ c)
        out = np.full(len(rows), np.nan)
        for i, r in enumerate(rows):
            m = ~np.isnan(r)
            if m.sum() >= 2:
                c = lx[m] - lx[m].mean()
                out[i] = (r[m] - r[m].mean()) @ c / (c @ c)
        return out

    estimate = slope(full)[0]
    s = _with_interval(estimate, slope(boot), cf.replicates, level)
    if s.low is not None and s.high is not None and (s.high < 0 or s.low > 0):
        direction = "falls" if s.high < 0 else "rises"
    else:
        direction = "flat"
    return Trend(slope=s, direction=direction)


def fit_summary(cf: ContenderFit, level: float) -> FitSummary:
    """The chosen family, each parameter with its interval, the loss at 10x the largest scale
    (extrapolated), the trend, and the held-out errors that chose the family."""
    best, boot = cf.best.params(), cf.reps.params()
    far = BEYOND * cf.x_max
    formula = "last value carried forward" if cf.family == LAST_VALUE else FAMILIES[cf.family].formula
    widened: list[str] = []
    params = {k: _with_interval(best[k][0], boot[k], cf.replicates, level, widened, k) for k in best}
    loss = _with_interval(cf.best(far)[0, 0], cf.reps(far)[:, 0], cf.replicates, level, widened, "loss_at_10x")
    sel = cf.selection
    return FitSummary(
        family=cf.family, formula=formula, params=params,
        loss_at_10x=LossAt(x=far, value=loss.value, low=loss.low, high=loss.high),
        trend=trend(cf, level),
        selection=FamilySelection(errors=sel.errors, held_out_scales=sel.targets,
                                  extrapolation_supported=sel.supported, eligible=tuple(sel.eligible),
                                  replicate_shares=sel.shares),
        widened=tuple(widened), at_bound=at_bound(cf, level))


def at_bound(cf: ContenderFit, level: float) -> dict[str, AtBound]:
    """Shape parameters on the family's box (:meth:`Family.bounds`): ``{name: AtBound}`` with the bound
    in natural units, ``estimate`` whether the fit to all points sits on it and ``interval`` whether an
    end of the ``level`` interval does (at least (1 − level)/2 of the replicates on it). A value on a bound is the box's, not the data's: the warning says so."""
    if not isinstance(cf.best, FamilyCurves):
        return {}
    family = cf.best.family
    lower, upper = family.box(cf.x_min, cf.x_max)
    tail = (1 - level) / 2
    prob = cf.replicates.prob / cf.replicates.prob.sum()
    out = {}
    for j, name in enumerate(family.shape_names):
        for bound in (lower[2 + j], upper[2 + j]):
            tol = 1e-6 * (1 + abs(bound))
            on_best = bool(abs(cf.best.theta[0, 2 + j] - bound) <= tol)
            on_reps = bool(prob[np.abs(cf.reps.theta[:, 2 + j] - bound) <= tol].sum() >= tail - 1e-12)
            if on_best or on_reps:
                natural = float(np.exp(bound) if family.shape_transform[j] == "log" else bound)
                out[name] = AtBound(bound=natural, estimate=on_best, interval=on_reps)
    return out


def bound_warnings(summary: FitSummary, name: str) -> list[str]:
    """Say where a fitted parameter or an interval end sits on its family's bound, and where an
    interval was widened to include its estimate."""
    out = []
    for p, hit in summary.at_bound.items():
        where = " and ".join(w for w in ("estimate", "interval") if getattr(hit, w))
        out.append(f"{name}: the {summary.family} parameter {p} has its {where} on the family's bound "
                   f"{hit.bound:.3g} — a value of the box, not of the data")
    if summary.widened:
        out.append(f"{name}: the bootstrap interval of {', '.join(summary.widened)} missed the point estimate "
                   "(the resamples of a nonlinear fit fall on one side, typical with few seeds) and was widened to "
                   "include it")
    return out


def fit_band(cf: ContenderFit, level: float, n: int = 40) -> tuple[BandPoint, ...]:
    """The fitted curve and its pointwise interval from the smallest scale to 10x the largest;
    ``extrapolated`` marks points beyond the measured range."""
    grid = np.geomspace(cf.x_min, BEYOND * cf.x_max, n)
    best, boot = cf.best(grid)[0], cf.reps(grid)
    bands = [interval(boot[:, j], cf.replicates, level) for j in range(len(grid))]
    return tuple(BandPoint(x=float(x), value=float(best[j]), extrapolated=bool(x > cf.x_max * (1 + 1e-9)),
                           low=bands[j].low, high=bands[j].high) for j, x in enumerate(grid))


# --- two contenders ------------------------------------------------------------------------------


def exchange_rates(generic: Curves, structured: Curves, x: float) -> np.ndarray:
    """k(x) = x'/x, x' the data at which the generic curve reaches L_s(x), per pair of curves.

    Where the generic is behind at x (L_g(x) > L_s(x)), x' is the first x' ≥ x with L_g(x') ≤ L_s(x)
    (+inf where it never does within 10⁶·x: a curve that does not fall never catches up); where it
    is already level or ahead, x' is the start of the stretch ending at x on which L_g ≤ L_s(x)
    (k ≤ 1: it needed less; ``SEARCH_BELOW`` where that stretch reaches the search's lower end).
    For a decreasing L_g both are L_g⁻¹(L_s(x)). NaN where a fit is undefined."""
    level = structured(x)[:, 0]
    behind = generic(x)[:, 0] > level
    ahead = np.where(behind, np.nan, reached_since(generic, level, SEARCH_BELOW * x, x))
    catch_up = first_below(generic, level, x, SEARCH_ABOVE * x)
    catch_up = np.where(np.isnan(catch_up) & np.isfinite(level), np.inf, catch_up)
    return np.where(behind, catch_up, ahead) / x


@dataclass(frozen=True)
class Widened:
    """Curves L(x)·exp(sign·τ·max(0, ln(x/x_max))): a curve moved by the calibrated discrepancy of an
    extrapolation (:mod:`bitterlab.analysis.extrapolate`), optimistic (sign −1) or pessimistic (+1)."""

    base: Curves
    tau: float
    x_max: float

    def __len__(self) -> int:
        return len(self.base)

    def _factor(self, x) -> np.ndarray:
        return np.exp(self.tau * np.maximum(0.0, np.log(np.asarray(x, float) / self.x_max)))

    def __call__(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, float))
        return self.base(x) * self._factor(x)[None, :]

    def at(self, x: np.ndarray) -> np.ndarray:
        return self.base.at(x) * self._factor(x)

    def take(self, rows) -> Widened:
        return Widened(self.base.take(rows), self.tau, self.x_max)


def calibrated_rate_interval(generic: ContenderFit, structured: ContenderFit, x: float, band: Bounds,
                             tau: float = TAU) -> Bounds:
    """Widen an extrapolated exchange rate's interval by the calibrated discrepancy: the rates at which
    the optimistic and the pessimistic generic curve (the fit moved by e^(∓τ·ln(x'/x_max))) reach
    L_s(x) extend the bootstrap interval (a pessimistic curve that never gets there: unbounded)."""
    opt = float(exchange_rates(Widened(generic.best, -tau, generic.x_max), structured.best, x)[0])
    pess = float(exchange_rates(Widened(generic.best, tau, generic.x_max), structured.best, x)[0])
    low = band.low if band.low is None or not np.isfinite(opt) else min(band.low, opt)
    high = None if band.high is None or not np.isfinite(pess) else max(band.high, pess)
    return Bounds(low=low, high=high)


def measured_exchange(generic: ContenderFit, structured: ContenderFit, level: float, n: int = 120
                      ) -> MeasuredRate | None:
    """The exchange rate read where both curves were measured (an interpolation): at the largest
    scale x in the common range for which the generic reaches L_s(x) at some x' = k·x inside its own
    measured range, with the interval over the replicates at that x;
    +∞ where a replicate never gets there). ``None`` when no such x exists."""
    low, high = max(generic.x_min, structured.x_min), min(generic.x_max, structured.x_max)
    top = generic.x_max * (1 + 1e-9)
    for x in np.geomspace(high, low, n):
        k = float(exchange_rates(generic.best, structured.best, float(x))[0])
        if np.isfinite(k) and k > SEARCH_BELOW * (1 + 1e-9) and generic.x_min <= k * x <= top:
            rates = exchange_rates(generic.reps, structured.reps, float(x))
            band, widened = estimate_interval(k, rates, generic.replicates, level)
            return MeasuredRate(value=band.value, low=band.low, high=band.high, x=float(x), widened=widened)
    return None


def rate_claim(ends: Bounds) -> str:
    """What a verdict asserts of an exchange rate with interval ``ends``: ``"finite"`` (bounded above),
    ``"at_least"`` (unbounded above: at least ``low``, the fitted point value not claimed) or ``"point"``
    (no interval at all, e.g. one seed: a point estimate only)."""
    if ends.high is not None:
        return "finite"
    return "at_least" if ends.low is not None else "point"


def compare(generic: ContenderFit, structured: ContenderFit, level: float) -> Comparison:
    """Exchange rate at the largest common scale and crossover probabilities, with intervals.

    The two fits must share their replicates (paired by seed) or have as many (independent)."""
    if len(generic.reps) != len(structured.reps):
        raise ValueError("compare: the two fits have different numbers of bootstrap replicates")
    reps = generic.replicates
    low, high = max(generic.x_min, structured.x_min), min(generic.x_max, structured.x_max)
    rate = float(exchange_rates(generic.best, structured.best, high)[0])
    rates = exchange_rates(generic.reps, structured.reps, high)
    exchange = None
    if np.isfinite(rate):
        band, widened = estimate_interval(rate, rates, reps, level)
        bootstrap = Bounds(low=band.low, high=band.high)
        extrapolated = bool(rate * high > generic.x_max * (1 + 1e-9))
        ends = calibrated_rate_interval(generic, structured, high, bootstrap) if extrapolated else bootstrap
        inside = MeasuredRate(value=band.value, low=ends.low, high=ends.high, x=high, widened=widened)
        exchange = ExchangeRate(value=band.value, low=ends.low, high=ends.high, x=high, widened=widened,
                                bootstrap=bootstrap, p_unreachable=probability(np.isinf(rates), reps),
                                at_search_floor=bool(rate <= SEARCH_BELOW * (1 + 1e-9)),  # value: an upper bound
                                extrapolated=extrapolated, extrapolation_supported=generic.selection.supported,
                                measured=measured_exchange(generic, structured, level) if extrapolated else inside,
                                claim=rate_claim(ends))
    within = first_crossing(generic.reps, structured.reps, low, high)
    beyond = first_crossing(generic.reps, structured.reps, high, BEYOND * high)
    where = np.where(np.isnan(within), beyond, within)
    point = float(first_crossing(generic.best, structured.best, low, BEYOND * high)[0])
    # the location interval over the replicates that cross, widened to reach the fitted crossing
    band, widened = Bounds(low=None, high=None), False
    if (~np.isnan(where)).any():
        band, widened = estimate_interval(point, where, reps, level)
    crossover = Crossover(p_within=probability(~np.isnan(within), reps),
                          p_beyond_10x=probability(np.isnan(within) & ~np.isnan(beyond), reps),
                          point=point if np.isfinite(point) else None,
                          extrapolation_supported=_both(generic.selection.supported, structured.selection.supported),
                          low=band.low, high=band.high, widened=widened)
    return Comparison(exchange_rate=exchange, crossover=crossover)


def _both(a: bool | None, b: bool | None) -> bool | None:
    return None if a is None or b is None else bool(a and b)


# --- warnings ------------------------------------------------------------------------------------


def shape_warnings(cf: ContenderFit, name: str, metric: str) -> list[str]:
    """Where a contender's curve is ill-behaved: a mean that rises with scale beyond noise
    (non-monotone), and a fit driven by one scale (leaving it out moves the exponent by more than
    half — unless the fitted curve is flat to 2 % over the range, where the exponent is not
    identified — or the loss at 10x the largest scale by more than 25 %).

    Noise, in log space: the standard error of each scale's log-mean from its seeds; where a scale
    has a single result, the scatter of all log-residuals around the fitted curve (1.4826·MAD)."""
    out = []
    pts = cf.points
    frame = pd.DataFrame({"x": pts.x, "log_y": np.log(pts.y)})
    stats = frame.groupby("x")["log_y"].agg(["mean", "std", "count"]).sort_index()
    count = stats["count"].to_numpy()
    resid = np.log(pts.y) - np.log(cf.best(pts.x)[0])
    pooled = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    sd = np.where(count >= 2, stats["std"].fillna(0).to_numpy(), pooled)
    se = sd / np.sqrt(count)
    m = stats["mean"].to_numpy()
    rises = [i for i in range(1, len(m)) if m[i] - m[i - 1] > 2 * np.hypot(se[i], se[i - 1])]
    if rises:
        xs = ", ".join(f"{stats.index[i]:g}" for i in rises[:5]) + (", ..." if len(rises) > 5 else "")
        out.append(f"{name}: non-monotone curve — the mean {metric} rises beyond noise at {xs}")
    if cf.loo is not None:
        far = BEYOND * cf.x_max
        full_far, loo_far = cf.best(far)[0, 0], cf.loo(far)[:, 0]
        full_p, loo_p = cf.best.params(), cf.loo.params()
        ends = cf.best(np.array([cf.x_min, cf.x_max]))[0]
        # on a curve flat to 2 % over the measured range the exponent is not identified: don't report it
        shaped = "alpha" in full_p and abs(np.log(ends[0] / ends[1])) > 0.02
        for j, value in enumerate(pts.scales):
            moved_far = abs(loo_far[j] - full_far) > 0.25 * abs(full_far)
            moved_alpha = shaped and abs(loo_p["alpha"][j] - full_p["alpha"][0]) > 0.5 * abs(full_p["alpha"][0])
            if moved_far or moved_alpha:
                detail = (f"moves α from {full_p['alpha'][0]:.3g} to {loo_p['alpha'][j]:.3g} and " if "alpha" in full_p
                          else "")
                out.append(f"{name}: fit driven by few points — leaving out x={value:g} {detail}the loss at 10x "
                           f"from {full_far:.3g} to {loo_far[j]:.3g}")
                break
    return out


def selection_warnings(cf: ContenderFit, name: str) -> list[str]:
    """Say when the last-value baseline predicted the held-out scales better than the chosen family."""
    sel = cf.selection
    if sel.supported is False:
        return [f"{name}: fitted on the smaller scales, the {sel.chosen} curve predicts the held-out largest "
                f"scale(s) worse than carrying the last value forward (log error {sel.errors[sel.chosen]:.3g} vs "
                f"{sel.errors[LAST_VALUE]:.3g}): its extrapolation is not supported by the data"]
    return []


def fit_points(pts: Points, *, family: str = "auto", n_boot: int | None = None, seed: int = 0) -> ContenderFit:
    """Convenience: fit one set of points with its own bootstrap over its clusters."""
    reps = replicates(pts.n_clusters, seed=seed, **({} if n_boot is None else {"n_boot": n_boot}))
    return fit_contender(pts, reps, family=family)
