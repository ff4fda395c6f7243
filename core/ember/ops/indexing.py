"""Indexing (basic, integer and boolean), assignment, gather/scatter, masks, sorting.

``Tensor.__getitem__`` and ``__setitem__`` are front ends written here: basic indices
(ints, slices, ``None``, ``...``) become one ``basic_index`` view; integer and boolean
tensors (and lists) then go to the ``index`` primitive (a copy), boolean masks through
``nonzero``.  As in PyTorch, ints are applied before the advanced indices.
"""

from __future__ import annotations

import numbers
import operator

from .. import dtypes as _dt
from ..dispatch import backend_kernel as _backend_kernel
from ..dispatch import state as _state
from ..errors import OpError
from ..schema import Spec, defop
from ..tensor import Tensor
from ._rules import broadcast_shapes, fail, wrap_dim
from .conversion import copy_
from .creation import full
from .reduction import ValuesIndices
from .view import basic_index, unbind

__all__ = ["index", "index_put_", "index_put", "nonzero", "argwhere", "gather", "scatter",
           "scatter_add", "scatter_", "scatter_add_", "index_select", "index_add",
           "index_add_", "masked_fill", "masked_fill_", "masked_select", "one_hot", "sort",
           "argsort", "topk", "tril", "triu", "as_strided", "ValuesIndices"]

_NUMBERS = (bool, int, float, complex)


def _is_tensor(x) -> bool:
    return isinstance(x, Tensor)


def _index_dtype(op, arg, t, allow_bool=False):
    if not _is_tensor(t):
        fail(op, f"argument '{arg}' must be a Tensor, got {type(t).__name__}")
    d = t.dtype
    if d.is_floating_point or (d is _dt.bool and not allow_bool):
        fail(op, f"argument '{arg}' must be an integer tensor (int64), got {d}")


# --- advanced indexing primitives ---------------------------------------------------------

def _index_shape(op, self, indices):
    shape = tuple(self.shape)
    if not isinstance(indices, tuple):
        fail(op, f"argument 'indices' must be a tuple of Tensors and None, got "
                 f"{type(indices).__name__}")
    if len(indices) > len(shape):
        raise IndexError(f"{op}(): too many indices for tensor of dimension {len(shape)} "
                         f"(got {len(indices)})")
    pos = [i for i, t in enumerate(indices) if t is not None]
    if not pos:
        fail(op, "argument 'indices' must hold at least one Tensor")
    for i in pos:
        _index_dtype(op, f"indices[{i}]", indices[i])
    try:
        b = broadcast_shapes(*(tuple(indices[i].shape) for i in pos), op=op,
                             names=[f"indices[{i}]" for i in pos])
    except OpError as e:  # an indexing error, as in PyTorch (and Python)
        raise IndexError(str(e)) from None
    rest = [i for i in range(len(shape)) if i not in pos]
    if pos == list(range(pos[0], pos[-1] + 1)):
        return (tuple(shape[i] for i in rest if i < pos[0]) + b +
                tuple(shape[i] for i in rest if i > pos[0]))
    return b + tuple(shape[i] for i in rest)


index = defop("index(Tensor self, Any indices) -> Tensor", tags=("primitive",),
              meta=lambda self, indices: Spec(_index_shape("index", self, indices), self.dtype),
              method=False,
              doc="Integer-array indexing ``self[indices]``: ``indices`` is a tuple of int64 "
                  "tensors (broadcast together) and ``None`` (a whole dimension), NumPy's "
                  "rules for where the indexed dimensions go.  A copy.")


_index_op = index  # for functions whose argument is called ``index``


def _index_put_meta(self, indices, values, accumulate=False):
    shape = _index_shape("index_put_", self, indices)
    if values.dtype is not self.dtype:
        fail("index_put_", f"index put requires the source and destination dtypes match, "
                           f"got {self.dtype} for the destination and {values.dtype} for "
                           f"the source")
    try:
        b = broadcast_shapes(tuple(values.shape), shape)
    except OpError:
        b = None
    if b != shape:
        fail("index_put_", f"shape mismatch: value tensor of shape {list(values.shape)} "
                           f"cannot be broadcast to indexing result of shape {list(shape)}")
    return Spec(tuple(self.shape), self.dtype)


index_put_ = defop("index_put_(Tensor(a!) self, Any indices, Tensor values, "
                   "bool accumulate=False) -> Tensor(a!)", tags=("primitive", "inplace"),
                   meta=_index_put_meta,
                   doc="``self[indices] = values`` (or ``+=`` with ``accumulate``, where "
                       "repeated indices accumulate) for integer-array ``indices``.")
index_put = defop("index_put(Tensor self, Any indices, Tensor values, bool accumulate=False)"
                  " -> Tensor", tags=("composite",),
                  meta=_index_put_meta,
                  decomposition=lambda self, indices, values, accumulate=False:
                      index_put_(self.clone(), indices, values, accumulate),
                  doc="Out-of-place ``index_put_``.")


