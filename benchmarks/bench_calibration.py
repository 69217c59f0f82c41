"""Calibration of the intervals: on curves simulated from known parameters with seed noise, how often
do the nominal 90% intervals of α and of the loss at 10x the largest scale cover the truth?

Truth L(x) = 0.3 + 5·x^-0.5 at 6 log-spaced scales from 100 to 10^4, log-normal noise per result
(optionally partly a per-seed effect shared across scales). The test (tests/analysis/test_calibration.py)
checks two of these settings; this prints them all. Run: .venv/bin/python benchmarks/bench_calibration.py
"""

from __future__ import annotations

import time

import numpy as np

from bitterlab.analysis.calibration import Setting, coverage

SETTINGS = {
    "5 seeds, σ=0.05": Setting(),
    "5 seeds, σ=0.05, half the variance a seed effect": Setting(rho=0.5),
    "5 seeds, σ=0.15": Setting(sigma=0.15),
    "10 seeds, σ=0.05": Setting(seeds=10),
    "4 seeds, σ=0.05": Setting(seeds=4),
    "3 seeds, σ=0.05": Setting(seeds=3),
}


def main(studies: int = 300) -> None:
    se = np.sqrt(0.9 * 0.1 / studies)
    print(f"coverage of nominal 90% intervals over {studies} simulated studies each (±{se:.3f} Monte Carlo s.e.; "
          "target 0.85–0.95)")
    for name, setting in SETTINGS.items():
        start = time.perf_counter()
        got = coverage(setting, studies, seed=7)
        print(f"  {name}: alpha {got['alpha']:.3f}, loss at 10x {got['loss_at_10x']:.3f} "
              f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
