"""ember-jetson: the ``jetson`` device — the integrated GPU of an NVIDIA Jetson.

It is ember-cuda's backend with two differences: only integrated GPUs count as
devices, and memory is CUDA managed (unified) memory, which the CPU and GPU of a
Jetson share physically.  cupy has one allocator per process, so where both plugins
load, the last one registered allocates (ember-jetson's managed memory on a Jetson).
Not verified on hardware: see docs/cuda.md.
"""

from __future__ import annotations

import ember
from ember_cuda.backend import CUDABackend, Runtime, load_runtime

EMBER_PLUGIN_API = "1.2"  # (1.2: the kit's complex primitives and DFTs, as ember-cuda)
__version__ = "0.1.0"
__all__ = ["JetsonBackend", "EMBER_PLUGIN_API"]


class JetsonBackend(CUDABackend):
    """``jetson``: integrated NVIDIA GPUs, unified memory."""

    device_type = "jetson"
    managed = True

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(_integrated_only(runtime))


def _integrated_only(rt: Runtime) -> Runtime:
    """The runtime restricted to integrated GPUs (a Jetson's: device 0 onwards)."""
    if rt.xp is None:
        return rt
    props = rt.cupy.cuda.runtime.getDeviceProperties
    n = 0
    while n < rt.count and props(n).get("integrated"):
        n += 1
    if n == 0:
        return Runtime(rt.cupy, error="no integrated NVIDIA GPU (this is not a Jetson); "
                                      "use the 'cuda' device for discrete GPUs")
    return Runtime(rt.cupy, rt.xp, n)


@ember.hookimpl
def ember_backend_create():
    return JetsonBackend(load_runtime())
