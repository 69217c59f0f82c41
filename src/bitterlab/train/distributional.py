"""An MLP that predicts a distribution over K ordered bins (softmax outputs), and the per-example
losses between the predicted softmax and target distributions it is trained on by the shared
trainer (:mod:`bitterlab.train.trainer`) — shared model pieces.

Losses (rows of ``target`` sum to 1):

- ``"ce"``: cross-entropy −Σ_k t_k log p_k, i.e. KL(t ‖ p) up to the target's entropy — blind to the
  order of the bins;
- ``"emd2"``: the squared earth mover's distance Σ_k (P_k − T_k)² over the CDFs (Hou, Yu & Samaras
  2016, eq. 3), which charges probability by how far it sits from the target.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

LOSSES = ("ce", "emd2")


def per_example_loss(name: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The loss of each row of ``logits`` (B, K) against ``target`` (B, K), shape (B,)."""
    if name == "ce":
        return -(target * torch.log_softmax(logits, dim=-1)).sum(-1)
    if name == "emd2":
        gap = torch.cumsum(torch.softmax(logits, dim=-1), dim=-1) - torch.cumsum(target, dim=-1)
        return (gap**2).sum(-1)
    raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})")


def distribution_loss(name: str) -> Callable[[Callable[..., torch.Tensor], tuple[torch.Tensor, ...]], torch.Tensor]:
    """The trainer's ``loss(forward, (x, target))`` for loss ``name``: per-example losses (B,)."""
    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})")
    return lambda forward, batch: per_example_loss(name, forward(batch[0]), batch[1])


def predict_distribution(model: nn.Module, x: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """Softmax outputs, (n, K), in float64."""
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        logits = model(torch.as_tensor(x, dtype=dtype, device=device))
    return torch.softmax(logits.double(), dim=-1).cpu().numpy()
