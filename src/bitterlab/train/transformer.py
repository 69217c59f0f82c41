"""A small decoder-only transformer whose variants differ only in how they see positions (shared
model piece for the positions study).

- ``"learned"``: a learned absolute position embedding added to the token embedding (GPT-2,
  Radford et al. 2019); positions never seen in training keep their random initial embedding.

Every variant takes optional absolute positions per token (``forward(tokens, positions)``, default
0..n−1), so that a sequence can be placed at any start within ``max_len`` (randomized positions,
Ruoss et al. 2023): the learned table then sees every one of its rows in training, RoPE rotates by
the given positions (its scores are unchanged by a common offset), NoPE ignores them.
- ``"rope"``: rotary position embedding (Su et al. 2021, RoFormer, eq. 34): query and key feature
  pairs (2i, 2i+1) at position m are rotated by the angle m·θᵢ, θᵢ = 10000^(−2i/d_head), so that
  ⟨R_m q, R_n k⟩ = ⟨q, R_{n−m} k⟩ depends on the offset n − m only.
- ``"none"``: no positional information (NoPE); the causal mask alone breaks permutation symmetry
  (Kazemnejad et al. 2023).

Pre-norm blocks: x + Attn(LN(x)), x + MLP(LN(x)); causal softmax attention, ReLU MLP of 4·d.

:meth:`Transformer.stacked` evaluates K such models at once from stacked parameters (name → (K, ...)),
for the shared trainer (:func:`bitterlab.train.stacked.stacked_forward`), without vmap.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from bitterlab.train.stacked import stacked_linear

POSITIONS = ("learned", "rope", "none")
IGNORE = -100  # label of a position that is not scored (PyTorch's ``ignore_index`` convention)


def rope_angles(length: int, dim: int, base: float = 10000.0, *,
                device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of m·θᵢ for m < length, i < dim/2: two (length, dim/2) tensors."""
    if dim % 2:
        raise ValueError(f"RoPE needs an even head dimension, got {dim}")
    theta = base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=device) / dim)
    angles = torch.arange(length, dtype=torch.float64, device=device)[:, None] * theta[None, :]
    return torch.cos(angles), torch.sin(angles)


