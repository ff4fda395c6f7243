"""``DataLoader``: batches of samples, shuffled with a seeded generator, collated into
tensors, loaded in this process or in worker processes (``num_workers``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

from ...tensor import Tensor
from .dataset import Dataset, IterableDataset
from .fetch import IterableFetcher, MapFetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import get_worker_info

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
        if get_worker_info() is not None and _host_leaves(batch):
            return _stack_shared(batch)
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


def _host_leaves(batch: list) -> bool:
    first = batch[0]
    return all(t._device is first._device and t._device.type == "cpu"
               and t.dtype is first.dtype and not t.requires_grad for t in batch)


def _stack_shared(batch: list) -> Tensor:
    """In a worker: stack straight into shared memory, so the batch crosses to the main
    process without another copy (PyTorch's collate does the same)."""
    from ...multiprocessing.shared_memory import shared_empty
    out = shared_empty((len(batch),) + tuple(batch[0].shape), batch[0]._data.dtype)
    np.stack([t._data for t in batch], out=out)
    return Tensor._make(out, batch[0]._device)


class _InfiniteNones:
    """The 'sampler' of an ``IterableDataset``: each task asks for the next batch."""

    def __iter__(self):
        return self

    def __next__(self):
        return None


class DataLoader:
    """Iterates over ``dataset`` in batches (``torch.utils.data.DataLoader``).

    ``shuffle=True`` draws a new order each epoch from ``generator`` (or ember's default
    CPU generator, so ``ember.manual_seed`` makes it reproducible).  A
    ``TensorDataset`` with the default collate is batched by indexing its tensors once
    per batch instead of stacking single samples.

    ``num_workers > 0`` loads in that many worker processes (``ember.multiprocessing``;
    ``multiprocessing_context``: a start method name or context, default the platform's),
    each seeded from a base seed drawn from ``generator`` once per iterator (see
    ``ember.utils.data.worker``), with ``prefetch_factor`` batches in flight per worker;
    batches come back in sampler order through shared memory.  ``persistent_workers``
    keeps the processes across epochs.  ``timeout`` (seconds, 0: none) bounds the wait
    for one batch; a worker's exception re-raises here with its traceback and id, and a
    worker that dies raises ``RuntimeError`` instead of hanging.  ``pin_memory`` is
    accepted for PyTorch code; no ember backend has page-locked host buffers yet, so it
    changes nothing (on the CPU there is nothing to pin).
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Sampler | None = None,
                 batch_sampler: Sampler | None = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 **kwargs) -> None:
        if kwargs:
            raise TypeError(f"DataLoader: unexpected keyword argument(s) {sorted(kwargs)}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) \
                or num_workers < 0:
            raise ValueError(f"num_workers option should be non-negative; use "
                             f"num_workers=0 to disable multiprocessing (got {num_workers!r})")
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative (got {timeout!r})")
        if num_workers == 0:
            if prefetch_factor is not None:
                raise ValueError("prefetch_factor option could only be specified in "
                                 "multiprocessing. let num_workers > 0 to enable "
                                 "multiprocessing, otherwise set prefetch_factor to None.")
            if persistent_workers:
                raise ValueError("persistent_workers option needs num_workers > 0")
            if multiprocessing_context is not None:
                raise ValueError(f"multiprocessing_context can only be used with "
                                 f"multi-process loading (num_workers > 0), but got "
                                 f"num_workers={num_workers}")
        elif prefetch_factor is None:
            prefetch_factor = 2
        if prefetch_factor is not None and (not isinstance(prefetch_factor, int)
                                            or prefetch_factor < 1):
            raise ValueError(f"prefetch_factor option should be a positive integer "
                             f"(got {prefetch_factor!r})")
        if isinstance(multiprocessing_context, str):
            import multiprocessing
            if multiprocessing_context not in multiprocessing.get_all_start_methods():
                raise ValueError(f"multiprocessing_context option should specify a valid "
                                 f"start method in "
                                 f"{multiprocessing.get_all_start_methods()!r}, but got "
                                 f"multiprocessing_context={multiprocessing_context!r}")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler and batch_sampler options")
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
        if sampler is None and not self._iterable:
            sampler = (RandomSampler(dataset, generator=generator) if shuffle
                       else SequentialSampler(dataset))
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self._default_collate = collate_fn is None
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self._pool = None

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._iterable and
                                                  self.batch_size is not None)

    def fetch_spec(self) -> dict:
        """What a worker needs to fetch batches (``ember.utils.data.fetch``)."""
        return {"dataset": self.dataset, "auto_collation": self._auto_collation,
                "collate_fn": self.collate_fn, "default_collate": self._default_collate,
                "batch_size": self.batch_size, "drop_last": self.drop_last}

    def _index_iter(self):
        if self._iterable:
            return _InfiniteNones()
        return iter(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def _base_seed(self) -> int:
        """A fresh base seed for the workers, from ``generator`` (drawn with 0 workers
        too, as PyTorch does, so the sampler's draws do not depend on num_workers)."""
        from ... import ops as _ops
        from ...random import default_generator
        gen = self.generator if self.generator is not None else default_generator("cpu")
        return int(_ops.randint(0, 2 ** 62, (1,), generator=gen, device=gen.device).item())

    def __iter__(self) -> Iterator:
        if self.num_workers == 0:
            self._base_seed()
            return self._single_process()
        if self.persistent_workers and self._pool is not None and not self._pool.closed:
            return self._pool.reset(self._index_iter())
        from .worker_pool import WorkerPool
        pool = WorkerPool(self, self._base_seed())
        if self.persistent_workers:
            self._pool = pool
        return pool.reset(self._index_iter())

    def _single_process(self) -> Iterator:
        if self._iterable:
            fetcher = IterableFetcher(self.dataset, self._auto_collation, self.collate_fn,
                                      self._default_collate, self.batch_size,
                                      self.drop_last)
            while True:
                try:
                    batch = fetcher.fetch()
                except StopIteration:
                    return
                yield batch
        fetcher = MapFetcher(self.dataset, self._auto_collation, self.collate_fn,
                             self._default_collate)
        for index in self._index_iter():
            yield fetcher.fetch(index)

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError when the stream has no length
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __del__(self) -> None:
        pool = self.__dict__.get("_pool")
        if pool is not None:
            pool.shutdown()
