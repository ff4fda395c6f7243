"""Distances: ``dist``, ``cdist``, ``cosine_similarity``.
"""

from __future__ import annotations

from .. import array_api as _xp
from .. import linalg as _linalg
from .. import ops as _ops
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
    (``..., R, M``): ``(..., P, R)``.  Euclidean distances of more than 25 rows use the
    matrix product, as PyTorch's default ``compute_mode``; the rest are computed
    directly."""
    _tensor("cdist", x1, "x1")
    _tensor("cdist", x2, "x2")
    if x1.ndim < 2 or x2.ndim < 2:
        _fail("cdist", f"only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: "
                       f"{x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        _fail("cdist", f"X1 and X2 must have the same number of columns. X1: "
                       f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        _fail("cdist", f"only supports non-negative p values, got {p}")
    if not x1.dtype.is_floating_point or not x2.dtype.is_floating_point:
        _fail("cdist", f"only supports floating-point dtypes, X1 got: {x1.dtype}, X2 got: "
                       f"{x2.dtype}")
    if compute_mode not in (None, "use_mm_for_euclid_dist_if_necessary",
                            "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        _fail("cdist", f"{compute_mode!r} is not a valid value for compute_mode")
    big = x1.shape[-2] > 25 or x2.shape[-2] > 25
    if p == 2 and (compute_mode == "use_mm_for_euclid_dist" or big and compute_mode in (
            None, "use_mm_for_euclid_dist_if_necessary")):
        # PyTorch's matrix-product form: |a|^2 + |b|^2 - 2 a.b, clamped before the root
        # (a zero distance then has a zero gradient); memory P*R, not P*R*M
        sq1 = _ops.sum(_ops.mul(x1, x1), -1, True)
        sq2 = _ops.sum(_ops.mul(x2, x2), -1, True)
        d2 = _ops.sub(_ops.add(sq1, _ops.transpose(sq2, -1, -2)),
                      _ops.mul(_ops.matmul(x1, _ops.transpose(x2, -1, -2)), 2.0))
        return _ops.sqrt(_ops.clamp_min(d2, 1e-30))
    # Directly (PyTorch's small inputs, and p != 2): the difference tensor holds
    # P * R * M elements -- linear in M while P, R <= 25; larger p != 2 inputs pay it
    diff_ = _ops.sub(_ops.unsqueeze(x1, -2), _ops.unsqueeze(x2, -3))
    return _linalg.vector_norm(diff_, p, -1)


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
