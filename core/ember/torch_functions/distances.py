"""Distances: ``dist``, ``cdist``, ``cosine_similarity``.
"""

from __future__ import annotations

from .. import array_api as _xp
from .. import linalg as _linalg
from .. import ops as _ops
from ..ops import distance as _distance
from ..errors import OpError
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor

__all__ = ["dist", "cosine_similarity", "cdist"]


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast)."""
    _tensor("dist", input)
    _tensor("dist", other, "other")
    if not input.dtype.is_floating_point and input.dtype._kind != "c":
        _fail("dist", f"expected a floating point or complex tensor, got {input.dtype}")
    return _linalg.vector_norm(_ops.sub(input, other).reshape(-1), p)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """The ``p``-norm distances between the rows of ``x1`` (``..., P, M``) and of ``x2``
    (``..., R, M``): ``(..., P, R)``, in memory linear in the inputs and output
    (``ember.ops.distance``).  Euclidean distances of more than 25 rows use the matrix
    product, as PyTorch's default ``compute_mode``."""
    _tensor("cdist", x1, "x1")
    _tensor("cdist", x2, "x2")
    return _distance.cdist(x1, x2, float(p), compute_mode)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / (max(|x1|, eps) * max(|x2|, eps))`` along ``dim`` (broadcast)."""
    _tensor("cosine_similarity", x1, "x1")
    _tensor("cosine_similarity", x2, "x2")
    try:
        a, b = _xp.broadcast_arrays(x1, x2)
    except OpError:
        _fail("cosine_similarity", f"x1 {list(x1.shape)} and x2 {list(x2.shape)} do not "
                                   f"broadcast")
    d = _dim("cosine_similarity", dim, a.ndim)
    na = _ops.clamp_min(_linalg.vector_norm(a, 2, d), eps)
    nb = _ops.clamp_min(_linalg.vector_norm(b, 2, d), eps)
    return _ops.true_divide(_ops.sum(_ops.mul(a, b), d), _ops.mul(na, nb))
