"""The CPU kernels' threads: a batch split into chunks over as many threads as numpy's
BLAS is allowed (``threadpoolctl.threadpool_limits`` or ``OPENBLAS_NUM_THREADS`` set
both, as for PyTorch's ``torch.set_num_threads``).

numpy releases the GIL in its copies, ufunc loops and BLAS calls, so Python threads
that each run a chunk's im2col, product and col2im use every core -- where one big
BLAS call would thread only the product and leave the copies on one core.  While the
chunks run, BLAS is held to one thread: OpenBLAS called from two threads at once with
its own pool of two is many times slower than either alone (both callers wait on the
one pool).  threadpoolctl (the field's tool for exactly this) loads lazily on the first
kernel that asks; without it the kernels run on the calling thread only.
"""

from __future__ import annotations

import threading

_LIBS: tuple | None = None  # threadpoolctl's controllers of the loaded BLAS libraries
_POOL = None  # concurrent.futures.ThreadPoolExecutor, started on first use
_LOCK = threading.Lock()
_ACTIVE = [0, ()]  # parallel regions running now (any thread), BLAS's saved counts
_LOCAL = threading.local()  # .inside: this thread runs chunks already


def _blas():
    global _LIBS
    if _LIBS is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _LIBS = ()
        else:
            _LIBS = tuple(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _LIBS


def threads() -> int:
    """How many threads the kernels may use now: numpy's BLAS's thread count (1 inside
    a chunk, and while another thread's chunks hold BLAS to one thread)."""
    if getattr(_LOCAL, "inside", False):
        return 1
    if _ACTIVE[0]:
        return max([t or 1 for t in _ACTIVE[1]], default=1)
    libs = _blas()
    return max([lib.get_num_threads() or 1 for lib in libs], default=1)


def _enter(libs) -> None:
    with _LOCK:
        if not _ACTIVE[0]:
            _ACTIVE[1] = tuple(lib.get_num_threads() for lib in libs)
            for lib in libs:
                lib.set_num_threads(1)
        _ACTIVE[0] += 1


def _leave(libs) -> None:
    with _LOCK:
        _ACTIVE[0] -= 1
        if not _ACTIVE[0]:  # the last region out gives BLAS its threads back
            for lib, t in zip(libs, _ACTIVE[1], strict=True):
                lib.set_num_threads(t)


def run_chunks(n: int, chunk: int, threads: int, fn) -> None:
    """``fn(start, stop, slot)`` for the chunks ``[start, stop)`` of ``range(n)``, of
    ``chunk`` items each, on up to ``threads`` threads; ``slot`` (0 to threads - 1)
    names the thread, so that ``fn`` may keep one partial result per slot.  The calling
    thread takes slot 0.  Exceptions propagate once every thread has stopped.  Called
    from inside a chunk, it runs on the calling thread alone (no pool thread waits for
    another)."""
    starts = range(0, n, max(1, chunk))
    if getattr(_LOCAL, "inside", False):
        threads = 1
    threads = max(1, min(threads, len(starts)))
    if threads == 1:
        for s in starts:
            fn(s, min(n, s + chunk), 0)
        return

    def work(slot):
        _LOCAL.inside = True
        try:
            for s in starts[slot::threads]:
                fn(s, min(n, s + chunk), slot)
        finally:
            _LOCAL.inside = False

    global _POOL
    with _LOCK:
        if _POOL is None or _POOL._max_workers < threads - 1:
            from concurrent.futures import ThreadPoolExecutor
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(threads - 1, thread_name_prefix="ember-cpu")
        pool = _POOL
    libs = _blas()
    _enter(libs)
    try:
        futures = [pool.submit(work, slot) for slot in range(1, threads)]
        try:
            work(0)
        finally:
            for f in futures:
                f.exception()  # wait for every thread before BLAS gets its threads back
        for f in futures:
            f.result()
    finally:
        _leave(libs)
