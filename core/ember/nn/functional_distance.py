"""Distances and normalisation of ``ember.nn.functional``: ``normalize``,
``cosine_similarity``, ``pairwise_distance`` (compositions of ember ops)."""

from __future__ import annotations

from .. import linalg as _linalg
from .. import ops as _ops
from ..tensor import Tensor
from ..torch_functions.distances import cosine_similarity

__all__ = ["normalize", "cosine_similarity", "pairwise_distance"]


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p, eps)`` along ``dim``."""
    norm = _linalg.vector_norm(input, p, dim, True)
    result = input / _ops.clamp_min(norm, eps)
    return out.copy_(result) if out is not None else result


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` along the last dim (broadcast); ``eps`` keeps the
    gradient of equal vectors finite."""
    diff = x1 - x2 + eps
    if diff.ndim == 0:  # PyTorch: two scalars are one-element vectors
        diff = diff.reshape(1)
        return _linalg.vector_norm(diff, p, -1, keepdim).reshape((1,) if keepdim else ())
    return _linalg.vector_norm(diff, p, -1, keepdim)
