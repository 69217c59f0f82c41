"""The one trainer of every neural study: AdamW, minibatch or full batch, early stopping on a
validation split with patience, the best-validation weights restored, and a record of whether
training converged — for many models at once.

A *member* is one model to train: its seed, its training and validation tensors and its own
:class:`TrainConfig` (learning rate, weight decay...). Members whose models have the same parameter
shapes are trained together as one batched model: their parameters are stacked into one leaf tensor
per parameter name, (K, ...), updated by :class:`bitterlab.train.adamw.StackedAdamW` (AdamW with each
member's own learning rate, weight decay and betas), and the loss is evaluated with
``torch.func.functional_call`` under ``torch.func.vmap`` — or, for a plain stack of layers or a model with its own stacked forward, whose
loss broadcasts over the member dimension (checked on the first batch), by
:func:`bitterlab.train.stacked.stacked_forward` (baddbmm for MLPs, one grouped convolution per layer
for small CNNs, :meth:`bitterlab.train.transformer.Transformer.stacked`). The summed loss Σ_k L_k separates, so
∂(Σ L)/∂θ_k = ∂L_k/∂θ_k and AdamW acts elementwise: every member follows the updates it would follow
alone, up to the order of floating-point sums. A member that stops (patience spent, maximum reached,
loss not finite) is frozen: its loss is masked and its update skipped, and the others train on.

Early stopping (Prechelt 1998, "Early stopping — but when?", the patience criterion): every
``eval_every`` steps the mean validation loss v is computed; the best weights so far are kept; a
check *improves* when v < best − tol·|best|; after ``patience`` checks without improvement training
stops and the best weights are restored. A member that hits its maximum (``max_steps``, or
``max_epochs`` over its own training set) is *unconverged* when its best validation loss still fell
by more than ``tol`` (relative) over its last ``patience`` checks.

Each member's initial weights are those ``build()`` draws after ``torch.manual_seed(seed)``, and its
minibatches come from a NumPy generator seeded by its seed: a member trained alone or in any batch
sees the same data in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from bitterlab.study import Curve
from bitterlab.train.adamw import StackedAdamW, order
from bitterlab.train.stacked import stacked_forward

Loss = Callable[[Callable[..., torch.Tensor], tuple[torch.Tensor, ...]], torch.Tensor]
"""``loss(forward, batch) -> per-example losses (B,)``: ``forward`` is the member's model as a function,
``batch`` the member's tensors (each of leading size B). Written for one model; batched by vmap.
A loss that does not split over examples (a distance between sample sets) may return one scalar per
batch instead; it then sees padded rows when members' sets differ in size, so give such members
equal-sized sets (or minibatches no larger than the smallest set)."""

CURVE_POINTS = 50


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """One member's training options (AdamW; PyTorch's defaults where not stated)."""

    lr: float = 1e-3  # AdamW learning rate (constant: early stopping decides the length)
    weight_decay: float = 0.0  # decoupled weight decay (Loshchilov & Hutter 2019)
    betas: tuple[float, float] = (0.9, 0.999)
    batch_size: int | None = None  # examples per step; None (or ≥ n) is full batch
    max_steps: int = 2000  # the maximum number of optimiser steps
    max_epochs: float | None = None  # if set, the maximum is also at most this many passes over the data
    eval_every: int = 20  # steps between validation checks
    patience: int = 10  # checks without improvement before stopping
    tol: float = 1e-3  # relative improvement of the validation loss that counts as one
    dtype: str = "float32"  # "float64" makes batched and one-by-one training agree to ~1e-12

    def __post_init__(self) -> None:
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"learning rate must be positive and finite, got {self.lr}")
        if self.max_steps < 1 or self.eval_every < 1 or self.patience < 1:
            raise ValueError("max_steps, eval_every and patience must be at least 1")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.max_epochs is not None and not self.max_epochs > 0:
            raise ValueError(f"max_epochs must be positive, got {self.max_epochs}")
        if self.tol < 0 or self.weight_decay < 0:
            raise ValueError("tol and weight_decay must be non-negative")

    @classmethod
    def from_options(cls, options: dict | None = None, **overrides) -> TrainConfig:
        """The fields of this config found in a trial's options (unknown keys ignored), then overrides."""
        options = dict(options or {})
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in options.items() if k in names}
        values.update(overrides)
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)


@dataclass(frozen=True, kw_only=True)
class Member:
    """One model to train: its seed, its tensors (aligned along dim 0) and its config."""

    seed: int
    train: tuple[torch.Tensor, ...]
    val: tuple[torch.Tensor, ...]
    cfg: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        for name, ts in (("train", self.train), ("val", self.val)):
            if not ts or len({len(t) for t in ts}) != 1 or len(ts[0]) == 0:
                raise ValueError(f"member {self.seed}: {name} tensors must be non-empty and of one length")


