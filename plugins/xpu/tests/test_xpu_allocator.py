"""The USM caching allocator: statistics, reuse, views keeping blocks alive, ordering on
the in-order queue, out-of-memory."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import ember
from ember.memory import CachingAllocator

from xpu_support import requires_xpu

pytestmark = requires_xpu


@pytest.fixture
def alloc(xpu):
    a = xpu.allocator(0)
    gc.collect()
    a.empty_cache()
    a.reset_peak()
    yield a
    a.limit = None


def test_tensor_takes_a_rounded_block_and_returns_it(alloc):
    base = ember.memory.memory_allocated("xpu")
    x = ember.ones(1000, device="xpu")  # 4000 bytes -> one 4096-byte block
    size = CachingAllocator.round_size(4000)
    assert ember.memory.memory_allocated("xpu") == base + size
    assert ember.memory.max_memory_allocated("xpu") >= base + size
    reserved = ember.memory.memory_reserved("xpu")
    del x
    gc.collect()
    assert ember.memory.memory_allocated("xpu") == base
    # the block stays cached, and the next tensor of that size reuses it
    assert ember.memory.memory_reserved("xpu") == reserved
    y = ember.zeros(1000, device="xpu")
    assert ember.memory.memory_reserved("xpu") == reserved
    assert y.cpu().numpy().sum() == 0
    del y
    gc.collect()
    ember.memory.empty_cache("xpu")
    assert ember.memory.memory_reserved("xpu") == alloc.allocated
    stats = ember.memory.memory_stats("xpu")
    assert stats["allocation.all.allocated"] - stats["allocation.all.freed"] >= 0
    assert stats["inactive_split_bytes.all.current"] == 0


def test_view_keeps_block_alive(alloc):
    x = ember.arange(12, dtype=ember.float32, device="xpu").reshape(3, 4)
    v = x.permute(1, 0)
    used = alloc.allocated
    del x
    gc.collect()
    assert alloc.allocated == used  # the view still holds the block
    w = ember.full((12,), 7.0, device="xpu")  # must not land on the view's memory
    np.testing.assert_array_equal(v.cpu().numpy(), np.arange(12, dtype=np.float32)
                                  .reshape(3, 4).T)
    del v, w
    gc.collect()
    assert alloc.allocated < used


def test_results_of_dpnp_allocations_are_counted(alloc):
    x = ember.ones(256, 256, device="xpu")
    before = alloc.allocated
    s = x.sum(dim=0)  # dpnp allocates the reduction's result itself
    assert alloc.allocated >= before + 256 * 4
    del s
    gc.collect()
    assert alloc.allocated == before


def test_reuse_is_ordered_on_the_queue(alloc):
    # Free and reuse blocks while kernels are queued: results must not be corrupted.
    rng = np.random.default_rng(0)
    host = rng.standard_normal((64, 64)).astype(np.float32)
    w_host = (rng.standard_normal((64, 64)) / 8).astype(np.float32)
    expect = host.copy()
    x, w = ember.tensor(host, device="xpu"), ember.tensor(w_host, device="xpu")
    for _ in range(20):
        x = (x @ w.permute(1, 0)).tanh() + 0.5
        expect = np.tanh(expect @ w_host.T) + np.float32(0.5)
    assert np.isfinite(expect).all() and expect.std() > 0.1
    np.testing.assert_allclose(x.cpu().numpy(), expect, rtol=1e-4, atol=1e-5)
    assert alloc.peak_reserved < 40 * 64 * 64 * 4  # blocks were reused, not leaked


def test_out_of_memory_is_clear_and_recoverable(alloc):
    keep = ember.ones(1000, device="xpu")
    alloc.limit = alloc.reserved + 8192
    ooms = alloc.num_ooms
    with pytest.raises(ember.OutOfMemoryError, match=r"xpu:0 out of memory"):
        ember.empty(1 << 20, device="xpu")
    assert alloc.num_ooms == ooms + 1
    alloc.limit = None
    assert ember.empty(1 << 20, device="xpu").shape == (1 << 20,)
    assert keep.sum().item() == 1000


def test_runtime_out_of_memory_maps_to_ember_error(alloc):
    # Far beyond any device: the USM allocation itself fails.
    with pytest.raises(ember.OutOfMemoryError, match="USM allocation failed"):
        ember.empty(1 << 48, dtype=ember.uint8, device="xpu")


def test_empty_tensors_take_no_memory(alloc):
    before = alloc.allocated
    e = ember.zeros(0, 3, device="xpu")
    assert e.shape == (0, 3) and alloc.allocated == before
    assert e.cpu().numpy().shape == (0, 3)
