"""ember-rocm: AMD GPUs through ROCm's OpenCL runtime, driven with pyopencl.

The device type is ``rocm``.  Discovery picks the AMD GPUs of the OpenCL platforms;
``EMBER_ROCM_ANY_DEVICE=1`` drives any OpenCL device instead (PoCL on a CPU, in CI).
Without pyopencl or an OpenCL device the backend still registers, reports 0 devices
and says why, so ``import ember`` and the other backends are unaffected.
"""

from __future__ import annotations

import ember

from .backend import ANY_DEVICE_ENV, ROCmBackend

EMBER_PLUGIN_API = "1.2"  # (1.2: the complex primitives and the DFTs)
__version__ = "0.1.0"
__all__ = ["ROCmBackend", "EMBER_PLUGIN_API", "ANY_DEVICE_ENV"]


@ember.hookimpl
def ember_backend_create():
    return ROCmBackend()


@ember.hookimpl
def ember_graph_executor(graph, device_type):
    """Fused pointwise chains for rocm graphs (see ``graph_executor``)."""
    if device_type != "rocm":
        return None
    from ember.device import get_backend

    from .graph_executor import graph_executor
    return graph_executor(graph, get_backend("rocm"))
