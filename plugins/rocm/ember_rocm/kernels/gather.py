"""Data-dependent addressing: gather, scatter (assign, add, multiply), index_select,
index_add, advanced indexing and index_put_.

One kernel shape covers them all: walk an *index space* (the index tensor's shape, or
the shape of an advanced-indexing selection), compute a source or target offset from
plain strides plus ``index * stride`` terms read from index tensors, then load or
store.  Out-of-range indices set a flag the host reads after the launch, so the op
raises ``IndexError`` as on the CPU (this read waits for the device).  Additions to
the same element use atomic compare-and-swap loops, since OpenCL 1.2 has no float
atomics.
"""

from __future__ import annotations

import math

import numpy as np

from ..array import CLArray, contiguous_strides
from .compiler import ctype, get_kernel, launch_size
from .elementwise import broadcast_strides, new_like
from .pointwise import astype, clone, fill

__all__ = ["addr_source", "gather", "scatter", "index_select", "index_add", "index", "index_put_",
           "masked_fill"]

_LONG = np.dtype(np.int64)
_INT = np.dtype(np.int32)

_ATOMICS = """
inline void atomic_add_float(volatile __global float* p, float v) {
    union { unsigned int u; float f; } old, upd;
    do { old.f = *p; upd.f = old.f + v; }
    while (atomic_cmpxchg((volatile __global unsigned int*)p, old.u, upd.u) != old.u);
}
inline void atomic_mul_float(volatile __global float* p, float v) {
    union { unsigned int u; float f; } old, upd;
    do { old.f = *p; upd.f = old.f * v; }
    while (atomic_cmpxchg((volatile __global unsigned int*)p, old.u, upd.u) != old.u);
}
inline void atomic_mul_int(volatile __global int* p, int v) {
    int old;
    do { old = *p; } while (atomic_cmpxchg(p, old, old * v) != old);
}
"""
_ATOMICS64 = """
#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable
inline void atomic_add_double(volatile __global double* p, double v) {
    union { ulong u; double f; } old, upd;
    do { old.f = *p; upd.f = old.f + v; }
    while (atom_cmpxchg((volatile __global ulong*)p, old.u, upd.u) != old.u);
}
inline void atomic_mul_double(volatile __global double* p, double v) {
    union { ulong u; double f; } old, upd;
    do { old.f = *p; upd.f = old.f * v; }
    while (atom_cmpxchg((volatile __global ulong*)p, old.u, upd.u) != old.u);
}
inline void atomic_add_long(volatile __global long* p, long v) { atom_add(p, v); }
inline void atomic_mul_long(volatile __global long* p, long v) {
    long old;
    do { old = *p; } while (atom_cmpxchg(p, old, old * v) != old);
}
"""
_ATOMIC_TYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
                 np.dtype(np.int32): "int", np.dtype(np.int64): "long"}


def _store(mode: str, T: str, target: str, value: str, op: str) -> str:
    if mode == "set":
        return f"{target} = {value};"
    fn = {"add": "add", "multiply": "mul"}[mode]
    if T == "int" and fn == "add":
        return f"atomic_add(&{target}, {value});"
    return f"atomic_{fn}_{T}(&{target}, {value});"


