r"""TV, JS, Hellinger and KL between two univariate normals, exact in the tails.

Everything is computed in the standard variable of one of the two normals, so that nothing is
squared before it is divided by a standard deviation: a separation of 1e200 or a scale of 1e-200
neither overflows nor divides by zero. Python floats are used on purpose (an overflowing product
is ``inf``, silently and correctly, where NumPy would warn).

Notation: p = N(μ_p, σ_p²) is the *narrower* normal (σ_p ≤ σ_q). With z = (x − μ_p)/σ_p, the standard
variable of q is :math:`a z + b`, :math:`a = \sigma_p/\sigma_q \le 1`, :math:`b = (\mu_p - \mu_q)/\sigma_q`, and the
log-density ratio is

.. math:: \ell(z) = \log\frac{p}{q} = \tfrac12\,((a-1)z + b)\,((a+1)z + b) - \log a,

factored so that it has no cancellation when p ≈ q.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import integrate
from scipy.special import ndtr

from bitterlab.geometry.distributions import Normal

LN2 = math.log(2)
# Bhattacharyya coefficients below this make TV = 1 and JS = ln 2 exact in double precision:
# 1 − TV = ∫min(p, q) ≤ BC and ln 2 − JS ≤ BC (log(1 + t) ≤ √t), and 2⁻⁵⁴ is half an ulp of 1.
DISJOINT_BC = 2.0**-54
Z_MAX = 9.0  # Φ(−9) ≈ 1.1e-19: the mass JS's quadrature leaves out on each side


@dataclass(frozen=True)
class Frame:
    """The other normal's standard variable ``a z + b`` seen from one normal's ``z``."""

    a: float  # σ_self / σ_other
    a_minus_1: float  # (σ_self − σ_other) / σ_other, exact from the stds
    log_a: float
    b: float  # (μ_self − μ_other) / σ_other

    def ell(self, z: float) -> float:
        """log(self/other) at z (see the module docstring)."""
        return 0.5 * (self.a_minus_1 * z + self.b) * ((self.a + 1) * z + self.b) - self.log_a


def frame(p: Normal, q: Normal) -> Frame:
    """q's standard variable as seen from p's."""
    a_minus_1 = (p.std - q.std) / q.std
    # log a: log1p of the exact a − 1 when the stds are close (the difference of logs would cancel),
    # the difference of logs when they are not (a itself may underflow)
    log_a = math.log1p(a_minus_1) if abs(a_minus_1) < 0.5 else math.log(p.std) - math.log(q.std)
    return Frame(a=p.std / q.std, a_minus_1=a_minus_1, log_a=log_a, b=(p.mean - q.mean) / q.std)


def ordered(p: Normal, q: Normal) -> tuple[Normal, Normal]:
    """(narrower, wider): TV, JS and Hellinger are symmetric."""
    return (p, q) if p.std <= q.std else (q, p)


def log_bhattacharyya(p: Normal, q: Normal) -> float:
    r""":math:`\log BC = -\frac{\Delta\mu^2}{4(\sigma_p^2+\sigma_q^2)} - \frac12\log\!\big(1 +
    \frac{(\sigma_p-\sigma_q)^2}{2\sigma_p\sigma_q}\big)` (Bhattacharyya 1943), with every square taken
    of a ratio (no overflow) and ``log1p`` (no cancellation near p = q); symmetric to the last bit."""
    p, q = ordered(p, q)
    shift = (p.mean - q.mean) / math.hypot(p.std, q.std)
    spread = (p.std - q.std) / (math.sqrt(2 * p.std) * math.sqrt(q.std))
    return -0.25 * shift * shift - 0.5 * math.log1p(spread * spread)


def crossings(f: Frame) -> tuple[float, float]:
    r"""The interval (lo, hi), in the narrower normal's z, where its density exceeds the wider one's.

    ℓ(z) = 0 is :math:`(a^2-1)z^2 + 2abz + b^2 - 2\log a = 0`; with :math:`D = \sqrt{b^2 + 2(1-a^2)(-\log a)}`
    and :math:`G = \sqrt{b^2 - 2\log a}` its roots are :math:`z_1 = \operatorname{sgn}(b)(a|b| + D)/(1-a^2)`
    and :math:`z_2 = c/(A z_1) = -\operatorname{sgn}(b)\,G^2/(a|b| + D)` (the stable pair of the quadratic
    formula; Press et al., *Numerical Recipes* 3rd ed., eq. 5.6.4). Equal stds (a = 1): one crossing,
    :math:`-b/2`, and :math:`z_1 = \pm\infty`.
    """
    sign = 1.0 if f.b >= 0 else -1.0
    one_minus_a2 = -f.a_minus_1 * (f.a + 1)
    g = math.sqrt(-2 * f.log_a)
    d = math.hypot(f.b, math.sqrt(one_minus_a2) * g)
    denom = f.a * abs(f.b) + d
    big = math.hypot(f.b, g)
    near = -sign * big * (big / denom)
    far = sign * denom / one_minus_a2 if one_minus_a2 > 0 else sign * math.inf
    return min(near, far), max(near, far)


def _mass(lo: float, hi: float, w: float) -> float:
    r"""Φ(hi) − Φ(lo) for a standard normal, signed, accurate to a few ulps relative to the result,
    given ``w`` = hi − lo computed without cancellation by the caller.

    Close ends (|w| < 1e-3): the Taylor expansion about the midpoint c,
    :math:`w\varphi(c)\,(1 + \frac{w^2}{24}(c^2-1) + \frac{w^4}{1920}(c^4-6c^2+3))` (the next term is
    below 1e-18 relative); otherwise a difference of Φ taken on the lower tail's side (``ndtr`` is
    relatively accurate there), never 1 − 1."""
    if abs(w) < 1e-3:
        c = 0.5 * (hi + lo)
        c2 = c * c
        phi = math.exp(-0.5 * c2) / math.sqrt(2 * math.pi) if c2 < 1e300 else 0.0
        return w * phi * (1 + w * w * (c2 - 1) / 24 + w**4 * (c2 * c2 - 6 * c2 + 3) / 1920)
    if lo + hi > 0:
        return float(ndtr(-lo) - ndtr(-hi))
    return float(ndtr(hi) - ndtr(lo))


def _gap(f: Frame, z: float) -> float:
    """D(z) = Φ(z) − Φ(a z + b), with z − (a z + b) = −((a − 1) z + b) taken from the exact a − 1."""
    if math.isinf(z):
        return 0.0
    return _mass(f.a * z + f.b, z, -(f.a_minus_1 * z + f.b))


def tv_normal(p: Normal, q: Normal) -> float:
    r"""Total variation by the crossing points of the densities.

    With I = (lo, hi) where the narrower normal p dominates, :math:`TV = P(I) - Q(I)`, the Scheffé-set
    form of :math:`TV = \sup_A |P(A) - Q(A)|` attained at A = {p > q} (Devroye, Mehrabian & Reddad
    2018, §1). Written :math:`TV = D(hi) - D(lo)` with :math:`D(z) = \Phi(z) - \Phi(az + b)` = P(−∞, z] −
    Q(−∞, z], the sup and inf of D, so D(hi) ≥ 0 ≥ D(lo): two terms of opposite signs, each accurate
    relative to itself (:func:`_mass`), hence a TV accurate relative to itself from p ≈ q (TV ~ 1e-10)
    to disjoint. TV is stationary in lo and hi (p = q there), so their rounding does not reach it.
    Clipped to [0, 1] against the last ulp."""
    p, q = ordered(p, q)
    f = frame(p, q)
    if f.a_minus_1 == 0 and f.b == 0:
        return 0.0
    if log_bhattacharyya(p, q) < math.log(DISJOINT_BC):
        return 1.0
    lo, hi = crossings(f)
    value = _gap(f, hi) - _gap(f, lo)
    return min(1.0, max(0.0, value))


def _h(ell: float) -> float:
    r""":math:`h(\ell) = (1+u)\log(1+u) + (1-u)\log(1-u)`, :math:`u = \tanh(\ell/2)`, in [0, 2 ln 2].

    Near 0: :math:`\ell\tanh(\ell/2) - 2\log\cosh(\ell/2)`, with :math:`\log\cosh y =
    \operatorname{log1p}(2\sinh^2(y/2))` (≈ ℓ²/4; the two terms differ by a factor 2, no cancellation).
    Away from 0: :math:`2\ln2 - 2|\ell|t/(1+t) - 2\log(1+t)`, :math:`t = e^{-|\ell|}`. Both are exact
    rewritings of the definition."""
    x = abs(ell)
    if x < 1:
        half = math.sinh(x / 4)
        return x * math.tanh(x / 2) - 2 * math.log1p(2 * half * half)
    t = math.exp(-x) if x < 1e300 else 0.0
    return 2 * LN2 - 2 * x * t / (1 + t) - 2 * math.log1p(t)


def _expect_h(f: Frame, cuts: list[float]) -> float:
    """E[h(ℓ(Z))], Z standard normal, by adaptive Gauss–Kronrod on [−9, 9] split at ``cuts``."""
    points = sorted({0.0, *(c for c in cuts if -Z_MAX < c < Z_MAX)})
    density = 1 / math.sqrt(2 * math.pi)

    def integrand(z: float) -> float:
        return density * math.exp(-0.5 * z * z) * _h(f.ell(z))

    value, *_ = integrate.quad(integrand, -Z_MAX, Z_MAX, points=points, limit=200, epsabs=1e-300,
                               epsrel=1e-13, full_output=1)
    return float(value)


def js_normal(p: Normal, q: Normal) -> float:
    r"""Jensen–Shannon divergence between normals (no closed form exists).

    With :math:`\ell = \log(p/q)`, :math:`m = (p+q)/2` and :math:`t = p/m = 1 + \tanh(\ell/2)`, KL as the
    f-divergence of f(t) = t log t − t + 1 (Csiszár 1967), :math:`KL(p\|m) = \int m\,f(p/m)`, gives (Lin 1991)

    .. math:: JS = \tfrac12\int m\,h(\ell) = \tfrac14\big(E_p[h(\ell)] + E_q[h(\ell)]\big),
              \quad h(\ell) = (1+u)\log(1+u) + (1-u)\log(1-u),\; u = \tanh(\ell/2),

    an integrand that is pointwise in [0, 2 ln 2] (so JS ∈ [0, ln 2] by construction), ≈ ℓ²/4 near
    p = q (no cancellation between the two KL terms). Each expectation is an integral over the
    standard variable of its own normal on [−9, 9] (the tails hold < 2.2e-19), split at the density
    crossing points, where h dips to 0, and on a unit grid of the narrower normal's variable (the
    scale of every feature of h), so no panel can step over a feature.
    Pairs with BC < 2⁻⁵⁴ return ln 2 (then ln 2 − JS ≤ BC is below half an ulp).

    Tolerance: quad is asked for a relative error of 1e-13 on integrands that are smooth between the
    cuts; against 30-digit mpmath quadrature of the definition (``tests/geometry/test_normal_tails.py``)
    the worst relative error seen on 200 random pairs, from p = q to 1e12 standard deviations apart and
    from 1e-12 to 1e12 in scale, was 6e-12; the test asserts 1e-9, a margin of 100x. Rounding can put
    the sum an ulp outside [0, ln 2]: it is clipped there.
    """
    p, q = ordered(p, q)
    f = frame(p, q)
    if f.a_minus_1 == 0 and f.b == 0:
        return 0.0
    if log_bhattacharyya(p, q) < math.log(DISJOINT_BC):
        return LN2
    lo, hi = crossings(f)
    # Cuts: the crossings (h dips to 0 there, over ≳ 0.1 of the narrower normal's z) and a unit grid of
    # that z, seen from each normal's own variable; from the wider one's, z maps to a·z + b.
    cuts = [lo, hi, *range(-12, 13)]
    g = frame(q, p)
    value = 0.25 * (_expect_h(f, cuts) + _expect_h(g, [f.a * c + f.b for c in cuts]))
    return min(LN2, max(0.0, value))


def hellinger_normal(p: Normal, q: Normal) -> float:
    r""":math:`H = \sqrt{1 - BC} = \sqrt{-\operatorname{expm1}(\log BC)}`: exact from p = q (tiny H, no 1 − 1)
    to disjoint (H = 1, BC underflowing to 0)."""
    return math.sqrt(-math.expm1(log_bhattacharyya(p, q)))


def kl_normal(p: Normal, q: Normal) -> float:
    r""":math:`KL(p\|q) = \log\frac{\sigma_q}{\sigma_p} + \frac12\big(\frac{\sigma_p}{\sigma_q}\big)^2
    + \frac12\big(\frac{\mu_p-\mu_q}{\sigma_q}\big)^2 - \frac12` (Kullback 1959), squares taken of
    ratios: ``inf`` (not an overflow error) when the value exceeds the largest float."""
    ratio, shift = p.std / q.std, (p.mean - q.mean) / q.std
    return math.log(q.std) - math.log(p.std) + 0.5 * (ratio * ratio + shift * shift) - 0.5
