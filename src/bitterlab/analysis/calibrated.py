"""Constants calibrated on real learning curves (LCDB 1.1 test-error curves, fitted up to X/8 and
judged at X, cross-validated by dataset): ``benchmarks/bench_lcdb.py`` refits them, prints their
cross-validated coverage and Brier scores, and says when they differ from these. How they are used:
:mod:`bitterlab.analysis.extrapolate`."""

TAU = 0.100  # conformal widening of a loss interval per unit of ln(X / x_max)
SIGMA = 0.0  # discrepancy sd of the log-difference of two curves per unit of ln(X / x_max)
PLATT = (-0.765, 0.405)  # (a, b) of the recalibration p' = expit(a + b·logit p) of p_reversed
