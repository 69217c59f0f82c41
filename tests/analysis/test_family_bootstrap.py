"""Family uncertainty inside the bootstrap (issue 19 item 1): each replicate chooses its family by
the same held-out scales, so curves, bands and derived numbers carry the family's uncertainty."""

import numpy as np
import pytest

from bitterlab.analysis import FAMILIES, replicates
from bitterlab.analysis.curves import FamilyCurves, MixedCurves
from bitterlab.analysis.scaling import Points, fit_contender, fit_summary


def _points(family, params, xs, seeds, sigma, seed):
    fam = FAMILIES[family]
    x = np.repeat(xs, seeds)
    cluster = np.tile(np.arange(seeds), len(xs))
    y = fam.predict(fam.encode(**params), x)[0] * np.exp(np.random.default_rng(seed).normal(0, sigma, len(x)))
    return Points(x=x, y=y, cluster=cluster, n_clusters=seeds)


def test_each_replicate_chooses_its_family_among_the_eligible_ones():
    pts = _points("mmf4", dict(E=0.05, A=0.4, s=300.0, k=0.9), np.geomspace(16, 2**15, 8), 3, 0.03, 3)
    cf = fit_contender(pts, replicates(3, n_boot=60, seed=1), leave_one_out=False)
    sel = fit_summary(cf, 0.9).selection
    assert sel.eligible == ("pow3", "pow4", "mmf4", "wbl4")  # bnsl needs 7 scales below each held-out one
    shares = sel.replicate_shares
    assert set(shares) == set(sel.eligible) and sum(shares.values()) == pytest.approx(1.0)
    assert isinstance(cf.reps, MixedCurves) and len(cf.reps) == 60
    # the replicate curves are each a fitted curve of the family its replicate chose
    fams = [cf.reps.parts[k].name for k in cf.reps.which]
    assert [np.mean([f == n for f in fams]) for n in shares] == pytest.approx(list(shares.values()))
    assert sum(share > 0 for share in shares.values()) >= 2  # an ambiguous curve: the weight is split
    # parameters are those of the family chosen on all the data, over the replicates that chose it
    p = fit_summary(cf, 0.9).params
    assert set(p) == set(FAMILIES[cf.family].param_names) and all(v.low <= v.value <= v.high for v in p.values())


def test_with_six_scales_only_pow3_is_eligible_and_nothing_changes():
    pts = _points("pow3", dict(E=0.2, A=5.0, alpha=0.5), np.geomspace(100, 1e4, 6), 3, 0.03, 0)
    cf = fit_contender(pts, replicates(3, n_boot=60), leave_one_out=False)
    sel = fit_summary(cf, 0.9).selection
    assert sel.eligible == ("pow3",) and sel.replicate_shares == {"pow3": 1.0}
    assert isinstance(cf.reps, FamilyCurves)
