"""Fetchers: turn what the sampler hands out into a batch, the same way in the main
process and in a worker.

A map-style fetcher gets a list of indices (or one index without auto-batching) and
collates the samples; an iterable fetcher ignores the index and takes the next
``batch_size`` samples of its iterator.
"""

from __future__ import annotations

import numpy as np

from .dataset import TensorDataset

__all__ = ["MapFetcher", "IterableFetcher", "fetcher_for"]


class MapFetcher:
    """Batches of ``dataset[i]`` for the indices it is given."""

    def __init__(self, dataset, auto_collation: bool, collate_fn,
                 default_collate: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        # A TensorDataset with the default collate is batched by indexing its tensors
        # once per batch instead of stacking single samples.
        self.fast = default_collate and isinstance(dataset, TensorDataset)
        self.default_collate = default_collate

    def fetch(self, index):
        ds = self.dataset
        if not self.auto_collation:
            item = ds[index]
            return item if self.default_collate else self.collate_fn(item)
        if self.fast:
            from ... import ops as _ops
            from ...tensor import tensor
            idx = tensor(np.asarray(index, dtype=np.int64))
            return tuple(_ops.index_select(t, 0, idx.to(t.device)) for t in ds.tensors)
        return self.collate_fn([ds[i] for i in index])


class IterableFetcher:
    """The next batch of an ``IterableDataset``'s iterator; ``StopIteration`` at its
    end (a last short batch is dropped with ``drop_last``)."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, default_collate: bool,
                 batch_size: int | None, drop_last: bool) -> None:
        self.it = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.default_collate = default_collate
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, index=None):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            item = next(self.it)
            return item if self.default_collate else self.collate_fn(item)
        batch = []
        for item in self.it:
            batch.append(item)
            if len(batch) == self.batch_size:
                break
        else:
            self.ended = True
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                raise StopIteration
        return self.collate_fn(batch)


def fetcher_for(spec: dict):
    """A fetcher from a loader's ``fetch_spec`` (what a worker process receives)."""
    from .dataset import IterableDataset
    if isinstance(spec["dataset"], IterableDataset):
        return IterableFetcher(spec["dataset"], spec["auto_collation"], spec["collate_fn"],
                               spec["default_collate"], spec["batch_size"],
                               spec["drop_last"])
    return MapFetcher(spec["dataset"], spec["auto_collation"], spec["collate_fn"],
                      spec["default_collate"])
