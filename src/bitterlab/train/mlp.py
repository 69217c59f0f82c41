"""A ReLU multilayer perceptron and its cost (shared model pieces; training is
:mod:`bitterlab.train.trainer`'s)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def mlp(in_dim: int, width: int, depth: int, out_dim: int = 1) -> nn.Sequential:
    """``depth`` hidden ReLU layers of ``width`` units: x -> Linear -> ReLU -> ... -> Linear."""
    if min(in_dim, width, depth, out_dim) < 1:
        raise ValueError("mlp: in_dim, width, depth and out_dim must be >= 1")
    layers: list[nn.Module] = []
    d = in_dim
    for _ in range(depth):
        layers += [nn.Linear(d, width), nn.ReLU()]
        d = width
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def training_flops(params: int, n_examples: int, steps: int) -> float:
    """≈ 6 · params · examples · steps: 2 FLOPs per weight forward, 4 backward (Kaplan et al. 2020, §2.1)."""
    return 6.0 * params * n_examples * steps


def predict(model: nn.Module, x: np.ndarray, *, device: str = "cpu") -> np.ndarray:
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        out = model(torch.as_tensor(x, dtype=dtype, device=device))
    return out.cpu().numpy().reshape(len(x), -1).squeeze(-1)
