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


@pytest.mark.slow  # ~20 s per setting on 2 cores: `make test-slow`, run by CI
@pytest.mark.parametrize("seeds", [3, 5, 10])
def test_a_never_crossing_pair_is_not_reported_as_crossing_or_as_a_finite_rate(seeds):
    """0.30 + 5x^-½ vs 0.20 + 5x^-½ at six scales over two decades, σ = 0.1 with half of it a seed
    effect: the curves never cross and the exchange rate is infinite (the generic's floor 0.30 is above
    the structured loss 0.25 at 10^4). Small version (12 studies); benchmarks/bench_calibration.py runs
    60 at 3, 5 and 10 seeds. A point value may be read off a fit; the verdict claims a finite rate only
    with a bounded interval (``claim == "finite"``), and that must stay rare."""
    got = pair_outcomes(replace(NEVER, seeds=seeds), 12, seed=seeds, n_boot=100)
    assert got["p_cross_ge_half"] <= 1 / 12, got
    assert got["claimed_finite"] <= 1 / 12, got
    assert got["rate_covered"] >= 11 / 12, got


def test_an_unbounded_rate_is_claimed_as_at_least_its_lower_end():
    """The rule, and the words that follow it: an interval unbounded above claims "at least" its lower
    end (the fitted point value is printed as not claimed), a bounded one the rate itself."""
    from bitterlab.analysis.results import Bounds, ExchangeRate
    from bitterlab.analysis.scaling import rate_claim
    from bitterlab.report.tables import exchange_text

    assert rate_claim(Bounds(low=3.0, high=None)) == "at_least"
    assert rate_claim(Bounds(low=3.0, high=40.0)) == "finite"
    assert rate_claim(Bounds(low=None, high=None)) == "point"
    ex = ExchangeRate(value=12.0, low=3.0, high=None, x=1e4, widened=False, bootstrap=Bounds(low=3.0, high=None),
                      p_unreachable=0.4, at_search_floor=False, extrapolated=True, extrapolation_supported=None,
                      measured=None, claim="at_least")
    assert exchange_text(ex) == "≥ 3x [3, ∞] (extrapolated)"
    assert "12x" not in exchange_text(ex)


MMF4 = PairSetting(generic=("mmf4", dict(E=0.05, A=0.6, s=1200.0, k=0.9)),
                   structured=("mmf4", dict(E=0.05, A=0.6, s=300.0, k=0.9)), sigma=0.05)
BNSL = PairSetting(generic=("bnsl", dict(E=0.05, A=5.0, c0=0.2, c1=0.4, d=2000.0, f=0.5)),
                   structured=("bnsl", dict(E=0.05, A=2.5, c0=0.2, c1=0.4, d=2000.0, f=0.5)), sigma=0.05)


@pytest.mark.slow  # ~60 s per truth on 2 cores
@pytest.mark.parametrize("seeds", [3, 5, 10])
@pytest.mark.parametrize("truth", [MMF4, BNSL], ids=["mmf4", "bnsl"])
def test_a_non_pow3_pair_is_not_reported_as_crossing_and_its_measured_rate_is_read(truth, seeds):
    """Two mmf4 curves, the generic 4x slower (L_g(4x) = L_s(x) at every x), or two bnsl curves with a
    break at 2000 inside the range, the generic's scale A twice the structured one's (true rate 17.9 at
    x = 100, 3.2 at 10^4), fitted at six scales (only pow3 is eligible there): every study finds a
    finite rate and none a likely crossing, and the rate read where both were measured (an
    interpolation) exists. (The rate is biased by the misspecification — mmf4: ~7 instead of 4; bnsl:
    ~6–10 instead of 3.2 — and its interval rarely covers the truth: benchmarks/bench_calibration.py
    prints the shares; docs/statistics.md discusses it.)"""
    got = pair_outcomes(replace(truth, seeds=seeds), 12, seed=7, n_boot=100)
    assert got["finite_rate"] == 1.0 and got["p_cross_ge_half"] <= 1 / 12, got
    assert got["measured_found"] >= 11 / 12, got
