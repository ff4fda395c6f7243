"""float16 and bfloat16 on OpenCL devices without ``cl_khr_fp16`` (PoCL, in CI).

A ``CLArray`` of these dtypes holds 16 bits per element; ``ember.emulated`` runs every
kernel on them as the upcast decomposition (float32 arithmetic, one rounding per op).
This module gives it the four conversions: int16 views of the storage (no copy) and
two conversion kernels per dtype.  float16 goes through OpenCL's ``vload_half`` /
``vstore_half_rte``, which every OpenCL device has (they need no ``cl_khr_fp16``:
only arithmetic in ``half`` does); bfloat16 is float32's top half, so its kernels are
a shift and a round-to-nearest-even that keeps NaN (as PyTorch's).
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.emulated import Emulation

from .array import CLArray

__all__ = ["HalfStorage", "SOURCE"]

SOURCE = r"""
__kernel void bf16_to_f32(__global const ushort *x, __global float *y) {
    size_t i = get_global_id(0);
    y[i] = as_float(((uint)x[i]) << 16);
}
__kernel void f32_to_bf16(__global const float *x, __global ushort *y) {
    size_t i = get_global_id(0);
    uint u = as_uint(x[i]);
    if ((u & 0x7fffffffu) > 0x7f800000u)          /* NaN: keep it, quiet */
        y[i] = (ushort)((u >> 16) | 0x0040u);
    else                                           /* nearest, ties to even */
        y[i] = (ushort)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__kernel void f16_to_f32(__global const half *x, __global float *y) {
    size_t i = get_global_id(0);
    y[i] = vload_half(i, x);
}
__kernel void f32_to_f16(__global const float *x, __global half *y) {
    size_t i = get_global_id(0);
    vstore_half_rte(x[i], i, y);
}
"""

_INT16 = np.dtype(np.int16)


class HalfStorage(Emulation):
    """The rocm backend's :class:`ember.emulated.Emulation` of float16 and bfloat16."""

    def __init__(self) -> None:
        super().__init__({_dt.float16, _dt.bfloat16}, [CLArray])

    def bits(self, native: CLArray) -> CLArray:
        return CLArray(native.storage, native.shape, _INT16, native.strides, native.offset)

    def relabel(self, bits: CLArray, d) -> CLArray:
        return CLArray(bits.storage, bits.shape, d.np, bits.strides, bits.offset)

    def widen(self, native: CLArray) -> CLArray:
        name = "f16_to_f32" if native.dtype == np.float16 else "bf16_to_f32"
        return self._convert(name, native, np.dtype(np.float32))

    def narrow(self, native: CLArray, d) -> CLArray:
        name = "f32_to_bf16" if d is _dt.bfloat16 else "f32_to_f16"
        return self._convert(name, native, d.np)

    def _convert(self, name: str, src: CLArray, out_dtype: np.dtype) -> CLArray:
        from .kernels.pointwise import clone
        st = src.dev
        if not src.is_contiguous or src.offset:
            # a fresh contiguous copy (of the 16 bits, or of the floats) at offset 0:
            # the conversion kernels index their buffers from element 0
            src = clone(self.bits(src) if src.dtype.itemsize == 2 else src)
        out = st.empty(src.shape, out_dtype)
        n = 1
        for s in src.shape:
            n *= s
        if n:
            _kernels(st)[name](st.queue, (n,), None, src.buffer, out.buffer)
        return out


def _kernels(st) -> dict:
    """The conversion kernels of device state ``st``, built on first use."""
    ks = getattr(st, "_half_storage_kernels", None)
    if ks is None:
        import pyopencl as cl
        prog = cl.Program(st.context, SOURCE).build()
        ks = st._half_storage_kernels = {k.function_name: k for k in prog.all_kernels()}
    return ks
