"""``DataLoader``: batches of samples, shuffled with a seeded generator, collated into
tensors."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from ...tensor import Tensor
from .dataset import Dataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch: list):
    """Stack a list of samples into a batch, recursing into tuples, lists and dicts:
    tensors are stacked along a new first dim, numbers and numpy arrays become tensors,
    strings stay lists."""
    from ... import ops as _ops
    from ...tensor import tensor
    if not batch:
        raise ValueError("default_collate(): got an empty batch")
    first = batch[0]
    if isinstance(first, Tensor):
        shapes = {tuple(t.shape) for t in batch}
        if len(shapes) != 1:
            raise RuntimeError(f"default_collate(): stack expects each tensor to be equal "
                               f"size, but got {sorted(shapes)}")
        return _ops.stack(batch, 0)
    if isinstance(first, np.ndarray):
        return tensor(np.stack(batch))
    if isinstance(first, (bool, int, float, np.number)):
        return tensor(batch)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # namedtuple
        return type(first)(*(default_collate(list(s)) for s in zip(*batch, strict=True)))
    if isinstance(first, Sequence):
        n = len(first)
        if any(len(b) != n for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        cols = [default_collate(list(s)) for s in zip(*batch, strict=True)]
        return tuple(cols) if isinstance(first, tuple) else cols
    raise TypeError(f"default_collate(): batch must contain tensors, numpy arrays, numbers, "
                    f"dicts or lists; found {type(first).__name__}")


class DataLoader:
    """Iterates over ``dataset`` in batches.

    ``shuffle=True`` draws a new order each epoch from ``generator`` (or ember's default
    CPU generator, so ``ember.manual_seed`` makes it reproducible).  A
    ``TensorDataset`` with the default collate is batched by indexing its tensors once
    per batch instead of stacking single samples.  Loading happens in this process
    (``num_workers`` must be 0).
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | None = None,
                 batch_sampler: Sampler | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 generator=None, **kwargs) -> None:
        if num_workers != 0:
            raise ValueError("DataLoader: num_workers > 0 is not supported (loading runs "
                             "in the main process)")
        if kwargs:
            raise TypeError(f"DataLoader: unexpected keyword argument(s) {sorted(kwargs)}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self._default_collate = collate_fn is None
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def _fetch(self, indices: list[int]):
        ds = self.dataset
        if self._default_collate and isinstance(ds, TensorDataset):
            from ...tensor import tensor
            from ... import ops as _ops
            idx = tensor(np.asarray(indices, dtype=np.int64))
            return tuple(_ops.index_select(t, 0, idx.to(t.device)) for t in ds.tensors)
        return self.collate_fn([ds[i] for i in indices])

    def __iter__(self) -> Iterator:
        if self.batch_sampler is None:
            for i in self.sampler:
                item = self.dataset[i]
                yield item if self._default_collate else self.collate_fn(item)
            return
        for indices in self.batch_sampler:
            yield self._fetch(list(indices))

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)