def _nonzero_meta(self):
    if self.is_meta:
        fail("nonzero", "the output shape depends on the data, which meta tensors lack")
    return Spec((-1, self.ndim), _dt.int64)


nonzero = defop("nonzero(Tensor self) -> Tensor", tags=("primitive", "dynamic_shape"),
                meta=_nonzero_meta,
                doc="Indices of the nonzero elements, one row per element (n x ndim), "
                    "in row-major order; int64.")
argwhere = defop("argwhere(Tensor self) -> Tensor", tags=("composite",), meta=_nonzero_meta,
                 decomposition=lambda self: nonzero(self), doc="Same as ``nonzero``.")


def _with_as_tuple(fn):
    """``nonzero(self, *, as_tuple=False)``: with ``as_tuple`` one index vector per
    dimension (what ``t[mask]`` uses), as PyTorch."""
    def wrapper(self, *, as_tuple: bool = False):
        out = fn(self)
        if not as_tuple:
            return out
        if self.ndim == 0:  # as PyTorch: index 0 once if the value is nonzero
            return (full((out.shape[0],), 0, dtype=_dt.int64, device=self.device),)
        return tuple(unbind(out, 1))
    wrapper.__name__ = wrapper.__qualname__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.op = fn.op
    return wrapper


nonzero = _with_as_tuple(nonzero)


# --- gather / scatter ----------------------------------------------------------------------
# gather, scatter, index_select, index_add … decompose into ``index`` / ``index_put_``
# (backends may still register native kernels, as the CPU does).

def _check_bounds(op, index, size, dim):
    """Data-dependent bounds check of the decompositions (``index`` would wrap negative
    indices, which these ops reject as PyTorch does)."""
    if index.numel() and not index.is_meta:
        lo, hi = int(index.amin().item()), int(index.amax().item())
        if lo < 0 or hi >= size:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}(): index {bad} is out of bounds for dimension {dim} "
                             f"with size {size}")


def _along_dim(index, dim):
    """The ``index`` tuple picking, at each position of ``index``, the element whose
    coordinate along ``dim`` is ``index``'s value (the rest: the position itself)."""
    from .creation import arange
    n = index.ndim
    return tuple(index if k == dim else
                 arange(index.shape[k], device=index.device).reshape(
                     tuple(-1 if j == k else 1 for j in range(n)))
                 for k in range(n))


def _as_1d(t):
    return t.reshape(1) if t.ndim == 0 else t


def _gather_decomp(self, dim, index, sparse_grad=False):
    x, i = _as_1d(self), _as_1d(index)
    d = dim % x.ndim
    _check_bounds("gather", i, x.shape[d], d)
    return _index_op(x, _along_dim(i, d)).reshape(tuple(index.shape))



def _gather_meta(self, dim, index, sparse_grad=False):
    _index_dtype("gather", "index", index)
    n = self.ndim
    d = wrap_dim(dim, n, "gather")
    if index.ndim != n and not (n == 0 and index.ndim <= 1 or index.ndim == 0 and n <= 1):
        fail("gather", f"argument 'index' must have the same number of dimensions as "
                       f"'self' ({n}), got {index.ndim}")
    for k in range(min(n, index.ndim)):
        if k != d and index.shape[k] > self.shape[k]:
            fail("gather", f"size of argument 'index' ({index.shape[k]}) must not exceed "
                           f"the size of 'self' ({self.shape[k]}) at dimension {k}")
    return Spec(tuple(index.shape), self.dtype)


gather = defop("gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor",
               tags=("composite",), meta=_gather_meta, decomposition=_gather_decomp,
               doc="``out[i][j] = self[index[i][j]][j]`` for ``dim=0`` (and so on): values "
                   "picked along ``dim`` at the positions in ``index``.")


def _scatter_meta(op):
    def meta(self, dim, index, src, *rest):
        _index_dtype(op, "index", index)
        if not _is_tensor(src):
            fail(op, f"argument 'src' must be a Tensor, got {type(src).__name__}")
        n = self.ndim
        d = wrap_dim(dim, n, op)
        if src.dtype is not self.dtype:
            fail(op, f"expected 'self' and 'src' to have the same dtype, got {self.dtype} "
                     f"and {src.dtype}")
        if index.ndim != n or src.ndim != n:
            if not (n <= 1 and index.ndim <= 1 and src.ndim <= 1):
                fail(op, f"'index', 'src' and 'self' must have the same number of "
                         f"dimensions, got {index.ndim}, {src.ndim} and {n}")
        for k in range(min(index.ndim, n)):
            if src.ndim and index.shape[k] > src.shape[k]:
                fail(op, f"size of argument 'index' ({index.shape[k]}) must not exceed the "
                         f"size of 'src' ({src.shape[k]}) at dimension {k}")
            if k != d and index.shape[k] > self.shape[k]:
                fail(op, f"size of argument 'index' ({index.shape[k]}) must not exceed the "
                         f"size of 'self' ({self.shape[k]}) at dimension {k}")
        if rest and rest[0] not in (None, "add", "multiply"):
            fail(op, f"argument 'reduce' must be 'add' or 'multiply', got {rest[0]!r}")
        return Spec(tuple(self.shape), self.dtype)
    return meta


