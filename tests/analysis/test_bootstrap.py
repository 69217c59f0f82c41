import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitterlab.analysis.bootstrap import interval, probability, replicates, weighted_quantile


@pytest.mark.parametrize("s", [1, 2, 3, 5, 6])
def test_exact_bootstrap_enumerates_every_multiset_with_its_multinomial_probability(s):
    reps = replicates(s)
    assert len(reps.counts) == math.comb(2 * s - 1, s)
    assert (reps.counts.sum(axis=1) == s).all()
    assert len({tuple(c) for c in reps.counts}) == len(reps.counts)
    assert reps.prob.sum() == pytest.approx(1.0)
    # P(every cluster drawn once) = s!/s^s
    once = np.all(reps.counts == 1, axis=1)
    assert reps.prob[once].sum() == pytest.approx(math.factorial(s) / s**s)


def test_exact_and_monte_carlo_bootstrap_agree_on_the_mean_of_five_values():
    values = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    exact, mc = replicates(5), replicates(5, exact=False, n_boot=20000, seed=1)
    means = lambda r: r.counts @ values / 5  # noqa: E731
    for q in (0.05, 0.5, 0.95):
        assert weighted_quantile(means(exact), exact.prob, q) == pytest.approx(
            weighted_quantile(means(mc), mc.prob, q), rel=0.05)
    # the bootstrap variance of a mean is (n−1)/n² · Σ(x − x̄)²/(n) ... i.e. σ̂²/n with the 1/n variance
    var = np.sum(exact.prob * (means(exact) - values.mean()) ** 2)
    assert var == pytest.approx(values.var() / 5)


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=30), st.floats(0.01, 0.99))
def test_weighted_quantile_with_equal_weights_is_a_sample_value_at_the_right_rank(values, q):
    v = np.array(values)
    got = weighted_quantile(v, np.ones(len(v)), q)
    assert got in v
    assert np.mean(v <= got) >= q - 1e-9 and np.mean(v < got) < q + 1e-9


def test_interval_reports_unbounded_ends_and_probabilities():
    reps = replicates(3)
    values = np.where(reps.counts[:, 0] == 3, np.inf, 1.0)  # unreachable only when seed 0 is drawn 3 times
    assert interval(values, reps, 0.9)["low"] == 1.0
    assert probability(np.isinf(values), reps) == pytest.approx(1 / 27)
    assert interval(np.full(len(reps.prob), np.nan), reps, 0.9) == {"low": None, "high": None}
    assert interval([1.0], replicates(1), 0.9) == {"low": None, "high": None}
