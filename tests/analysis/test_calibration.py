"""Nominal 90% intervals must cover the truth 85–95% of the time on curves simulated from known
parameters with realistic seed noise (issue 3). 200 studies: Monte Carlo s.e. of a coverage ≈ 0.021."""

from dataclasses import replace

import pytest

from bitterlab.analysis.calibration import PairSetting, Setting, coverage, pair_outcomes


@pytest.mark.slow
def test_90_percent_intervals_cover_85_to_95_percent():
    """5 seeds, σ = 0.05, half the noise variance a per-seed effect (nested data); the benchmark
    prints this and five other settings."""
    got = coverage(Setting(seeds=5, sigma=0.05, rho=0.5), 200, seed=2026)
    for name, share in got.items():
        assert 0.85 <= share <= 0.95, f"{name}: coverage {share:.3f}"


NEVER = PairSetting(generic=("pow3", dict(E=0.30, A=5.0, alpha=0.5)), structured=("pow3", dict(E=0.20, A=5.0, alpha=0.5)))


@pytest.mark.parametrize("seeds", [3, 5])
def test_a_never_crossing_pair_is_not_reported_as_crossing_or_as_a_confident_finite_rate(seeds):
    """0.30 + 5x^-½ vs 0.20 + 5x^-½ at six scales over two decades, σ = 0.1 with half of it a seed
    effect: the curves never cross and the exchange rate is infinite (the generic's floor 0.30 is above
    the structured loss 0.25 at 10^4). Small version (12 studies); benchmarks/bench_calibration.py runs
    60 at 3, 5 and 10 seeds."""
    got = pair_outcomes(replace(NEVER, seeds=seeds), 12, seed=seeds, n_boot=100)
    assert got["p_cross_ge_half"] <= 1 / 12, got
    assert got["bounded_rate"] <= 1 / 12, got  # a finite rate may be read off a fit, never with a bounded interval
    assert got["rate_covered"] >= 11 / 12, got


def test_a_non_pow3_pair_that_never_crosses_is_not_reported_as_crossing():
    """Two mmf4 curves, the generic 4x slower (L_g(4x) = L_s(x)), fitted by pow3 at six scales (the only
    family eligible there): every study finds a finite rate and none a likely crossing. (The rate itself
    is biased by the misspecification — ~7 instead of 4 — and its interval covers 4 in only a minority
    of studies: benchmarks/bench_calibration.py prints the share; docs/statistics.md discusses it.)"""
    pair = PairSetting(generic=("mmf4", dict(E=0.05, A=0.6, s=1200.0, k=0.9)),
                       structured=("mmf4", dict(E=0.05, A=0.6, s=300.0, k=0.9)), sigma=0.05, seeds=5)
    got = pair_outcomes(pair, 12, seed=7, n_boot=100)
    assert got["finite_rate"] == 1.0 and got["p_cross_ge_half"] <= 1 / 12, got
