"""The memory statistics API (PyTorch's names) and the caching allocator layer."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest

import ember
from ember.memory import CachingAllocator


def test_cpu_statistics_follow_tensor_lifetimes():
    gc.collect()
    base = ember.memory.memory_allocated("cpu")
    t = ember.zeros(1000, dtype=ember.float64)
    assert ember.memory.memory_allocated("cpu") == base + 8000
    assert ember.memory.max_memory_allocated("cpu") >= base + 8000
    v = t[:10] if hasattr(ember.Tensor, "__getitem__") else t.reshape(10, 100)
    assert ember.memory.memory_allocated("cpu") == base + 8000  # a view owns no memory
    del t, v
    gc.collect()
    assert ember.memory.memory_allocated("cpu") == base
    ember.memory.reset_peak_memory_stats("cpu")
    assert ember.memory.max_memory_allocated("cpu") == base
    stats = ember.memory.memory_stats("cpu")
    assert stats["allocated_bytes.all.current"] == base
    ember.memory.empty_cache("cpu")  # nothing cached on the CPU; must not fail


def test_cpu_observation_starts_at_the_first_query_and_counts_live_tensors():
    # A fresh interpreter: observation is process-wide and other tests started it.
    code = textwrap.dedent("""
        import gc
        import ember
        t = ember.zeros(1000, dtype=ember.float64)
        v = t[:10]
        # nothing observed yet: no finalizer on the tensor class, nothing counted
        assert "__del__" not in ember.Tensor.__dict__
        n = ember.memory.memory_allocated("cpu")
        assert "__del__" in ember.Tensor.__dict__
        assert n >= 8000, n
        assert ember.memory.max_memory_allocated("cpu") == n
        del t, v
        gc.collect()
        assert ember.memory.memory_allocated("cpu") == n - 8000
        u = ember.zeros(500, dtype=ember.float64)
        assert ember.memory.memory_allocated("cpu") == n - 4000
        assert ember.memory.max_memory_allocated("cpu") == n
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


class HostBuffers(CachingAllocator):
    """A real allocator over host bytearrays, to exercise the caching layer itself."""

    def __init__(self, limit=None):
        super().__init__("host", 0, limit=limit)
        self.live = 0

    def _malloc(self, nbytes):
        self.live += 1
        return bytearray(nbytes)

    def _free(self, handle):
        self.live -= 1


def test_caching_allocator_reuses_blocks_and_releases_on_empty_cache():
    a = HostBuffers()
    b1 = a.malloc(1000)
    assert b1.size == 1024 and a.allocated == 1024 and a.reserved == 1024
    a.free(b1)
    assert a.allocated == 0 and a.reserved == 1024  # cached, not released
    b2 = a.malloc(900)
    assert b2.handle is b1.handle and a.live == 1  # reused
    a.free(b2)
    a.empty_cache()
    assert a.reserved == 0 and a.live == 0
    assert a.stats()["allocation.all.allocated"] == 2


def test_out_of_memory_is_clear_and_leaves_the_allocator_usable():
    a = HostBuffers(limit=4096)
    keep = a.malloc(3000)
    spare = a.malloc(512)
    a.free(spare)  # cached: the retry after emptying the cache must release it
    with pytest.raises(ember.OutOfMemoryError, match=r"host:0 out of memory: tried to "
                                                      r"allocate 2.00 KiB"):
        a.malloc(2048)
    assert a.num_ooms == 1 and a.reserved == 3072
    a.free(keep)
    ok = a.malloc(2048)
    assert ok.size == 2048
