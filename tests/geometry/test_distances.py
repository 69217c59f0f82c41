"""Closed forms from the papers and cross-checks against scipy and POT."""

import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from bitterlab.geometry import (Discrete, Empirical, Mixture, MultivariateNormal, Normal, fisher_rao, hellinger, js,
                                kl, sinkhorn, tv, wasserstein)

rng = np.random.default_rng(0)


def _random_discrete(n, support=None):
    pts = np.arange(n, dtype=float) if support is None else support
    w = rng.dirichlet(np.ones(n))
    return Discrete(pts, w)


@pytest.mark.parametrize("seed", range(5))
def test_discrete_kl_js_match_scipy(seed):
    p, q = _random_discrete(6), _random_discrete(6)
    assert kl(p, q) == pytest.approx(stats.entropy(p.weights, q.weights), rel=1e-12)
    m = (p.weights + q.weights) / 2
    assert js(p, q) == pytest.approx(0.5 * stats.entropy(p.weights, m) + 0.5 * stats.entropy(q.weights, m))


def test_kl_is_inf_where_q_lacks_support_and_between_discrete_and_continuous():
    assert kl(Discrete([0, 1], [0.5, 0.5]), Discrete([0, 2], [0.5, 0.5])) == np.inf
    assert kl(Discrete([0], [1.0]), Normal(0, 1)) == np.inf
    assert kl(Discrete([0, 1], [1.0, 0.0]), Discrete([0, 1], [0.5, 0.5])) == pytest.approx(np.log(2))


def test_normal_closed_forms():
    p, q = Normal(1.0, 2.0), Normal(-1.0, 0.5)
    assert kl(p, q) == pytest.approx(np.log(0.5 / 2) + (4 + 4) / (2 * 0.25) - 0.5)
    assert wasserstein(p, q, 2) == pytest.approx(np.sqrt(4 + 1.5**2))
    assert wasserstein(Normal(0, 1), Normal(10, 1)) == pytest.approx(10)  # POT's test_gaussian value
    # equal variances: TV = 2Φ(|Δμ|/2σ) − 1
    assert tv(Normal(0, 1), Normal(1, 1)) == pytest.approx(2 * stats.norm.cdf(0.5) - 1, abs=1e-9)
    # numerical KL (quadrature through the Mixture code path) agrees with the closed form
    as_mix = Mixture((p,), (1.0,))
    assert kl(as_mix, q) == pytest.approx(kl(p, q), rel=1e-6)
    assert hellinger(as_mix, q) == pytest.approx(hellinger(p, q), rel=1e-6)


def test_fisher_rao_normals_closed_forms():
    # same mean: sqrt(2)|log(s2/s1)|; same std: Costa et al. 2015, eq. (11):
    # d = 2√2 arcsinh(|Δμ| / (2√2 σ))
    assert fisher_rao(Normal(0, 1), Normal(0, 3)) == pytest.approx(np.sqrt(2) * np.log(3))
    assert fisher_rao(Normal(0, 2), Normal(3, 2)) == pytest.approx(2 * np.sqrt(2) * np.arcsinh(3 / (2 * np.sqrt(2) * 2)))


def test_fisher_rao_categorical():
    p, q = Discrete([0, 1, 2], [0.5, 0.3, 0.2]), Discrete([0, 1, 2], [0.2, 0.3, 0.5])
    assert fisher_rao(p, q) == pytest.approx(2 * np.arccos(np.sum(np.sqrt(p.weights * q.weights))))
    assert fisher_rao(Discrete([0], [1.0]), Discrete([1], [1.0])) == pytest.approx(np.pi)


