"""Discovery, availability reporting, the allocator and synchronisation of ember-rocm."""

import gc
import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ember

from conftest import needs_rocm

R = "rocm"


def _run(code: str, **env) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with only the cpu and rocm plugins."""
    e = {k: v for k, v in os.environ.items() if k not in ("EMBER_ROCM_ANY_DEVICE",
                                                        "OCL_ICD_FILENAMES")}
    e["EMBER_BACKENDS"] = "cpu,rocm"
    e.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e,
                          capture_output=True, text=True, timeout=120)


_PROBE = """
    import ember
    from ember.errors import BackendUnavailableError
    assert ember.zeros(2).sum().item() == 0  # the CPU is unaffected
    print("count", ember.device_count("rocm"))
    try:
        ember.zeros(2, device="rocm")
    except BackendUnavailableError as e:
        print("unavailable:", e)
"""


def test_without_opencl_devices_import_works_and_rocm_says_why(tmp_path):
    # PoCL with no device kinds enabled, and no system ICDs: a platform without devices.
    r = _run(_PROBE, EMBER_ROCM_ANY_DEVICE="1", POCL_DEVICES="none",
             OCL_ICD_VENDORS=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "count 0" in r.stdout
    assert "unavailable:" in r.stdout and "no devices" in r.stdout, r.stdout


def test_without_pyopencl_import_works_and_rocm_says_why():
    code = "import sys\nsys.modules['pyopencl'] = None  # as if not installed\n" + \
        textwrap.dedent(_PROBE)
    r = _run(code, EMBER_ROCM_ANY_DEVICE="1")
    assert r.returncode == 0, r.stderr
    assert "count 0" in r.stdout
    assert "pyopencl is not installed" in r.stdout, r.stdout


def test_default_discovery_wants_an_amd_gpu():
    r = _run("""
        import pyopencl as cl
        from ember_rocm.backend import _is_amd_gpu
        amd = [d for p in cl.get_platforms() for d in p.get_devices() if _is_amd_gpu(d)]
        import ember
        from ember.device import get_backend
        print("amd", len(amd), "count", ember.device_count("rocm"))
        print("reason", get_backend("rocm").unavailable_reason())
    """)
    assert r.returncode == 0, r.stderr
    words = r.stdout.split()
    amd, count = int(words[1]), int(words[3])
    assert count == amd
    if amd == 0:
        assert "EMBER_ROCM_ANY_DEVICE=1" in r.stdout


@needs_rocm
def test_info_names_the_device():
    from ember.cli import info
    out = io.StringIO()
    info(out)
    text = out.getvalue()
    assert "rocm:0:" in text and "EMBER_ROCM_ANY_DEVICE" in text


@needs_rocm
def test_memory_statistics_follow_tensors():
    ember.memory.empty_cache(R)
    before = ember.memory.memory_allocated(R)
    t = ember.ones(1000, 100, device=R)  # 400 kB
    during = ember.memory.memory_allocated(R)
    assert during - before >= 400_000
    assert ember.memory.max_memory_allocated(R) >= during
    assert ember.memory.memory_reserved(R) >= during
    del t
    gc.collect()
    assert ember.memory.memory_allocated(R) == before
    cached = ember.memory.memory_reserved(R)
    u = ember.ones(1000, 100, device=R)  # reuses the cached block
    assert ember.memory.memory_reserved(R) == cached
    del u
    ember.memory.empty_cache(R)
    assert ember.memory.memory_reserved(R) == ember.memory.memory_allocated(R)
    stats = ember.memory.memory_stats(R)
    assert stats["allocation.all.allocated"] >= 2


@needs_rocm
def test_views_keep_their_buffer_alive():
    t = ember.arange(10, dtype=ember.float32, device=R)
    v = t.reshape(2, 5)
    del t
    gc.collect()
    ember.ones(10, device=R)  # would reuse the block if it had been freed
    assert v.cpu().numpy().ravel().tolist() == list(range(10))


@needs_rocm
def test_out_of_memory_is_ember_out_of_memory_error():
    from ember.device import get_backend
    st = get_backend(R).state(0)
    too_big = st.device.max_mem_alloc_size // 4 + 1  # float32 elements past the limit
    with pytest.raises(ember.OutOfMemoryError, match="rocm:0 out of memory"):
        ember.empty(too_big, device=R)
    alloc = st.allocator
    alloc.limit = ember.memory.memory_reserved(R) + 4096
    try:
        with pytest.raises(ember.OutOfMemoryError, match="limit"):
            ember.empty(1 << 20, device=R)
    finally:
        alloc.limit = None
    assert ember.memory.memory_stats(R)["num_ooms"] >= 2


@needs_rocm
def test_host_reads_see_all_queued_work():
    # Many kernels queued back to back; the read must wait for the last one.
    x = ember.zeros(256, 256, device=R)
    for _ in range(50):
        x.add_(1.0)
    assert float(x.sum().item()) == 50 * 256 * 256
    ember.synchronize(R)
    np.testing.assert_array_equal(x.cpu().numpy(), np.full((256, 256), 50, np.float32))
