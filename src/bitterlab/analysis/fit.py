"""Scaling-curve fits: the saturating power law L(x) = E + A·x^-α and the two-axis form
L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, eq. (2)).

Objective (Hoffmann et al. 2022, §D.2; Besiroglu et al. 2024, §2): the Huber loss (δ = 1e-3) of
log-residuals, log L̂ − log L, with positivity by reparametrisation (E = eᵉ, A = eᵃ, B = eᵇ), so
log L̂ = LSE(a − α log N, b − β log D, e). Starts come from variable projection: for each exponent
on a grid the model is linear in (E, A[, B]), solved exactly by non-negative least squares on
relative errors; the best starts are then polished with L-BFGS on the Huber objective. A grid that
dense leaves no basin unvisited, so the fit is not a local minimum a grid of starts would beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize, nnls
from scipy.special import huber, logsumexp

DELTA = 1e-3  # Huber threshold on log-residuals (Hoffmann et al. 2022)
ALPHAS = np.linspace(0.01, 2.5, 100)  # exponent grid for variable projection


@dataclass(frozen=True, kw_only=True)
class PowerLaw:
    """L(x) = E + A·x^-α."""

    E: float
    A: float
    alpha: float
    objective: float = 0.0  # Huber loss at the optimum

    def __call__(self, x):
        return self.E + self.A * np.asarray(x, dtype=float) ** -self.alpha

    def inverse(self, loss: float) -> float | None:
        """x with L(x) = loss, or None where the curve never reaches it (loss ≤ E)."""
        if loss <= self.E:
            return None
        return float((self.A / (loss - self.E)) ** (1 / self.alpha))


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


def _huber_lse(theta: np.ndarray, logs: list[np.ndarray], log_y: np.ndarray) -> tuple[float, np.ndarray]:
    """Huber loss of LSE(a_k − exp_k · log x_k, ..., e) − log y and its gradient.

    theta = (a_1..a_K, e, exp_1..exp_K)."""
    k = len(logs)
    a, e, ex = theta[:k], theta[k], theta[k + 1:]
    terms = np.stack([a[i] - ex[i] * logs[i] for i in range(k)] + [np.full_like(log_y, e)])
    pred = logsumexp(terms, axis=0)
    r = pred - log_y
    dr = np.clip(r, -DELTA, DELTA)  # d/dr of huber(δ, r) = r²/2 (|r| ≤ δ), δ(|r| − δ/2) otherwise
    w = np.exp(terms - pred)
    grad = np.concatenate([[(dr * w[i]).sum() for i in range(k)], [(dr * w[k]).sum()],
                           [(dr * w[i] * -logs[i]).sum() for i in range(k)]])
    return float(huber(DELTA, r).sum()), grad


def _polish(start: np.ndarray, logs, log_y) -> tuple[np.ndarray, float]:
    res = minimize(_huber_lse, start, args=(logs, log_y), jac=True, method="L-BFGS-B",
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


def _varpro_starts(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For every α on the grid, the exact non-negative least-squares (E, A) of the relative error
    Σ (1 − (E + A x^-α)/y)² (closed form for two columns); rows (residual, α, E, A), best first."""
    u = 1 / y  # column of E, divided by y
    v = x[None, :] ** -ALPHAS[:, None] / y  # (n_alpha, n) columns of A
    suu, svv, suv = u @ u, (v * v).sum(1), v @ u
    su, sv = u.sum(), v.sum(1)
    det = suu * svv - suv**2
    with np.errstate(divide="ignore", invalid="ignore"):
        e_full = np.where(det > 0, (su * svv - sv * suv) / det, -1.0)
        a_full = np.where(det > 0, (sv * suu - su * suv) / det, -1.0)
    feasible = (e_full >= 0) & (a_full >= 0)
    e_only, a_only = su / suu, sv / svv  # one-column solutions on the boundary
    cand = [(np.where(feasible, e_full, 0.0), np.where(feasible, a_full, 0.0), feasible),
            (np.full_like(sv, e_only), np.zeros_like(sv), np.ones_like(feasible)),
            (np.zeros_like(sv), a_only, np.ones_like(feasible))]
    rows = []
    for e, a, ok in cand:
        resid = ((1 - e[:, None] * u[None, :] - a[:, None] * v) ** 2).sum(1)
        rows.append(np.where(ok, resid, np.inf))
    best = np.argmin(np.stack(rows), axis=0)
    e = np.choose(best, [c[0] for c in cand])
    a = np.choose(best, [c[1] for c in cand])
    resid = np.choose(best, rows)
    order = np.argsort(resid)
    return np.stack([resid, ALPHAS, e, a], axis=1)[order]


def fit_power_law(x, y, *, n_starts: int = 2) -> PowerLaw:
    """Fit L(x) = E + A·x^-α to all points (x, y), e.g. every seed at every scale."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    _check(x, y, 3)
    best = None
    for _, alpha, e_lin, a_lin in _varpro_starts(x, y)[:n_starts]:
        theta0 = np.array([np.log(max(a_lin, 1e-12)), np.log(max(e_lin, 1e-6 * y.min())), alpha])
        theta, obj = _polish(theta0, [np.log(x)], np.log(y))
        if best is None or obj < best[1]:
            best = (theta, obj)
    a, e, alpha = best[0]
    return PowerLaw(E=float(np.exp(e)), A=float(np.exp(a)), alpha=float(alpha), objective=best[1])


def fit_two_axis(n, d, y, *, grid: int = 25, n_starts: int = 5) -> TwoAxis:
    """Fit L(N, D) = E + A/N^α + B/D^β (Hoffmann et al. 2022, eq. (2)) by Huber loss on log L."""
    n, d, y = (np.asarray(v, float) for v in (n, d, y))
    _check(n, y, 2)
    _check(d, y, 2)
    if len(y) < 5:
        raise ValueError(f"need at least 5 points to fit 5 parameters, got {len(y)}")
    exps = np.linspace(0.05, 1.5, grid)
    starts = []
    for alpha in exps:
        for beta in exps:
            design = np.stack([np.ones_like(y), n**-alpha, d**-beta], axis=1) / y[:, None]
            coef, rnorm = nnls(design, np.ones_like(y))
            starts.append((rnorm, alpha, beta, coef))
    starts.sort(key=lambda s: s[0])
    logs, log_y = [np.log(n), np.log(d)], np.log(y)
    best = None
    for _, alpha, beta, (e_lin, a_lin, b_lin) in starts[:n_starts]:
        floor = 1e-12 * y.min()
        theta0 = np.array([np.log(max(a_lin, floor)), np.log(max(b_lin, floor)), np.log(max(e_lin, floor)),
                           alpha, beta])
        theta, obj = _polish(theta0, logs, log_y)
        if best is None or obj < best[1]:
            best = (theta, obj)
    a, b, e, alpha, beta = best[0]
    return TwoAxis(E=float(np.exp(e)), A=float(np.exp(a)), B=float(np.exp(b)), alpha=float(alpha),
                   beta=float(beta), objective=best[1])
