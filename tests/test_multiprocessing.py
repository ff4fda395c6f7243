"""ember.multiprocessing: CPU tensors cross processes as shared memory (no copy, writes
seen both ways), the memory goes when the last process drops it, nothing is left in
/dev/shm (also after kill -9 of a child), and Hogwild training works.

Every test that starts processes bounds its waits (queue/join timeouts, or a
subprocess run with a timeout), so a broken implementation fails instead of hanging.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="shared-memory checks read Linux's /proc and /dev/shm")

ROOT = pathlib.Path(__file__).resolve().parents[1]
WAIT = 30  # seconds any single wait may take on a loaded machine before the test fails


def _mp():
    import ember.multiprocessing as mp
    return mp.get_context("fork")


def _ember_segments() -> set[str]:
    return {n for n in os.listdir("/dev/shm") if n.startswith("ember_")}


def _memfd_mappings(pid: int | str = "self") -> int:
    with open(f"/proc/{pid}/maps") as f:
        return sum("memfd:ember_shared" in line for line in f)


def _run(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` as a fresh program (so 'after the processes exit' includes this
    program's exit), failing the test if it does not finish within ``timeout``."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=timeout, env=os.environ.copy())
    assert r.returncode == 0, r.stdout + r.stderr
    return r


# -- children (module level: the fork context runs them; spawn would import them) -------
def _add_one_and_report(q_in, q_out):
    t = q_in.get(timeout=WAIT)
    t.add_(1)  # the parent must see this
    q_out.put(("mutated", t.is_shared()))
    q_in.get(timeout=WAIT)  # the parent's write is done
    q_out.put(float(t[-1, -1]))


def _send_big(q, nbytes, ready):
    t = ember.ones(nbytes // 4).share_memory_()
    q.put((time.perf_counter(), t))
    ready.get(timeout=WAIT)  # stay alive until the parent has mapped it


def test_256mb_tensor_arrives_in_under_50ms_and_mutations_are_seen_both_ways():
    mp = _mp()
    q, ready = mp.Queue(), mp.Queue()
    p = mp.Process(target=_send_big, args=(q, 256 << 20, ready))
    p.start()
    try:
        sent_at, t = q.get(timeout=WAIT)
        elapsed = time.perf_counter() - sent_at
        ready.put(None)
        assert t.shape == (64 << 20,) and t.is_shared()
        assert elapsed < 0.050, f"256 MB tensor took {elapsed * 1e3:.1f} ms"
    finally:
        p.join(WAIT)
    assert p.exitcode == 0
    # the sender has exited: the pages live on in this process
    assert float(t[:1000].sum()) == 1000.0

    q_in, q_out = mp.Queue(), mp.Queue()
    t = ember.zeros(1024, 1024)
    p = mp.Process(target=_add_one_and_report, args=(q_in, q_out))
    p.start()
    try:
        q_in.put(t)
        assert q_out.get(timeout=WAIT) == ("mutated", True)
        assert t.is_shared()  # sending moved it into shared memory
        assert float(t.sum()) == 1024 * 1024  # the child's add_ shows here
        t[-1, -1] = 41.0
        q_in.put(None)
        assert q_out.get(timeout=WAIT) == 41.0  # and this write shows there
    finally:
        p.join(WAIT)
    assert p.exitcode == 0


def _echo(q_in, q_out):
    for _ in range(3):
        q_out.put(q_in.get(timeout=WAIT))
    # The receiver takes the descriptors from this process: stay until it has them.
    q_in.get(timeout=WAIT)


def test_views_parameters_and_dtypes_keep_their_meaning():
    mp = _mp()
    base = ember.arange(24, dtype=ember.float64).reshape(4, 6).share_memory_()
    view = base[1:, ::2]  # an offset, strided view of the shared segment
    param = ember.nn.Parameter(ember.ones(3, dtype=ember.bfloat16))  # (numpy: "V2")
    q_in, q_out = mp.Queue(), mp.Queue()
    p = mp.Process(target=_echo, args=(q_in, q_out))
    p.start()
    try:
        for x in (view, param, ember.tensor([True, False])):
            q_in.put(x)
        got_view, got_param, got_bool = (q_out.get(timeout=WAIT) for _ in range(3))
        q_in.put(None)
    finally:
        p.join(WAIT)
    np.testing.assert_array_equal(got_view.numpy(), view.numpy())
    got_view[0, 0] = -1.0  # it maps the same element of the same pages
    assert float(base[1, 0]) == -1.0
    assert isinstance(got_param, ember.nn.Parameter) and got_param.requires_grad
    assert got_param.dtype == ember.bfloat16 and got_param.tolist() == [1.0] * 3
    assert got_bool.tolist() == [True, False]


def test_what_cannot_or_need_not_travel():
    import ember.multiprocessing as mp  # registers the reducer
    from multiprocessing.reduction import ForkingPickler
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf tensor which requires grad"):
        ForkingPickler.dumps(x * 2)
    with pytest.raises(TypeError, match="not picklable"):  # plain pickle still refuses
        pickle.dumps(ember.ones(2))
    with pytest.raises(ValueError, match="unknown strategy"):
        mp.set_sharing_strategy("nope")
    assert mp.get_all_sharing_strategies() == {"file_descriptor", "file_system"}
    assert not ember.ones(2).is_shared()
    assert ember.empty(0).share_memory_().is_shared()


def test_import_ember_does_not_import_multiprocessing():
    r = _run("""
        import sys, ember, ember.nn, ember.utils.data
        print(sorted(m for m in sys.modules if 'multiprocessing' in m))
    """)
    assert r.stdout.strip() == "[]"


@pytest.mark.parametrize("strategy", ["file_descriptor", "file_system"])
def test_memory_is_freed_when_the_last_process_drops_it(strategy):
    before = _ember_segments()
    r = _run(f"""
        import gc, os, time
        import ember, ember.multiprocessing as mp
        mp.set_sharing_strategy({strategy!r})

        def maps():
            with open('/proc/self/maps') as f:
                return sum('memfd:ember_shared' in l or '/ember_' in l for l in f)

        def child(q, back):
            t = q.get(timeout=30)
            back.put(float(t.sum()))
            del t; gc.collect()
            back.put(maps())

        ctx = mp.get_context('fork')
        q, back = ctx.Queue(), ctx.Queue()
        p = ctx.Process(target=child, args=(q, back)); p.start()
        t = ember.ones(1000).share_memory_()
        names = [n for n in os.listdir('/dev/shm') if n.startswith('ember_')]
        q.put(t)
        assert back.get(timeout=30) == 1000.0
        assert back.get(timeout=30) == 0, 'the child still maps the segment'
        p.join(30)
        assert maps() == 1
        del t; gc.collect()
        assert maps() == 0, 'this process still maps the segment'
        left = [n for n in names if os.path.exists('/dev/shm/' + n)]
        assert not left, left
        print(len(names))
    """)
    # file_system makes one named segment, file_descriptor none at all
    assert r.stdout.strip() == ("1" if strategy == "file_system" else "0")
    assert _ember_segments() <= before


@pytest.mark.parametrize("strategy", ["file_descriptor", "file_system"])
def test_nothing_is_left_after_kill_9_of_a_child(strategy):
    before = _ember_segments()
    r = _run(f"""
        import os, signal, time
        import ember, ember.multiprocessing as mp
        mp.set_sharing_strategy({strategy!r})

        def child(q):
            t = ember.arange(10.0).share_memory_()   # created by the child
            keep = ember.zeros(1 << 20).share_memory_()  # never sent: dies with it
            q.put(t)
            time.sleep(60)

        ctx = mp.get_context('fork')
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q,)); p.start()
        t = q.get(timeout=30)
        os.kill(p.pid, signal.SIGKILL); p.join(30)
        assert p.exitcode == -signal.SIGKILL
        assert t.tolist() == [float(i) for i in range(10)]  # still mapped here
        t.add_(1)
        print([n for n in os.listdir('/dev/shm') if n.startswith('ember_')])
    """)
    # after the program (and its resource tracker) exit, no segment of it is left
    deadline = time.monotonic() + 10
    while _ember_segments() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (_ember_segments() - before), r.stdout


def _load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_hogwild_two_processes_reach_single_process_accuracy():
    pytest.importorskip("sklearn")
    hogwild = _load_example("hogwild")
    res = hogwild.main(["--num-processes", "2", "--epochs", "4", "--compare"])
    # If the processes trained copies instead of the shared weights, the parent's model
    # would still be untrained (~10%).
    assert res["single_accuracy"] > 0.85
    assert res["hogwild_accuracy"] >= res["single_accuracy"] - 0.02


def _rebuild_marked(values):
    t = ember.tensor(values)
    t._came_through_plugin = True
    return t


class _MetaSharer:
    """A plugin saying how meta tensors travel (as a marked CPU tensor of zeros)."""

    EMBER_PLUGIN_API = "1.1"

    @ember.hookimpl
    def ember_tensor_reduce(self, tensor, strategy):
        if tensor.device.type != "meta":
            return None
        return _rebuild_marked, ([0.0] * tensor.numel(),)


def test_a_plugin_hook_decides_how_its_tensors_travel():
    from multiprocessing.reduction import ForkingPickler

    import ember.multiprocessing  # (registers the reducer)
    meta = ember.empty(3, device="meta")
    plain = ForkingPickler.loads(ForkingPickler.dumps(meta))
    assert plain.device.type == "meta" and plain.shape == (3,)  # the core's default
    ember.plugins.register(_MetaSharer(), name="meta_sharer")
    try:
        got = ForkingPickler.loads(ForkingPickler.dumps(meta))
        assert getattr(got, "_came_through_plugin", False) and got.tolist() == [0.0] * 3
        cpu = ForkingPickler.loads(ForkingPickler.dumps(ember.ones(2)))
        assert cpu.is_shared() and not hasattr(cpu, "_came_through_plugin")
    finally:
        ember.plugins.unregister("meta_sharer")


def test_a_device_tensor_without_a_hook_travels_as_a_host_copy():
    if not ember.is_available("reference"):
        pytest.skip("the reference backend is not installed")
    mp = _mp()
    x = ember.arange(6.0, device="reference", requires_grad=True)
    q_in, q_out = mp.Queue(), mp.Queue()
    p = mp.Process(target=_echo, args=(q_in, q_out))
    p.start()
    try:
        for _ in range(3):
            q_in.put(x)
        got = [q_out.get(timeout=WAIT) for _ in range(3)]
        q_in.put(None)
    finally:
        p.join(WAIT)
    assert str(got[0].device) == str(x.device) and got[0].requires_grad
    assert got[0].tolist() == x.tolist()
    with ember.no_grad():
        got[0].add_(1)  # a copy: the sender's tensor does not change
    assert x.tolist() == [0.0, 1, 2, 3, 4, 5]
