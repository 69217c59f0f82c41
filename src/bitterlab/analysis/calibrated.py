"""Constants calibrated on real learning curves (LCDB 1.1 test-error curves, fitted up to X/8 and
judged at X, cross-validated by dataset): ``benchmarks/bench_lcdb.py`` refits them, prints their
cross-validated coverage and Brier scores, and says when they differ from these. How they are used:
:mod:`bitterlab.analysis.extrapolate`.

Fitted on 1,047 curves of 38 datasets (``LCDB_DATASETS=40``, 14,014 learner pairs; 2026-12-02);
the earlier constants came from 84 curves of 3 datasets (τ = 0.100, σ = 0, (−0.765, 0.405))."""

TAU = 0.165  # conformal widening of a loss interval per unit of ln(X / x_max)
SIGMA = 0.10  # discrepancy sd of the log-difference of two curves per unit of ln(X / x_max)
PLATT = (-1.103, 0.239)  # (a, b) of the recalibration p' = expit(a + b·logit p) of p_reversed
