"""``MultiheadAttention`` over ``functional.scaled_dot_product_attention``."""

from __future__ import annotations

import math

from .. import ops as _ops
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's parameters (``in_proj_weight`` packing the
    query, key and value projections, ``out_proj``) and call signature.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True,
    attn_mask=None, average_attn_weights=True, is_causal=False)`` returns
    ``(output, weights or None)``.  Boolean masks mark positions to *ignore* (True),
    as in ``torch.nn.MultiheadAttention``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0,
                 bias: bool = True, add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__()
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn "
                                      "are not supported")
        if (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)):
            raise NotImplementedError("MultiheadAttention: kdim/vdim different from "
                                      "embed_dim are not supported")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        from .linear import Linear
        kw = {"device": device, "dtype": dtype}
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.in_proj_weight = Parameter(_ops.empty((3 * embed_dim, embed_dim), **kw))
        if bias:
            self.in_proj_bias = Parameter(_ops.empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **kw)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False):
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (t.unsqueeze(1 if not self.batch_first else 0)
                                 for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if not self.batch_first:  # (L, N, E) -> (N, L, E)
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        n, lq, e = query.shape
        if e != self.embed_dim:
            raise ValueError(f"MultiheadAttention: expected query with embed_dim "
                             f"{self.embed_dim}, got shape {list(query.shape)}")
        s = key.shape[1]
        w = self.in_proj_weight
        b = self.in_proj_bias
        e_ = self.embed_dim
        q = F.linear(query, w[:e_], None if b is None else b[:e_])
        k = F.linear(key, w[e_:2 * e_], None if b is None else b[e_:2 * e_])
        v = F.linear(value, w[2 * e_:], None if b is None else b[2 * e_:])
        h, d = self.num_heads, self.head_dim
        q = q.reshape(n, lq, h, d).transpose(1, 2)
        k = k.reshape(n, s, h, d).transpose(1, 2)
        v = v.reshape(n, s, h, d).transpose(1, 2)
        mask = self._merge_masks(attn_mask, key_padding_mask, n, lq, s, query, is_causal)
        p = self.dropout if self.training else 0.0
        if need_weights:
            scores = _ops.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
            if mask is not None:
                scores = scores + mask
            weights = F.softmax(scores, -1)
            if p:
                weights = F.dropout(weights, p)
            out = _ops.matmul(weights, v)
        else:
            out = F.scaled_dot_product_attention(q, k, v, mask, p)
            weights = None
        out = out.transpose(1, 2).reshape(n, lq, e_)
        out = self.out_proj(out)
        if not self.batch_first:
            out = out.transpose(0, 1)
        if weights is not None and average_attn_weights:
            weights = weights.mean(1)
        if unbatched:
            out = out.squeeze(1 if not self.batch_first else 0)
            if weights is not None:
                weights = weights.squeeze(0)
        return out, weights

    def _merge_masks(self, attn_mask, key_padding_mask, n, lq, s, like, is_causal):
        """One additive float mask of shape broadcastable to (N, H, L, S), or None."""
        import numpy as np
        from ..tensor import tensor
        neg = -math.inf
        mask = None
        if is_causal and attn_mask is None:
            attn_mask = tensor(np.triu(np.ones((lq, s), dtype=bool), 1), device=like.device)
        if attn_mask is not None:
            if attn_mask.dtype.is_floating_point:
                m = attn_mask
            else:
                m = _ops.where(attn_mask, neg, 0.0).astype(like.dtype)
            if m.ndim == 3:  # (N * H, L, S)
                m = m.reshape(n, self.num_heads, lq, s)
            mask = m
        if key_padding_mask is not None:
            if key_padding_mask.dtype.is_floating_point:
                kp = key_padding_mask
            else:
                kp = _ops.where(key_padding_mask, neg, 0.0).astype(like.dtype)
            kp = kp.reshape(n, 1, 1, s)
            mask = kp if mask is None else mask + kp
        return mask

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
