"""matmul with NumPy/PyTorch semantics (1-d operands, broadcast batches) over the
register-blocked kernel of ``matmul.cl``."""

from __future__ import annotations

import numpy as np

from ..array import CLArray
from .compiler import ctype, get_kernel, template
from .elementwise import collapse, new_like
from .pointwise import clone, fill
from .views import expand

__all__ = ["matmul", "gemm", "matmul_source"]

_LONG = np.dtype(np.int64)
_BLOCK = 4  # outputs per work item along each axis (RB, CB in matmul.cl)
_GROUP = 8


def _batch_stride(a: CLArray, batch: tuple, nb: int):
    """``a`` expanded to ``batch`` and its single batch stride, copying only when the
    batch dims cannot be merged into one."""
    a = expand(a, batch + a.shape[-2:])
    shape, (st,) = collapse(batch, [a.strides[:nb]])
    if len(shape) > 1:
        a = clone(a)
        shape, (st,) = collapse(batch, [a.strides[:nb]])
    return a, (st[0] if st else 0)


def matmul(a: CLArray, b: CLArray) -> CLArray:
    squeeze_a = a.ndim == 1
    squeeze_b = b.ndim == 1
    if squeeze_a:
        a = a.view((1, a.shape[0]), (0, a.strides[0]))
    if squeeze_b:
        b = b.view((b.shape[0], 1), (b.strides[0], 0))
    batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2])) \
        if a.ndim > 2 or b.ndim > 2 else ()
    M, K = a.shape[-2:]
    N = b.shape[-1]
    nb = len(batch)
    nbatch = int(np.prod(batch)) if batch else 1
    dt = np.result_type(a.dtype, b.dtype)
    out = new_like(a.dev, batch + (M, N), dt)
    if out.size:
        if K == 0:
            fill(out, 0)
        else:
            if nb:
                a, asb = _batch_stride(a, batch, nb)
                b, bsb = _batch_stride(b, batch, nb)
            else:  # two matrices
                asb = bsb = 0
            gemm(out, a, asb, b, bsb, nbatch)
    shape = batch + ((M,) if not squeeze_a else ()) + ((N,) if not squeeze_b else ())
    return out.view(shape, _contig(shape))


def gemm(out: CLArray, a: CLArray, asb: int, b: CLArray, bsb: int, nbatch: int = 1,
         bias: tuple | None = None, rowsum: CLArray | None = None) -> CLArray:
    """One launch of ``matmul.cl``: ``out`` (contiguous (nbatch, M, N)) = ``a @ b``
    batch by batch (batch strides ``asb``, ``bsb``; the last two dims of ``a`` and
    ``b`` give the matrices, read through their strides).

    ``bias`` = ``(E, esb, esm, esn)`` adds ``E`` read through those strides (batch,
    row, column: 0 where it is broadcast); ``rowsum`` (contiguous, nbatch x M) also
    receives each row's sum of ``a``.  Both are epilogues of the same pass, so
    ``linear`` and its backward cost one launch each instead of two."""
    M, K = a.shape[-2:]
    N = b.shape[-1]
    dt = out.dtype
    ctype(dt, "matmul")  # (a clear error first)
    hb, hr = int(bias is not None), int(rowsum is not None)
    dtypes = [_LONG, _LONG, _LONG, None, None, _LONG, _LONG, _LONG, _LONG,
              None, _LONG, _LONG, _LONG, _LONG]
    dtypes += [None, _LONG, _LONG, _LONG, _LONG] * hb + [None, _LONG] * hr
    k = get_kernel(a.dev, ("matmul", dt, hb, hr), lambda: matmul_source(dt), _NAMES[hb, hr],
                   dtypes)
    args = [M, N, K, out.buffer, a.buffer, a.offset, asb, a.strides[-2], a.strides[-1],
            b.buffer, b.offset, bsb, b.strides[-2], b.strides[-1]]
    if bias is not None:
        e, esb, esm, esn = bias
        args += [e.buffer, e.offset, esb, esm, esn]
    if rowsum is not None:
        args += [rowsum.buffer, rowsum.offset]
    gsize = (_cover(N), _cover(M), nbatch)
    k(a.dev.queue, gsize, (_GROUP, _GROUP, 1), *args)
    return out


#: the kernel of each (bias, rowsum) epilogue; all in one program (``matmul_source``)
_NAMES = {(0, 0): "matmul", (1, 0): "matmul_bias", (0, 1): "matmul_rowsum"}


def matmul_source(dtype: np.dtype) -> str:
    """The OpenCL C of the three matmul kernels (``_NAMES``) in ``dtype``."""
    T = ctype(dtype, "matmul")
    return "\n".join(template("matmul.cl").substitute(T=T, NAME=name, HAS_BIAS=hb,
                                                       HAS_ROWSUM=hr)
                     for (hb, hr), name in _NAMES.items())


def _cover(n: int) -> int:
    """Work items along one axis: one per block of outputs, rounded to the group."""
    blocks = (n + _BLOCK - 1) // _BLOCK
    return (blocks + _GROUP - 1) // _GROUP * _GROUP


def _contig(shape):
    from ..array import contiguous_strides
    return contiguous_strides(shape)
