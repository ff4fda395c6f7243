"""Reductions along any dims: ``reduce.cl`` (sum, prod, amax, any …) and
``argreduce.cl`` (argmax/argmin, and max/min along a dim with their indices)."""

from __future__ import annotations

import math

import numpy as np

from ..array import CLArray
from .compiler import ctype, get_kernel, template
from .elementwise import collapse, new_like
from .pointwise import fill

__all__ = ["REDUCTIONS", "reduce", "argreduce", "reduction_kernel", "arg_kernel",
           "dims_of", "reduce_source", "argreduce_source"]

_LONG = np.dtype(np.int64)
_BOOL = np.dtype(np.bool_)


def _minmax_combine(cmp: str):
    def pick(kind):
        if kind == "f":  # NaN propagates
            return f"(((a) {cmp} (b) || isnan(a)) ? (a) : (b))"
        return f"(((a) {cmp} (b)) ? (a) : (b))"
    return pick


def _lowest(dtype: np.dtype) -> str:
    if dtype.kind == "f":
        return "-INFINITY"
    if dtype.kind == "b":
        return "0"
    return f"({np.iinfo(dtype).min}L)" if dtype.itemsize == 8 else str(np.iinfo(dtype).min)


def _highest(dtype: np.dtype) -> str:
    if dtype.kind == "f":
        return "INFINITY"
    if dtype.kind == "b":
        return "1"
    v = np.iinfo(dtype).max
    return f"({v}L)" if dtype.itemsize == 8 else str(v)


#: name -> (init(acc dtype), combine(kind) or str over a, b, map over x, bool result?)
REDUCTIONS = {
    "sum": (lambda dt: "0", "(a) + (b)", "x", False),
    "prod": (lambda dt: "1", "(a) * (b)", "x", False),
    "amax": (_lowest, _minmax_combine(">"), "x", False),
    "amin": (_highest, _minmax_combine("<"), "x", False),
    "any": (lambda dt: "0", "(a) | (b)", "(x) != 0", True),
    "all": (lambda dt: "1", "(a) & (b)", "(x) != 0", True),
}


def dims_of(dim, ndim: int) -> tuple:
    """Normalised, sorted reduced dims (``None``/``()``: all)."""
    if dim is None or dim == () or ndim == 0:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    return tuple(sorted({d % ndim for d in dim}))


def _split(a: CLArray, dims: tuple):
    """Collapsed (sizes, strides) of the kept and of the reduced dimensions."""
    kept = [i for i in range(a.ndim) if i not in dims]
    oshape, (ostr,) = collapse(tuple(a.shape[i] for i in kept),
                               [tuple(a.strides[i] for i in kept)])
    ishape, (istr,) = collapse(tuple(a.shape[i] for i in dims),
                               [tuple(a.strides[i] for i in dims)])
    return kept, oshape, ostr, ishape, istr


def _index_code(prefix: str, var: str, nd: int) -> str:
    lines = []
    for d in range(nd - 1, -1, -1):
        lines.append(f"        {{ const long i = r % {prefix}sz{d}; r /= {prefix}sz{d}; "
                     f"{var} += i * {prefix}st{d}; }}")
    return "\n".join(lines)


def _params(prefix: str, nd: int) -> str:
    return "".join(f", const long {prefix}sz{d}, const long {prefix}st{d}" for d in range(nd))


def _group(m: int, n: int) -> int:
    # A few fixed sizes only: PoCL compiles a kernel once per work-group size.
    if n >= 2048 or (m < 16 and n >= 256):
        return 256
    if n >= 64:
        return 64
    return 1


def _out_shape(a: CLArray, dims: tuple, keepdim: bool) -> tuple:
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(a.shape))
    return tuple(s for i, s in enumerate(a.shape) if i not in dims)


def reduce_source(name: str, a_dtype: np.dtype, out_dtype: np.dtype, ond: int,
                  ind: int) -> str:
    """The OpenCL C of reduction ``name`` (``REDUCTIONS``) of ``a_dtype`` into
    ``out_dtype`` over ``ind`` merged reduced dims, ``ond`` merged kept dims."""
    init, combine, mapping, is_bool = REDUCTIONS[name]
    out_dtype = _BOOL if is_bool else np.dtype(out_dtype)
    acc = np.dtype(np.uint8) if out_dtype == _BOOL else out_dtype
    comb = combine(acc.kind) if callable(combine) else combine
    return template("reduce.cl").substitute(
        COMBINE=comb, MAP=mapping, R=ctype(out_dtype, name), A=ctype(a_dtype, name),
        ACC=ctype(acc, name), INIT=init(acc),
        OUTER_PARAMS=_params("o", ond), INNER_PARAMS=_params("i", ind),
        OUTER_INDEX=_index_code("o", "base", ond), INNER_INDEX=_index_code("i", "p", ind),
        FINAL="res" if out_dtype != _BOOL else "(uchar)(res != 0)")


