"""Wasserstein distances W_p (exact) and entropic (Sinkhorn) optimal transport, via POT."""

from __future__ import annotations

import numpy as np
import ot
from scipy import integrate, linalg

from bitterlab.geometry._support import as_mvn, as_value, is_1d, undefined
from bitterlab.geometry.distributions import Discrete, MultivariateNormal, Normal


def _quantile_wp(p, q, order: int) -> float:
    r""":math:`W_p^p = \int_0^1 |F^{-1}(u) - G^{-1}(u)|^p du` for 1-D distributions (Villani 2003, Thm 2.18)."""
    breaks = []
    for d in (p, q):
        if isinstance(d, Discrete):
            breaks += list(np.cumsum(d.weights)[:-1])
    breaks = sorted(b for b in set(breaks) if 0 < b < 1)

    def f(u: float) -> float:
        return abs(float(np.ravel(p.ppf(u))[0]) - float(np.ravel(q.ppf(u))[0])) ** order

    value, _ = integrate.quad(f, 0, 1, points=breaks or None, limit=400, epsabs=1e-12, epsrel=1e-9)
    return float(value)


def bures(a: np.ndarray, b: np.ndarray) -> float:
    r"""Squared Bures distance :math:`\operatorname{tr}(A + B - 2(A^{1/2} B A^{1/2})^{1/2})`
    (Peyré & Cuturi 2019, Remark 2.31)."""
    ra = linalg.sqrtm(a)
    cross = linalg.sqrtm(ra @ b @ ra)
    return float(np.real(np.trace(a + b - 2 * cross)))


def wasserstein(p, q, order: int = 2) -> float:
    r"""Wasserstein distance :math:`W_p(p, q) = (\min_{\pi \in \Pi(p,q)} \int |x-y|^p d\pi)^{1/p}`, p ∈ {1, 2}.

    - Normals, order 2: :math:`W_2^2 = (\mu_1-\mu_2)^2 + (\sigma_1-\sigma_2)^2`; in n-D
      :math:`|\mu_1-\mu_2|^2 + \mathcal B^2(\Sigma_1, \Sigma_2)` (Bures; Peyré & Cuturi 2019, Remark 2.31).
    - 1-D (any pair of Normal, Mixture, Discrete): exact from quantile functions.
    - Discrete in R^d: the exact linear program (``ot.emd2``) with cost :math:`|x-y|^p`.

    Examples
    --------
    >>> wasserstein(Normal(0, 1), Normal(10, 1))
    10.0
    """
    if order not in (1, 2):
        raise ValueError(f"wasserstein: order must be 1 or 2, got {order}")
    p, q = as_value(p), as_value(q)
    if order == 2 and isinstance(p, Normal) and isinstance(q, Normal):
        return float(np.hypot(p.mean - q.mean, p.std - q.std))
    if isinstance(p, MultivariateNormal) or isinstance(q, MultivariateNormal):
        p, q = as_mvn(p), as_mvn(q)
        if not (isinstance(p, MultivariateNormal) and isinstance(q, MultivariateNormal)) or p.dim != q.dim:
            raise undefined("wasserstein", p, q, "needs two normals of the same dimension")
        if order != 2:
            raise undefined("wasserstein", p, q, "order 1 has no closed form for multivariate normals; use order=2")
        return float(np.sqrt(max(0.0, np.sum((p.mean - q.mean) ** 2) + bures(p.cov, q.cov))))
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        if p.dim != q.dim:
            raise undefined("wasserstein", p, q, f"dimensions differ ({p.dim} vs {q.dim})")
        if p.dim == 1:
            return float(ot.wasserstein_1d(p.points, q.points, p.weights, q.weights, p=order) ** (1 / order))
        cost = ot.dist(p.points, q.points, metric="euclidean") ** order
        return float(ot.emd2(p.weights, q.weights, cost) ** (1 / order))
    if is_1d(p) and is_1d(q):
        return _quantile_wp(p, q, order) ** (1 / order)
    raise undefined("wasserstein", p, q, "no exact method for this pair")


def sinkhorn(p, q, reg: float, order: int = 2) -> float:
    r"""Entropic optimal transport cost :math:`\min_\pi \langle \pi, C\rangle - \varepsilon H(\pi)`'s
    transport term :math:`\langle \pi_\varepsilon, C\rangle`, :math:`C_{ij} = |x_i - y_j|^p`, computed by
    ``ot.sinkhorn2`` in the log domain (Cuturi 2013; stable for small reg). It tends to :math:`W_p^p` as ``reg`` → 0. Discrete/empirical only.
    """
    if reg <= 0:
        raise ValueError(f"sinkhorn: reg must be positive, got {reg}")
    p, q = as_value(p), as_value(q)
    if not (isinstance(p, Discrete) and isinstance(q, Discrete)):
        raise undefined("sinkhorn", p, q, "defined here between discrete or empirical distributions")
    if p.dim != q.dim:
        raise undefined("sinkhorn", p, q, f"dimensions differ ({p.dim} vs {q.dim})")
    xp = p.points.reshape(len(p.points), -1)
    xq = q.points.reshape(len(q.points), -1)
    cost = ot.dist(xp, xq, metric="euclidean") ** order
    return float(ot.sinkhorn2(p.weights, q.weights, cost, reg, method="sinkhorn_log", numItermax=20000, stopThr=1e-10))
