"""bfloat16 on xpu: dpnp has no bfloat16, so its tensors are 16-bit integer storage.

A :class:`BF16Array` is an int16 ``usm_ndarray`` (a real strided view, so tensor views
work) that reports ``ml_dtypes.bfloat16``; ``ember.emulated`` computes every op on it in
float32 and rounds once.  The conversions run on the device with dpnp's kernels: a
bfloat16 is float32's top half (widen: a shift; narrow: round to nearest-even, NaN
kept quiet, as PyTorch), and a ``usm_ndarray`` over the same USM memory reinterprets
the bits.  float16 is native where the device has ``aspect::fp16`` (the OpenCL CPU
runtime has it).
"""

from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.emulated import Emulation

__all__ = ["BF16Array", "BF16Storage"]


class BF16Array:
    """A bfloat16 array of the xpu backend: ``bits`` (an int16 ``usm_ndarray``) with the
    dtype ``ml_dtypes.bfloat16``; every other attribute is the bits' (shape, strides,
    flags, sycl_queue ...)."""

    __slots__ = ("bits", "__weakref__")

    def __init__(self, bits) -> None:
        self.bits = bits

    @property
    def dtype(self) -> np.dtype:
        return _dt.bfloat16.np

    @property
    def shape(self) -> tuple:
        return self.bits.shape

    def __getattr__(self, name: str):
        return getattr(self.bits, name)

    def __repr__(self) -> str:
        return f"BF16Array(shape={self.shape})"


def _view(dpt, arr, dtype: str):
    """``arr``'s memory (same itemsize) as another dtype: no copy."""
    return dpt.usm_ndarray(arr.shape, dtype=dtype, buffer=arr.usm_data,
                           strides=arr.strides, offset=arr._element_offset)


class BF16Storage(Emulation):
    """The xpu backend's :class:`ember.emulated.Emulation` of bfloat16."""

    def __init__(self, backend) -> None:
        super().__init__({_dt.bfloat16}, [BF16Array])
        self.backend = backend
        self.dpt = backend.dpt

    def _adopt(self, arr):
        """``arr`` accounted by the allocator of its queue's device."""
        for i, q in self.backend._queues.items():
            if q == arr.sycl_queue:
                return self.backend.allocator(i).adopt(arr)
        return arr

    def bits(self, native: BF16Array):
        return native.bits

    def relabel(self, bits, d) -> BF16Array:
        return BF16Array(bits)

    def widen(self, native: BF16Array):
        dpt = self.dpt
        u = dpt.astype(dpt.astype(native.bits, "u2"), "u4")  # (int16 -> uint16 wraps)
        u = dpt.bitwise_left_shift(u, 16)
        return _view(dpt, u, "f4")

    def narrow(self, native, d) -> BF16Array:
        dpt = self.dpt
        f = native if native.flags.c_contiguous else dpt.copy(native, order="C")
        u = _view(dpt, f, "u4")
        nan = dpt.greater(dpt.bitwise_and(u, 0x7FFFFFFF), 0x7F800000)
        high = dpt.bitwise_right_shift(u, 16)
        rounded = dpt.bitwise_right_shift(
            dpt.add(u, dpt.add(dpt.bitwise_and(high, 1), 0x7FFF)), 16)
        out = dpt.where(nan, dpt.bitwise_or(high, 0x40), rounded)
        return BF16Array(self._adopt(_view(dpt, dpt.astype(out, "u2"), "i2")))

    # -- host copies -----------------------------------------------------------------------
    def from_host(self, array: np.ndarray, index: int) -> BF16Array:
        out = self.backend.allocator(index).empty(array.shape, np.int16)
        if array.size:
            out.usm_data.copy_from_host(
                np.asarray(array, order="C").reshape(-1).view(np.uint8))
        return BF16Array(out)

    def to_host(self, native: BF16Array) -> np.ndarray:
        return np.asarray(self.dpt.asnumpy(native.bits)).view(_dt.bfloat16.np)