def addr_source(name: str, mode: str, data_dtype: np.dtype, vals_dtype: np.dtype,
                index_dtypes: list, nd: int, wrap_negative: bool) -> str:
    """The OpenCL C of ``_launch``'s addressing kernel for op ``name`` (in errors):
    ``mode`` ``"load"`` or a store (``"set"``, ``"add"``, ``"multiply"``) into data of
    ``data_dtype`` from values of ``vals_dtype``, one index operand of each of
    ``index_dtypes``, over an ``nd``-dim index space."""
    T = ctype(data_dtype, name)
    m = len(index_dtypes)
    lines = ["    long r = gid;"]
    for d in range(nd - 1, 0, -1):
        lines.append(f"    const long i{d} = r % sz{d}; r /= sz{d};")
    lines.append("    const long i0 = r;" if nd else "")
    lines.append("    long p = doff" + "".join(f" + i{d} * dst{d}" for d in range(nd)) + ";")
    for j in range(m):
        pos = "".join(f" + i{d} * xst{j}_{d}" for d in range(nd))
        lines.append(f"    long k{j} = (long)x{j}[xoff{j}{pos}];")
        if wrap_negative:
            lines.append(f"    if (k{j} < 0) k{j} += lim{j};")
        lines.append(f"    if (k{j} < 0 || k{j} >= lim{j}) {{ bad[0] = 1; return; }}")
        lines.append(f"    p += k{j} * kst{j};")
    vpos = "vofs" + "".join(f" + i{d} * vst{d}" for d in range(nd))
    if mode == "load":
        lines.append(f"    vals[{vpos}] = data[p];")
    else:
        lines.append("    " + _store(mode, T, "data[p]", f"vals[{vpos}]", name))
    params = [f"const long n, __global {T}* data, const long doff"]
    params += [f"const long dst{d}" for d in range(nd)]
    VT = ctype(vals_dtype, name)
    params += [f"__global {VT}* vals, const long vofs"]
    params += [f"const long vst{d}" for d in range(nd)]
    for j, ix_dtype in enumerate(index_dtypes):
        params.append(f"__global const {ctype(ix_dtype, name)}* x{j}, const long xoff{j}")
        params += [f"const long xst{j}_{d}" for d in range(nd)]
        params.append(f"const long lim{j}, const long kst{j}")
    params.append("__global int* bad")
    params += [f"const long sz{d}" for d in range(nd)]
    head = _ATOMICS if mode != "load" else ""
    if mode != "load" and T in ("double", "long"):
        head = _ATOMICS64 + head
    return (head + f"\n__kernel void addr({', '.join(params)})\n{{\n"
            "    const long gid = get_global_id(0);\n    if (gid >= n) return;\n"
            + "\n".join(lines) + "\n}\n")


def _launch(name: str, dev, space: tuple, data: CLArray, data_role: str, others: list,
            indices: list, size_checks: list, mode: str = "load", out: CLArray | None = None,
            wrap_negative: bool = False):
    """Run one addressing kernel.

    ``space`` is the index space walked.  ``data`` is addressed through ``others``
    (``[(stride over the space)]``) plus, for each entry of ``indices``
    (``(index CLArray, its strides over the space, data stride)``), ``index * stride``.
    ``mode`` is ``"load"`` (``out[linear] = data[...]``) or a store into ``data``
    (``"set"``, ``"add"``, ``"multiply"``) of ``out`` (the values, strides over the
    space given in ``others[-1]``).
    """
    n = math.prod(space)
    if n == 0:
        return
    nd = len(space)
    m = len(indices)
    ctype(data.dtype, name)  # (a clear error first)
    if mode in ("add", "multiply") and data.dtype not in _ATOMIC_TYPES:
        raise TypeError(f"{name}(): accumulating into {data.dtype} is not supported on rocm "
                        f"(supported: float32, float64, int32, int64)")
    vals = out
    key = ("addr", name, mode, data.dtype, vals.dtype if vals is not None else None,
           tuple(ix.dtype for ix, _, _ in indices), nd, m, wrap_negative)

    ctype(vals.dtype, name)
    source = lambda: addr_source(name, mode, data.dtype, vals.dtype,
                                 [ix.dtype for ix, _, _ in indices], nd, wrap_negative)

    dtypes = [_LONG, None, _LONG] + [_LONG] * nd + [None, _LONG] + [_LONG] * nd
    for _ in indices:
        dtypes += [None, _LONG] + [_LONG] * nd + [_LONG, _LONG]
    dtypes += [None] + [_LONG] * nd
    k = get_kernel(dev, key, source, "addr", dtypes)
    bad = fill(new_like(dev, (1,), _INT), 0)
    (dstr,) = others[:1]
    vstr = others[1]
    args = [n, data.buffer, data.offset, *dstr, vals.buffer, vals.offset, *vstr]
    for (ix, xst, kst), lim in zip(indices, size_checks, strict=True):
        args += [ix.buffer, ix.offset, *xst, lim, kst]
    args += [bad.buffer, *space]
    k(dev.queue, launch_size(n), None, *args)
    flag = np.zeros(1, np.int32)
    import pyopencl as cl
    cl.enqueue_copy(dev.queue, flag, bad.buffer, is_blocking=True)
    if flag[0]:
        raise IndexError(f"{name}(): index out of bounds (expected indices in "
                         f"[{'-size' if wrap_negative else 0}, size) for "
                         f"{'the indexed dimensions' if len(size_checks) > 1 else 'dimension'}"
                         f" of size {', '.join(map(str, size_checks))})")


def _along(data: CLArray, space: tuple, dim: int) -> tuple:
    """``data``'s strides walked over ``space`` with ``dim`` replaced by an index."""
    st = list(data.strides) if data.ndim else [0]
    st[dim] = 0
    return tuple(st[: len(space)])


