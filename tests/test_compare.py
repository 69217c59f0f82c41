import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitterlab.analysis import bootstrap_mean_interval, per_scale


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


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-10, 10), min_size=2, max_size=20))
def test_bootstrap_interval_brackets_the_mean_within_the_data_range(values):
    low, high = bootstrap_mean_interval(np.array(values), level=0.9, n_boot=500)
    assert min(values) - 1e-9 <= low <= high <= max(values) + 1e-9


def test_bootstrap_interval_roughly_covers_for_many_seeds():
    rng = np.random.default_rng(0)
    hits = sum(low <= 0 <= high for low, high in
               (bootstrap_mean_interval(rng.normal(0, 1, 30), n_boot=1000, seed=i) for i in range(300)))
    assert 0.83 <= hits / 300 <= 0.95  # nominal 0.9; percentile bootstrap runs a little short at n=30
