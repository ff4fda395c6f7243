"""Device memory: ember's caching layer over dpctl's USM device allocations.

``USMAllocator.empty(shape, dtype)`` hands out a ``usm_ndarray`` whose memory is a
cached block.  The block goes back to the cache when the last array (or view) using
it dies: the array's memory object holds a ``_Lease`` whose ``__del__`` returns the
block.  That cannot happen while a queued kernel still uses the block: dpnp keeps every
array a task reads or writes alive (a host task holds them) until the task is done,
and it orders each task after the ones submitted before it (see ``XPUBackend``).

Arrays that dpnp allocated by itself (ops without an ``out=`` argument) are adopted
with ``adopt``: the same lease mechanism, without caching, so ``memory_allocated``
counts them too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember.memory import CachingAllocator

__all__ = ["USMAllocator"]


class _Chunk:
    """A raw USM allocation and its (cached) array interface."""

    __slots__ = ("mem", "iface")

    def __init__(self, mem) -> None:
        self.mem = mem
        self.iface = mem.__sycl_usm_array_interface__


class _Lease:
    """Owner of one block while arrays use it; returns the block when it dies."""

    __slots__ = ("__sycl_usm_array_interface__", "block", "__weakref__")

    def __init__(self, block, iface: dict) -> None:
        self.block = block
        self.__sycl_usm_array_interface__ = iface

    def __del__(self) -> None:
        block = self.block
        if block is not None:
            self.block = None
            try:
                block.allocator.free(block)
            except Exception:  # interpreter shutdown: the allocator may be gone
                pass


class _Adopted:
    """Owner of memory dpnp allocated by itself: it only keeps the statistics."""

    __slots__ = ("__sycl_usm_array_interface__", "mem", "nbytes", "allocator")

    def __init__(self, mem, allocator: USMAllocator) -> None:
        self.mem = mem
        self.nbytes = mem.nbytes
        self.allocator = allocator
        iface = dict(mem.__sycl_usm_array_interface__)
        iface["syclobj"] = allocator.queue  # same context: the pointer is valid there
        self.__sycl_usm_array_interface__ = iface
        allocator.record_alloc(self.nbytes)

    def __del__(self) -> None:
        try:
            self.allocator.record_free(self.nbytes)
        except Exception:  # interpreter shutdown
            pass


class USMAllocator(CachingAllocator):
    """Caching allocator of one SYCL device, over ``dpctl.memory.MemoryUSMDevice``."""

    def __init__(self, runtime, queue, index: int, limit: int | None = None) -> None:
        super().__init__("xpu", index, limit)
        self._dpm = runtime.dpm
        self._dpt = runtime.dpt
        self.queue = queue

    def _malloc(self, nbytes: int) -> _Chunk:
        try:
            return _Chunk(self._dpm.MemoryUSMDevice(nbytes, queue=self.queue))
        except self._dpm.USMAllocationError as e:
            raise MemoryError(str(e)) from None

    def _free(self, handle: _Chunk) -> None:
        # dpctl releases USM memory when its last reference goes; a cached block is
        # used by no array, so no queued task can still be reading it.
        handle.mem = None

    # -- arrays -------------------------------------------------------------------------
    def empty(self, shape: tuple, dtype: Any) -> Any:
        """An uninitialised C-contiguous ``usm_ndarray`` on a cached block."""
        dt = np.dtype(dtype)
        nbytes = math.prod(shape) * dt.itemsize
        if nbytes == 0:  # nothing to allocate (PyTorch counts no bytes either)
            return self._dpt.empty(shape, dtype=dt, sycl_queue=self.queue)
        block = self.malloc(nbytes)
        owner = self._dpm.MemoryUSMDevice(_Lease(block, block.handle.iface))
        return self._dpt.usm_ndarray(shape, dtype=dt, buffer=owner)

    def adopt(self, arr: Any) -> Any:
        """``arr`` (allocated by dpnp itself, or imported) re-wrapped so its memory is
        accounted and it lives on this device's queue; a no-op for arrays already on
        this allocator's memory."""
        mem = arr.usm_data
        ref = mem.reference_obj
        if ref.__class__ is _Lease or ref.__class__ is _Adopted or mem.nbytes == 0:
            return arr
        if arr.sycl_queue != self.queue:
            if arr.sycl_context != self.queue.sycl_context:  # USM pointers don't travel
                return self.adopt(self._dpt.asarray(arr, copy=True, sycl_queue=self.queue))
        owner = self._dpm.MemoryUSMDevice(_Adopted(mem, self))
        return self._dpt.usm_ndarray(arr.shape, dtype=arr.dtype, buffer=owner,
                                     strides=arr.strides, offset=arr._element_offset)
