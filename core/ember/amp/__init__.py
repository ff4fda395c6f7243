"""ember.amp: automatic mixed precision (``autocast`` regions and ``GradScaler``).

``with ember.autocast("cuda"):`` runs matrix products and convolutions in float16
(bfloat16 on the CPU) and range-hungry ops in float32 (:mod:`.policy` lists which);
``GradScaler`` scales the loss so float16 gradients do not underflow, unscales them
before the optimizer step and skips steps whose gradients overflowed.  See docs/amp.md.
"""

from __future__ import annotations

from . import policy
from .autocast_mode import (autocast, clear_autocast_cache, get_autocast_dtype,
                            is_autocast_cache_enabled, is_autocast_enabled)
from .grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype",
           "is_autocast_cache_enabled", "clear_autocast_cache", "policy"]
