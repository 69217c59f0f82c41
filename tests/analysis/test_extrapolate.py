"""Predictions at a chosen X: the conformal widening and the reversal probability (issue 19 item 3)."""

import math

import numpy as np
import pytest
from scipy.stats import norm

from bitterlab.analysis import replicates
from bitterlab.analysis.extrapolate import (conformal_score, conformal_tau, distance, p_reversed, predict,
                                            reversal_probability)
from bitterlab.analysis.scaling import Points, fit_contender


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1, 20, dtype=float)  # n = 19: ⌈20·0.9⌉ = 18th smallest
    assert conformal_tau(scores, 0.9) == 18.0
    assert conformal_tau(np.array([3.0, 1.0]), 0.9) == 3.0  # fewer than 1/(1−level) scores: the largest


def test_conformal_score_is_the_log_miss_per_unit_of_distance():
    r = math.log(8)
    assert conformal_score(1.0, 2.0, 1.5, r) == 0.0
    assert conformal_score(1.0, 2.0, 4.0, r) == pytest.approx(math.log(2) / r)
    assert conformal_score(1.0, 2.0, 0.25, r) == pytest.approx(math.log(4) / r)


def _fit(amp, seeds=4, seed=0):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.geomspace(100, 1e4, 6), seeds)
    cluster = np.tile(np.arange(seeds), 6)
    y = (0.2 + amp * x**-0.5) * np.exp(rng.normal(0, 0.02, len(x)))
    return fit_contender(Points(x=x, y=y, cluster=cluster, n_clusters=seeds), replicates(seeds, n_boot=200),
                         family="pow3", leave_one_out=False)


def test_predict_widens_with_the_extrapolation_distance_only():
    cf = _fit(5.0)
    inside, near, far = predict(cf, [3000.0, 2e4, 8e4], tau=0.1)
    bare = predict(cf, [3000.0, 2e4, 8e4], tau=0.0)
    assert not inside.extrapolated and near.extrapolated and far.extrapolated
    assert (inside.low, inside.high) == (bare[0].low, bare[0].high)  # no widening inside the range
    for got, base, x in [(near, bare[1], 2e4), (far, bare[2], 8e4)]:
        assert got.low <= got.value <= got.high
        assert got.high / base.high == pytest.approx(math.exp(0.1 * distance(x, 1e4)))
        assert got.value == pytest.approx(0.2 + 5 * x**-0.5, rel=0.05)


def test_reversal_probability():
    # measured: a above b (sign +1); predicted log-difference −0.1 at X with sd 0.1 ⇒ Φ(1) reversed
    assert reversal_probability(-0.1, 0.01, 1.0, +1, sigma=0.0) == pytest.approx(0.8413, abs=1e-4)
    # the discrepancy term grows with the distance and pulls the probability toward ½
    assert 0.5 < reversal_probability(-0.1, 0.01, 2.0, +1, sigma=0.5) < 0.8413
    assert reversal_probability(0.3, 0.0, 0.0, +1, sigma=1.0) == 0.0  # inside the range, no spread, same order
    assert reversal_probability(0.3, 0.0, 0.0, -1, sigma=1.0) == 1.0 and reversal_probability(0.3, 0.01, 1, 0) == 0.5
    # elementwise over arrays: each entry is the scalar formula
    d, v, r, s = np.array([-0.1, 0.2, 0.3, 0.0]), np.array([0.01, 0.04, 0.0, 0.02]), np.array([1, 2, 0, 1.0]), np.array([1, -1, 1, 0])
    got = reversal_probability(d, v, r, s, sigma=0.5)
    want = [norm.cdf(0.1 / math.sqrt(0.01 + 0.25)), norm.cdf(0.2 / math.sqrt(0.04 + 1.0)), 0.0, 0.5]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert [reversal_probability(*args, sigma=0.5) for args in zip(d, v, r, s)] == pytest.approx(list(got), rel=1e-12)
    # two curves 4x apart in amplitude with the same floor never swap: P(reversed) ≈ 0 at 10x
    a, b = _fit(20.0), _fit(5.0, seed=1)
    (p,) = p_reversed(a, b, [1e5], sigma=0.0, coef=(0.0, 1.0))  # no recalibration
    assert p.x == 1e5 and p.p_reversed < 0.01
    # the shipped Platt recalibration keeps a floor: on LCDB even confident pairs reversed ~2% of the time
    (q,) = p_reversed(a, b, [1e5], sigma=0.0)
    assert p.p_reversed < q.p_reversed < 0.05
