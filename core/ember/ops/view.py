"""Views (results share memory and the version counter with their input) and joining."""

from __future__ import annotations

import math

from ..schema import Spec, defop
from ._rules import fail, wrap_dim

__all__ = ["reshape", "view", "permute", "transpose", "expand", "basic_index", "squeeze",
           "unsqueeze", "flatten", "unflatten", "narrow", "select", "split", "chunk",
           "unbind", "movedim", "t", "unfold", "cat", "stack", "_cat", "flip", "roll",
           "repeat", "repeat_interleave"]


def _infer_shape(op, shape, numel):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        fail(op, "only one dimension can be inferred (-1)")
    if any(s < -1 for s in shape):
        fail(op, f"invalid shape dimension in {shape}")
    known = math.prod(s for s in shape if s != -1)
    if neg:
        if known == 0 or numel % known:
            fail(op, f"shape '{shape}' is invalid for input of size {numel}")
        shape[neg[0]] = numel // known
    elif known != numel:
        fail(op, f"shape '{shape}' is invalid for input of size {numel}")
    return tuple(shape)


def _reshape_meta(op):
    def meta(self, shape):
        return Spec(_infer_shape(op, shape, math.prod(self.shape)), self.dtype)
    return meta


reshape = defop("reshape(Tensor(a) self, int[] *shape) -> Tensor(a)",
                tags=("primitive", "view"), meta=_reshape_meta("reshape"),
                doc="``self`` with a new shape (a view when the strides allow, else a "
                    "copy); one dimension may be -1.")


def _view_decomp(self, shape):
    from .conversion import contiguous  # noqa: F401
    return reshape(self, shape)


view = defop("view(Tensor(a) self, int[] *shape) -> Tensor(a)",
             tags=("composite", "view"), meta=_reshape_meta("view"),
             decomposition=_view_decomp, doc="``self`` with a new shape (shares memory).")
# view runs as reshape does: backends run it with their reshape kernel (one dispatch,
# one autograd record; the decomposition serves backends without one).
view.op.same_kernel_as = "reshape"