def _scatter_decomp(self, dim, index, src, reduce=None, op="scatter"):
    if reduce == "multiply":
        fail(op, "reduce='multiply' has no decomposition: the backend needs a native "
                 "scatter kernel")
    out = self.clone()
    x, i = _as_1d(out), _as_1d(index)
    d = dim % x.ndim
    _check_bounds(op, i, x.shape[d], d)
    if i.numel():
        values = basic_index(_as_1d(src), tuple(slice(0, s) for s in i.shape))
        index_put_(x, _along_dim(i, d), values, reduce == "add")
    return out


scatter = defop("scatter(Tensor self, int dim, Tensor index, Tensor src, *, str? reduce=None)"
                " -> Tensor", tags=("composite",), meta=_scatter_meta("scatter"),
                decomposition=_scatter_decomp,
                doc="A copy of ``self`` with ``src`` values written at ``index`` along "
                    "``dim`` (``src`` may be a number); ``reduce`` 'add'/'multiply' "
                    "combines instead.")
scatter_add = defop("scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor",
                    tags=("composite",), meta=_scatter_meta("scatter_add"),
                    decomposition=lambda self, dim, index, src:
                        _scatter_decomp(self, dim, index, src, "add", "scatter_add"),
                    doc="A copy of ``self`` with ``src`` added at ``index`` along ``dim``; "
                        "repeated indices accumulate.")
scatter_ = defop("scatter_(Tensor(a!) self, int dim, Tensor index, Tensor src, *, "
                 "str? reduce=None) -> Tensor(a!)", tags=("inplace",), inplace_of="scatter",
                 doc="In-place ``scatter``.")
scatter_add_ = defop("scatter_add_(Tensor(a!) self, int dim, Tensor index, Tensor src) "
                     "-> Tensor(a!)", tags=("inplace",), inplace_of="scatter_add",
                     doc="In-place ``scatter_add``.")


def _scalar_src(fn):
    """``scatter(self, dim, index, value)`` with a number: a tensor of that value."""
    def wrapper(self, dim, index, src=None, *, value=None, reduce=None, **kw):
        if src is None:
            src = value
        if src.__class__ in _NUMBERS:
            from .creation import full
            src = full(tuple(index.shape), src, dtype=self.dtype, device=self.device)
        if reduce is not None:
            kw["reduce"] = reduce
        return fn(self, dim, index, src, **kw)
    wrapper.__name__ = wrapper.__qualname__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.op = fn.op
    return wrapper


scatter = _scalar_src(scatter)
scatter_ = _scalar_src(scatter_)


def _index_select_meta(self, dim, index):
    _index_dtype("index_select", "index", index)
    if index.ndim > 1:
        fail("index_select", f"argument 'index' must be a vector (0-d or 1-d), got a "
                             f"{index.ndim}-d tensor")
    shape = list(self.shape)
    d = wrap_dim(dim, len(shape), "index_select")
    if shape:
        shape[d] = index.numel()
    elif index.numel() != 1:  # a 0-d tensor gives a 0-d tensor, as in PyTorch
        fail("index_select", f"an index into a 0-d tensor can have only 1 value, got "
                             f"{index.numel()} value(s)")
    return Spec(tuple(shape), self.dtype)


def _index_select_decomp(self, dim, index):
    x = _as_1d(self)
    d = dim % x.ndim
    i = index.reshape(-1)
    _check_bounds("index_select", i, x.shape[d], d)
    out = _index_op(x, (None,) * d + (i,))
    return out.reshape(_index_select_meta(self, dim, index).shape)


index_select = defop("index_select(Tensor self, int dim, Tensor index) -> Tensor",
                     tags=("composite",), meta=_index_select_meta,
                     decomposition=_index_select_decomp,
                     doc="The slices of ``self`` along ``dim`` at the positions in the "
                         "vector ``index`` (a copy).")


def _as_strided_meta(self, size, stride, storage_offset=None):
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride):
        fail("as_strided", f"mismatch in length of strides and shape: size {list(size)} "
                           f"and stride {list(stride)}")
    if any(n < 0 for n in size):
        fail("as_strided", f"argument 'size' must not hold negative sizes, got {list(size)}")
    if any(s < 0 for s in stride):
        fail("as_strided", f"negative strides are not supported, got strides {list(stride)}")
    offset = 0 if storage_offset is None else storage_offset
    if offset < 0:
        fail("as_strided", f"argument 'storage_offset' must be non-negative, got {offset}")
    if all(size):  # the last element read; nothing is read from an empty result
        needed = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) + 1
        if needed > self.numel():
            fail("as_strided", f"size {list(size)}, stride {list(stride)} and storage "
                               f"offset {offset} read element {needed - 1}, out of bounds "
                               f"for an input of {self.numel()} elements (ember reads the "
                               f"input's own elements in row-major order, never beyond)")
    return Spec(size, self.dtype)


