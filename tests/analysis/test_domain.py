"""Uncertainty that stays in its domain (issue 19, item 2 and the first half of item 5): replicate
curves are fits of the family, positive parameters get positive intervals, an interval contains
its estimate, and a parameter on its family's bound is reported."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bitterlab.analysis import FAMILIES, replicates
from bitterlab.analysis.curves import FamilyCurves
from bitterlab.analysis.scaling import Points, bound_warnings, compare, fit_contender, fit_summary

XS = np.geomspace(100, 1e4, 6)


def _points(law, xs, seeds, sigma, rng, rho=0.0):
    x = np.repeat(np.asarray(xs, float), seeds)
    cluster = np.tile(np.arange(seeds), len(xs))
    u = rng.normal(0, sigma * np.sqrt(rho), seeds)[cluster]
    return Points(x=x, y=law(x) * np.exp(u + rng.normal(0, sigma * np.sqrt(1 - rho), len(x))), cluster=cluster,
                  n_clusters=seeds)


@settings(max_examples=12)
@given(E=st.floats(0.0, 0.5), A=st.floats(0.5, 50.0), alpha=st.floats(0.1, 1.0), seeds=st.integers(2, 5),
       sigma=st.floats(0.01, 0.3), seed=st.integers(0, 2**16))
# found by hypothesis: the data want E = 0, and log E ran to −1,456 until E underflowed to 0.0 (robust.E_FLOOR)
@example(E=0.41131363398497045, A=45.193359375, alpha=0.21505501036760197, seeds=3, sigma=0.03872256242312446,
         seed=8735)
def test_positive_parameters_have_positive_intervals_containing_the_estimate(E, A, alpha, seeds, sigma, seed):
    rng = np.random.default_rng(seed)
    pts = _points(lambda x: E + A * x**-alpha, XS, seeds, sigma, rng, rho=0.5)
    cf = fit_contender(pts, replicates(seeds, n_boot=200, seed=seed), family="pow3", leave_one_out=False)
    # every replicate is a fitted curve of the family, not a pointwise mix
    assert isinstance(cf.reps, FamilyCurves) and cf.reps.family is FAMILIES["pow3"]
    s = fit_summary(cf, 0.9)
    for name in ("E", "A"):
        p = s.params[name]
        assert p.low > 0 and p.high > 0, (name, p)
    for q in [*s.params.values(), s.loss_at_10x]:
        assert q.low <= q.value <= q.high, q
    band = s.loss_at_10x
    assert band.low > 0  # no clamp at a thousandth of the estimate: a fitted curve's own value


def test_the_crossover_point_lies_inside_its_interval():
    rng = np.random.default_rng(4)
    reps = replicates(3, n_boot=300)
    g = fit_contender(_points(lambda x: 10.0 * x**-0.5, XS, 3, 0.05, rng), reps, family="pow3", leave_one_out=False)
    s = fit_contender(_points(lambda x: 10.0 * 1e3**-0.25 * x**-0.25, XS, 3, 0.05, rng), reps, family="pow3",
                      leave_one_out=False)
    cross = compare(g, s, 0.9).crossover
    assert cross.point is not None and cross.low <= cross.point <= cross.high


def test_a_parameter_on_its_bound_is_reported():
    """A curve steeper than pow3's box (α ≤ 4) pins the exponent at 4: the warning names it."""
    x = np.geomspace(10, 100, 6)
    pts = Points(x=x, y=0.1 + 1e6 * x**-6.0, cluster=np.arange(6), n_clusters=6)
    s = fit_summary(fit_contender(pts, replicates(6, n_boot=100), family="pow3", leave_one_out=False), 0.9)
    assert s.at_bound["alpha"].bound == 4.0 and s.at_bound["alpha"].estimate
    (w,) = [w for w in bound_warnings(s, "g") if "bound" in w]
    assert "alpha" in w and "4" in w
    # a curve well inside the box: no warning
    ok = Points(x=x, y=0.1 + 5 * x**-0.5, cluster=np.arange(6), n_clusters=6)
    s = fit_summary(fit_contender(ok, replicates(6, n_boot=100), family="pow3", leave_one_out=False), 0.9)
    assert s.at_bound == {} and bound_warnings(s, "g") == []


def test_bnsl_reaches_a_published_size_of_break():
    """Caballero et al.'s 4-digit-addition fit needs c1 = 5.66 (the old box stopped at 4)."""
    truth = dict(E=0.02, A=2.0, c0=0.05, c1=5.66, d=3000.0, f=0.4)
    family = FAMILIES["bnsl"]
    x = np.geomspace(100, 1e5, 17)
    y = family.predict(family.encode(**truth), x)[0]
    cf = fit_contender(Points(x=x, y=y, cluster=np.arange(17), n_clusters=17), replicates(17, n_boot=20),
                       family="bnsl", leave_one_out=False)
    p = cf.best.params()
    assert p["c1"][0] == pytest.approx(5.66, rel=0.05)
    assert "c1" not in fit_summary(cf, 0.9).at_bound