def _view_dtype_meta(self, dtype):
    old, new = self.dtype.itemsize, dtype.itemsize
    shape = tuple(self.shape)
    if old == new:
        return Spec(shape, dtype)
    sizes = f"(different element sizes: {old} and {new} bytes)"
    what = f"to view {self.dtype.name} as {dtype.name} {sizes}"
    if not shape:
        fail("view", f"a 0-d {self.dtype.name} tensor cannot be viewed as {dtype.name} "
                     f"{sizes}")
    if new < old:
        return Spec(shape[:-1] + (shape[-1] * (old // new),), dtype)
    if shape[-1] * old % new:
        fail("view", f"the last dimension (size {shape[-1]}) must be divisible by "
                     f"{new // old} {what}")
    return Spec(shape[:-1] + (shape[-1] * old // new,), dtype)


_view_dtype = defop(
    "_view_dtype(Tensor(a) self, ScalarType dtype) -> Tensor(a)",
    tags=("primitive", "view", "no_autograd"), meta=_view_dtype_meta, method=False,
    doc="``self``'s bytes reinterpreted as ``dtype`` (``Tensor.view(dtype)``): the same "
        "shape for an element of the same size, else the last dimension scaled by the "
        "ratio of the sizes.  A view where the backend's arrays allow one (a last "
        "dimension that is not contiguous is copied first, as ``view`` copies where "
        "strides do not allow a view); not differentiable, as in PyTorch.")


def _permute_meta(self, dims):
    n = len(self.shape)
    if len(dims) != n:
        fail("permute", f"number of dims don't match in permute: input has {n} dims, "
                        f"got {len(dims)} ({list(dims)})")
    d = [wrap_dim(x, n, "permute", "dims") for x in dims]
    if len(set(d)) != n:
        fail("permute", f"repeated dim in {list(dims)}")
    return Spec(tuple(self.shape[i] for i in d), self.dtype)


permute = defop("permute(Tensor(a) self, int[] *dims) -> Tensor(a)",
                tags=("primitive", "view"), meta=_permute_meta,
                doc="``self`` with its dimensions reordered.")


def _transpose_meta(self, dim0, dim1):
    n = len(self.shape)
    a, b = wrap_dim(dim0, n, "transpose", "dim0"), wrap_dim(dim1, n, "transpose", "dim1")
    shape = list(self.shape)
    if n:
        shape[a], shape[b] = shape[b], shape[a]
    return Spec(tuple(shape), self.dtype)


def _transpose_decomp(self, dim0, dim1):
    n = self.ndim
    if n < 2:
        return permute(self, tuple(range(n)))
    order = list(range(n))
    a, b = dim0 % n, dim1 % n
    order[a], order[b] = order[b], order[a]
    return permute(self, tuple(order))


transpose = defop("transpose(Tensor(a) self, int dim0, int dim1) -> Tensor(a)",
                  tags=("composite", "view"), meta=_transpose_meta,
                  decomposition=_transpose_decomp, doc="Swap two dimensions.")


def _expand_meta(self, size):
    shape = tuple(self.shape)
    if len(size) < len(shape):
        fail("expand", f"the number of sizes provided ({len(size)}) must be greater or "
                       f"equal to the number of dimensions in the tensor ({len(shape)})")
    out = list(size)
    off = len(size) - len(shape)
    for i, s in enumerate(size):
        if i < off:
            if s < 0:
                fail("expand", f"the expanded size {s} is not allowed in a leading, "
                               f"non-existing dimension {i}")
            continue
        t = shape[i - off]
        if s == -1:
            out[i] = t
        elif t != s and t != 1:
            fail("expand", f"the expanded size of the tensor ({s}) must match the existing "
                           f"size ({t}) at non-singleton dimension {i}; target sizes "
                           f"{list(size)}, tensor sizes {list(shape)}")
    return Spec(tuple(out), self.dtype)


expand = defop("expand(Tensor(a) self, int[] *size) -> Tensor(a)",
               tags=("primitive", "view"), meta=_expand_meta,
               doc="A broadcast view of ``self`` at ``size`` (-1 keeps a dimension).")


# --- slicing (the one primitive every other slicing view decomposes into) -----------

def _basic_index_shape(op, shape, index):
    """Output shape of ``a[index]`` for a tuple of ints, slices, ``None`` and at most
    one ``Ellipsis``; raises ``IndexError`` for out-of-range ints as PyTorch does."""
    n = len(shape)
    used = 0
    ellipses = 0
    for it in index:
        if it is Ellipsis:
            ellipses += 1
        elif it is not None:
            used += 1
    if ellipses > 1:
        raise IndexError(f"{op}(): an index can only have a single ellipsis ('...')")
    if used > n:
        raise IndexError(f"{op}(): too many indices for tensor of dimension {n}")
    out = []
    d = 0
    for it in index:
        if it is None:
            out.append(1)
        elif it is Ellipsis:
            k = n - used
            out.extend(shape[d:d + k])
            d += k
        elif it.__class__ is slice:
            if it.step is not None and it.step <= 0:
                fail(op, f"slice step must be greater than zero, got {it.step} "
                         f"(use ember.flip to reverse)")
            out.append(len(range(*it.indices(shape[d]))))
            d += 1
        else:
            size = shape[d]
            if not -size <= it < size:
                raise IndexError(f"{op}(): index {it} is out of bounds for dimension {d} "
                                 f"with size {size}")
            d += 1
    out.extend(shape[d:])
    return tuple(out)


def _basic_index_meta(self, index):
    """The shape rule of ``basic_index`` (its outcome is cached by the boxed kernel)."""
    if not isinstance(index, tuple):
        fail("basic_index", f"argument 'index' must be a tuple, got {type(index).__name__}")
    for it in index:
        if not (it is None or it is Ellipsis or it.__class__ is int or it.__class__ is slice):
            fail("basic_index", f"argument 'index' may hold ints, slices, None and "
                                f"Ellipsis only, got {type(it).__name__}")
        if it.__class__ is slice and not all(v is None or v.__class__ is int
                                             for v in (it.start, it.stop, it.step)):
            fail("basic_index", f"slice bounds must be ints or None, got {it}")
    return Spec(_basic_index_shape("basic_index", tuple(self.shape), index), self.dtype)


basic_index = defop("basic_index(Tensor(a) self, Any index) -> Tensor(a)",
                    tags=("primitive", "view"), meta=_basic_index_meta, method=False,
                    doc="``self[index]`` for a tuple of ints, slices (positive steps), "
                        "``None`` and ``Ellipsis``: a view (NumPy basic indexing).")


def _squeeze_meta(self, dim=None):
    shape = tuple(self.shape)
    n = len(shape)
    if dim is None:
        return Spec(tuple(s for s in shape if s != 1), self.dtype)
    dims = {wrap_dim(d, n, "squeeze") for d in dim}
    return Spec(tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1)),
                self.dtype)


def _squeeze_decomp(self, dim=None):
    return reshape(self, _squeeze_meta(self, dim).shape)


squeeze = defop("squeeze(Tensor(a) self, int[]? dim=None) -> Tensor(a)",
                tags=("composite", "view"), meta=_squeeze_meta, decomposition=_squeeze_decomp,
                doc="Remove dimensions of size 1 (all, or those in ``dim``).")


def _unsqueeze_meta(self, dim):
    shape = list(self.shape)
    d = wrap_dim(dim, len(shape) + 1, "unsqueeze")
    shape.insert(d, 1)
    return Spec(tuple(shape), self.dtype)


unsqueeze = defop("unsqueeze(Tensor(a) self, int dim) -> Tensor(a)",
                  tags=("composite", "view"), meta=_unsqueeze_meta,
                  decomposition=lambda self, dim: reshape(self, _unsqueeze_meta(self, dim).shape),
                  doc="Insert a dimension of size 1 at ``dim``.")


def _flatten_meta(self, start_dim=0, end_dim=-1):
    shape = tuple(self.shape)
    n = len(shape)
    if n == 0:
        wrap_dim(start_dim, 0, "flatten", "start_dim")
        wrap_dim(end_dim, 0, "flatten", "end_dim")
        return Spec((1,), self.dtype)
    s = wrap_dim(start_dim, n, "flatten", "start_dim")
    e = wrap_dim(end_dim, n, "flatten", "end_dim")
    if s > e:
        fail("flatten", f"argument 'start_dim' ({start_dim}) must not come after "
                        f"argument 'end_dim' ({end_dim})")
    return Spec(shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:], self.dtype)


flatten = defop("flatten(Tensor(a) self, int start_dim=0, int end_dim=-1) -> Tensor(a)",
                tags=("composite", "view"), meta=_flatten_meta,
                decomposition=lambda self, s=0, e=-1:
                    reshape(self, _flatten_meta(self, s, e).shape),
                doc="Merge dimensions ``start_dim..end_dim`` into one (a view when possible).")


def _unflatten_meta(self, dim, sizes):
    shape = tuple(self.shape)
    d = wrap_dim(dim, len(shape), "unflatten")
    if not shape:
        fail("unflatten", "argument 'self' must have at least one dimension")
    new = _infer_shape("unflatten", sizes, shape[d])
    return Spec(shape[:d] + new + shape[d + 1:], self.dtype)


unflatten = defop("unflatten(Tensor(a) self, int dim, int[] sizes) -> Tensor(a)",
                  tags=("composite", "view"), meta=_unflatten_meta,
                  decomposition=lambda self, dim, sizes:
                      reshape(self, _unflatten_meta(self, dim, sizes).shape),
                  doc="Split dimension ``dim`` into ``sizes`` (one may be -1).")


def _narrow_meta(self, dim, start, length):
    shape = list(self.shape)
    if not shape:
        fail("narrow", "argument 'self' must have at least one dimension")
    d = wrap_dim(dim, len(shape), "narrow")
    size = shape[d]
    if not -size <= start <= size:
        raise IndexError(f"narrow(): argument 'start' ({start}) is out of range for "
                         f"dimension {d} of size {size}")
    start %= size if size else 1
    if length < 0 or start + length > size:
        fail("narrow", f"start ({start}) + length ({length}) exceeds dimension size "
                       f"({size}) of dimension {d}")
    shape[d] = length
    return Spec(tuple(shape), self.dtype)


def _narrow_decomp(self, dim, start, length):
    d = dim % self.ndim
    size = self.shape[d]
    start = start % size if size else 0
    return basic_index(self, (slice(None),) * d + (slice(start, start + length),))


narrow = defop("narrow(Tensor(a) self, int dim, int start, int length) -> Tensor(a)",
               tags=("composite", "view"), meta=_narrow_meta, decomposition=_narrow_decomp,
               doc="The slice ``start:start+length`` of dimension ``dim`` (a view).")


def _select_meta(self, dim, index):
    shape = list(self.shape)
    if not shape:
        raise IndexError("select(): index cannot be applied to a 0-dim tensor")
    d = wrap_dim(dim, len(shape), "select")
    if not -shape[d] <= index < shape[d]:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(shape)} at dimension {d}")
    del shape[d]
    return Spec(tuple(shape), self.dtype)


select = defop("select(Tensor(a) self, int dim, int index) -> Tensor(a)",
               tags=("composite", "view"), meta=_select_meta,
               decomposition=lambda self, dim, index:
                   basic_index(self, (slice(None),) * (dim % self.ndim) + (index,)),
               doc="``self`` indexed at ``index`` along ``dim``, removing that dimension.")


def _split_sizes(self, split, dim):
    shape = tuple(self.shape)
    if not shape:
        fail("split", "argument 'self' must have at least one dimension")
    d = wrap_dim(dim, len(shape), "split")
    size = shape[d]
    if isinstance(split, bool) or not isinstance(split, (int, list, tuple)):
        fail("split", f"argument 'split_size_or_sections' must be an int or a list of "
                      f"ints, got {type(split).__name__}")
    if isinstance(split, int):
        if split < 0 or (split == 0 and size != 0):
            fail("split", f"argument 'split_size_or_sections' must be a positive int, "
                          f"got {split}")
        if size == 0:
            return d, [0]
        return d, [min(split, size - i) for i in range(0, size, split)]
    sizes = [int(s) for s in split]
    if any(s < 0 for s in sizes) or sum(sizes) != size:
        fail("split", f"split_with_sizes expects split_sizes to sum exactly to {size} "
                      f"(input tensor's size at dimension {d}), but got "
                      f"split_sizes={sizes}")
    return d, sizes


def _split_meta(self, split, dim=0):
    d, sizes = _split_sizes(self, split, dim)
    shape = list(self.shape)
    out = []
    for s in sizes:
        shape[d] = s
        out.append(Spec(tuple(shape), self.dtype))
    return tuple(out)


def _split_decomp(self, split, dim=0):
    d, sizes = _split_sizes(self, split, dim)
    pre = (slice(None),) * d
    out, start = [], 0
    for s in sizes:
        out.append(basic_index(self, pre + (slice(start, start + s),)))
        start += s
    return tuple(out)


split = defop("split(Tensor(a) self, Any split_size_or_sections, int dim=0) -> Tensor(a)[]",
              tags=("composite", "view"), meta=_split_meta, decomposition=_split_decomp,
              doc="Views of consecutive pieces along ``dim``: of size ``split_size`` (the "
                  "last may be smaller) or of the given list of sizes.")


def _chunk_size(self, chunks, dim):
    if chunks <= 0:
        fail("chunk", f"argument 'chunks' must be greater than 0, got {chunks}")
    if not self.ndim:
        fail("chunk", "argument 'self' must have at least one dimension")
    size = self.shape[wrap_dim(dim, self.ndim, "chunk")]
    return max(-(-size // chunks), 1) if size else 0


chunk = defop("chunk(Tensor(a) self, int chunks, int dim=0) -> Tensor(a)[]",
              tags=("composite", "view"),
              meta=lambda self, chunks, dim=0: _split_meta(self, _chunk_size(self, chunks, dim),
                                                           dim),
              decomposition=lambda self, chunks, dim=0:
                  _split_decomp(self, _chunk_size(self, chunks, dim), dim),
              doc="Split into ``chunks`` views of equal size along ``dim`` (the last may "
                  "be smaller, and there may be fewer, as in PyTorch).")


def _unbind_meta(self, dim=0):
    shape = list(self.shape)
    if not shape:
        fail("unbind", "argument 'self' must have at least one dimension (got a 0-d tensor)")
    d = wrap_dim(dim, len(shape), "unbind")
    n = shape.pop(d)
    return tuple(Spec(tuple(shape), self.dtype) for _ in range(n))


def _unbind_decomp(self, dim=0):
    d = dim % self.ndim
    pre = (slice(None),) * d
    return tuple(basic_index(self, pre + (i,)) for i in range(self.shape[d]))


unbind = defop("unbind(Tensor(a) self, int dim=0) -> Tensor(a)[]",
               tags=("composite", "view"), meta=_unbind_meta, decomposition=_unbind_decomp,
               doc="The slices along ``dim``, that dimension removed (views).")


def _movedim_meta(self, source, destination):
    n = len(self.shape)
    if len(source) != len(destination):
        fail("movedim", f"Invalid source or destination dims: source ({list(source)} dims) "
                        f"should contain the same number of dims as destination "
                        f"({list(destination)} dims)")
    src = [wrap_dim(s, n, "movedim", "source") for s in source]
    dst = [wrap_dim(s, n, "movedim", "destination") for s in destination]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        fail("movedim", "repeated dim in 'source' or 'destination'")
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return order


movedim = defop("movedim(Tensor(a) self, int[] source, int[] destination) -> Tensor(a)",
                tags=("composite", "view"),
                meta=lambda self, s, d: Spec(tuple(self.shape[i] for i in
                                                   _movedim_meta(self, s, d)), self.dtype),
                decomposition=lambda self, s, d: permute(self, tuple(_movedim_meta(self, s, d))),
                doc="Move dimensions ``source`` to positions ``destination``.")


def _t_meta(self):
    if self.ndim > 2:
        fail("t", f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
    return Spec(tuple(reversed(self.shape)), self.dtype)


t = defop("t(Tensor(a) self) -> Tensor(a)", tags=("composite", "view"), meta=_t_meta,
          decomposition=lambda self: permute(self, tuple(reversed(range(self.ndim)))),
          doc="Transpose a tensor of at most 2 dimensions.")


def _unfold_meta(self, dimension, size, step):
    shape = list(self.shape)
    n = len(shape)
    d = wrap_dim(dimension, n, "unfold", "dimension")
    length = shape[d] if n else 1
    if size < 0 or size > length:
        fail("unfold", f"maximum size for tensor at dimension {d} is {length} but size "
                       f"is {size}")
    if step <= 0:
        fail("unfold", f"argument 'step' must be positive, got {step}")
    windows = (length - size) // step + 1
    if n == 0:
        return Spec((size,), self.dtype)
    shape[d] = windows
    return Spec(tuple(shape) + (size,), self.dtype)


unfold = defop("unfold(Tensor(a) self, int dimension, int size, int step) -> Tensor(a)",
               tags=("primitive", "view"), meta=_unfold_meta,
               doc="A view of every window of ``size`` elements taken ``step`` apart along "
                   "``dimension``; the windows form a new last dimension (for convolution "
                   "and pooling).")


# --- joining (copies, not views) -------------------------------------------------------

def _cat_meta(tensors, dim=0):
    from .. import dtypes as _dt
    if not tensors:
        fail("cat", "argument 'tensors' must be a non-empty sequence of Tensors")
    shapes = [t._data.shape for t in tensors]
    np_dtypes = {t._data.dtype for t in tensors}
    dtype = tensors[0].dtype
    if len(np_dtypes) > 1:
        for t in tensors[1:]:
            dtype = _dt.promote_types(dtype, t.dtype)
    # PyTorch still skips 1-D empty tensors (legacy behaviour) when joining.
    real = [(i, s) for i, s in enumerate(shapes) if s != (0,)]
    if not real:
        return Spec((0,), dtype)
    ref = real[0][1]
    if not ref:
        fail("cat", "zero-dimensional tensor (at position 0) cannot be concatenated")
    n = len(ref)
    d = wrap_dim(dim, n, "cat")
    total = 0
    for i, s in real:
        if len(s) != n:
            fail("cat", f"tensors must have same number of dimensions: got {n} and "
                        f"{len(s)} (argument 'tensors', item {i})")
        if s[:d] != ref[:d] or s[d + 1:] != ref[d + 1:]:
            k = next(k for k in range(n) if k != d and s[k] != ref[k])
            fail("cat", f"sizes of tensors must match except in dimension {d}: expected "
                        f"size {ref[k]} but got size {s[k]} for tensor number {i} in "
                        f"the list (dimension {k})")
        total += s[d]
    return Spec(ref[:d] + (total,) + ref[d + 1:], dtype)


def _cat_prim_meta(tensors, dim=0):
    for t in tensors[1:]:
        if t.dtype is not tensors[0].dtype:
            fail("_cat", f"expected tensors of one dtype, got {tensors[0].dtype} and {t.dtype}")
    return _cat_meta(tensors, dim)


_cat = defop("_cat(Tensor[] tensors, int dim=0) -> Tensor", tags=("primitive",),
             meta=_cat_prim_meta,
             doc="Concatenate tensors of one dtype and equal rank along ``dim`` (``cat`` "
                 "promotes and drops legacy empty tensors first).")


def _cat_decomp(tensors, dim=0):
    spec = _cat_meta(tensors, dim)
    real = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    if not real:
        from .creation import empty
        return empty(0, dtype=spec.dtype, device=tensors[0].device)
    real = [t if t.dtype is spec.dtype else t.astype(spec.dtype) for t in real]
    return _cat(real, dim)


cat = defop("cat(Tensor[] tensors, int dim=0) -> Tensor", tags=("composite",),
            meta=_cat_meta, decomposition=_cat_decomp,
            doc="Concatenate along an existing dimension (dtypes promote as in PyTorch).")


def _stack_meta(tensors, dim=0):
    if not tensors:
        fail("stack", "argument 'tensors' must be a non-empty sequence of Tensors")
    ref = tuple(tensors[0].shape)
    for i, t in enumerate(tensors):
        if tuple(t.shape) != ref:
            fail("stack", f"stack expects each tensor to be equal size, but got {list(ref)} "
                          f"at entry 0 and {list(t.shape)} at entry {i}")
    d = wrap_dim(dim, len(ref) + 1, "stack")
    from .. import dtypes as _dt
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = _dt.promote_types(dtype, t.dtype)
    return Spec(ref[:d] + (len(tensors),) + ref[d:], dtype)


def _stack_decomp(tensors, dim=0):
    d = dim % (tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


stack = defop("stack(Tensor[] tensors, int dim=0) -> Tensor", tags=("composite",),
              meta=_stack_meta, decomposition=_stack_decomp,
              doc="Join tensors of equal shape along a new dimension ``dim``.")



# --- copies that rearrange elements ---------------------------------------------------

def _dims_meta(op, self, dims, arg="dims"):
    n = self.ndim
    d = [wrap_dim(x, n, op, arg) for x in dims]
    if len(set(d)) != len(d):
        fail(op, f"argument '{arg}' has a repeated dim: {list(dims)}")
    return d


def _flip_decomp(self, dims):
    from .creation import arange
    from .indexing import index_select
    out = self
    for d in _dims_meta("flip", self, dims):
        n = self.shape[d] if self.ndim else 1
        if self.ndim:
            out = index_select(out, d, arange(n - 1, -1, -1, device=self.device))
    return out if out is not self else self.clone()


flip = defop("flip(Tensor self, int[] *dims) -> Tensor", tags=("composite",),
             meta=lambda self, dims: (_dims_meta("flip", self, dims),
                                      Spec(tuple(self.shape), self.dtype))[1],
             decomposition=_flip_decomp,
             doc="A copy of ``self`` with the order of elements reversed along ``dims``.")


def _roll_meta(self, shifts, dims=()):
    if not dims:
        if len(shifts) != 1:
            fail("roll", f"argument 'shifts' must hold one shift when 'dims' is not given, "
                         f"got {list(shifts)}")
    elif len(shifts) != len(dims):
        fail("roll", f"arguments 'shifts' and 'dims' must have the same length, got "
                     f"{len(shifts)} and {len(dims)}")
    else:
        for d in dims:
            wrap_dim(d, self.ndim, "roll", "dims")
    return Spec(tuple(self.shape), self.dtype)


def _roll_decomp(self, shifts, dims=()):
    if not dims:
        return _roll_decomp(reshape(self, (-1,)), shifts, (0,)).reshape(tuple(self.shape))
    out = self
    for shift, dim in zip(shifts, dims, strict=True):
        d = dim % max(self.ndim, 1)
        n = self.shape[d] if self.ndim else 1
        k = shift % n if n else 0
        if k:
            out = cat([narrow(out, d, n - k, k), narrow(out, d, 0, n - k)], d)
    return out if out is not self else self.clone()


roll = defop("roll(Tensor self, int[] shifts, int[] dims=[]) -> Tensor", tags=("composite",),
             meta=_roll_meta, decomposition=_roll_decomp,
             doc="Elements shifted cyclically by ``shifts`` along ``dims`` (the flattened "
                 "tensor when ``dims`` is empty).")


def _repeat_meta(self, repeats):
    shape = tuple(self.shape)
    if len(repeats) < len(shape):
        fail("repeat", f"number of dimensions of repeat dims can not be smaller than number "
                       f"of dimensions of tensor ({len(repeats)} < {len(shape)})")
    if any(r < 0 for r in repeats):
        fail("repeat", f"argument 'repeats' must not be negative, got {list(repeats)}")
    padded = (1,) * (len(repeats) - len(shape)) + shape
    return Spec(tuple(r * s for r, s in zip(repeats, padded, strict=True)), self.dtype)


def _repeat_decomp(self, repeats):
    padded = (1,) * (len(repeats) - self.ndim) + tuple(self.shape)
    x = reshape(self, tuple(v for s in padded for v in (1, s)))
    x = expand(x, tuple(v for r, s in zip(repeats, padded, strict=True) for v in (r, s)))
    return reshape(x, _repeat_meta(self, repeats).shape).contiguous()


repeat = defop("repeat(Tensor self, int[] *repeats) -> Tensor", tags=("composite",),
               meta=_repeat_meta, decomposition=_repeat_decomp,
               doc="``self`` tiled ``repeats`` times along each dimension (a copy).")


def _repeat_interleave_meta(self, repeats, dim=None):
    if repeats < 0:
        fail("repeat_interleave", f"argument 'repeats' must be non-negative, got {repeats}")
    if dim is None:
        return Spec((self.numel() * repeats,), self.dtype)
    shape = list(self.shape)
    d = wrap_dim(dim, len(shape), "repeat_interleave")
    if shape:
        shape[d] *= repeats
    return Spec(tuple(shape), self.dtype)


def _repeat_interleave_decomp(self, repeats, dim=None):
    x = reshape(self, (-1,)) if dim is None or self.ndim == 0 else self
    d = 0 if dim is None else dim % max(x.ndim, 1)
    shape = tuple(x.shape)
    x = expand(unsqueeze(x, d + 1), shape[:d + 1] + (repeats,) + shape[d + 1:])
    return reshape(x, _repeat_interleave_meta(self, repeats, dim).shape).contiguous()


repeat_interleave = defop("repeat_interleave(Tensor self, int repeats, int? dim=None) -> Tensor",
                          tags=("composite",), meta=_repeat_interleave_meta,
                          decomposition=_repeat_interleave_decomp,
                          doc="Each element repeated ``repeats`` times along ``dim`` "
                              "(the flattened tensor when ``dim`` is None).")


# --- derivatives ---
# Beside the schemas above; see ember.autograd.rules for the conventions.

from ..autograd.function import Function  # noqa: E402
from ..autograd.rules import derivative  # noqa: E402


def _zeros_for(g, shape):
    from .creation import zeros
    return zeros(shape, dtype=g.dtype, device=g.device)


class _EmbedIndexed(Function):
    """The gradient of ``basic_index``: ``g`` placed at ``index`` in zeros of ``shape``.
    Its own derivative is ``basic_index`` again, so any order of gradients works."""

    @staticmethod
    def forward(ctx, g, shape, index):
        ctx.index = index
        out = _zeros_for(g, shape)
        basic_index(out, index).copy_(g)
        return out

    @staticmethod
    def backward(ctx, gg):
        return basic_index(gg, ctx.index), None, None


class _FoldWindows(Function):
    """The gradient of ``unfold``: every window's gradient added back where the window
    came from (windows may overlap).  Its own derivative is ``unfold``."""

    @staticmethod
    def forward(ctx, g, shape, dimension, size, step):
        ctx.args = (dimension, size, step)
        out = _zeros_for(g, shape)
        if not shape:
            return out + g.sum()
        d = dimension % len(shape)
        windows = g.shape[d]
        if windows == 0 or size == 0:
            return out
        pre = (slice(None),) * d
        for k in range(size):  # one strided slice per position inside the window
            dst = basic_index(out, pre + (slice(k, k + step * (windows - 1) + 1, step),))
            dst.add_(basic_index(g, (Ellipsis, k)))
        return out

    @staticmethod
    def backward(ctx, gg):
        return unfold(gg, *ctx.args), None, None, None, None


def _inverse(dims):
    n = len(dims)
    inv = [0] * n
    for i, d in enumerate(dims):
        inv[d % n] = i
    return tuple(inv)


derivative(reshape, self=lambda g, self, shape: reshape(g, tuple(self.shape)))
derivative(view, self=lambda g, self, shape: reshape(g, tuple(self.shape)))
# Composite views with a derivative of their own: one node each (named as PyTorch's), and
# the backend's own kernel where it has one (no second dispatch into the decomposition).
derivative(transpose, self=lambda g, self, dim0, dim1: transpose(g, dim0, dim1))
derivative(t, self=lambda g, self: t(g))
derivative(squeeze, self=lambda g, self, dim=None: reshape(g, tuple(self.shape)))
derivative(unsqueeze, self=lambda g, self, dim: reshape(g, tuple(self.shape)))
derivative(flatten, self=lambda g, self, start_dim=0, end_dim=-1: reshape(g, tuple(self.shape)))
derivative(unflatten, self=lambda g, self, dim, sizes: reshape(g, tuple(self.shape)))
derivative(movedim, self=lambda g, self, source, destination: movedim(g, destination, source))


def _narrow_backward(g, self, dim, start, length):
    d = dim % self.ndim
    if start < 0:
        start += self.shape[d]
    return _EmbedIndexed.apply(g, tuple(self.shape),
                               (slice(None),) * d + (slice(start, start + length),))


derivative(narrow, self=_narrow_backward)
derivative(select, self=lambda g, self, dim, index: _EmbedIndexed.apply(
    g, tuple(self.shape), (slice(None),) * (dim % self.ndim) + (index,)))
derivative(permute, self=lambda g, self, dims: permute(g, _inverse(dims)))
derivative(expand, self=lambda g, self, size: g)  # the engine sums g down to self's shape
derivative(basic_index, self=lambda g, self, index:
           _EmbedIndexed.apply(g, tuple(self.shape), index))
derivative(unfold, self=lambda g, self, dimension, size, step:
           _FoldWindows.apply(g, tuple(self.shape), dimension, size, step))


def _cat_backward(g, tensors, dim=0):
    d = dim % g.ndim
    out, start = [], 0
    for t in tensors:
        n = t.shape[d]
        out.append(basic_index(g, (slice(None),) * d + (slice(start, start + n),)))
        start += n
    return out


derivative(_cat, tensors=_cat_backward)
