"""The rocm program cache (``ember_rocm.kernels.programs``): a saved program is loaded
from its device binary afterwards, a damaged binary is rebuilt, the key separates
sources and options, and ``get_kernel`` saves only programs it keeps launching."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import needs_rocm

pytestmark = [pytest.mark.rocm, needs_rocm]

SOURCE = "__kernel void twice(__global float* a) { a[get_global_id(0)] *= 2.0f; }"


@pytest.fixture
def state():
    from ember.device import get_backend
    return get_backend("rocm").state(0)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    from ember_rocm.kernels import programs
    monkeypatch.setenv(programs.CACHE_ENV, str(tmp_path))
    return tmp_path


def _run(state, prg) -> np.ndarray:
    import pyopencl as cl
    a = np.arange(4, dtype=np.float32)
    buf = cl.Buffer(state.context, cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR,
                    hostbuf=a)
    cl.Kernel(prg, "twice")(state.queue, (4,), None, buf)
    cl.enqueue_copy(state.queue, a, buf)
    return a


def _built(state, source=SOURCE, options="", save=True):
    from ember_rocm.kernels import programs
    before = dict(programs.stats)
    prg, cached = programs.build_program(state.context, state.device, source, options)
    how = [k for k in before if programs.stats[k] != before[k]]
    assert cached == (how == ["binary"])
    if save and not cached:
        programs.save_binary(state.device, source, prg, options)
    return prg, how


def test_second_build_loads_the_binary(state, cache):
    prg, how = _built(state)
    assert how == ["source"]
    assert len(os.listdir(cache)) == 1
    prg, how = _built(state)
    assert how == ["binary"]
    np.testing.assert_array_equal(_run(state, prg), [0, 2, 4, 6])


def test_key_separates_sources_and_options(state, cache):
    _built(state)
    _, how = _built(state, SOURCE + "\n")
    assert how == ["source"]
    _, how = _built(state, options="-cl-fast-relaxed-math")
    assert how == ["source"]
    assert len(os.listdir(cache)) == 3


def test_damaged_binary_is_rebuilt(state, cache):
    _built(state)
    (path,) = cache.iterdir()
    path.write_bytes(b"not a program")
    prg, how = _built(state)
    assert how == ["source"]
    np.testing.assert_array_equal(_run(state, prg), [0, 2, 4, 6])
    _, how = _built(state)
    assert how == ["binary"]


def test_empty_setting_turns_the_cache_off(state, monkeypatch):
    from ember_rocm.kernels import programs
    monkeypatch.setenv(programs.CACHE_ENV, "")
    assert programs.cache_dir() is None
    _, how = _built(state)
    assert how == ["source"]
    _, how = _built(state)
    assert how == ["source"]


def test_get_kernel_saves_a_program_once_it_is_hot(state, cache):
    import random

    from ember_rocm.kernels import compiler
    # a source no earlier process built, so this one builds it from source
    src = SOURCE.replace("2.0f", f"{random.randint(3, 10**9)}.0f")
    key = ("test-hot", src)
    k = compiler.get_kernel(state, key, lambda: src, "twice", [None])
    buf = _buffer(state)
    for _ in range(compiler.HOT_USES - 1):
        k(state.queue, (4,), None, buf)
    assert os.listdir(cache) == []  # not hot yet: no binary asked for
    k(state.queue, (4,), None, buf)
    assert len(os.listdir(cache)) == 1
    k(state.queue, (4,), None, buf)  # saved once
    assert len(os.listdir(cache)) == 1
    state.kernels.pop(key)
    state.programs.pop(src)
    _, how = _built(state, src, save=False)
    assert how == ["binary"]


def _buffer(state):
    import pyopencl as cl
    return cl.Buffer(state.context, cl.mem_flags.READ_WRITE, 16)
