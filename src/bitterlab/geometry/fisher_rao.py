"""The Fisher–Rao distance: the geodesic distance of the Fisher information metric."""

from __future__ import annotations

import math

import numpy as np

from bitterlab.geometry._support import as_value, undefined
from bitterlab.geometry.distributions import Discrete, Normal
from bitterlab.geometry.divergences import bhattacharyya


def halfplane(p: Normal) -> tuple[float, float]:
    """The point (μ/√2, σ) of the hyperbolic upper half-plane that represents N(μ, σ²)."""
    return p.mean / math.sqrt(2), p.std


def fisher_rao(p, q) -> float:
    r"""Fisher–Rao distance.

    Categorical (Discrete on a shared support; Rao 1945, Amari & Nagaoka 2000 §2.5): the sphere map
    :math:`p \mapsto 2\sqrt p` gives :math:`d = 2\arccos\sum_i \sqrt{p_i q_i}`, at most π (disjoint supports).

    Univariate normals (Costa, Santos & Strapasson 2015, eq. (10)): the Fisher metric
    :math:`ds^2 = (d\mu^2 + 2\,d\sigma^2)/\sigma^2` is √2 times the hyperbolic half-plane metric at
    :math:`(\mu/\sqrt2, \sigma)`, so
    :math:`d = \sqrt2\,\operatorname{arccosh}\!\Big(1 + \frac{(\mu_1-\mu_2)^2/2 + (\sigma_1-\sigma_2)^2}
    {2\sigma_1\sigma_2}\Big) = 2\sqrt2\,\operatorname{arcsinh}\frac{\|(\Delta\mu/\sqrt2, \Delta\sigma)\|}{2\sqrt{\sigma_1\sigma_2}}`.

    Examples
    --------
    >>> round(fisher_rao(Normal(0, 1), Normal(0, np.e)), 6)  # same mean: sqrt(2)·|log(σ2/σ1)|
    1.414214
    """
    p, q = as_value(p), as_value(q)
    if isinstance(p, Normal) and isinstance(q, Normal):
        # arccosh(1 + t) = 2 arcsinh(sqrt(t / 2)): no square to overflow (means of 1e200), no 1 + t to
        # round away (nearly equal normals)
        (x1, y1), (x2, y2) = halfplane(p), halfplane(q)
        chord = math.hypot(x1 - x2, y1 - y2) / (2 * math.sqrt(y1) * math.sqrt(y2))
        return 2 * math.sqrt(2) * math.asinh(chord)
    if isinstance(p, Discrete) and isinstance(q, Discrete):
        return float(2 * np.arccos(np.clip(bhattacharyya(p, q), -1.0, 1.0)))
    raise undefined("fisher_rao", p, q, "implemented for two categorical (Discrete) or two univariate normal "
                    "distributions, which lie on one statistical manifold")