@dataclass(frozen=True, kw_only=True)
class Trained:
    """A trained member: its model with the best-validation weights, and what training did."""

    model: nn.Module
    params: int  # trainable parameters
    steps: int  # optimiser steps taken
    examples: int  # training examples seen (steps × batch)
    best_val: float  # the validation loss of the restored weights
    converged: bool  # stopped by patience, or at the maximum with validation no longer improving
    curve: Curve

    def flops(self, forward_flops: float | None = None) -> float:
        """Training FLOPs: 3 × forward FLOPs per example × examples seen (backward ≈ 2 × forward;
        Kaplan et al. 2020, §2.1); a dense net's forward is 2 × params."""
        per_example = 2.0 * self.params if forward_flops is None else forward_flops
        return 3.0 * per_example * self.examples


@dataclass(frozen=True, kw_only=True)
class Diverged:
    """A member whose training or validation loss stopped being finite."""

    step: int
    loss: float

    @property
    def reason(self) -> str:
        return f"loss is {self.loss} at step {self.step}"


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def fit(build: Callable[[], nn.Module], loss: Loss, members: Sequence[Member], *,
        device: str = "cpu") -> list[Trained | Diverged]:
    """Train one model per member (``build()`` after ``torch.manual_seed(member.seed)``) on ``loss``;
    members with equal parameter shapes train as one batched model. Returns, per member, a
    :class:`Trained` or a :class:`Diverged`."""
    if not members:
        raise ValueError("fit needs at least one member")
    models = []
    for m in members:
        torch.manual_seed(m.seed)
        models.append(build().to(device=device, dtype=getattr(torch, m.cfg.dtype)))
    groups: dict[tuple, list[int]] = {}
    for i, model in enumerate(models):
        shape = tuple((n, tuple(p.shape), p.dtype) for n, p in model.named_parameters())
        groups.setdefault((shape, members[i].cfg.batch_size is None), []).append(i)
    out: list[Trained | Diverged | None] = [None] * len(members)
    for idx in groups.values():
        for i, r in zip(idx, _fit_group([models[i] for i in idx], loss, [members[i] for i in idx], device)):
            out[i] = r
    return out  # type: ignore[return-value]


def fit_one(build: Callable[[], nn.Module], loss: Loss, member: Member, *, device: str = "cpu") -> Trained:
    """:func:`fit` for one member; raises :class:`bitterlab.engine.run.Diverged` if it diverges."""
    from bitterlab.engine.run import Diverged as DivergedError

    (r,) = fit(build, loss, [member], device=device)
    if isinstance(r, Diverged):
        raise DivergedError(r.reason)
    return r


def _pad(tensors: list[torch.Tensor], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, n_max, ...) zero-padded stack and its (K, n_max) mask."""
    n_max = max(len(t) for t in tensors)
    out = torch.zeros((len(tensors), n_max, *tensors[0].shape[1:]), dtype=tensors[0].dtype, device=device)
    mask = torch.zeros((len(tensors), n_max), device=device)
    for k, t in enumerate(tensors):
        out[k, : len(t)] = t.to(device)
        mask[k, : len(t)] = 1.0
    return out, mask


class _Batches:
    """A member's minibatch indices: shuffled epochs from a generator seeded by its seed."""

    def __init__(self, n: int, batch: int, seed: int) -> None:
        self.n, self.batch = n, batch
        self.rng = np.random.default_rng([seed, 20261201])
        self.order, self.pos = self.rng.permutation(n), 0

    def next(self) -> np.ndarray:
        if self.batch >= self.n:
            return np.arange(self.n)
        if self.pos + self.batch > self.n:
            self.order, self.pos = self.rng.permutation(self.n), 0
        idx = self.order[self.pos: self.pos + self.batch]
        self.pos += self.batch
        return idx


class _Stack:
    """The members still in training: their parameters stacked into one leaf tensor per parameter name,
    (K, ...), with their AdamW (:class:`StackedAdamW`: each member its own learning rate, weight decay
    and betas, so one stack holds a whole tuning grid).

    A member that stops is frozen (its loss masked to zero, its update skipped) until half of the
    stack has stopped; then the stack is compacted to the members still training (parameters and
    AdamW's moments sliced), so stopped members cost nothing for long."""

    def __init__(self, members: list[int], params: dict[str, torch.Tensor], cfgs: list[TrainConfig]) -> None:
        self.members = members
        self.index = {k: i for i, k in enumerate(members)}
        self.leaves = {n: t.detach().clone().requires_grad_(True) for n, t in params.items()}
        self.opt = StackedAdamW(self.leaves, lr=[c.lr for c in cfgs], weight_decay=[c.weight_decay for c in cfgs],
                                betas=[c.betas for c in cfgs])

    def row(self, member: int) -> int:
        return self.index[member]

    def compact(self, keep: list[int]) -> None:
        rows = torch.as_tensor([self.index[k] for k in keep], device=next(iter(self.leaves.values())).device)
        self.leaves = {n: t.detach()[rows].clone().requires_grad_(True) for n, t in self.leaves.items()}
        self.opt.keep(rows, self.leaves)
        self.members, self.index = keep, {k: i for i, k in enumerate(keep)}


