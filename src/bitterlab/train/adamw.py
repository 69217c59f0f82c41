"""AdamW over a stack of models, each with its own learning rate, weight decay and betas.

The shared trainer stacks K models' parameters into one tensor per parameter name, (K, ...). PyTorch's
``torch.optim.AdamW`` takes one learning rate per parameter group, so K learning rates would mean
K groups over K slices. Here the members are ordered so that those with the same hyperparameters are
neighbouring rows of every stack (:func:`order`), and each run of neighbouring live rows with the same
hyperparameters and step count is one call of PyTorch's fused AdamW kernel (``torch._fused_adamw_``,
what ``torch.optim.AdamW(fused=True)`` runs; on the CPU since torch 2.4) over that run's slices of
every parameter, gradient and moment tensor: one pass, whatever the number of parameter tensors.
That is Loshchilov & Hutter 2019, Algorithm 2, as ``torch.optim.AdamW`` computes it:

    θ ← θ · (1 − η λ)
    m ← m + (1 − β₁)(g − m),        v ← β₂ v + (1 − β₂) g²
    θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

(a test checks each member of a stack against ``torch.optim.AdamW`` on that member alone, in float64).
A member whose ``live`` flag is false is in no call: its parameters and moments stay exactly as they
are (it has stopped training). In the trainer all live members step together, so a stack of G
distinct hyperparameter settings costs G kernel calls a step, whatever K. (The kernel is called
directly rather than through the functional ``torch.optim.adamw.adamw``, whose per-call grouping of
tensors by device cost ~55 µs a call: 4 calls took 280 µs against 80 µs direct, 64 members × 1,409 parameters.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

Hyper = tuple[float, float, float, float]  # (lr, weight decay, β₁, β₂)


def order(hypers: Sequence[Hyper]) -> list[int]:
    """Indices that put equal hyperparameters next to each other (a stable sort by first
    appearance), so that each setting is one run of rows."""
    first: dict[Hyper, int] = {}
    for i, h in enumerate(hypers):
        first.setdefault(h, i)
    return sorted(range(len(hypers)), key=lambda i: first[hypers[i]])


class StackedAdamW:
    """AdamW for ``params`` (name → leaf tensor (K, ...)), hyperparameters per member (length K);
    the moments are tensors of the same shapes."""

    def __init__(self, params: dict[str, torch.Tensor], *, lr: Sequence[float], weight_decay: Sequence[float],
                 betas: Sequence[tuple[float, float]], eps: float = 1e-8) -> None:
        k = next(iter(params.values())).shape[0]
        if not (len(lr) == len(weight_decay) == len(betas) == k):
            raise ValueError(f"one learning rate, weight decay and betas per member ({k}) are needed")
        self.params = params
        self.hyper: list[Hyper] = [(float(a), float(w), float(b[0]), float(b[1]))
                                   for a, w, b in zip(lr, weight_decay, betas)]
        self.eps = eps
        self.steps = [0] * k  # each member's step count
        self.m = {n: torch.zeros_like(p, memory_format=torch.contiguous_format) for n, p in params.items()}
        self.v = {n: torch.zeros_like(p, memory_format=torch.contiguous_format) for n, p in params.items()}
        self._views: dict[tuple[int, int], tuple[list[torch.Tensor], ...]] = {}

    def _runs(self, live: list[bool]) -> list[tuple[int, int]]:
        """Maximal [a, b) runs of live rows with equal hyperparameters and step counts."""
        runs: list[tuple[int, int]] = []
        a = None
        for i, on in enumerate([*live, False]):
            if a is not None and (not on or self.hyper[i] != self.hyper[a] or self.steps[i] != self.steps[a]):
                runs.append((a, i))
                a = None
            if on and a is None:
                a = i
        return runs

    @torch.no_grad()
    def step(self, live: torch.Tensor | Sequence[bool]) -> None:
        """One update of the members where ``live`` (K flags) holds; the others are untouched."""
        names = list(self.params)
        grads = {n: p.grad if p.grad is not None else torch.zeros_like(p) for n, p in self.params.items()}
        flags = live.tolist() if isinstance(live, torch.Tensor) else live
        for a, b in self._runs([bool(x) for x in flags]):
            lr, wd, b1, b2 = self.hyper[a]
            for i in range(a, b):
                self.steps[i] += 1
            step = torch.tensor(float(self.steps[a]), device=self.m[names[0]].device)  # read as is: advanced above
            if (a, b) not in self._views:  # the run's slices of the parameters and moments, kept until keep()
                self._views[a, b] = tuple([t[n][a:b] for n in names] for t in (self.params, self.m, self.v))
            ps, ms, vs = self._views[a, b]
            torch._fused_adamw_(ps, [grads[n][a:b] for n in names], ms, vs, [], [step] * len(names), lr=lr,
                                beta1=b1, beta2=b2, weight_decay=wd, eps=self.eps, amsgrad=False, maximize=False)

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def keep(self, rows: torch.Tensor, params: dict[str, torch.Tensor]) -> None:
        """Keep only ``rows`` of the stack; ``params`` are the new (sliced) leaf tensors."""
        self.params, self._views = params, {}
        self.m = {n: t[rows].clone() for n, t in self.m.items()}
        self.v = {n: t[rows].clone() for n, t in self.v.items()}
        idx = rows.tolist()
        self.hyper, self.steps = [self.hyper[i] for i in idx], [self.steps[i] for i in idx]