def gather(a: CLArray, dim: int, index: CLArray, sparse_grad: bool = False) -> CLArray:
    if a.ndim == 0:
        a = a.view((1,), (0,))
    squeeze = index.ndim == 0
    if squeeze:
        index = index.view((1,), (0,))
    dim %= a.ndim
    out = new_like(a.dev, index.shape, a.dtype)
    _launch("gather", a.dev, index.shape, a, "src",
            [_along(a, index.shape, dim), contiguous_strides(index.shape)],
            [(index, index.strides, a.strides[dim])], [a.shape[dim]], "load", out)
    return out.view((), ()) if squeeze else out


def _scatter_into(out: CLArray, dim: int, index: CLArray, src, mode: str, name: str):
    if out.ndim == 0:
        out = out.view((1,), (0,))
    if index.ndim == 0:
        index = index.view((1,), (0,))
    if not isinstance(src, CLArray):  # scatter(..., value): a scalar source
        src = fill(new_like(out.dev, (1,), out.dtype), src).view(index.shape,
                                                                 (0,) * index.ndim)
    elif src.ndim == 0:
        src = src.view((1,), (0,))
    if src.dtype != out.dtype:
        src = astype(src, _ember(out.dtype))
    dim %= out.ndim
    space = index.shape
    _launch(name, out.dev, space, out, "dst",
            [_along(out, space, dim), src.strides[: len(space)]],
            [(index, index.strides, out.strides[dim])], [out.shape[dim]], mode, src)


def _ember(np_dtype):
    from ember.dtypes import FROM_NP
    return FROM_NP[np_dtype]


_REDUCE = {None: "set", "add": "add", "multiply": "multiply"}


def _needs_host(target: CLArray, mode: str) -> bool:
    """Accumulation into a dtype without device atomics (int8, int16, uint8, bool)."""
    return mode != "set" and target.dtype not in _ATOMIC_TYPES


def _on_host(name: str, target: CLArray, *args) -> None:
    """Run the CPU backend's in-place kernel ``name`` on a host copy of ``target`` and
    write the result back (one round trip; only for dtypes without atomics)."""
    from ember.device import get_backend

    from .host import download, upload
    from .pointwise import copy_

    def host(x):
        if isinstance(x, CLArray):
            return download(x)
        if isinstance(x, (list, tuple)):
            return type(x)(host(v) for v in x)
        return x
    h = download(target)
    get_backend("cpu").kernels[name](h, *[host(x) for x in args])
    copy_(target, upload(target.dev, h))


def scatter_(a, dim, index, src, reduce=None):
    if _needs_host(a, _REDUCE[reduce]):
        _on_host("scatter_", a, dim, index, src, reduce)
    else:
        _scatter_into(a, dim, index, src, _REDUCE[reduce], "scatter_")


def scatter(a, dim, index, src, reduce=None):
    out = clone(a)
    scatter_(out, dim, index, src, reduce)
    return out


def scatter_add_(a, dim, index, src):
    if _needs_host(a, "add"):
        _on_host("scatter_add_", a, dim, index, src)
    else:
        _scatter_into(a, dim, index, src, "add", "scatter_add_")


def scatter_add(a, dim, index, src):
    out = clone(a)
    scatter_add_(out, dim, index, src)
    return out


def _select_index(index: CLArray, shape: tuple, dim: int) -> CLArray:
    """A 1-d index viewed over ``shape``, varying along ``dim`` only."""
    st = [0] * len(shape)
    st[dim] = index.strides[0] if index.ndim else 0
    return index.view(shape, tuple(st))


def index_select(a: CLArray, dim: int, index: CLArray) -> CLArray:
    if a.ndim == 0:
        return gather(a, 0, index.view((1,), (0,)) if index.ndim == 0 else index).view((), ())
    dim %= a.ndim
    shape = list(a.shape)
    shape[dim] = index.shape[0] if index.ndim else 1
    return gather(a, dim, _select_index(index, tuple(shape), dim))


def index_add_(a: CLArray, dim: int, index: CLArray, source: CLArray, alpha=1) -> None:
    if _needs_host(a, "add"):
        _on_host("index_add_", a, dim, index, source, alpha)
        return
    if alpha != 1:
        from .elementwise import elementwise
        scaled = new_like(source.dev, source.shape, a.dtype)
        source = elementwise("index_add", "v_s * v_alpha", scaled, [("v_s", source)],
                             [("v_alpha", a.dtype.type(alpha), a.dtype)], a.dtype)
    if a.ndim == 0:
        _scatter_into(a, 0, index.view((1,), (0,)) if index.ndim == 0 else index,
                      source.view((1,), (0,)) if source.ndim == 0 else source, "add",
                      "index_add_")
        return
    dim %= a.ndim
    _scatter_into(a, dim, _select_index(index, source.shape, dim), source, "add",
                  "index_add_")