def _fit_group(models: list[nn.Module], loss: Loss, members: list[Member], device: str) -> list[Trained | Diverged]:
    base = models[0]
    names = [n for n, _ in base.named_parameters()]
    buffers = {n: b for n, b in base.named_buffers()}
    init = [{n: p.detach() for n, p in m.named_parameters()} for m in models]
    rows = order([(m.cfg.lr, m.cfg.weight_decay, *m.cfg.betas) for m in members])  # equal settings adjacent
    stack = _Stack(rows, {n: torch.stack([init[i][n] for i in rows]) for n in names}, [members[i].cfg for i in rows])

    k_all = len(members)
    n_train = [len(m.train[0]) for m in members]
    batch = [min(m.cfg.batch_size or n, n) for m, n in zip(members, n_train)]
    b_max = max(batch)
    full = all(b == n for b, n in zip(batch, n_train))
    trains = [_pad([m.train[j] for m in members], device) for j in range(len(members[0].train))]
    vals = [_pad([m.val[j] for m in members], device) for j in range(len(members[0].val))]
    val_mask = vals[0][1]
    streams = [_Batches(n, b, m.seed) for n, b, m in zip(n_train, batch, members)]
    max_steps = [min(m.cfg.max_steps, math.ceil(m.cfg.max_epochs * n / b)) if m.cfg.max_epochs else m.cfg.max_steps
                 for m, n, b in zip(members, n_train, batch)]

    def member_loss(params, *tensors):
        return loss(lambda *a: functional_call(base, (params, buffers), a, tie_weights=False), tensors)

    vmapped = vmap(member_loss)
    direct = stacked_forward(base)
    use_direct = False

    def direct_loss(params, *tensors):
        return loss(lambda *a: direct(params, *a), tensors)  # type: ignore[misc]

    def batched_loss(params: dict[str, torch.Tensor], *tensors: torch.Tensor) -> torch.Tensor:
        """vmap over members (or the stacked forward, once checked); one member is called directly (vmap's
        dispatch costs more than its model)."""
        if next(iter(params.values())).shape[0] == 1:
            return member_loss({n: t[0] for n, t in params.items()}, *(t[0] for t in tensors)).unsqueeze(0)
        return direct_loss(params, *tensors) if use_direct else vmapped(params, *tensors)

    def direct_agrees(params: dict[str, torch.Tensor], *tensors: torch.Tensor) -> bool:
        """Does the loss on the stacked model equal the vmapped loss on this batch (shape and values)?"""
        if direct is None or next(iter(params.values())).shape[0] == 1:
            return False
        with torch.no_grad():
            want = vmapped(params, *tensors)
            try:
                got = direct_loss(params, *tensors)
            except (RuntimeError, TypeError, ValueError, IndexError):
                return False
        tol = 1e-10 if want.dtype == torch.float64 else 1e-4
        return got.shape == want.shape and bool(torch.allclose(got, want, rtol=tol, atol=tol, equal_nan=True))
    best = [math.inf] * k_all
    best_state: list[dict[str, torch.Tensor] | None] = [None] * k_all
    bad = [0] * k_all
    history: list[list[float]] = [[] for _ in range(k_all)]  # best validation loss at each check
    curves: list[list[tuple[int, float, float]]] = [[] for _ in range(k_all)]
    train_sum, train_count = np.zeros(k_all), np.zeros(k_all)
    steps = [0] * k_all
    done: dict[int, Diverged | bool] = {}  # member -> Diverged, or its converged flag

    def weights(k: int) -> dict[str, torch.Tensor]:
        return {n: stack.leaves[n].detach()[stack.row(k)].clone() for n in names}

    def evaluate(ids: list[int], step: int) -> None:
        with torch.no_grad():
            pick = torch.as_tensor([stack.row(k) for k in ids], device=device)
            per = batched_loss({n: t[pick] for n, t in stack.leaves.items()}, *(v[ids] for v, _ in vals))
            v = (per if per.dim() == 1 else (per * val_mask[ids]).sum(1) / val_mask[ids].sum(1)).tolist()
        for k, value in zip(ids, v):
            if step > 0:  # the mean training loss since the last check, beside the validation loss
                curves[k].append((step, float(train_sum[k] / max(train_count[k], 1)), float(value)))
            train_sum[k] = train_count[k] = 0
            if not math.isfinite(value):
                done[k] = Diverged(step=step, loss=value)
                continue
            if value < best[k]:
                bad[k] = 0 if value < best[k] - members[k].cfg.tol * abs(best[k]) else bad[k] + 1
                best[k] = value
                best_state[k] = weights(k)
            else:
                bad[k] += 1
            history[k].append(best[k])
            if bad[k] >= members[k].cfg.patience:
                done[k] = True
            elif step >= max_steps[k]:
                p, tol = members[k].cfg.patience, members[k].cfg.tol
                then = history[k][-p - 1] if len(history[k]) > p else history[k][0]
                done[k] = not (best[k] < then - tol * abs(then)) if len(history[k]) > 1 else False

    evaluate(list(range(k_all)), 0)
    step = 0
    full_cache: tuple[list[int], list[torch.Tensor], torch.Tensor] | None = None
    unpadded = False
    while True:
        live_ids = [k for k in stack.members if k not in done]
        if not live_ids:
            break
        if len(live_ids) <= len(stack.members) // 2:  # compact a half-stopped stack
            stack.compact(live_ids)
        rows = stack.members
        step += 1
        if full:  # the same tensors every step while the stack is unchanged
            if full_cache is None or full_cache[0] is not rows:
                full_cache = (rows, [t[rows] for t, _ in trains], trains[0][1][rows])
            batch_t, mask = full_cache[1], full_cache[2]
            unpadded = len({n_train[k] for k in rows}) == 1  # every row's mask is all ones (no padding)
        else:
            idx = np.zeros((len(rows), b_max), dtype=np.int64)
            mask_np = np.zeros((len(rows), b_max), dtype=np.float32)
            for r, k in enumerate(rows):
                chosen = streams[k].next() if k not in done else np.arange(min(b_max, n_train[k]))
                idx[r, : len(chosen)] = chosen
                mask_np[r, : len(chosen)] = 1.0
            sel = torch.as_tensor(rows, device=device)[:, None]
            batch_t = [t[sel, torch.as_tensor(idx, device=device)] for t, _ in trains]
            mask = torch.as_tensor(mask_np, device=device)
            unpadded = bool(mask_np.all())
        stopped_rows = [k in done for k in rows]
        stopped = torch.as_tensor(stopped_rows, device=device) if any(stopped_rows) else None
        if stopped is not None:
            mask = mask.clone()
            mask[stopped] = 0.0
        stack.opt.zero_grad()
        if step == 1:
            use_direct = direct_agrees(stack.leaves, *batch_t)
        per = batched_loss(stack.leaves, *batch_t)
        if per.dim() == 1:
            losses = per if stopped is None else per * (~stopped)
        else:
            # the mean loss over each row's own examples (the same numbers as the masked mean when unpadded)
            losses = per.mean(1) if unpadded and stopped is None else (per * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        values = losses.detach().tolist()
        live = []
        stepped = [False] * len(rows)  # the rows that take this step: not stopped, loss finite
        for r, k in enumerate(rows):
            if k in done:
                continue
            steps[k] = step
            if math.isfinite(values[r]):
                train_sum[k] += values[r]
                train_count[k] += 1
                live.append(k)
                stepped[r] = True
            else:
                done[k] = Diverged(step=step, loss=values[r])
        if all(stepped):
            losses.sum().backward()
        else:
            on = torch.as_tensor(stepped, device=device)
            torch.where(on, losses, torch.zeros_like(losses)).sum().backward()
        stack.opt.step(stepped)
        due = [k for k in live if step % members[k].cfg.eval_every == 0 or step >= max_steps[k]]
        if due:
            evaluate(due, step)

    out: list[Trained | Diverged] = []
    for k, m in enumerate(members):
        if isinstance(done[k], Diverged):
            out.append(done[k])  # type: ignore[arg-type]
            continue
        model = models[k]
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(best_state[k][n])  # type: ignore[index]
        pts = curves[k]
        if len(pts) > CURVE_POINTS:
            keep = np.unique(np.linspace(0, len(pts) - 1, CURVE_POINTS).round().astype(int))
            pts = [pts[i] for i in keep]
        curve = Curve(steps=tuple(p[0] for p in pts), train=tuple(p[1] for p in pts),
                      validation=tuple(p[2] for p in pts))
        out.append(Trained(model=model, params=n_params(model), steps=steps[k], examples=steps[k] * batch[k],
                           best_val=best[k], converged=bool(done[k]), curve=curve))
    return out