def _as_strided_decomp(self, size, stride, storage_offset=None):
    # A gather at offset + sum(i_k * stride_k) from the input's elements in row-major
    # order: PyTorch's result for a contiguous input, without the aliasing (ember's
    # tensors have no shared storage to re-view; docs/ops.md's deviations).  The
    # gradient is index_select's: overlapping windows accumulate into what they read.
    from .creation import arange
    size, stride = tuple(size), tuple(stride)
    i64 = _dt.int64
    idx = full((), 0 if storage_offset is None else storage_offset, dtype=i64,
               device=self.device)
    for k, (n, s) in enumerate(zip(size, stride, strict=True)):
        step = arange(n, dtype=i64, device=self.device) * s
        idx = idx + step.reshape((1,) * k + (n,) + (1,) * (len(size) - k - 1))
    flat = self.reshape(-1)
    if flat.shape[0] == 0:  # (only an empty result reads nothing from an empty input)
        return full(size, 0, dtype=self.dtype, device=self.device)
    return index_select(flat, 0, idx.reshape(-1)).reshape(size)


as_strided = defop(
    "as_strided(Tensor self, int[] size, int[] stride, int? storage_offset=None) -> Tensor",
    tags=("composite",), meta=_as_strided_meta, decomposition=_as_strided_decomp,
    doc="The elements at ``storage_offset + sum(i_k * stride_k)`` of ``self`` read in "
        "row-major order, in a tensor of shape ``size``: PyTorch's ``as_strided`` of a "
        "contiguous tensor, as a copy (ember has no aliasing ``as_strided``; see "
        "docs/ops.md's deviations).")


def _index_add_meta(self, dim, index, source, alpha=1):
    _index_dtype("index_add", "index", index)
    if index.ndim > 1:
        fail("index_add", f"argument 'index' must be a vector, got a {index.ndim}-d tensor")
    if source.dtype is not self.dtype:
        fail("index_add", f"expected 'self' and 'source' to have the same dtype, got "
                          f"{self.dtype} and {source.dtype}")
    n = self.ndim
    d = wrap_dim(dim, n, "index_add")
    expect = list(self.shape)
    if n:
        expect[d] = index.numel()
    if list(source.shape) != expect and not (n == 0 and source.numel() == index.numel()):
        fail("index_add", f"argument 'source' must have shape {expect} (self's shape with "
                          f"dimension {d} of index's length), got {list(source.shape)}")
    return Spec(tuple(self.shape), self.dtype)


def _index_add_decomp(self, dim, index, source, alpha=1):
    out = self.clone()
    x = _as_1d(out)
    d = dim % x.ndim
    i = index.reshape(-1)
    _check_bounds("index_add", i, x.shape[d], d)
    values = source.reshape(tuple(x.shape[:d]) + (i.numel(),) + tuple(x.shape[d + 1:]))
    if alpha != 1:
        values = values * alpha
    index_put_(x, (None,) * d + (i,), values.astype(x.dtype), True)
    return out


index_add = defop("index_add(Tensor self, int dim, Tensor index, Tensor source, *, "
                  "Scalar alpha=1) -> Tensor", tags=("composite",), meta=_index_add_meta,
                  decomposition=_index_add_decomp,
                  doc="A copy of ``self`` with ``alpha * source`` slices added at the "
                      "positions ``index`` along ``dim`` (repeats accumulate).")
index_add_ = defop("index_add_(Tensor(a!) self, int dim, Tensor index, Tensor source, *, "
                   "Scalar alpha=1) -> Tensor(a!)", tags=("inplace",), inplace_of="index_add",
                   doc="In-place ``index_add``.")


# --- masks -------------------------------------------------------------------------------------

def _check_value(op, dtype, value):
    _dt.check_fits(op, value, dtype)


def _masked_fill_meta(self, mask, value):
    if not _is_tensor(mask) or mask.dtype is not _dt.bool:
        what = mask.dtype if _is_tensor(mask) else type(mask).__name__
        fail("masked_fill", f"argument 'mask' must be a bool tensor, got {what}")
    _check_value("masked_fill", self.dtype, value)
    shape = broadcast_shapes(tuple(self.shape), tuple(mask.shape), op="masked_fill",
                             names=("self", "mask"))
    return Spec(shape, self.dtype)


def _masked_fill_decomp(self, mask, value):
    from .pointwise import where
    return where(mask, full((), value, dtype=self.dtype, device=self.device), self)


masked_fill = defop("masked_fill(Tensor self, Tensor mask, Scalar value) -> Tensor",
                    tags=("composite",), meta=_masked_fill_meta,
                    decomposition=_masked_fill_decomp,
                    doc="``self`` with ``value`` where the bool ``mask`` is true "
                        "(broadcasting).")
