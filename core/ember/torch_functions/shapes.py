"""Shape helpers: ``ravel``, ``swapaxes``, ``atleast_1d/2d/3d``, flips, ``rot90``,
``broadcast_tensors`` and ``meshgrid`` (PyTorch's ``'ij'`` default).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from .. import array_api as _xp
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor

__all__ = [
    "ravel", "swapaxes", "swapdims", "atleast_1d", "atleast_2d", "atleast_3d", "fliplr", "flipud",
    "rot90",
    "broadcast_tensors", "meshgrid"
]


def ravel(input: Tensor) -> Tensor:
    """``input`` flattened to 1-D (a view where possible)."""
    return _tensor("ravel", input).reshape(-1)


def _swap(fn: str, input, a: int, b: int) -> Tensor:
    n = _tensor(fn, input).ndim
    return input.transpose(_dim(fn, a, n), _dim(fn, b, n))


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose(input, axis0, axis1)``."""
    return _swap("swapaxes", input, axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """``transpose(input, dim0, dim1)``."""
    return _swap("swapdims", input, dim0, dim1)


def _atleast(fn: str, rank: int, tensors):
    one = len(tensors) == 1 and isinstance(tensors[0], Tensor)
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    out = []
    for i, t in enumerate(tensors):
        _tensor(fn, t, f"tensors[{i}]")
        if t.ndim < rank:
            # PyTorch's placement: a vector becomes a row (1, n), and (1, n, 1) in 3-D;
            # a matrix (m, n, 1)
            if t.ndim == 0:
                shape = (1,) * rank
            elif t.ndim == 1:
                shape = (1, t.shape[0], 1) if rank == 3 else (1, t.shape[0])
            else:
                shape = tuple(t.shape) + (1,)
            t = t.reshape(shape)
        out.append(t)
    return out[0] if one else tuple(out)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension (one tensor in, one out; else a tuple)."""
    return _atleast("atleast_1d", 1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions (a vector becomes a row)."""
    return _atleast("atleast_2d", 2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions (``(n,) -> (1, n, 1)``,
    ``(m, n) -> (m, n, 1)``)."""
    return _atleast("atleast_3d", 3, tensors)


def fliplr(input: Tensor) -> Tensor:
    """Columns reversed (dim 1)."""
    if _tensor("fliplr", input).ndim < 2:
        _fail("fliplr", f"Input must be >= 2-d, got {input.ndim}-d")
    return _ops.flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Rows reversed (dim 0)."""
    if _tensor("flipud", input).ndim < 1:
        _fail("flipud", "Input must be >= 1-d, got 0-d")
    return _ops.flip(input, (0,))


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotation by 90° ``k`` times in the plane ``dims``, from the first towards the
    second axis."""
    _tensor("rot90", input)
    if len(dims) != 2:
        _fail("rot90", f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        _fail("rot90", f"expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (_dim("rot90", d, input.ndim) for d in dims)
    if d0 == d1:
        _fail("rot90", f"expected rotation dims to be different, but got dim0 = {d0} and "
                       f"dim1 = {d1}")
    k %= 4
    if k == 1:
        return _ops.flip(input, (d1,)).transpose(d0, d1)
    if k == 2:
        return _ops.flip(input, (d0, d1))
    if k == 3:
        return _ops.flip(input, (d0,)).transpose(d0, d1)
    return input.clone()


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors broadcast to their common shape (views)."""
    for i, t in enumerate(tensors):
        _tensor("broadcast_tensors", t, f"tensors[{i}]")
    return tuple(_xp.broadcast_arrays(*tensors))


def meshgrid(*tensors, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids from 0-d or 1-D tensors.  PyTorch's default is ``'ij'`` (matrix
    indexing, the Array API's is ``'xy'``) and, as PyTorch, leaving ``indexing`` out warns."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if not tensors:
        _fail("meshgrid", "expects a non-empty TensorList")
    ts = []
    for i, t in enumerate(tensors):
        if _tensor("meshgrid", t, f"tensors[{i}]").ndim > 1:
            _fail("meshgrid", f"Expected 0D or 1D tensor in the tensor list but got: {t.ndim}-D")
        if t.dtype is not tensors[0].dtype:
            _fail("meshgrid", f"expects all tensors to have the same dtype, got "
                              f"{tensors[0].dtype} and {t.dtype}")
        ts.append(t.reshape(1) if t.ndim == 0 else t)
    return tuple(_xp.meshgrid(*ts, indexing=indexing))
