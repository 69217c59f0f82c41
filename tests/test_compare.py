import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bitterlab.analysis import per_scale, t_interval


def _frame(rows):
    return pd.DataFrame(rows, columns=["contender", "x", "seed", "loss"])


def test_constant_gap_gives_a_degenerate_interval_and_the_right_winner():
    rows = [(c, x, s, base + s * 0.1) for x, base in [(10, 1.0), (100, 0.5)] for s in range(4)
            for c, base in [("g", base + 0.3), ("s", base)]]
    out = per_scale(_frame(rows), "loss", "g", "s")
    assert [o.x for o in out] == [10.0, 100.0]
    for o in out:
        assert o.winner == "s" and o.decisive
        assert o.difference == pytest.approx(0.3) and o.low == pytest.approx(0.3) and o.high == pytest.approx(0.3)
        assert o.n_seeds == 4


def test_pairs_by_seed_and_skips_scales_without_both():
    rows = [("g", 10, 0, 2.0), ("g", 10, 1, 1.0), ("s", 10, 1, 3.0), ("g", 100, 0, 1.0)]
    (o,) = per_scale(_frame(rows), "loss", "g", "s")
    assert o.n_seeds == 1 and o.difference == pytest.approx(-2.0) and o.winner == "g"
    assert o.low is None and o.high is None and not o.decisive  # one pair: no interval, never decisive


def test_t_interval_matches_scipy():
    values = np.array([0.3, -0.1, 0.5, 0.2])
    low, high = t_interval(values, level=0.9)
    ref = stats.t.interval(0.9, 3, loc=values.mean(), scale=stats.sem(values))
    assert (low, high) == pytest.approx(ref)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=2, max_size=20))
def test_t_interval_contains_the_mean(values):
    low, high = t_interval(np.array(values))
    mean = float(np.mean(values))
    assert low <= mean + 1e-9 and mean - 1e-9 <= high


def test_t_interval_covers_90_percent_even_with_three_seeds():
    rng = np.random.default_rng(0)
    hits = sum(low <= 0 <= high for low, high in (t_interval(rng.normal(0, 1, 3)) for _ in range(4000)))
    assert 0.88 <= hits / 4000 <= 0.92  # exact for normal data: s.e. of the share 0.005


def test_equal_means_are_a_tie_not_a_win_for_either():
    rows = [(c, 10, s, float(s)) for s in range(3) for c in ("g", "s")]
    rows += [("g", 100, 0, 1.0), ("s", 100, 0, 2.0), ("g", 100, 1, 2.0), ("s", 100, 1, 1.0)]
    tie, crossed = per_scale(_frame(rows), "loss", "g", "s")
    assert tie.winner == "tie" and tie.difference == 0 and not tie.decisive
    assert crossed.winner == "tie" and not crossed.decisive  # paired differences +1 and −1
