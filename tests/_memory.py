"""Memory measurements shared by the tests (no PyTorch needed)."""

from __future__ import annotations

import gc
import tracemalloc


def peak_bytes(fn) -> int:
    """Peak Python-traced memory of one call of ``fn`` (after a warm-up call, which fills
    dispatch and allocator caches), over what was allocated before it: for "memory grows
    linearly" checks."""
    gc.collect()
    fn()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
