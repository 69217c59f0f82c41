"""An MLP that predicts a distribution over K ordered bins, trained by full-batch Adam on a chosen
loss between the predicted softmax and target distributions (shared model piece).

Losses (rows of ``target`` sum to 1):

- ``"ce"``: cross-entropy −Σ_k t_k log p_k, i.e. KL(t ‖ p) up to the target's entropy — blind to the
  order of the bins;
- ``"emd2"``: the squared earth mover's distance Σ_k (P_k − T_k)² over the CDFs (Hou, Yu & Samaras
  2016, eq. 3), which charges probability by how far it sits from the target.
"""

from __future__ import annotations

import numpy as np
import torch

from bitterlab.geometry.losses import w1_ordinal
from bitterlab.train.mlp import FitConfig, Fitted, mlp, train

LOSSES = ("ce", "emd2")


def _loss(name: str, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if name == "ce":
        return -(target * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
    if name == "emd2":
        return w1_ordinal(torch.softmax(logits, dim=-1), target, squared=True)
    raise ValueError(f"unknown loss {name!r} (known: {', '.join(LOSSES)})")


def fit_distribution(x: np.ndarray, target: np.ndarray, loss: str, cfg: FitConfig, *,
                     device: str = "cpu") -> Fitted:
    """Fit ``mlp(d, width, depth, K)`` with softmax outputs to (x, target distributions (n, K)).

    Raises :class:`~bitterlab.engine.run.Diverged` if the loss becomes non-finite."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r} (known: {', '.join(LOSSES)})")
    dtype = getattr(torch, cfg.dtype)
    xt = torch.as_tensor(x, dtype=dtype, device=device)
    tt = torch.as_tensor(target, dtype=dtype, device=device)
    model = mlp(xt.shape[1], cfg.width, cfg.depth, tt.shape[1]).to(device=device, dtype=dtype)
    return train(model, len(xt), lambda: _loss(loss, model(xt), tt), cfg)


def predict_distribution(fitted: Fitted, x: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    """Softmax outputs, (n, K), in float64."""
    dtype = next(fitted.model.parameters()).dtype
    with torch.no_grad():
        logits = fitted.model(torch.as_tensor(x, dtype=dtype, device=device))
    return torch.softmax(logits.double(), dim=-1).cpu().numpy()
