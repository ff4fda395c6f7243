"""The CPU backend object: host copies, allocator, RNG, and its kernel table."""

from __future__ import annotations

import warnings

import numpy as np

from ember.backend import Backend
from ember.memory import Allocator

from . import conv_kernels, kernels, linalg_kernels, nn_kernels, optim_kernels

# IEEE results (x / 0 -> inf, log(0) -> -inf, 0 / 0 -> nan) are what PyTorch returns
# silently; numpy also warns.  Silence the warnings raised inside this plugin's kernels
# only (a filter on the module they are attributed to): the user's own numpy code keeps
# numpy's behaviour, and no kernel pays for an errstate context.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember_cpu\.")


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
        self.kernels.update(conv_kernels.KERNELS)
        self.kernels.update(optim_kernels.KERNELS)  # the adaptive optimizers' updates

    def describe(self) -> list[str]:
        import os
        return [f"numpy {np.__version__}, {os.cpu_count()} logical CPUs"]

    def from_host(self, array: np.ndarray, index: int = 0) -> np.ndarray:
        return np.array(array, copy=True)

    def to_host(self, native: np.ndarray) -> np.ndarray:
        return native

    def create_allocator(self, index: int) -> Allocator:
        return Allocator("cpu", None)
