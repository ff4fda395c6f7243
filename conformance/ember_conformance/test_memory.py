"""Allocator contracts: statistics move as tensors live and die, ``empty_cache``
releases cached memory, and running out of memory raises ``ember.OutOfMemoryError``
with a clear message and leaves the allocator usable."""

from __future__ import annotations

import gc

import pytest

import ember
from ember import memory
from ember.device import get_backend

from ._context import begin

MiB = 1 << 20


def _dev(name: str):
    kind = ember.device(name).type
    return ember.device(kind, 0) if get_backend(kind).indexed else ember.device(kind)


def test_statistics_follow_tensor_lifetimes(ember_device, request):
    begin(request, ember_device, None, None, "memory statistics")
    dev = _dev(ember_device)
    gc.collect()
    before = memory.memory_allocated(dev)
    memory.reset_peak_memory_stats(dev)
    t = ember.zeros(MiB // 4, dtype=ember.float32, device=dev)  # 1 MiB
    during = memory.memory_allocated(dev)
    assert during >= before + MiB, (f"memory_allocated({dev}) went from {before} to "
                                    f"{during} bytes for a 1 MiB tensor")
    assert memory.max_memory_allocated(dev) >= during
    assert memory.memory_reserved(dev) >= during
    stats = memory.memory_stats(dev)
    assert stats["allocated_bytes.all.current"] == during
    del t
    gc.collect()
    after = memory.memory_allocated(dev)
    assert after <= before, f"1 MiB tensor freed, but memory_allocated({dev}) is {after} " \
                            f"bytes (was {before} before it)"
    assert memory.max_memory_allocated(dev) >= during


def test_empty_cache_releases(ember_device, request):
    begin(request, ember_device, None, None, "empty_cache")
    dev = _dev(ember_device)
    t = ember.zeros(MiB // 4, dtype=ember.float32, device=dev)
    del t
    gc.collect()
    memory.empty_cache(dev)
    assert memory.memory_reserved(dev) == memory.memory_allocated(dev), \
        "after empty_cache() the allocator still reserves memory no tensor uses"


def test_out_of_memory(ember_device, request):
    begin(request, ember_device, None, None, "out of memory")
    dev = _dev(ember_device)
    allocator = get_backend(dev.type).allocator(dev.index or 0)
    ooms = memory.memory_stats(dev)["num_ooms"]
    limited = hasattr(allocator, "limit")
    old = getattr(allocator, "limit", None)
    if limited:  # a caching allocator: cap it just above what it holds
        allocator.limit = memory.memory_reserved(dev) + MiB
        size = 64 * MiB
    else:  # an observing allocator: ask the runtime for more than any machine has
        size = 1 << 46
    try:
        with pytest.raises(MemoryError) as info:
            ember.empty(size // 4, dtype=ember.float32, device=dev)
    finally:
        if limited:
            allocator.limit = old
    err = info.value
    assert isinstance(err, ember.OutOfMemoryError), (
        f"out of memory on {dev} raised {type(err).__module__}.{type(err).__name__}, not "
        f"ember.OutOfMemoryError: {err}")
    assert "out of memory" in str(err) and dev.type in str(err), \
        f"unclear out-of-memory message: {err}"
    if limited:
        assert memory.memory_stats(dev)["num_ooms"] == ooms + 1
    t = ember.ones(1000, device=dev)  # still usable
    assert float((t + t).sum().item()) == 2000.0
