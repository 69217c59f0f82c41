"""Geodesics between distributions: Fisher–Rao, Wasserstein (McCann displacement) and mixture paths.

Each returns a callable ``t ↦ distribution`` for t ∈ [0, 1], with γ(0) = p and γ(1) = q.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import ot
from scipy import linalg

from bitterlab.geometry._support import align, as_value, undefined
from bitterlab.geometry.distributions import Discrete, Mixture, MultivariateNormal, Normal
from bitterlab.geometry.fisher_rao import halfplane


def _check_t(t: float) -> float:
    if not 0 <= t <= 1:
        raise ValueError(f"t must lie in [0, 1], got {t}")
    return float(t)


def fisher_rao_geodesic(p: Normal, q: Normal) -> Callable[[float], Normal]:
    r"""The Fisher–Rao geodesic between univariate normals, at constant speed.

    In the half-plane coordinates :math:`(\mu/\sqrt2, \sigma)` geodesics are vertical lines (equal
    means) or semicircles centred on the axis σ = 0 (Costa, Santos & Strapasson 2015, §3). A semicircle
    of centre c and radius r is traversed at unit hyperbolic speed by
    :math:`(c + r\tanh s,\; r/\cosh s)`, so γ(t) takes s = s₀ + t (s₁ − s₀). Between N(−a, 1) and
    N(a, 1) the path first widens the variance, then narrows it: σ peaks mid-way.
    """
    p, q = as_value(p), as_value(q)
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        return _categorical_geodesic(p, q)
    if not (isinstance(p, Normal) and isinstance(q, Normal)):
        raise undefined("fisher_rao_geodesic", p, q, "implemented for two univariate normals or two categoricals")
    (x0, y0), (x1, y1) = halfplane(p), halfplane(q)
    if abs(x1 - x0) <= 1e-7 * max(y0, y1):  # (numerically) equal means: the vertical geodesic
        def vertical(t: float) -> Normal:
            t = _check_t(t)
            return Normal((1 - t) * p.mean + t * q.mean, float(y0 * (y1 / y0) ** t))
        return vertical
    c = ((x1**2 + y1**2) - (x0**2 + y0**2)) / (2 * (x1 - x0))
    r = np.hypot(x0 - c, y0)
    s0, s1 = np.arcsinh((x0 - c) / y0), np.arcsinh((x1 - c) / y1)  # sinh s = (x − c)/y on the arc

    def arc(t: float) -> Normal:
        t = _check_t(t)
        s = s0 + t * (s1 - s0)
        return Normal(float(np.sqrt(2) * (c + r * np.tanh(s))), float(r / np.cosh(s)))

    return arc


def _categorical_geodesic(p: Discrete, q: Discrete) -> Callable[[float], Discrete]:
    r"""Categorical Fisher–Rao geodesic: a great circle on the sphere :math:`\sqrt p`,
    :math:`\sqrt{p_t} = \frac{\sin((1-t)\theta)}{\sin\theta}\sqrt p + \frac{\sin(t\theta)}{\sin\theta}\sqrt q`,
    :math:`\theta = \arccos\sum_i\sqrt{p_i q_i}` (Amari & Nagaoka 2000, §2.5)."""
    union, wp, wq = align(p, q)
    a, b = np.sqrt(wp), np.sqrt(wq)
    theta = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))

    def slerp(t: float) -> Discrete:
        t = _check_t(t)
        if theta < 1e-12:
            return Discrete(union, wp, normalize=True)
        root = (np.sin((1 - t) * theta) * a + np.sin(t * theta) * b) / np.sin(theta)
        return Discrete(union, root**2, normalize=True)

    return slerp


def wasserstein_geodesic(p, q) -> Callable[[float], Normal | MultivariateNormal | Discrete]:
    r"""The W2 geodesic (McCann 1997 displacement interpolation) :math:`\gamma(t) = ((1-t)\,\mathrm{id} + t\,T)_\# p`.

    - Normals: :math:`\mu_t = (1-t)\mu_0 + t\mu_1`, :math:`\sigma_t = (1-t)\sigma_0 + t\sigma_1`: the shape is
      kept and the mean moves straight. n-D: :math:`\Sigma_t = ((1-t)I + tT)\Sigma_0((1-t)I + tT)` with
      :math:`T = \Sigma_0^{-1/2}(\Sigma_0^{1/2}\Sigma_1\Sigma_0^{1/2})^{1/2}\Sigma_0^{-1/2}`
      (Peyré & Cuturi 2019, Remark 2.31).
    - Discrete / empirical: the optimal plan π (``ot.emd``, squared Euclidean cost) moves mass
      :math:`\pi_{ij}` from :math:`x_i` to :math:`y_j` along a straight line:
      :math:`\gamma(t) = \sum_{ij} \pi_{ij}\, \delta_{(1-t)x_i + t y_j}` (Peyré & Cuturi 2019, §7.1).
    """
    p, q = as_value(p), as_value(q)
    if isinstance(p, Normal) and isinstance(q, Normal):
        return lambda t: Normal((1 - _check_t(t)) * p.mean + t * q.mean, (1 - t) * p.std + t * q.std)
    if isinstance(p, MultivariateNormal) and isinstance(q, MultivariateNormal):
        if p.dim != q.dim:
            raise undefined("wasserstein_geodesic", p, q, "dimensions differ")
        root = np.real(linalg.sqrtm(p.cov))
        inv_root = np.linalg.pinv(root)
        transport = inv_root @ np.real(linalg.sqrtm(root @ q.cov @ root)) @ inv_root
        eye = np.eye(p.dim)

        def gaussian(t: float) -> MultivariateNormal:
            t = _check_t(t)
            m = (1 - t) * eye + t * transport
            cov = m @ p.cov @ m
            return MultivariateNormal((1 - t) * p.mean + t * q.mean, (cov + cov.T) / 2)

        return gaussian
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        if p.dim != q.dim:
            raise undefined("wasserstein_geodesic", p, q, "dimensions differ")
        xp = p.points.reshape(len(p.points), -1)
        xq = q.points.reshape(len(q.points), -1)
        plan = ot.emd(p.weights, q.weights, ot.dist(xp, xq))
        i, j = np.nonzero(plan > 1e-15)
        mass = plan[i, j] / plan[i, j].sum()

        def displaced(t: float) -> Discrete:
            t = _check_t(t)
            pts = (1 - t) * xp[i] + t * xq[j]
            return Discrete(pts if p.dim > 1 else pts[:, 0], mass, normalize=True)

        return displaced
    raise undefined("wasserstein_geodesic", p, q, "implemented for two normals or two discrete distributions")


def mixture_geodesic(p, q) -> Callable[[float], Mixture | Discrete]:
    r"""The mixture path :math:`\gamma(t) = (1-t)\,p + t\,q`: a geodesic of total variation
    (:math:`TV(p, \gamma(t)) = t\,TV(p, q)`), the "m-geodesic" of information geometry (Amari 2016, §2.3).
    The mass fades out at p and in at q; nothing moves."""
    p, q = as_value(p), as_value(q)
    if isinstance(p, Normal) and isinstance(q, Normal):
        return lambda t: Mixture((p, q), (1 - _check_t(t), t))
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        union, wp, wq = align(p, q)
        return lambda t: Discrete(union, (1 - _check_t(t)) * wp + t * wq, normalize=True)
    raise undefined("mixture_geodesic", p, q, "implemented for two normals or two discrete distributions")
