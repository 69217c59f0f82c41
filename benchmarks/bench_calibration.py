"""Calibration of the intervals: on curves simulated from known parameters with seed noise, how often
do the nominal 90% intervals of α and of the loss at 10x the largest scale cover the truth?

Truth L(x) = 0.3 + 5·x^-0.5 at 6 log-spaced scales from 100 to 10^4, log-normal noise per result
(optionally partly a per-seed effect shared across scales). The test (tests/analysis/test_calibration.py)
checks two of these settings; this prints them all. Then duels with known truths that are not all
pow3 (a never-crossing pair at 3, 5 and 10 seeds, mmf4 and bnsl pairs): how often a crossing or a
finite exchange rate is claimed, and how often the exchange rate's interval covers the truth.
Run: .venv/bin/python benchmarks/bench_calibration.py
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from bitterlab.analysis.calibration import PairSetting, Setting, coverage, pair_outcomes

SETTINGS = {
    "5 seeds, σ=0.05": Setting(),
    "5 seeds, σ=0.05, half the variance a seed effect": Setting(rho=0.5),
    "5 seeds, σ=0.15": Setting(sigma=0.15),
    "10 seeds, σ=0.05": Setting(seeds=10),
    "4 seeds, σ=0.05": Setting(seeds=4),
    "3 seeds, σ=0.05": Setting(seeds=3),
}


NEVER = PairSetting(generic=("pow3", dict(E=0.30, A=5.0, alpha=0.5)), structured=("pow3", dict(E=0.20, A=5.0, alpha=0.5)))
MMF4 = PairSetting(generic=("mmf4", dict(E=0.05, A=0.6, s=1200.0, k=0.9)),
                   structured=("mmf4", dict(E=0.05, A=0.6, s=300.0, k=0.9)), sigma=0.05)
BNSL = PairSetting(generic=("bnsl", dict(E=0.05, A=5.0, c0=0.2, c1=0.4, d=2000.0, f=0.5)),
                   structured=("bnsl", dict(E=0.05, A=2.5, c0=0.2, c1=0.4, d=2000.0, f=0.5)), sigma=0.05)
PAIRS = {
    **{f"never crossing (0.30 + 5x^-½ vs 0.20 + 5x^-½), {n} seeds": replace(NEVER, seeds=n) for n in (3, 5, 10)},
    **{f"mmf4 truths (true rate 4), σ = 0.05, {n} seeds": replace(MMF4, seeds=n) for n in (3, 5, 10)},
    **{f"bnsl truths (a break at 2000), σ = 0.05, {n} seeds": replace(BNSL, seeds=n) for n in (3, 5, 10)},
}


def duels(studies: int = 60) -> list[str]:
    """Print each pair's outcomes; return the never-crossing settings that miss their targets."""
    print(f"duels with known truths over {studies} simulated studies each (6 scales, 100 to 10^4; half the noise a "
          "seed effect shared by both contenders; families chosen by held-out scales): targets for a never-crossing "
          "truth: P(cross) ≥ 0.5 in ≤ 5%, a finite rate claimed (a bounded interval) in ≤ 10%")
    missed = []
    for name, setting in PAIRS.items():
        start = time.perf_counter()
        got = pair_outcomes(setting, studies, seed=11)
        print(f"  {name}: finite rate claimed {got['claimed_finite']:.2f} (a point value read off the fits "
              f"{got['finite_rate']:.2f}; below 100x {got['rate_below_100x']:.2f}), P(cross) ≥ 0.5 in "
              f"{got['p_cross_ge_half']:.2f}, 90% interval covers the true rate in {got['rate_covered']:.2f}; read "
              f"where both were measured in {got['measured_found']:.2f}, covering the true rate there in "
              f"{got['measured_covered']:.2f} ({time.perf_counter() - start:.0f} s)")
        if name.startswith("never") and (got["p_cross_ge_half"] > 0.05 or got["claimed_finite"] > 0.10):
            missed.append(name)
    return missed


def main(studies: int = 150) -> None:
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
    if missed := duels():  # issue 19's targets for a never-crossing truth
        raise SystemExit(f"never-crossing targets missed: {'; '.join(missed)}")
