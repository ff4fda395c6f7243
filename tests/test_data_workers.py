"""DataLoader with worker processes (ember.utils.data.worker, worker_pool): PyTorch's
batch order and seeding semantics, batches through shared memory, and clear errors
instead of hangs when a worker raises, dies or is slow.

Each test runs under an alarm (``_deadline``): a hang fails the test instead of the
suite.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import textwrap
import time

import numpy as np
import pytest

import ember
from ember.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset,
                              get_worker_info)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="uses fork and POSIX signals")
CTX = "fork"  # fast to start; one test covers spawn


@pytest.fixture(autouse=True)
def _deadline():
    def fail(signum, frame):
        raise TimeoutError("test exceeded its 60 s deadline (a DataLoader hang?)")
    old = signal.signal(signal.SIGALRM, fail)
    signal.setitimer(signal.ITIMER_REAL, 60)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old)


class Squares(Dataset):
    """Sample i is (i, i*i as a float32 array)."""

    def __init__(self, n: int = 23) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        return i, np.full(3, i * i, dtype=np.float32)


class Sharded(IterableDataset):
    """0..n-1, each worker taking every num_workers-th element from its id."""

    def __init__(self, n: int = 11) -> None:
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        if info is None:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


def _as_lists(batches) -> list:
    return [[np.asarray(part).tolist() for part in b] if isinstance(b, (list, tuple))
            else np.asarray(b).tolist() for b in batches]


def test_batches_match_pytorch_for_the_same_sampler_with_0_and_2_workers():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader as TorchLoader
    from torch.utils.data import Dataset as TorchDataset
    from torch.utils.data import IterableDataset as TorchIterable
    from torch.utils.data import get_worker_info as torch_worker_info

    class TorchSquares(TorchDataset):
        __len__ = Squares.__len__
        __getitem__ = Squares.__getitem__
        __init__ = Squares.__init__

    class TorchSharded(TorchIterable):
        __init__ = Sharded.__init__

        def __iter__(self):
            info = torch_worker_info()
            return iter(range(self.n) if info is None
                        else range(info.id, self.n, info.num_workers))

    # ember's RandomSampler draws from ember's generator (numpy's PCG64), not torch's
    # Philox/MT: the same seed gives a different permutation by design, so both
    # loaders get the same explicit permutation as their sampler.
    order = torch.randperm(23, generator=torch.Generator().manual_seed(7)).tolist()
    for workers in (0, 2):
        kw = dict(batch_size=4, num_workers=workers)
        if workers:
            kw["multiprocessing_context"] = CTX
        ours = _as_lists(DataLoader(Squares(), sampler=order, **kw))
        theirs = _as_lists(TorchLoader(TorchSquares(), sampler=order, **kw))
        assert ours == theirs, workers
        ours = _as_lists(DataLoader(Sharded(), **kw))
        theirs = _as_lists(TorchLoader(TorchSharded(), **kw))
        assert ours == theirs, workers
    assert ours == [[0, 2, 4, 6], [1, 3, 5, 7], [8, 10], [9]]  # worker 0, 1, 0, 1


def test_shuffled_batches_do_not_depend_on_num_workers():
    def run(workers, **kw):
        dl = DataLoader(Squares(), batch_size=5, shuffle=True, num_workers=workers,
                        generator=ember.Generator().manual_seed(11), **kw)
        return [_as_lists(dl) for _ in range(2)]  # two epochs

    zero = run(0)
    assert zero[0] != zero[1]  # a new order each epoch
    assert run(2, multiprocessing_context=CTX) == zero
    assert run(2, multiprocessing_context=CTX, prefetch_factor=1) == zero


class Draws(Dataset):
    """Each sample records which worker made it and what its generators drew."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return [info.id, info.seed, info.num_workers, random.random(),
                float(np.random.rand()), float(ember.rand(1).item()),
                float(os.environ.get("EMBER_TEST_INIT", "-1"))]


def _init(worker_id: int) -> None:
    os.environ["EMBER_TEST_INIT"] = str(worker_id)


def test_workers_are_seeded_reproducibly_from_the_base_seed():
    def run(seed):
        dl = DataLoader(Draws(), batch_size=2, num_workers=2, worker_init_fn=_init,
                        generator=ember.Generator().manual_seed(seed),
                        multiprocessing_context=CTX, collate_fn=lambda b: b)
        return [s for b in dl for s in b]

    a, b, c = run(5), run(5), run(6)
    assert a == b  # the same generator seed: the same draws in every worker
    assert a != c
    by_worker = {s[0]: s for s in a}
    assert sorted(by_worker) == [0, 1]
    w0, w1 = by_worker[0], by_worker[1]
    assert w1[1] == w0[1] + 1 and w0[2] == w1[2] == 2  # seed = base_seed + worker id
    assert w0[3:6] != w1[3:6]  # random, numpy and ember streams differ per worker
    assert [s[6] for s in a] == [float(s[0]) for s in a]  # worker_init_fn ran in each
    # a worker's ember draws are those of ember.manual_seed(its seed)
    ember.manual_seed(w0[1])
    first_of_w0 = next(s for s in a if s[0] == 0)
    assert first_of_w0[5] == float(ember.rand(1).item())


