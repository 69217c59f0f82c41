"""Predictions at a chosen scale X with calibrated extrapolation uncertainty, and the probability
that two curves' order at X differs from their order at the largest measured scale.

The bootstrap measures how much the fitted curve moves when the data are reweighted; it says
nothing about whether the family is right beyond the data. On real learning curves (LCDB 1.1,
``benchmarks/bench_lcdb.py``) that model discrepancy dominates, and it grows with the distance of
the extrapolation, r = ln(X / x_max) (0 inside the measured range).

* **Intervals: split-conformal widening** (Vovk et al. 2005; Lei et al. 2018, §2.2). On calibration
  curves (fitted up to x_max = X/8, judged at X) the score of a curve is how far its bootstrap
  interval [lo, hi] misses the truth, in log units per unit of r:
  s = max(ln(lo/y), ln(y/hi), 0) / r. τ is the ⌈(n+1)·level⌉/n empirical quantile of s, and the
  interval at X is [lo·e^(−τr), hi·e^(τr)]: it covers the truth with probability ≥ level on curves
  exchangeable with the calibration ones.
* **Order at X: a Gaussian discrepancy on the log-difference.** With d = ln L_a − ln L_b at X,
  d ~ N(d̂, v_boot + (σ r)²), v_boot the bootstrap variance of d (paired replicates), and
  p_reversed = Φ(−s₀·d̂ / √(v_boot + (σ r)²)), s₀ the sign of the measured difference at the
  largest common scale. σ minimises the Brier score on the calibration pairs; the probability is
  then recalibrated by Platt scaling (Platt 1999): p' = 1/(1 + exp(−(a + b·logit p))), (a, b)
  fitted by maximum likelihood on the calibration pairs (the raw probabilities of real curve pairs
  were overconfident in the middle: predicted 0.4–0.8, observed ~0.2).

τ and σ below were fitted on LCDB 1.1 test-error curves and judged cross-validated by dataset
(never fitted and judged on the same datasets); ``benchmarks/bench_lcdb.py`` refits them, prints
the cross-validated coverage, Brier scores and reliability table, and says if they moved.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit
from scipy.stats import norm

from bitterlab.analysis.bootstrap import interval
from bitterlab.analysis.calibrated import PLATT, SIGMA, TAU
from bitterlab.analysis.results import Prediction, Reversal
from bitterlab.analysis.scaling import ContenderFit, scale_means

EPS = 1e-4  # probabilities are clipped to [EPS, 1 − EPS] before the logit


def distance(x: float, x_max: float) -> float:
    """r = ln(X / x_max) beyond the measured range, 0 inside it."""
    return max(0.0, math.log(x / x_max))


def conformal_tau(scores: np.ndarray, level: float = 0.9) -> float:
    """The ⌈(n+1)·level⌉/n empirical quantile of the calibration scores (split conformal)."""
    s = np.sort(np.asarray(scores, float))
    k = min(len(s), math.ceil((len(s) + 1) * level))
    return float(s[k - 1])


def conformal_score(low: float, high: float, truth: float, r: float) -> float:
    """How far [low, high] misses ``truth``, in log units per unit of extrapolation distance r."""
    miss = max(math.log(low / truth), math.log(truth / high), 0.0)
    return miss / r if r > 0 else (math.inf if miss > 0 else 0.0)


def predict(cf: ContenderFit, xs, level: float = 0.9, tau: float = TAU) -> tuple[Prediction, ...]:
    """The fitted curve at each X with its bootstrap
    interval for the mean loss, widened by e^(±τ·ln(X/x_max)) beyond the measured range."""
    out = []
    for x in xs:
        x = float(x)
        value = float(cf.best(x)[0, 0])
        band = interval(cf.reps(x)[:, 0], cf.replicates, level)
        lo = min(band.low, value) if band.low is not None else None
        hi = max(band.high, value) if band.high is not None else None
        r = distance(x, cf.x_max)
        grow = math.exp(tau * r)
        out.append(Prediction(x=x, value=value, low=None if lo is None else lo / grow,
                              high=None if hi is None else hi * grow, extrapolated=r > 0))
    return tuple(out)


def measured_sign(a: ContenderFit, b: ContenderFit) -> tuple[float, int]:
    """The largest scale both measured and the sign of mean_a − mean_b there (0 when level)."""
    x0 = float(min(a.x_max, b.x_max))
    means = []
    for cf in (a, b):
        at = np.nonzero(np.isclose(cf.points.scales, x0))[0]
        if len(at):
            means.append(float(scale_means(cf.points, np.ones((1, len(cf.points.x))))[0, at[0]]))
        else:  # x0 is between measured scales of this curve: read the fit
            means.append(float(cf.best(x0)[0, 0]))
    return x0, int(np.sign(means[0] - means[1]))


def platt(p, coef: tuple[float, float] = PLATT) -> np.ndarray:
    """expit(a + b·logit p) of probabilities clipped to [EPS, 1 − EPS]."""
    p = np.clip(np.asarray(p, float), EPS, 1 - EPS)
    return expit(coef[0] + coef[1] * logit(p))


def fit_platt(p, outcome) -> tuple[float, float]:
    """(a, b) maximising the Bernoulli likelihood of ``outcome`` under expit(a + b·logit p)."""
    z = logit(np.clip(np.asarray(p, float), EPS, 1 - EPS))
    o = np.asarray(outcome, float)

    def nll(c):
        eta = c[0] + c[1] * z
        return float(np.sum(np.logaddexp(0.0, eta) - o * eta))

    res = minimize(nll, np.array([0.0, 1.0]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
    return float(res.x[0]), float(res.x[1])


def reversal_probability(d_hat, v_boot, r, sign0, sigma: float = SIGMA):
    """Φ(−s₀·d̂ / √(v_boot + (σ r)²)) before recalibration; with no spread at all, 1 if d̂ has the
    other sign, else 0; 0.5 when the measured order is a tie (s₀ = 0). Elementwise over arrays (a float
    for scalar arguments)."""
    d_hat, v_boot, r, sign0 = np.broadcast_arrays(*(np.asarray(a, float) for a in (d_hat, v_boot, r, sign0)))
    sd = np.sqrt(np.maximum(v_boot, 0.0) + (sigma * r) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(sd > 0, norm.cdf(-sign0 * d_hat / np.where(sd > 0, sd, 1.0)), np.sign(d_hat) == -sign0)
    p = np.where(sign0 == 0, 0.5, p).astype(float)
    return float(p) if p.ndim == 0 else p


def p_reversed(a: ContenderFit, b: ContenderFit, xs, sigma: float = SIGMA,
               coef: tuple[float, float] = PLATT) -> tuple[Reversal, ...]:
    """Per X, the probability that a and b are in the other order at X than at
    their largest common measured scale (replicates paired, or independent with as many), Platt-
    recalibrated with ``coef``."""
    x0, sign0 = measured_sign(a, b)
    out = []
    for x in xs:
        x = float(x)
        d_hat = float(np.log(a.best(x)[0, 0]) - np.log(b.best(x)[0, 0]))
        d = np.log(a.reps(x)[:, 0]) - np.log(b.reps(x)[:, 0])
        w = a.replicates.prob / a.replicates.prob.sum()
        ok = np.isfinite(d)
        v = float(np.sum(w[ok] * (d[ok] - np.sum(w[ok] * d[ok]) / w[ok].sum()) ** 2) / w[ok].sum()) if ok.any() else 0.0
        raw = reversal_probability(d_hat, v, distance(x, x0), sign0, sigma)
        out.append(Reversal(x=x, p_reversed=float(platt(raw, coef))))
    return tuple(out)
