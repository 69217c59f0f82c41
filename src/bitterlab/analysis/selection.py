"""Selecting each contender's tuned options by validation: a pure function over the results table.

Under the fair-duel protocol a contender may be tuned over a grid of options (its learning rate, say):
every grid point ran as its own trial, for every seed, and reported the study's metrics on a
validation split carved from its training data. At each (task, contender, axis value) the
selected point is the one with the lowest mean validation value of the study's main metric over
seeds; the verdict then compares the *test* metric of the selected points only, so the test set
never chooses anything (the standard train/validation/test protocol, e.g. Hastie, Tibshirani &
Friedman 2009, §7.2).

A grid point is eligible only if all of its seeds succeeded: a learning rate that diverges on one
seed out of five is not the best learning rate. If no point is eligible, the one with the most ok
seeds (then the lowest mean) is taken, and its failures are counted by the verdict.

A selected value is *at the edge* of its grid when the grid of that option has at least three
distinct numeric values and the selected one is the smallest or the largest: the optimum may lie
outside the grid, and the verdict warns.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

EDGE_MIN_VALUES = 3


@dataclass(frozen=True, kw_only=True)
class SelectedPoint:
    """The grid point chosen for one contender at one axis value."""

    x: float
    values: Mapping[str, Any]  # the chosen value of each tuned option ({} for an untuned contender)
    at_edge: bool  # some chosen value is the smallest or largest of a grid of >= 3 numeric values
    edge_options: tuple[str, ...]  # which options sit at an edge
    validation: float | None  # mean validation value of the main metric over the point's ok seeds
    n_points: int  # grid points tried at this axis value

    def to_json(self) -> dict[str, Any]:
        """The point as in a verdict's JSON ``selected`` (``n_points`` is written ``grid_points``)."""
        return {"x": self.x, "values": dict(self.values), "at_edge": self.at_edge,
                "edge_options": list(self.edge_options), "validation": self.validation, "grid_points": self.n_points}


@dataclass(frozen=True, kw_only=True)
class Selection:
    """The rows of the selected points (ok and failed) and what was selected."""

    rows: pd.DataFrame  # the selected grid point's rows at every (task, contender, axis value)
    tuned: bool  # whether any contender had more than one grid point
    selected: Mapping[str, tuple[SelectedPoint, ...]]  # contender -> chosen point per axis value
    unconverged: Mapping[str, float | None]  # contender -> share of its selected ok trials not converged
    sweep_failed: int  # failed trials at grid points that were not selected


def _key(point: Any) -> str:
    return json.dumps(point if isinstance(point, Mapping) else {}, sort_keys=True)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def edge_options(chosen: Mapping[str, Any], points: list[Mapping[str, Any]]) -> tuple[str, ...]:
    """The options whose chosen value is the smallest or largest of a numeric grid of >= 3 values."""
    edges = []
    for name, value in chosen.items():
        grid = {p[name] for p in points if name in p and _is_number(p[name])}
        if len(grid) >= EDGE_MIN_VALUES and _is_number(value) and value in (min(grid), max(grid)):
            edges.append(name)
    return tuple(edges)


def _validation(rows: pd.DataFrame, metric: str) -> np.ndarray:
    return np.array([float(v.get(metric, math.nan)) if isinstance(v, Mapping) else math.nan
                     for v in rows["validation"]], dtype=float)


def select(rows: pd.DataFrame, metric: str) -> Selection:
    """Select, per (task, contender, x, x2), the grid point with the lowest mean validation ``metric``.

    ``rows``: result rows (ok and failed) with columns ``task``, ``contender``, ``x``, ``seed``,
    ``status``, ``tuned`` (the grid point, a mapping; {} when untuned), ``validation`` (a mapping),
    and optionally ``x2`` and ``converged``. Rows without these protocol columns are taken as untuned."""
    if rows.empty or "tuned" not in rows:
        return Selection(rows=rows, tuned=False, selected={}, unconverged={}, sweep_failed=0)
    rows = rows.assign(_point=[_key(p) for p in rows["tuned"]],
                       _x2=rows["x2"].astype(float).fillna(-1.0) if "x2" in rows else -1.0)
    keep: list[pd.Index] = []
    selected: dict[str, list[SelectedPoint]] = {}
    tuned, sweep_failed = False, 0
    for (_, contender, x, _), block in rows.groupby(["task", "contender", "x", "_x2"], sort=True):
        by_point = {p: g for p, g in block.groupby("_point", sort=False)}
        points = [json.loads(p) for p in by_point]
        tuned |= len(by_point) > 1
        scored = []
        for p, g in by_point.items():
            ok = g[g["status"] == "ok"]
            val = _validation(ok, metric)
            mean = float(np.mean(val)) if len(val) and np.all(np.isfinite(val)) else math.inf
            scored.append((len(ok) == len(g), len(ok), -mean, p))
        eligible, _, neg_mean, best = max(scored, key=lambda s: (s[0], s[1], s[2]))
        chosen = json.loads(best)
        edges = edge_options(chosen, points) if len(points) > 1 else ()
        keep.append(by_point[best].index)
        sweep_failed += sum(int((g["status"] == "failed").sum()) for p, g in by_point.items() if p != best)
        selected.setdefault(contender, []).append(SelectedPoint(
            x=float(x), values=chosen, at_edge=bool(edges), edge_options=edges,
            validation=None if math.isinf(neg_mean) else -neg_mean, n_points=len(points)))
    chosen_rows = rows.loc[np.concatenate([k.to_numpy() for k in keep])].drop(columns=["_point", "_x2"])
    chosen_rows = chosen_rows.sort_index()
    unconverged: dict[str, float | None] = {}
    for contender, g in chosen_rows[chosen_rows["status"] == "ok"].groupby("contender"):
        flags = [v for v in g["converged"]] if "converged" in g else []
        known = [bool(v) for v in flags if v is not None and not (isinstance(v, float) and math.isnan(v))]
        unconverged[contender] = None if not known else float(np.mean([not v for v in known]))
    return Selection(rows=chosen_rows, tuned=tuned, selected={c: tuple(p) for c, p in selected.items()},
                     unconverged=unconverged, sweep_failed=sweep_failed)


def protocol_warnings(sel: Selection) -> list[str]:
    """Warnings for selected points at the edge of their grid, and for unconverged selected trials."""
    out = []
    for contender, pts in sel.selected.items():
        edge = [p for p in pts if p.at_edge]
        if edge:
            where = ", ".join(f"x={p.x:.4g}: {', '.join(f'{o}={p.values[o]:.3g}' for o in p.edge_options)}"
                              for p in edge)
            out.append(f"{contender}: the selected value sits at the edge of its tuning grid at {len(edge)} of "
                       f"{len(pts)} axis values ({where}); the best value may lie outside the grid")
    for contender, share in sel.unconverged.items():
        if share:
            out.append(f"{contender}: {share:.0%} of the selected trials hit the training maximum while the "
                       "validation loss was still improving (unconverged)")
    return out