masked_fill_ = defop("masked_fill_(Tensor(a!) self, Tensor mask, Scalar value) -> Tensor(a!)",
                     tags=("inplace",), inplace_of="masked_fill",
                     doc="In-place ``masked_fill``.")


def _masked_select_meta(self, mask):
    _masked_fill_meta(self, mask, 0)
    if self.is_meta:
        fail("masked_select", "the output shape depends on the data, which meta tensors "
                              "lack")
    return Spec((-1,), self.dtype)


def _masked_select_decomp(self, mask):
    shape = broadcast_shapes(tuple(self.shape), tuple(mask.shape))
    # flattened first: a 0-d mask cannot index, and the result is 1-D anyway
    return getitem(self.expand(shape).reshape(-1), mask.expand(shape).reshape(-1))


masked_select = defop("masked_select(Tensor self, Tensor mask) -> Tensor",
                      tags=("composite", "dynamic_shape"), meta=_masked_select_meta,
                      decomposition=_masked_select_decomp,
                      doc="The elements of ``self`` where ``mask`` is true, as a 1-D tensor.")


def _one_hot_meta(self, num_classes=-1):
    if self.dtype._kind != "i":
        fail("one_hot", f"argument 'self' must be an integer (class index) tensor, got "
                        f"{self.dtype}")
    if num_classes < -1 or num_classes == 0 and self.numel():
        fail("one_hot", f"argument 'num_classes' must be positive or -1, got {num_classes}")
    if num_classes == -1 and self.is_meta:
        fail("one_hot", "num_classes=-1 needs the data; pass num_classes on meta tensors")
    return Spec(tuple(self.shape) + (max(num_classes, 0),), _dt.int64)


def _one_hot_decomp(self, num_classes=-1):
    from .creation import arange
    if self.numel() and not self.is_meta:
        lo, hi = int(self.amin().item()), int(self.amax().item())
        if lo < 0:
            fail("one_hot", "class values must be non-negative")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            fail("one_hot", f"class values must be smaller than num_classes "
                            f"({num_classes}), got {hi}")
    elif num_classes == -1:
        fail("one_hot", "can not infer the total number of classes from an empty tensor")
    classes = arange(num_classes, dtype=self.dtype, device=self.device)
    return (self.unsqueeze(-1) == classes).astype(_dt.int64)


one_hot = defop("one_hot(Tensor self, int num_classes=-1) -> Tensor",
                tags=("composite", "dynamic_shape"),
                meta=_one_hot_meta, decomposition=_one_hot_decomp, method=False,
                doc="One-hot encoding of class indices (int64, a new last dimension of "
                    "size ``num_classes``; -1 infers it as ``max + 1``).")


def _tri_meta(op):
    def meta(self, diagonal=0):
        if self.ndim < 2:
            fail(op, f"argument 'self' must have at least 2 dimensions, got {self.ndim}")
        return Spec(tuple(self.shape), self.dtype)
    return meta


def _tri_decomp(lower):
    def decomp(self, diagonal=0):
        from .creation import arange
        from .pointwise import where
        m, n = self.shape[-2:]
        rows = arange(m, device=self.device).unsqueeze(-1)
        cols = arange(n, device=self.device)
        keep = (cols - rows <= diagonal) if lower else (cols - rows >= diagonal)
        return where(keep, self, False if self.dtype is _dt.bool else 0)
    return decomp


tril = defop("tril(Tensor self, int diagonal=0) -> Tensor", tags=("composite",),
             meta=_tri_meta("tril"), decomposition=_tri_decomp(True),
             doc="The lower triangle of the last two dimensions (``j - i <= diagonal``); "
                 "the rest zero.")
triu = defop("triu(Tensor self, int diagonal=0) -> Tensor", tags=("composite",),
             meta=_tri_meta("triu"), decomposition=_tri_decomp(False),
             doc="The upper triangle of the last two dimensions (``j - i >= diagonal``); "
                 "the rest zero.")


# --- sorting ------------------------------------------------------------------------------------

def _sort_meta(self, dim=-1, descending=False, stable=False):
    from ._rules import refuse_complex
    refuse_complex("sort", self.dtype)  # (no order)
    wrap_dim(dim, self.ndim, "sort")
    s = tuple(self.shape)
    return Spec(s, self.dtype), Spec(s, _dt.int64)


sort = defop("sort(Tensor self, int dim=-1, bool descending=False, *, bool stable=False) "
             "-> (Tensor, Tensor)", tags=("primitive",), meta=_sort_meta,
             doc="``(values, indices)`` sorted along ``dim``; NaN sorts as the largest "
                 "value.  This kernel is stable (equal values keep their order).")
argsort = defop("argsort(Tensor self, int dim=-1, bool descending=False, *, bool stable=False)"
                " -> Tensor", tags=("composite",),
                meta=lambda self, dim=-1, descending=False, stable=False:
                    _sort_meta(self, dim)[1],
                decomposition=lambda self, dim=-1, descending=False, stable=False:
                    sort(self, dim, descending, stable=stable)[1],
                doc="The indices that sort ``self`` along ``dim``.")


