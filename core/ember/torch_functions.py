"""PyTorch's top-level functions that are front ends over ops: shape helpers (``hstack``,
``atleast_2d``, ``rot90`` …), PyTorch's spellings of Array API rules (``meshgrid``'s
``'ij'`` default, ``diff``, flat ``take``, ``searchsorted``, ``tensordot``), products
(``inner``, ``addmm``, ``kron``, ``diag_embed`` …), ``det``/``inverse``/``logdet`` over
``ember.linalg``, NaN-ignoring reductions, ``median``, ``unique`` and ``isin``.

They return what PyTorch returns (Python numbers, tuples, named tuples), compose ops
only (autograd differentiates them through those ops) and refuse what PyTorch refuses,
naming the function.  ``install_methods`` attaches the ones PyTorch also has as Tensor
methods, with a few methods that are pure front ends (``byte``, ``nelement``, ``H`` …).
"""

from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple
from collections.abc import Sequence

from . import array_api as _xp
from . import dtypes as _dt
from . import linalg as _linalg
from . import ops as _ops
from .errors import OpError
from .tensor import Tensor

__all__ = [
    "absolute", "clip", "concatenate", "numel", "is_floating_point", "is_nonzero", "ravel",
    "swapaxes", "atleast_1d", "atleast_2d", "atleast_3d", "hstack", "vstack", "dstack",
    "column_stack", "fliplr", "flipud", "rot90", "broadcast_tensors", "meshgrid", "diff",
    "take", "take_along_dim", "searchsorted", "bucketize", "tensordot", "inner", "vdot", "mv",
    "addmm", "baddbmm", "kron", "trace", "diag", "diagonal", "diag_embed", "det", "inverse",
    "logdet", "cross", "nansum", "nanmean", "median", "unique", "isin", "float_power",
    "tensor_split", "hsplit", "vsplit", "dsplit", "tril_indices", "triu_indices", "logspace",
    "msort", "diagflat", "cartesian_prod", "dist", "kthvalue", "nanmedian", "svd",
    "trapezoid", "bincount", "ldexp", "cov", "cummax", "cummin", "cosine_similarity",
    "histc", "index_fill", "index_copy", "quantile", "normal", "gcd", "lcm",
    "slice_scatter", "unique_consecutive", "multinomial", "mode", "cdist",
]

absolute = _ops.abs
clip = _ops.clamp
concatenate = _ops.cat


def _fail(fn: str, message: str):
    raise OpError(f"{fn}(): {message}")


