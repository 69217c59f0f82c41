"""Private helpers: normalise inputs and align discrete supports."""

from __future__ import annotations

import numpy as np

from bitterlab.geometry.distributions import Discrete, Empirical, Mixture, MultivariateNormal, Normal


def as_value(p):
    """Empirical → Discrete; anything else unchanged."""
    return p.as_discrete() if isinstance(p, Empirical) else p


def is_continuous_1d(p) -> bool:
    return isinstance(p, Normal | Mixture)


def is_1d(p) -> bool:
    return is_continuous_1d(p) or (isinstance(p, Discrete) and p.dim == 1)


def as_mvn(p):
    """A 1-D Normal as a MultivariateNormal (to pair it with one)."""
    return MultivariateNormal([p.mean], [[p.std**2]]) if isinstance(p, Normal) else p


def align(p: Discrete, q: Discrete) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights of p and q on the union of their supports (points matched exactly)."""
    if p.dim != q.dim:
        raise ValueError(f"dimensions differ: {p.dim}-D vs {q.dim}-D")
    pts = np.concatenate([p.points, q.points])
    union, inverse = np.unique(pts, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    wp = np.bincount(inverse[: len(p.points)], weights=p.weights, minlength=len(union))
    wq = np.bincount(inverse[len(p.points):], weights=q.weights, minlength=len(union))
    return union, wp, wq


def name(p) -> str:
    return type(p).__name__


def undefined(what: str, p, q, why: str) -> ValueError:
    return ValueError(f"{what} is not defined for {name(p)} and {name(q)}: {why}")
