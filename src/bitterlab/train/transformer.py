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
"""

from __future__ import annotations

import math

import torch
from torch import nn

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
    """softmax(q kᵀ / √d + causal mask) v over (..., n, d) tensors (Vaswani et al. 2017, eq. 1), written
    out rather than through ``scaled_dot_product_attention``, which has no ``vmap`` batching rule on
    CPU (it falls back to a loop over the batched models)."""
    n = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    future = torch.ones(n, n, dtype=torch.bool, device=q.device).triu(1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v


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
