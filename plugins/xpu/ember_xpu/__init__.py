"""ember-xpu: the ``xpu`` device — Intel GPUs (and other SYCL devices) through dpctl
and dpnp.

Loading this plugin starts the SYCL runtime (after pointing the OpenCL loader at Intel's
CPU runtime when it is installed in the environment but not registered; see
``ember_xpu.runtime``).  Without a runtime or a device the backend still registers,
with no devices and the reason, which ember reports when ``xpu`` is used.
"""

from __future__ import annotations

import ember

from . import runtime
from .backend import XPUBackend

EMBER_PLUGIN_API = "1.2"  # (1.2: the complex primitives and the DFTs)
__version__ = "0.1.0"
__all__ = ["XPUBackend", "EMBER_PLUGIN_API"]


@ember.hookimpl
def ember_backend_create():
    return XPUBackend(runtime.load())

