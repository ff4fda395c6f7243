"""Allocators and the memory-statistics API with PyTorch's names.

``Allocator`` keeps the statistics (current and peak bytes allocated and reserved,
allocation counts).  A backend whose runtime allocates on its own (numpy) reports to it
with ``record_alloc``/``record_free``; a device backend subclasses
``CachingAllocator`` and overrides only ``_malloc``/``_free`` (tinygrad's split): the
caching layer rounds sizes, keeps freed blocks for reuse, and frees them all on
``empty_cache`` or when the device reports it is out of memory.
"""

from __future__ import annotations

import collections
import threading
from typing import Any

from .errors import OutOfMemoryError

__all__ = ["Allocator", "CachingAllocator", "Block", "memory_allocated",
           "max_memory_allocated", "memory_reserved", "max_memory_reserved",
           "memory_stats", "empty_cache", "reset_peak_memory_stats"]


class Allocator:
    """Statistics-keeping allocator base (no caching)."""

    def __init__(self, device_type: str, index: int | None = 0) -> None:
        self.device_type = device_type
        self.index = index
        self._lock = threading.Lock()
        self.allocated = 0
        self.peak_allocated = 0
        self.reserved = 0
        self.peak_reserved = 0
        self.num_allocs = 0
        self.num_frees = 0
        self.num_ooms = 0

    # record_alloc/record_free run for every CPU tensor, so they take no lock: these
    # are statistics, and the GIL keeps each += whole enough for them.
    def record_alloc(self, nbytes: int) -> None:
        """Account an allocation the runtime made by itself."""
        a = self.allocated = self.allocated + nbytes
        self.reserved += nbytes
        self.num_allocs += 1
        if a > self.peak_allocated:
            self.peak_allocated = a
            self.peak_reserved = max(self.peak_reserved, self.reserved)

    def record_free(self, nbytes: int) -> None:
        """Account the release of an allocation recorded with ``record_alloc``."""
        self.allocated -= nbytes
        self.reserved -= nbytes
        self.num_frees += 1

    def empty_cache(self) -> None:
        """Release cached, unused memory to the device (nothing to do without a cache)."""

    def reset_peak(self) -> None:
        with self._lock:
            self.peak_allocated = self.allocated
            self.peak_reserved = self.reserved

    def stats(self) -> dict[str, int]:
        """Counters under PyTorch's ``memory_stats`` key names."""
        return {
            "allocated_bytes.all.current": self.allocated,
            "allocated_bytes.all.peak": self.peak_allocated,
            "reserved_bytes.all.current": self.reserved,
            "reserved_bytes.all.peak": self.peak_reserved,
            "num_alloc_retries": 0,
            "num_ooms": self.num_ooms,
            "allocation.all.allocated": self.num_allocs,
            "allocation.all.freed": self.num_frees,
        }


class Block:
    """A device allocation handed out by a ``CachingAllocator``."""

    __slots__ = ("handle", "size", "requested", "allocator", "__weakref__")

    def __init__(self, handle: Any, size: int, requested: int, allocator) -> None:
        self.handle = handle
        self.size = size
        self.requested = requested
        self.allocator = allocator


