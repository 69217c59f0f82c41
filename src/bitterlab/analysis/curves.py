"""Batches of fitted curves (one per bootstrap replicate, left-out scale, ...) and the searches on
them: where a curve first falls to a level (for the exchange rate) and where two curves first cross.

Two kinds of curve:

* :class:`FamilyCurves` — a parametric family (:mod:`bitterlab.analysis.families`) with θ (B, p);
* :class:`LastValueCurves` — the last-value baseline: inside the measured range, the per-scale mean
  interpolated linearly in log–log; beyond it, the mean at the largest scale carried forward (and
  the smallest scale's mean below the range). It is what "no curve family predicts better than the
  data we have" extrapolates to.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bitterlab.analysis.families import Family

GRID = 600  # log-grid points of the searches, refined by bisection
BISECT = 40


@dataclass(frozen=True)
class FamilyCurves:
    family: Family
    theta: np.ndarray  # (B, p)

    @property
    def name(self) -> str:
        return self.family.name

    def __len__(self) -> int:
        return len(self.theta)

    def __call__(self, x) -> np.ndarray:
        """L(x) for every curve: shape (B, len(x))."""
        with np.errstate(over="ignore", under="ignore"):
            return self.family.predict(self.theta, np.atleast_1d(np.asarray(x, float)))

    def at(self, x: np.ndarray) -> np.ndarray:
        """L_b(x_b), one x per curve: shape (B,)."""
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            log_x = np.log(np.asarray(x, float))[:, None]
            lp = np.logaddexp(self.theta[:, 0], self.theta[:, 1] + self.family.log_phi(self.theta[:, 2:], log_x)[:, 0])
        return np.exp(lp)

    def params(self) -> dict[str, np.ndarray]:
        return self.family.natural(self.theta)

    def take(self, rows) -> FamilyCurves:
        return FamilyCurves(self.family, self.theta[rows])


@dataclass(frozen=True)
class LastValueCurves:
    scales: np.ndarray  # (S,) sorted
    means: np.ndarray  # (B, S) mean metric per scale

    name = "last_value"

    def __len__(self) -> int:
        return len(self.means)

    def __call__(self, x) -> np.ndarray:
        lx = np.log(np.atleast_1d(np.asarray(x, float)))
        ls, lm = np.log(self.scales), np.log(self.means)
        return np.exp(np.stack([np.interp(lx, ls, row) for row in lm]))

    def at(self, x: np.ndarray) -> np.ndarray:
        ls, lm = np.log(self.scales), np.log(self.means)
        return np.exp(np.array([np.interp(np.log(xi), ls, row) for xi, row in zip(x, lm, strict=True)]))

    def params(self) -> dict[str, np.ndarray]:
        return {"level": self.means[:, -1]}

    def take(self, rows) -> LastValueCurves:
        return LastValueCurves(self.scales, self.means[rows])


def _refine(f, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Bisection in log x of a sign change of f (vectorised: f maps x (B,) to (B,)), f(lo) > 0 ≥ f(hi)."""
    llo, lhi = np.log(lo), np.log(hi)
    for _ in range(BISECT):
        mid = (llo + lhi) / 2
        above = f(np.exp(mid)) > 0
        llo, lhi = np.where(above, mid, llo), np.where(above, lhi, mid)
    return np.exp((llo + lhi) / 2)


def first_below(curves: Curves, level: np.ndarray, low: float, high: float) -> np.ndarray:
    """For each curve b, the smallest x in [low, high] with L_b(x) ≤ level_b (NaN if none)."""
    level = np.broadcast_to(np.asarray(level, float), (len(curves),))
    grid = np.geomspace(low, high, GRID)
    above = curves(grid) - level[:, None] > 0
    reached = ~above
    out = np.full(len(curves), np.nan)
    has = reached.any(axis=1)
    i = np.argmax(reached, axis=1)
    out[has & (i == 0)] = grid[0]
    inner = has & (i > 0)
    if inner.any():
        sub = curves.take(inner)
        lv = level[inner]
        out[inner] = _refine(lambda x: sub.at(x) - lv, grid[i[inner] - 1], grid[i[inner]])
    return out