def _topk_meta(self, k, dim=-1, largest=True, sorted=True):
    d = wrap_dim(dim, self.ndim, "topk")
    shape = list(self.shape)
    size = shape[d] if shape else 1
    if not 0 <= k <= size:
        fail("topk", f"argument 'k' ({k}) is out of range for dimension {d} of size {size}")
    if shape:
        shape[d] = k
    return Spec(tuple(shape), self.dtype), Spec(tuple(shape), _dt.int64)


def _topk_decomp(self, k, dim=-1, largest=True, sorted=True):
    values, indices = sort(self, dim, largest, stable=True)
    if self.ndim == 0:
        return values, indices
    return values.narrow(dim, 0, k), indices.narrow(dim, 0, k)


topk = defop("topk(Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True) "
             "-> (Tensor, Tensor)", tags=("composite",), meta=_topk_meta,
             decomposition=_topk_decomp,
             doc="``(values, indices)`` of the ``k`` largest (or smallest) elements along "
                 "``dim``, in sorted order.")


def _named(fn):
    """Return ``(values, indices)`` as a named tuple, as ``torch.return_types``."""
    def wrapper(*args, **kwargs):
        return ValuesIndices(*fn(*args, **kwargs))
    wrapper.__name__ = wrapper.__qualname__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    wrapper.op = fn.op
    return wrapper


sort = _named(sort)
topk = _named(topk)


# --- Tensor.__getitem__ / __setitem__ ----------------------------------------------------------

def _as_index_tensor(x, dev):
    from ..tensor import Tensor, tensor
    if isinstance(x, Tensor):
        return x if x._device is dev else x.to(dev)
    t = tensor(x, device=dev)
    if t.dtype.is_floating_point and not t.numel() and not hasattr(x, "dtype"):
        t = t.astype(_dt.int64)  # x[[]]: an empty list selects nothing (not a float index)
    if t.dtype.is_floating_point:
        raise IndexError(f"tensors used as indices must be long, int or bool tensors, "
                         f"got {t.dtype} from {type(x).__name__}")
    return t


class _NewAxisMask:
    """A 0-d bool index (``x[True]``, ``x[mask_0d]``): a new axis of size one, kept
    where the value is true and emptied where false (PyTorch and NumPy)."""

    __slots__ = ("mask",)

    def __init__(self, mask) -> None:
        self.mask = mask


def _parse(self, index):
    """Split an index into the ``basic_index`` tuple and the advanced entries
    ``(view dim, tensor)`` (``None`` when purely basic)."""
    items = index if index.__class__ is tuple else (index,)
    basic = []
    adv = []
    dev = self._device
    for it in items:
        c = it.__class__
        if c is bool or (_is_tensor(it) and it.ndim == 0 and it.dtype is _dt.bool):
            basic.append(None)
            basic.append(_NewAxisMask(_as_index_tensor(it, dev).reshape(1)))
            continue
        if c is int or it is None or it is Ellipsis:
            basic.append(it)
        elif c is slice:
            if not all(v is None or v.__class__ is int for v in (it.start, it.stop, it.step)):
                it = slice(*(None if v is None else operator.index(v)
                             for v in (it.start, it.stop, it.step)))
            basic.append(it)
        elif isinstance(it, numbers.Integral) and not _is_tensor(it):
            basic.append(operator.index(it))
        elif c is list or c is tuple or _is_tensor(it) or hasattr(it, "__array__"):
            t = _as_index_tensor(it, dev)
            basic.append(t)
        else:
            raise IndexError(f"only integers, slices (`:`), ellipsis (`...`), None and "
                             f"long or bool tensors are valid indices (got "
                             f"{type(it).__name__})")
    if not any(_is_tensor(x) or x.__class__ is _NewAxisMask for x in basic):
        return tuple(basic), None
    # Advanced: each tensor keeps its dims in the view as full slices.
    consumed = 0
    for x in basic:
        if _is_tensor(x):
            consumed += x.ndim if x.dtype is _dt.bool else 1
        elif x is not None and x is not Ellipsis and x.__class__ is not _NewAxisMask:
            consumed += 1
    ndim = self.ndim
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    view_idx = []
    vpos = 0
    for x in basic:
        if x.__class__ is _NewAxisMask:  # masks the new axis the None before it made
            adv.append((vpos - 1, x.mask))
        elif _is_tensor(x):
            k = x.ndim if x.dtype is _dt.bool else 1
            view_idx.extend([slice(None)] * k)
            adv.append((vpos, x))
            vpos += k
        elif x is Ellipsis:
            view_idx.append(x)
            vpos += ndim - consumed
        elif x is None or x.__class__ is slice:
            view_idx.append(x)
            vpos += 1
        else:
            view_idx.append(x)
    return tuple(view_idx), adv


def _is_trivial(idx):
    return all(x is Ellipsis or x.__class__ is slice and x == _FULL for x in idx)


_FULL = slice(None)
_SIMPLE = (int, type(None))