class Failing(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, i):
        if i == 6:
            raise ValueError(f"bad sample {i}")
        return i


def test_a_worker_exception_reraises_with_its_traceback_and_worker_id():
    dl = DataLoader(Failing(), batch_size=2, num_workers=2, multiprocessing_context=CTX)
    got = []
    with pytest.raises(ValueError) as info:
        for b in dl:
            got.append(b.tolist())
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg  # batch 3 -> worker 1
    assert "bad sample 6" in msg and "in __getitem__" in msg  # the worker's traceback
    assert got == [[0, 1], [2, 3], [4, 5]]

    def bad_init(worker_id):
        raise KeyError("no such resource")
    dl = DataLoader(Failing(), num_workers=1, worker_init_fn=bad_init,
                    multiprocessing_context=CTX)
    with pytest.raises(KeyError, match="worker process 0 \\(worker_init_fn\\)"):
        next(iter(dl))


class Killer(Dataset):
    def __len__(self) -> int:
        return 10

    def __getitem__(self, i):
        if i == 4:
            time.sleep(0.3)  # (lets the batch sent before reach the queue)
            os.kill(os.getpid(), signal.SIGKILL)
        return i


def test_a_killed_worker_raises_instead_of_hanging():
    dl = DataLoader(Killer(), batch_size=2, num_workers=2, multiprocessing_context=CTX)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"exited unexpectedly: pid \d+ \(killed by "
                                           r"signal SIGKILL\)"):
        for _ in dl:
            pass
    assert time.monotonic() - t0 < 15
    # The worker dies after sending a batch this process has not unpickled yet (its
    # shared memory is handed over by the dead worker): the same clear error.
    it = iter(DataLoader(Killer(), batch_size=2, num_workers=2,
                         multiprocessing_context=CTX))
    time.sleep(1.0)  # worker 0 sends batch 0, then dies on batch 2
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        for _ in it:
            pass


class Slow(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, i):
        time.sleep(30 if i == 2 else 0)
        return i


def test_timeout_raises_a_clear_error():
    dl = DataLoader(Slow(), num_workers=1, timeout=0.5, multiprocessing_context=CTX)
    t0 = time.monotonic()
    it = iter(dl)
    assert [next(it).item(), next(it).item()] == [0, 1]
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
        next(it)
    assert time.monotonic() - t0 < 10  # the slow worker was terminated, not awaited


def _wait_dead(procs, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while any(p.is_alive() for p in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(p.is_alive() for p in procs)


def test_break_and_delete_shut_workers_down_and_persistent_workers_stay():
    x = ember.arange(40.0).reshape(20, 2)
    dl = DataLoader(TensorDataset(x), batch_size=2, num_workers=2,
                    multiprocessing_context=CTX)
    it = iter(dl)
    (first,) = next(it)
    assert first.is_shared()  # the batch came back through shared memory
    assert first.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    procs = list(it.workers)
    assert all(p.is_alive() for p in procs)
    del it  # (what `break` out of a for loop does to the loop's iterator)
    assert _wait_dead(procs)

    dl = DataLoader(TensorDataset(x), batch_size=4, num_workers=2, persistent_workers=True,
                    multiprocessing_context=CTX)
    epochs = []
    for _ in range(2):
        epochs.append([b[0].sum().item() for b in dl])
        procs_now = list(dl._pool.workers)
        assert all(p.is_alive() for p in procs_now)
    assert epochs[0] == epochs[1] and sum(epochs[0]) == float(x.sum())
    for _ in zip(range(2), dl, strict=False):  # an abandoned epoch ...
        pass
    assert [b[0].sum().item() for b in dl] == epochs[0]  # ... leaves no stale batches
    del dl
    assert _wait_dead(procs_now)


def test_spawn_context_and_argument_errors():
    x = ember.arange(12.0)
    dl = DataLoader(TensorDataset(x), batch_size=5, num_workers=1,
                    multiprocessing_context="spawn")
    assert [b[0].tolist() for b in dl] == [[0.0, 1, 2, 3, 4], [5.0, 6, 7, 8, 9], [10.0, 11]]
    ds = Squares()
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="valid start method"):
        DataLoader(ds, num_workers=1, multiprocessing_context="teleport")
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(ds, num_workers=1, timeout=-1)
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle"):
        DataLoader(Sharded(), shuffle=True)
    assert DataLoader(ds, pin_memory=True).pin_memory  # accepted; nothing to pin on CPU


def test_workers_exit_when_the_main_process_is_killed():
    import subprocess
    code = textwrap.dedent("""
        import os, signal, sys, time
        import ember
        from ember.utils.data import DataLoader, TensorDataset
        dl = DataLoader(TensorDataset(ember.arange(100.0)), batch_size=2, num_workers=2,
                        multiprocessing_context='fork')
        it = iter(dl)
        next(it)
        print(' '.join(str(p.pid) for p in it.workers), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]  # (the alarm bounds this)
    proc.wait(30)
    proc.stdout.close()
    assert len(pids) == 2

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(")")[-1].split()[0] != "Z"
        except FileNotFoundError:
            return False
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = [p for p in pids if alive(p)]
    for p in orphans:  # (do not leave them running when the test fails)
        os.kill(p, signal.SIGKILL)
    assert not orphans, "orphaned DataLoader workers kept running"
