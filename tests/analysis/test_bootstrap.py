import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bitterlab.analysis.bootstrap import (concentration, estimate_interval, interval, probability, replicates,
                                          weighted_quantile)
from bitterlab.analysis.results import Bounds, Interval


@pytest.mark.parametrize("s", [3, 5, 10])
def test_dirichlet_weights_give_the_mean_its_unbiased_variance(s):
    """Var*(Σ Wᵢ yᵢ / S) = s²/S with W = S·Dirichlet((S−2)/S): no (S−1)/S bias, no rescaling."""
    reps = replicates(s, n_boot=40000, seed=1)
    assert np.allclose(reps.weights.sum(axis=1), s) and (reps.weights >= 0).all()
    assert concentration(s) == pytest.approx((s - 2) / s)
    values = np.geomspace(1, 16, s)
    means = reps.weights @ values / s
    assert np.var(means) == pytest.approx(values.var(ddof=1) / s, rel=0.03)
    assert len(np.unique(means.round(12))) == len(means)  # continuous: no repeated multisets


def test_two_seeds_are_each_seed_alone_and_one_is_the_data():
    two = replicates(2)
    assert np.array_equal(two.weights, [[2.0, 0.0], [0.0, 2.0]]) and np.allclose(two.prob, 0.5)
    values = np.array([1.0, 3.0])
    assert np.sum(two.prob * (two.weights @ values / 2 - 2.0) ** 2) == pytest.approx(values.var(ddof=1) / 2)
    assert np.array_equal(replicates(1).weights, [[1.0]])


@given(st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=30), st.floats(0.01, 0.99))
def test_weighted_quantile_with_equal_weights_is_a_sample_value_at_the_right_rank(values, q):
    v = np.array(values)
    got = weighted_quantile(v, np.ones(len(v)), q)
    assert got in v
    assert np.mean(v <= got) >= q - 1e-9 and np.mean(v < got) < q + 1e-9


def test_interval_reports_unbounded_ends_and_probabilities():
    reps = replicates(3, n_boot=1000)
    values = np.where(reps.weights[:, 0] > 2.97, np.inf, 1.0)  # unreachable when seed 0 dominates
    share = np.mean(reps.weights[:, 0] > 2.97)
    assert 0 < share < 0.05 and interval(values, reps, 0.9) == Bounds(low=1.0, high=1.0)
    assert probability(np.isinf(values), reps) == pytest.approx(share)
    assert interval(np.full(len(reps.prob), np.nan), reps, 0.9) == Bounds(low=None, high=None)
    assert interval([1.0], replicates(1), 0.9) == Bounds(low=None, high=None)


def test_an_interval_that_misses_its_estimate_is_widened_to_it_and_says_so():
    reps = replicates(2)
    got, widened = estimate_interval(0.49, np.array([0.50, 0.56]), reps, 0.9)
    assert widened and got == Interval(value=0.49, low=0.49, high=0.56)
    got, widened = estimate_interval(0.52, np.array([0.50, 0.56]), reps, 0.9)
    assert not widened and got == Interval(value=0.52, low=0.50, high=0.56)
    assert math.isinf(estimate_interval(2.0, np.array([1.0, np.inf]), reps, 0.9)[0].high or math.inf)
