"""Views: results share memory (and the version counter) with their input."""

from __future__ import annotations

import math

from ..schema import Spec, defop
from ._rules import fail, wrap_dim

__all__ = ["reshape", "view", "permute", "transpose", "expand"]


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
