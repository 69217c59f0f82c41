import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitterlab.geometry import (Discrete, MultivariateNormal, Normal, fisher_rao, fisher_rao_geodesic,
                                mixture_geodesic, tv, wasserstein, wasserstein_geodesic)

normals = st.builds(Normal, st.floats(-5, 5), st.floats(0.2, 5))
ts = st.floats(0, 1)


@settings(max_examples=80, deadline=None)
@given(normals, normals, ts)
def test_fisher_rao_geodesic_endpoints_and_constant_speed(p, q, t):
    g = fisher_rao_geodesic(p, q)
    for end, want in ((g(0), p), (g(1), q)):
        assert (end.mean, end.std) == pytest.approx((want.mean, want.std), abs=1e-7)
    d = fisher_rao(p, q)
    assert fisher_rao(p, g(t)) == pytest.approx(t * d, abs=1e-6 * max(1, d))


@settings(max_examples=80, deadline=None)
@given(normals, normals, ts)
def test_wasserstein_geodesic_normals(p, q, t):
    g = wasserstein_geodesic(p, q)
    assert wasserstein(p, g(t)) == pytest.approx(t * wasserstein(p, q), abs=1e-9)
    assert g(t).mean == pytest.approx((1 - t) * p.mean + t * q.mean)


def test_fisher_rao_widens_the_variance_midway_and_w2_keeps_the_shape():
    a = 5.0
    p, q = Normal(-a, 1), Normal(a, 1)
    mid_fr, mid_w = fisher_rao_geodesic(p, q)(0.5), wasserstein_geodesic(p, q)(0.5)
    assert mid_fr.mean == pytest.approx(0, abs=1e-9) and mid_fr.std > 2.0
    assert (mid_w.mean, mid_w.std) == pytest.approx((0.0, 1.0))
    stds = [fisher_rao_geodesic(p, q)(t).std for t in np.linspace(0, 1, 11)]
    assert np.argmax(stds) == 5  # widens, peaks mid-way, narrows


@pytest.mark.parametrize("seed", range(3))
def test_discrete_mccann_interpolation(seed):
    r = np.random.default_rng(seed)
    p = Discrete(r.normal(size=(5, 2)), r.dirichlet(np.ones(5)))
    q = Discrete(r.normal(2, 1, size=(4, 2)), r.dirichlet(np.ones(4)))
    g = wasserstein_geodesic(p, q)
    d = wasserstein(p, q, 2)
    for t in (0.0, 0.3, 0.7, 1.0):
        assert wasserstein(p, g(t), 2) == pytest.approx(t * d, abs=1e-7)
        assert wasserstein(g(t), q, 2) == pytest.approx((1 - t) * d, abs=1e-7)


def test_gaussian_mccann_interpolation_is_a_w2_geodesic():
    p = MultivariateNormal([0, 0], [[2.0, 0.5], [0.5, 1.0]])
    q = MultivariateNormal([1, -1], [[1.0, -0.3], [-0.3, 0.5]])
    g = wasserstein_geodesic(p, q)
    np.testing.assert_allclose(g(1).cov, q.cov, atol=1e-9)
    for t in (0.25, 0.5):
        assert wasserstein(p, g(t)) == pytest.approx(t * wasserstein(p, q), rel=1e-6)


def test_categorical_fisher_rao_geodesic_and_mixture_path():
    p, q = Discrete([0, 1, 2], [0.7, 0.2, 0.1]), Discrete([0, 1, 2], [0.1, 0.3, 0.6])
    g, m = fisher_rao_geodesic(p, q), mixture_geodesic(p, q)
    for t in (0.2, 0.5, 0.9):
        assert fisher_rao(p, g(t)) == pytest.approx(t * fisher_rao(p, q), abs=1e-9)
        assert tv(p, m(t)) == pytest.approx(t * tv(p, q), abs=1e-12)
    mix = mixture_geodesic(Normal(-3, 1), Normal(3, 1))(0.5)
    assert mix.pdf(0.0) < mix.pdf(3.0)  # the mixture path fades mass; nothing moves
    with pytest.raises(ValueError, match=r"t must lie in \[0, 1\]"):
        g(1.5)
