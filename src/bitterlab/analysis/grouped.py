"""A results table fitted group by group: validation, aggregation to one result per (group, x,
seed), the fits with shared (paired) bootstrap weights, and the comparisons with a reference group.

One grouped fit serves ``bitterlab verdict`` (groups are contenders, x the study's axis) and
``bitterlab fit`` (groups, x and seeds named by the user). The fit's cost grows with the number of
distinct (group, x, seed), not with the number of rows: a raw evaluation log with many rows per
(group, x, seed) is averaged first (the mean of a seed's results at a scale is its result there).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from bitterlab.analysis.bootstrap import replicates
from bitterlab.analysis.results import FitReport, GroupComparison
from bitterlab.analysis.scaling import ContenderFit, Points, fit_contender

MIN_SEEDS = 5  # below this intervals under-cover (docs/statistics.md) and the warning says so
MAX_POINTS = 5000  # rows of one group without a seed column kept as separate points (each a cluster)


def few_seeds_warning(n_seeds: int) -> list[str]:
    """The warning of a fit with fewer than ``MIN_SEEDS`` seeds (none with enough)."""
    if n_seeds >= MIN_SEEDS:
        return []
    return [f"{n_seeds} seed(s): the bootstrap intervals of fitted quantities under-cover with fewer than "
            f"{MIN_SEEDS} seeds (measured on simulated curves: nominal 90% covered 73–81% at 3 seeds, "
            "87–89% at 5), and crossover probabilities are overconfident"]


@dataclass(frozen=True, kw_only=True)
class Table:
    """A validated results table with one row per (group, x..., seed): ``frame`` has the columns
    ``group``, ``xs``, ``seed`` (when given), ``y`` (the mean of the rows averaged) and ``rows`` (how
    many); ``notes`` say what was averaged or treated as replicates."""

    frame: pd.DataFrame
    xs: tuple[str, ...]
    y: str
    group: str
    seed: str | None
    notes: tuple[str, ...] = ()
    censored: str | None = None  # column of booleans: the row's loss is a lower bound (failed or capped)

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(self.frame[self.group]))

    @property
    def seeds(self) -> list:
        return sorted(self.frame[self.seed].unique()) if self.seed else []


def _first(mask: np.ndarray) -> int:
    """1-based line of the first flagged row, counting the header as line 1."""
    return int(np.argmax(mask)) + 2


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    raw = df[col]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    empty = raw.isna().to_numpy()
    if empty.any():
        raise ValueError(f"column {col!r} row {_first(empty)}: the cell is empty")
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"column {col!r} row {_first(bad)}: {raw.iloc[_first(bad) - 2]!r} is not a finite number")
    if (values <= 0).any():
        row = _first(values <= 0)
        raise ValueError(f"column {col!r} row {row}: {values[row - 2]} is not positive")
    return values


TRUE, FALSE = {"true", "1", "yes", "y", "censored"}, {"false", "0", "no", "n", ""}


def _flags(df: pd.DataFrame, col: str) -> np.ndarray:
    """A column of booleans (true/false, 1/0, yes/no; an empty cell is false), naming a bad cell."""
    text = df[col].fillna("").astype(str).str.strip().str.lower()
    bad = ~text.isin(TRUE | FALSE)
    if bad.any():
        row = _first(bad.to_numpy())
        raise ValueError(f"column {col!r} row {row}: {df[col].iloc[row - 2]!r} is not true/false (1/0, yes/no)")
    return text.isin(TRUE).to_numpy()


def table(df: pd.DataFrame, *, xs: list[str] | tuple[str, ...], y: str, group: str,
          seed: str | None = None, censored: str | None = None) -> Table:
    """Validate a results table (every error names its column and row) and average it to one row per
    (group, x..., seed). Without a seed column, rows that share a (group, x) are replicates: each stays
    a point and the bootstrap resamples points (above ``MAX_POINTS`` rows in a group they are averaged
    per (group, x) instead, and the note says so)."""
    xs = tuple(xs)
    if len(df) == 0:
        raise ValueError("the table has a header but no rows")
    for col in [*xs, y, group] + ([seed] if seed else []) + ([censored] if censored else []):
        if col not in df.columns:
            raise ValueError(f"no column {col!r} (columns: {', '.join(map(str, df.columns))})")
    for col in [group] + ([seed] if seed else []):
        empty = df[col].isna().to_numpy() | (df[col].astype(str).str.strip() == "").to_numpy()
        if empty.any():
            raise ValueError(f"column {col!r} row {_first(empty)}: the cell is empty")
    frame = pd.DataFrame({c: _numeric(df, c) for c in [*xs, y]})
    frame[group] = df[group].astype(str).to_numpy()
    notes: list[str] = []
    flags = [censored] if censored else []
    if censored:
        frame[censored] = _flags(df, censored)
        if frame[censored].any():
            notes.append(f"{int(frame[censored].sum())} censored rows (column {censored!r}) enter the fits as lower "
                         "bounds: 'at least this loss'")
    if seed:
        frame[seed] = df[seed].astype(str).to_numpy()
        keys = [group, *xs, seed, *flags]
        agg = frame.groupby(keys, sort=False)[y].agg(["mean", "size"]).reset_index()
        repeated = int((agg["size"] > 1).sum())
        if repeated:
            notes.append(f"{int(agg['size'][agg['size'] > 1].sum())} rows repeat one of {repeated} (group, x, seed) "
                         f"combinations: averaged to one result per seed (at most {int(agg['size'].max())} rows each)")
        agg = agg.rename(columns={"mean": y, "size": "rows"})
        return Table(frame=agg, xs=xs, y=y, group=group, seed=seed, notes=tuple(notes), censored=censored)
    keys = [group, *xs, *flags]
    size = frame.groupby(keys, sort=False)[y].transform("size")
    if (size > 1).any():
        cells = frame[size > 1].drop_duplicates(keys)
        notes.append(f"{int((size > 1).sum())} rows share one of {len(cells)} (group, x) combinations and there is "
                     f"no --seed column: treated as replicates (each row a point; the bootstrap resamples rows), "
                     f"e.g. {cells[group].iloc[0]} at {', '.join(f'{cells[c].iloc[0]:g}' for c in xs)}")
    big = frame.groupby(group, sort=False)[y].transform("size") > MAX_POINTS
    if big.any():
        kept = frame[~big].assign(rows=1)
        means = frame[big].groupby(keys, sort=False)[y].agg(["mean", "size"]).reset_index()
        means = means.rename(columns={"mean": y, "size": "rows"})
        frame = pd.concat([kept, means], ignore_index=True)
        notes.append(f"groups with more than {MAX_POINTS} rows and no --seed column are averaged per (group, x): "
                     "name the seed column to keep the seed-to-seed spread in the intervals")
    else:
        frame["rows"] = 1
    return Table(frame=frame, xs=xs, y=y, group=group, seed=None, notes=tuple(notes), censored=censored)


def fit_grouped(frames: dict[str, pd.DataFrame], y: str, *, x: str = "x", seed: str | None = "seed",
                family: str = "auto", leave_one_out: bool = True, censored: str | None = None
                ) -> dict[str, ContenderFit]:
    """Fit every group's curve. With a seed column and at least two seeds the bootstrap weights are
    shared by seed across groups (paired comparisons); otherwise each group's points are its clusters,
    weighted independently. A fit that cannot be made raises ``ValueError`` naming its group."""
    seeds = sorted(set().union(*(set(f[seed]) for f in frames.values()))) if seed else []
    shared = replicates(len(seeds)) if len(seeds) >= 2 else None
    out = {}
    for i, (name, rows) in enumerate(frames.items()):
        xs, ys = rows[x].to_numpy(float), rows[y].to_numpy(float)
        flags = rows[censored].to_numpy(bool) if censored else None
        if shared is not None:
            index = {s: k for k, s in enumerate(seeds)}
            pts = Points(x=xs, y=ys, cluster=np.array([index[s] for s in rows[seed]], int), n_clusters=len(seeds),
                         censored=flags)
            reps = shared
        else:
            pts = Points(x=xs, y=ys, cluster=np.arange(len(xs)), n_clusters=len(xs), censored=flags)
            reps = replicates(pts.n_clusters, seed=i)
        try:
            out[name] = fit_contender(pts, reps, family=family, leave_one_out=leave_one_out)
        except ValueError as exc:
            raise ValueError(f"group {name!r}: {exc}") from None
    return out


def _collinear(n: np.ndarray, d: np.ndarray) -> float:
    """|corr(log N, log D)| over the rows (1 when one axis is a power of the other)."""
    ln, ld = np.log(n), np.log(d)
    if ln.std() == 0 or ld.std() == 0:
        return 1.0
    return float(abs(np.corrcoef(ln, ld)[0, 1]))


def fit_table(tab: Table, *, reference: str | None = None, family: str = "auto", level: float = 0.9,
              collinear_at: float = 0.99, predict_at: tuple[float, ...] = ()) -> FitReport:
    """The :class:`~bitterlab.analysis.results.FitReport` of a :class:`Table` (the shapes of
    docs/verdict.md): one curve per group with its intervals, each other group compared with
    ``reference`` (default: the first group). With two x columns each group gets the two-axis law
    (Hoffmann et al. 2022, eq. 2), bootstrapped over seeds when there are any, else rows. Each X of
    ``predict_at`` adds a ``predict`` entry to every one-axis fit and comparison
    (:mod:`bitterlab.analysis.extrapolate`: calibrated beyond the measured range)."""
    from bitterlab.analysis.extrapolate import p_reversed, predict
    from bitterlab.analysis.fit import two_axis_summary
    from bitterlab.analysis.scaling import (bound_warnings, compare, fit_band, fit_summary, selection_warnings,
                                            shape_warnings)

    groups = tab.groups
    reference = reference or groups[0]
    if reference not in groups:
        raise ValueError(f"--reference {reference!r} is not a value of column {tab.group!r} (values: "
                         f"{', '.join(groups)})")
    frames = {g: tab.frame[tab.frame[tab.group] == g] for g in groups}
    fits: dict = {}
    warnings: list[str] = []
    notes = list(tab.notes)
    if tab.seed:
        n_seeds = min(rows[tab.seed].nunique() for rows in frames.values())
        warnings += few_seeds_warning(n_seeds)
    if len(tab.xs) == 2:
        if predict_at:
            notes.append("--predict is for one-axis fits: not computed for the two-axis law")
        if len(groups) > 1:
            notes.append(f"two-axis fits are not compared (no exchange rate along two axes): the reference "
                         f"{reference!r} is not used")
        for g, rows in frames.items():
            n, d = rows[tab.xs[0]].to_numpy(float), rows[tab.xs[1]].to_numpy(float)
            r = _collinear(n, d)
            if r > collinear_at:
                warnings.append(f"{g}: {tab.xs[0]} and {tab.xs[1]} are collinear in log space (|corr| = "
                                f"{r:.4f}): the two exponents and amplitudes are not separately identified, "
                                "and their intervals are wide; sweep one axis at fixed values of the other")
            cluster = rows[tab.seed].to_numpy() if tab.seed else None
            fits[g] = two_axis_summary(n, d, rows[tab.y].to_numpy(float), level=level, cluster=cluster)
        return FitReport(fits=fits, comparisons=(), warnings=tuple(warnings), notes=tuple(notes))
    curves = fit_grouped(frames, tab.y, x=tab.xs[0], seed=tab.seed, family=family, censored=tab.censored)
    bands = {}
    for g, cf in curves.items():
        fits[g] = fit_summary(cf, level)
        if predict_at:
            fits[g] = replace(fits[g], predict=predict(cf, predict_at, level))
        bands[g] = fit_band(cf, level)
        warnings += shape_warnings(cf, g, tab.y) + selection_warnings(cf, g) + bound_warnings(fits[g], g)
    comparisons = []
    for g in groups:
        if g != reference:
            common = min(curves[g].x_max, curves[reference].x_max)  # the largest scale both measured
            pair = compare(curves[g], curves[reference], level)
            comparisons.append(GroupComparison(
                group=g, reference=reference, x=common, exchange_rate=pair.exchange_rate, crossover=pair.crossover,
                predict=p_reversed(curves[g], curves[reference], predict_at) if predict_at else None))
    return FitReport(fits=fits, comparisons=tuple(comparisons), warnings=tuple(warnings), notes=tuple(notes),
                     bands=bands)
