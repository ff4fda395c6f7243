"""Diagonals: ``diagonal``, ``trace``, ``diag``, ``diag_embed``, ``diagflat``.
"""

from __future__ import annotations

from .. import linalg as _linalg
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor

__all__ = ["trace", "diag", "diagonal", "diag_embed", "diagflat"]


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of the planes ``(dim1, dim2)``, as the last dimension."""
    if _tensor("diagonal", input).ndim < 2:
        _fail("diagonal", f"expects input to have at least 2 dimensions, got {input.ndim}")
    d1, d2 = _dim("diagonal", dim1, input.ndim), _dim("diagonal", dim2, input.ndim)
    if d1 == d2:
        _fail("diagonal", f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _linalg.diagonal(input, offset=offset, dim1=d1, dim2=d2)


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integers summed in int64)."""
    if _tensor("trace", input).ndim != 2:
        _fail("trace", f"expected a matrix, but got tensor with dim {input.ndim}")
    return _ops.sum(diagonal(input))


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose ``offset``-th diagonal (in dims ``dim1``, ``dim2`` of the result)
    holds the last dimension of ``input``."""
    _tensor("diag_embed", input)
    nd = input.ndim + 1
    d1, d2 = _dim("diag_embed", dim1, nd), _dim("diag_embed", dim2, nd)
    if d1 == d2:
        _fail("diag_embed", f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = input.shape[-1] if input.ndim else 1
    x = input.reshape(1) if input.ndim == 0 else input
    m = n + abs(offset)
    # x on the diagonal: row i, column i + offset (offset < 0: row j - offset, column j)
    zeros = _ops.zeros(tuple(x.shape[:-1]) + (abs(offset),), dtype=x.dtype, device=x.device)
    xp = _ops.cat([x, zeros], -1) if offset else x
    rows = _ops.arange(m, device=input.device).reshape(m, 1)
    cols = _ops.arange(m, device=input.device).reshape(1, m)
    on = _ops.eq(_ops.sub(cols, rows), offset)
    src = _ops.unsqueeze(xp, -1) if offset >= 0 else _ops.unsqueeze(xp, -2)
    out = _ops.where(on, src, _ops.zeros((), dtype=input.dtype, device=input.device))
    return _ops.movedim(out, (-2, -1), (d1, d2))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as the ``diagonal``-th diagonal of a square matrix, or a matrix's
    ``diagonal``-th diagonal as a 1-D tensor."""
    if _tensor("diag", input).ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:  # a copy, as PyTorch's (diagonal() is the view)
        return _ops.clone(globals()["diagonal"](input, diagonal))
    _fail("diag", f"Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """``input`` flattened, on the ``offset``-th diagonal of a square matrix."""
    return diag_embed(_tensor("diagflat", input).reshape(-1), offset)
