"""Geometry of probability distributions: divergences, distances, geodesics, animations.

Imports nothing else from bitterlab.
"""

from bitterlab.geometry.animate import geodesic_animation
from bitterlab.geometry.distributions import Discrete, Empirical, Mixture, MultivariateNormal, Normal
from bitterlab.geometry.divergences import bhattacharyya, hellinger, js, kl, tv
from bitterlab.geometry.fisher_rao import fisher_rao
from bitterlab.geometry.geodesics import fisher_rao_geodesic, mixture_geodesic, wasserstein_geodesic
from bitterlab.geometry.losses import (sinkhorn_divergence, sliced_wasserstein, sliced_wasserstein_batched,
                                       w1_ordinal)
from bitterlab.geometry.parse import parse_distribution
from bitterlab.geometry.regimes import continuity_table, regimes_table
from bitterlab.geometry.wasserstein import sinkhorn, wasserstein

__all__ = ["Discrete", "Empirical", "Mixture", "MultivariateNormal", "Normal", "bhattacharyya",
           "continuity_table", "fisher_rao", "fisher_rao_geodesic", "geodesic_animation", "hellinger", "js",
           "kl", "mixture_geodesic", "parse_distribution", "regimes_table", "sinkhorn", "sinkhorn_divergence",
           "sliced_wasserstein", "sliced_wasserstein_batched", "tv", "w1_ordinal", "wasserstein", "wasserstein_geodesic"]
