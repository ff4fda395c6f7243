"""The DataLoader worker process: ``get_worker_info``, per-worker seeding, the loop that
turns index lists into batches, and how its exceptions travel to the main process.

Each worker seeds ``random``, numpy's global generator and ember's default generators
from the loader's base seed (drawn from the loader's ``generator`` once per iterator, as
PyTorch does) and its id: ``random`` and ember get ``base_seed + worker_id``; numpy gets a
state derived from both through ``numpy.random.SeedSequence`` (so no two workers share a
numpy stream even when seeds are close).  ``worker_init_fn(worker_id)`` runs after
seeding.  Batches go back through an ``ember.multiprocessing`` queue, so their tensors
travel as shared memory (collated straight into it where the default collate stacks).
"""

from __future__ import annotations

import os
import queue
import random
import sys
import traceback

__all__ = ["WorkerInfo", "get_worker_info", "ExceptionWrapper", "IterableEnd",
           "worker_loop", "seed_worker"]

#: How long a worker waits for work before checking that its parent is still alive.
POLL_S = 0.5


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id`` (0-based),
    ``num_workers``, ``seed`` (this worker's, ``base_seed + id``) and ``dataset`` (this
    process's copy)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id: int, num_workers: int, seed: int, dataset) -> None:
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self) -> str:
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, "
                f"seed={self.seed}, dataset={type(self.dataset).__name__})")


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This process's ``WorkerInfo`` in a DataLoader worker, ``None`` in the main
    process (an ``IterableDataset`` reads it to take its share of the stream)."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, with its traceback as text (tracebacks do not
    pickle), re-raised in the main process by ``reraise``."""

    def __init__(self, exc: BaseException, where: str) -> None:
        self.exc_type = type(exc)
        self.msg = (f"Caught {type(exc).__name__} {where}.\nOriginal "
                    + "".join(traceback.format_exception(exc)))

    def reraise(self):
        try:
            err = self.exc_type(self.msg)
        except Exception:  # an exception class that wants other arguments
            raise RuntimeError(self.msg) from None
        raise err


class IterableEnd:
    """A worker's ``IterableDataset`` copy is exhausted for this epoch."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


def seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed ``random``, numpy and ember in a worker; returns the worker's seed."""
    import numpy as np

    from ...random import manual_seed
    seed = base_seed + worker_id
    random.seed(seed)
    manual_seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))
    return seed


def worker_loop(spec: dict, index_queue, result_queue, base_seed: int, worker_id: int,
                num_workers: int, init_fn) -> None:
    """Serve tasks until ``None`` arrives (or the parent process is gone).

    A task is ``(epoch, task_index, indices)``; the answer is
    ``(epoch, task_index, batch | ExceptionWrapper | IterableEnd)``.  An
    ``IterableDataset`` is iterated afresh when a task of a new epoch arrives.
    """
    global _worker_info
    import ember.multiprocessing  # noqa: F401  (tensors travel as shared memory)

    from .fetch import fetcher_for
    parent = os.getppid()
    init_error = None
    try:
        seed = seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(worker_id, num_workers, seed, spec["dataset"])
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:
        init_error = ExceptionWrapper(e, f"in DataLoader worker process {worker_id} "
                                         f"(worker_init_fn)")
    fetcher, epoch_of_fetcher, ended = None, None, False
    try:
        while True:
            try:
                task = index_queue.get(timeout=POLL_S)
            except queue.Empty:
                if os.getppid() != parent:  # the main process died: stop serving
                    break
                continue
            if task is None:
                break
            epoch, idx, indices = task
            if init_error is not None:
                result_queue.put((epoch, idx, init_error))
                continue
            if epoch != epoch_of_fetcher:
                fetcher, epoch_of_fetcher, ended = None, epoch, False
            if ended:  # the main process skips this worker's remaining tasks
                continue
            try:
                if fetcher is None:
                    fetcher = fetcher_for(spec)
                data = fetcher.fetch(indices)
            except StopIteration:
                ended = True
                data = IterableEnd(worker_id)
            except Exception as e:
                data = ExceptionWrapper(e, f"in DataLoader worker process {worker_id}")
            result_queue.put((epoch, idx, data))
            del data
    except KeyboardInterrupt:
        pass
    finally:
        # Exit without waiting for results nobody will read (the main process is
        # shutting down or gone); their shared memory goes with this process.
        result_queue.cancel_join_thread()
        result_queue.close()
        sys.stdout.flush()
