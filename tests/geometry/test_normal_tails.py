"""TV, JS and Hellinger between normals against 30-digit mpmath quadrature, from identical to 1e12
standard deviations apart and from 1e-12 to 1e12 in scale; and the extremes of issue 20."""

import math

import mpmath as mp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bitterlab.geometry import Normal, fisher_rao, hellinger, js, kl, tv

LN2 = math.log(2)


def _crossings(m1, s1, m2, s2):
    """Where the two densities are equal: log p = log q is a quadratic in x, solved at 30 digits."""
    a = 1 / (2 * s2**2) - 1 / (2 * s1**2)
    b = m1 / s1**2 - m2 / s2**2
    c = m2**2 / (2 * s2**2) - m1**2 / (2 * s1**2) + mp.log(s2 / s1)
    if a == 0:
        return [-c / b] if b != 0 else []
    disc = b**2 - 4 * a * c
    return [] if disc < 0 else [(-b + mp.sqrt(disc)) / (2 * a), (-b - mp.sqrt(disc)) / (2 * a)]


def reference(m1, s1, m2, s2) -> tuple[float, float, float]:
    """(TV, JS, Hellinger) by mpmath's tanh-sinh quadrature of their definitions in x, split at the
    crossings and at each mean ± (0, 3, 12) stds: TV = ½∫|p − q|, JS = ½∫ p log(2p/(p+q)) + q
    log(2q/(p+q)), H² = ½∫(√p − √q)² (no 1 − BC cancellation)."""
    with mp.workdps(30):
        m1, s1, m2, s2 = (mp.mpf(v) for v in (m1, s1, m2, s2))
        cuts = set(_crossings(m1, s1, m2, s2))
        for m, s in ((m1, s1), (m2, s2)):
            cuts |= {m + k * s for k in (-12, -3, 0, 3, 12)}
        cuts = [-mp.inf, *sorted(cuts), mp.inf]

        def p(x):
            return mp.npdf(x, m1, s1)

        def q(x):
            return mp.npdf(x, m2, s2)

        def js_density(x):
            a, b = p(x), q(x)
            m = (a + b) / 2
            return ((a * mp.log(a / m) if a else 0) + (b * mp.log(b / m) if b else 0)) / 2

        tv_ = mp.quad(lambda x: abs(p(x) - q(x)) / 2, cuts)
        js_ = mp.quad(js_density, cuts)
        h2 = mp.quad(lambda x: (mp.sqrt(p(x)) - mp.sqrt(q(x))) ** 2 / 2, cuts)
        return float(tv_), float(js_), float(mp.sqrt(h2))


scales = st.floats(-12, 12).map(lambda e: 10.0**e)
separations = st.one_of(st.just(0.0), st.floats(-12, 12).map(lambda e: 10.0**e))


close = st.floats(-12, -1).map(lambda e: 1 + 10.0**e)  # a ratio of stds within 1e-12 of 1


@settings(max_examples=10)
@given(s1=scales, s2=scales, ratio=st.one_of(st.none(), close), sep=separations, sign=st.sampled_from([-1.0, 1.0]))
def test_normal_tv_js_hellinger_match_high_precision_quadrature(s1, s2, ratio, sep, sign):
    s2 = s2 if ratio is None else s1 * ratio
    p, q = Normal(0.0, s1), Normal(sign * sep * s1, s2)  # sep: the separation in stds of p
    want = reference(p.mean, p.std, q.mean, q.std)
    got = (tv(p, q), js(p, q), hellinger(p, q))
    for name, g, w in zip(("TV", "JS", "Hellinger"), got, want, strict=True):
        assert g == pytest.approx(w, rel=1e-9, abs=1e-300), (name, p, q)
    assert 0 <= got[0] <= 1 and 0 <= got[1] <= LN2 and 0 <= got[2] <= 1
    assert (tv(q, p), js(q, p), hellinger(q, p)) == got  # symmetric, exactly


@pytest.mark.parametrize("p, q", [
    (Normal(0, 1), Normal(1e-6, 1)),  # nearly identical: every value ~1e-7 or below, to its last digits
    (Normal(0, 1), Normal(0, 1 + 1e-9)),
    (Normal(0, 1e-3), Normal(0, 1)),  # the issue: TV printed 0.5 (quadrature missed the spike)
    (Normal(0, 1e-2), Normal(0, 1)),
    (Normal(0, 1e-12), Normal(1e-12, 1)),
    (Normal(0, 1), Normal(3, 2)),
])
def test_hard_pairs_match_high_precision_quadrature(p, q):
    want = reference(p.mean, p.std, q.mean, q.std)
    assert (tv(p, q), js(p, q), hellinger(p, q)) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("p, q", [
    (Normal(1e12, 1), Normal(0, 1)),  # the issue: JS and TV printed 0
    (Normal(1e4, 1), Normal(0, 1)),  # the issue: TV printed 1.0000000000000102
    (Normal(1e200, 1), Normal(-1e200, 1)),  # the issue: OverflowError
    (Normal(0, 1e-12), Normal(0, 1e12)),
])
def test_far_apart_normals_are_exactly_at_the_top_of_the_range(p, q):
    assert tv(p, q) == 1.0 and js(p, q) == LN2 and hellinger(p, q) == pytest.approx(1.0, abs=1e-11)


def test_tiny_scales_neither_divide_by_zero_nor_overflow():
    p, q = Normal(0, 1e-200), Normal(0, 1)  # the issue: ZeroDivisionError
    assert tv(p, q) == 1.0 and js(p, q) == LN2 and hellinger(p, q) == 1.0
    assert kl(q, p) == math.inf and kl(p, q) == pytest.approx(math.log(1e200) - 0.5)
    assert kl(Normal(1e200, 1), Normal(-1e200, 1)) == math.inf


def test_identical_normals_are_at_distance_zero():
    p = Normal(1e200, 1e-200)
    assert (tv(p, p), js(p, p), hellinger(p, p)) == (0.0, 0.0, 0.0)


def test_fisher_rao_between_far_normals_is_finite():
    # 2√2 arcsinh(|Δμ| / (2√2 σ)) (Costa et al. 2015, eq. (11)); the old form squared 2e200 to inf
    want = 2 * math.sqrt(2) * math.asinh(2e200 / (2 * math.sqrt(2)))
    assert fisher_rao(Normal(1e200, 1), Normal(-1e200, 1)) == pytest.approx(want)
