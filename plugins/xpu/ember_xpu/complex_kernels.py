"""complex64/complex128 on xpu: the parts as views, the DFTs through ``dpnp.fft``.

dpnp has both complex dtypes (complex128 needs the device's fp64 aspect, which the
OpenCL CPU device has) and its elementwise kernels, reductions and ``matmul`` take
them, so most ops need nothing here.  What does:

* ``view_as_real``/``view_as_complex`` are real views: a ``usm_ndarray`` over the same
  USM memory with the other dtype and rescaled strides (the kit's versions copy, and
  its ``view_as_complex`` goes through the host).  ``view_as_complex`` copies first
  when the parts are not adjacent in memory, as the cpu backend does.
* ``_fft_c2c``/``_fft_r2c``/``_fft_c2r`` run ``dpnp.fft`` (oneMKL's DFTI on the device);
  ``dpnp.tensor`` has no ``fft`` extension for the kit to find.
* ``abs`` of a complex tensor has a real result, so the allocator's output of the fast
  unary path must take the real dtype.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["implementations", "view_kernels", "fix_fast_paths"]

_COMPLEX = frozenset({np.dtype(np.complex64), np.dtype(np.complex128)})
_TO_REAL = {np.dtype(np.complex64): np.dtype(np.float32),
            np.dtype(np.complex128): np.dtype(np.float64)}
_TO_COMPLEX = {v: k for k, v in _TO_REAL.items()}


def view_kernels(dpt, allocator_of) -> dict[str, Callable]:
    """``view_as_real`` and ``view_as_complex`` as views of their input's memory."""

    def view_as_real(a):
        # each complex element is two adjacent reals: double every stride and offset
        return dpt.usm_ndarray(tuple(a.shape) + (2,), dtype=_TO_REAL[a.dtype],
                               strides=tuple(2 * s for s in a.strides) + (1,),
                               buffer=a.usm_data, offset=2 * a._element_offset)

    def view_as_complex(a):
        if not _pairs_adjacent(a):
            b = allocator_of(a).empty(a.shape, a.dtype)
            b[...] = a
            a = b
        # (a dim of size 1 may have an odd stride that no complex element needs)
        strides = tuple(s // 2 if n > 1 else 1 for s, n in zip(a.strides[:-1], a.shape[:-1],
                                                                strict=True))
        return dpt.usm_ndarray(tuple(a.shape[:-1]), dtype=_TO_COMPLEX[a.dtype],
                               strides=strides, buffer=a.usm_data,
                               offset=a._element_offset // 2)

    return {"view_as_real": view_as_real, "view_as_complex": view_as_complex}


def _pairs_adjacent(a) -> bool:
    """Whether every (re, im) pair of ``a`` (last dim 2) lies at an even element offset
    with its parts side by side, i.e. ``a`` can be read as complex without a copy."""
    if a.strides[-1] != 1 or a._element_offset % 2:
        return False
    return all(s % 2 == 0 for s, n in zip(a.strides[:-1], a.shape[:-1], strict=True)
               if n > 1)


def implementations(dpnp, lin) -> dict[str, Callable]:
    """The kit's ``impl(ns, *args)`` entries for the DFT primitives over ``dpnp.fft``.

    ``lin`` wraps a dpnp function so it waits for the queue's earlier tasks first (the
    oneMKL GIL deadlock described in ``kernels._extra_implementations``) and unwraps
    its result."""
    fft = dpnp.fft

    def dense(a):
        # dpnp.fft reads a broadcast (stride 0) input wrongly (other values) or refuses
        # it ("not sufficiently ample"): oneMKL's descriptors get a C-ordered copy of
        # any input that is not C-contiguous (the size of the result anyway).
        if a.flags.c_contiguous:
            return a
        return dpnp.asarray(a).copy(order="C").get_array()

    def empty(ns, a, shape, dtype):
        # an empty batch transforms to an empty result (oneMKL refuses a zero length)
        return ns.xp.zeros(tuple(shape), dtype=dtype, device=a.device)

    def c2c(ns, a, dim, norm, forward):
        if math.prod(a.shape) == 0:
            return empty(ns, a, a.shape, a.dtype)
        f = fft.fftn if forward else fft.ifftn
        a = dense(a)
        return lin(lambda x: f(x, axes=tuple(dim), norm=norm))(ns, a)

    def r2c(ns, a, dim, norm, onesided):
        cdt = _TO_COMPLEX[np.dtype(a.dtype)]
        if math.prod(a.shape) == 0:
            shape = list(a.shape)
            if onesided:
                shape[dim[-1]] = shape[dim[-1]] // 2 + 1
            return empty(ns, a, shape, cdt)
        a = dense(a)
        if onesided:
            return lin(lambda x: fft.rfftn(x, axes=tuple(dim), norm=norm))(ns, a)
        # the two-sided transform of real input is the complex one of it
        return lin(lambda x: fft.fftn(x.astype(cdt), axes=tuple(dim), norm=norm))(ns, a)

    def c2r(ns, a, dim, norm, last_dim_size):
        if math.prod(a.shape) == 0:
            shape = list(a.shape)
            shape[dim[-1]] = last_dim_size
            return empty(ns, a, shape, _TO_REAL[np.dtype(a.dtype)])
        s = [a.shape[d] for d in dim]
        s[-1] = last_dim_size
        a = dense(a)
        return lin(lambda x: fft.irfftn(x, s=tuple(s), axes=tuple(dim), norm=norm))(ns, a)

    return {"_fft_c2c": c2c, "_fft_r2c": r2c, "_fft_c2r": c2r}


def fix_fast_paths(kernels: dict, dpt, allocator_of) -> None:
    """Complex cases of the fast pointwise kernels whose result dtype differs from
    their operand's (``abs``: a real result)."""
    fast_abs = kernels.get("abs")
    if fast_abs is None:
        return

    def abs_(a):
        if a.dtype in _COMPLEX:
            out = allocator_of(a).empty(a.shape, _TO_REAL[a.dtype])
            dpt.abs(a, out=out)
            return out
        return fast_abs(a)
    kernels["abs"] = abs_
