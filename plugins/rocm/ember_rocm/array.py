"""The native array of the rocm backend: a strided view of an OpenCL buffer.

A ``CLArray`` is a shape, element strides and an element offset over a ``Storage``
(one block of the device's caching allocator).  Views (reshape, permute, expand,
slicing) are new ``CLArray`` objects over the same storage, so every kernel takes
strides and an offset for each operand.  This is lighter per op than
``pyopencl.array.Array`` and has exactly the fields ember needs: ``.shape`` and a
numpy ``.dtype``.
"""

from __future__ import annotations


import numpy as np

from ember.meta import ArrayShape

__all__ = ["CLArray", "Storage", "contiguous_strides"]


class Storage:
    """One allocator block; returns it to the cache when the last view dies.

    The device queue is in order, so a block freed here and handed out again can only be
    written by kernels enqueued after every kernel that read it: reuse needs no event.
    """

    __slots__ = ("block", "dev", "__weakref__")

    def __init__(self, block, dev) -> None:
        self.block = block
        self.dev = dev

    @property
    def buffer(self):
        return self.block.handle

    def __del__(self) -> None:
        block = self.block
        if block is not None:
            self.block = None
            block.allocator.free(block)


def contiguous_strides(shape: tuple) -> tuple:
    """C-order element strides of ``shape``."""
    strides = []
    acc = 1
    for s in reversed(shape):
        strides.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(strides))


class CLArray(ArrayShape):
    """``shape`` / ``strides`` (in elements) / ``offset`` (in elements) over a storage."""

    __slots__ = ("storage", "shape", "strides", "offset", "dtype", "__weakref__")

    def __init__(self, storage: Storage, shape: tuple, dtype: np.dtype,
                 strides: tuple | None = None, offset: int = 0) -> None:
        self.storage = storage
        self.shape = shape
        self.dtype = dtype
        self.strides = contiguous_strides(shape) if strides is None else strides
        self.offset = offset

    @property
    def dev(self):
        """The ``DeviceState`` (context, queue, kernel cache) this array lives on."""
        return self.storage.dev

    @property
    def buffer(self):
        return self.storage.block.handle

    @property
    def is_contiguous(self) -> bool:
        """C-contiguous (sizes 0 and 1 make any stride acceptable, as in PyTorch)."""
        expected = 1
        for s, st in zip(reversed(self.shape), reversed(self.strides), strict=False):
            if s == 0:
                return True
            if s != 1 and st != expected:
                return False
            expected *= s
        return True

    def view(self, shape: tuple, strides: tuple, offset: int | None = None) -> CLArray:
        """Another strided view of the same storage."""
        return CLArray(self.storage, tuple(shape), self.dtype, tuple(strides),
                       self.offset if offset is None else offset)

    def __repr__(self) -> str:
        return (f"CLArray(shape={self.shape}, dtype={self.dtype}, strides={self.strides}, "
                f"offset={self.offset})")