def _advanced(view, adv):
    """The ``index`` tuple for a view and its advanced entries (masks -> nonzero)."""
    entries: dict = {}
    for p, t in adv:
        if t.dtype is _dt.bool:
            want = tuple(view.shape[p:p + t.ndim])
            # a mask dim of size 0 fits any dim (it selects nothing): the Array API
            # standard's rule, and numpy's; PyTorch refuses it, one tensor type serves both
            if len(want) != t.ndim or any(
                    m != w and m != 0 for m, w in zip(t.shape, want, strict=True)):
                raise IndexError(f"the shape of the mask {list(t.shape)} at index {p} does "
                                 f"not match the shape of the indexed tensor {list(want)} "
                                 f"at index {p}")
            for j, col in enumerate(unbind(nonzero(t), 1)):
                entries[p + j] = col
        else:
            entries[p] = t
    last = max(entries)
    return tuple(entries.get(i) for i in range(last + 1))


_Tensor = None  # ember.Tensor, bound at first use (this module loads before tensor.py)


def getitem(self, key):
    """``self[key]``: a view for basic indices, a copy for advanced ones."""
    global _Tensor
    if _Tensor is None:
        from ..tensor import Tensor as _T
        _Tensor = _T
    c = key.__class__
    if c is int or c is tuple or c is slice:
        idx = key if c is tuple else (key,)
        if not _state.keys:
            # The dispatcher's common case for the commonest front end: no functionality
            # key -> basic_index's boxed kernel on this backend, which validates (its
            # outcome cached per index), runs and wraps the view; when recording, its
            # Autograd kernel prebuilt for this backend (once a first call through the
            # dispatcher has built it), which validates the same way before it records
            # anything.  The shape rule refuses what is not a basic index (tensors,
            # lists, masks, negative steps): those take the general path below, which
            # also raises the clear error for a bad basic index.
            dev = self._device
            k = _BASIC_KERNELS.get(dev.type) or _backend_kernel(_BASIC_OP, dev.type)
            run = k.autograd if self._requires_grad and _state.grad_enabled else k.run
            if run is not None:
                try:
                    return run(_BASIC_OP, dev, (self, idx))
                except OpError:
                    pass
    if c is _Tensor and key._device is self._device and key._data.dtype.kind in "iu" \
            and self._data.shape:
        return index(self, (key,))  # t[int_tensor]: straight to the gather primitive
    key, flips = _negative_steps(self, key)
    if flips:
        from .view import flip
        return flip(getitem(self, key), flips)
    idx, adv = _parse(self, key)
    if adv is None:
        return basic_index(self, idx)
    view = self if _is_trivial(idx) else basic_index(self, idx)
    return index(view, _advanced(view, adv))


def _negative_steps(self, key):
    """``(key, dims)``: ``key`` with its basic slices of negative step (``x[::-1]``)
    turned into positive ones that pick the same elements in increasing order, and the
    dims of the result that then come out reversed (``self[key]`` flipped along ``dims``
    is the original selection).  PyTorch refuses such slices; NumPy and the Array API
    standard take them, and one tensor type serves both namespaces: ``getitem`` flips
    the selection, ``setitem`` writes a flipped value (ember's views have no negative
    strides).  Other keys pass through with no dims."""
    items = key if key.__class__ is tuple else (key,)
    if not any(x.__class__ is slice and x.step.__class__ is int and x.step < 0
               for x in items):
        return key, ()
    if not _is_basic(items) or sum(x is Ellipsis for x in items) > 1:
        return key, ()  # (advanced indices with it: left to the usual errors)
    ndim = self.ndim
    taken = sum(1 for x in items if x is not None and x is not Ellipsis)
    out, flips, d, o = [], [], 0, 0  # d: dim of self, o: dim of the result
    for x in items:
        if x is Ellipsis:
            out.append(x)
            d += ndim - taken
            o += ndim - taken
            continue
        if x is None:
            out.append(x)
            o += 1
            continue
        if x.__class__ is slice:
            if x.step.__class__ is int and x.step < 0 and d < ndim:
                start, stop, step = x.indices(self.shape[d])
                count = len(range(start, stop, step))
                last = start + (count - 1) * step  # the smallest index picked
                x = slice(last, start + 1, -step) if count else slice(0, 0)
                flips.append(o)
            o += 1
        out.append(x)
        d += 1
    return tuple(out), tuple(flips)


_BASIC_OP = basic_index.op
_BASIC_KERNELS = _BASIC_OP.cache  # device type -> basic_index's boxed kernel


def _is_basic(index: tuple) -> bool:
    """Whether ``index`` holds only basic entries (ints, slices of ints, None,
    Ellipsis): then ``basic_index`` takes it as it is."""
    for x in index:
        c = x.__class__
        if c is int or x is None or x is Ellipsis:
            continue
        if c is not slice or x.start.__class__ not in _SIMPLE \
                or x.stop.__class__ not in _SIMPLE or x.step.__class__ not in _SIMPLE:
            return False
    return True


