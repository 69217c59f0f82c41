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
    """AdamW for ``params`` (name → leaf tensor (K, ...)), hyperparameters per member (length K)."""

    def __init__(self, params: dict[str, torch.Tensor], *, lr: Sequence[float], weight_decay: Sequence[float],
                 betas: Sequence[tuple[float, float]], eps: float = 1e-8) -> None:
        first = next(iter(params.values()))
        k = first.shape[0]
        if not (len(lr) == len(weight_decay) == len(betas) == k):
            raise ValueError(f"one learning rate, weight decay and betas per member ({k}) are needed")
        self.params = params
        as_t = lambda v: torch.tensor(v, dtype=first.dtype, device=first.device)  # noqa: E731
        self.lr, self.wd = as_t(list(lr)), as_t(list(weight_decay))
        self.b1, self.b2 = as_t([b[0] for b in betas]), as_t([b[1] for b in betas])
        self.eps = eps
        self.t = torch.zeros(k, dtype=first.dtype, device=first.device)  # each member's step count
        self.m = {n: torch.zeros_like(p) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p) for n, p in params.items()}

    @staticmethod
    def _b(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """(K,) broadcast against (K, ...)."""
        return x.view(-1, *([1] * (like.dim() - 1)))

    @torch.no_grad()
    def step(self, live: torch.Tensor) -> None:
        """One update of the members where ``live`` (bool, (K,)) holds; the others are untouched."""
        self.t += live.to(self.t.dtype)
        t = self.t.clamp(min=1.0)
        bc1, bc2_sqrt = 1 - self.b1**t, (1 - self.b2**t).sqrt()
        for n, p in self.params.items():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            on = self._b(live, p)
            b1, b2 = self._b(self.b1, p).expand_as(p), self._b(self.b2, p)
            m = torch.where(on, torch.lerp(self.m[n], g, 1 - b1), self.m[n])
            v = torch.where(on, self.v[n] * b2 + (1 - b2) * g * g, self.v[n])
            self.m[n], self.v[n] = m, v
            decayed = p * (1 - self._b(self.lr * self.wd, p))
            denom = v.sqrt() / self._b(bc2_sqrt, p) + self.eps
            new = decayed - self._b(self.lr / bc1, p) * m / denom
            p.copy_(torch.where(on, new, p))

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def keep(self, rows: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
        """Keep only ``rows`` of the stack; ``params`` are the new (sliced) leaf tensors."""
        self.params = params
        self.m = {n: t[rows].clone() for n, t in self.m.items()}
        self.v = {n: t[rows].clone() for n, t in self.v.items()}
        self.lr, self.wd, self.b1, self.b2, self.t = (x[rows] for x in (self.lr, self.wd, self.b1, self.b2, self.t))
