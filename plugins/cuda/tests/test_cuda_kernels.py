"""ember_cuda.kernels: launch configurations and arguments (pure functions, checked
here without a GPU, shapes from ``meta`` tensors), the no-cupy path, and -- only where
a GPU and cupy exist -- one shared kernel launched against numpy.  That last test has
never run: no GPU was available to this project (docs/cuda.md)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember_cuda.kernels import (DEFAULT_BLOCK, KernelCache, LaunchConfig, arguments,
                                elementwise_launch, launch_config)

from test_cuda_backend import requires_cuda


def test_a_runtime_chosen_group_covers_the_work_items():
    # rocm's elementwise launches: the size rounded up to 64, no work-group size
    assert launch_config((64,)) == LaunchConfig((1, 1, 1), (64, 1, 1))
    assert launch_config((1024,)) == LaunchConfig((4, 1, 1), (DEFAULT_BLOCK, 1, 1))
    assert launch_config((320,)) == LaunchConfig((2, 1, 1), (DEFAULT_BLOCK, 1, 1))


def test_a_given_group_is_the_block():
    # rocm's reductions: m groups of lsz items; matmul: (cover(N), cover(M), batch) in 8x8
    assert launch_config((10 * 256,), (256,)) == LaunchConfig((10, 1, 1), (256, 1, 1))
    assert launch_config((16, 24, 3), (8, 8, 1)) == LaunchConfig((2, 3, 3), (8, 8, 1))


@pytest.mark.parametrize("global_size, local_size, message", [
    ((100,), (64,), "not a multiple"),
    ((2048,), (2048,), "exceeds CUDA's limits"),
    ((8, 8, 128), (1, 1, 128), "exceeds CUDA's limits"),  # block z at most 64
    ((8, 65536 * 8), (8, 8), "grid of"),  # grid y at most 65535
    ((0,), None, "positive"),
    ((1, 1, 1, 1), None, "1 to 3"),
    ((64, 64), (64,), "differ in dimensions"),
])
def test_launches_cuda_cannot_make_are_refused(global_size, local_size, message):
    with pytest.raises(ValueError, match=message):
        launch_config(global_size, local_size)


@pytest.mark.parametrize("shape", [(), (1,), (3, 5), (257,), (4, 1, 300), (2, 3, 4, 5, 6)])
def test_elementwise_launches_of_meta_shapes(shape):
    t = ember.empty(shape, device="meta")
    cfg = elementwise_launch(t.shape)
    n = math.prod(shape)
    threads = math.prod(cfg.grid) * math.prod(cfg.block)
    assert n <= threads < n + DEFAULT_BLOCK  # every element, less than a block to spare
    assert elementwise_launch(ember.empty(3, 0, device="meta").shape) is None


def test_arguments_are_typed_by_their_parameters():
    buf = object()
    args = arguments([5, buf, 2.5, True], [np.int64, None, np.float32, np.int32])
    assert [type(a) for a in args] == [np.int64, object, np.float32, np.int32]
    assert args[1] is buf and args[2] == np.float32(2.5) and args[3] == 1
    with pytest.raises(TypeError, match="3 values for 2 parameters"):
        arguments([1, 2, 3], [np.int64, np.int64])
    with pytest.raises(TypeError, match="parameter 0 is a buffer"):
        arguments([1], [None])


def test_without_cupy_the_kernel_cache_says_why():
    try:
        import cupy  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("cupy is installed here: the no-cupy message cannot be observed")
    with pytest.raises(ember.BackendUnavailableError, match="need cupy"):
        KernelCache()


@requires_cuda
def test_a_shared_kernel_runs_on_the_gpu():
    # NEVER RUN by this project (no GPU): rocm's float32 add kernel built by NVRTC
    import cupy as cp
    from ember_rocm.kernels.elementwise import pointwise_source
    f = np.dtype(np.float32)
    src = pointwise_source("add", "v_a + v_alpha * v_b", "", f, f,
                           [("v_a", f), ("v_b", f)], [("v_alpha", f)], 1, (True,) * 3)
    a = np.arange(1000, dtype=np.float32)
    b = np.linspace(-1, 1, 1000).astype(np.float32)
    out = cp.empty(1000, cp.float32)
    i64 = np.int64
    # (n, out, its offset and stride, each input with its offset and stride, alpha, size)
    KernelCache(cp).launch(src, "pointwise", (1024,), None,
                           [1000, out, 0, 1, cp.asarray(a), 0, 1, cp.asarray(b), 0, 1, 2.0,
                            1000],
                           [i64, None, i64, i64, None, i64, i64, None, i64, i64, f, i64])
    np.testing.assert_array_equal(cp.asnumpy(out), a + np.float32(2) * b)
