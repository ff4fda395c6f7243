"""The main-process side of ``DataLoader(num_workers > 0)``: start workers, keep
``prefetch_factor`` tasks in flight per worker, return batches in sampler order, and
turn worker failures into errors instead of hangs.

Tasks go round-robin to the workers (PyTorch's order, so batches match its loader's for
the same sampler); answers that arrive early wait until their turn.  While waiting, the
pool checks every ``POLL_S`` that its workers are alive: a worker that died (killed,
segfault) raises ``RuntimeError`` naming its pid and exit code, and ``timeout > 0``
bounds the wait for any one batch.  ``shutdown`` (also on ``__del__``, so ``break`` out
of a loop cleans up) stops the workers, terminating those that do not stop in time.
"""

from __future__ import annotations

import itertools
import queue
import signal
import time

from .worker import ExceptionWrapper, IterableEnd, worker_loop

__all__ = ["WorkerPool", "POLL_S", "JOIN_S"]

#: How often a waiting main process checks that its workers are alive.
POLL_S = 0.2
#: How long shutdown waits for a worker to exit before terminating it.
JOIN_S = 5.0


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class WorkerPool:
    """Worker processes serving one loader; an iterator over its batches per epoch
    (``reset`` starts the next epoch with the same processes: persistent workers)."""

    def __init__(self, loader, base_seed: int) -> None:
        import ember.multiprocessing as mp  # registers the tensor reducer first
        ctx = loader.multiprocessing_context
        if ctx is None:
            ctx = mp.get_context()
        elif isinstance(ctx, str):
            ctx = mp.get_context(ctx)
        # (no reference to the loader: a persistent loader holds its pool, and the
        # pool must not keep the loader from being freed, which shuts the pool down)
        self.persistent = loader.persistent_workers
        self.timeout = loader.timeout
        self.prefetch = loader.prefetch_factor
        self.n = loader.num_workers
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        self.closed = False
        self.epoch = 0
        spec = loader.fetch_spec()
        try:
            for w in range(self.n):
                iq = ctx.Queue()
                p = ctx.Process(target=worker_loop, daemon=True, name=f"DataLoader-{w}",
                                args=(spec, iq, self.result_queue, base_seed, w, self.n,
                                      loader.worker_init_fn))
                p.start()
                self.index_queues.append(iq)
                self.workers.append(p)
        except BaseException:
            self.shutdown()
            raise

    # -- one epoch ------------------------------------------------------------------------
    def reset(self, sampler_iter) -> WorkerPool:
        """Start an epoch over ``sampler_iter`` (index lists, or ``None``s for an
        ``IterableDataset``): results of an earlier, abandoned epoch are dropped."""
        self.epoch += 1
        self.sampler_iter = sampler_iter
        self.send_idx = self.rcvd_idx = 0
        self.pending: dict[int, list] = {}  # task -> [worker] or [worker, data]
        self.active = [True] * self.n
        self.cycle = itertools.cycle(range(self.n))
        for _ in range(self.prefetch * self.n):
            self._put_task()
        return self

    def _put_task(self) -> None:
        if not any(self.active):
            return
        try:
            indices = next(self.sampler_iter)
        except StopIteration:
            return
        w = next(self.cycle)
        while not self.active[w]:
            w = next(self.cycle)
        self.index_queues[w].put((self.epoch, self.send_idx, indices))
        self.pending[self.send_idx] = [w]
        self.send_idx += 1

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            # Skip the tasks of workers whose iterable ran out (they will not answer).
            while self.rcvd_idx < self.send_idx:
                entry = self.pending[self.rcvd_idx]
                if len(entry) == 2 or self.active[entry[0]]:
                    break
                del self.pending[self.rcvd_idx]
                self.rcvd_idx += 1
            else:
                if not self.persistent:
                    self.shutdown()
                raise StopIteration
            entry = self.pending[self.rcvd_idx]
            if len(entry) == 2:
                return self._deliver(entry[1])
            epoch, idx, data = self._get()
            if epoch != self.epoch:
                continue  # an answer to an abandoned epoch
            if isinstance(data, IterableEnd):
                self.active[data.worker_id] = False
                continue
            if idx == self.rcvd_idx:
                return self._deliver(data)
            self.pending[idx].append(data)

    def _deliver(self, data):
        del self.pending[self.rcvd_idx]
        self.rcvd_idx += 1
        self._put_task()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _get(self):
        """The next answer of any worker; raises when a worker died or ``timeout``
        passed."""
        if self.closed:
            raise RuntimeError("DataLoader: this iterator's workers were shut down")
        deadline = time.monotonic() + self.timeout if self.timeout > 0 else None
        while True:
            wait = POLL_S if deadline is None else max(0.0, min(
                POLL_S, deadline - time.monotonic()))
            try:
                return self.result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            except (ConnectionError, EOFError, FileNotFoundError) as e:
                # A batch's shared memory is handed over by the worker that made it:
                # it died before this process took it.
                self._raise_if_dead(settle_s=2.0, cause=e)
                raise
            self._raise_if_dead()
            if deadline is not None and time.monotonic() >= deadline:
                self.shutdown(join_s=0.5)
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                   f"waiting for a batch from its workers")

    def _raise_if_dead(self, settle_s: float = 0.0, cause: BaseException | None = None):
        """Raise the dead-worker error if a worker has exited (waiting up to
        ``settle_s`` for a dying one to be seen as dead)."""
        deadline = time.monotonic() + settle_s
        while True:
            dead = [p for p in self.workers if not p.is_alive()]
            if dead or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        if not dead:
            return
        self.shutdown(join_s=0.5)
        desc = ", ".join(f"pid {p.pid} ({_exit_text(p.exitcode)})" for p in dead)
        raise RuntimeError(f"DataLoader worker(s) exited unexpectedly: {desc}. A worker "
                           f"may have been killed (out of memory?) or crashed in native "
                           f"code; run with num_workers=0 to see the error in this "
                           f"process") from cause

    # -- shutdown -----------------------------------------------------------------------------
    def shutdown(self, join_s: float = JOIN_S) -> None:
        """Stop the workers (idempotent), terminating those still running after
        ``join_s`` seconds."""
        if self.closed:
            return
        self.closed = True
        for iq, p in zip(self.index_queues, self.workers, strict=False):
            if p.is_alive():
                try:
                    iq.put(None)
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + join_s
        for p in self.workers:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(1.0)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self) -> None:
        try:
            self.shutdown()
        except Exception:  # interpreter teardown: the processes die with it anyway
            pass
