"""ember's generated kernels on NVIDIA GPUs: the shared OpenCL C sources translated to
CUDA C (``ember.kit.kernel_dialect``), built with ``cupy.RawModule``, and the launch
configuration of each launch.

**Compiled, never run.**  Every source ember-rocm generates compiles with ``nvcc`` for
sm_90 (plugins/cuda/tests/test_cuda_kernel_sources.py) and the same kernels run on PoCL
through ember-rocm, but no session had a GPU: nothing here has been launched on one,
and the backend does not use this module (its kernels are still ember's Array API kit
over cupy).  It is the piece a GPU session wires in and measures (docs/cuda.md).

Launches are described as OpenCL's, because that is how the generators' callers
describe them: a global size (work items per dimension) and an optional work-group
size.  :func:`launch_config` turns one into CUDA's grid of blocks.  The kernels take
buffers and element offsets separately, as rocm's do; callers pass a cupy array (its
pointer) and the offset.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ember.errors import BackendUnavailableError
from ember.kit.kernel_dialect import opencl_to_cuda

__all__ = ["LaunchConfig", "launch_config", "elementwise_launch", "arguments",
           "KernelCache", "MAX_BLOCK_THREADS", "MAX_BLOCK", "MAX_GRID", "DEFAULT_BLOCK"]

#: CUDA's limits (every GPU of compute capability >= 3.0): threads per block, block
#: and grid extents per dimension
MAX_BLOCK_THREADS = 1024
MAX_BLOCK = (1024, 1024, 64)
MAX_GRID = (2**31 - 1, 65535, 65535)
#: threads per block where the caller leaves the work-group size to the runtime (as
#: rocm's elementwise launches do); the kernels ignore work items past their size
DEFAULT_BLOCK = 256


class LaunchConfig(NamedTuple):
    """A CUDA launch: ``grid`` blocks of ``block`` threads, three dimensions each."""

    grid: tuple
    block: tuple


def _dims(size, what: str) -> tuple:
    size = tuple(int(s) for s in size)
    if not 1 <= len(size) <= 3:
        raise ValueError(f"launch_config(): {what} must have 1 to 3 dimensions, got {size}")
    if any(s <= 0 for s in size):
        raise ValueError(f"launch_config(): {what} must be positive in every dimension, "
                         f"got {size} (an empty launch is skipped by its caller)")
    return size + (1,) * (3 - len(size))


def launch_config(global_size, local_size=None) -> LaunchConfig:
    """The CUDA grid and block of an OpenCL launch of ``global_size`` work items in
    work groups of ``local_size`` (``None``: the runtime's choice -- here up to
    :data:`DEFAULT_BLOCK` threads along the first dimension, the grid rounded up).

    ``get_global_id(d)`` is then ``blockIdx * blockDim + threadIdx`` along ``d``, as
    the dialect defines it.  Raises ``ValueError`` for what CUDA cannot launch (a group
    of more than 1024 threads, a grid beyond its limits) or OpenCL would refuse (a
    global size that is not a multiple of the group's)."""
    g = _dims(global_size, "global_size")
    if local_size is None:
        block = (min(g[0], DEFAULT_BLOCK), 1, 1)
        grid = tuple(math.ceil(n / b) for n, b in zip(g, block, strict=True))
    else:
        block = _dims(local_size, "local_size")
        if len(tuple(local_size)) != len(tuple(global_size)):
            raise ValueError(f"launch_config(): local_size {tuple(local_size)} and "
                             f"global_size {tuple(global_size)} differ in dimensions")
        bad = [d for d in range(3) if g[d] % block[d]]
        if bad:
            raise ValueError(f"launch_config(): global_size {tuple(global_size)} is not a "
                             f"multiple of local_size {tuple(local_size)} in dimension "
                             f"{bad[0]}")
        grid = tuple(n // b for n, b in zip(g, block, strict=True))
    if math.prod(block) > MAX_BLOCK_THREADS or any(b > m for b, m in zip(block, MAX_BLOCK,
                                                                         strict=True)):
        raise ValueError(f"launch_config(): a block of {block} threads exceeds CUDA's "
                         f"limits ({MAX_BLOCK_THREADS} threads, {MAX_BLOCK} per dimension)")
    if any(n > m for n, m in zip(grid, MAX_GRID, strict=True)):
        raise ValueError(f"launch_config(): a grid of {grid} blocks exceeds CUDA's limits "
                         f"{MAX_GRID}")
    return LaunchConfig(grid, block)


def elementwise_launch(shape) -> LaunchConfig | None:
    """The launch of an elementwise kernel writing an output of ``shape`` (one work item
    per element, as rocm's ``elementwise`` launches it), or ``None`` when it is empty."""
    n = math.prod(int(s) for s in shape)
    return launch_config((n,)) if n else None


def arguments(values, dtypes) -> tuple:
    """A kernel's arguments as ``cupy.RawKernel`` takes them: each number converted to
    the numpy scalar of its ``dtypes`` entry (the C type of the parameter: a Python int
    would go as a 32- or 64-bit integer by cupy's guess), buffers (``None`` in
    ``dtypes``) passed as they are."""
    values, dtypes = tuple(values), tuple(dtypes)
    if len(values) != len(dtypes):
        raise TypeError(f"arguments(): {len(values)} values for {len(dtypes)} parameters")
    out = []
    for i, (v, dt) in enumerate(zip(values, dtypes, strict=True)):
        if dt is None:
            if isinstance(v, (bool, int, float, np.number)):
                raise TypeError(f"arguments(): parameter {i} is a buffer, got the number {v!r}")
            out.append(v)
        else:
            out.append(np.dtype(dt).type(v))
    return tuple(out)


class KernelCache:
    """Modules of translated sources built with ``cupy.RawModule`` (NVRTC), one per
    source and device, and their functions.  ``cupy`` is the imported module, or
    ``None`` to import it here (a clear ``BackendUnavailableError`` without it)."""

    #: NVRTC options: the dialect's preamble needs C++11 (static_assert, overloads)
    OPTIONS = ("--std=c++17",)

    def __init__(self, cupy: Any = None) -> None:
        if cupy is None:
            try:
                import cupy
            except ImportError as e:
                raise BackendUnavailableError(
                    f"cuda kernels need cupy ({e}); install the build for your CUDA, "
                    f"e.g. `pip install ember-cuda[cuda12]`") from e
        self.cupy = cupy
        self._modules: dict = {}
        self._functions: dict = {}

    def function(self, source: str, name: str):
        """The kernel ``name`` of the OpenCL C ``source``, built for the current device
        on first use."""
        dev = self.cupy.cuda.Device().id
        key = (dev, source, name)
        fn = self._functions.get(key)
        if fn is None:
            mod = self._modules.get((dev, source))
            if mod is None:
                mod = self.cupy.RawModule(code=opencl_to_cuda(source), options=self.OPTIONS)
                self._modules[dev, source] = mod
            fn = self._functions[key] = mod.get_function(name)
        return fn

    def launch(self, source: str, name: str, global_size, local_size, values,
               dtypes) -> None:
        """Launch kernel ``name`` of ``source`` as OpenCL would (``launch_config``) on
        the current stream with ``values`` typed by ``dtypes`` (``arguments``)."""
        cfg = launch_config(global_size, local_size)
        self.function(source, name)(cfg.grid, cfg.block, arguments(values, dtypes))