def setitem(self, key, value) -> None:
    """``self[key] = value``: validated before anything is written; bumps the
    version counter of ``self`` (and its views)."""
    key, flips = _negative_steps(self, key)
    idx, adv = _parse(self, key)
    view = basic_index(self, idx)
    if flips and value.__class__ not in _NUMBERS:
        # the view picks the elements in increasing order: the value, reversed, lands
        # where the negative-step slices would have put it
        from .view import expand, flip
        if not _is_tensor(value):
            value = _as_value(value, self)
        value = flip(expand(_drop_leading_ones(value), tuple(view.shape)), flips)
    if _is_tensor(value) and value.ndim and value.shape[0] == 1:
        value = _drop_leading_ones(value)
    if adv is None:
        if value.__class__ in _NUMBERS:
            _check_value("__setitem__", self.dtype, value)
            # copy_ rather than fill_: autograd can record copy_ into a view
            copy_(view, full((), value, dtype=self.dtype, device=self.device))
        elif _is_tensor(value):
            copy_(view, value)
        else:
            copy_(view, _as_value(value, self))
        return
    if value.__class__ in _NUMBERS:
        _check_value("index_put_", self.dtype, value)
        value = full((), value, dtype=self.dtype, device=self.device)
    elif not _is_tensor(value):
        value = _as_value(value, self)
    if value.dtype is not self.dtype:
        value = value.astype(self.dtype)
    index_put_(view, _advanced(view, adv), value)


def _drop_leading_ones(value):
    """As PyTorch's item assignment: a value's leading size-1 dimensions are dropped
    before it broadcasts (``x[0] = tensor([5.])`` fills a row, or a 0-d slot)."""
    shape = tuple(value.shape)
    k = 0
    while k < len(shape) and shape[k] == 1:
        k += 1
    return value.reshape(shape[k:])


def _as_value(value, self):
    from ..tensor import tensor
    try:
        return tensor(value, dtype=self.dtype, device=self.device)
    except (TypeError, ValueError) as e:
        raise TypeError(f"__setitem__(): can't assign a {type(value).__name__} to a "
                        f"tensor: {e}") from None


# --- derivatives ---
# Beside the schemas above; see ember.autograd.rules for the conventions.  Gradients of
# "pick" ops scatter back into zeros with the matching "put" op (and vice versa), so
# every formula is itself differentiable.

from ..autograd.rules import derivative  # noqa: E402


def _zeros_of(x, like):
    from .creation import zeros
    return zeros(tuple(x.shape), dtype=like.dtype, device=like.device)


def _scalar_zero(g):
    from .creation import zeros
    return zeros((), dtype=g.dtype, device=g.device)


derivative(index, self=lambda g, self, indices:
           index_put(_zeros_of(self, g), indices, g, True))
derivative(index_put_,
           self=lambda g, self, indices, values, accumulate=False:
               g if accumulate else index_put(g, indices, _scalar_zero(g)),
           values=lambda g, self, indices, values, accumulate=False: index(g, indices))
derivative(gather, save="index", self=lambda g, self, dim, index, sparse_grad=False:
           scatter_add(_zeros_of(self, g), dim, index, g))


def _scatter_self(g, self, dim, index, src, reduce=None):
    if reduce is not None:
        raise NotImplementedError(f"the derivative of scatter(reduce={reduce!r}) is not "
                                  f"implemented")
    return scatter(g, dim, index, 0.0)


def _scatter_src(g, self, dim, index, src, reduce=None):
    if reduce is not None:
        raise NotImplementedError(f"the derivative of scatter(reduce={reduce!r}) is not "
                                  f"implemented")
    return gather(g, dim, index)


derivative(scatter, save="index", self=_scatter_self, src=_scatter_src)
derivative(scatter_add, save="index",
           self=lambda g, self, dim, index, src: g,
           src=lambda g, self, dim, index, src: gather(g, dim, index))
derivative(index_select, save="index", self=lambda g, self, dim, index:
           index_add(_zeros_of(self, g), dim, index, g))
derivative(index_add, save="index",
           self=lambda g, self, dim, index, source, alpha=1: g,
           source=lambda g, self, dim, index, source, alpha=1:
               index_select(g, dim, index) * alpha if alpha != 1
               else index_select(g, dim, index))
derivative(masked_fill, save="mask",
           self=lambda g, self, mask, value: masked_fill(g, mask, 0.0))


def _sorted_backward(g, self, *rest, result=None, dim=-1):
    """sort/topk: each value's gradient goes back to where it came from."""
    gv = g[0]
    if gv is None:
        return None
    return scatter_add(_zeros_of(self, gv), dim, result[1], gv)


derivative(sort, save="result",
           self=lambda g, self, dim=-1, descending=False, stable=False, result=None:
               _sorted_backward(g, self, result=result, dim=dim))
derivative(topk, save="result",
           self=lambda g, self, k, dim=-1, largest=True, sorted=True, result=None:
               _sorted_backward(g, self, result=result, dim=dim))
