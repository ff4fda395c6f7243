"""Starting the SYCL runtime: the OpenCL ICD fix-up, importing dpctl/dpnp, finding devices.

Intel's OpenCL CPU runtime from PyPI (``intel-opencl-rt``) installs
``<env>/lib/libintelocl.so`` but registers it through an ICD file holding the
placeholder path of a conda build (``/opt/anaconda1anaconda2anaconda3/lib/...``), so
the OpenCL loader never finds it.  When the user has not set ``OCL_ICD_FILENAMES``
and no registered ICD file already points at an existing ``libintelocl.so``,
``configure_opencl_icd`` sets ``OCL_ICD_FILENAMES`` to the library in the
environment.  This must happen before dpctl is imported: the loader reads the
variable once, when SYCL first enumerates platforms.

SYCL compiles each kernel for the device the first time it runs (about half a second
per kernel on the OpenCL CPU device).  Unless the user set ``SYCL_CACHE_PERSISTENT``,
``load`` turns on SYCL's persistent cache of compiled kernels (``~/.cache/libsycl_cache``
or ``$SYCL_CACHE_DIR``), so only a machine's first run pays for compilation.

Devices are whatever the SYCL runtime lists, so ``ONEAPI_DEVICE_SELECTOR`` (SYCL's
own filter, e.g. ``level_zero:gpu`` or ``opencl:cpu``) decides which ones ember sees.
"""

from __future__ import annotations

import glob
import os
import site
import sys
from typing import Any

__all__ = ["configure_opencl_icd", "find_intel_opencl", "load", "discover_devices",
           "Runtime"]

_LIB = "libintelocl.so"
_VENDOR_DIRS = ("/etc/OpenCL/vendors",)


def _env_lib_dirs() -> list[str]:
    """Library directories of this Python environment (venv, conda, ``--user``)."""
    dirs = [os.path.join(sys.prefix, "lib")]
    if sys.base_prefix != sys.prefix:
        dirs.append(os.path.join(sys.base_prefix, "lib"))
    user = getattr(site, "USER_BASE", None)
    if user:
        dirs.append(os.path.join(user, "lib"))
    return dirs


def find_intel_opencl() -> str | None:
    """Path of Intel's OpenCL CPU runtime installed in this environment, if any."""
    for d in _env_lib_dirs():
        path = os.path.join(d, _LIB)
        if os.path.exists(path):
            return path
    return None


def _registered_intel_icd() -> str | None:
    """An existing ``libintelocl.so`` already named by an ICD file the loader reads."""
    dirs = [os.environ["OCL_ICD_VENDORS"]] if os.environ.get("OCL_ICD_VENDORS") else []
    dirs += list(_VENDOR_DIRS)
    dirs += [os.path.join(os.path.dirname(d), "etc", "OpenCL", "vendors")
             for d in _env_lib_dirs()]
    for d in dirs:
        for icd in glob.glob(os.path.join(d, "*.icd")):
            try:
                with open(icd) as f:
                    lib = f.read().strip()
            except OSError:
                continue
            if os.path.basename(lib).startswith("libintelocl") and os.path.exists(lib):
                return lib
    return None


def configure_opencl_icd() -> str | None:
    """Point the OpenCL loader at the environment's Intel CPU runtime when needed.

    Returns the path it set ``OCL_ICD_FILENAMES`` to, or ``None`` when it changed
    nothing: the user set the variable (their choice wins), the runtime is not
    installed, or a registered ICD file already points at it (a conda environment
    or a system install; setting the variable too would list the device twice).
    """
    if "OCL_ICD_FILENAMES" in os.environ:
        return None
    lib = find_intel_opencl()
    if lib is None or _registered_intel_icd() is not None:
        return None
    os.environ["OCL_ICD_FILENAMES"] = lib
    return lib


class Runtime:
    """The imported runtime modules and what enumeration found.

    ``error`` says why the runtime cannot be used (``None`` when it can); ``devices``
    is then empty.
    """

    def __init__(self) -> None:
        self.dpctl: Any = None
        self.dpt: Any = None
        self.dpm: Any = None
        self.devices: list = []
        self.icd_set: str | None = None
        self.error: str | None = None


# Level Zero drives Intel GPUs natively; OpenCL comes second for the same hardware.
_TYPE_RANK = {"gpu": 0, "accelerator": 1, "cpu": 2}
_BACKEND_RANK = {"level_zero": 0, "opencl": 1}


def discover_devices(dpctl) -> list:
    """SYCL devices for ember, GPUs first (so ``xpu:0`` is an Intel GPU where there is
    one); a device reachable through both Level Zero and OpenCL is listed once."""
    devs = []
    for d in dpctl.get_devices():
        dtype = d.device_type.name
        if dtype not in _TYPE_RANK:  # host / custom devices cannot run dpnp's kernels
            continue
        devs.append(d)
    devs.sort(key=lambda d: (_TYPE_RANK[d.device_type.name],
                             _BACKEND_RANK.get(d.backend.name, 9)))
    # Identical cards share a name, so keep every device of the best backend per name.
    best: dict = {}
    for d in devs:
        key = (d.device_type.name, d.name)
        best.setdefault(key, d.backend.name)
    return [d for d in devs if best[(d.device_type.name, d.name)] == d.backend.name]


_loaded: list = []


def load() -> Runtime:
    """Fix the ICD path if needed, import dpctl and ``dpnp.tensor``, list devices
    (once per process).

    Never raises for a missing runtime: the reason goes to ``Runtime.error`` so that
    ember can say it when ``xpu`` is used.
    """
    if not _loaded:
        _loaded.append(_load())
    return _loaded[0]


def _load() -> Runtime:
    rt = Runtime()
    rt.icd_set = configure_opencl_icd()
    # Read by the SYCL runtime when it starts, so it must be set before dpctl loads.
    os.environ.setdefault("SYCL_CACHE_PERSISTENT", "1")
    try:
        import dpctl
        import dpctl.memory as dpm
    except ImportError as e:
        rt.error = (f"dpctl is not installed or cannot load ({e}); install the XPU "
                    f"plugin's runtime with `pip install ember-xpu[cpu-runtime]` "
                    f"(dpctl, dpnp and Intel's OpenCL CPU runtime)")
        return rt
    rt.dpctl, rt.dpm = dpctl, dpm
    try:
        rt.devices = discover_devices(dpctl)
    except Exception as e:  # the SYCL runtime itself failed to initialise
        rt.error = f"the SYCL runtime failed to list devices: {type(e).__name__}: {e}"
        return rt
    if not rt.devices:
        rt.error = _no_device_reason()
        return rt
    try:
        import dpnp.tensor as dpt
    except ImportError as e:
        rt.devices = []
        rt.error = (f"dpnp is not installed or cannot load ({e}); ember's XPU kernels "
                    f"run on dpnp.tensor: `pip install 'dpnp>=0.20,<0.21'`")
        return rt
    rt.dpt = dpt
    return rt


def _no_device_reason() -> str:
    sel = os.environ.get("ONEAPI_DEVICE_SELECTOR")
    icd = os.environ.get("OCL_ICD_FILENAMES")
    parts = ["the SYCL runtime found no device"]
    if sel:
        parts.append(f"ONEAPI_DEVICE_SELECTOR={sel} filters devices")
    if icd:
        parts.append(f"OCL_ICD_FILENAMES={icd}")
    parts.append("an Intel GPU needs its driver (level-zero); without one, install "
                 "Intel's OpenCL CPU runtime with `pip install intel-opencl-rt`")
    return "; ".join(parts)
