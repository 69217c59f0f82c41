"""Distribution values: Normal, MultivariateNormal, Discrete, Empirical and (1-D) Mixture.

Each validates its input and raises a ValueError that names the field and the reason. Every 1-D
distribution exposes ``cdf`` and ``ppf`` (quantile function) so that 1-D Wasserstein distances can
be computed exactly from quantiles; continuous ones expose ``pdf``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

WEIGHT_TOL = 1e-9


def _finite(name: str, a: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite, got {a}")
    return a


@dataclass(frozen=True, eq=False)
class Normal:
    """N(mean, std²) on the real line."""

    mean: float
    std: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.mean) and np.isfinite(self.std)):
            raise ValueError(f"Normal: mean and std must be finite, got mean={self.mean}, std={self.std}")
        if self.std <= 0:
            raise ValueError(f"Normal: std must be positive, got {self.std}")

    def pdf(self, x):
        return stats.norm.pdf(x, self.mean, self.std)

    def cdf(self, x):
        return stats.norm.cdf(x, self.mean, self.std)

    def ppf(self, u):
        return stats.norm.ppf(u, self.mean, self.std)

    def support_hint(self) -> tuple[float, float]:
        return self.mean - 8 * self.std, self.mean + 8 * self.std


@dataclass(frozen=True, eq=False)
class MultivariateNormal:
    """N(mean, cov) on R^d; ``cov`` symmetric positive semi-definite."""

    mean: np.ndarray
    cov: np.ndarray

    def __post_init__(self) -> None:
        mean = _finite("MultivariateNormal: mean", np.atleast_1d(np.asarray(self.mean, dtype=float)))
        cov = _finite("MultivariateNormal: cov", np.atleast_2d(np.asarray(self.cov, dtype=float)))
        if mean.ndim != 1 or cov.shape != (len(mean), len(mean)):
            raise ValueError(f"MultivariateNormal: cov must be {len(mean)}x{len(mean)} to match mean, got {cov.shape}")
        if not np.allclose(cov, cov.T, atol=1e-12, rtol=1e-9):
            raise ValueError("MultivariateNormal: cov must be symmetric")
        low = np.linalg.eigvalsh(cov).min()
        if low < -1e-10 * max(1.0, np.abs(cov).max()):
            raise ValueError(f"MultivariateNormal: cov must be positive semi-definite (smallest eigenvalue {low:.3g})")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "cov", cov)

    @property
    def dim(self) -> int:
        return len(self.mean)


@dataclass(frozen=True, eq=False)
class Discrete:
    """Σᵢ wᵢ δ_{xᵢ}: point masses at ``points`` (shape (n,) or (n, d)) with ``weights`` summing to 1.

    Categorical distributions are Discrete on a shared support. Equal points are merged.
    """

    points: np.ndarray
    weights: np.ndarray
    normalize: bool = False

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=float)
        w = np.asarray(self.weights, dtype=float).reshape(-1)
        if pts.ndim == 2 and pts.shape[1] == 1:
            pts = pts[:, 0]
        if pts.ndim not in (1, 2) or len(pts) == 0:
            raise ValueError(f"Discrete: points must have shape (n,) or (n, d) with n >= 1, got {pts.shape}")
        _finite("Discrete: points", pts)
        if len(w) != len(pts):
            raise ValueError(f"Discrete: {len(pts)} points but {len(w)} weights")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"Discrete: weights must be finite, got {w}")
        if np.any(w < 0):
            raise ValueError(f"Discrete: weights must be non-negative, got {w}")
        total = w.sum()
        if self.normalize:
            if total <= 0:
                raise ValueError("Discrete: weights sum to 0, cannot normalize")
            w = w / total
        elif abs(total - 1) > WEIGHT_TOL:
            raise ValueError(f"Discrete: weights must sum to 1 (within {WEIGHT_TOL:g}), got {total!r}; "
                             "pass normalize=True to rescale")
        uniq, inverse = np.unique(pts, axis=0, return_inverse=True)
        merged = np.bincount(inverse.reshape(-1), weights=w, minlength=len(uniq))
        object.__setattr__(self, "points", uniq)
        object.__setattr__(self, "weights", merged)

    @property
    def dim(self) -> int:
        return 1 if self.points.ndim == 1 else self.points.shape[1]

    def cdf(self, x):
        self._need_1d("cdf")
        return np.sum(self.weights[None, :] * (self.points[None, :] <= np.atleast_1d(x)[:, None]), axis=1)

    def ppf(self, u):
        """Generalised inverse F⁻¹(u) = inf{x : F(x) ≥ u}."""
        self._need_1d("ppf")
        cum = np.cumsum(self.weights)
        idx = np.searchsorted(cum, np.clip(np.atleast_1d(u), 0, 1) - 1e-15, side="left")
        return self.points[np.minimum(idx, len(self.points) - 1)]

    def _need_1d(self, what: str) -> None:
        if self.dim != 1:
            raise ValueError(f"Discrete.{what} is defined on the real line only (points are {self.dim}-D)")


@dataclass(frozen=True, eq=False)
class Empirical:
    """The empirical distribution of ``samples`` (shape (n,) or (n, d)): uniform weight 1/n each."""

    samples: np.ndarray

    def __post_init__(self) -> None:
        s = np.asarray(self.samples, dtype=float)
        if s.ndim not in (1, 2) or len(s) == 0:
            raise ValueError(f"Empirical: samples must have shape (n,) or (n, d) with n >= 1, got {s.shape}")
        _finite("Empirical: samples", s)
        object.__setattr__(self, "samples", s)

    def as_discrete(self) -> Discrete:
        return Discrete(self.samples, np.full(len(self.samples), 1 / len(self.samples)))


@dataclass(frozen=True, eq=False)
class Mixture:
    """Σₖ wₖ Pₖ of 1-D Normals: the points of the mixture path between two normals."""

    components: tuple[Normal, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=float)
        if len(w) != len(self.components) or np.any(w < 0) or abs(w.sum() - 1) > WEIGHT_TOL:
            raise ValueError(f"Mixture: need one non-negative weight per component summing to 1, got {w}")

    def pdf(self, x):
        return sum(w * c.pdf(x) for w, c in zip(self.weights, self.components, strict=True))

    def cdf(self, x):
        return sum(w * c.cdf(x) for w, c in zip(self.weights, self.components, strict=True))

    def ppf(self, u):
        from scipy.optimize import brentq

        lo = min(c.support_hint()[0] for c in self.components)
        hi = max(c.support_hint()[1] for c in self.components)
        u = np.atleast_1d(u)
        return np.array([brentq(lambda x, ui=ui: self.cdf(x) - ui, lo, hi) if 0 < ui < 1 else
                         (-np.inf if ui <= 0 else np.inf) for ui in u])

    def support_hint(self) -> tuple[float, float]:
        return (min(c.support_hint()[0] for c in self.components), max(c.support_hint()[1] for c in self.components))


Distribution = Normal | MultivariateNormal | Discrete | Empirical | Mixture
