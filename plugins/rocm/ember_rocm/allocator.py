"""OpenCL buffers behind ember's caching allocator (statistics, reuse, ``empty_cache``)."""

from __future__ import annotations

import pyopencl as cl

from ember.memory import CachingAllocator

__all__ = ["CLAllocator"]

# Status codes an OpenCL runtime answers with when it cannot hand out memory.
_OOM_CODES = frozenset({
    cl.status_code.MEM_OBJECT_ALLOCATION_FAILURE,
    cl.status_code.OUT_OF_RESOURCES,
    cl.status_code.OUT_OF_HOST_MEMORY,
    cl.status_code.INVALID_BUFFER_SIZE,
})


class CLAllocator(CachingAllocator):
    """``_malloc``/``_free`` over ``cl.Buffer`` of one device's context."""

    def __init__(self, context: cl.Context, device: cl.Device, index: int = 0) -> None:
        super().__init__("rocm", index)
        self.context = context
        self.max_alloc = device.max_mem_alloc_size

    def _malloc(self, nbytes: int) -> cl.Buffer:
        if nbytes > self.max_alloc:
            # The runtime would answer INVALID_BUFFER_SIZE; say what the limit is.
            raise MemoryError(f"{nbytes} bytes exceed the device's largest single "
                              f"allocation ({self.max_alloc} bytes)")
        try:
            return cl.Buffer(self.context, cl.mem_flags.READ_WRITE, nbytes)
        except cl.Error as e:
            if e.code in _OOM_CODES:
                raise MemoryError(str(e)) from e
            raise

    def _free(self, handle: cl.Buffer) -> None:
        handle.release()