def reached_since(curves: Curves, level: np.ndarray, low: float, high: float) -> np.ndarray:
    """For each curve b with L_b(high) ≤ level_b: the smallest x in [low, high] such that
    L_b ≤ level_b on all of [x, high] (``low`` where it holds on the whole range; NaN where
    L_b(high) > level_b)."""
    level = np.broadcast_to(np.asarray(level, float), (len(curves),))
    grid = np.geomspace(high, low, GRID)  # downward from high
    above = curves(grid) - level[:, None] > 0
    out = np.full(len(curves), np.nan)
    ok = ~above[:, 0]
    leaves = above.any(axis=1)
    out[ok & ~leaves] = low
    inner = ok & leaves
    if inner.any():
        i = np.argmax(above, axis=1)[inner]
        sub, lv = curves.take(inner), level[inner]
        out[inner] = _refine(lambda x: sub.at(x) - lv, grid[i], grid[i - 1])
    return out


def first_crossing(a: Curves, b: Curves, low: float, high: float) -> np.ndarray:
    """For each pair (a_k, b_k), the first x in (low, high] where a − b changes sign (NaN if none)."""
    grid = np.geomspace(low, high, GRID)
    diff = a(grid) - b(grid)
    sign = np.sign(diff)
    change = (sign[:, 1:] != sign[:, :-1]) & (sign[:, 1:] != 0) | ((sign[:, 1:] == 0) & (sign[:, :-1] != 0))
    out = np.full(len(diff), np.nan)
    has = change.any(axis=1)
    if has.any():
        i = np.argmax(change, axis=1)[has]
        sa, sb = a.take(has), b.take(has)
        s0 = sign[has, i]
        out[has] = _refine(lambda x: s0 * (sa.at(x) - sb.at(x)), grid[i], grid[i + 1])
    return out


@dataclass(frozen=True)
class MixedCurves:
    """Bootstrap replicates whose family was chosen inside each replicate: replicate b is row
    ``pos[b]`` of ``parts[which[b]]``. Parameters are reported for the ``main`` family (the one
    chosen on all the data) and are NaN on replicates of another family, so parameter intervals are
    conditional on the family while curves, exchange rates and crossings carry the family's
    uncertainty."""

    parts: tuple[FamilyCurves, ...]
    which: np.ndarray  # (B,) index into parts
    pos: np.ndarray  # (B,) row within parts[which[b]]
    main: int

    @property
    def name(self) -> str:
        return self.parts[self.main].name

    @property
    def family(self) -> Family:
        return self.parts[self.main].family

    @property
    def theta(self) -> np.ndarray:
        """θ of the main family, NaN on replicates of another family."""
        part = self.parts[self.main]
        out = np.full((len(self.which), part.theta.shape[1]), np.nan)
        mine = self.which == self.main
        out[mine] = part.theta[self.pos[mine]]
        return out

    def __len__(self) -> int:
        return len(self.which)

    def __call__(self, x) -> np.ndarray:
        x = np.atleast_1d(np.asarray(x, float))
        out = np.empty((len(self.which), len(x)))
        for k, part in enumerate(self.parts):
            m = self.which == k
            if m.any():
                out[m] = part.take(self.pos[m])(x)
        return out

    def at(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        out = np.empty(len(self.which))
        for k, part in enumerate(self.parts):
            m = self.which == k
            if m.any():
                out[m] = part.take(self.pos[m]).at(x[m])
        return out

    def params(self) -> dict[str, np.ndarray]:
        return self.parts[self.main].family.natural(self.theta)

    def take(self, rows) -> MixedCurves:
        return MixedCurves(self.parts, self.which[rows], self.pos[rows], self.main)


Curves = FamilyCurves | LastValueCurves | MixedCurves
