"""Differentiable (torch) losses that respect the geometry of the outcome space.

Used by studies as training losses: W1/squared EMD over ordered bins (metric-loss), and
sliced Wasserstein / Sinkhorn divergence between sample sets (generative), the latter two from POT.
"""

from __future__ import annotations

import numpy as np
import ot
import torch


def w1_ordinal(probs: torch.Tensor, target: torch.Tensor, *, squared: bool = False) -> torch.Tensor:
    r"""W1 between distributions over ordered, unit-spaced bins: :math:`\sum_k |F_p(k) - F_q(k)|`
    (Vallender 1974); with ``squared``, the squared EMD :math:`\sum_k (F_p(k) - F_q(k))^2` of Hou, Yu &
    Samaras (2016, eq. 3). ``probs`` and ``target`` have shape (batch, bins) and rows summing to 1;
    returns the batch mean."""
    if probs.shape != target.shape:
        raise ValueError(f"w1_ordinal: shapes differ, {tuple(probs.shape)} vs {tuple(target.shape)}")
    gap = torch.cumsum(probs, dim=-1) - torch.cumsum(target, dim=-1)
    per_row = (gap**2).sum(-1) if squared else gap.abs().sum(-1)
    return per_row.mean()


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, *, n_projections: int = 64, order: int = 2,
                       seed: int | None = None) -> torch.Tensor:
    r"""Sliced Wasserstein distance :math:`(\mathbb E_\theta W_p^p(\theta^\top x, \theta^\top y))^{1/p}`
    between two sample sets (Bonneel et al. 2015), Monte Carlo over ``n_projections`` directions
    (``ot.sliced_wasserstein_distance``); differentiable in x and y."""
    return ot.sliced_wasserstein_distance(x, y, n_projections=n_projections, p=order, seed=seed)


def sliced_wasserstein_batched(x: torch.Tensor, y: torch.Tensor, projections: torch.Tensor) -> torch.Tensor:
    r"""S independent sliced W2 distances at once, for training S models together: x, y (S, n, d) with
    equally many points, ``projections`` (S, P, d) unit directions. In 1-D, W2² between two equal-size
    empirical measures pairs their sorted points, so per model
    :math:`SW_2 = (\frac1P \sum_\theta \frac1n \sum_i (\theta^\top x_{(i)} - \theta^\top y_{(i)})^2)^{1/2}`
    (Bonneel et al. 2015) — the value ``ot.sliced_wasserstein_distance`` gives with the same
    projections (tested); POT computes one problem per call, too slow to train ten models per step."""
    if x.shape != y.shape or x.ndim != 3 or projections.ndim != 3 or projections.shape[0] != x.shape[0]:
        raise ValueError("sliced_wasserstein_batched: x and y (S, n, d) of one shape, projections (S, P, d)")
    px = _sort_last(torch.bmm(projections, x.transpose(1, 2)))  # (S, P, n): one row per direction
    py = _sort_last(torch.bmm(projections, y.transpose(1, 2)))
    return ((px - py) ** 2).mean(dim=(1, 2)).sqrt()


def _sort_last(t: torch.Tensor) -> torch.Tensor:
    """``t`` sorted along its last dimension, differentiably (a gather by the sorting permutation). On
    CPU the permutation comes from NumPy's argsort: ~3x faster than ``torch.sort`` on rows of 128
    (measured, one thread), the same values."""
    if t.device.type != "cpu":
        return torch.sort(t, dim=-1).values
    order = torch.from_numpy(np.argsort(t.detach().numpy(), axis=-1))
    return torch.gather(t, -1, order)


def sinkhorn_divergence(x: torch.Tensor, y: torch.Tensor, *, reg: float = 0.1) -> torch.Tensor:
    r"""Debiased Sinkhorn divergence :math:`S_\varepsilon = OT_\varepsilon(x, y) - \frac12 OT_\varepsilon(x, x)
    - \frac12 OT_\varepsilon(y, y)` with squared Euclidean cost (Genevay, Peyré & Cuturi 2018; Feydy et al.
    2019), via ``ot.bregman.empirical_sinkhorn_divergence`` (log domain, tolerance 1e-6); differentiable, and 0 iff x and y agree."""
    value = ot.bregman.empirical_sinkhorn_divergence(x, y, reg, metric="sqeuclidean", method="sinkhorn_log",
                                                     stopThr=1e-6, numIterMax=5000)
    return value.reshape(())
