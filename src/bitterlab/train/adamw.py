"""AdamW over a stack of models, each with its own learning rate, weight decay and betas.

The shared trainer stacks K models' parameters into one tensor per parameter name, (K, ...). PyTorch's
``torch.optim.AdamW`` takes one learning rate per parameter group, so K learning rates would mean
K groups over K slices (or one group per distinct rate and a ``torch.cat`` of the groups at every
step). This is the same update, written once over the stack with the hyperparameters as (K,) tensors
broadcast along each parameter's trailing dimensions. It follows ``torch.optim.AdamW``
(``foreach=False``, ``amsgrad=False``) operation for operation — Loshchilov & Hutter 2019, Algorithm 2:

    θ ← θ · (1 − η λ)
    m ← m + (1 − β₁)(g − m),        v ← β₂ v + (1 − β₂) g²
    θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

so that a stack of one equals PyTorch's optimiser to rounding (a test checks it in float64). A member
whose ``live`` flag is false is left exactly as it is (parameters and moments): it has stopped training.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


class StackedAdamW:
    """AdamW for ``params`` (name → leaf tensor (K, ...)), hyperparameters per member (length K).

    The moments are kept as one (K, P) tensor over all P parameters of a member, so that a step is
    about fifteen elementwise operations on one tensor whatever the number of parameter tensors (the
    models batched here are small: per-operation dispatch, not arithmetic, is what an update costs)."""

    def __init__(self, params: dict[str, torch.Tensor], *, lr: Sequence[float], weight_decay: Sequence[float],
                 betas: Sequence[tuple[float, float]], eps: float = 1e-8) -> None:
        first = next(iter(params.values()))
        k = first.shape[0]
        if not (len(lr) == len(weight_decay) == len(betas) == k):
            raise ValueError(f"one learning rate, weight decay and betas per member ({k}) are needed")
        self.params = params
        as_t = lambda v: torch.tensor(v, dtype=first.dtype, device=first.device).unsqueeze(1)  # noqa: E731
        self.lr, self.wd = as_t(list(lr)), as_t(list(weight_decay))  # (K, 1), broadcast along P
        self.b1, self.b2 = as_t([b[0] for b in betas]), as_t([b[1] for b in betas])
        self.eps = eps
        self.t = torch.zeros(k, 1, dtype=first.dtype, device=first.device)  # each member's step count
        width = sum(p[0].numel() for p in params.values())
        self.m = torch.zeros(k, width, dtype=first.dtype, device=first.device)
        self.v = torch.zeros_like(self.m)

    def _flat(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        k = self.m.shape[0]
        return torch.cat([t.reshape(k, -1) for t in tensors], dim=1)

    @torch.no_grad()
    def step(self, live: torch.Tensor) -> None:
        """One update of the members where ``live`` (bool, (K,)) holds; the others are untouched."""
        on = live.view(-1, 1)
        self.t += on.to(self.t.dtype)
        t = self.t.clamp(min=1.0)
        bc1, bc2_sqrt = 1 - self.b1**t, (1 - self.b2**t).sqrt()
        ps = list(self.params.values())
        p = self._flat([q.detach() for q in ps])
        g = self._flat([q.grad if q.grad is not None else torch.zeros_like(q) for q in ps])
        m = torch.where(on, torch.lerp(self.m, g, (1 - self.b1).expand_as(g)), self.m)
        self.v = torch.where(on, self.v * self.b2 + (1 - self.b2) * g * g, self.v)
        self.m = m
        decayed = p * (1 - self.lr * self.wd)
        new = torch.where(on, decayed - (self.lr / bc1) * m / (self.v.sqrt() / bc2_sqrt + self.eps), p)
        offset = 0
        for q in ps:
            n = q[0].numel()
            q.copy_(new[:, offset: offset + n].view_as(q))
            offset += n

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def keep(self, rows: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
        """Keep only ``rows`` of the stack; ``params`` are the new (sliced) leaf tensors."""
        self.params = params
        self.m, self.v = self.m[rows].clone(), self.v[rows].clone()
        self.lr, self.wd, self.b1, self.b2, self.t = (x[rows] for x in (self.lr, self.wd, self.b1, self.b2, self.t))
