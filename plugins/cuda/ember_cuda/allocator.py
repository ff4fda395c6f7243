"""CUDA memory through ember's caching layer.

``CUDAAllocator`` keeps raw ``cudaMalloc`` blocks (``cupy.cuda.Memory``) in ember's
caching allocator and hands them to cupy as ``MemoryPointer``s; ``install`` makes it
cupy's allocator for the device, so kernel outputs and temporaries are counted too.
Blocks return to the cache when the last cupy array on them dies.  Reuse is
stream-ordered like PyTorch's allocator: ember issues all work for a device on cupy's
current stream, so a later kernel on a reused block runs after the earlier ones.
"""

from __future__ import annotations

from typing import Any

from ember.memory import CachingAllocator

__all__ = ["CUDAAllocator"]


class _Lease:
    """Owner of a block while cupy uses it; returns the block when cupy drops it."""

    __slots__ = ("block",)

    def __init__(self, block) -> None:
        self.block = block

    def __del__(self) -> None:
        block, self.block = self.block, None
        if block is not None:
            try:
                block.allocator.free(block)
            except Exception:  # interpreter shutdown: the allocator may be gone
                pass


class CUDAAllocator(CachingAllocator):
    """Caching allocator of one CUDA device (``managed=True``: unified memory)."""

    def __init__(self, cupy, index: int, managed: bool = False,
                 device_type: str = "cuda") -> None:
        super().__init__(device_type, index)
        self._cupy = cupy
        self._managed = managed

    def _malloc(self, nbytes: int) -> Any:
        cp = self._cupy
        try:
            with cp.cuda.Device(self.index):
                return (cp.cuda.ManagedMemory(nbytes) if self._managed
                        else cp.cuda.Memory(nbytes))
        except cp.cuda.memory.OutOfMemoryError as e:
            raise MemoryError(str(e)) from None

    def _free(self, handle: Any) -> None:
        # cupy's Memory frees itself when its last reference (the cache's) goes.
        pass

    def cupy_malloc(self, nbytes: int):
        """A ``cupy.cuda.MemoryPointer`` on a cached block (cupy's allocator hook)."""
        cp = self._cupy
        if nbytes == 0:
            return cp.cuda.MemoryPointer(cp.cuda.UnownedMemory(0, 0, None, self.index), 0)
        block = self.malloc(nbytes)
        mem = cp.cuda.UnownedMemory(block.handle.ptr, block.size, _Lease(block), self.index)
        return cp.cuda.MemoryPointer(mem, 0)