@pytest.mark.parametrize("seed", range(5))
def test_wasserstein_1d_matches_scipy_and_pot(seed):
    r = np.random.default_rng(seed)
    x, y = r.normal(size=7), r.normal(1, 2, size=5)
    a, b = r.dirichlet(np.ones(7)), r.dirichlet(np.ones(5))
    p, q = Discrete(x, a), Discrete(y, b)
    assert wasserstein(p, q, 1) == pytest.approx(stats.wasserstein_distance(x, y, a, b), rel=1e-9)
    exact = ot.emd2(a, b, (x[:, None] - y[None, :]) ** 2)
    assert wasserstein(p, q, 2) == pytest.approx(np.sqrt(exact), rel=1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_wasserstein_2d_matches_pot_and_sinkhorn_converges(seed):
    r = np.random.default_rng(seed)
    x, y = r.normal(size=(8, 2)), r.normal(1, 1, size=(6, 2))
    p, q = Empirical(x), Empirical(y)
    cost = ot.dist(x, y, metric="euclidean")
    assert wasserstein(p, q, 1) == pytest.approx(ot.emd2(np.full(8, 1 / 8), np.full(6, 1 / 6), cost))
    assert sinkhorn(p, q, reg=0.1) == pytest.approx(
        ot.sinkhorn2(np.full(8, 1 / 8), np.full(6, 1 / 6), cost**2, 0.1, numItermax=10000, stopThr=1e-10))
    assert sinkhorn(p, q, reg=0.01) == pytest.approx(wasserstein(p, q, 2) ** 2, rel=0.05)


def test_bures_and_1d_consistency():
    # a 1-D MVN pair equals the Normal closed form
    assert wasserstein(MultivariateNormal([0], [[1]]), MultivariateNormal([3], [[4]])) == pytest.approx(
        wasserstein(Normal(0, 1), Normal(3, 2)))
    # commuting covariances: Bures reduces to |√Σ1 − √Σ2|_F²
    a, b = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    d = wasserstein(MultivariateNormal([0, 0], a), MultivariateNormal([1, 1], b))
    assert d == pytest.approx(np.sqrt(2 + (1 - 3) ** 2 + (2 - 1) ** 2))
    # W2 between normals agrees with W2 between large samples of them
    big = np.random.default_rng(1)
    est = wasserstein(Empirical(big.normal(0, 1, 4000)), Empirical(big.normal(2, 3, 4000)), 2)
    assert est == pytest.approx(wasserstein(Normal(0, 1), Normal(2, 3)), rel=0.05)


def test_w1_normal_vs_point_mass_by_quantiles():
    # W1(N(0,1), δ0) = E|Z| = sqrt(2/π)
    assert wasserstein(Normal(0, 1), Discrete([0.0], [1.0]), 1) == pytest.approx(np.sqrt(2 / np.pi), rel=1e-6)
    assert wasserstein(Normal(0, 1), Discrete([0.0], [1.0]), 2) == pytest.approx(1.0, rel=1e-6)


def test_undefined_pairs_raise_and_say_so():
    with pytest.raises(ValueError, match="fisher_rao is not defined for Normal and Discrete"):
        fisher_rao(Normal(0, 1), Discrete([0], [1.0]))
    with pytest.raises(ValueError, match="not defined"):
        js(MultivariateNormal([0, 0], np.eye(2)), MultivariateNormal([1, 0], np.eye(2)))
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        wasserstein(Normal(0, 1), Normal(0, 1), order=3)


dists = st.lists(st.floats(0.01, 1.0), min_size=4, max_size=4).map(
    lambda w: Discrete(np.arange(4.0), np.array(w) / np.sum(w), normalize=True))
normals = st.builds(Normal, st.floats(-5, 5), st.floats(0.2, 5))


@settings(max_examples=60, deadline=None)
@given(dists, dists, dists)
def test_metric_axioms_on_categoricals(p, q, r):
    for d in (tv, hellinger, fisher_rao, lambda a, b: wasserstein(a, b, 1), lambda a, b: wasserstein(a, b, 2)):
        assert d(p, p) == pytest.approx(0, abs=1e-7)
        assert d(p, q) == pytest.approx(d(q, p), abs=1e-9)
        assert d(p, r) <= d(p, q) + d(q, r) + 1e-7
    assert kl(p, q) >= -1e-12 and js(p, q) == pytest.approx(js(q, p))
    assert 0 <= js(p, q) <= np.log(2) + 1e-12


@settings(max_examples=60, deadline=None)
@given(normals, normals, normals)
def test_metric_axioms_on_normals(p, q, r):
    for d in (fisher_rao, wasserstein, hellinger):
        assert d(p, p) == pytest.approx(0, abs=1e-6)
        assert d(p, q) == pytest.approx(d(q, p), rel=1e-9, abs=1e-9)
        assert d(p, r) <= d(p, q) + d(q, r) + 1e-7
    assert kl(p, q) >= -1e-12
