"""``ember.nn.parallel``: data parallelism across processes."""

from __future__ import annotations

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
