"""The CPU kernels' threads: a batch split into chunks over as many threads as numpy's
BLAS is allowed (``threadpoolctl.threadpool_limits`` or ``OPENBLAS_NUM_THREADS`` set
both, as for PyTorch's ``torch.set_num_threads``).

numpy releases the GIL in its copies, ufunc loops and BLAS calls, so Python threads
that each run a chunk's im2col, product and col2im use every core -- where one big
BLAS call would thread only the product and leave the copies on one core.  Threads take
the next chunk as they finish one (a thread the OS delays holds up no other's chunks),
and a chunk's number, not its thread, names its partial result, so a kernel's result
does not depend on which thread ran what.

One pool at a time does the parallel work, as PyTorch's one intra-op pool (its MKL
shares its OpenMP threads).  numpy's OpenBLAS keeps a pool of its own, whose idle
threads spin on a core for tens of milliseconds after each threaded product (measured
here: ~50 ms of CPU per idle spell, no ``sched_yield``): beside the chunks' threads
that is one thread too many for the cores, and a chunk waits whole scheduler slices.
So

- while the chunks run, BLAS is held to one thread (``threadpoolctl``): OpenBLAS
  called from two threads at once with its own pool of two is many times slower than
  either alone, and its pool must not wake;
- ``product`` runs the linear layers' products that are too small for a second BLAS
  thread to pay for that spin on one BLAS thread.

OpenBLAS's thread count is process-wide (numpy's wheel builds it with pthreads, where
``openblas_set_num_threads_local`` sets the same global: measured), so the limit is
too; it lasts while a kernel runs, and regions running at once share one save and
restore.  threadpoolctl (the field's tool for exactly this) loads lazily on the first
kernel that asks; without it the kernels run on the calling thread only.
"""

from __future__ import annotations

import threading

_LIBS: tuple | None = None  # threadpoolctl's controllers of the loaded BLAS libraries
_POOL = None  # concurrent.futures.ThreadPoolExecutor, started on first use
_LOCK = threading.Lock()
_ACTIVE = [0, ()]  # BLAS holds running now (any thread), BLAS's saved counts
_LOCAL = threading.local()  # .inside: this thread runs chunks already
_CORES: int | None = None

#: OpenBLAS runs a product of at most this many multiply-adds on one thread by itself
#: (its GEMM_MULTITHREAD_THRESHOLD, 4 x 65536): no need to hold it
SERIAL_BY_ITSELF = 1 << 18
#: products of fewer multiply-adds run on one BLAS thread while the kernels may use
#: several: a second BLAS thread saves them at most ~50 us (8M multiply-adds take
#: ~0.15 ms on one core here), less than its idle spin then costs the next
#: convolution's or pooling's threads
_THREADED_PRODUCT = 1 << 23


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


def cores() -> int:
    """How many cores this process may run on (its CPU affinity): the most threads
    that can run at once."""
    global _CORES
    if _CORES is None:
        import os
        try:
            _CORES = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # (no affinity on macOS and Windows)
            _CORES = os.cpu_count() or 1
    return _CORES


def threads() -> int:
    """How many threads the kernels may use now: numpy's BLAS's thread count (1 inside
    a chunk, and while another thread's chunks hold BLAS to one thread)."""
    if getattr(_LOCAL, "inside", False):
        return 1
    if _ACTIVE[0]:
        return max([t or 1 for t in _ACTIVE[1]], default=1)
    libs = _blas()
    return max([lib.get_num_threads() or 1 for lib in libs], default=1)


#: Below this many elements a kernel runs on one thread: handing chunks to the pool and
#: holding BLAS to one thread cost more than a second core saves (measured: the
#: cnn-small step of benchmarks/train_step.py, 65K-150K elements a kernel, took 3.5 ms
#: on 2 threads against 2.7 ms on 1; 2.6 ms on 2 with this rule).
MIN_PARALLEL_ELEMENTS = 1 << 18


def threads_for(elements: int) -> int:
    """How many threads a kernel touching ``elements`` elements should use: one below
    :data:`MIN_PARALLEL_ELEMENTS`, else :func:`threads`."""
    return 1 if elements < MIN_PARALLEL_ELEMENTS else threads()


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
        if not _ACTIVE[0]:  # the last one out gives BLAS its threads back
            for lib, t in zip(libs, _ACTIVE[1], strict=True):
                lib.set_num_threads(t)


def product(fn, macs: int, *args):
    """``fn(*args)``, a BLAS product of ``macs`` multiply-adds (per BLAS call), on one
    BLAS thread where a second would not pay for its idle spin (see the module
    docstring); BLAS gets its thread count back afterwards."""
    if macs <= SERIAL_BY_ITSELF or macs >= _THREADED_PRODUCT or _ACTIVE[0] \
            or getattr(_LOCAL, "inside", False):
        return fn(*args)  # (one BLAS thread already, or worth several)
    libs = _blas()
    if max([lib.get_num_threads() or 1 for lib in libs], default=1) == 1:
        return fn(*args)
    _enter(libs)
    try:
        return fn(*args)
    finally:
        _leave(libs)


def run_chunks(n: int, chunk: int, threads: int, fn) -> None:
    """``fn(start, stop, index)`` for the chunks ``[start, stop)`` of ``range(n)``, of
    ``chunk`` items each, on up to ``threads`` threads; ``index`` numbers the chunk
    (0, 1, ...), so that ``fn`` may keep one partial result per chunk and sum them in
    order (the same result on any number of threads).  Each thread takes the next
    chunk when it finishes one; the calling thread takes part.  After an error no
    chunk starts; the exception propagates once every thread has stopped.  Called from
    inside a chunk, it runs on the calling thread alone (no pool thread waits for
    another)."""
    chunk = max(1, chunk)
    count = -(-n // chunk) if n > 0 else 0
    if getattr(_LOCAL, "inside", False):
        threads = 1
    threads = max(1, min(threads, count))
    if threads == 1:
        for i in range(count):
            fn(i * chunk, min(n, i * chunk + chunk), i)
        return

    taken = [0]  # the next chunk's index (under ``grab``)
    grab = threading.Lock()
    failed = []

    def work():
        _LOCAL.inside = True
        try:
            while not failed:
                with grab:
                    i = taken[0]
                    taken[0] = i + 1
                if i >= count:
                    return
                try:
                    fn(i * chunk, min(n, i * chunk + chunk), i)
                except BaseException:
                    failed.append(i)
                    raise
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
        futures = [pool.submit(work) for _ in range(threads - 1)]
        try:
            work()
        finally:
            for f in futures:
                f.exception()  # wait for every thread before BLAS gets its threads back
        for f in futures:
            f.result()
    finally:
        _leave(libs)
