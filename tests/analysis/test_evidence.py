"""The interpolated exchange rate (issue 19 item 4) and the evidence grade (item 6)."""

from types import SimpleNamespace

import numpy as np
import pytest

from bitterlab.analysis import replicates
from bitterlab.analysis.compare import ScaleComparison
from bitterlab.analysis.evidence import evidence
from bitterlab.analysis.results import MeasuredRate
from bitterlab.analysis.scaling import Points, compare, fit_contender


def _fit(amp, seed):
    rng = np.random.default_rng(seed)
    x = np.repeat(np.geomspace(100, 1e4, 6), 5)
    cluster = np.tile(np.arange(5), 6)
    y = (0.2 + amp * x**-0.5) * np.exp(rng.normal(0, 0.01, len(x)))
    return fit_contender(Points(x=x, y=y, cluster=cluster, n_clusters=5), replicates(5, n_boot=200),
                         family="pow3", leave_one_out=False)


def test_the_exchange_rate_is_also_read_where_both_curves_were_measured():
    # 0.2 + 20 (kx)^-½ = 0.2 + 5 x^-½ ⇒ k = 16 at every x: at 1e4 that needs 1.6e5 (beyond the range);
    # the largest x whose 16x is still measured is 1e4/16 = 625
    ex = compare(_fit(20.0, 0), _fit(5.0, 1), 0.9).exchange_rate
    assert ex.extrapolated and ex.value == pytest.approx(16, rel=0.15)
    inside = ex.measured
    assert inside.x == pytest.approx(625, rel=0.1) and inside.value * inside.x <= 1e4 * (1 + 1e-9)
    assert inside.low <= 16 <= inside.high and inside.low <= inside.value <= inside.high


def _verdict(decisive=(True,) * 6, winner="s", seeds=5, failed=0, measured=True, unconverged=None):
    """The attributes of a :class:`~bitterlab.analysis.results.Verdict` that the grade reads."""
    scales = [ScaleComparison(x=10.0**i, winner=winner, difference=0.1, low=0.05, high=0.15, decisive=d,
                              n_seeds=seeds, generic_mean=1.1, structured_mean=1.0) for i, d in enumerate(decisive)]
    inside = MeasuredRate(value=16.0, low=15.0, high=17.0, x=625.0, widened=False) if measured else None
    ex = SimpleNamespace(value=16.0, extrapolated=True, measured=inside)
    return SimpleNamespace(per_scale=tuple(scales), failed_trials=failed, exchange_rate=ex, axis_is_scale=True,
                           unconverged=unconverged or {})


@pytest.mark.parametrize("kwargs, grade, reason", [
    ({}, "strong", "wins decisively at 6 of 6 scales"),
    ({"seeds": 3}, "suggestive", "3 seeds"),
    ({"decisive": (False,) * 5 + (True,)}, "suggestive", "at 1 scale(s) only"),
    ({"failed": 2}, "suggestive", "2 failed trial(s)"),
    ({"unconverged": {"g": 0.25, "s": 0.0}}, "suggestive", "unconverged selected trials: g 25%"),
    ({"measured": False}, "extrapolated", "no smaller scale gives a read inside it"),
    ({"decisive": (True,) * 5 + (False,)}, "inconclusive", "not decisive"),
])
def test_one_grade_per_verdict_with_its_reasons(kwargs, grade, reason):
    got = evidence(_verdict(**kwargs))
    assert got.grade == grade and any(reason in r for r in got.reasons), got
    assert evidence(_verdict(decisive=())).grade == "inconclusive"