def _tensor(fn: str, x, arg: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' must be Tensor, not {type(x).__name__}")
    return x


def _dim(fn: str, dim: int, ndim: int) -> int:
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{fn}(): Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


# --- Python values -----------------------------------------------------------------------

def numel(input: Tensor) -> int:
    """The number of elements."""
    return _tensor("numel", input).numel()


def is_floating_point(input: Tensor) -> bool:
    """Whether the dtype is a floating-point one."""
    return _tensor("is_floating_point", input).dtype.is_floating_point


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor (refused for any other size, as PyTorch)."""
    n = _tensor("is_nonzero", input).numel()
    if n != 1:
        raise RuntimeError(f"is_nonzero(): Boolean value of Tensor with "
                           f"{'no values' if n == 0 else 'more than one value'} is ambiguous")
    return builtins.bool(input.reshape(()).item())


# --- shapes ------------------------------------------------------------------------------

def ravel(input: Tensor) -> Tensor:
    """``input`` flattened to 1-D (a view where possible)."""
    return _tensor("ravel", input).reshape(-1)


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose(input, axis0, axis1)``."""
    n = _tensor("swapaxes", input).ndim
    return input.transpose(_dim("swapaxes", axis0, n), _dim("swapaxes", axis1, n))


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


def _sequence(fn: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, Sequence):
        raise TypeError(f"{fn}(): argument 'tensors' must be a tuple or list of Tensors, "
                        f"not {type(tensors).__name__}")
    if not tensors:
        _fail(fn, "expects a non-empty TensorList")
    return list(tensors)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenation along the columns (along dim 0 for 1-D tensors)."""
    ts = _atleast("hstack", 1, (_sequence("hstack", tensors),))
    return _ops.cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenation along the rows of the tensors made at least 2-D."""
    return _ops.cat(list(_atleast("vstack", 2, (_sequence("vstack", tensors),))), 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenation along dim 2 of the tensors made at least 3-D."""
    return _ops.cat(list(_atleast("dstack", 3, (_sequence("dstack", tensors),))), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """0-d and 1-d tensors as columns, concatenated with the others along dim 1."""
    ts = []
    for i, t in enumerate(_sequence("column_stack", tensors)):
        _tensor("column_stack", t, f"tensors[{i}]")
        ts.append(t.reshape(t.numel(), 1) if t.ndim <= 1 else t)
    return _ops.cat(ts, 1)


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


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``!=`` for bool tensors)."""
    if _tensor("diff", input).ndim == 0:
        _fail("diff", "expects input to be at least one-dimensional")
    if n < 0:
        _fail("diff", f"order must be non-negative but got {n}")
    for name, p in (("prepend", prepend), ("append", append)):
        if p is not None and _tensor("diff", p, name).ndim != input.ndim:
            _fail("diff", f"expects {name} to have the same number of dimensions as input "
                          f"({input.ndim}), got {p.ndim}")
    return _xp.diff(input, axis=dim, n=n, prepend=prepend, append=append)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of ``input`` split along ``dim``: into ``n`` near-equal parts (the first
    ``size % n`` one longer) or at the given indices."""
    if _tensor("tensor_split", input).ndim == 0:
        _fail("tensor_split", "expected at least a 1-dimensional tensor")
    d = _dim("tensor_split", dim, input.ndim)
    size = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            _fail("tensor_split", f"number of sections must be larger than 0, got {n}")
        q, r = divmod(size, n)
        bounds = [i * q + builtins.min(i, r) for i in range(n + 1)]
    else:
        # Python's slice bounds: negative counts from the end, then clipped
        bounds = [0] + [builtins.min(builtins.max(int(i) + (size if int(i) < 0 else 0), 0),
                                     size) for i in indices_or_sections] + [size]
    return tuple(_ops.narrow(input, d, a, builtins.max(b, a) - a)
                 for a, b in zip(bounds[:-1], bounds[1:], strict=True))


def _split_at(fn: str, input: Tensor, sections, dim: int, min_ndim: int):
    if _tensor(fn, input).ndim < min_ndim:
        _fail(fn, f"requires a tensor with at least {min_ndim} dimension, but got a tensor "
                  f"with {input.ndim} dimensions!")
    if isinstance(sections, int) and (sections == 0 or input.shape[dim] % sections):
        _fail(fn, f"the size of dimension {dim} ({input.shape[dim]}) must be divisible by "
                  f"the number of sections ({sections})")
    return tensor_split(input, sections, dim)


def hsplit(input: Tensor, sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along the columns (dim 1; dim 0 of a 1-D tensor), equal parts."""
    return _split_at("hsplit", input, sections, 0 if input.ndim == 1 else 1, 1)


def vsplit(input: Tensor, sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 0 of a tensor of at least 2 dimensions, equal parts."""
    return _split_at("vsplit", input, sections, 0, 2)


def dsplit(input: Tensor, sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 2 of a tensor of at least 3 dimensions, equal parts."""
    return _split_at("dsplit", input, sections, 2, 3)


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along dim 0."""
    return _ops.sort(_tensor("msort", input), 0)[0]


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of the 1-D tensors' elements, one per row (1-D for one tensor)."""
    for i, t in enumerate(tensors):
        if _tensor("cartesian_prod", t, f"tensors[{i}]").ndim != 1:
            _fail("cartesian_prod", f"expects 1-D tensors, got {t.ndim}-D")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return _ops.stack([g.reshape(-1) for g in grids], 1)


def _tri_indices(fn: str, row: int, col: int, offset: int, lower: bool, dtype, device):
    import numpy as np  # host arithmetic on sizes, as PyTorch computes these on the CPU
    if row < 0 or col < 0:
        _fail(fn, f"row and col must be non-negative, got {row} and {col}")
    r, c = (np.tril_indices if lower else np.triu_indices)(row, offset, col)
    from .tensor import tensor
    return tensor(np.stack([r, c]).reshape(2, -1), dtype=dtype or _dt.int64, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The ``(2, N)`` coordinates of the lower triangle of a ``row x col`` matrix."""
    return _tri_indices("tril_indices", row, col, offset, True, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The ``(2, N)`` coordinates of the upper triangle of a ``row x col`` matrix."""
    return _tri_indices("triu_indices", row, col, offset, False, dtype, device)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    d = dtype or _dt.get_default_dtype()
    exps = _ops.linspace(start, end, steps, dtype=_dt.float64 if d._kind in "iub" else d,
                         device=device)
    out = _ops.pow(_ops.full((), base, dtype=exps.dtype, device=exps.device), exps)
    out = out.astype(d) if out.dtype is not d else out
    return out.requires_grad_() if requires_grad else out


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """``input`` flattened, on the ``offset``-th diagonal of a square matrix."""
    return diag_embed(_tensor("diagflat", input).reshape(-1), offset)


# --- indexing ----------------------------------------------------------------------------

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


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False,
                 right: bool = False, side: str | None = None, sorter: Tensor | None = None
                 ) -> Tensor:
    """Insertion points of ``input`` in ``sorted_sequence`` (1-D, or rows matching
    ``input``'s leading dimensions); ``right``/``side='right'`` after equal values."""
    _tensor("searchsorted", sorted_sequence, "sorted_sequence")
    if side is not None:
        if side not in ("left", "right"):
            _fail("searchsorted", f"side can only be 'left' or 'right' but got {side!r}")
        if right and side == "left":
            _fail("searchsorted", "side and right can't be set to opposites, got side of "
                                  "left while right was True")
    side = side or ("right" if right else "left")
    if sorted_sequence.ndim == 0:
        _fail("searchsorted", "input sorted_sequence must have at least one dimension")
    if sorter is not None:
        sorted_sequence = _ops.gather(sorted_sequence, -1, sorter)
    scalar = not isinstance(input, Tensor)
    values = _ops.full((), input, dtype=sorted_sequence.dtype,
                       device=sorted_sequence.device) if scalar else input
    if sorted_sequence.ndim > 1 and (scalar or tuple(sorted_sequence.shape[:-1])
                                     != tuple(values.shape[:-1])):
        _fail("searchsorted", f"boundaries tensor should be 1 dimension or the first N-1 "
                              f"dimensions of boundaries tensor and input value tensor must "
                              f"match, but we got boundaries tensor {list(sorted_sequence.shape)}"
                              f" and input value tensor {list(values.shape)}")
    out = _xp._count_sorted_before(sorted_sequence, values, side)
    return out.astype(_dt.int32) if out_int32 else out


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """The bucket of each value: ``i`` with ``boundaries[i-1] < x <= boundaries[i]``
    (``boundaries[i-1] <= x < boundaries[i]`` with ``right``)."""
    if _tensor("bucketize", boundaries, "boundaries").ndim != 1:
        _fail("bucketize", f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each element of ``elements`` is in ``test_elements`` (tensors or numbers)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): at least one of 'elements' and 'test_elements' must be "
                        "a Tensor")
    ref = elements if isinstance(elements, Tensor) else test_elements
    e = elements if isinstance(elements, Tensor) else _ops.full((), elements, device=ref.device)
    t = test_elements if isinstance(test_elements, Tensor) else _ops.full(
        (), test_elements, device=ref.device)
    d = _dt.result_type(e, t)
    e, t = e.astype(d), t.astype(d)
    # sorted test values: a lookup per element instead of an elements x tests table
    s = _ops.sort(t.reshape(-1))[0]
    if s.shape[0] == 0:
        found = _ops.zeros(tuple(e.shape), dtype=_dt.bool, device=e.device)
    else:
        pos = _ops.clamp(_xp._count_sorted_before(s, e, "left"), max=s.shape[0] - 1)
        found = _ops.eq(_ops.index_select(s, 0, pos.reshape(-1)).reshape(tuple(e.shape)), e)
    return _ops.logical_not(found) if invert else found


# --- products ----------------------------------------------------------------------------

def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Sum of products over ``dims`` (an int: the last/first ``dims`` dimensions; or two
    sequences of dimensions)."""
    _tensor("tensordot", a, "a")
    _tensor("tensordot", b, "b")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if not isinstance(dims, int):
        if len(dims) != 2:
            _fail("tensordot", f"expects dims to be a pair of lists, got {dims!r}")
        dims = tuple([d] if isinstance(d, int) else list(d) for d in dims)
    return _xp.tensordot(a, b, axes=dims)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Dot products over the last dimension (a product when either is 0-d)."""
    _tensor("inner", input)
    _tensor("inner", other, "other")
    if input.ndim == 0 or other.ndim == 0:
        return _ops.mul(input, other)
    if input.shape[-1] != other.shape[-1]:
        _fail("inner", f"expected the last dimension of input and other to match, got "
                       f"{input.shape[-1]} and {other.shape[-1]}")
    return tensordot(input, other, ([-1], [-1]))


def vdot(input: Tensor, other: Tensor) -> Tensor:
    """``sum(conj(input) * other)`` of two 1-D tensors of the same dtype."""
    _tensor("vdot", input)
    _tensor("vdot", other, "other")
    if input.ndim != 1 or other.ndim != 1:
        _fail("vdot", f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.dtype is not other.dtype:
        _fail("vdot", f"expected both vectors to have same dtype, but found {input.dtype} "
                      f"and {other.dtype}")
    if input.shape[0] != other.shape[0]:
        _fail("vdot", f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                      f"[{other.shape[0]}] to have the same number of elements")
    return _ops.dot(_ops.conj(input), other)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product."""
    _tensor("mv", input)
    _tensor("mv", vec, "vec")
    if input.ndim != 2 or vec.ndim != 1:
        _fail("mv", f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        _fail("mv", f"size mismatch, got input ({input.shape[0]}x{input.shape[1]}) and vec "
                    f"({vec.shape[0]})")
    return _ops.matmul(input, vec)


def _scaled_sum(fn, input, product, beta, alpha):
    if alpha != 1:
        product = _ops.mul(product, alpha)
    if beta == 0:  # PyTorch ignores input then (NaN and inf in it do not propagate)
        return _ops.add(product, _ops.zeros_like(input))
    return _ops.add(_ops.mul(input, beta) if beta != 1 else input, product)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcast)."""
    for name, t in (("input", input), ("mat1", mat1), ("mat2", mat2)):
        _tensor("addmm", t, name)
    if mat1.ndim != 2 or mat2.ndim != 2:
        _fail("addmm", f"mat1 and mat2 must be matrices, got {mat1.ndim}-D and {mat2.ndim}-D")
    return _scaled_sum("addmm", input, _ops.mm(mat1, mat2), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` for batches of matrices."""
    for name, t in (("input", input), ("batch1", batch1), ("batch2", batch2)):
        _tensor("baddbmm", t, name)
    if batch1.ndim != 3 or batch2.ndim != 3:
        _fail("baddbmm", f"batch1 and batch2 must be 3D tensors, got {batch1.ndim}-D and "
                         f"{batch2.ndim}-D")
    return _scaled_sum("baddbmm", input, _ops.bmm(batch1, batch2), beta, alpha)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product (the shorter shape padded with leading ones)."""
    _tensor("kron", input)
    _tensor("kron", other, "other")
    n = builtins.max(input.ndim, other.ndim)
    a_shape = (1,) * (n - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(tuple(s for d in a_shape for s in (d, 1)))
    b = other.reshape(tuple(s for d in b_shape for s in (1, d)))
    return _ops.mul(a, b).reshape(tuple(x * y for x, y in zip(a_shape, b_shape, strict=True)))


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of the planes ``(dim1, dim2)``, as the last dimension."""
    if _tensor("diagonal", input).ndim < 2:
        _fail("diagonal", f"expects input to have at least 2 dimensions, got {input.ndim}")
    d1, d2 = _dim("diagonal", dim1, input.ndim), _dim("diagonal", dim2, input.ndim)
    if d1 == d2:
        _fail("diagonal", f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _linalg.diagonal(_ops.movedim(input, (d1, d2), (-2, -1)), offset=offset)


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
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal)
    _fail("diag", f"Supports 1D or 2D tensors. Got {input.ndim}D")


# --- linear algebra ----------------------------------------------------------------------

def _matrices(fn: str, input) -> Tensor:
    if _tensor(fn, input).ndim < 2:
        _fail(fn, f"expected a matrix or a batch of matrices, got a {input.ndim}-D tensor")
    return input


def det(input: Tensor) -> Tensor:
    """Determinant (``ember.linalg.det``)."""
    return _linalg.det(_matrices("det", input))


def inverse(input: Tensor) -> Tensor:
    """Matrix inverse (``ember.linalg.inv``)."""
    return _linalg.inv(_matrices("inverse", input))


def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: NaN for a negative determinant, -inf for a singular matrix."""
    if _matrices("logdet", input).dtype._kind == "c":
        _fail("logdet", "complex matrices are not supported")
    sign, logabs = _linalg.slogdet(input)
    return _ops.where(_ops.lt(sign, 0), math.nan, logabs)


_svd = namedtuple("svd", ["U", "S", "V"])


def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``(U, S, V)`` with ``input = U diag(S) V^H`` (``V``, not ``V^H``, as PyTorch's
    ``svd``); reduced unless ``some=False``; zero ``U``/``V`` without ``compute_uv``."""
    _matrices("svd", input)
    if not compute_uv:
        s = _linalg.svdvals(input)
        m, n = input.shape[-2:]
        z = _ops.zeros
        batch = tuple(input.shape[:-2])
        return _svd(z(batch + (m, m), dtype=input.dtype, device=input.device), s,
                    z(batch + (n, n), dtype=input.dtype, device=input.device))
    u, s, vh = _linalg.svd(input, full_matrices=not some)
    return _svd(u, s, _ops.conj(vh.transpose(-2, -1)))


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast)."""
    _tensor("dist", input)
    _tensor("dist", other, "other")
    if not input.dtype.is_floating_point and input.dtype._kind != "c":
        _fail("dist", f"expected a floating point or complex tensor, got {input.dtype}")
    return _linalg.vector_norm(_ops.sub(input, other).reshape(-1), p)


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: float | None = None,
              dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: spacing ``dx`` (1) or sample points ``x``."""
    _tensor("trapezoid", y, "y")
    if x is not None and dx is not None:
        _fail("trapezoid", "cannot take both x and dx")
    d = _dim("trapezoid", dim, y.ndim)
    n = y.shape[d]
    if n == 0:
        return _ops.sum(y, d)
    mid = _ops.add(_ops.narrow(y, d, 1, n - 1), _ops.narrow(y, d, 0, n - 1))
    if x is None:
        return _ops.mul(_ops.sum(mid, d), (1.0 if dx is None else dx) / 2)
    _tensor("trapezoid", x, "x")
    if x.ndim == 1:
        if x.shape[0] != n:
            _fail("trapezoid", f"x has {x.shape[0]} points, y {n} along dim {dim}")
        x = x.reshape(tuple(n if i == d else 1 for i in range(y.ndim)))
    dxs = diff(x, dim=d if x.ndim == y.ndim else -1)
    return _ops.true_divide(_ops.sum(_ops.mul(mid, dxs), d), 2)


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (observations in
    the columns); a 1-D tensor is one variable."""
    if _tensor("cov", input).ndim > 2:
        _fail("cov", f"expected input to have two or fewer dimensions but got an input "
                     f"with {input.ndim} dimensions")
    if fweights is not None or aweights is not None:
        raise NotImplementedError("cov(): fweights and aweights are not supported yet")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    if not x.dtype.is_floating_point and x.dtype._kind != "c":
        x = x.astype(_dt.get_default_dtype())
    n = x.shape[1]
    centred = _ops.sub(x, _ops.mean(x, 1, True))
    out = _ops.true_divide(_ops.matmul(centred, _ops.conj(centred).transpose(0, 1)),
                           builtins.max(n - correction, 0))
    return out.reshape(()) if input.ndim < 2 else out


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product along ``dim``; without ``dim``, the first dimension of size 3 of
    the broadcast shape (PyTorch's deprecated default, with its warning)."""
    _tensor("cross", input)
    _tensor("cross", other, "other")
    if input.ndim != other.ndim:
        _fail("cross", f"inputs dimension mismatch: {input.ndim} and {other.ndim}")
    if dim is None:
        warnings.warn("Using cross without specifying the dim arg is deprecated; pass "
                      "dim=-1 for linalg.cross's behaviour", UserWarning, stacklevel=2)
        shape = _xp.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            _fail("cross", f"no dimension of size 3 in input, shape {list(shape)}")
    return _linalg.cross(input, other, dim=dim)


# --- reductions --------------------------------------------------------------------------

def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum treating NaN as zero."""
    if _tensor("nansum", input).dtype._kind == "c":
        _fail("nansum", "complex inputs are not supported")
    x = _ops.where(_ops.isnan(input), 0, input) if input.dtype._kind == "f" else input
    return _ops.sum(x, dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN elements (NaN where there are none)."""
    if not _tensor("nanmean", input).dtype.is_floating_point:
        _fail("nanmean", f"expected input to have floating point dtype but got {input.dtype}")
    count = _ops.sum(_ops.logical_not(_ops.isnan(input)), dim, keepdim)
    total = nansum(input, dim, keepdim, dtype=dtype)
    return _ops.true_divide(total, count.astype(total.dtype))


_values_indices = namedtuple("median", ["values", "indices"])


def median(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (the smaller of the two middle values); NaN if any element is
    NaN.  Over all elements a 0-d tensor; along ``dim`` a ``(values, indices)`` pair."""
    _tensor("median", input)
    if dim is None:
        if input.numel() == 0 and input.dtype._kind == "f":
            return _ops.full((), math.nan, dtype=input.dtype, device=input.device)
        if input.numel() == 0:
            _fail("median", f"an empty {input.dtype} tensor has no median")
        return median(input.reshape(-1), 0).values
    # the lower middle; with NaNs, the first NaN (sorted last)
    v, i = _sorted_pick("median", input, dim, keepdim, lambda n, nans: _ops.where(
        _ops.gt(nans, 0), _ops.sub(n, nans), (n - 1) // 2))
    return _values_indices(v, i)


def _sorted_pick(fn, input, dim, keepdim, pick):
    """Sort along ``dim`` (NaNs last) and gather at the position ``pick(n, nans)`` gives
    (``nans``: the count of NaNs per slice, keepdim-shaped): ``(values, indices)``."""
    d = _dim(fn, dim, input.ndim)
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"{fn}(): Expected reduction dim {d} to have non-zero size.")
    values, indices = _ops.sort(x, d, stable=True)
    if x.dtype._kind == "f":
        nans = _ops.sum(_ops.isnan(x), d, True)
    else:
        nans = _ops.zeros(tuple(1 if i == d else s for i, s in enumerate(x.shape)),
                          dtype=_dt.int64, device=x.device)
    k = pick(n, nans)
    v, i = _ops.gather(values, d, k), _ops.gather(indices, d, k)
    if not keepdim or input.ndim == 0:
        v, i = _ops.squeeze(v, d), _ops.squeeze(i, d)
    return v, i


def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where a slice is all NaN)."""
    _tensor("nanmedian", input)
    if dim is None:
        if input.numel() == 0 and input.dtype._kind == "f":
            return _ops.full((), math.nan, dtype=input.dtype, device=input.device)
        return nanmedian(input.reshape(-1), 0).values
    # the lower middle of the non-NaN values; all NaN: position 0, a NaN
    v, i = _sorted_pick("nanmedian", input, dim, keepdim,
                        lambda n, nans: _ops.floor_divide(_ops.clamp(
                            _ops.sub(n - 1, nans), min=0), 2))
    return _values_indices(v, i)


_kth = namedtuple("kthvalue", ["values", "indices"])


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim``: ``(values, indices)``."""
    n = _tensor("kthvalue", input).shape[_dim("kthvalue", dim, input.ndim)] \
        if input.ndim else 1
    if not 1 <= k <= n:
        _fail("kthvalue", f"selected number k out of range for dimension {dim}: k = {k}, "
                          f"size {n}")

    def pick(n, nans):
        return _ops.full(tuple(nans.shape), k - 1, dtype=_dt.int64, device=nans.device)
    return _kth(*_sorted_pick("kthvalue", input, dim, keepdim, pick))


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value ``0 … max`` occurs in the 1-D non-negative integer
    ``input`` (summing ``weights`` instead of ones); at least ``minlength`` bins."""
    if _tensor("bincount", input).ndim != 1 or input.dtype._kind not in "iu":
        _fail("bincount", f"expected a 1-D tensor of integers, got a {input.ndim}-D "
                          f"{input.dtype} tensor")
    if minlength < 0:
        _fail("bincount", f"minlength should be >= 0, got {minlength}")
    if weights is not None and tuple(weights.shape) != tuple(input.shape):
        _fail("bincount", f"weights should be 1-D and have the same length as input, got "
                          f"{list(weights.shape)} and {list(input.shape)}")
    n = input.shape[0]
    if n and builtins.bool(_ops.lt(_ops.amin(input), 0).item()):
        _fail("bincount", "input should contain only non-negative values")
    size = builtins.max(int(_ops.amax(input).item()) + 1 if n else 0, minlength)
    idx = input.astype(_dt.int64)
    if weights is None:
        src = _ops.ones(n, dtype=_dt.int64, device=input.device)
    else:
        wd = weights.dtype if weights.dtype.is_floating_point else _dt.float64
        src = weights.astype(wd)
    return _ops.index_add(_ops.zeros(size, dtype=src.dtype, device=input.device), 0, idx, src)


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other`` in a floating dtype."""
    _tensor("ldexp", input)
    a = input if input.dtype._kind in "fc" else input.astype(_dt.get_default_dtype())
    two = _ops.full((), 2.0, dtype=a.dtype if a.dtype._kind == "f" else _dt.float32,
                    device=input.device)
    return _ops.mul(a, _ops.pow(two, other))


_cummax = namedtuple("cummax", ["values", "indices"])
_cummin = namedtuple("cummin", ["values", "indices"])


def _cumulative_extreme(fn: str, input: Tensor, dim: int, larger: bool):
    """The running maximum (minimum) along ``dim`` and the index where it was reached:
    the last one on ties, a NaN once one is seen (PyTorch's rule).  The indices come
    from a log-step scan run without autograd (each step a tensor like ``input``); the
    values are ``gather(input, indices)``, so the gradient flows to the chosen
    elements and the memory kept for backward is linear."""
    from .autograd import no_grad
    _tensor(fn, input)
    d = _dim(fn, dim, input.ndim)
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[d]
    shape = tuple(n if i == d else 1 for i in range(x.ndim))
    with no_grad():
        v = x.detach()
        idx = _ops.arange(n, device=x.device).reshape(shape).expand(tuple(x.shape))
        shift = 1
        while shift < n:
            # the result so far at position i - shift (the left part) against i's
            lv, li = _ops.narrow(v, d, 0, n - shift), _ops.narrow(idx, d, 0, n - shift)
            rv, ri = _ops.narrow(v, d, shift, n - shift), _ops.narrow(idx, d, shift, n - shift)
            beats = _ops.gt(lv, rv) if larger else _ops.lt(lv, rv)
            if x.dtype._kind == "f":
                beats = _ops.logical_or(
                    _ops.logical_and(beats, _ops.logical_not(_ops.isnan(rv))),
                    _ops.logical_and(_ops.isnan(lv), _ops.logical_not(_ops.isnan(rv))))
            head = (_ops.narrow(v, d, 0, shift), _ops.narrow(idx, d, 0, shift))
            v = _ops.cat([head[0], _ops.where(beats, lv, rv)], d)
            idx = _ops.cat([head[1], _ops.where(beats, li, ri)], d)
            shift *= 2
    values = _ops.gather(x, d, idx)
    if input.ndim == 0:
        values, idx = values.reshape(()), idx.reshape(())
    return values, idx


def cummax(input: Tensor, dim: int):
    """Running maximum along ``dim`` and its indices: ``(values, indices)``."""
    return _cummax(*_cumulative_extreme("cummax", input, dim, True))


def cummin(input: Tensor, dim: int):
    """Running minimum along ``dim`` and its indices: ``(values, indices)``."""
    return _cummin(*_cumulative_extreme("cummin", input, dim, False))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """The ``p``-norm distances between the rows of ``x1`` (``..., P, M``) and of ``x2``
    (``..., R, M``): ``(..., P, R)``, in memory linear in the inputs and output
    (``ember.ops.distance``).  Euclidean distances of more than 25 rows use the matrix
    product, as PyTorch's default ``compute_mode``."""
    _tensor("cdist", x1, "x1")
    _tensor("cdist", x2, "x2")
    from .ops.distance import cdist as op  # (here: torch_functions is being split up)
    return op(x1, x2, float(p), compute_mode)


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


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """A histogram of ``bins`` equal bins over ``[min, max]`` (the data's range when both
    are 0); elements outside are ignored, ``max`` falls in the last bin."""
    if not _tensor("histc", input).dtype.is_floating_point:
        _fail("histc", f"expected a floating point tensor, got {input.dtype}")
    if bins <= 0:
        _fail("histc", f"bins must be > 0, got {bins}")
    lo, hi = float(min), float(max)
    if lo > hi:
        _fail("histc", f"max must be larger than min, got min {lo} and max {hi}")
    if lo == hi and input.numel():
        lo, hi = float(_ops.amin(input).item()), float(_ops.amax(input).item())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    x = input.reshape(-1)
    inside = _ops.logical_and(_ops.ge(x, lo), _ops.le(x, hi))
    pos = _ops.floor(_ops.mul(_ops.sub(x, lo), bins / (hi - lo)))
    pos = _ops.clamp(_ops.where(inside, pos, 0), 0, bins - 1).astype(_dt.int64)
    hist = _ops.zeros(bins, dtype=input.dtype, device=input.device)
    return _ops.index_add(hist, 0, pos, inside.astype(input.dtype))


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


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-quantiles (a number or a 1-D tensor in ``[0, 1]``; a tensor adds a first
    dimension) along ``dim`` or over all elements; NaN where a slice has a NaN."""
    modes = ("linear", "lower", "higher", "midpoint", "nearest")
    if interpolation not in modes:
        _fail("quantile", f"interpolation must be one of {modes}, got {interpolation!r}")
    if not _tensor("quantile", input).dtype.is_floating_point:
        _fail("quantile", f"input tensor must be either float or double dtype, got "
                          f"{input.dtype}")
    if input.numel() == 0:
        _fail("quantile", "input tensor must be non-empty")
    qt = q if isinstance(q, Tensor) else _ops.full((), float(q), dtype=input.dtype,
                                                    device=input.device)
    if qt.ndim > 1:
        _fail("quantile", f"q must be a scalar or 1D tensor, got {qt.ndim}-D")
    if qt.dtype is not input.dtype:
        _fail("quantile", f"q tensor must be same dtype as the input tensor, got "
                          f"{qt.dtype} and {input.dtype}")
    qs = qt.reshape(-1)
    if qs.numel() and not builtins.bool(_ops.logical_and(_ops.ge(qs, 0),
                                                          _ops.le(qs, 1)).all().item()):
        _fail("quantile", "q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _dim("quantile", dim, input.ndim)
    x = x.reshape(1) if x.ndim == 0 else x
    n = x.shape[d]
    s = _ops.movedim(_ops.sort(x, d)[0], d, -1)  # NaNs last
    nan = _ops.isnan(_ops.narrow(s, -1, n - 1, 1))  # any NaN in the slice
    pos = _ops.mul(qs, n - 1)  # fractional ranks, one per q
    lo = _ops.floor(pos)
    hi = _ops.ceil(pos)
    if interpolation == "nearest":
        lo = hi = _ops.round(pos)  # half to even, as PyTorch
    elif interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    batch = tuple(s.shape[:-1])
    m = qs.shape[0]

    def at(p):
        i = p.astype(_dt.int64).reshape((1,) * len(batch) + (m,)).expand(batch + (m,))
        return _ops.gather(s, -1, i)
    vlo, vhi = at(lo), at(hi)
    if interpolation == "midpoint":
        out = _ops.add(vlo, _ops.mul(_ops.sub(vhi, vlo), 0.5))
    elif interpolation == "linear":
        out = _ops.lerp(vlo, vhi, _ops.sub(pos, lo).reshape((1,) * len(batch) + (m,)))
    else:
        out = vlo
    out = _ops.where(nan, math.nan, out)  # (..., m)
    out = _ops.movedim(out, -1, 0)  # q first
    if keepdim:
        if dim is None:
            out = out.reshape((m,) + (1,) * input.ndim)
        else:
            out = _ops.unsqueeze(out, d + 1)
    if not isinstance(q, Tensor) or qt.ndim == 0:
        out = _ops.squeeze(out, 0)
    return out


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Samples of normal distributions: ``mean``/``std`` tensors (broadcast) or numbers
    with ``size``."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            _fail("normal", "size is only taken with number mean and std")
        if isinstance(std, Tensor) and builtins.bool(_ops.lt(std, 0).any().item()):
            _fail("normal", "expects all elements of std >= 0.0")
        ref = mean if isinstance(mean, Tensor) else std
        shape = _xp.broadcast_shapes(*(tuple(t.shape) for t in (mean, std)
                                       if isinstance(t, Tensor)))
        d = _dt.result_type(mean, std)
        if not d.is_floating_point:
            _fail("normal", f"expected floating point mean and std, got {d}")
        z = _ops.randn(tuple(shape), dtype=d, device=ref.device, generator=generator)
        return _ops.add(mean, _ops.mul(z, std))
    if size is None:
        _fail("normal", "size is required when mean and std are numbers")
    if std < 0:
        _fail("normal", f"expects std >= 0.0, but found std {std}")
    z = _ops.randn(tuple(size), dtype=dtype, device=device, generator=generator)
    out = _ops.add(_ops.mul(z, std), mean)
    return out.requires_grad_() if requires_grad else out


def _integers(fn: str, input, other):
    _tensor(fn, input)
    for x in (input, other):
        d = x.dtype if isinstance(x, Tensor) else None
        if d is not None and d._kind not in "iu":
            _fail(fn, f"expected integer tensors, got {d}")
    d = _dt.result_type(input, other)
    b = other.astype(d) if isinstance(other, Tensor) else _ops.full(
        (), other, dtype=d, device=input.device)
    return _xp.broadcast_arrays(input.astype(d), b)


def gcd(input: Tensor, other) -> Tensor:
    """The greatest common divisor (non-negative; ``gcd(0, 0) = 0``) of integers."""
    a, b = _integers("gcd", input, other)
    a, b = _ops.abs(a), _ops.abs(b)
    # Euclid's steps while any divisor is left (at most ~90 for int64: Fibonacci pairs)
    while builtins.bool(_ops.ne(b, 0).any().item()):
        nz = _ops.ne(b, 0)
        a, b = _ops.where(nz, b, a), _ops.where(nz, _ops.remainder(a, _ops.where(nz, b, 1)),
                                                0)
    return a


def lcm(input: Tensor, other) -> Tensor:
    """The least common multiple (non-negative; 0 when either is 0) of integers."""
    a, b = _integers("lcm", input, other)
    g = gcd(a, b)
    return _ops.abs(_ops.mul(_ops.floor_divide(a, _ops.where(_ops.eq(g, 0), 1, g)), b))


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


def unique_consecutive(input: Tensor, return_inverse: bool = False,
                       return_counts: bool = False, dim: int | None = None):
    """The first element of each run of equal consecutive elements (flattened), with
    the inverse indices and the run lengths when asked."""
    _tensor("unique_consecutive", input)
    if dim is not None:
        raise NotImplementedError("unique_consecutive(): dim= is not supported yet; only "
                                  "dim=None")
    x = input.reshape(-1)
    n = x.shape[0]
    if n == 0:
        empty = _ops.zeros(0, dtype=_dt.int64, device=x.device)
        runs = (x, empty.reshape(tuple(input.shape)), empty)
    else:
        first = _ops.ones(1, dtype=_dt.bool, device=x.device)
        new = _ops.cat([first, _ops.ne(_ops.narrow(x, 0, 1, n - 1),
                                       _ops.narrow(x, 0, 0, n - 1))])
        group = _ops.sub(_ops.cumsum(new.astype(_dt.int64), 0), 1)
        values = _ops.masked_select(x, new)
        counts = _ops.index_add(_ops.zeros(values.shape[0], dtype=_dt.int64, device=x.device),
                                0, group, _ops.ones(n, dtype=_dt.int64, device=x.device))
        runs = (values, group.reshape(tuple(input.shape)), counts)
    out = (runs[0],) + ((runs[1],) if return_inverse else ()) + \
        ((runs[2],) if return_counts else ())
    return out[0] if len(out) == 1 else out


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """Category indices drawn by the non-negative weights in the last dimension of a
    1-D or 2-D ``input`` (without replacement: Gumbel top-k, each category at most once)."""
    if _tensor("multinomial", input).ndim not in (1, 2):
        _fail("multinomial", f"prob_dist must be 1 or 2 dim, got {input.ndim}")
    if not input.dtype.is_floating_point:
        _fail("multinomial", f"only supports floating-point dtypes for input, got "
                             f"{input.dtype}")
    if num_samples <= 0:
        _fail("multinomial", f"cannot sample n_sample <= 0 samples, got {num_samples}")
    n = input.shape[-1]
    w = input.reshape(1, n) if input.ndim == 1 else input
    bad = _ops.logical_or(_ops.lt(w, 0), _ops.logical_not(_ops.isfinite(w))).any()
    if builtins.bool(bad.item()):
        _fail("multinomial", "probability tensor contains either `inf`, `nan` or element < 0")
    if builtins.bool(_ops.eq(_ops.sum(w, -1), 0).any().item()):
        _fail("multinomial", "invalid multinomial distribution (sum of probabilities <= 0)")
    rows = w.shape[0]
    if replacement:
        cdf = _ops.cumsum(w.astype(_dt.float64), -1)
        cdf = _ops.true_divide(cdf, _ops.narrow(cdf, -1, n - 1, 1))
        u = _ops.rand(rows, num_samples, dtype=_dt.float64, device=w.device,
                      generator=generator)
        out = _ops.clamp(searchsorted(cdf, u, right=True), max=n - 1)
    else:
        if num_samples > n:
            _fail("multinomial", "cannot sample n_sample > prob_dist.size(-1) samples "
                                 "without replacement")
        # (past the nonzero categories, zero-weight ones follow, as PyTorch's)
        u = _ops.rand(rows, n, dtype=_dt.float64, device=w.device, generator=generator)
        keys = _ops.sub(_ops.log(w.astype(_dt.float64)), _ops.log(_ops.neg(_ops.log(u))))
        out = _ops.topk(keys, num_samples, -1)[1]
    return out.reshape(-1) if input.ndim == 1 else out


_mode = namedtuple("mode", ["values", "indices"])


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest on ties) and the index of its
    last occurrence: ``(values, indices)``.  NaNs count as one value."""
    _tensor("mode", input)
    d = _dim("mode", dim, input.ndim)
    x = input.reshape(1) if input.ndim == 0 else input
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    xm = _ops.movedim(x, d, -1)
    s, order = _ops.sort(xm, -1, stable=True)  # runs of equal values; stable: in order
    lo, hi = _ops.narrow(s, -1, 0, n - 1), _ops.narrow(s, -1, 1, n - 1)
    same = _ops.eq(lo, hi)
    if x.dtype._kind == "f":
        same = _ops.logical_or(same, _ops.logical_and(_ops.isnan(lo), _ops.isnan(hi)))
    first = _ops.ones(tuple(s.shape[:-1]) + (1,), dtype=_dt.bool, device=x.device)
    new = _ops.cat([first, _ops.logical_not(same)], -1)
    pos = _ops.arange(n, device=x.device).expand(tuple(s.shape))
    start = cummax(_ops.where(new, pos, 0), -1).values  # where each position's run began
    length = _ops.sub(pos, start)
    # the end of the first longest run: the smallest of the most frequent values, and
    # (the sort being stable) its last occurrence
    k = _ops.argmax(length, -1, True)
    indices = _ops.gather(order, -1, k)
    values = _ops.gather(xm, -1, indices)  # from the input: the gradient reaches it
    if keepdim and input.ndim:
        values, indices = _ops.movedim(values, -1, d), _ops.movedim(indices, -1, d)
    else:
        values, indices = _ops.squeeze(values, -1), _ops.squeeze(indices, -1)
    return _mode(values, indices)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,
           return_counts: bool = False, dim: int | None = None):
    """The distinct elements, sorted (each NaN distinct), with the inverse indices
    (``input``'s shape) and counts when asked; a tuple then, as PyTorch."""
    _tensor("unique", input)
    if dim is not None:
        raise NotImplementedError("unique(): dim= (unique slices) is not supported yet; "
                                  "only dim=None")
    values, _, inverse, counts = _ops.array_api_ops._unique_all(input)
    out = (values,) + ((inverse,) if return_inverse else ()) + \
        ((counts,) if return_counts else ())
    return out[0] if len(out) == 1 else out


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` in double precision (complex128 for complex operands)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): one of 'input' and 'exponent' must be a Tensor")
    complex_ = builtins.any(
        (v.dtype._kind == "c") if isinstance(v, Tensor) else isinstance(v, complex)
        for v in (input, exponent))
    d = _dt.complex128 if complex_ else _dt.float64
    a = input.astype(d) if isinstance(input, Tensor) else input
    b = exponent.astype(d) if isinstance(exponent, Tensor) else exponent
    return _ops.pow(a, b)


# --- Tensor methods ----------------------------------------------------------------------

_METHODS = ("absolute", "clip", "is_nonzero", "ravel", "swapaxes", "fliplr", "flipud",
            "rot90", "diff", "take", "take_along_dim", "inner", "mv", "addmm", "baddbmm",
            "kron", "trace", "diag", "diagonal", "diag_embed", "det", "inverse", "logdet",
            "cross", "nansum", "nanmean", "median", "unique", "float_power", "isin",
            "tensor_split", "hsplit", "vsplit", "dsplit", "msort", "diagflat", "dist",
            "kthvalue", "nanmedian", "svd", "bincount", "ldexp", "cummax", "cummin",
            "histc", "index_fill", "index_copy", "quantile", "gcd", "lcm", "slice_scatter",
            "unique_consecutive", "multinomial", "mode")


def _H(self) -> Tensor:
    if self.ndim not in (0, 2):
        _fail("H", f"tensor.H is only supported on matrices (2-D tensors). Got "
                   f"{self.ndim}-D tensor.")
    return _ops.conj(self.transpose(0, 1)) if self.ndim == 2 else _ops.conj(self)


def _detach_(self) -> Tensor:
    """Cut ``self`` from the autograd graph in place (refused for views, as PyTorch)."""
    if self._base is not None and self.grad_fn is not None:
        raise RuntimeError("detach_(): Can't detach views in-place. Use detach() instead.")
    self.grad_fn = None
    self._requires_grad = False
    return self


def install_methods() -> None:
    """Attach the methods PyTorch has for these functions, and the pure front ends."""
    for name in _METHODS:
        if name not in Tensor.__dict__:
            setattr(Tensor, name, globals()[name])
    Tensor.where = lambda self, condition, other: _ops.where(condition, self, other)
    Tensor.byte = lambda self: self.to(_dt.uint8)
    Tensor.char = lambda self: self.to(_dt.int8)
    Tensor.short = lambda self: self.to(_dt.int16)
    Tensor.nelement = Tensor.numel
    Tensor.ndimension = Tensor.dim
    Tensor.detach_ = _detach_
    Tensor.is_cuda = property(lambda self: self.device.type == "cuda",
                              doc="Whether the tensor is on a CUDA device.")
    Tensor.H = property(_H, doc="The conjugate transpose of a matrix.")
