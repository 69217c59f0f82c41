"""Censored observations (issue 19 item 5): a failed or capped trial is "at least this loss". A
censored point the curve passes above is consistent with it and does not move the fit; one the
curve passes below pulls the curve up toward it, as an observed point would."""

import numpy as np
import pytest

from bitterlab.analysis import replicates
from bitterlab.analysis.families import FAMILIES
from bitterlab.analysis.robust import fit_batch
from bitterlab.analysis.scaling import Points, fit_contender

POW3 = FAMILIES["pow3"]
XS = np.geomspace(100, 1e4, 6)
LAW = lambda x: 0.2 + 5 * x**-0.5  # noqa: E731


def _fit(extra_y, censored):
    x = np.r_[XS, 3000.0]
    y = np.r_[LAW(XS), extra_y]
    c = np.r_[np.zeros(6, bool), censored]
    cf = fit_contender(Points(x=x, y=y, cluster=np.arange(7), n_clusters=7, censored=c), replicates(7, n_boot=30),
                       family="pow3", leave_one_out=False)
    return float(cf.best(3000.0)[0, 0])


def test_a_censored_point_below_the_curve_does_not_pull_it():
    truth = LAW(3000.0)
    assert _fit(0.5 * truth, True) == pytest.approx(truth, rel=1e-9)  # "at least 0.5·L": consistent
    # the same value observed pulls the curve down (a little: the Huber loss with δ = 1e-3 is robust)
    assert _fit(0.5 * truth, False) < truth * (1 - 1e-4)


def test_a_censored_point_above_the_curve_pulls_it_up():
    truth = LAW(3000.0)
    up = _fit(2.0 * truth, True)  # "at least 2·L": the curve must rise toward it
    assert up > truth * (1 + 1e-4)
    assert up == pytest.approx(_fit(2.0 * truth, False), rel=1e-9)  # exactly as the observation would


def test_the_objective_is_one_sided_for_censored_points():
    x, y = XS, LAW(XS)
    theta = POW3.encode(E=0.2, A=5.0, alpha=0.5)
    low = y * 0.5
    fit = fit_batch(POW3, x, np.r_[y[:-1], low[-1]], np.ones((1, 6)), censored=np.r_[np.zeros(5, bool), True])
    assert POW3.natural(fit.theta)["alpha"][0] == pytest.approx(0.5, rel=1e-3)
    assert fit.objective[0] == pytest.approx(0.0, abs=1e-12) and np.isfinite(theta).all()