def index_add(a, dim, index, source, alpha=1):
    out = clone(a)
    index_add_(out, dim, index, source, alpha)
    return out


def masked_fill(a: CLArray, mask: CLArray, value) -> CLArray:
    from .elementwise import elementwise
    shape = np.broadcast_shapes(a.shape, mask.shape)
    out = new_like(a.dev, shape, a.dtype)
    return _masked(out, a, mask, value, elementwise)


def masked_fill_(a: CLArray, mask: CLArray, value) -> None:
    from .elementwise import elementwise
    _masked(a, a, mask, value, elementwise)


def _masked(out, a, mask, value, elementwise):
    if isinstance(value, CLArray):  # a 0-d tensor value
        return elementwise("masked_fill", "v_m != 0 ? v_v : v_a", out,
                           [("v_a", a), ("v_m", mask), ("v_v", value)], [], out.dtype)
    return elementwise("masked_fill", "v_m != 0 ? v_v : v_a", out, [("v_a", a), ("v_m", mask)],
                       [("v_v", out.dtype.type(value), out.dtype)], out.dtype)


# -- advanced indexing ---------------------------------------------------------------------

def _advanced(a: CLArray, indices):
    """(index space, data strides over it, [(index, strides, data stride)], limits,
    result shape) of ``a[indices]`` with ``None`` entries meaning ``:``."""
    from .host import nonzero
    idx = list(indices) + [None] * (a.ndim - len(indices))
    expanded = []  # (dim, index array)
    d = 0
    for it in idx:
        if it is None:
            d += 1
            continue
        if it.dtype == np.bool_:  # a mask over it.ndim dims: its nonzero coordinates
            nz = nonzero(it)
            for j in range(it.ndim):
                expanded.append((d + j, nz.view((nz.shape[0],), (nz.strides[0],),
                                                nz.offset + j * nz.strides[1])))
            d += it.ndim
        else:
            expanded.append((d, it))
            d += 1
    dims = [dd for dd, _ in expanded]
    bshape = tuple(np.broadcast_shapes(*[x.shape for _, x in expanded]))
    rest = [i for i in range(a.ndim) if i not in dims]
    consecutive = dims == list(range(dims[0], dims[0] + len(dims)))
    if consecutive:
        before = [i for i in rest if i < dims[0]]
        after = [i for i in rest if i > dims[-1]]
        space = tuple(a.shape[i] for i in before) + bshape + tuple(a.shape[i] for i in after)
        dstr = tuple(a.strides[i] for i in before) + (0,) * len(bshape) + tuple(
            a.strides[i] for i in after)
        lead = len(before)
    else:
        space = bshape + tuple(a.shape[i] for i in rest)
        dstr = (0,) * len(bshape) + tuple(a.strides[i] for i in rest)
        lead = 0
    trail = len(space) - lead - len(bshape)
    entries = []
    for dd, x in expanded:
        xs = broadcast_strides(x, bshape)
        entries.append((x, (0,) * lead + xs + (0,) * trail, a.strides[dd]))
    return space, dstr, entries, [a.shape[dd] for dd in dims]


def index(a: CLArray, indices) -> CLArray:
    """``a[indices]``: a tuple of index tensors (long or bool) and ``None`` (``:``)."""
    if all(i is None for i in indices):
        return clone(a)
    space, dstr, entries, lims = _advanced(a, indices)
    out = new_like(a.dev, space, a.dtype)
    _launch("index", a.dev, space, a, "src", [dstr, contiguous_strides(space)], entries, lims,
            "load", out, wrap_negative=True)
    return out


def index_put_(a: CLArray, indices, values: CLArray, accumulate: bool = False) -> None:
    if all(i is None for i in indices):
        from .pointwise import copy_
        copy_(a, values)
        return
    if _needs_host(a, "add" if accumulate else "set"):
        _on_host("index_put_", a, indices, values, accumulate)
        return
    space, dstr, entries, lims = _advanced(a, indices)
    if values.dtype != a.dtype:
        values = astype(values, _ember(a.dtype))
    vst = broadcast_strides(values, space)
    _launch("index_put_", a.dev, space, a, "dst", [dstr, vst], entries, lims,
            "add" if accumulate else "set", values, wrap_negative=True)