def argreduce_source(name: str, a_dtype: np.dtype, ond: int, ind: int) -> str:
    """The OpenCL C of ``argmax``/``argmin`` (``name``) over ``a_dtype`` (dims as in
    ``reduce_source``)."""
    return template("argreduce.cl").substitute(
        A=ctype(a_dtype, name), CMP=">" if name == "argmax" else "<",
        ISNAN="isnan(x)" if a_dtype.kind == "f" else "0",
        OUTER_PARAMS=_params("o", ond), INNER_PARAMS=_params("i", ind),
        OUTER_INDEX=_index_code("o", "base", ond), INNER_INDEX=_index_code("i", "p", ind))


def reduce(name: str, a: CLArray, dims: tuple, keepdim: bool, out_dtype) -> CLArray:
    """Reduce ``a`` over ``dims`` with the ``REDUCTIONS[name]`` rule."""
    is_bool = REDUCTIONS[name][3]
    out_dtype = _BOOL if is_bool else np.dtype(out_dtype)
    acc = np.dtype(np.uint8) if out_dtype == _BOOL else out_dtype
    out = new_like(a.dev, _out_shape(a, dims, keepdim), out_dtype)
    m = out.size
    if m == 0:
        return out
    kept, oshape, ostr, ishape, istr = _split(a, dims)
    n = math.prod(ishape)
    if n == 0:
        # Over no elements: the identity (amax/amin of nothing is refused by the schema).
        return fill(out, 1 if name in ("prod", "all") else 0)
    ctype(a.dtype, name), ctype(acc, name), ctype(out_dtype, name)  # (clear errors first)
    ond, ind = len(oshape), len(ishape)
    key = ("reduce", name, a.dtype, acc, out_dtype, ond, ind)
    source = lambda: reduce_source(name, a.dtype, out_dtype, ond, ind)
    dtypes = [_LONG, _LONG, None, None, _LONG] + [_LONG] * (2 * (ond + ind))
    k = get_kernel(a.dev, key, source, "reduce", dtypes)
    lsz = _group(m, n)
    args = [m, n, out.buffer, a.buffer, a.offset]
    for s, st in zip(oshape, ostr, strict=False):
        args += [s, st]
    for s, st in zip(ishape, istr, strict=False):
        args += [s, st]
    k(a.dev.queue, (m * lsz,), (lsz,), *args)
    return out


def argreduce(name: str, a: CLArray, dims: tuple, keepdim: bool) -> tuple:
    """``(values, indices)`` of the largest (``argmax``) or smallest (``argmin``)."""
    shape = _out_shape(a, dims, keepdim)
    values = new_like(a.dev, shape, a.dtype)
    indices = new_like(a.dev, shape, _LONG)
    m = values.size
    kept, oshape, ostr, ishape, istr = _split(a, dims)
    n = math.prod(ishape)
    if m == 0 or n == 0:
        return values, indices
    ctype(a.dtype, name)
    ond, ind = len(oshape), len(ishape)
    key = ("argreduce", name, a.dtype, ond, ind)
    source = lambda: argreduce_source(name, a.dtype, ond, ind)
    dtypes = [_LONG, _LONG, None, None, None, _LONG] + [_LONG] * (2 * (ond + ind))
    k = get_kernel(a.dev, key, source, "argreduce", dtypes)
    lsz = _group(m, n)
    args = [m, n, values.buffer, indices.buffer, a.buffer, a.offset]
    for s, st in zip(oshape, ostr, strict=False):
        args += [s, st]
    for s, st in zip(ishape, istr, strict=False):
        args += [s, st]
    k(a.dev.queue, (m * lsz,), (lsz,), *args)
    return values, indices


def reduction_kernel(od, name: str):
    """An ember kernel for reduction op ``od`` (``sum(self, dim, keepdim, dtype)`` …)."""
    argnames = [a.name for a in od.args]

    def kernel(*values):
        kw = dict(zip(argnames, values, strict=False))
        a = kw["self"]
        dims = dims_of(kw.get("dim", kw.get("axis")), a.ndim)
        dtype = kw.get("dtype")
        out_dtype = dtype.np if dtype is not None else a.dtype
        return reduce(name, a, dims, bool(kw.get("keepdim", False)), out_dtype)
    kernel.__name__ = f"rocm_{od.name}"
    return kernel


def arg_kernel(od, name: str, with_values: bool):
    """argmax/argmin (indices), or max/min along a dim (values, indices)."""
    argnames = [a.name for a in od.args]

    def kernel(*values):
        kw = dict(zip(argnames, values, strict=False))
        a = kw["self"]
        dim = kw.get("dim")
        keepdim = bool(kw.get("keepdim", False))
        if dim is None:  # over the flattened tensor
            v, i = argreduce(name, a, tuple(range(a.ndim)), False)
            if keepdim:
                shape = (1,) * a.ndim
                v, i = v.view(shape, (0,) * a.ndim), i.view(shape, (0,) * a.ndim)
        else:
            v, i = argreduce(name, a, dims_of(dim, a.ndim), keepdim)
        return (v, i) if with_values else i
    kernel.__name__ = f"rocm_{od.name}"
    return kernel
