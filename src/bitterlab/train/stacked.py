"""A stack of K ``nn.Sequential`` MLPs (Linear layers and elementwise activations) evaluated without vmap.

Under ``torch.func.vmap`` a batched ``nn.Linear`` runs as a batched matmul followed by a separate
bias add, each op dispatched through vmap's batching rules. For a plain MLP the stacked forward is
written directly: on x of shape (K, ..., d_in), layer l computes baddbmm(b_l, h, W_lᵀ) with W_l
(K, out, in) and b_l (K, out) — the same affine maps, one fused kernel per layer. The trainer uses it
only after checking, on the first batch, that the loss built on it equals the vmapped loss (a loss
written for one model may not broadcast over a leading member dimension; then vmap stays).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Identity, nn.LeakyReLU, nn.ELU, nn.Softplus)

Forward = Callable[[dict[str, torch.Tensor], torch.Tensor], torch.Tensor]


def stacked_forward(model: nn.Module) -> Forward | None:
    """``forward(params, x)`` for stacked ``params`` (name → (K, ...)) and x (K, ..., d_in), or ``None``
    when ``model`` is not an ``nn.Sequential`` of ``nn.Linear`` and elementwise activations (or has
    buffers)."""
    if not isinstance(model, nn.Sequential) or any(True for _ in model.buffers()):
        return None
    layers = list(model.named_children())
    if not layers or any(not isinstance(m, (nn.Linear, *ELEMENTWISE)) for _, m in layers):
        return None

    def forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        k, lead = x.shape[0], x.shape[1:-1]
        h = x.reshape(k, -1, x.shape[-1])
        for name, m in layers:
            if isinstance(m, nn.Linear):
                w, b = params[f"{name}.weight"], params.get(f"{name}.bias")
                h = torch.bmm(h, w.transpose(1, 2)) if b is None else torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            else:
                h = m(h)
        return h.reshape(k, *lead, h.shape[-1])

    return forward
