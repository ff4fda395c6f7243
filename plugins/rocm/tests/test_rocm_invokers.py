"""rocm's kernel invokers (``ember_rocm.kernels.invokers``): one per argument signature in
a process, kept on disk for the next process, and calls through them are right."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import needs_rocm

pytestmark = [pytest.mark.rocm, needs_rocm]

SOURCE = """
__kernel void axpy(__global float* y, const long n, __global const float* x, const float a)
{ const long i = get_global_id(0); if (i < n) y[i] += a * x[i]; }
__kernel void axpy2(__global float* y, const long n, __global const float* x, const float a)
{ const long i = get_global_id(0); if (i < n) y[i] += 2 * a * x[i]; }
__kernel void shift(__global float* y, const long n, const double s)
{ const long i = get_global_id(0); if (i < n) y[i] += (float)s; }
"""
TYPES = [None, np.dtype(np.int64), None, np.dtype(np.float32)]


def test_kernels_of_one_signature_share_an_invoker_and_compute_right():
    import pyopencl as cl
    from ember.device import get_backend
    from ember_rocm.kernels import invokers
    st = get_backend("rocm").state(0)
    prg = cl.Program(st.context, SOURCE).build()
    a, b = cl.Kernel(prg, "axpy"), cl.Kernel(prg, "axpy2")
    made = []
    real = invokers._make
    try:
        invokers._make = lambda *args: (made.append(args[0]), real(*args))[1]
        invokers._MEMO.clear()
        invokers.bind(a, TYPES, st)
        invokers.bind(b, TYPES, st)
    finally:
        invokers._make = real
    assert len(made) == 1  # the second kernel reused the first one's invoker
    y, x = np.ones(5, np.float32), np.arange(5, dtype=np.float32)
    yb = cl.Buffer(st.context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR, hostbuf=y)
    xb = cl.Buffer(st.context, cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR, hostbuf=x)
    a(st.queue, (5,), None, yb, 5, xb, 0.5)  # Python numbers, packed by the invoker
    b(st.queue, (5,), None, yb, 5, xb, 1.0)
    if st.fp64:
        k = cl.Kernel(prg, "shift")
        invokers.bind(k, [None, np.dtype(np.int64), np.dtype(np.float64)], st)
        k(st.queue, (5,), None, yb, 5, 0.25)
    cl.enqueue_copy(st.queue, y, yb)
    np.testing.assert_allclose(y, 1 + 2.5 * x + (0.25 if st.fp64 else 0))


def test_a_later_process_reads_its_invokers_from_the_cache(tmp_path):
    # the first process generates the step's invokers and saves them at exit; the
    # second finds every one on disk: pyopencl generates none
    script = textwrap.dedent("""
        import numpy as np, ember
        from ember_rocm.kernels import invokers
        x = ember.tensor(np.arange(6, dtype=np.float32), device="rocm")
        y = (x * 2 + 1).sum().item()
        print(len(invokers._NEW), len(invokers._MEMO), y)  # made here, used here
    """)
    env = dict(os.environ, EMBER_ROCM_CACHE_DIR=str(tmp_path), EMBER_ROCM_ANY_DEVICE="1")
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert int(runs[0][0]) > 0 and runs[0][0] == runs[0][1] and runs[0][2] == "36.0"
    assert runs[1] == ["0", runs[0][1], "36.0"], runs
    assert any(p.name.startswith("invokers-") for p in tmp_path.iterdir())


def test_ember_kernels_skip_pyopencls_generic_invoker_lookup(monkeypatch):
    # pyopencl's Kernel() looks up a generic invoker in its SQLite store (~0.2-0.7 ms)
    # that bind replaces at once: ember's kernels are constructed without it, while a
    # kernel anyone else constructs still gets pyopencl's own (and works)
    import pyopencl as cl
    import pyopencl.invoker as inv
    from ember.device import get_backend
    from ember_rocm.kernels import compiler

    class Store:
        def __init__(self, real):
            self.real, self.keys = real, []

        def __getitem__(self, key):
            self.keys.append(key[0])
            return self.real[key]

        def store_if_not_present(self, key, value):
            self.real.store_if_not_present(key, value)

    store = Store(inv.invoker_cache)
    monkeypatch.setattr(inv, "invoker_cache", store)
    st = get_backend("rocm").state(0)
    src = SOURCE.replace("2 * a", "5 * a")  # a program no other test built
    k = compiler.get_kernel(st, ("test-invokers", src), lambda: src, "axpy2", TYPES)
    assert store.keys == []
    other = cl.Kernel(cl.Program(st.context, src).build(), "axpy")
    assert store.keys == ["axpy"]
    other.set_scalar_arg_dtypes(TYPES)
    y, x = np.ones(4, np.float32), np.arange(4, dtype=np.float32)
    yb = cl.Buffer(st.context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR, hostbuf=y)
    xb = cl.Buffer(st.context, cl.mem_flags.READ_ONLY | cl.mem_flags.COPY_HOST_PTR, hostbuf=x)
    k(st.queue, (4,), None, yb, 4, xb, 1.0)
    other(st.queue, (4,), None, yb, 4, xb, 0.5)
    cl.enqueue_copy(st.queue, y, yb)
    np.testing.assert_allclose(y, 1 + 5.5 * x)
