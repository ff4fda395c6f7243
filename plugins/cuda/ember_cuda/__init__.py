"""ember-cuda: the ``cuda`` device — NVIDIA GPUs through cupy.

Kernels come from ember's Array API kit over ``array_api_compat.cupy``; every cupy
allocation goes through ember's caching allocator (``cupy.cuda.set_allocator``), so the
``ember.memory`` statistics count them.  Without cupy or a GPU the backend registers with
no devices and the reason.  ``ember.distributed`` gets the ``nccl`` engine from here.
Not verified on hardware: see docs/cuda.md.
"""

from __future__ import annotations

import ember

from .backend import CUDABackend, load_runtime

EMBER_PLUGIN_API = "1.2"  # (1.2: the kit's complex primitives and DFTs; distributed engines)
__version__ = "0.1.0"
__all__ = ["CUDABackend", "EMBER_PLUGIN_API", "load_runtime"]


@ember.hookimpl
def ember_backend_create():
    return CUDABackend(load_runtime())


@ember.hookimpl
def ember_distributed_engines():
    """``nccl`` for cuda tensors (cupy's NCCL; imported when a process group starts)."""
    from .nccl_engine import spec
    return [spec()]
