"""Many small MLPs as one: per-seed weights stacked along a batch axis (used by studies with their own
training loop, e.g. generative; the others train through :mod:`bitterlab.train.trainer`, which batches
any model with ``torch.func.vmap``).

For S models that differ only by seed (and data), the weights of layer l are stacked into
W_l (S, out, in) and b_l (S, out), and the forward pass is h ← relu(baddbmm(b_l, h, W_lᵀ)) on
inputs of shape (S, n, d). The summed loss Σ_s L_s separates, so ∂(Σ L)/∂θ_s = ∂L_s/∂θ_s, and an
elementwise optimiser gives every model the updates it would get alone, up to the order of
floating-point sums inside the batched matmuls.

Each model's initial weights are those ``mlp`` draws after ``torch.manual_seed(seed)`` — the state
:func:`bitterlab.engine.run.run_trial` leaves — so a batched trial matches its one-by-one twin.
"""

from __future__ import annotations

import torch

from bitterlab.train.mlp import mlp


def batched_forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Stacked MLP: params alternate W (S, out, in) and b (S, out); x (S, n, d) → (S, n, out)."""
    h = x
    last = len(params) // 2 - 1
    for i in range(0, len(params), 2):
        h = torch.baddbmm(params[i + 1].unsqueeze(1), h, params[i].transpose(1, 2))
        if i // 2 < last:
            h = torch.relu(h)
    return h


def stacked_mlps(seeds: list[int], in_dim: int, width: int, depth: int, out_dim: int, *, device: str = "cpu",
                 dtype: str = "float32") -> tuple[list[torch.nn.Sequential], list[torch.Tensor]]:
    """One ``mlp`` per seed, each initialised after ``torch.manual_seed(seed)`` (as it would be alone),
    and their parameters stacked for :func:`batched_forward` (leaf tensors that require grad)."""
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(mlp(in_dim, width, depth, out_dim).to(device=device, dtype=getattr(torch, dtype)))
    params = [torch.stack([list(m.parameters())[j].detach() for m in models]).clone().requires_grad_(True)
              for j in range(len(list(models[0].parameters())))]
    return models, params
