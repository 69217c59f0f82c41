"""Many small MLPs trained as one: per-seed weights stacked along a batch axis.

For S models that differ only by seed (and data), the weights of layer l are stacked into
W_l (S, out, in) and b_l (S, out), and the forward pass is h ← relu(baddbmm(b_l, h, W_lᵀ)) on
inputs of shape (S, n, d). The summed loss Σ_s L_s separates, so ∂(Σ L)/∂θ_s = ∂L_s/∂θ_s, and Adam
and the cosine schedule act elementwise: every model follows exactly the updates it would alone,
up to the order of floating-point sums inside the batched matmuls. Training amplifies that rounding:
in float32, weights that agree to 1e-8 after one Adam step differ by ~1e-4 after 500, and a ReLU
net's forecast far outside its window by up to 15% (measured on the seasonal study) — a measure of
how chaotic the training is; in float64 they agree to ~1e-10 (tested). Rounding also depends on
the batch size, so a trial rerun in another group (after an interrupted sweep) agrees to rounding,
not bit for bit; a finished trial is never rerun. Models see different numbers
of points (seeds hold out different points), so inputs are padded to the longest and each loss is
a masked mean.

Each model's initial weights are those ``mlp`` draws after ``torch.manual_seed(seed)`` — the state
:func:`bitterlab.engine.run.run_trial` leaves — so a batched trial matches its one-by-one twin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from bitterlab.train.mlp import FitConfig, Fitted, mlp, n_params, training_flops


@dataclass(frozen=True)
class Diverging:
    """A model of the batch whose loss stopped being finite (the others train on)."""

    step: int
    loss: float


def _stack(xs: list[np.ndarray], device: str, dtype: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a list of (n_s, d) arrays to (S, n_max, d) and return it with the (S, n_max) mask."""
    n_max = max(len(x) for x in xs)
    out = np.zeros((len(xs), n_max, xs[0].shape[1]), dtype=dtype)
    mask = np.zeros((len(xs), n_max), dtype=dtype)
    for i, x in enumerate(xs):
        out[i, : len(x)] = x
        mask[i, : len(x)] = 1.0
    return torch.as_tensor(out, device=device), torch.as_tensor(mask, device=device)


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


def fit_regressors(xs: list[np.ndarray], ys: list[np.ndarray], cfg: FitConfig, seeds: list[int], *,
                   device: str = "cpu") -> list[Fitted | Diverging]:
    """Fit one ``mlp`` per (x, y, seed) by full-batch Adam on mean squared error, all at once.

    Returns, per model, a :class:`~bitterlab.train.mlp.Fitted` (with an ordinary ``nn.Sequential``)
    or a :class:`Diverging` with the first step whose loss was not finite.
    """
    if not (len(xs) == len(ys) == len(seeds)) or not xs:
        raise ValueError("fit_regressors needs as many inputs, targets and seeds, at least one")
    in_dim, out_dim = xs[0].shape[1], (1 if ys[0].ndim == 1 else ys[0].shape[1])
    models, params = stacked_mlps(seeds, in_dim, cfg.width, cfg.depth, out_dim, device=device, dtype=cfg.dtype)
    x, mask = _stack(xs, device, cfg.dtype)
    y, _ = _stack([np.asarray(t, float).reshape(len(t), -1) for t in ys], device, cfg.dtype)
    counts = mask.sum(1)
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.steps)
    failed: dict[int, Diverging] = {}
    losses = torch.full((len(xs),), float("nan"))
    for step in range(cfg.steps):
        opt.zero_grad(set_to_none=True)
        sq = ((batched_forward(params, x) - y) ** 2).mean(-1) * mask
        losses = sq.sum(1) / counts
        bad = ~torch.isfinite(losses)
        if bad.any():
            for s in torch.nonzero(bad).flatten().tolist():
                failed.setdefault(s, Diverging(step=step, loss=float(losses[s].detach())))
            losses = torch.where(bad, torch.zeros_like(losses), losses)  # its own weights go NaN; no one else's
        losses.sum().backward()
        opt.step()
        sched.step()
    out: list[Fitted | Diverging] = []
    for s, model in enumerate(models):
        if s in failed:
            out.append(failed[s])
            continue
        with torch.no_grad():
            for j, p in enumerate(model.parameters()):
                p.copy_(params[j][s])
        k = n_params(model)
        out.append(Fitted(model=model, params=k, flops=training_flops(k, len(xs[s]), cfg.steps), steps=cfg.steps,
                          final_loss=float(losses[s].detach())))
    return out
