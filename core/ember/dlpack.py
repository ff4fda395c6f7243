"""DLPack: zero-copy exchange of tensors with numpy, PyTorch, cupy, dpnp, JAX …

``Tensor.__dlpack__`` / ``Tensor.__dlpack_device__`` (attached by ``ember.tensor_methods``) make
an ember tensor a DLPack producer; ``ember.from_dlpack`` consumes any producer.  Both
follow the Python Array API standard (2023.12): ``stream``, ``max_version``,
``dl_device`` and ``copy`` keywords, ``BufferError`` when an exchange is impossible.

The core only routes: a backend declares its DLPack device type
(``Backend.dlpack_device_type``) and moves capsules with ``Backend.to_dlpack`` /
``Backend.from_dlpack``, whose defaults go through the native array's own
``__dlpack__`` and its package's ``from_dlpack`` (numpy, cupy, dpnp), so a backend
whose natives speak DLPack needs no code for it.
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from . import dtypes as _dt
from .device import backends, device as _device, get_backend, tensor_device
from .tensor import Tensor

__all__ = ["DLDeviceType", "from_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack's device type codes (``dlpack.h``)."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


def _code(value: int):
    """An enum member where the code is known (the standard asks for an IntEnum)."""
    try:
        return DLDeviceType(value)
    except ValueError:
        return value


# --- producer side: Tensor.__dlpack__ / __dlpack_device__ ---------------------------------

def _dlpack_device(self: Tensor) -> tuple:
    """``(device type, device id)`` of this tensor in DLPack's terms."""
    code = get_backend(self._device.type).dlpack_device_type
    if code is None:
        raise BufferError(f"tensors on the '{self._device}' device cannot be exchanged "
                          f"through DLPack (its backend declares no DLPack device type)")
    return _code(code), self._device.index or 0


def _dlpack(self: Tensor, *, stream: Any = None, max_version: tuple | None = None,
            dl_device: tuple | None = None, copy: bool | None = None):
    """Export this tensor as a DLPack capsule (shares memory unless ``copy=True``).

    ``dl_device`` may only name this tensor's device or the CPU (a host copy, which
    ``copy=False`` forbids).  Like PyTorch, a tensor that requires grad is refused:
    export ``t.detach()``.
    """
    if self._requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use "
                           "tensor.detach()")
    here = _dlpack_device(self)
    backend = get_backend(self._device.type)
    native = self._data
    if dl_device is not None and tuple(dl_device) != tuple(here):
        if int(dl_device[0]) != DLDeviceType.kDLCPU:
            raise BufferError(f"__dlpack__(): cannot export a tensor on {self._device} "
                              f"to DLPack device {tuple(dl_device)}; only its own device "
                              f"{tuple(here)} or the CPU (1, 0) are possible")
        if copy is False:
            raise BufferError(f"__dlpack__(): exporting a tensor on {self._device} to the "
                              f"CPU needs a copy, but copy=False was given")
        host = np.array(backend.to_host(native), copy=True)
        return host.__dlpack__(**_kwargs(None, max_version, None, None))
    kwargs = _kwargs(stream, max_version, None, copy)
    try:
        return backend.to_dlpack(native, **kwargs)
    except TypeError:
        if not (kwargs.keys() - {"stream"}):
            raise
    # A producer from before DLPack 1.0 takes only ``stream``: copy here if asked to.
    if copy:
        native = self.clone()._data
    return backend.to_dlpack(native, **_kwargs(stream, None, None, None))


def _kwargs(stream, max_version, dl_device, copy) -> dict:
    # Only what was given: older producers reject keywords they do not know.
    out = {}
    for k, v in (("stream", stream), ("max_version", max_version),
                 ("dl_device", dl_device), ("copy", copy)):
        if v is not None:
            out[k] = v
    return out


def _install_methods() -> None:
    """Attach ``__dlpack__`` and ``__dlpack_device__`` (``ember.tensor_methods`` calls it)."""
    Tensor.__dlpack__ = _dlpack
    Tensor.__dlpack_device__ = _dlpack_device


# --- consumer side: ember.from_dlpack ----------------------------------------------------

def _backend_for(code: int, index: int):
    """The ember device whose backend declares DLPack device type ``code``."""
    code = int(code)
    if code == DLDeviceType.kDLCPU:
        return get_backend("cpu"), _device("cpu")
    for name, b in backends().items():
        if b.dlpack_device_type == code and b.device_count() > index:
            return b, tensor_device(_device(name, index))
    raise BufferError(f"from_dlpack(): no installed ember backend handles DLPack device "
                      f"{(_code(code), index)}; install the plugin for that device")


def from_dlpack(x: Any, /, *, device=None, copy: bool | None = None) -> Tensor:
    """A tensor sharing memory with ``x``, any object that implements DLPack
    (``__dlpack__`` and ``__dlpack_device__``): numpy, PyTorch, cupy, dpnp arrays …

    ``device`` places the result on another ember device (a copy, which
    ``copy=False`` forbids); ``copy=True`` always copies; ``copy=None`` copies only
    when needed.  Writes through the result are visible to ``x`` unless it copied.
    """
    if isinstance(x, Tensor):
        out = x if device is None else x.to(device)
        if out is not x and copy is False:
            raise BufferError(f"from_dlpack(): moving the tensor to {device} needs a copy, "
                              f"but copy=False was given")
        return out.clone() if copy and out is x else out
    if not (hasattr(x, "__dlpack__") and hasattr(x, "__dlpack_device__")):
        raise TypeError(f"from_dlpack(): argument 'x' must implement the DLPack protocol "
                        f"(__dlpack__ and __dlpack_device__), got {type(x).__name__}")
    code, index = x.__dlpack_device__()
    backend, here = _backend_for(code, index)
    target = tensor_device(_device(device)) if device is not None else here
    if target != here:
        if copy is False:
            raise BufferError(f"from_dlpack(): moving data from {here} to {target} needs a "
                              f"copy, but copy=False was given")
        if target.type == "cpu":
            # The producer copies to host itself (dl_device), one copy.
            return _wrap(np.from_dlpack(x, device="cpu", copy=copy), target, "x")
        return from_dlpack(x).to(target)
    try:
        native = backend.from_dlpack(x, index)
    except (RuntimeError, ValueError) as e:  # numpy: "Unsupported dtype in DLTensor"
        raise BufferError(f"from_dlpack(): the '{here.type}' backend cannot import this "
                          f"{type(x).__name__} (dtype {getattr(x, 'dtype', '?')}): {e}") from e
    out = _wrap(native, here, "x")
    return out.clone() if copy else out


def _wrap(native, dev, arg: str) -> Tensor:
    if _dt.lookup(native.dtype) is None:
        raise TypeError(f"from_dlpack(): argument '{arg}' has dtype {native.dtype}, which "
                        f"ember does not support (supported: "
                        f"{', '.join(d.name for d in _dt._ALL)})")
    return Tensor._make(native, dev)
