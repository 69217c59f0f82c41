"""KL, Jensen–Shannon, total variation, Hellinger and the Bhattacharyya coefficient.

Closed forms where they exist (normals), exact sums on discrete supports, adaptive quadrature for
1-D continuous densities (normal mixtures). Two distributions that are mutually singular (a discrete
one against a continuous one, or discrete ones on disjoint supports) give KL = ∞, JS = ln 2,
TV = 1, Hellinger = 1: the "disjoint support" regime where these rulers stop measuring distance.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate
from scipy.special import rel_entr

from bitterlab.geometry._normal import hellinger_normal, js_normal, kl_normal, log_bhattacharyya, tv_normal
from bitterlab.geometry._support import align, as_mvn, as_value, is_continuous_1d, undefined
from bitterlab.geometry.distributions import Discrete, MultivariateNormal, Normal


def _quad(f, p, q) -> float:
    lo = min(p.support_hint()[0], q.support_hint()[0])
    hi = max(p.support_hint()[1], q.support_hint()[1])
    value, _ = integrate.quad(f, lo, hi, limit=400, epsabs=1e-12, epsrel=1e-10)
    return float(value)


def _mutually_singular(p, q) -> bool:
    return (isinstance(p, Discrete) and is_continuous_1d(q)) or (isinstance(q, Discrete) and is_continuous_1d(p))


def kl(p, q) -> float:
    r"""Kullback–Leibler divergence :math:`KL(p\,\|\,q) = \int \log\frac{dp}{dq}\,dp` (nats).

    Normals (Kullback 1959; Pardo 2006, eq. 1.1.1 ff.):
    :math:`KL = \log\frac{\sigma_2}{\sigma_1} + \frac{\sigma_1^2 + (\mu_1-\mu_2)^2}{2\sigma_2^2} - \frac12`;
    in n-D :math:`\frac12[\operatorname{tr}(\Sigma_2^{-1}\Sigma_1) + \Delta\mu^T\Sigma_2^{-1}\Delta\mu - n
    + \log\frac{\det\Sigma_2}{\det\Sigma_1}]`. Discrete: :math:`\sum_i p_i \log(p_i/q_i)`, ``inf`` where q
    lacks p's support; a discrete against a continuous distribution is ``inf`` (not absolutely continuous).

    Examples
    --------
    >>> kl(Normal(0, 1), Normal(1, 1))
    0.5
    """
    p, q = as_value(p), as_value(q)
    if isinstance(p, Normal) and isinstance(q, Normal):
        return kl_normal(p, q)
    if isinstance(p, MultivariateNormal | Normal) and isinstance(q, MultivariateNormal | Normal):
        p, q = as_mvn(p), as_mvn(q)
        if p.dim != q.dim:
            raise undefined("kl", p, q, f"dimensions differ ({p.dim} vs {q.dim})")
        if np.linalg.matrix_rank(q.cov) < q.dim or np.linalg.matrix_rank(p.cov) < p.dim:
            raise undefined("kl", p, q, "a covariance is singular (no density)")
        diff = q.mean - p.mean
        inv = np.linalg.inv(q.cov)
        _, logdet_q = np.linalg.slogdet(q.cov)
        _, logdet_p = np.linalg.slogdet(p.cov)
        return float(0.5 * (np.trace(inv @ p.cov) + diff @ inv @ diff - p.dim + logdet_q - logdet_p))
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        _, wp, wq = align(p, q)
        return float(np.sum(rel_entr(wp, wq)))
    if _mutually_singular(p, q):
        return float("inf")
    if is_continuous_1d(p) and is_continuous_1d(q):
        return _quad(lambda x: float(rel_entr(p.pdf(x), q.pdf(x))), p, q)
    raise undefined("kl", p, q, "no closed form or exact method for this pair")


def js(p, q) -> float:
    r"""Jensen–Shannon divergence :math:`\frac12 KL(p\|m) + \frac12 KL(q\|m)`, :math:`m = \frac{p+q}2`
    (Lin 1991), in nats; it lies in [0, ln 2], with ln 2 exactly for mutually singular p and q.
    Two normals: a quadrature in each normal's own standard variable, exact in the tails
    (:func:`bitterlab.geometry._normal.js_normal`).

    Examples
    --------
    >>> round(js(Discrete([0.0], [1.0]), Discrete([1.0], [1.0])), 6)
    0.693147
    """
    p, q = as_value(p), as_value(q)
    if isinstance(p, Normal) and isinstance(q, Normal):
        return js_normal(p, q)
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        _, wp, wq = align(p, q)
        m = (wp + wq) / 2
        return float(0.5 * np.sum(rel_entr(wp, m)) + 0.5 * np.sum(rel_entr(wq, m)))
    if _mutually_singular(p, q):
        return float(np.log(2))
    if is_continuous_1d(p) and is_continuous_1d(q):
        def f(x):
            a, b = p.pdf(x), q.pdf(x)
            m = (a + b) / 2
            return float(0.5 * rel_entr(a, m) + 0.5 * rel_entr(b, m))
        return _quad(f, p, q)
    raise undefined("js", p, q, "no closed form or exact method for this pair (e.g. multivariate normals)")


def tv(p, q) -> float:
    r"""Total variation :math:`\sup_A |p(A) - q(A)| = \frac12 \int |dp - dq|`; 1 for mutually singular p, q.

    Two normals: the masses of the interval between the density crossing points, exact in the tails
    (:func:`bitterlab.geometry._normal.tv_normal`).

    Examples
    --------
    >>> tv(Discrete([0.0, 1.0], [0.5, 0.5]), Discrete([0.0, 1.0], [1.0, 0.0]))
    0.5
    """
    p, q = as_value(p), as_value(q)
    if isinstance(p, Normal) and isinstance(q, Normal):
        return tv_normal(p, q)
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        _, wp, wq = align(p, q)
        return float(0.5 * np.abs(wp - wq).sum())
    if _mutually_singular(p, q):
        return 1.0
    if is_continuous_1d(p) and is_continuous_1d(q):
        return _quad(lambda x: 0.5 * abs(float(p.pdf(x) - q.pdf(x))), p, q)
    raise undefined("tv", p, q, "no closed form or exact method for this pair (e.g. multivariate normals)")


def bhattacharyya(p, q) -> float:
    r"""Bhattacharyya coefficient :math:`BC = \int \sqrt{dp\,dq}` (1 for p = q, 0 for disjoint supports).

    Normals: :math:`BC = \sqrt{\frac{2\sigma_1\sigma_2}{\sigma_1^2+\sigma_2^2}}
    \exp\!\big(-\frac{(\mu_1-\mu_2)^2}{4(\sigma_1^2+\sigma_2^2)}\big)`; n-D with
    :math:`\bar\Sigma = (\Sigma_1+\Sigma_2)/2`: :math:`\frac{(\det\Sigma_1\det\Sigma_2)^{1/4}}
    {(\det\bar\Sigma)^{1/2}} \exp(-\frac18 \Delta\mu^T\bar\Sigma^{-1}\Delta\mu)` (Bhattacharyya 1943).
    """
    p, q = as_value(p), as_value(q)
    if isinstance(p, Normal) and isinstance(q, Normal):
        return float(np.exp(log_bhattacharyya(p, q)))
    if isinstance(p, MultivariateNormal | Normal) and isinstance(q, MultivariateNormal | Normal):
        p, q = as_mvn(p), as_mvn(q)
        if p.dim != q.dim:
            raise undefined("hellinger", p, q, f"dimensions differ ({p.dim} vs {q.dim})")
        avg = (p.cov + q.cov) / 2
        diff = p.mean - q.mean
        _, ld_avg = np.linalg.slogdet(avg)
        _, ld_p = np.linalg.slogdet(p.cov)
        _, ld_q = np.linalg.slogdet(q.cov)
        return float(np.exp(0.25 * (ld_p + ld_q) - 0.5 * ld_avg - diff @ np.linalg.solve(avg, diff) / 8))
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        _, wp, wq = align(p, q)
        return float(np.sqrt(wp * wq).sum())
    if _mutually_singular(p, q):
        return 0.0
    if is_continuous_1d(p) and is_continuous_1d(q):
        return _quad(lambda x: float(np.sqrt(p.pdf(x) * q.pdf(x))), p, q)
    raise undefined("bhattacharyya", p, q, "no closed form or exact method for this pair")


def hellinger(p, q) -> float:
    r"""Hellinger distance :math:`H = \sqrt{1 - BC(p, q)}` ∈ [0, 1] (Le Cam & Yang 2000, §3.2); between
    normals as :math:`\sqrt{-\operatorname{expm1}(\log BC)}`, exact when p ≈ q and when they are disjoint.

    Examples
    --------
    >>> hellinger(Normal(0, 1), Normal(0, 1))
    0.0
    """
    if isinstance(p, Normal) and isinstance(q, Normal):
        return hellinger_normal(p, q)
    return float(np.sqrt(max(0.0, 1.0 - min(1.0, bhattacharyya(p, q)))))
