"""A stack of K ``nn.Sequential`` models — MLPs and small convolutional nets — evaluated without vmap.

Under ``torch.func.vmap`` a batched ``nn.Linear`` runs as a batched matmul followed by a separate
bias add, each op dispatched through vmap's batching rules, and a batched ``nn.Conv2d`` as a grouped
convolution in the default (NCHW) memory layout. For a plain stack of layers the batched forward is
written directly:

- ``nn.Linear``: on h of shape (K, ..., d_in), baddbmm(b, h, Wᵀ) with W (K, out, in) and b (K, out) —
  the same affine maps, one fused kernel per layer — and a ``nn.ReLU`` right after it applied in place
  on that result, with a backward arranged for these small shapes (:class:`_Linear`);
- ``nn.Conv2d`` (``groups=1``): the K members' channels side by side, h of shape (N, K·C, H, W), and
  one convolution with ``groups=K`` and the weights (K·out, C, kh, kw) — member k's output channels
  see only its own input channels, so this is each member's convolution. On the CPU the images and
  weights are kept channels-last (NHWC), where oneDNN's grouped convolution ran 1.7x faster than
  vmap's NCHW one on the equivariance CNN (45 members, batch 64, one thread);
- pooling (``nn.MaxPool2d``, ``nn.AvgPool2d``, ``nn.AdaptiveAvgPool2d``) acts per channel, hence per
  member, in the same layout; elementwise activations act anywhere;
- ``nn.Flatten`` (per example, ``start_dim=1``) turns the images back into (K, N, C·H·W) features in
  each member's own (C, H, W) order.

Nested ``nn.Sequential`` blocks are flattened (their parameters keep their dotted names). The trainer
uses this forward only after checking, on the first batch, that the loss built on it equals the
vmapped loss (a loss written for one model may not broadcast over a leading member dimension; then
vmap stays).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Identity, nn.LeakyReLU, nn.ELU, nn.Softplus)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)

Forward = Callable[..., torch.Tensor]
"""``forward(params, *inputs)``: stacked parameters (name → (K, ...)) and inputs with a leading K."""


def _layers(model: nn.Sequential, prefix: str = "") -> list[tuple[str, nn.Module]] | None:
    """The leaf layers of ``model`` with their dotted names, or ``None`` if one cannot be stacked."""
    out: list[tuple[str, nn.Module]] = []
    for name, m in model.named_children():
        if isinstance(m, nn.Sequential):
            inner = _layers(m, f"{prefix}{name}.")
            if inner is None:
                return None
            out += inner
        elif isinstance(m, (nn.Linear, *ELEMENTWISE, *POOLS)) or _plain_flatten(m) or _plain_conv(m):
            out.append((f"{prefix}{name}", m))
        else:
            return None
    return out


def _plain_flatten(m: nn.Module) -> bool:
    return isinstance(m, nn.Flatten) and m.start_dim == 1 and m.end_dim == -1


def _plain_conv(m: nn.Module) -> bool:
    return isinstance(m, nn.Conv2d) and m.groups == 1 and m.padding_mode == "zeros"


def stacked_forward(model: nn.Module) -> Forward | None:
    """``forward(params, x)`` for stacked ``params`` (name → (K, ...)) and x (K, ..., d_in) — or
    (K, N, C, H, W) images when the first layer is a convolution or a pool — or ``None`` when
    ``model`` is not an ``nn.Sequential`` of the layers above (or has buffers). A model that defines
    its own ``stacked(params, *inputs)`` (as :class:`bitterlab.train.transformer.Transformer` does)
    gets that."""
    own = getattr(model, "stacked", None)
    if callable(own) and not isinstance(own, nn.Module):  # a method, not a submodule that happens to be named so
        return own
    if not isinstance(model, nn.Sequential) or any(True for _ in model.buffers()):
        return None
    layers = _layers(model)
    if not layers:
        return None
    # a Linear followed by a ReLU is one fused step (the ReLU applied in place, its mask in the backward)
    plan: list[tuple[str, nn.Module, bool]] = []
    for name, m in layers:
        if isinstance(m, nn.ReLU) and plan and isinstance(plan[-1][1], nn.Linear) and not plan[-1][2]:
            plan[-1] = (plan[-1][0], plan[-1][1], True)
        else:
            plan.append((name, m, False))

    def forward(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        k, h = x.shape[0], x
        lead: tuple[int, ...] | None = None  # the example dimensions while h is in the images' layout
        nhwc = x.device.type == "cpu"
        fmt = torch.channels_last if nhwc else torch.contiguous_format
        for name, m, relu in plan:
            if isinstance(m, (nn.Conv2d, *POOLS)) and lead is None:  # (K, *lead, C, H, W) → (N, K·C, H, W)
                lead = tuple(h.shape[1:-3])
                c, hh, ww = h.shape[-3:]
                n = math.prod(lead)
                h = h.reshape(k, n, c, hh, ww).transpose(0, 1).reshape(n, k * c, hh, ww).contiguous(memory_format=fmt)
            if isinstance(m, nn.Conv2d):
                w, b = params[f"{name}.weight"], params.get(f"{name}.bias")
                w = w.reshape(k * w.shape[1], *w.shape[2:]).contiguous(memory_format=fmt)
                h = F.conv2d(h, w, None if b is None else b.reshape(-1), m.stride, m.padding, m.dilation, groups=k)
            elif isinstance(m, nn.Flatten):
                if lead is not None:  # (N, K·C, H, W) → (K, *lead, C·H·W), each member's (C, H, W) order
                    n = h.shape[0]
                    h = h.reshape(n, k, -1).transpose(0, 1).reshape(k, *lead, -1)
                    lead = None
                else:  # (K, *lead, ...) with one example dimension: flatten the rest
                    h = h.flatten(start_dim=2)
            elif isinstance(m, nn.Linear):
                h = stacked_linear(h, params, name, relu=relu)
            else:  # elementwise, or a pool in the images' layout
                h = m(h)
        if lead is not None:  # the model ends on images: back to (K, *lead, C, H, W)
            n, kc, hh, ww = h.shape
            h = h.reshape(n, k, kc // k, hh, ww).transpose(0, 1).reshape(k, *lead, kc // k, hh, ww)
        return h

    return forward


def stacked_linear(h: torch.Tensor, params: dict[str, torch.Tensor], name: str, *, relu: bool = False) -> torch.Tensor:
    """The K members' ``nn.Linear`` called ``name`` (weight (K, out, in), bias (K, out) or absent) on h
    (K, ..., in), followed by a ReLU if ``relu``: (K, ..., out)."""
    k = h.shape[0]
    flat = _Linear.apply(h.reshape(k, -1, h.shape[-1]), params[f"{name}.weight"], params.get(f"{name}.bias"), relu)
    return flat.reshape(*h.shape[:-1], flat.shape[-1])


class _Linear(torch.autograd.Function):
    """K affine maps at once, optionally followed by a ReLU: x (K, M, in), w (K, out, in), b (K, out)
    or ``None`` → y = x wᵀ + b, (K, M, out), or max(y, 0).

    The same operations as autograd's for ``baddbmm`` (and ``relu``), arranged for the small shapes
    of a stack of MLPs on one CPU thread, where a batched matmul's speed depends on which way round
    it is asked (measured, 64 members × 256 examples, one thread):

    - forward: one ``baddbmm``; for a layer with one output (a regression head) as (w xᵀ)ᵀ, a
      (1 × in)(in × M) product per member (1.6x faster than x wᵀ, an (M × in)(in × 1) one); the ReLU
      in place on the result (one activation buffer, not two);
    - backward: the ReLU's ``threshold_backward`` on its output, then ∂b = Σ_M g; ∂x = g w, as a
      broadcast product for one output (an outer product: 4x faster than as a matmul); ∂w = gᵀ x,
      computed as such when in ≥ out and as (xᵀ g)ᵀ otherwise (each way is 5–8x faster than the
      other at in = 9, out = 32 and at in = 32, out = 1; autograd always takes the second).

    The backward is built of differentiable operations, so higher derivatives work."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, relu: bool) -> torch.Tensor:
        # ctx in forward, not a separate setup_context: with one, every apply binds the arguments
        # through inspect.signature (measured ~90 µs a call, as much as a small layer's bias-gradient sum)
        if w.shape[1] == 1:
            xt = x.transpose(1, 2)
            y = (torch.bmm(w, xt) if b is None else torch.baddbmm(b.unsqueeze(2), w, xt)).transpose(1, 2)
        else:
            wt = w.transpose(1, 2)
            y = torch.bmm(x, wt) if b is None else torch.baddbmm(b.unsqueeze(1), x, wt)
        if relu:
            y.relu_()
        ctx.relu = relu
        ctx.save_for_backward(x, w, y if relu else None)
        return y

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        x, w, y = ctx.saved_tensors
        if ctx.relu:
            g = torch.ops.aten.threshold_backward(g, y, 0)
        need_x, need_w, need_b, _ = ctx.needs_input_grad
        gx = gw = gb = None
        if need_x:
            gx = g * w if w.shape[1] == 1 else torch.bmm(g, w)
        if need_w:
            gw = (torch.bmm(g.transpose(1, 2), x) if w.shape[2] >= w.shape[1]
                  else torch.bmm(x.transpose(1, 2), g).transpose(1, 2))
        if need_b:
            gb = g.sum(1)
        return gx, gw, gb, None
