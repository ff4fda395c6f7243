"""Indexing: flat ``take``, ``take_along_dim``, ``index_fill``, ``index_copy``,
``masked_scatter`` and the embeddings ``slice_scatter``, ``select_scatter``,
``diagonal_scatter``.
"""

from __future__ import annotations

from .. import array_api as _xp
from .. import dtypes as _dt
from .. import ops as _ops
from ..tensor import Tensor
from ._common import _dim, _fail, _tensor
from .diagonals import diagonal

__all__ = ["take", "take_along_dim", "index_fill", "index_copy", "masked_scatter",
           "slice_scatter", "select_scatter", "diagonal_scatter"]


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of ``input`` read as 1-D at the flat ``index`` (negative counts from the
    end); the result has ``index``'s shape."""
    _tensor("take", input)
    _tensor("take", index, "index")
    if index.dtype is not _dt.int64:
        _fail("take", f"Expected a long tensor for index, but got {index.dtype}")
    flat = _xp.take(input.reshape(-1), index.reshape(-1))
    return flat.reshape(tuple(index.shape))


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` along ``dim`` with ``input`` and ``indices`` broadcast over the other
    dimensions; over the flattened ``input`` when ``dim`` is None."""
    _tensor("take_along_dim", input)
    _tensor("take_along_dim", indices, "indices")
    if indices.dtype is not _dt.int64:
        _fail("take_along_dim", f"Expected dtype int64 for index, got {indices.dtype}")
    if dim is None:
        return _ops.gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.ndim != indices.ndim:
        _fail("take_along_dim", f"input and indices should have the same number of "
                                f"dimensions, but got {input.ndim} and {indices.ndim}")
    d = _dim("take_along_dim", dim, input.ndim)
    # every dimension but ``dim`` broadcasts
    ones = [tuple(1 if i == d else n for i, n in enumerate(t.shape)) for t in (input, indices)]
    shape = list(_xp.broadcast_shapes(*ones))
    in_shape, idx_shape = list(shape), list(shape)
    in_shape[d], idx_shape[d] = input.shape[d], indices.shape[d]
    return _ops.gather(input.expand(tuple(in_shape)), d, indices.expand(tuple(idx_shape)))


def _index_mask(fn: str, input: Tensor, dim: int, index: Tensor):
    d = _dim(fn, dim, input.ndim)
    _tensor(fn, index, "index")
    if index.ndim > 1 or index.dtype is not _dt.int64:
        _fail(fn, f"index must be a 0-D or 1-D int64 tensor, got a {index.ndim}-D "
                  f"{index.dtype} tensor")
    n = input.shape[d] if input.ndim else 1
    index = index.reshape(-1)
    hits = _ops.index_add(_ops.zeros(n, dtype=_dt.int64, device=input.device), 0, index,
                          _ops.ones(index.shape[0], dtype=_dt.int64, device=input.device))
    shape = tuple(n if i == d else 1 for i in range(input.ndim))
    return d, index, _ops.gt(hits, 0).reshape(shape)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """``input`` with the slices at ``index`` along ``dim`` set to ``value``."""
    _tensor("index_fill", input)
    _, _, mask = _index_mask("index_fill", input, dim, index)
    if isinstance(value, Tensor) and value.ndim != 0:
        _fail("index_fill", f"only supports a 0-dimensional value tensor, but got tensor "
                            f"with {value.ndim} dimension(s)")
    v = value.astype(input.dtype) if isinstance(value, Tensor) else _ops.full(
        (), value, dtype=input.dtype, device=input.device)
    return _ops.where(mask, v, input)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s
    (indices are expected to be distinct, as in PyTorch)."""
    _tensor("index_copy", input)
    _tensor("index_copy", source, "source")
    d, idx, mask = _index_mask("index_copy", input, dim, index)
    if source.dtype is not input.dtype:
        _fail("index_copy", f"self and source expected to have the same dtype, but got "
                            f"{input.dtype} and {source.dtype}")
    kept = _ops.where(mask, _ops.zeros((), dtype=input.dtype, device=input.device), input)
    return _ops.index_add(kept, d, idx, source)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """``input`` with ``input[start:end:step]`` along ``dim`` replaced by ``src``."""
    _tensor("slice_scatter", input)
    _tensor("slice_scatter", src, "src")
    d = _dim("slice_scatter", dim, input.ndim)
    if step <= 0:
        _fail("slice_scatter", f"slice step must be positive, got {step}")
    positions = range(input.shape[d])[slice(start, end, step)]
    want = tuple(len(positions) if i == d else s for i, s in enumerate(input.shape))
    if tuple(src.shape) != want:
        _fail("slice_scatter", f"expected src to have a size equal to the slice of self. "
                               f"src size = {list(src.shape)}, slice size = {list(want)}")
    idx = _ops.arange(positions.start, positions.stop, positions.step, device=input.device)
    return index_copy(input, d, idx, src.astype(input.dtype))


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with the slice ``input.select(dim, index)`` replaced by ``src``."""
    fn = "select_scatter"
    _tensor(fn, input)
    _tensor(fn, src, "src")
    if input.ndim == 0:
        _fail(fn, "select() cannot be applied to a 0-dim tensor")
    d = _dim(fn, dim, input.ndim)
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(f"{fn}(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    want = tuple(s for k, s in enumerate(input.shape) if k != d)
    if tuple(src.shape) != want:
        _fail(fn, f"expected src to have a size equal to the slice of self. src size = "
                  f"{list(src.shape)}, slice size = {list(want)}")
    index %= n
    return slice_scatter(input, src.unsqueeze(d), d, index, index + 1)


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """``input`` with the diagonal ``input.diagonal(offset, dim1, dim2)`` replaced by
    ``src``."""
    fn = "diagonal_scatter"
    _tensor(fn, input)
    _tensor(fn, src, "src")
    if input.ndim < 2:
        _fail(fn, f"diagonal dimensions requires ndim larger than 1, got {input.ndim}")
    d1, d2 = _dim(fn, dim1, input.ndim), _dim(fn, dim2, input.ndim)
    if d1 == d2:
        _fail(fn, f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    # the diagonal's row-major positions in input: one int64 per element of input
    where = diagonal(_ops.arange(input.numel(), dtype=_dt.int64, device=input.device)
                     .reshape(tuple(input.shape)), offset, d1, d2)
    if tuple(src.shape) != tuple(where.shape):
        _fail(fn, f"expected src to have a size equal to the diagonal of self. src size = "
                  f"{list(src.shape)}, diagonal size = {list(where.shape)}")
    out = _ops.index_put(input.reshape(-1), (where.reshape(-1),),
                         src.reshape(-1).astype(input.dtype))
    return out.reshape(tuple(input.shape))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` (broadcast with ``mask``) with the elements where the bool ``mask`` is
    true replaced, in row-major order, by ``source``'s first elements."""
    fn = "masked_scatter"
    _tensor(fn, input)
    _tensor(fn, mask, "mask")
    _tensor(fn, source, "source")
    if mask.dtype is not _dt.bool:
        _fail(fn, f"argument 'mask' must be a bool tensor, got {mask.dtype}")
    if source.dtype is not input.dtype:
        _fail(fn, f"expected self and source to have the same dtype, got {input.dtype} "
                  f"and {source.dtype}")
    try:
        shape = tuple(_xp.broadcast_shapes(tuple(input.shape), tuple(mask.shape)))
    except Exception:
        _fail(fn, f"the shapes of self {list(input.shape)} and mask {list(mask.shape)} "
                  f"cannot be broadcast together")
    m = mask.expand(shape).reshape(-1)
    x = input.expand(shape).reshape(-1)
    src = source.reshape(-1)
    count = int(m.astype(_dt.int64).sum().item()) if m.shape[0] else 0
    if src.shape[0] < count:
        _fail(fn, f"source has {src.shape[0]} elements, fewer than the {count} true "
                  f"elements of mask")
    if src.shape[0] == 0:  # mask is all false; source still gets its (empty) gradient
        return _ops.where(m, src.sum().astype(x.dtype), x).reshape(shape)
    # the k-th true element of mask takes source's k-th element
    pos = _ops.cumsum(m.astype(_dt.int64), 0) - 1
    pos = _ops.where(m, pos, _ops.zeros((), dtype=_dt.int64, device=input.device))
    return _ops.where(m, _ops.index_select(src, 0, pos), x).reshape(shape)
