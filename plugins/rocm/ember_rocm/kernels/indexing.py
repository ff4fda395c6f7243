"""Slicing views, concatenation and scans (cumsum/cumprod)."""

from __future__ import annotations

import math

import numpy as np

from ..array import CLArray, contiguous_strides
from .compiler import ctype, get_kernel, launch_size, template
from .elementwise import collapse, new_like
from .pointwise import copy_

__all__ = ["basic_index", "unfold", "cat", "scan", "scan_source"]

_LONG = np.dtype(np.int64)


def basic_index(a: CLArray, index: tuple) -> CLArray:
    """``a[index]`` for ints, slices (positive steps), ``None`` and ``Ellipsis``."""
    used = sum(1 for it in index if it is not None and it is not Ellipsis)
    shape, strides = [], []
    offset = a.offset
    d = 0
    for it in index:
        if it is None:
            shape.append(1)
            strides.append(0)
        elif it is Ellipsis:
            k = a.ndim - used
            shape += a.shape[d:d + k]
            strides += a.strides[d:d + k]
            d += k
        elif isinstance(it, slice):
            start, stop, step = it.indices(a.shape[d])
            n = len(range(start, stop, step))
            shape.append(n)
            strides.append(a.strides[d] * step)
            if n:
                offset += start * a.strides[d]
            d += 1
        else:
            offset += (it % a.shape[d]) * a.strides[d]
            d += 1
    shape += a.shape[d:]
    strides += a.strides[d:]
    return a.view(tuple(shape), tuple(strides), offset)


def unfold(a: CLArray, dimension: int, size: int, step: int) -> CLArray:
    """Windows of ``size`` every ``step`` along ``dimension``, as a new last dim."""
    if a.ndim == 0:
        return a.view((size,), (0,))
    d = dimension % a.ndim
    shape, strides = list(a.shape), list(a.strides)
    shape[d] = (a.shape[d] - size) // step + 1
    strides[d] = a.strides[d] * step
    return a.view(tuple(shape) + (size,), tuple(strides) + (a.strides[d],))


def cat(tensors: list, dim: int = 0) -> CLArray:
    """Concatenate along ``dim`` (each input copied into its slice of the output)."""
    ref = next((t for t in tensors if t.ndim), tensors[0])
    d = dim % ref.ndim
    dt = np.result_type(*[t.dtype for t in tensors])
    parts = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0 and ref.ndim > 1)]
    shape = list(ref.shape)
    shape[d] = sum(t.shape[d] for t in parts)
    out = new_like(ref.dev, tuple(shape), dt)
    start = 0
    for t in parts:
        n = t.shape[d]
        if n:
            dst = basic_index(out, (slice(None),) * d + (slice(start, start + n),))
            copy_(dst, t)
        start += n
    return out


def scan_source(op: str, a_dtype: np.dtype, out_dtype: np.dtype, nd: int) -> str:
    """The OpenCL C of an inclusive scan (``op`` ``"+"`` or ``"*"``) of ``a_dtype`` into
    ``out_dtype`` whose lines run over ``nd`` merged outer dims."""
    idx = "\n".join(f"        {{ const long i = r % sz{k}; r /= sz{k}; base += i * ist{k}; "
                    f"obase += i * ost{k}; }}" for k in range(nd - 1, -1, -1))
    return template("scan.cl").substitute(
        A=ctype(a_dtype, "cumsum"), R=ctype(out_dtype, "cumsum"), OP=op,
        INIT="0" if op == "+" else "1", OUTER_INDEX=idx,
        OUTER_PARAMS="".join(f", const long sz{k}, const long ist{k}, const long ost{k}"
                             for k in range(nd)))


def scan(op: str, a: CLArray, dim: int, dtype) -> CLArray:
    """Inclusive ``cumsum`` (``op="+"``) or ``cumprod`` (``op="*"``) along ``dim``."""
    out_dtype = np.dtype(dtype)
    out = new_like(a.dev, a.shape, out_dtype)
    if out.size == 0:
        return out
    if a.ndim == 0:
        a = a.view((1,), (0,))
    d = dim % a.ndim
    n = a.shape[d]
    ost_all = contiguous_strides(a.shape)
    outer = [i for i in range(a.ndim) if i != d]
    oshape, (ist, ost) = collapse(tuple(a.shape[i] for i in outer),
                                  [tuple(a.strides[i] for i in outer),
                                   tuple(ost_all[i] for i in outer)])
    lines = math.prod(oshape)
    nd = len(oshape)
    ctype(a.dtype, "cumsum"), ctype(out_dtype, "cumsum")  # (clear errors first)
    key = ("scan", op, a.dtype, out_dtype, nd)
    source = lambda: scan_source(op, a.dtype, out_dtype, nd)
    k = get_kernel(a.dev, key, source, "scan",
                   [_LONG, _LONG, None, _LONG, None, _LONG, _LONG] + [_LONG] * (3 * nd))
    args = [lines, n, out.buffer, ost_all[d], a.buffer, a.offset, a.strides[d]]
    for s, i, o in zip(oshape, ist, ost, strict=False):
        args += [s, i, o]
    k(a.dev.queue, launch_size(lines), None, *args)
    return out
