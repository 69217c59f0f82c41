"""The three regimes — discrete, shared support, disjoint support — and W's continuity as ε → 0.

Point masses at x and x + ε: W_p = ε, while KL = ∞, JS = ln 2, TV = 1, Hellinger = 1 and
Fisher–Rao = π for every ε > 0, and all are 0 at ε = 0. Only W sees that the points are close
(Arjovsky, Chintala & Bottou 2017, Example 1).
"""

from __future__ import annotations

import math

from bitterlab.geometry.distributions import Discrete, Normal
from bitterlab.geometry.divergences import hellinger, js, kl, tv
from bitterlab.geometry.fisher_rao import fisher_rao
from bitterlab.geometry.wasserstein import wasserstein

MEASURES = {"KL": kl, "JS": js, "TV": tv, "Hellinger": hellinger, "Fisher-Rao": fisher_rao,
            "W1": lambda p, q: wasserstein(p, q, 1), "W2": lambda p, q: wasserstein(p, q, 2)}


def regime_pairs(eps: float = 0.1) -> dict[str, tuple[object, object, str]]:
    return {
        "discrete": (Discrete([0.0, 1.0, 2.0], [0.5, 0.3, 0.2]), Discrete([0.0, 1.0, 2.0], [0.2, 0.3, 0.5]),
                     "categorical on bins {0,1,2}: (0.5,0.3,0.2) vs (0.2,0.3,0.5)"),
        "shared support": (Normal(0.0, 1.0), Normal(1.0, 1.0), "N(0,1) vs N(1,1)"),
        "disjoint support": (Discrete([0.0], [1.0]), Discrete([eps], [1.0]), f"δ(0) vs δ({eps:g})"),
    }


def regimes_table(eps: float = 0.1) -> list[dict[str, object]]:
    """One row per regime: every measure, or ``None`` where it is not defined for that pair."""
    rows = []
    for regime, (p, q, what) in regime_pairs(eps).items():
        row: dict[str, object] = {"regime": regime, "pair": what}
        for name, fn in MEASURES.items():
            try:
                row[name] = fn(p, q)
            except ValueError:
                row[name] = None
        rows.append(row)
    return rows


def continuity_table(epsilons=(1.0, 0.1, 0.01, 0.001, 0.0)) -> list[dict[str, float]]:
    """δ(0) vs δ(ε) as ε → 0: W1 = ε falls continuously; KL, TV jump to 0 only at ε = 0."""
    rows = []
    for eps in epsilons:
        p, q = Discrete([0.0], [1.0]), Discrete([eps], [1.0])
        rows.append({"eps": eps, "W1": wasserstein(p, q, 1), "KL": kl(p, q), "TV": tv(p, q),
                     "JS/ln2": js(p, q) / math.log(2)})
    return rows
