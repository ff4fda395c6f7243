"""ember-reference: the reference backend, device type ``reference``.

Built with ``ember.kit`` on ``array-api-strict``, which refuses anything outside the
Python Array API standard, so it shows that ember's primitives need nothing more than
the standard.  It is kept for testing (ember's OpenReg): the conformance suite runs
against it in CI, and ``docs/writing-a-backend.md`` uses it as the worked example.

Two devices (``reference:0``, ``reference:1``) map to array-api-strict's
``CPU_DEVICE`` and ``device1``, which refuse to mix arrays, so device bugs show.
Storage is numpy's (under array-api-strict); from the first memory query on, every
array is accounted through an ``AccountingAllocator`` so ``ember.memory`` works,
including out-of-memory under a ``limit``.  The standard has neither float16 nor
bfloat16: both are stored as ``uint16`` arrays and computed in float32 with one rounding
per op (``ember.kit.half_storage``, ``ember.emulated``).
"""

from __future__ import annotations

import array_api_strict
import numpy as np

import ember
from ember.kit import ArrayAPIBackend
from ember.kit.half_storage import HostHalfStorage

EMBER_PLUGIN_API = "1.3"
__version__ = "0.1.0"
__all__ = ["ReferenceBackend", "EMBER_PLUGIN_API"]


class ReferenceBackend(ArrayAPIBackend):
    """``ArrayAPIBackend`` over array-api-strict, with two devices."""

    def __init__(self) -> None:
        super().__init__(
            array_api_strict, device_type="reference",
            name=f"array-api-strict {array_api_strict.__version__} (ember.kit)",
            devices=[array_api_strict.Device("CPU_DEVICE"), array_api_strict.Device("device1")])
        self.half = HostHalfStorage(self)
        self.half.enable()

    def from_host(self, array: np.ndarray, index: int = 0):
        if array.dtype.itemsize == 2 and array.dtype.kind in "fV":  # float16, bfloat16
            return self.half.from_host(array, index)
        return super().from_host(array, index)

    def to_host(self, native) -> np.ndarray:
        if native.dtype in self.half.np_dtypes:
            return self.half.to_host(native)
        return super().to_host(native)


@ember.hookimpl
def ember_backend_create():
    return ReferenceBackend()
