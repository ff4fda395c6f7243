"""The CPU backend object: host copies, allocator, RNG, and its kernel table."""

from __future__ import annotations

import numpy as np

from ember.backend import Backend
from ember.memory import Allocator

from . import kernels, linalg_kernels, nn_kernels


class CPUBackend(Backend):
    device_type = "cpu"
    name = f"numpy {np.__version__}"
    indexed = False
    dlpack_device_type = 1  # kDLCPU
    # numpy allocates by itself: tensors report births and deaths of their buffers.
    observes_allocations = True

    def __init__(self) -> None:
        super().__init__()
        self.kernels.update(kernels.KERNELS)
        self.kernels.update(linalg_kernels.KERNELS)
        self.kernels.update(nn_kernels.KERNELS)  # fused nn ops and optimizer updates

    def describe(self) -> list[str]:
        import os
        return [f"numpy {np.__version__}, {os.cpu_count()} logical CPUs"]

    def from_host(self, array: np.ndarray, index: int = 0) -> np.ndarray:
        return np.array(array, copy=True)

    def to_host(self, native: np.ndarray) -> np.ndarray:
        return native

    def create_allocator(self, index: int) -> Allocator:
        return Allocator("cpu", None)
