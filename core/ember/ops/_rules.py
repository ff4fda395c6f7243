"""Shared shape and dtype rules used by op declarations (the building blocks of
``meta`` functions).  Every rule raises ``OpError`` naming the op and argument."""

from __future__ import annotations

import functools

from .. import dtypes as _dt
from ..errors import OpError
from ..schema import DEFAULT_META, Spec

__all__ = ["broadcast_shapes", "pointwise_meta", "pointwise_dtypes", "wrap_dim",
           "reduce_dims", "reduction_meta", "same_shape_meta", "fail"]

_NUMBERS = (bool, int, float, complex)


def fail(op: str, message: str):
    """Raise ``OpError("op(): message")``."""
    raise OpError(f"{op}(): {message}")


@functools.lru_cache(maxsize=8192)
def _broadcast2(a: tuple, b: tuple):
    if len(a) < len(b):
        a, b = b, a
    out = list(a)
    off = len(a) - len(b)
    for i, s in enumerate(b):
        t = a[off + i]
        if t == s or s == 1:
            continue
        if t == 1:
            out[off + i] = s
        else:
            return None
    return tuple(out)


def broadcast_shapes(*shapes, op: str = "broadcast_shapes", names=None) -> tuple:
    """The broadcast shape of ``shapes`` (NumPy/PyTorch rules) or an ``OpError``."""
    out = ()
    for k, s in enumerate(shapes):
        r = _broadcast2(out, tuple(s))
        if r is None:
            what = (f"argument '{names[k]}'" if names else f"shape {k}")
            fail(op, f"the shape {list(s)} of {what} can't be broadcast with {list(out)} "
                 f"(sizes must match or be 1, aligned from the right)")
        out = r
    return out


def pointwise_dtypes(od, operands) -> tuple:
    """``(computation dtype, result dtype)`` of a pointwise op's operands (the rule is
    ``dtypes.pointwise_dtypes``, under the op's promotion kind)."""
    return _dt.pointwise_dtypes(od.promotion, operands)


#: Pointwise ops that PyTorch defines for real numbers only (an order, rounding,
#: bits): a complex computation is refused.  ``mark_real_only`` sets their OpDefs'
#: ``real_only`` flag, which the shape rule and the boxed kernel's fast path read.
REAL_ONLY = frozenset("""
    lt le gt ge maximum minimum floor ceil trunc round sign remainder fmod floor_divide
    atan2 clamp clamp_min clamp_max erf bitwise_and bitwise_or bitwise_xor bitwise_not
    bitwise_left_shift bitwise_right_shift
""".split())


def refuse_complex(op: str, d) -> None:
    """The error of a real-only op (``REAL_ONLY``) given a complex computation."""
    if d._kind == "c":
        fail(op, f"not implemented for complex tensors (got {d}): complex numbers have "
                 f"no order, rounding or bits")


def mark_real_only(registry) -> None:
    """Flag the ops of ``REAL_ONLY`` (and their in-place forms) in ``registry``."""
    for name in REAL_ONLY:
        for n in (name, name + "_"):
            if n in registry:
                registry[n].real_only = True


def pointwise_meta(od):
    """The shape rule of a pointwise op: broadcast the tensor arguments, promote (the
    default of every pointwise op that declares none: see ``schema.DEFAULT_META``)."""
    from ..kernels import _layout
    tpos = None

    def meta(*args):
        nonlocal tpos
        if tpos is None:
            tpos = _layout(od)["tensor"]
            names = [od.args[i].name for i in tpos]
            meta.names = names
        shapes = []
        operands = []
        for i in tpos:
            x = args[i]
            if x is None:
                continue
            operands.append(x)
            if x.__class__ not in _NUMBERS:
                shapes.append(x._data.shape)
        if len(shapes) == 1:
            shape = shapes[0]
        elif len(shapes) == 2 and shapes[0] == shapes[1]:
            shape = shapes[0]
        else:
            shape = broadcast_shapes(*shapes, op=od.name, names=meta.names)
        if not operands or all(x.__class__ in _NUMBERS for x in operands):
            fail(od.name, "expected at least one Tensor argument")
        compute, result = pointwise_dtypes(od, operands)
        if od.real_only:
            refuse_complex(od.name, compute)
        return Spec(tuple(shape), result)
    meta.generic = True  # only broadcasting and promotion: kernels may shortcut it
    return meta


def same_shape_meta(op: str, dtype=None):
    """Shape rule: output has the input's shape (and dtype unless given)."""
    def meta(self, *rest):
        return Spec(tuple(self.shape), dtype or self.dtype)
    return meta


def wrap_dim(dim: int, ndim: int, op: str, arg: str = "dim") -> int:
    """Normalise a possibly negative dim; 0-d tensors accept -1 and 0 (as PyTorch)."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        fail(op, f"argument '{arg}' is out of range (expected to be in range of "
                 f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


def reduce_dims(dim, ndim: int, op: str) -> tuple:
    """The sorted, normalised dims a reduction reduces (``None`` or ``()``: all)."""
    if dim is None or dim == ():
        return tuple(range(ndim))
    dims = tuple(wrap_dim(d, ndim, op) for d in (dim if isinstance(dim, tuple) else (dim,)))
    if len(set(dims)) != len(dims):
        fail(op, f"dim {list(dims)} appears multiple times in the list of dims")
    if ndim == 0:
        return ()
    return tuple(sorted(dims))


def reduction_meta(op: str, dtype_rule=None):
    """Shape rule of ``op(self, dim=None, keepdim=False, ...)`` reductions."""
    def meta(self, dim=None, keepdim=False, *rest):
        shape = tuple(self.shape)
        dims = reduce_dims(dim, len(shape), op)
        if keepdim:
            out = tuple(1 if i in dims else s for i, s in enumerate(shape))
        else:
            out = tuple(s for i, s in enumerate(shape) if i not in dims)
        dt = dtype_rule(self, *rest) if dtype_rule else self.dtype
        return Spec(out, dt)
    return meta


DEFAULT_META["pointwise"] = pointwise_meta