class CachingAllocator(Allocator):
    """A caching layer over a device's raw ``_malloc(nbytes)``/``_free(handle)``.

    Sizes are rounded up (512 bytes below 1 MiB, 2 MiB above) and freed blocks are kept
    in per-size free lists.  ``malloc`` that fails in the runtime empties the cache and
    retries once; failing again raises ``ember.OutOfMemoryError``.
    """

    def __init__(self, device_type: str, index: int = 0, limit: int | None = None) -> None:
        super().__init__(device_type, index)
        self._free_lists: dict[int, list] = collections.defaultdict(list)
        #: optional cap on reserved bytes (tests use it to provoke out-of-memory)
        self.limit = limit

    # -- what a backend overrides ---------------------------------------------------
    def _malloc(self, nbytes: int) -> Any:
        """Allocate ``nbytes`` on the device; raise ``MemoryError`` when it cannot."""
        raise NotImplementedError

    def _free(self, handle: Any) -> None:
        """Release a handle returned by ``_malloc``."""
        raise NotImplementedError

    # -- the caching layer -----------------------------------------------------------------
    @staticmethod
    def round_size(nbytes: int) -> int:
        if nbytes < (1 << 20):
            return max(512, (nbytes + 511) // 512 * 512)
        return (nbytes + (2 << 20) - 1) // (2 << 20) * (2 << 20)

    def malloc(self, nbytes: int) -> Block:
        """A block of at least ``nbytes`` bytes, reusing a cached one if possible."""
        size = self.round_size(nbytes)
        with self._lock:
            free = self._free_lists.get(size)
            if free:
                handle = free.pop()
            else:
                handle = None
        if handle is None:
            handle = self._malloc_or_oom(size, nbytes)
            with self._lock:
                self.reserved += size
                self.peak_reserved = max(self.peak_reserved, self.reserved)
        with self._lock:
            self.allocated += size
            self.peak_allocated = max(self.peak_allocated, self.allocated)
            self.num_allocs += 1
        return Block(handle, size, nbytes, self)

    def _malloc_or_oom(self, size: int, nbytes: int):
        for attempt in (0, 1):
            if self.limit is not None and self.reserved + size > self.limit:
                err: BaseException | None = MemoryError("allocator limit reached")
            else:
                try:
                    return self._malloc(size)
                except MemoryError as e:  # the backend maps its runtime's OOM to this
                    err = e
            if attempt == 0:
                self.empty_cache()
        self.num_ooms += 1
        raise OutOfMemoryError(
            f"{self.device_type}:{self.index} out of memory: tried to allocate "
            f"{_fmt(nbytes)} ({_fmt(self.allocated)} allocated by ember, "
            f"{_fmt(self.reserved)} reserved, limit "
            f"{_fmt(self.limit) if self.limit is not None else 'the device'}): {err}")

    def free(self, block: Block) -> None:
        """Return a block to the cache (called when its native array dies)."""
        with self._lock:
            self.allocated -= block.size
            self.num_frees += 1
            self._free_lists[block.size].append(block.handle)

    def empty_cache(self) -> None:
        """Release every cached, unused block to the device."""
        with self._lock:
            lists, self._free_lists = self._free_lists, collections.defaultdict(list)
        for size, handles in lists.items():
            for h in handles:
                self._free(h)
                with self._lock:
                    self.reserved -= size

    def stats(self) -> dict[str, int]:
        s = super().stats()
        s["inactive_split_bytes.all.current"] = sum(
            size * len(v) for size, v in self._free_lists.items())
        return s


def _fmt(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024
    return str(n)


# --- the public API (ember.memory.*), PyTorch's names ---------------------------------

def _allocator(device=None) -> Allocator:
    from .device import device as _device, get_backend, get_default_device
    d = _device(device) if device is not None else get_default_device()
    alloc = get_backend(d.type).allocator(d.index or 0)  # (loads the plugin first)
    if d._acct is None:  # a backend that observes allocations starts observing here
        observing_allocator(d.type, start=True)
    return alloc


# --- observed allocations (numpy's) ---------------------------------------------------------
# A backend whose runtime allocates by itself (numpy) has no allocator call to count, so
# its tensors report their buffers' births and deaths.  That costs ~1 us per tensor (a
# third of a small op), and PyTorch itself keeps no CPU statistics unless profiling;
# so observation starts on the first statistics query for such a device type: the live
# tensors are counted then (one walk over the garbage collector's objects), and from
# then on every tensor reports exactly.  Peaks are peaks since observation started.

_observing: set = set()


def observing_allocator(device_type: str, start: bool = False) -> Allocator | None:
    """The allocator that tensors of ``device_type`` report to, or ``None`` while its
    allocations are not observed; ``start=True`` begins observing."""
    from .tensor import OBSERVED_ALLOCATORS
    alloc = OBSERVED_ALLOCATORS.get(device_type)
    if alloc is None:
        return None
    if device_type not in _observing:
        if not start:
            return None
        _start_observing(device_type, alloc)
    return alloc


def _start_observing(device_type: str, alloc: Allocator) -> None:
    import gc

    from .device import device as _device
    from .tensor import Tensor, observe_releases
    counted: set = set()
    live = 0
    for obj in gc.get_objects():
        # type(), not obj.__class__: some modules' lazy proxies react to attribute reads
        if type(obj) is Tensor and obj._device.type == device_type and not obj._owned:
            data = obj._data
            # one owner per buffer: detach() and aliases share the array itself
            if getattr(data, "base", 0) is None and id(data) not in counted:
                counted.add(id(data))
                obj._owned = data.nbytes
                live += obj._owned
    with alloc._lock:
        alloc.allocated += live
        alloc.reserved += live
        alloc.num_allocs += len(counted)
        alloc.peak_allocated = max(alloc.peak_allocated, alloc.allocated)
        alloc.peak_reserved = max(alloc.peak_reserved, alloc.reserved)
    _observing.add(device_type)
    observe_releases()
    for d in set(_device._interned.values()):
        if d.type == device_type:
            d._acct = alloc


def memory_allocated(device=None) -> int:
    """Bytes currently held by tensors on ``device`` (default: the default device)."""
    return _allocator(device).allocated


def max_memory_allocated(device=None) -> int:
    """Peak of ``memory_allocated`` since start or the last reset."""
    return _allocator(device).peak_allocated


def memory_reserved(device=None) -> int:
    """Bytes held by the allocator (allocated plus cached)."""
    return _allocator(device).reserved


def max_memory_reserved(device=None) -> int:
    """Peak of ``memory_reserved`` since start or the last reset."""
    return _allocator(device).peak_reserved


def memory_stats(device=None) -> dict[str, int]:
    """The allocator's counters, under PyTorch's key names."""
    return _allocator(device).stats()


def empty_cache(device=None) -> None:
    """Release cached, unused memory of ``device`` back to its runtime."""
    _allocator(device).empty_cache()


def reset_peak_memory_stats(device=None) -> None:
    """Reset the peaks tracked by ``max_memory_allocated``/``max_memory_reserved``."""
    _allocator(device).reset_peak()
