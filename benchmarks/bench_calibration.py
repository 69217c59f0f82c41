"""Calibration of the bootstrap intervals: on curves drawn from known parameters with seed noise,
how often do the nominal 90% intervals of α and of the loss at 10x the largest scale cover the truth?

Truth L(x) = 0.3 + 5·x^-0.5 at 6 log-spaced scales from 100 to 10^4, 5 seeds, multiplicative
log-normal noise σ = 0.05 per (seed, scale). Run: .venv/bin/python benchmarks/bench_calibration.py
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from bitterlab.analysis.scaling import fit_summary, fit_with_bootstrap

E, A, ALPHA = 0.3, 5.0, 0.5
XS = np.geomspace(100, 1e4, 6)


def main(replications: int = 100, seeds: int = 5, sigma: float = 0.05) -> None:
    rng = np.random.default_rng(2026)
    far = 10 * XS.max()
    truth_far = E + A * far**-ALPHA
    hits_alpha = hits_far = 0
    start = time.perf_counter()
    for _ in range(replications):
        rows = pd.DataFrame([(x, s, (E + A * x**-ALPHA) * np.exp(rng.normal(0, sigma)))
                             for x in XS for s in range(seeds)], columns=["x", "seed", "loss"])
        summary = fit_summary(fit_with_bootstrap(rows, "loss", rng_seed=int(rng.integers(1 << 30))), 0.9)
        hits_alpha += summary["alpha"]["low"] <= ALPHA <= summary["alpha"]["high"]
        hits_far += summary["loss_at_10x"]["low"] <= truth_far <= summary["loss_at_10x"]["high"]
    took = time.perf_counter() - start
    se = np.sqrt(0.9 * 0.1 / replications)
    print(f"coverage of nominal 90% intervals over {replications} simulated studies ({seeds} seeds, σ={sigma}): "
          f"alpha {hits_alpha / replications:.2f}, loss at 10x {hits_far / replications:.2f} "
          f"(±{se:.2f} Monte Carlo s.e.; target 0.85–0.95) in {took:.0f} s")


if __name__ == "__main__":
    main()