def rope_angles_at(positions: torch.Tensor, dim: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of m·θᵢ for the positions m of a (..., n) integer tensor: two (..., n, dim/2) tensors
    (the same numbers as :func:`rope_angles` at m = 0..n−1)."""
    if dim % 2:
        raise ValueError(f"RoPE needs an even head dimension, got {dim}")
    theta = base ** (-torch.arange(0, dim, 2, dtype=torch.float64, device=positions.device) / dim)
    angles = positions.to(torch.float64).unsqueeze(-1) * theta
    return torch.cos(angles), torch.sin(angles)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate feature pairs (2i, 2i+1) of x (..., length, dim) by the angles whose cos/sin are given."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    c, s = cos.to(x.dtype), sin.to(x.dtype)
    out = torch.stack([x1 * c - x2 * s, x1 * s + x2 * c], dim=-1)
    return out.flatten(-2)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √d + M) v over (..., n, d) tensors, M = −∞ above the diagonal (the causal mask;
    Vaswani et al. 2017, eq. 1). Written out rather than through ``scaled_dot_product_attention``,
    which has no ``vmap`` batching rule on CPU (it falls back to a loop over the batched models); the
    scale and the mask enter the one ``baddbmm`` that forms the scores (measured on one CPU thread,
    480 heads of n = 70, d = 8, forward and backward: 41 ms against 59 ms with a separate division
    and ``masked_fill``, and 56 ms through ``scaled_dot_product_attention``)."""
    *lead, n, d = q.shape
    mask = torch.full((n, n), float("-inf"), dtype=q.dtype, device=q.device).triu(1)
    scores = torch.baddbmm(mask, q.reshape(-1, n, d), k.reshape(-1, n, d).transpose(1, 2), alpha=1 / math.sqrt(d))
    return torch.bmm(torch.softmax(scores, dim=-1), v.reshape(-1, n, v.shape[-1])).reshape(*lead, n, v.shape[-1])


class Block(nn.Module):
    def __init__(self, width: int, heads: int, rope: bool) -> None:
        super().__init__()
        self.heads, self.rope = heads, rope
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.ReLU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (t.view(b, n, self.heads, d // self.heads).transpose(1, 2) for t in (q, k, v))
        if self.rope and positions is not None:  # (b, n) positions -> (b, 1, n, d/2) angles, per head alike
            cos, sin = (t.unsqueeze(1) for t in rope_angles_at(positions, d // self.heads))
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        elif self.rope:
            cos, sin = rope_angles(n, d // self.heads, device=x.device)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        att = causal_attention(q, k, v)
        x = x + self.proj(att.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    """Token sequences (batch, length) → logits (batch, length, vocab_out), causal."""

    def __init__(self, vocab: int, vocab_out: int, width: int, depth: int, heads: int, positions: str,
                 max_len: int) -> None:
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {POSITIONS}, got {positions!r}")
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.positions, self.max_len = positions, max_len
        self.embed = nn.Embedding(vocab, width)
        self.pos = nn.Embedding(max_len, width) if positions == "learned" else None
        self.blocks = nn.ModuleList(Block(width, heads, positions == "rope") for _ in range(depth))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_out)
        nn.init.normal_(self.embed.weight, std=1 / math.sqrt(width))
        if self.pos is not None:
            nn.init.normal_(self.pos.weight, std=1 / math.sqrt(width))

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of tokens (batch, n) at absolute positions (batch, n), by default 0..n−1; positions must
        lie below ``max_len`` (checked only for the default, as a check on values does not batch under vmap)."""
        n = tokens.shape[1]
        if positions is None and n > self.max_len:
            raise ValueError(f"sequence of length {n} exceeds max_len {self.max_len}")
        h = self.embed(tokens)
        if self.pos is not None:
            h = h + self.pos(torch.arange(n, device=tokens.device) if positions is None else positions)
        for block in self.blocks:
            h = block(h, positions)
        return self.head(self.ln(h))

    def stacked(self, params: dict[str, torch.Tensor], tokens: torch.Tensor,
                positions: torch.Tensor | None = None) -> torch.Tensor:
        """The logits of K models of this architecture, given stacked parameters (name → (K, ...)), on
        tokens (K, B, n) at positions (K, B, n) (default 0..n−1): (K, B, n, vocab_out), the numbers that
        :meth:`forward` gives for each member's parameters and inputs. Written for the trainer's
        batched path instead of vmap: each linear map one ``baddbmm`` over the members
        (:func:`~bitterlab.train.stacked.stacked_linear`), each embedding one lookup in the members'
        tables side by side, and attention through ``scaled_dot_product_attention`` (a fused kernel:
        not available under vmap, measured 1.2–1.3x faster per training step than the vmapped model
        at the grammar study's quick size, 15 members of width 8 or 16)."""
        k, b, n = tokens.shape
        if positions is None and n > self.max_len:
            raise ValueError(f"sequence of length {n} exceeds max_len {self.max_len}")
        h = _lookup(params["embed.weight"], tokens)
        if self.pos is not None:
            h = h + (params["pos.weight"][:, None, :n] if positions is None else _lookup(params["pos.weight"], positions))
        d = h.shape[-1]
        for i, block in enumerate(self.blocks):
            p = f"blocks.{i}."
            heads, dh = block.heads, d // block.heads
            qkv = stacked_linear(_layer_norm(h, params, f"{p}ln1", block.ln1.eps), params, f"{p}qkv")
            q, key, v = (t.reshape(k * b, n, heads, dh).transpose(1, 2) for t in qkv.split(d, dim=-1))
            if block.rope:
                if positions is None:
                    cos, sin = rope_angles(n, dh, device=h.device)
                else:  # (K, B, n) positions -> (K·B, 1, n, dh/2) angles, per head alike
                    cos, sin = (t.reshape(k * b, 1, n, dh // 2) for t in rope_angles_at(positions, dh))
                q, key = apply_rope(q, cos, sin), apply_rope(key, cos, sin)
            att = F.scaled_dot_product_attention(q, key, v, is_causal=True)  # (K·B, heads, n, dh)
            h = h + stacked_linear(att.transpose(1, 2).reshape(k, b, n, d), params, f"{p}proj")
            hidden = stacked_linear(_layer_norm(h, params, f"{p}ln2", block.ln2.eps), params, f"{p}mlp.0", relu=True)
            h = h + stacked_linear(hidden, params, f"{p}mlp.2")
        return stacked_linear(_layer_norm(h, params, "ln", self.ln.eps), params, "head")


def _lookup(tables: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Member k's rows of its own table: tables (K, V, d), index (K, ...) → (K, ..., d), as one
    embedding lookup in the K tables side by side."""
    k, v, d = tables.shape
    offset = (torch.arange(k, device=index.device) * v).view(k, *([1] * (index.dim() - 1)))
    return F.embedding(index + offset, tables.reshape(k * v, d))


def _layer_norm(h: torch.Tensor, params: dict[str, torch.Tensor], name: str, eps: float) -> torch.Tensor:
    """``nn.LayerNorm`` of each member with its own weight and bias: h (K, ..., d), params (K, d)."""
    w, b = params[f"{name}.weight"], params[f"{name}.bias"]
    shape = (w.shape[0],) + (1,) * (h.dim() - 2) + (w.shape[1],)
    return torch.addcmul(b.view(shape), F.layer_norm(h, h.shape[-1:], eps=eps), w.view(shape))


def token_loss(forward, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Per-sequence mean cross-entropy of next-token labels, for :func:`bitterlab.train.trainer.fit`:
    ``batch`` is (tokens (B, n), labels (B, n)) or (tokens, labels, positions (B, n)), labels ``IGNORE``
    where not scored; returns (B,).
    Written with ``log_softmax``/``gather`` (no ``ignore_index``) so that it batches under ``vmap``."""
    tokens, labels, *positions = batch
    logp = torch.log_softmax(forward(tokens, *positions), dim=-1)  # (B, n, V)
    scored = labels != IGNORE
    nll = -logp.gather(-1, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, n)
    return (nll * scored).sum(-1) / scored.sum(-1).clamp(min=1)


def forward_flops(model: Transformer, length: int) -> float:
    """Forward FLOPs of one sequence of ``length`` tokens: 2 · params · length for the weight matmuls
    (embedding lookups counted as if dense, a small overestimate) plus 4 · length² · width per block for
    q kᵀ and the attention-weighted sum of values (Kaplan et al. 2020, Table 1, full square counted)."""
    params = sum(p.numel() for p in model.parameters())
    width = model.embed.weight.shape[1]
    return 2.0 * params * length + 4.0 * len(model.blocks) * length**2 * width
