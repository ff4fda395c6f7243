"""Exception types raised by ember (also reachable as ``ember.errors``)."""

from __future__ import annotations

__all__ = ["EmberError", "OpError", "DeviceError", "BackendUnavailableError",
           "NotImplementedForDevice", "OutOfMemoryError", "PluginError",
           "IntegerDivisionByZero", "KernelContractError"]


class EmberError(RuntimeError):
    """Base class of ember's own errors."""


class OpError(EmberError, ValueError):
    """An op was called with arguments its schema rejects (shape, dtype, value)."""


class DeviceError(EmberError):
    """Tensors on different devices met in one op, or a device is malformed."""


class BackendUnavailableError(EmberError):
    """A device type is unknown, or its plugin failed to load or found no device."""


class NotImplementedForDevice(EmberError, NotImplementedError):
    """A backend has no kernel for an op and the op has no decomposition."""


class OutOfMemoryError(EmberError, MemoryError):
    """A device allocator could not satisfy a request (``torch.OutOfMemoryError``)."""


class PluginError(EmberError):
    """A plugin could not be loaded or registered."""


class IntegerDivisionByZero(EmberError, ZeroDivisionError):
    """Integer division (``//``, ``%``, ``fmod``) by zero: PyTorch raises, on every
    backend (the core checks the divisor; kernels only compute)."""


class KernelContractError(EmberError):
    """A backend's kernel returned a result that breaks the schema's promise (shape,
    dtype or device); raised by the debug check ``EMBER_CHECK_KERNELS=1``."""
