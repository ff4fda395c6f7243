"""float16 and bfloat16 for kit backends whose library has neither (array-api-strict).

The library stores them as ``uint16`` arrays inside ``KitArray`` natives that report
the ember dtype; ``ember.emulated`` computes every op on them in float32 and rounds
once.  The Array API standard has no bit reinterpretation, so the conversions run in
numpy on the host (DLPack, or the library's ``__array__``): right for libraries whose
arrays live in host memory, which is what this class is for.  A device library gives
its own :class:`ember.emulated.Emulation` with conversion kernels instead (rocm's).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..emulated import Emulation, bfloat16_bits, float32_from_bfloat16_bits
from .backend import KitArray

__all__ = ["HostHalfStorage"]

_INT16 = np.dtype(np.int16)
_HALF = (_dt.float16, _dt.bfloat16)


class HostHalfStorage(Emulation):
    """Host conversions of 16-bit float storage for an ``ArrayAPIBackend`` that wraps
    its arrays (``backend.wraps``) and whose namespace has ``uint16``.

    Call :meth:`enable` on the backend once its kernel table is complete."""

    def __init__(self, backend) -> None:
        super().__init__([d for d in _HALF if d not in backend.ns.dtypes], [KitArray])
        if not backend.wraps:
            raise TypeError("HostHalfStorage needs a backend that wraps its arrays "
                            "(KitArray carries the 16-bit float dtype)")
        self.backend = backend
        self.ns = backend.ns
        self.u16 = backend.ns.xp.uint16
        # the storage's library dtype reads as int16 (the bits' label, see ``bits``)
        backend.ns.np_dtypes.setdefault(self.u16, _INT16)

    def enable(self) -> None:
        """Wrap the backend's kernels and add the dtypes to ``supported_dtypes``."""
        from ..emulated import install
        install(self.backend, self)
        self.backend.supported_dtypes = self.backend.supported_dtypes | self.dtypes

    # -- the four conversions --------------------------------------------------------------
    def bits(self, native: KitArray) -> KitArray:
        return KitArray(native.x, _INT16, None, 0, native)

    def relabel(self, bits: KitArray, d) -> KitArray:
        bits.dtype = d.np  # (a fresh result of a kernel: nobody else holds it)
        return bits

    def widen(self, native: KitArray) -> KitArray:
        host = self.ns.to_numpy(native.x)
        f = host.view(np.float16).astype(np.float32) if native.dtype == np.float16 \
            else float32_from_bfloat16_bits(host)
        return self.backend._wrap(self.ns.xp.asarray(f, device=native.x.device))

    def narrow(self, native: KitArray, d) -> KitArray:
        out = self.backend._wrap(self.ns.xp.asarray(
            _bits_of(self.ns.to_numpy(native.x), d), device=native.x.device))
        out.dtype = d.np
        return out

    # -- host copies (the backend's from_host/to_host call these for the two dtypes) --------
    def from_host(self, array: np.ndarray, index: int = 0) -> KitArray:
        """A native array holding ``array`` (float16 or bfloat16), bit for bit."""
        dev = self.ns.devices[index] if self.ns.devices else None
        bits = np.asarray(array, order="C").view(np.uint16)  # (0-d stays 0-d)
        out = self.backend._wrap(self.ns.xp.asarray(bits, copy=True, device=dev))
        out.dtype = array.dtype
        return out

    def to_host(self, native: KitArray) -> np.ndarray:
        """A numpy array of ``native``'s dtype with its bits."""
        return self.ns.to_numpy(native.x).view(native.dtype)


def _bits_of(f32: np.ndarray, d) -> np.ndarray:
    """The 16-bit patterns of dtype ``d`` nearest to float32 ``f32`` (ties to even)."""
    if d is _dt.float16:
        with np.errstate(over="ignore"):  # (beyond 65504 is inf, as in PyTorch)
            return f32.astype(np.float16).view(np.uint16)
    return bfloat16_bits(f32)
