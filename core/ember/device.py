"""Devices and the registry of backends (one per device type).

``ember.device("rocm:1")`` names a device; device types are open strings registered by
plugins, so a third-party backend needs no change here.  Backends are created lazily:
the first use of a device type loads only the plugin whose entry point has that name.
"""

from __future__ import annotations

import os
import threading

from .backend import Backend
from .errors import BackendUnavailableError

__all__ = ["device", "get_backend", "is_available", "device_count", "synchronize",
           "set_default_device", "get_default_device", "backends"]


class device:
    """A device: a type (``"cpu"``, ``"rocm"``, a third party's) and an optional index.

    Instances are interned, so ``a.device is b.device`` holds for equal devices.
    """

    __slots__ = ("type", "index", "_str", "_acct")
    _interned: dict = {}

    def __new__(cls, type_or_device="cpu", index: int | None = None):
        key = (type_or_device, index)
        d = cls._interned.get(key) if type_or_device.__class__ is str else None
        if d is not None:
            return d
        if isinstance(type_or_device, device):
            if index is None:
                return type_or_device
            type_or_device = type_or_device.type
        if not isinstance(type_or_device, str):
            raise TypeError(f"device(): expected a device string such as 'cpu' or "
                            f"'rocm:0', got {type(type_or_device).__name__}")
        text = type_or_device.strip()
        if ":" in text:
            if index is not None:
                raise ValueError(f"device(): index given twice in {text!r} and index={index}")
            t, _, i = text.partition(":")
            if not i.isdigit():
                raise ValueError(f"device(): invalid device string {text!r}; expected "
                                 f"'type' or 'type:index' with a non-negative index")
            index = int(i)
        else:
            t = text
        if not is_device_type(t):
            raise ValueError(f"device(): invalid device type {t!r}")
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"device(): index must be a non-negative int, got {index!r}")
        canon = (t, index)
        d = cls._interned.get(canon)
        if d is None:
            d = object.__new__(cls)
            d.type, d.index = t, index
            d._str = t if index is None else f"{t}:{index}"
            # Tensors on a backend whose runtime allocates by itself report to this
            # once its allocations are observed (see ember.memory.start_observing).
            from .memory import observing_allocator
            d._acct = observing_allocator(t)
            cls._interned[canon] = d
        cls._interned[key] = d
        return d

    def __repr__(self) -> str:
        return f"device(type={self.type!r}" + (
            f", index={self.index})" if self.index is not None else ")")

    def __str__(self) -> str:
        return self._str

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        return self is other or (isinstance(other, device) and self.type == other.type
                                 and self.index == other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (self._str,))


def is_device_type(text: str) -> bool:
    """Whether ``text`` is a device-type name (``cpu``, ``my_dev2``; no index)."""
    return bool(text) and text.replace("_", "").isalnum()


def tensor_device(d: device) -> device:
    """The canonical device of a tensor on ``d`` (``rocm`` -> ``rocm:0``; ``cpu`` stays)."""
    b = _usable_backend(d.type)
    if not b.indexed:
        return device(d.type)
    idx = d.index if d.index is not None else 0
    n = b.device_count()
    if idx >= n:
        raise BackendUnavailableError(
            f"device {d.type}:{idx} does not exist: {n} {d.type} device(s) available"
            + (f" ({b.unavailable_reason()})" if n == 0 else ""))
    return device(d.type, idx)


# --- backend registry ---------------------------------------------------------------

_backends: dict[str, Backend] = {}
_lock = threading.RLock()


def get_backend(device_type: str) -> Backend:
    """The backend of ``device_type``, loading its plugin on first use.

    Raises ``BackendUnavailableError`` with the plugin's real cause when it failed, or
    with install advice when no plugin provides the type.
    """
    b = _backends.get(device_type)
    if b is not None:
        return b
    from . import plugins
    with _lock:
        plugins.load_for(device_type)
        b = _backends.get(device_type)
    if b is None:
        raise BackendUnavailableError(plugins.why_missing(device_type))
    return b


def _usable_backend(device_type: str) -> Backend:
    from .backend import UnavailableBackend
    b = get_backend(device_type)
    if isinstance(b, UnavailableBackend):
        raise BackendUnavailableError(
            f"device type '{device_type}' is unavailable: plugin '{b.plugin}' failed to "
            f"load: {b.unavailable_reason()}") from b.cause
    return b


def backends() -> dict[str, Backend]:
    """Every backend of every installed plugin (loads them all)."""
    from . import plugins
    plugins.load_all()
    return dict(_backends)


def is_available(device_type: str) -> bool:
    """Whether a device of this type can be used (``torch.cuda.is_available()``)."""
    try:
        return get_backend(device_type).is_available()
    except BackendUnavailableError:
        return False


def device_count(device_type: str) -> int:
    """How many devices of this type are present (0 when none or not installed)."""
    try:
        return get_backend(device_type).device_count()
    except BackendUnavailableError:
        return 0


def synchronize(d=None) -> None:
    """Wait for all queued work on a device (default: the default device)."""
    d = device(d) if d is not None else get_default_device()
    get_backend(d.type).synchronize(d.index or 0)


_default_device = [None]


def set_default_device(d) -> None:
    """Device for factory functions when none is given (``torch.set_default_device``)."""
    _default_device[0] = device(d) if d is not None else None


def get_default_device() -> device:
    """The device factories use: set by ``set_default_device``, else the first
    *available* device type of ``EMBER_BACKENDS`` (an order of preference; the ones
    skipped are reported with a warning), else ``cpu``."""
    d = _default_device[0]
    if d is None:
        d = _default_device[0] = _preferred_device()
    return d


def _preferred_device() -> device:
    from . import plugins
    order = plugins.backend_order()
    if not order:
        return device("cpu")
    skipped = []
    for t in order:
        try:
            b = get_backend(t)
            reason = None if b.is_available() else b.unavailable_reason()
        except BackendUnavailableError as e:
            reason = str(e)
        if reason is None:
            break
        skipped.append(f"{t} ({reason})")
    else:
        raise BackendUnavailableError(
            f"EMBER_BACKENDS={os.environ.get('EMBER_BACKENDS', '')!r}: none of its device "
            f"types is available: {'; '.join(skipped)}")
    if skipped:
        import warnings
        warnings.warn(f"EMBER_BACKENDS={os.environ.get('EMBER_BACKENDS', '')!r}: "
                      f"skipping unavailable {'; '.join(skipped)}; the default device is "
                      f"{t}", RuntimeWarning, stacklevel=3)
    return device(t)
