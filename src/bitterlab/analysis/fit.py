"""The two-axis scaling law L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, eq. (2)), with a
bootstrap over rows.

Objective (Hoffmann et al. 2022, §D.2; Besiroglu et al. 2024, §2): the Huber loss (δ = 1e-3) of
log-residuals, log L̂ − log L, with positivity by reparametrisation (E = eᵉ, A = eᵃ, B = eᵇ), so
log L̂ = LSE(a − α log N, b − β log D, e). Starts come from variable projection: for each (α, β)
on a 25 × 25 grid the model is linear in (E, A, B), solved exactly by non-negative least squares
on relative errors; the best starts are then polished with L-BFGS on the Huber objective.
One-axis curves are fitted by :mod:`bitterlab.analysis.robust`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, nnls
from scipy.special import huber, logsumexp

from bitterlab.analysis.bootstrap import estimate_interval, replicates
from bitterlab.analysis.results import TwoAxisSummary
from bitterlab.analysis.robust import DELTA

N_BOOT = 200  # row resamples for the two-axis intervals


@dataclass(frozen=True, kw_only=True)
class TwoAxis:
    """L(N, D) = E + A/N^α + B/D^β."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    objective: float = 0.0

    def __call__(self, n, d):
        return self.E + self.A * np.asarray(n, float) ** -self.alpha + self.B * np.asarray(d, float) ** -self.beta


def _huber_lse(theta: np.ndarray, logs: list[np.ndarray], log_y: np.ndarray,
               w: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted Huber loss Σ wᵢ huber(LSE(a_k − exp_k · log x_k, ..., e) − log y) and its gradient.

    theta = (a_1..a_K, e, exp_1..exp_K)."""
    k = len(logs)
    a, e, ex = theta[:k], theta[k], theta[k + 1:]
    terms = np.stack([a[i] - ex[i] * logs[i] for i in range(k)] + [np.full_like(log_y, e)])
    pred = logsumexp(terms, axis=0)
    r = pred - log_y
    dr = w * np.clip(r, -DELTA, DELTA)  # d/dr of huber(δ, r) = r²/2 (|r| ≤ δ), δ(|r| − δ/2) otherwise
    w = np.exp(terms - pred)
    grad = np.concatenate([[(dr * w[i]).sum() for i in range(k)], [(dr * w[k]).sum()],
                           [(dr * w[i] * -logs[i]).sum() for i in range(k)]])
    return float((w * huber(DELTA, r)).sum()), grad


def _polish(start: np.ndarray, logs, log_y, w) -> tuple[np.ndarray, float]:
    res = minimize(_huber_lse, start, args=(logs, log_y, w), jac=True, method="L-BFGS-B",
                   options={"ftol": 1e-13, "gtol": 1e-10, "maxiter": 5000})
    return res.x, float(res.fun)


def _check(x: np.ndarray, y: np.ndarray, n_params: int) -> None:
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    if not (np.all(np.isfinite(x)) and np.all(x > 0)):
        raise ValueError("x must be positive and finite")
    if not (np.all(np.isfinite(y)) and np.all(y > 0)):
        raise ValueError("y (the loss) must be positive and finite to be fitted in log space")
    if len(np.unique(x)) < n_params:
        raise ValueError(f"need at least {n_params} distinct x values to fit {n_params} parameters, got "
                         f"{len(np.unique(x))}")


def fit_two_axis(n, d, y, *, grid: int = 25, n_starts: int = 5, weights=None, start: TwoAxis | None = None
                 ) -> TwoAxis:
    """Fit L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, eq. (2)) by Huber loss on log L, each
    row weighted by ``weights`` (default 1: a bootstrap replicate passes its cluster weights). With a
    ``start`` (the fit to all rows, for a replicate) only that start is polished, not the grid."""
    n, d, y = (np.asarray(v, float) for v in (n, d, y))
    w = np.ones_like(y) if weights is None else np.asarray(weights, float)
    _check(n, y, 2)
    _check(d, y, 2)
    if len(y) < 5:
        raise ValueError(f"need at least 5 points to fit 5 parameters, got {len(y)}")
    exps = np.linspace(0.05, 1.5, grid) if start is None else []
    starts = [] if start is None else [(0.0, start.alpha, start.beta, (start.E, start.A, start.B))]
    for alpha in exps:
        for beta in exps:
            design = np.stack([np.ones_like(y), n**-alpha, d**-beta], axis=1) * (np.sqrt(w) / y)[:, None]
            coef, rnorm = nnls(design, np.sqrt(w))
            starts.append((rnorm, alpha, beta, coef))
    starts.sort(key=lambda s: s[0])
    logs, log_y = [np.log(n), np.log(d)], np.log(y)
    best = None
    for _, alpha, beta, (e_lin, a_lin, b_lin) in starts[:n_starts]:
        floor = 1e-12 * y.min()
        theta0 = np.array([np.log(max(a_lin, floor)), np.log(max(b_lin, floor)), np.log(max(e_lin, floor)),
                           alpha, beta])
        theta, obj = _polish(theta0, logs, log_y, w)
        if best is None or obj < best[1]:
            best = (theta, obj)
    a, b, e, alpha, beta = best[0]
    return TwoAxis(E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)), alpha=float(alpha),
                   beta=float(beta), objective=best[1])


def two_axis_summary(n, d, y, *, level: float = 0.9, n_boot: int = N_BOOT, rng_seed: int = 0,
                     cluster=None) -> TwoAxisSummary:
    """The two-axis fit with a bootstrap: the family, formula and each parameter as an
    :class:`~bitterlab.analysis.results.Interval` (percentile interval over fits to exchangeably weighted clusters,
    :mod:`bitterlab.analysis.bootstrap`; widened to the estimate where it missed it). The clusters are
    ``cluster`` (e.g. seed labels, one per row) or, by default, the rows."""
    n, d, y = (np.asarray(v, float) for v in (n, d, y))
    fit = fit_two_axis(n, d, y)
    labels = np.arange(len(y)) if cluster is None else np.unique(np.asarray(cluster), return_inverse=True)[1].ravel()
    reps = replicates(int(labels.max()) + 1, n_boot=n_boot, seed=rng_seed)
    weights = reps.point_weights(labels)
    names = ("E", "A", "B", "alpha", "beta")
    values = np.full((len(weights), len(names)), np.nan)
    for b, w in enumerate(weights):
        keep = w > 1e-12 * w.max()
        try:
            rep = fit_two_axis(n[keep], d[keep], y[keep], weights=w[keep], start=fit)
        except ValueError:  # a replicate that leaves too few distinct points
            continue
        values[b] = [getattr(rep, k) for k in names]
    params = {k: estimate_interval(getattr(fit, k), values[:, j], reps, level)[0] for j, k in enumerate(names)}
    return TwoAxisSummary(family="two_axis", formula="E + A/N^α + B/D^β", params=params)
