"""The CUDA backend object: devices, host copies, synchronisation, memory, kernels."""

from __future__ import annotations

from typing import Any

import numpy as np

from ember import dtypes as _dt
from ember.backend import Backend

from .allocator import CUDAAllocator

__all__ = ["CUDABackend", "Runtime", "load_runtime", "library_scatters"]


class Runtime:
    """cupy and its Array API namespace, or why they cannot be used."""

    def __init__(self, cupy: Any = None, xp: Any = None, count: int = 0,
                 error: str | None = None) -> None:
        self.cupy, self.xp, self.count, self.error = cupy, xp, count, error


def load_runtime() -> Runtime:
    """Import cupy and count CUDA devices; never raises for a missing runtime."""
    try:
        import cupy
    except ImportError as e:
        return Runtime(error=f"cupy is not installed ({e}); install the build for your "
                             f"CUDA, e.g. `pip install ember-cuda[cuda12]`")
    except Exception as e:  # cupy present but its CUDA libraries are not
        return Runtime(error=f"cupy failed to load: {type(e).__name__}: {e}")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # no driver, or no GPU
        return Runtime(cupy, error=f"no usable CUDA device: {type(e).__name__}: {e}")
    if count == 0:
        return Runtime(cupy, error="the CUDA driver reports no device")
    from array_api_compat import cupy as xp
    return Runtime(cupy, xp, count)


def library_scatters(cp: Any) -> dict:
    """The kit's ``implementations=`` entries for cupy's own scatter: every
    accumulating write (scatter_add, index_add, the backward of gather, indexing,
    embedding and max-pool) through ``cupyx.scatter_add`` (atomic adds, O(n)), the
    dtypes it refuses through the kit's sort-based path."""
    from ember.kit import accumulating_index_put
    try:
        import cupyx
        add_at = cupyx.scatter_add
    except (ImportError, AttributeError):  # cupy without cupyx.scatter_add: its ufunc.at
        add_at = cp.add.at
    return {"index_put_": accumulating_index_put(add_at)}


class CUDABackend(Backend):
    """``cuda``: NVIDIA GPUs through cupy, kernels from ember's Array API kit."""

    device_type = "cuda"
    indexed = True
    dlpack_device_type = 2  # kDLCUDA
    #: allocate unified (managed) memory instead of device memory (Jetson)
    managed = False

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        cp = runtime.cupy
        self.name = f"cupy {cp.__version__}" if cp is not None else "cupy (not installed)"
        if runtime.xp is None:
            self.supported_dtypes = frozenset()
            return
        self.supported_dtypes = frozenset(d for d in _dt.FROM_NP.values()
                                          if d is not _dt.bfloat16)
        self._install_allocator()
        from ember.kit import ArrayAPIBackend
        kit = ArrayAPIBackend(runtime.xp, device_type=self.device_type, name=self.name,
                              devices=[cp.cuda.Device(i) for i in range(runtime.count)],
                              dtypes=self.supported_dtypes,
                              implementations=library_scatters(cp))
        self.kernels.update(kit.kernels)
        self._kit = kit

    def _install_allocator(self) -> None:
        cp = self.runtime.cupy
        get = cp.cuda.runtime.getDevice

        def malloc(nbytes: int):
            return self.allocator(get()).cupy_malloc(nbytes)
        # Every cupy allocation in this process now goes through ember's cache.
        cp.cuda.set_allocator(malloc)

    # -- devices ------------------------------------------------------------------------
    def device_count(self) -> int:
        return self.runtime.count if self.runtime.xp is not None else 0

    def unavailable_reason(self) -> str | None:
        return None if self.device_count() else self.runtime.error

    def describe(self) -> list[str]:
        cp = self.runtime.cupy
        lines = []
        for i in range(self.device_count()):
            p = cp.cuda.runtime.getDeviceProperties(i)
            name = p["name"].decode() if isinstance(p["name"], bytes) else p["name"]
            lines.append(f"{self.device_type}:{i}  {name}  (compute {p['major']}.{p['minor']}, "
                         f"{p['totalGlobalMem'] >> 20} MiB"
                         f"{', integrated' if p.get('integrated') else ''})")
        return lines

    def synchronize(self, index: int = 0) -> None:
        if self.device_count():
            self.runtime.cupy.cuda.Device(index).synchronize()

    # -- host copies ----------------------------------------------------------------------
    def from_host(self, array: np.ndarray, index: int = 0):
        cp = self.runtime.cupy
        with cp.cuda.Device(index):
            return cp.asarray(array)

    def to_host(self, native) -> np.ndarray:
        return np.asarray(native.get())

    def copy_from(self, native, src: Backend, index: int):
        if src is not self:
            return None
        cp = self.runtime.cupy
        with cp.cuda.Device(index):
            return cp.array(native, copy=True)  # peer copy between GPUs

    # -- memory ------------------------------------------------------------------------------
    def create_allocator(self, index: int) -> CUDAAllocator:
        return CUDAAllocator(self.runtime.cupy, index, managed=self.managed,
                             device_type=self.device_type)
